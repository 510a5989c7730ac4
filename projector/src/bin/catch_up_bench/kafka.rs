//! The benchmarks that need Kafka: writing a scratch topic of bank events, replaying it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use projector::runtime::{events, EventsConfig, Shutdown, Status};
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::producer::{FutureRecord, Producer};
use topology::codec::Codec;
use topology::kafka::ADMIN_TIMEOUT;
use topology::routing::home;
use topology::values::{new_token, open_iban_for_account, CASH};
use topology::{
    BankAccountCreatedEvent, BankEvent, Id, MoneyCreditedEvent, MoneyDebitedEvent, Settings,
    TransferCompletedEvent, TransferStartedEvent,
};

use crate::read_model::time_account_queries;
use crate::{kib, vm_hwm_kib, vm_rss_kib};

pub(crate) async fn write(
    settings: &Settings,
    topic: &str,
    events: u64,
    accounts: u32,
    partitions: i32,
) -> anyhow::Result<()> {
    if accounts < 2 {
        bail!("--accounts must be at least 2");
    }
    if partitions < 1 {
        bail!("--partitions must be at least 1");
    }
    let admin = settings.kafka.admin().context("admin client")?;
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1))
        .set("retention.ms", "-1")
        .set("cleanup.policy", "delete");
    for result in admin
        .create_topics(
            [&new_topic],
            &AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT)),
        )
        .await
        .context("create the scratch topic")?
    {
        match result {
            Ok(_) => println!("created topic {topic} with {partitions} partitions"),
            Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {
                println!("topic {topic} exists; appending")
            }
            Err((name, code)) => bail!("creating {name}: {code}"),
        }
    }

    let codec = Codec::new(&settings.registry)?;
    let producer = settings.kafka.producer()?;
    let started = Instant::now();
    let mut pending = Vec::new();
    let mut written = 0u64;
    let mut transfer = 0u64;
    while written < events {
        // (key, event): keyed as on bank_events, so the producer's partitioner puts each
        // where the command handler would.
        let batch: Vec<(String, BankEvent)> = if written < u64::from(accounts) {
            let account = u32::try_from(written)?;
            let iban = open_iban_for_account(account);
            vec![(
                iban.clone(),
                BankAccountCreatedEvent {
                    iban,
                    token: new_token(),
                    username: format!("bench-user-{account}"),
                    token_hash: None,
                    token_nonce: None,
                }
                .into(),
            )]
        } else {
            transfer += 1;
            let from = if transfer.is_multiple_of(10) {
                CASH.to_string()
            } else {
                open_iban_for_account(u32::try_from(transfer % u64::from(accounts))?)
            };
            let to = open_iban_for_account(u32::try_from((transfer + 1) % u64::from(accounts))?);
            transfer_events(Id::random(), &from, &to, transfer)?
        };
        for (key, event) in batch.iter().take(usize::try_from(events - written)?) {
            let payload = codec.encode(event).await?;
            loop {
                match producer.send_result(FutureRecord::to(topic).key(key).payload(&payload)) {
                    Ok(delivery) => {
                        pending.push(delivery);
                        break;
                    }
                    Err((error, _)) => {
                        // The local queue is full: let deliveries drain, then try again.
                        tracing::debug!(%error, "producer queue full");
                        producer.poll(Duration::from_millis(10));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            written += 1;
        }
        if pending.len() >= 50_000 {
            for delivery in pending.drain(..) {
                delivery.await?.map_err(|(error, _)| error)?;
            }
        }
    }
    for delivery in pending.drain(..) {
        delivery.await?.map_err(|(error, _)| error)?;
    }
    producer.flush(Duration::from_secs(30))?;
    let elapsed = started.elapsed();
    println!(
        "wrote {written} events to {topic} in {:.1} s ({:.0} events/s)",
        elapsed.as_secs_f64(),
        written as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// The events of transfer number `n` from `from` to `to` as the command handler writes them,
/// each with its key: the transfer's own events by its home, money events by their IBAN.
fn transfer_events(
    id: Id,
    from: &str,
    to: &str,
    n: u64,
) -> anyhow::Result<Vec<(String, BankEvent)>> {
    let amount = i64::try_from(n % 1_000 + 1)?;
    let description = format!("bench transfer {n}");
    let home = home(from, to).to_string();
    let mut events = vec![(
        home.clone(),
        TransferStartedEvent {
            id,
            token: new_token(),
            amount,
            from: from.into(),
            to: to.into(),
            description: description.clone(),
            username: "bench".into(),
            at_millis: None,
            token_hash: None,
        }
        .into(),
    )];
    if from != CASH {
        events.push((
            from.into(),
            MoneyDebitedEvent {
                iban: from.into(),
                amount,
                id,
            }
            .into(),
        ));
    }
    events.push((
        to.into(),
        MoneyCreditedEvent {
            iban: to.into(),
            amount,
            id,
            transfer_from: Some(from.into()),
            transfer_description: Some(description),
        }
        .into(),
    ));
    events.push((home, TransferCompletedEvent { id }.into()));
    Ok(events)
}

pub(crate) async fn replay(
    settings: &Settings,
    topic: &str,
    store: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let codec = Arc::new(Codec::new(&settings.registry)?);
    let status = Arc::new(Status::new());
    let (_stop, shutdown) = Shutdown::new();
    let config = EventsConfig {
        user_events_topic: None,
        bank_events_topic: topic.to_string(),
        publishing: None,
        stop_when_caught_up: true,
        store: store.clone(),
    };
    let rss_before = vm_rss_kib();
    let started = Instant::now();
    let opened = events::open(&settings.kafka, &config)?;
    let loaded = started.elapsed();
    let model = Arc::clone(opened.model());
    events::run(
        settings.kafka.clone(),
        codec,
        config,
        opened,
        Arc::clone(&status),
        shutdown,
    )
    .await?;
    let elapsed = started.elapsed();
    let rss_after = vm_rss_kib();
    let events = status.events_projected();
    match &store {
        Some(path) => println!(
            "state store {}: opened and loaded in {:.2} s; replayed {events} events of {topic} after it",
            path.display(),
            loaded.as_secs_f64()
        ),
        None => println!("replayed {events} events of {topic} from offset 0"),
    }
    println!(
        "catch-up time: {:.2} s ({:.0} events/s)",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );
    println!(
        "transactions in the read model: {}",
        model.transaction_count()
    );
    println!(
        "VmRSS: {} before the replay, {} after; peak (VmHWM) {}",
        kib(rss_before),
        kib(rss_after),
        kib(vm_hwm_kib())
    );
    time_account_queries(&model, "bench-user-4242");
    Ok(())
}

pub(crate) async fn drop_topic(settings: &Settings, topic: &str) -> anyhow::Result<()> {
    let admin = settings.kafka.admin().context("admin client")?;
    for result in admin
        .delete_topics(
            &[topic],
            &AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT)),
        )
        .await
        .context("delete the scratch topic")?
    {
        match result {
            Ok(name) => println!("deleted topic {name}"),
            Err((name, code)) => bail!("deleting {name}: {code}"),
        }
    }
    Ok(())
}
