//! How many transfers each command-handler instance decided alone and how many crossed to
//! another instance through the saga, from the counters in its `/health` JSON, read before and
//! after the transfers. An instance whose `/health` lacks a counter simply reports nothing for it.

use std::time::Duration;

use serde_json::Value;

const LOCAL: &str = "transfers_local";
const ACROSS: &str = "transfers_across_instances";
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The two counters of one `/health` body; `None` when the field is not there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub local: Option<u64>,
    pub across: Option<u64>,
}

impl Counters {
    pub fn from_json(body: &Value) -> Self {
        Self {
            local: body.get(LOCAL).and_then(Value::as_u64),
            across: body.get(ACROSS).and_then(Value::as_u64),
        }
    }
}

/// Reads `url`, whatever its status: a 503 while catching up still carries the JSON.
pub async fn read(http: &reqwest::Client, url: &str) -> anyhow::Result<Counters> {
    let body: Value = http
        .get(url)
        .timeout(READ_TIMEOUT)
        .send()
        .await?
        .json()
        .await?;
    Ok(Counters::from_json(&body))
}

/// Reads every instance; one that cannot be read is reported and left out.
pub async fn read_all(http: &reqwest::Client, urls: &[String]) -> Vec<Option<Counters>> {
    let mut all = Vec::with_capacity(urls.len());
    for url in urls {
        match read(http, url).await {
            Ok(counters) => all.push(Some(counters)),
            Err(error) => {
                eprintln!("reading {url}: {error}");
                all.push(None);
            }
        }
    }
    all
}

/// The change of one counter, or why there is none to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Missing,
    /// The counter went down: the instance restarted during the run.
    Reset,
    By(u64),
}

fn change(before: Option<u64>, after: Option<u64>) -> Change {
    match (before, after) {
        (Some(before), Some(after)) if after >= before => Change::By(after - before),
        (Some(_), Some(_)) => Change::Reset,
        _ => Change::Missing,
    }
}

/// The lines to print for instances `urls`, read `before` and `after` the transfers.
pub fn report(
    urls: &[String],
    before: &[Option<Counters>],
    after: &[Option<Counters>],
) -> Vec<String> {
    let mut lines = Vec::new();
    let (mut local_total, mut across_total, mut complete) = (0u64, 0u64, false);
    for ((url, before), after) in urls.iter().zip(before).zip(after) {
        let (Some(before), Some(after)) = (before, after) else {
            continue;
        };
        let local = change(before.local, after.local);
        let across = change(before.across, after.across);
        let mut parts = Vec::new();
        for (name, change) in [(LOCAL, local), (ACROSS, across)] {
            match change {
                Change::By(n) => parts.push(format!("{name} +{n}")),
                Change::Reset => parts.push(format!("{name} went down (restarted?)")),
                Change::Missing => {}
            }
        }
        if parts.is_empty() {
            continue;
        }
        lines.push(format!("command handler {url}: {}", parts.join(", ")));
        if let (Change::By(local), Change::By(across)) = (local, across) {
            local_total += local;
            across_total += across;
            complete = true;
        }
    }
    let total = local_total + across_total;
    if complete && total > 0 {
        lines.push(format!(
            "saga path across instances: {:.1}% of {total} transfers ({across_total} across, {local_total} local)",
            across_total as f64 * 100.0 / total as f64
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_counters_when_they_are_there() {
        let body =
            json!({"status": "ready", "transfers_local": 7, "transfers_across_instances": 3});
        assert_eq!(
            Counters::from_json(&body),
            Counters {
                local: Some(7),
                across: Some(3)
            }
        );
        assert_eq!(
            Counters::from_json(&json!({"status": "ready"})),
            Counters::default()
        );
    }

    #[test]
    fn reports_the_change_and_the_share_across_instances() {
        let urls = vec!["http://a/health".to_string(), "http://b/health".to_string()];
        let before = vec![
            Some(Counters {
                local: Some(10),
                across: Some(0),
            }),
            Some(Counters {
                local: Some(0),
                across: Some(5),
            }),
        ];
        let after = vec![
            Some(Counters {
                local: Some(70),
                across: Some(20),
            }),
            Some(Counters {
                local: Some(40),
                across: Some(75),
            }),
        ];
        assert_eq!(
            report(&urls, &before, &after),
            vec![
                "command handler http://a/health: transfers_local +60, transfers_across_instances +20",
                "command handler http://b/health: transfers_local +40, transfers_across_instances +70",
                "saga path across instances: 47.4% of 190 transfers (90 across, 100 local)",
            ]
        );
    }

    #[test]
    fn prints_nothing_for_missing_counters_or_unreadable_instances() {
        let urls = vec![
            "http://old/health".to_string(),
            "http://down/health".to_string(),
        ];
        let before = vec![Some(Counters::default()), None];
        let after = vec![
            Some(Counters::default()),
            Some(Counters {
                local: Some(1),
                across: Some(1),
            }),
        ];
        assert!(report(&urls, &before, &after).is_empty());
    }

    #[test]
    fn a_restart_is_not_a_negative_count() {
        let urls = vec!["http://a/health".to_string()];
        let before = vec![Some(Counters {
            local: Some(50),
            across: Some(5),
        })];
        let after = vec![Some(Counters {
            local: Some(3),
            across: Some(9),
        })];
        assert_eq!(
            report(&urls, &before, &after),
            vec!["command handler http://a/health: transfers_local went down (restarted?), transfers_across_instances +4"]
        );
    }
}
