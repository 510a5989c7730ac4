//! Tests of the code generated from `schemas.toml` and `topology.toml`, and of the checks that
//! reject malformed versions of those files.

#[path = "../build/model.rs"]
#[allow(dead_code)]
mod model;

#[allow(deprecated)]
use apache_avro::{from_avro_datum, to_avro_datum, Schema};

use crate::avro::{AvroRecord, AvroShapeError, TopicMessage};
use crate::generated::*;

#[allow(deprecated)] // the datum functions stay the simplest way to frame one value
fn round_trip<R: AvroRecord + PartialEq + std::fmt::Debug>(record: R) {
    let schema = Schema::parse_str(R::SCHEMA).expect("generated schema parses");
    let bytes = to_avro_datum(&schema, record.to_avro()).expect("value matches its schema");
    let value = from_avro_datum(&schema, &mut bytes.as_slice(), None).expect("bytes decode");
    assert_eq!(
        R::from_avro(value).expect("value has the record's shape"),
        record
    );
}

#[test]
fn every_schema_is_valid_avro_in_the_namespace() {
    assert_eq!(RECORDS.len(), 60);
    for record in RECORDS {
        let schema = Schema::parse_str(record.schema).expect(record.full_name);
        let Schema::Record(schema) = schema else {
            panic!("{} is not a record", record.full_name)
        };
        assert_eq!(schema.name.fullname(None), record.full_name);
        assert!(record.full_name.starts_with("nl.openweb.data."));
    }
}

#[test]
fn shared_types_are_declared_once_with_their_avro_type() {
    let schema: serde_json::Value =
        serde_json::from_str(MoneyTransferCommand::SCHEMA).expect("json");
    assert_eq!(
        schema["fields"][0],
        serde_json::json!({"name": "id", "type": {"type": "fixed", "name": "Id", "size": 16}})
    );
    assert_eq!(schema["fields"][2]["type"], "long");
    let feedback: serde_json::Value = serde_json::from_str(CommandSucceeded::SCHEMA).expect("json");
    assert_eq!(feedback["fields"][1]["type"]["type"], "enum");
    assert_eq!(
        feedback["fields"][1]["type"]["symbols"][0],
        "CreateUserAccountCommand"
    );
    assert_eq!(
        feedback["fields"][2]["type"],
        serde_json::json!(["null", "string"])
    );
}

/// Avro writes an enum symbol as its index: a new query's symbol must come after the existing
/// ones, so answers written before it still decode to the same names (a BACKWARD change).
#[test]
fn new_query_names_are_appended_to_the_enum() {
    let succeeded: serde_json::Value = serde_json::from_str(QuerySucceeded::SCHEMA).expect("json");
    let symbols = &succeeded["fields"][1]["type"]["symbols"];
    assert_eq!(
        *symbols,
        serde_json::json!([
            "FindUserQuery",
            "FindBankAccountQuery",
            "FindBankAccountsForUserQuery",
            "TransactionByIdQuery",
            "TransactionsByIbanQuery",
            "AllLastTransactionsQuery",
            "TransferStatusQuery",
            "AllBankAccountsQuery",
            "AccountAtQuery",
            "BalanceHistoryQuery",
            "AlertRulesQuery",
            "BankFiguresQuery",
            "StatementQuery"
        ])
    );
    let query: serde_json::Value =
        serde_json::from_str(AllBankAccountsQuery::SCHEMA).expect("json");
    let fields: Vec<(&str, &serde_json::Value)> = query["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| (f["name"].as_str().expect("name"), &f["type"]))
        .collect();
    assert_eq!(
        fields,
        [
            (
                "id",
                &serde_json::json!({"type": "fixed", "name": "Id", "size": 16})
            ),
            ("offset", &serde_json::json!("int")),
            ("max_items", &serde_json::json!("int")),
            ("search", &serde_json::json!(["null", "string"])),
        ]
    );
}

#[test]
fn records_round_trip_through_avro_binary() {
    round_trip(MoneyTransferCommand {
        id: Id::random(),
        token: "12345678901234567890".into(),
        amount: i64::MAX,
        from: "cash".into(),
        to: "NL66OPEN0000000000".into(),
        description: "€ and ünïcode".into(),
        username: "someone".into(),
    });
    round_trip(CommandSucceeded {
        id: Id::random(),
        command_name: CommandName::MarkTransferFailedCommand,
        additional_info: None,
    });
    round_trip(CommandSucceeded {
        id: Id::random(),
        command_name: CommandName::CreateBankAccountCommand,
        additional_info: Some("token".into()),
    });
    round_trip(QueryFailed {
        id: Id::random(),
        query_name: QueryName::AllLastTransactionsQuery,
        reason: "iban does not exist".into(),
    });
    round_trip(AllBankAccountsQuery {
        id: Id::random(),
        offset: 0,
        max_items: 10,
        search: None,
    });
    round_trip(AllBankAccountsQuery {
        id: Id::random(),
        offset: i32::MAX,
        max_items: 1_000,
        search: Some("nl66 Open".into()),
    });
    round_trip(TransactionHappenedEvent {
        transaction_id: i32::MAX,
        iban: "NL66OPEN0000000000".into(),
        new_balance: -50_000,
        changed_by: -1,
        from_to: "cash".into(),
        description: String::new(),
        at_millis: Some(1_764_489_600_000),
    });
    round_trip(SetAlertCommand {
        id: Id::random(),
        iban: "NL66OPEN0000000000".into(),
        username: "alice".into(),
        token: "t".into(),
        alert_kind: AlertKind::AnyCredit,
        threshold: None,
    });
    round_trip(AlertTriggeredEvent {
        iban: "NL66OPEN0000000000".into(),
        alert_kind: AlertKind::BalanceBelow,
        threshold: Some(i64::MAX),
        message: "below".into(),
        transaction_id: 7,
        at_millis: None,
    });
    round_trip(StandingOrderRunFailedEvent {
        id: Id([1; 16]),
        iban: "NL66OPEN0000000000".into(),
        transfer_id: Id([2; 16]),
        to: "NL20OPEN0123456789".into(),
        amount: 65_000,
        description: "rent".into(),
        reason: "insufficient funds".into(),
        message: "failed".into(),
        at_millis: Some(1),
    });
}

/// A transaction derived before `at_millis` existed still decodes, without an instant.
#[test]
fn a_transaction_written_without_its_instant_still_reads() {
    use apache_avro::types::Value;
    let older = Value::Record(vec![
        ("transaction_id".into(), Value::Int(1)),
        ("iban".into(), Value::String("NL66OPEN0000000000".into())),
        ("new_balance".into(), Value::Long(5)),
        ("changed_by".into(), Value::Long(5)),
        ("from_to".into(), Value::String("cash".into())),
        ("description".into(), Value::String("deposit".into())),
    ]);
    let read = TransactionHappenedEvent::from_avro(older).expect("an older record reads");
    assert_eq!(read.at_millis, None);
}

#[test]
fn topic_enums_carry_exactly_their_records() {
    let event = BankEvent::from(TransferFailedEvent {
        id: Id::random(),
        reason: "no".into(),
    });
    assert_eq!(BankEvent::TOPIC, "bank_events");
    assert_eq!(event.full_name(), "nl.openweb.data.TransferFailedEvent");
    assert_eq!(
        BankEvent::from_avro(event.full_name(), event.to_avro()),
        Ok(event.clone())
    );
    assert_eq!(
        UserEvent::from_avro(event.full_name(), event.to_avro()),
        Err(AvroShapeError::NotOnTopic {
            topic: "user_events",
            record: "nl.openweb.data.TransferFailedEvent".into()
        })
    );
}

#[test]
fn command_query_and_feedback_enums_know_their_id_and_name() {
    use crate::avro::{Identified, NamedBy};
    let id = Id::random();
    let command = BankCommand::from(MarkTransferFailedCommand {
        id,
        reason: "no".into(),
    });
    assert_eq!(command.id(), id);
    assert_eq!(command.name(), CommandName::MarkTransferFailedCommand);
    let query = BankQuery::from(TransferStatusQuery {
        id,
        transfer_id: Id::random(),
    });
    assert_eq!(query.id(), id);
    assert_eq!(
        NamedBy::<QueryName>::name(&query),
        QueryName::TransferStatusQuery
    );
    let listing = BankQuery::from(AllBankAccountsQuery {
        id,
        offset: 20,
        max_items: 10,
        search: Some("alice".into()),
    });
    assert_eq!(listing.id(), id);
    assert_eq!(
        NamedBy::<QueryName>::name(&listing),
        QueryName::AllBankAccountsQuery
    );
    let feedback = BankCommandFeedback::from(CommandFailed {
        id,
        command_name: CommandName::MoneyTransferCommand,
        reason: "no".into(),
    });
    assert_eq!(feedback.id(), id);
}

#[test]
fn decoding_reports_missing_fields_and_wrong_types() {
    use apache_avro::types::Value;
    let missing = Value::Record(vec![("username".into(), Value::String("u".into()))]);
    assert_eq!(
        UserAccountCreatedEvent::from_avro(missing),
        Err(AvroShapeError::MissingField {
            record: "nl.openweb.data.UserAccountCreatedEvent",
            field: "password"
        })
    );
    let wrong = Value::Record(vec![
        ("username".into(), Value::Long(1)),
        ("password".into(), Value::String("p".into())),
    ]);
    assert!(matches!(
        UserAccountCreatedEvent::from_avro(wrong),
        Err(AvroShapeError::WrongType {
            field: "username",
            ..
        })
    ));
}

#[test]
fn catalogue_matches_the_specification() {
    let bank = crate::BANK_PARTITIONS;
    assert_eq!(bank, 12);
    let expected = [
        ("user_events", bank, 2, "-1"),
        ("bank_events", bank, 18, "-1"),
        ("user_commands", bank, 2, "60000"),
        ("bank_commands", bank, 13, "60000"),
        ("transfer_commands", bank, 3, "60000"),
        ("user_command_feedback", 24, 2, "60000"),
        ("bank_command_feedback", 24, 2, "60000"),
        ("transfer_command_feedback", bank, 2, "60000"),
        ("user_queries", 24, 1, "60000"),
        ("bank_queries", 24, 12, "60000"),
        ("user_queries_feedback", 24, 2, "60000"),
        ("bank_queries_feedback", 24, 2, "60000"),
        ("transaction_events", 24, 1, "60000"),
        ("alert_events", bank, 2, "604800000"),
        ("session_events", 3, 2, "604800000"),
    ];
    assert_eq!(TOPICS.len(), expected.len());
    for (name, partitions, records, retention) in expected {
        let topic = crate::catalogue::topic(name).expect(name);
        assert_eq!(topic.partitions, partitions, "{name}");
        assert_eq!(topic.co_partitioned, partitions == bank, "{name}");
        assert_eq!(topic.replication, 3, "{name}");
        assert_eq!(topic.records.len(), records, "{name}");
        assert!(
            topic.config.contains(&("retention.ms", retention)),
            "{name}"
        );
    }
    assert_eq!(
        crate::catalogue::topic("bank_events")
            .map(|t| t.subject("nl.openweb.data.MoneyDebitedEvent")),
        Some("bank_events-nl.openweb.data.MoneyDebitedEvent".to_string())
    );
}

const SCHEMAS: &str = include_str!("../schemas.toml");
const TOPOLOGY: &str = include_str!("../topology.toml");

fn parse_error(schemas: &str, topology: &str) -> String {
    match model::Model::parse("schemas.toml", schemas, "topology.toml", topology) {
        Ok(_) => panic!("malformed input was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_real_files_parse() {
    let model = model::Model::parse("schemas.toml", SCHEMAS, "topology.toml", TOPOLOGY)
        .expect("the committed files are valid");
    assert_eq!(model.records.len(), RECORDS.len());
}

#[test]
fn malformed_files_are_rejected_with_file_record_and_problem() {
    let unknown_field = SCHEMAS.replace(
        r#"ReturnMoneyCommand = ["id", "iban", "amount", "reason"]"#,
        r#"ReturnMoneyCommand = ["id", "iban", "amout", "reason"]"#,
    );
    assert_eq!(
        parse_error(&unknown_field, TOPOLOGY),
        "schemas.toml: ReturnMoneyCommand: field `amout` has no type in [types]"
    );
    let bad_type = SCHEMAS.replace(r#"amount = "long""#, r#"amount = "money""#);
    assert_eq!(
        parse_error(&bad_type, TOPOLOGY),
        "schemas.toml: type of `amount`: unsupported type `money` (string, long, int)"
    );
    let twice = SCHEMAS.replace(r#"["id", "reason"]"#, r#"["id", "reason", "id"]"#);
    assert!(parse_error(&twice, TOPOLOGY).contains("field `id` listed twice"));
    let unknown_record = TOPOLOGY.replace(
        r#"["CreateUserAccountCommand", "ChangeUserPasswordCommand"]"#,
        r#"["CreateUserCommand", "ChangeUserPasswordCommand"]"#,
    );
    assert_eq!(
        parse_error(SCHEMAS, &unknown_record),
        "topology.toml: user_commands: record `CreateUserCommand` is not declared in the schemas file"
    );
    let no_partitions = TOPOLOGY.replacen("partitions = 24", "partitions = 0", 1);
    assert!(parse_error(SCHEMAS, &no_partitions).contains("partitions must be at least 1"));
    let no_bank_partitions = TOPOLOGY.replacen("partitions = 12", "partitions = 0", 1);
    assert!(parse_error(SCHEMAS, &no_bank_partitions).contains("partitions must be at least 1"));
    let unknown_count = TOPOLOGY.replace("\npartitions = \"bank\"", "\npartitions = \"many\"");
    assert!(parse_error(SCHEMAS, &unknown_count).contains(r#"partitions is a number or "bank""#));
    assert!(parse_error("namespace = ", TOPOLOGY).starts_with("schemas.toml: file:"));
    let bad_name = SCHEMAS.replace("[feedback]", "[feedback]\n\"Bad-Name\" = [\"id\"]");
    assert!(parse_error(&bad_name, TOPOLOGY).contains("Bad-Name: a record name must match"));
}
