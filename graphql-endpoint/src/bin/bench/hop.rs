//! The floor under every transfer: one produce → consume hop on the same broker, measured
//! through a scratch topic that is deleted afterwards.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use topology::kafka::ADMIN_TIMEOUT;
use topology::Settings;

/// `count` sequential produce → consume round trips through `topic`.
pub async fn raw_hops(topic: &str, count: usize) -> anyhow::Result<Vec<Duration>> {
    let settings = Settings::from_env();
    let admin = settings.kafka.admin()?;
    let options = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT));
    let new_topic = NewTopic::new(topic, 1, TopicReplication::Fixed(1));
    for result in admin.create_topics([&new_topic], &options).await? {
        if let Err((name, code)) = result {
            if code != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                bail!("creating {name}: {code}");
            }
        }
    }
    let hops = measure(&settings, topic, count).await;
    admin.delete_topics(&[topic], &options).await?;
    hops
}

async fn measure(settings: &Settings, topic: &str, count: usize) -> anyhow::Result<Vec<Duration>> {
    let producer = settings.kafka.producer()?;
    let consumer: StreamConsumer = settings.kafka.replay_consumer(None)?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, 0, Offset::End)?;
    consumer.assign(&assignment)?;
    // Wait until the consumer really fetches: the first produce must not race its start.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut hops = Vec::with_capacity(count);
    for i in 0..count {
        let key = format!("hop-{i}");
        let begin = Instant::now();
        producer
            .send(
                FutureRecord::to(topic).key(&key).payload("x"),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(error, _)| error)?;
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), consumer.recv())
                .await
                .context("no hop within 10 s")??;
            if message.key() == Some(key.as_bytes()) {
                break;
            }
        }
        hops.push(begin.elapsed());
    }
    Ok(hops)
}
