//! The cluster's locks, tried on the real cluster `scripts/test.sh` starts (TLS, SASL/SCRAM,
//! ACLs applied by `synchronizer apply`): each denial the topology promises, and the ACL
//! reconciliation that keeps them. Ignored by a plain `cargo test`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureRecord, Producer};
use rdkafka::types::RDKafkaRespErr;
use synchronizer::acls::{synchronize_acls, AclOutcome};
use synchronizer::synchronize::Mode;
use test_support::{cluster_is_secured, password_of, settings, settings_anonymous, settings_as};
use topology::acls::{user, AclBinding, Operation, Pattern, Resource};
use topology::{Settings, PRINCIPALS};

const SHORT: Duration = Duration::from_secs(8);

fn secured() {
    assert!(
        cluster_is_secured(),
        "these tests need the secured cluster of scripts/infra.sh (OPEN_BANK_KAFKA_SECRETS unset)"
    );
}

fn service(principal: &str) -> Settings {
    let password = password_of(principal).expect("the service's password");
    settings_as(principal, &password)
}

/// What a write of one record to `topic` as `settings`' identity ends with.
async fn write(settings: &Settings, topic: &str) -> Result<(), KafkaError> {
    let producer = settings.kafka.producer().expect("producer");
    producer
        .send(
            FutureRecord::to(topic).key("forged").payload(b"forged"),
            SHORT,
        )
        .await
        .map(|_| ())
        .map_err(|(error, _)| error)
}

fn denied(result: Result<(), KafkaError>, what: &str) {
    match result {
        Err(error) => {
            let code = error.rdkafka_error_code();
            assert!(
                matches!(
                    code,
                    Some(
                        RDKafkaErrorCode::TopicAuthorizationFailed
                            | RDKafkaErrorCode::ClusterAuthorizationFailed
                            | RDKafkaErrorCode::TransactionalIdAuthorizationFailed
                    )
                ),
                "{what}: refused, but not for want of a right: {error}"
            );
        }
        Ok(()) => panic!("{what}: allowed"),
    }
}

#[tokio::test]
#[ignore = "needs the secured Kafka of scripts/infra.sh: run scripts/test.sh"]
async fn the_endpoint_can_neither_forge_money_steps_nor_write_or_read_events() {
    secured();
    let endpoint = service("graphql-endpoint");
    for topic in [
        "transfer_commands",
        "transfer_command_feedback",
        "bank_events",
        "user_events",
    ] {
        denied(
            write(&endpoint, topic).await,
            &format!("graphql-endpoint writes {topic}"),
        );
    }
    // It may write what clients ask: the metadata of its own topics is there to see.
    let producer = endpoint.kafka.producer().expect("producer");
    let metadata = producer
        .client()
        .fetch_metadata(Some("bank_commands"), SHORT)
        .expect("the endpoint sees bank_commands");
    assert_eq!(metadata.topics()[0].error(), None);

    // Reading events: the broker hides the topic from it (no Describe, which a reader needs
    // before any fetch), and refuses the offsets a consumer starts from.
    let metadata = producer
        .client()
        .fetch_metadata(Some("bank_events"), SHORT)
        .expect("an answer");
    assert_eq!(
        metadata.topics()[0].error(),
        Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED),
        "graphql-endpoint sees bank_events"
    );
    let consumer: StreamConsumer = endpoint.kafka.replay_consumer(None).expect("consumer");
    assert!(
        consumer.fetch_watermarks("bank_events", 0, SHORT).is_err(),
        "graphql-endpoint reads the offsets of bank_events"
    );
}

#[tokio::test]
#[ignore = "needs the secured Kafka of scripts/infra.sh: run scripts/test.sh"]
async fn only_the_command_handler_writes_events_and_no_service_creates_topics() {
    secured();
    let projector = service("projector");
    denied(
        write(&projector, "bank_events").await,
        "projector writes bank_events",
    );
    for principal in ["graphql-endpoint", "projector", "command-handler"] {
        let admin = service(principal).kafka.admin().expect("admin client");
        let name = test_support::unique("forbidden-topic");
        let topic = NewTopic::new(&name, 1, TopicReplication::Fixed(1));
        let created = admin
            .create_topics([&topic], &AdminOptions::new().request_timeout(Some(SHORT)))
            .await
            .expect("an answer");
        match &created[0] {
            Err((_, code)) => assert!(
                matches!(
                    code,
                    RDKafkaErrorCode::TopicAuthorizationFailed
                        | RDKafkaErrorCode::ClusterAuthorizationFailed
                ),
                "{principal}: {code}"
            ),
            Ok(_) => panic!("{principal} created a topic"),
        }
    }
    // The positive control: the same write as the command handler is taken. (An unreadable
    // record on an event topic is skipped by every reader, as the projector's tests show.)
    let handler = service("command-handler");
    let producer = handler.kafka.producer().expect("producer");
    let metadata = producer
        .client()
        .fetch_metadata(Some("bank_events"), SHORT)
        .expect("metadata");
    assert_eq!(metadata.topics()[0].error(), None);
}

/// What connecting as `settings` ends with, within a few seconds.
fn connect(settings: &Settings) -> Result<(), KafkaError> {
    let admin = settings.kafka.admin().expect("admin client");
    admin
        .inner()
        .fetch_metadata(Some("bank_commands"), Duration::from_secs(5))
        .map(|_| ())
}

#[tokio::test]
#[ignore = "needs the secured Kafka of scripts/infra.sh: run scripts/test.sh"]
async fn no_one_connects_without_the_right_password() {
    secured();
    assert!(
        connect(&service("graphql-endpoint")).is_ok(),
        "the right one"
    );
    assert!(
        connect(&settings_as("graphql-endpoint", "not-the-password")).is_err(),
        "a wrong password"
    );
    assert!(
        connect(&settings_as("nobody", "nothing")).is_err(),
        "an unknown user"
    );
    assert!(connect(&settings_anonymous()).is_err(), "no identity");
    let mut plaintext = settings();
    plaintext.kafka.overrides.clear();
    assert!(connect(&plaintext).is_err(), "no TLS");
}

#[tokio::test]
#[ignore = "needs the secured Kafka of scripts/infra.sh: run scripts/test.sh"]
async fn acls_are_reconciled_with_the_topology_and_others_are_left_alone() {
    secured();
    let admin = settings().kafka.acl_admin().expect("ACL admin");
    let timeout = Duration::from_secs(30);
    let mut report = Vec::new();
    let planned = tokio::task::spawn_blocking(move || {
        let outcome = synchronize_acls(&admin, PRINCIPALS, Mode::Plan, timeout, &mut report);
        (admin, outcome, report)
    })
    .await
    .expect("joined");
    let (admin, outcome, report) = planned;
    assert_eq!(
        outcome.expect("planned"),
        AclOutcome::Planned(Default::default()),
        "after `synchronizer apply`: {}",
        String::from_utf8_lossy(&report)
    );

    // A grant widened by hand for a bank principal, and an operator's own.
    let widened = AclBinding {
        principal: user("projector"),
        resource: Resource::Topic,
        pattern: Pattern::Literal,
        name: "user_commands".into(),
        operation: Operation::Write,
    };
    let operators = AclBinding {
        principal: user(&test_support::unique("operator")),
        resource: Resource::Topic,
        pattern: Pattern::Literal,
        name: "bank_events".into(),
        operation: Operation::Read,
    };
    let (widened_copy, operators_copy) = (widened.clone(), operators.clone());
    let (outcome, report, left) = tokio::task::spawn_blocking(move || {
        admin
            .create(&[widened_copy.clone(), operators_copy.clone()], timeout)
            .expect("created");
        // The brokers learn of new ACLs from the metadata log a moment after the create
        // answers: wait until they describe them.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !admin
            .describe(Some(&widened_copy.principal), timeout)
            .expect("described")
            .contains(&widened_copy)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the created ACL never showed"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut report = Vec::new();
        let outcome = synchronize_acls(&admin, PRINCIPALS, Mode::Apply, timeout, &mut report);
        let left = admin
            .describe(Some(&operators_copy.principal), timeout)
            .expect("described");
        admin
            .delete(&[operators_copy], timeout)
            .expect("cleaned up");
        (outcome, report, left)
    })
    .await
    .expect("joined");
    let report = String::from_utf8_lossy(&report);
    match outcome.expect("applied") {
        AclOutcome::Planned(plan) => {
            assert_eq!(plan.delete, vec![widened], "{report}");
            assert!(plan.create.is_empty(), "{report}");
        }
        AclOutcome::NoAuthorizer => panic!("no authorizer: {report}"),
    }
    assert_eq!(left, vec![operators], "an operator's ACL stays");
}
