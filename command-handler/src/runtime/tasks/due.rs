//! Work that falls due without an input: credits asked again of the instance that never
//! answered, holds released when they expire, and standing orders run when their time comes. Both are written like a batch, in a
//! transaction with the group's metadata and the owned partitions' committed offsets, so an
//! instance that lost its partitions is fenced instead of writing for them.

use std::collections::BTreeSet;
use std::sync::Arc;

use rdkafka::consumer::Consumer;
use tokio::time::Instant;
use topology::consistency::Positions;
use topology::transactions::Written;
use topology::Id;

use super::{Member, Tasks, ASK_AGAIN_AFTER, ASK_AGAIN_CHECK};
use crate::domain::Fresh;
use crate::handling::Output;
use crate::runtime::pump::Pump;
use crate::runtime::transactions::WriteError;
use crate::runtime::RuntimeError;

impl Tasks<'_> {
    /// Asks again for credits another instance has not answered for [`ASK_AGAIN_AFTER`].
    pub async fn ask_again_if_due(
        &mut self,
        consumer: &Member,
        pump: &mut Pump<'_>,
    ) -> Result<(), RuntimeError> {
        if self.last_ask_check.elapsed() < ASK_AGAIN_CHECK {
            return Ok(());
        }
        self.last_ask_check = Instant::now();
        let Some(handler) = self.handler.as_ref() else {
            return Ok(());
        };
        let waiting: BTreeSet<Id> = handler.awaiting_remote().into_iter().collect();
        self.awaiting.retain(|id, _| waiting.contains(id));
        let now = Instant::now();
        let mut outputs = Vec::new();
        for id in waiting {
            let since = self.awaiting.entry(id).or_insert(now);
            if now.duration_since(*since) >= ASK_AGAIN_AFTER {
                outputs.extend(handler.ask_again(id));
                *since = now;
            }
        }
        if outputs.is_empty() {
            return Ok(());
        }
        tracing::info!(
            credits = outputs.len(),
            "asking other instances again for unanswered credits"
        );
        match self.write_unprompted(consumer, pump, &outputs).await? {
            Some(written) => self.after_commit(&outputs, &written, &[]),
            None => self.take_over_all(consumer, pump).await,
        }
    }

    /// Writes records no input asked for, with the committed offsets of the owned partitions,
    /// so the group still fences the transaction if this instance lost them.
    pub(super) async fn write_unprompted(
        &self,
        consumer: &Member,
        pump: &mut Pump<'_>,
        outputs: &[Output],
    ) -> Result<Option<Written>, RuntimeError> {
        let group = consumer
            .group_metadata()
            .map(Arc::new)
            .ok_or(WriteError::NoGroupMetadata)?;
        let offsets = self.committed_offsets()?;
        pump.write(outputs, &[], &Positions::new(), &offsets, &group)
            .await
    }

    /// Decides what fell due on the accounts this instance owns, looking at most every
    /// [`DUE_CHECK`](super::DUE_CHECK): holds that expired, runs of standing orders (see
    /// `crate::handling::Handler::decide_due`).
    pub async fn decide_due(
        &mut self,
        consumer: &Member,
        pump: &mut Pump<'_>,
    ) -> Result<(), RuntimeError> {
        if self.last_due_check.elapsed() < super::DUE_CHECK {
            return Ok(());
        }
        self.last_due_check = Instant::now();
        let now_millis = Fresh::generate().now_millis;
        let Some(handler) = self.handler.as_mut() else {
            return Ok(());
        };
        if handler.next_due().is_none_or(|due| due > now_millis) {
            return Ok(());
        }
        let outputs = handler.decide_due(now_millis);
        tracing::info!(
            records = outputs.len(),
            "deciding what fell due (holds, standing orders)"
        );
        match self.write_unprompted(consumer, pump, &outputs).await? {
            Some(written) => {
                crate::runtime::metrics::due_decided(&outputs);
                // The runs' transfers are among the outputs' events, which the store's changes name.
                self.after_commit(&outputs, &written, &[])
            }
            None => self.take_over_all(consumer, pump).await,
        }
    }
}
