//! One active instance: a second instance with the same transactional id takes over and the
//! first one exits non-zero instead of writing on.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn a_second_instance_fences_the_first() {
    let ids = Ids::fresh();
    let mut first = start_command_handler(&ids, "fenced-1");
    first.wait_ready(WAIT).await;
    let mut second = start_command_handler(&ids, "fenced-2");
    second.wait_ready(WAIT).await;

    // The newer instance does the work.
    let sender = Sender::new();
    let mut watcher = Watcher::new();
    let (iban, token) = open_account(&sender, &mut watcher, &unique("fence")).await;
    assert!(!iban.is_empty() && !token.is_empty());

    let status = first.wait_exit(Duration::from_secs(60));
    let status = status.unwrap_or_else(|| {
        panic!(
            "the fenced instance still runs after 60 s; log:\n{}",
            first.log_text()
        )
    });
    assert!(!status.success(), "fenced instance exit status {status}");
    let log = first.log_text();
    assert!(
        log.contains("newer instance") || log.contains("fenced") || log.contains("Fenced"),
        "{log}"
    );
    assert!(second.terminate().is_some_and(|s| s.success()));
}
