//! `plan` and `apply`: observe the cluster + registry, compute the difference to a topic
//! catalogue, print it, and (for `apply`) carry it out, unless a difference forbids that.

use std::io::Write;
use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use topology::registry::RegistryClient;
use topology::TopicSpec;

use crate::apply::{self, ApplyError};
use crate::observed::{self, ObserveError};
use crate::plan::{self, Change};
use crate::refusal::Refusal;

/// The clients and addresses every step needs.
pub struct Clients<'a> {
    pub admin: &'a AdminClient<DefaultClientContext>,
    pub registry: &'a RegistryClient,
    /// The bootstrap servers, for messages.
    pub brokers: &'a str,
    /// How long to wait for the brokers and the registry to answer.
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Print the difference; change nothing.
    Plan,
    /// Print and carry out the difference.
    Apply,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Observe(#[from] ObserveError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("writing the report: {0}")]
    Output(#[from] std::io::Error),
}

/// What a run found and did.
#[derive(Debug)]
pub struct Outcome {
    pub changes: Vec<Change>,
    /// How many changes were carried out (0 for a plan).
    pub applied: usize,
}

/// Makes the cluster and registry match `topics` (or, with [`Mode::Plan`], says what that
/// would take), reporting line by line to `out`. Refuses with [`SyncError::Refused`], having
/// changed nothing, when a partition count differs that must not change in place.
pub async fn synchronize(
    topics: &[TopicSpec],
    clients: &Clients<'_>,
    mode: Mode,
    delete_unknown: bool,
    out: &mut dyn Write,
) -> Result<Outcome, SyncError> {
    let cluster = observed::cluster(clients.admin, clients.brokers, clients.timeout).await?;
    let schemas = observed::registry(clients.registry, topics, clients.timeout).await?;
    let changes = plan::plan(topics, &cluster, &schemas, delete_unknown);
    let applicable = changes.iter().filter(|c| c.is_applicable()).count();
    let refusal = Refusal::of(&changes, topology::BANK_PARTITIONS);

    if mode == Mode::Plan || applicable == 0 || refusal.is_some() {
        for change in &changes {
            writeln!(out, "{change}")?;
        }
    }
    if let Some(refusal) = refusal {
        if mode == Mode::Apply {
            return Err(refusal.into());
        }
        writeln!(
            out,
            "{applicable} change(s) to apply, but `synchronizer apply` refuses:"
        )?;
        writeln!(out, "{refusal}")?;
        return Ok(Outcome {
            changes,
            applied: 0,
        });
    }
    if applicable == 0 {
        writeln!(
            out,
            "nothing to do: {} topics and {} subjects match the topology",
            topics.len(),
            topics.iter().map(|t| t.records.len()).sum::<usize>()
        )?;
        return Ok(Outcome {
            changes,
            applied: 0,
        });
    }
    if mode == Mode::Plan {
        writeln!(
            out,
            "{applicable} change(s) to apply; run `synchronizer apply`"
        )?;
        return Ok(Outcome {
            changes,
            applied: 0,
        });
    }
    for change in &changes {
        writeln!(out, "{change}")?;
        // Flushed before the change runs, so a slow or failing step shows what it was doing.
        out.flush()?;
        apply::apply(clients.admin, clients.registry, change).await?;
    }
    writeln!(out, "applied {applicable} change(s)")?;
    Ok(Outcome {
        changes,
        applied: applicable,
    })
}
