//! Reads `schemas.toml` and `topology.toml` into a checked model.
//!
//! Shared by `build.rs` (which generates code from the model) and the crate's unit tests (which
//! feed it malformed input). Every error names the file, the record or topic, and the problem,
//! because a build failure is the only place a typo in these files is reported.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use serde_json::{json, Value as Json};

pub const RECORD_GROUPS: [&str; 4] = ["commands", "events", "queries", "feedback"];

#[derive(Debug)]
pub struct ModelError {
    pub file: String,
    pub subject: String,
    pub problem: String,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.subject, self.problem)
    }
}

impl std::error::Error for ModelError {}

fn error(file: &str, subject: impl Into<String>, problem: impl Into<String>) -> ModelError {
    ModelError {
        file: file.to_string(),
        subject: subject.into(),
        problem: problem.into(),
    }
}

/// The Avro type of a field, as declared once in `[types]`.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    String,
    Long,
    Int,
    OptionalString,
    OptionalLong,
    OptionalInt,
    Fixed { name: String, size: usize },
    Enum { name: String, symbols: Vec<String> },
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub field_type: FieldType,
}

#[derive(Debug, Clone)]
pub struct Record {
    pub name: String,
    pub group: String,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone)]
pub struct Topic {
    pub name: String,
    pub partitions: i32,
    /// Shares the `[bank]` partition count and the per-account keying.
    pub co_partitioned: bool,
    pub replication: i32,
    pub rust_enum: String,
    pub records: Vec<String>,
    pub config: BTreeMap<String, String>,
    /// Principals that may read / write it.
    pub readers: Vec<String>,
    pub writers: Vec<String>,
}

/// A Kafka principal of one service (a SASL/SCRAM user).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    #[serde(skip)]
    pub name: String,
    /// Prefixes of the consumer groups it joins or commits to.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Prefixes of the transactional ids it produces under.
    #[serde(default)]
    pub transactional_ids: Vec<String>,
    /// Prefixes of topics that are its own (it creates and uses them: the schema registry).
    #[serde(default)]
    pub topic_prefixes: Vec<String>,
}

#[derive(Debug)]
pub struct Model {
    pub namespace: String,
    pub records: Vec<Record>,
    pub topics: Vec<Topic>,
    /// The `[bank]` partition count.
    pub bank_partitions: i32,
    pub principals: Vec<Principal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemasFile {
    namespace: String,
    types: BTreeMap<String, toml::Value>,
    #[serde(default)]
    commands: toml::Table,
    #[serde(default)]
    events: toml::Table,
    #[serde(default)]
    queries: toml::Table,
    #[serde(default)]
    feedback: toml::Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopologyFile {
    defaults: Defaults,
    bank: BankLayout,
    #[serde(default)]
    principals: BTreeMap<String, Principal>,
    topics: BTreeMap<String, TopicEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    replication: i32,
}

/// The one partition count every co-partitioned (per-account) topic shares.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BankLayout {
    partitions: i32,
}

/// A topic's partition count: a number, or `"bank"` for the shared per-account count.
#[derive(Deserialize)]
#[serde(untagged)]
enum Partitions {
    Count(i32),
    Named(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicEntry {
    partitions: Partitions,
    replication: Option<i32>,
    rust_enum: String,
    records: Vec<String>,
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default)]
    readers: Vec<String>,
    #[serde(default)]
    writers: Vec<String>,
}

impl Model {
    pub fn parse(
        schemas_file: &str,
        schemas_text: &str,
        topology_file: &str,
        topology_text: &str,
    ) -> Result<Model, ModelError> {
        let schemas: SchemasFile = toml::from_str(schemas_text)
            .map_err(|e| error(schemas_file, "file", e.message().to_string()))?;
        let records = parse_records(schemas_file, &schemas)?;
        let topology: TopologyFile = toml::from_str(topology_text)
            .map_err(|e| error(topology_file, "file", e.message().to_string()))?;
        let bank_partitions = topology.bank.partitions;
        if bank_partitions < 1 {
            return Err(error(
                topology_file,
                "bank",
                "partitions must be at least 1",
            ));
        }
        let principals: Vec<Principal> = topology
            .principals
            .iter()
            .map(|(name, principal)| Principal {
                name: name.clone(),
                ..principal.clone()
            })
            .collect();
        let topics = parse_topics(topology_file, topology, &records)?;
        for topic in &topics {
            for named in topic.readers.iter().chain(&topic.writers) {
                if !principals.iter().any(|p| &p.name == named) {
                    return Err(error(
                        topology_file,
                        &topic.name,
                        format!("principal `{named}` is not declared in [principals]"),
                    ));
                }
            }
        }
        let model = Model {
            namespace: schemas.namespace,
            records,
            topics,
            bank_partitions,
            principals,
        };
        for record in &model.records {
            let schema = model.avro_schema(record);
            apache_avro::Schema::parse_str(&schema.to_string()).map_err(|e| {
                error(
                    schemas_file,
                    &record.name,
                    format!("invalid Avro schema: {e}"),
                )
            })?;
        }
        Ok(model)
    }

    pub fn full_name(&self, record: &str) -> String {
        format!("{}.{}", self.namespace, record)
    }

    /// The full Avro schema of one record; named types are defined inline at their first use.
    pub fn avro_schema(&self, record: &Record) -> Json {
        let mut defined = BTreeSet::new();
        let fields: Vec<Json> = record
            .fields
            .iter()
            .map(|field| {
                let avro = avro_type(&field.field_type, &mut defined);
                // A default lets a reader of the new schema read records written before the
                // field existed: adding an optional field stays BACKWARD compatible.
                match field.field_type {
                    FieldType::OptionalString
                    | FieldType::OptionalLong
                    | FieldType::OptionalInt => {
                        json!({ "name": field.name, "type": avro, "default": null })
                    }
                    _ => json!({ "name": field.name, "type": avro }),
                }
            })
            .collect();
        json!({
            "type": "record",
            "name": record.name,
            "namespace": self.namespace,
            "fields": fields,
        })
    }

    /// Named types (fixed and enums), each once, in order of first use.
    pub fn named_types(&self) -> Vec<FieldType> {
        let mut seen = BTreeSet::new();
        let mut named = Vec::new();
        for field in self.records.iter().flat_map(|r| &r.fields) {
            if let FieldType::Fixed { name, .. } | FieldType::Enum { name, .. } = &field.field_type
            {
                if seen.insert(name.clone()) {
                    named.push(field.field_type.clone());
                }
            }
        }
        named
    }
}

fn avro_type(field_type: &FieldType, defined: &mut BTreeSet<String>) -> Json {
    match field_type {
        FieldType::String => json!("string"),
        FieldType::Long => json!("long"),
        FieldType::Int => json!("int"),
        FieldType::OptionalString => json!(["null", "string"]),
        FieldType::OptionalLong => json!(["null", "long"]),
        FieldType::OptionalInt => json!(["null", "int"]),
        FieldType::Fixed { name, size } => {
            if defined.insert(name.clone()) {
                json!({ "type": "fixed", "name": name, "size": size })
            } else {
                json!(name)
            }
        }
        FieldType::Enum { name, symbols } => {
            if defined.insert(name.clone()) {
                json!({ "type": "enum", "name": name, "symbols": symbols })
            } else {
                json!(name)
            }
        }
    }
}

fn group_table<'a>(schemas: &'a SchemasFile, group: &str) -> &'a toml::Table {
    match group {
        "commands" => &schemas.commands,
        "events" => &schemas.events,
        "queries" => &schemas.queries,
        _ => &schemas.feedback,
    }
}

fn parse_records(file: &str, schemas: &SchemasFile) -> Result<Vec<Record>, ModelError> {
    let mut names = BTreeSet::new();
    let mut raw_records = Vec::new();
    for group in RECORD_GROUPS {
        for (name, fields) in group_table(schemas, group) {
            if !is_avro_name(name) {
                return Err(error(
                    file,
                    name,
                    "a record name must match [A-Za-z_][A-Za-z0-9_]*",
                ));
            }
            if !names.insert(name.clone()) {
                return Err(error(file, name, "record declared twice"));
            }
            let Some(fields) = fields.as_array() else {
                return Err(error(file, name, "a record is a list of field names"));
            };
            let mut field_names = Vec::new();
            for field in fields {
                let Some(field) = field.as_str() else {
                    return Err(error(file, name, format!("field {field} is not a string")));
                };
                if field_names.iter().any(|f| f == field) {
                    return Err(error(file, name, format!("field `{field}` listed twice")));
                }
                field_names.push(field.to_string());
            }
            raw_records.push((group, name.clone(), field_names));
        }
    }
    let group_names = |group: &str| -> Vec<String> {
        raw_records
            .iter()
            .filter(|(g, _, _)| *g == group)
            .map(|(_, n, _)| n.clone())
            .collect()
    };
    let mut types = BTreeMap::new();
    for (field, declared) in &schemas.types {
        types.insert(
            field.clone(),
            parse_type(file, field, declared, &group_names)?,
        );
    }
    raw_records
        .iter()
        .map(|(group, name, field_names)| {
            let fields = field_names
                .iter()
                .map(|field| {
                    let field_type = types.get(field).cloned().ok_or_else(|| {
                        error(
                            file,
                            name,
                            format!("field `{field}` has no type in [types]"),
                        )
                    })?;
                    Ok(Field {
                        name: field.clone(),
                        field_type,
                    })
                })
                .collect::<Result<Vec<_>, ModelError>>()?;
            Ok(Record {
                name: name.clone(),
                group: group.to_string(),
                fields,
            })
        })
        .collect()
}

fn parse_type(
    file: &str,
    field: &str,
    declared: &toml::Value,
    group_names: &dyn Fn(&str) -> Vec<String>,
) -> Result<FieldType, ModelError> {
    let subject = format!("type of `{field}`");
    match declared {
        toml::Value::String(primitive) => match primitive.as_str() {
            "string" => Ok(FieldType::String),
            "long" => Ok(FieldType::Long),
            "int" => Ok(FieldType::Int),
            other => Err(error(
                file,
                subject,
                format!("unsupported type `{other}` (string, long, int)"),
            )),
        },
        toml::Value::Array(items) => {
            let items: Vec<_> = items.iter().filter_map(|i| i.as_str()).collect();
            match items.as_slice() {
                ["null", "string"] => Ok(FieldType::OptionalString),
                ["null", "long"] => Ok(FieldType::OptionalLong),
                ["null", "int"] => Ok(FieldType::OptionalInt),
                _ => Err(error(
                    file,
                    subject,
                    "the supported unions are [\"null\", \"string\"], [\"null\", \"long\"] \
                     and [\"null\", \"int\"]",
                )),
            }
        }
        toml::Value::Table(table) => {
            let text = |key: &str| table.get(key).and_then(|v| v.as_str());
            if let (Some(name), Some(size)) = (text("fixed"), table.get("size")) {
                let size = size.as_integer().filter(|s| *s > 0).ok_or_else(|| {
                    error(file, &subject, "fixed size must be a positive integer")
                })?;
                Ok(FieldType::Fixed {
                    name: name.to_string(),
                    size: size as usize,
                })
            } else if let (Some(name), Some(symbols)) = (text("enum"), table.get("symbols")) {
                let symbols: Vec<String> = symbols
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|i| i.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                if symbols.is_empty() || !symbols.iter().all(|s| is_avro_name(s)) {
                    return Err(error(
                        file,
                        subject,
                        "symbols must be a non-empty list of Avro names",
                    ));
                }
                Ok(FieldType::Enum {
                    name: name.to_string(),
                    symbols,
                })
            } else if let (Some(name), Some(group)) = (text("enum"), text("symbols_of")) {
                if !RECORD_GROUPS.contains(&group) {
                    return Err(error(
                        file,
                        subject,
                        format!("symbols_of must name a record group, not `{group}`"),
                    ));
                }
                let symbols = group_names(group);
                if symbols.is_empty() {
                    return Err(error(
                        file,
                        subject,
                        format!("group `{group}` has no records"),
                    ));
                }
                Ok(FieldType::Enum {
                    name: name.to_string(),
                    symbols,
                })
            } else {
                Err(error(
                    file,
                    subject,
                    "a table type is { fixed = NAME, size = N }, { enum = NAME, symbols = [..] } or { enum = NAME, symbols_of = GROUP }",
                ))
            }
        }
        _ => Err(error(
            file,
            subject,
            "a type is a string, a list or a table",
        )),
    }
}

fn parse_topics(
    file: &str,
    topology: TopologyFile,
    records: &[Record],
) -> Result<Vec<Topic>, ModelError> {
    let mut enums = BTreeSet::new();
    topology
        .topics
        .into_iter()
        .map(|(name, entry)| {
            if name.is_empty()
                || name.starts_with('_')
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            {
                return Err(error(
                    file,
                    &name,
                    "a topic name uses [a-zA-Z0-9._-] and does not start with `_`",
                ));
            }
            let (partitions, co_partitioned) = match &entry.partitions {
                Partitions::Count(count) => (*count, false),
                Partitions::Named(named) if named == "bank" => (topology.bank.partitions, true),
                Partitions::Named(other) => {
                    return Err(error(
                        file,
                        &name,
                        format!("partitions is a number or \"bank\", not {other:?}"),
                    ))
                }
            };
            if partitions < 1 {
                return Err(error(file, &name, "partitions must be at least 1"));
            }
            let replication = entry.replication.unwrap_or(topology.defaults.replication);
            if replication < 1 {
                return Err(error(file, &name, "replication must be at least 1"));
            }
            if entry.records.is_empty() {
                return Err(error(file, &name, "a topic carries at least one record"));
            }
            for record in &entry.records {
                if !records.iter().any(|r| &r.name == record) {
                    return Err(error(
                        file,
                        &name,
                        format!("record `{record}` is not declared in the schemas file"),
                    ));
                }
            }
            if !is_avro_name(&entry.rust_enum) || !enums.insert(entry.rust_enum.clone()) {
                return Err(error(
                    file,
                    &name,
                    format!("rust_enum `{}` is not a unique type name", entry.rust_enum),
                ));
            }
            Ok(Topic {
                name,
                partitions,
                co_partitioned,
                replication,
                rust_enum: entry.rust_enum,
                records: entry.records,
                config: entry.config,
                readers: entry.readers,
                writers: entry.writers,
            })
        })
        .collect()
}

fn is_avro_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
