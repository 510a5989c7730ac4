//! `synchronizer migrate`: moves a cluster from an older partition layout to the topology's
//! co-partitioned one without losing an event.
//!
//! For each event topic (kept forever) whose partition count differs:
//!
//! 1. copy it, partition by partition and byte for byte, into `<topic>.pre-migration` (same
//!    partitions and configs) and verify that every partition holds as many records as the
//!    original;
//! 2. decode every record of the backup (so a record that cannot be re-keyed stops the
//!    migration while the original still exists) and remember each transfer's home account;
//! 3. delete the original and create it with the topology's partitions;
//! 4. copy the backup back in its order, each record with its original bytes, timestamp and
//!    headers but the key `topology::routing` gives it, into the partition that key maps to;
//!    then verify the count of every partition.
//!
//! Co-partitioned topics that are not kept forever (commands, feedback; 60 s) are deleted and
//! created with the new count. The backups are kept; delete them once satisfied.
//!
//! Every step is safe to repeat: the original is deleted only after its backup is verified,
//! and a later run picks up from what it finds (see [`steps::steps`]). It refuses to start
//! while the services' consumer groups have members, as they would read or write the topics
//! being moved.

mod copy;
mod groups;
mod rekey;
mod steps;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use rdkafka::message::{Message, OwnedMessage};
use topology::codec::{Codec, CodecError};
use topology::{routing, BankEvent, KafkaSettings, TopicMessage, TopicSpec, UserEvent};

use crate::apply::{self, ApplyError};
use crate::observed::{self, ObserveError};
use crate::plan::Change;
use crate::synchronize::Clients;

pub use copy::{CopyError, Counts};
pub use groups::{ActiveGroup, GroupsActive};
pub use rekey::EventKind;
pub use steps::{backup_name, MigrationTopic, Step, StepsError};

use copy::{count_records, headers_of, timestamp_of, Outgoing, TopicReader, Writer};
use rekey::{user_key, BankKey, TransferHomes};

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Observe(#[from] ObserveError),
    #[error(transparent)]
    Steps(#[from] StepsError),
    #[error("listing the members of consumer groups: {0}")]
    Groups(rdkafka::error::KafkaError),
    #[error(transparent)]
    GroupsActive(#[from] GroupsActive),
    #[error(transparent)]
    Copy(#[from] CopyError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(
        "{topic}/{partition} offset {offset}: cannot decode the record to compute its key: \
         {source}"
    )]
    Undecodable {
        topic: String,
        partition: i32,
        offset: i64,
        source: Box<CodecError>,
    },
    #[error("verifying {topic}: expected {expected} records per partition, found {found}")]
    Mismatch {
        topic: String,
        expected: String,
        found: String,
    },
    #[error("{topic} still exists {waited:?} after it was deleted")]
    NotDeleted { topic: String, waited: Duration },
    #[error("{topic} was created with {found} partitions instead of {wanted}")]
    Layout {
        topic: String,
        wanted: i32,
        found: i32,
    },
    #[error("{topic} is not in the catalogue")]
    UnknownTopic { topic: String },
    #[error("writing the report: {0}")]
    Output(#[from] std::io::Error),
}

/// What a migration needs besides the topics.
pub struct Migration<'a> {
    pub clients: &'a Clients<'a>,
    pub kafka: &'a KafkaSettings,
    pub codec: &'a Codec,
    /// Consumer groups that must have no members while topics move.
    pub groups: &'a [String],
}

/// Brings every topic of `topics` whose partition count must not change in place to the
/// topology's layout; returns the steps taken. Other differences are left to `apply`.
pub async fn migrate(
    topics: &[MigrationTopic<'_>],
    migration: &Migration<'_>,
    out: &mut dyn Write,
) -> Result<Vec<Step>, MigrateError> {
    let clients = migration.clients;
    let cluster = observed::cluster(clients.admin, clients.brokers, clients.timeout).await?;
    let steps = steps::steps(topics, &cluster)?;
    if steps.is_empty() {
        writeln!(
            out,
            "migrate: nothing to migrate, the partition layout matches the topology"
        )?;
        return Ok(steps);
    }
    let active = groups::active_groups(clients.admin, migration.groups, clients.timeout)
        .map_err(MigrateError::Groups)?;
    if !active.is_empty() {
        return Err(GroupsActive(active).into());
    }
    for step in &steps {
        writeln!(out, "migrate: {step}")?;
    }
    let run = Run {
        migration,
        brokers: cluster.brokers,
    };
    for step in &steps {
        let spec = topics
            .iter()
            .find(|t| t.spec.name == step_topic(step))
            .map(|t| t.spec)
            .ok_or_else(|| MigrateError::UnknownTopic {
                topic: step_topic(step).to_string(),
            })?;
        run.step(spec, step, out).await?;
    }
    let backups: Vec<String> = steps
        .iter()
        .filter(|s| !matches!(s, Step::Recreate { .. }))
        .map(|s| backup_name(step_topic(s)))
        .collect();
    if !backups.is_empty() {
        writeln!(
            out,
            "migrate: done; kept {} until you delete them (`synchronizer apply --delete-unknown` \
             deletes every topic outside the topology)",
            backups.join(", ")
        )?;
    }
    Ok(steps)
}

fn step_topic(step: &Step) -> &str {
    match step {
        Step::MoveHistory { topic, .. }
        | Step::ResumeFromBackup { topic, .. }
        | Step::Recreate { topic, .. } => topic,
    }
}

/// One migration under way.
struct Run<'a> {
    migration: &'a Migration<'a>,
    brokers: usize,
}

impl Run<'_> {
    async fn step(
        &self,
        spec: &TopicSpec,
        step: &Step,
        out: &mut dyn Write,
    ) -> Result<(), MigrateError> {
        let started = Instant::now();
        match step {
            Step::MoveHistory {
                topic,
                kind,
                from,
                to,
                replace_backup,
            } => {
                let backup = backup_name(topic);
                if *replace_backup {
                    say(
                        out,
                        topic,
                        format!("deleting {backup}, left unverified by an interrupted run"),
                    )?;
                    self.delete(&backup).await?;
                }
                self.create(spec, &backup, *from).await?;
                say(out, topic, format!("copying to {backup}"))?;
                let copied = self.copy_to_backup(topic, &backup).await?;
                let found = count_records(self.kafka(), &backup, self.timeout()).await?;
                verify(&backup, &copied, &found)?;
                say(
                    out,
                    topic,
                    format!(
                        "verified: {backup} holds {} records ({})",
                        total(&found),
                        show(&found)
                    ),
                )?;
                let homes = self.read_keys(*kind, &backup, out).await?;
                say(
                    out,
                    topic,
                    format!("deleting {topic} and creating it with {to} partitions"),
                )?;
                self.delete(topic).await?;
                self.create(spec, topic, *to).await?;
                self.copy_back(*kind, &backup, topic, *to, &homes, out)
                    .await?;
            }
            Step::ResumeFromBackup {
                topic,
                kind,
                to,
                topic_exists,
            } => {
                let backup = backup_name(topic);
                let saved = total(&count_records(self.kafka(), &backup, self.timeout()).await?);
                if *topic_exists {
                    let present = total(&count_records(self.kafka(), topic, self.timeout()).await?);
                    if present >= saved {
                        say(
                            out,
                            topic,
                            format!(
                                "already migrated: it holds {present} records, {backup} {saved}; \
                                 {backup} is kept until you delete it"
                            ),
                        )?;
                        return Ok(());
                    }
                    say(
                        out,
                        topic,
                        format!(
                            "holds {present} of the {saved} records of {backup}: copying again"
                        ),
                    )?;
                }
                // Every record must decode before anything is deleted.
                let homes = self.read_keys(*kind, &backup, out).await?;
                if *topic_exists {
                    self.delete(topic).await?;
                }
                self.create(spec, topic, *to).await?;
                self.copy_back(*kind, &backup, topic, *to, &homes, out)
                    .await?;
            }
            Step::Recreate { topic, to, .. } => {
                self.delete(topic).await?;
                self.create(spec, topic, *to).await?;
            }
        }
        say(
            out,
            step_topic(step),
            format!("done in {:.1?}", started.elapsed()),
        )?;
        Ok(())
    }

    fn kafka(&self) -> &KafkaSettings {
        self.migration.kafka
    }

    fn timeout(&self) -> Duration {
        self.migration.clients.timeout
    }

    /// Copies every partition to the same partition of `backup`, keys and all; returns the
    /// records read per partition.
    async fn copy_to_backup(&self, topic: &str, backup: &str) -> Result<Counts, MigrateError> {
        let mut reader = TopicReader::open(self.kafka(), topic, self.timeout())?;
        let mut writer = Writer::new(self.kafka(), backup)?;
        let mut read = Counts::new();
        while let Some(message) = reader.next().await? {
            *read.entry(message.partition()).or_default() += 1;
            writer
                .send(outgoing(&message, message.partition(), message.key()))
                .await?;
        }
        let delivered = writer.finish().await?;
        verify(backup, &read, &delivered)?;
        Ok(read)
    }

    /// Decodes every record of `backup` before anything is deleted, and learns each
    /// transfer's home account for the keys of TransferCompleted / TransferFailed.
    async fn read_keys(
        &self,
        kind: EventKind,
        backup: &str,
        out: &mut dyn Write,
    ) -> Result<TransferHomes, MigrateError> {
        let mut homes = TransferHomes::default();
        let mut reader = TopicReader::open(self.kafka(), backup, self.timeout())?;
        let mut records = 0_u64;
        while let Some(message) = reader.next().await? {
            records += 1;
            match kind {
                EventKind::User => {
                    self.decode::<UserEvent>(backup, &message).await?;
                }
                EventKind::Bank => homes.learn(&self.decode::<BankEvent>(backup, &message).await?),
            }
        }
        say(
            out,
            backup,
            format!(
                "all {records} records decode; {} transfers",
                homes.transfers()
            ),
        )?;
        Ok(homes)
    }

    /// Copies `backup` into `topic` in order, each record keyed and partitioned per account.
    async fn copy_back(
        &self,
        kind: EventKind,
        backup: &str,
        topic: &str,
        partitions: i32,
        homes: &TransferHomes,
        out: &mut dyn Write,
    ) -> Result<(), MigrateError> {
        say(
            out,
            topic,
            format!("copying {backup} back, re-keyed per account"),
        )?;
        let mut reader = TopicReader::open(self.kafka(), backup, self.timeout())?;
        let mut writer = Writer::new(self.kafka(), topic)?;
        let mut expected = Counts::new();
        let mut unknown_transfers = 0_u64;
        while let Some(message) = reader.next().await? {
            let key = match kind {
                EventKind::User => user_key(&self.decode::<UserEvent>(backup, &message).await?),
                EventKind::Bank => {
                    let key = homes.key(&self.decode::<BankEvent>(backup, &message).await?);
                    if matches!(key, BankKey::UnknownTransfer(_)) {
                        unknown_transfers += 1;
                    }
                    key.into_string()
                }
            };
            // The partition is set explicitly, so it is exactly the one the routing computes.
            let partition = routing::partition_for(&key, partitions);
            *expected.entry(partition).or_default() += 1;
            writer
                .send(outgoing(&message, partition, Some(key.as_bytes())))
                .await?;
        }
        let delivered = writer.finish().await?;
        verify(topic, &expected, &delivered)?;
        let found = count_records(self.kafka(), topic, self.timeout()).await?;
        verify(topic, &expected, &found)?;
        say(
            out,
            topic,
            format!("verified: {} records ({})", total(&found), show(&found)),
        )?;
        if unknown_transfers > 0 {
            say(
                out,
                topic,
                format!(
                    "warning: {unknown_transfers} transfer end(s) without a TransferStarted were \
                     keyed by their transfer id"
                ),
            )?;
        }
        Ok(())
    }

    async fn decode<M: TopicMessage>(
        &self,
        topic: &str,
        message: &OwnedMessage,
    ) -> Result<M, MigrateError> {
        self.migration
            .codec
            .decode::<M>(message.payload())
            .await
            .map_err(|source| MigrateError::Undecodable {
                topic: topic.to_string(),
                partition: message.partition(),
                offset: message.offset(),
                source: Box::new(source),
            })
    }

    /// Creates `name` with the configs of `spec` and exactly `partitions` partitions.
    async fn create(
        &self,
        spec: &TopicSpec,
        name: &str,
        partitions: i32,
    ) -> Result<(), MigrateError> {
        let change = Change::CreateTopic {
            name: name.to_string(),
            partitions,
            replication: spec.replication_for(self.brokers),
            config: spec
                .config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let clients = self.migration.clients;
        apply::apply(clients.admin, clients.registry, &change).await?;
        // Creating tolerates an existing topic; here it must be the new one.
        let found = self.partitions_of(name)?.unwrap_or(0);
        if found != partitions {
            return Err(MigrateError::Layout {
                topic: name.to_string(),
                wanted: partitions,
                found,
            });
        }
        Ok(())
    }

    /// Deletes `name` and waits until the brokers no longer know it, so it can be recreated.
    async fn delete(&self, name: &str) -> Result<(), MigrateError> {
        let clients = self.migration.clients;
        let change = Change::DeleteTopic {
            name: name.to_string(),
        };
        apply::apply(clients.admin, clients.registry, &change).await?;
        let started = Instant::now();
        while self.partitions_of(name)?.is_some() {
            if started.elapsed() > DELETE_TIMEOUT {
                return Err(MigrateError::NotDeleted {
                    topic: name.to_string(),
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(())
    }

    /// The partition count of `name`, `None` when the topic does not exist.
    fn partitions_of(&self, name: &str) -> Result<Option<i32>, MigrateError> {
        let metadata = self
            .migration
            .clients
            .admin
            .inner()
            .fetch_metadata(Some(name), self.timeout())
            .map_err(|e| {
                MigrateError::Copy(CopyError::Consume {
                    topic: name.to_string(),
                    source: e,
                })
            })?;
        Ok(metadata
            .topics()
            .iter()
            .find(|t| t.name() == name && t.error().is_none() && !t.partitions().is_empty())
            .map(|t| i32::try_from(t.partitions().len()).unwrap_or(i32::MAX)))
    }
}

const DELETE_TIMEOUT: Duration = Duration::from_secs(60);

fn outgoing<'a>(message: &'a OwnedMessage, partition: i32, key: Option<&'a [u8]>) -> Outgoing<'a> {
    Outgoing {
        partition,
        key,
        payload: message.payload(),
        timestamp: timestamp_of(message),
        headers: headers_of(message),
    }
}

fn say(out: &mut dyn Write, topic: &str, what: String) -> Result<(), MigrateError> {
    writeln!(out, "migrate: {topic}: {what}")?;
    out.flush()?;
    Ok(())
}

/// Equal counts, a partition without records counting as 0.
fn verify(topic: &str, expected: &Counts, found: &Counts) -> Result<(), MigrateError> {
    let nonzero = |c: &Counts| -> BTreeMap<i32, u64> {
        c.iter()
            .filter(|(_, n)| **n > 0)
            .map(|(p, n)| (*p, *n))
            .collect()
    };
    if nonzero(expected) == nonzero(found) {
        return Ok(());
    }
    Err(MigrateError::Mismatch {
        topic: topic.to_string(),
        expected: show(expected),
        found: show(found),
    })
}

fn total(counts: &Counts) -> u64 {
    counts.values().sum()
}

/// `p0: 10, p3: 2` (partitions without records left out), or `no records`.
fn show(counts: &Counts) -> String {
    let parts: Vec<String> = counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(p, n)| format!("p{p}: {n}"))
        .collect();
    if parts.is_empty() {
        "no records".to_string()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_compare_with_empty_partitions_as_zero() {
        let expected: Counts = [(0, 3), (1, 0)].into_iter().collect();
        let found: Counts = [(0, 3), (2, 0)].into_iter().collect();
        assert!(verify("t", &expected, &found).is_ok());
        let short: Counts = [(0, 2)].into_iter().collect();
        let error = verify("t", &expected, &short).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("verifying t: expected p0: 3 records per partition, found p0: 2")
        );
        assert_eq!(show(&Counts::new()), "no records");
        assert_eq!(total(&expected), 3);
    }
}
