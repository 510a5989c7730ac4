//! The open-loop load: transfer `i` is due at `i / rate` seconds after the start and is sent
//! then, whatever the earlier ones are doing, as real users would. Its latency counts from when
//! it was due, not from when the client got round to sending it, so a client that falls behind
//! its own schedule shows in the numbers instead of hiding them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use topology::Id;

use crate::accounts::Account;
use crate::graphql::{GraphQl, TRANSFER};
use crate::pairs::Pairs;

#[derive(Clone)]
pub struct Plan {
    pub transfers: usize,
    pub rate: f64,
    pub max_in_flight: usize,
    pub request_timeout: Duration,
    pub seed: u64,
    /// Starts every description, so the subscription sees this run's transfers only.
    pub descr_prefix: String,
}

impl Plan {
    /// When transfer `index` is due, counted from the start.
    pub fn due(&self, index: usize) -> Duration {
        Duration::from_secs_f64(index as f64 / self.rate)
    }

    pub fn descr(&self, index: usize) -> String {
        format!("{}{index}", self.descr_prefix)
    }

    /// The index of the transfer with description `descr`, if it is one of this run.
    pub fn index_of(&self, descr: &str) -> Option<usize> {
        descr.strip_prefix(&self.descr_prefix)?.parse().ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// The bank refused it, with this reason; the transfer has ended.
    Refused(String),
    /// The endpoint's own wait for Kafka (`GRAPHQL_COMMAND_TIMEOUT`) ran out: an answer with
    /// `ended: false`, or a GraphQL error with code `TIMEOUT`.
    EndpointTimeout,
    /// No HTTP answer within `--request-timeout`.
    ClientTimeout,
    /// Refused at once by the endpoint's admission control (`BUSY`): nothing was sent to Kafka.
    Shed,
    /// An HTTP failure, a GraphQL error or an answer of another shape.
    Error(String),
    /// Not sent: `--max-in-flight` transfers were still waiting for their answers.
    NotSent,
}

pub struct Sample {
    /// When it was due, from the start.
    pub due: Duration,
    /// From due to answered (zero when not sent).
    pub latency: Duration,
    /// How late the client sent it.
    pub send_lag: Duration,
    pub outcome: Outcome,
    /// From and to are in different partitions of the bank.
    pub across_partitions: bool,
}

/// A latency and when its transfer was due, both counted from the start of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedLatency {
    pub due: Duration,
    pub latency: Duration,
}

pub struct Run {
    pub started: Instant,
    /// One per transfer, in the order they were due.
    pub samples: Vec<Sample>,
    /// From the start until the last transfer was sent.
    pub issuing: Duration,
}

enum Pending {
    Sent(JoinHandle<Sample>),
    Done(Sample),
}

/// Runs the plan between random pairs of `accounts` (at least 2).
pub async fn run(graphql: &GraphQl, accounts: Arc<Vec<Account>>, plan: &Plan) -> Run {
    let in_flight = Arc::new(Semaphore::new(plan.max_in_flight));
    let mut pairs = Pairs::new(plan.seed, accounts.len());
    let started = Instant::now();
    let mut pending = Vec::with_capacity(plan.transfers);
    for index in 0..plan.transfers {
        let due = plan.due(index);
        tokio::time::sleep_until((started + due).into()).await;
        let (from, to) = pairs.next_pair();
        let across_partitions = accounts[from].partition != accounts[to].partition;
        let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
            pending.push(Pending::Done(Sample {
                due,
                latency: Duration::ZERO,
                send_lag: started.elapsed().saturating_sub(due),
                outcome: Outcome::NotSent,
                across_partitions,
            }));
            continue;
        };
        let (graphql, accounts) = (graphql.clone(), Arc::clone(&accounts));
        let (descr, timeout) = (plan.descr(index), plan.request_timeout);
        pending.push(Pending::Sent(tokio::spawn(async move {
            let (from, to) = (&accounts[from], &accounts[to]);
            let send_lag = started.elapsed().saturating_sub(due);
            let answer = graphql
                .post(
                    TRANSFER,
                    json!({"uuid": Id::random().to_uuid_string(), "u": from.name, "t": from.token,
                           "a": 1 + (index % 100) as i64, "f": from.iban, "to": to.iban, "d": descr}),
                    timeout,
                )
                .await;
            let latency = started.elapsed().saturating_sub(due);
            drop(permit);
            let outcome = match answer {
                Ok(answer) => classify(&answer),
                Err(error) if error.is_timeout() => Outcome::ClientTimeout,
                Err(error) => Outcome::Error(error.to_string()),
            };
            Sample {
                due,
                latency,
                send_lag,
                outcome,
                across_partitions,
            }
        })));
    }
    let issuing = started.elapsed();
    let mut samples = Vec::with_capacity(pending.len());
    for (index, pending) in pending.into_iter().enumerate() {
        samples.push(match pending {
            Pending::Done(sample) => sample,
            Pending::Sent(task) => task.await.unwrap_or_else(|error| Sample {
                due: plan.due(index),
                latency: Duration::ZERO,
                send_lag: Duration::ZERO,
                outcome: Outcome::Error(format!("bench task: {error}")),
                across_partitions: false,
            }),
        });
    }
    Run {
        started,
        samples,
        issuing,
    }
}

/// What a `money_transfer` answer says.
fn classify(answer: &Value) -> Outcome {
    if let Some(error) = answer["errors"]
        .as_array()
        .and_then(|errors| errors.first())
    {
        if error["extensions"]["code"] == "TIMEOUT" {
            return Outcome::EndpointTimeout;
        }
        if error["extensions"]["code"] == "BUSY" {
            return Outcome::Shed;
        }
        let message = error["message"].as_str().unwrap_or("a GraphQL error");
        return Outcome::Error(message.to_string());
    }
    let result = &answer["data"]["money_transfer"];
    match (result["success"].as_bool(), result["ended"].as_bool()) {
        (Some(true), _) => Outcome::Succeeded,
        (Some(false), Some(false)) => Outcome::EndpointTimeout,
        (Some(false), _) => Outcome::Refused(
            result["reason"]
                .as_str()
                .unwrap_or("no reason given")
                .to_string(),
        ),
        (None, _) => Outcome::Error(format!("unexpected answer {answer}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rate: f64) -> Plan {
        Plan {
            transfers: 10,
            rate,
            max_in_flight: 1,
            request_timeout: Duration::from_secs(1),
            seed: 1,
            descr_prefix: "bench-abcd-".into(),
        }
    }

    #[test]
    fn transfers_are_due_on_a_fixed_schedule() {
        let plan = plan(1_000.0);
        assert_eq!(plan.due(0), Duration::ZERO);
        assert_eq!(plan.due(1_500), Duration::from_millis(1_500));
    }

    #[test]
    fn a_description_tells_its_transfer() {
        let plan = plan(1.0);
        assert_eq!(plan.index_of(&plan.descr(42)), Some(42));
        assert_eq!(plan.index_of("bench-ffff-42"), None);
        assert_eq!(plan.index_of("bench deposit"), None);
    }

    #[test]
    fn answers_are_told_apart() {
        let ok =
            json!({"data": {"money_transfer": {"success": true, "reason": null, "ended": true}}});
        assert_eq!(classify(&ok), Outcome::Succeeded);
        let refused = json!({"data": {"money_transfer": {"success": false, "reason": "iban not known", "ended": true}}});
        assert_eq!(
            classify(&refused),
            Outcome::Refused("iban not known".into())
        );
        let waited = json!({"data": {"money_transfer": {"success": false, "reason": "no answer within 10 s", "ended": false}}});
        assert_eq!(classify(&waited), Outcome::EndpointTimeout);
        let timeout = json!({"data": null, "errors": [{"message": "no answer within 10 s", "extensions": {"code": "TIMEOUT"}}]});
        assert_eq!(classify(&timeout), Outcome::EndpointTimeout);
        let busy = json!({"data": null, "errors": [{"message": "the bank is busy, try again in a moment", "extensions": {"code": "BUSY"}}]});
        assert_eq!(classify(&busy), Outcome::Shed);
        let error = json!({"data": null, "errors": [{"message": "sending to bank_commands: …"}]});
        assert_eq!(
            classify(&error),
            Outcome::Error("sending to bank_commands: …".into())
        );
        assert!(matches!(classify(&json!({})), Outcome::Error(_)));
    }
}
