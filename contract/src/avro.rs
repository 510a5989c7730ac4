//! The traits generated types implement, and the small helpers their generated code calls to
//! move between Rust values and `apache_avro` values.

use apache_avro::types::Value;

/// A decoded Avro value did not have the shape the generated type expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvroShapeError {
    #[error("expected a record {record}, got {got}")]
    NotARecord { record: &'static str, got: String },
    #[error("record {record} has no field `{field}`")]
    MissingField {
        record: &'static str,
        field: &'static str,
    },
    #[error("field `{field}` of {record}: expected {expected}, got {got}")]
    WrongType {
        record: &'static str,
        field: &'static str,
        expected: &'static str,
        got: String,
    },
    #[error("expected {expected}, got {got}")]
    Unexpected { expected: &'static str, got: String },
    #[error("enum {enum_name} has no symbol `{symbol}`")]
    UnknownSymbol {
        enum_name: &'static str,
        symbol: String,
    },
    #[error("topic {topic} does not carry record {record}")]
    NotOnTopic { topic: &'static str, record: String },
}

/// A field type that maps to one Avro value.
pub trait AvroField: Sized {
    fn to_avro(&self) -> Value;
    fn from_avro(value: Value) -> Result<Self, AvroShapeError>;
    /// The value of a field the writer's schema did not have yet (its schema default), or
    /// `None` when the field is required.
    fn when_missing() -> Option<Self> {
        None
    }
}

/// A generated record type with its full Avro schema.
pub trait AvroRecord: Sized {
    /// `nl.openweb.data.<Name>`: the record part of its subject name.
    const FULL_NAME: &'static str;
    /// The full Avro schema as JSON.
    const SCHEMA: &'static str;
    fn to_avro(&self) -> Value;
    fn from_avro(value: Value) -> Result<Self, AvroShapeError>;
}

/// A generated per-topic enum: the records one topic carries.
pub trait TopicMessage: Sized {
    const TOPIC: &'static str;
    /// Full name of the record inside, which picks the subject under the TopicRecordNameStrategy.
    fn full_name(&self) -> &'static str;
    fn to_avro(&self) -> Value;
    fn from_avro(full_name: &str, value: Value) -> Result<Self, AvroShapeError>;
}

/// A per-topic enum whose every record carries an `id` (commands, queries, feedback): the id
/// that answers repeat. Generated, so a record added to the topic cannot be forgotten.
pub trait Identified {
    fn id(&self) -> crate::generated::Id;
}

/// A per-topic enum whose every record is a symbol of the Avro enum `E`, e.g. `BankCommand`
/// and `CommandName`: the name feedback carries. Generated like [`Identified`].
pub trait NamedBy<E> {
    fn name(&self) -> E;
}

fn describe(value: &Value) -> String {
    let text = format!("{value:?}");
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Takes a record's fields by name, so decoding does not depend on the writer's field order.
pub struct RecordFields {
    record: &'static str,
    fields: Vec<(String, Value)>,
}

impl RecordFields {
    pub fn new(value: Value, record: &'static str) -> Result<Self, AvroShapeError> {
        match value {
            Value::Record(fields) => Ok(Self { record, fields }),
            other => Err(AvroShapeError::NotARecord {
                record,
                got: describe(&other),
            }),
        }
    }

    pub fn take<T: AvroField>(&mut self, field: &'static str) -> Result<T, AvroShapeError> {
        let Some(position) = self.fields.iter().position(|(name, _)| name == field) else {
            return T::when_missing().ok_or(AvroShapeError::MissingField {
                record: self.record,
                field,
            });
        };
        let (_, value) = self.fields.swap_remove(position);
        T::from_avro(value).map_err(|e| match e {
            AvroShapeError::Unexpected { expected, got } => AvroShapeError::WrongType {
                record: self.record,
                field,
                expected,
                got,
            },
            other => other,
        })
    }
}

fn unexpected(expected: &'static str, value: &Value) -> AvroShapeError {
    AvroShapeError::Unexpected {
        expected,
        got: describe(value),
    }
}

impl AvroField for String {
    fn to_avro(&self) -> Value {
        Value::String(self.clone())
    }
    fn from_avro(value: Value) -> Result<Self, AvroShapeError> {
        match value {
            Value::String(s) => Ok(s),
            other => Err(unexpected("string", &other)),
        }
    }
}

impl AvroField for i64 {
    fn to_avro(&self) -> Value {
        Value::Long(*self)
    }
    fn from_avro(value: Value) -> Result<Self, AvroShapeError> {
        match value {
            Value::Long(n) => Ok(n),
            Value::Int(n) => Ok(i64::from(n)),
            other => Err(unexpected("long", &other)),
        }
    }
}

impl AvroField for i32 {
    fn to_avro(&self) -> Value {
        Value::Int(*self)
    }
    fn from_avro(value: Value) -> Result<Self, AvroShapeError> {
        match value {
            Value::Int(n) => Ok(n),
            other => Err(unexpected("int", &other)),
        }
    }
}

/// `["null", "string"]`.
impl AvroField for Option<String> {
    fn to_avro(&self) -> Value {
        match self {
            None => Value::Union(0, Box::new(Value::Null)),
            Some(s) => Value::Union(1, Box::new(Value::String(s.clone()))),
        }
    }
    fn from_avro(value: Value) -> Result<Self, AvroShapeError> {
        match value {
            Value::Union(_, inner) => Self::from_avro(*inner),
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            other => Err(unexpected("null or string", &other)),
        }
    }
    /// An optional field added later defaults to null, so older records still read.
    fn when_missing() -> Option<Self> {
        Some(None)
    }
}

/// `["null", "long"]`.
impl AvroField for Option<i64> {
    fn to_avro(&self) -> Value {
        match self {
            None => Value::Union(0, Box::new(Value::Null)),
            Some(n) => Value::Union(1, Box::new(Value::Long(*n))),
        }
    }
    fn from_avro(value: Value) -> Result<Self, AvroShapeError> {
        match value {
            Value::Union(_, inner) => Self::from_avro(*inner),
            Value::Null => Ok(None),
            other => i64::from_avro(other).map(Some),
        }
    }
    /// An optional field added later defaults to null, so older records still read.
    fn when_missing() -> Option<Self> {
        Some(None)
    }
}

/// `["null", "int"]`.
impl AvroField for Option<i32> {
    fn to_avro(&self) -> Value {
        match self {
            None => Value::Union(0, Box::new(Value::Null)),
            Some(n) => Value::Union(1, Box::new(Value::Int(*n))),
        }
    }
    fn from_avro(value: Value) -> Result<Self, AvroShapeError> {
        match value {
            Value::Union(_, inner) => Self::from_avro(*inner),
            Value::Null => Ok(None),
            other => i32::from_avro(other).map(Some),
        }
    }
    /// An optional field added later defaults to null, so older records still read.
    fn when_missing() -> Option<Self> {
        Some(None)
    }
}

/// The bytes of an Avro `fixed` of exactly `N` bytes.
pub fn fixed_from_avro<const N: usize>(value: Value) -> Result<[u8; N], AvroShapeError> {
    match value {
        Value::Fixed(size, bytes) if size == N => bytes
            .try_into()
            .map_err(|bytes: Vec<u8>| unexpected("fixed", &Value::Bytes(bytes))),
        other => Err(unexpected("fixed", &other)),
    }
}

/// The symbol of an Avro enum value.
pub fn enum_symbol(value: Value, enum_name: &'static str) -> Result<String, AvroShapeError> {
    match value {
        Value::Enum(_, symbol) => Ok(symbol),
        other => Err(AvroShapeError::Unexpected {
            expected: enum_name,
            got: describe(&other),
        }),
    }
}
