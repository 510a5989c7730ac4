//! Abuse limits: login throttling per username and per address, one credential check per
//! request, the bounded password-hashing queue, strong new passwords, cash deposit limits,
//! and failed logins counted and logged without the password.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::common::{Suite, STRONG_PASSWORD};
use super::{endpoint_settings, Caller, Customer, LOGIN, SIGN_UP};

const EMPLOYEE_LOGIN: &str = "mutation($u: String!, $p: String!) { employee_login(username: $u, password: $p) { token reason } }";
const TOO_EASY: &str = "password is too easy to guess: use a longer phrase of uncommon words";

fn is_throttled(reason: &Value) -> bool {
    reason
        .as_str()
        .is_some_and(|r| r.starts_with("too many attempts, try again in "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn guessing_is_throttled_bounded_and_counted() {
    let suite = Suite::start(&endpoint_settings(&[])).await;
    let port = suite.endpoint.port();
    let victim = Customer::sign_up(port, "sec-victim").await;

    // Per username: three wrong guesses are free, the fourth waits, and says so at once,
    // from any address (even with the right password).
    let guesser = Caller::new(port);
    for _ in 0..3 {
        let answer = guesser.login(&victim.name, "a wrong guess of mine").await;
        assert_eq!(answer["reason"], "invalid username or password");
    }
    let answer = guesser.login(&victim.name, "another wrong guess").await;
    assert_eq!(answer["reason"], "invalid username or password");
    let started = Instant::now();
    let throttled = Caller::new(port).login(&victim.name, STRONG_PASSWORD).await;
    let took = started.elapsed();
    assert!(is_throttled(&throttled["reason"]), "{throttled}");
    eprintln!(
        "a throttled login answered in {took:?}: {}",
        throttled["reason"]
    );
    assert!(took < Duration::from_millis(500), "{took:?}");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert!(Caller::new(port).login(&victim.name, STRONG_PASSWORD).await["token"].is_string());

    // Per address: one address guessing many usernames is slowed too.
    let sprayer = Caller::new(port);
    let mut throttled_at = None;
    for n in 0..30 {
        let answer = sprayer
            .login(&format!("sec-spray-{n}-{}", victim.name), STRONG_PASSWORD)
            .await;
        if is_throttled(&answer["reason"]) {
            throttled_at = Some(n);
            break;
        }
    }
    eprintln!("one address guessing other usernames: throttled at attempt {throttled_at:?}");
    assert!(throttled_at.is_some_and(|n| n <= 12), "{throttled_at:?}");
    let elsewhere = Caller::new(port).login(&victim.name, STRONG_PASSWORD).await;
    assert!(
        elsewhere["token"].is_string(),
        "other addresses are not slowed: {elsewhere}"
    );

    // One credential check per document and per batch, however it is dressed up.
    let aliased = r#"mutation { a: login(username: "x-user-1", password: "guess one") { token } b: login(username: "x-user-1", password: "guess two") { token } }"#;
    let fragment = r#"mutation { ...Guesses } fragment Guesses on Mutation { a: get_account(username: "x-user-2", password: "guess one") { iban } b: employee_login(username: "x-user-2", password: "guess two") { token } }"#;
    for document in [aliased, fragment] {
        let (code, _) = Caller::new(port).refusal(document, json!({})).await;
        assert_eq!(code, "TOO_MANY_CREDENTIAL_CHECKS", "{document}");
    }
    let login = |p: &str| json!({"query": LOGIN, "variables": {"u": "x-user-3", "p": p}});
    let batch = Caller::new(port)
        .request(&json!([login("guess one"), login("guess two")]))
        .send()
        .await
        .expect("POST");
    assert_eq!(batch.status(), 400);
    let body: Value = batch.json().await.expect("JSON");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "TOO_MANY_CREDENTIAL_CHECKS"
    );

    // The hashing queue is bounded: a burst from many addresses is refused at once beyond it.
    // (Employee logins: no Kafka round trip before the hash, so they arrive faster than any
    // customer login could; each guesses another username, from another address.)
    let started = Instant::now();
    let burst: Vec<_> = (0..100)
        .map(|n| {
            let caller = Caller::new(port);
            let name = format!("sec-burst-{n}-{}", victim.name);
            tokio::spawn(async move {
                let started = Instant::now();
                let variables = json!({"u": name, "p": STRONG_PASSWORD});
                let answer = caller
                    .data(EMPLOYEE_LOGIN, variables, "employee_login")
                    .await;
                let reason = answer["reason"].as_str().unwrap_or_default().to_string();
                (reason, started.elapsed())
            })
        })
        .collect();
    let mut busy = Vec::new();
    for answer in burst {
        let (reason, took) = answer.await.expect("a login");
        if reason == "too many logins at once, try again in a moment" {
            busy.push(took);
        } else {
            assert_eq!(reason, "invalid employee username or password");
        }
    }
    eprintln!(
        "100 logins at once: {} refused as busy (slowest refusal {:?}), all answered in {:?}",
        busy.len(),
        busy.iter().max(),
        started.elapsed()
    );
    assert!(!busy.is_empty(), "the queue never filled");

    // New passwords must be strong: at sign-up and when changed.
    for weak in ["12345678", "password1"] {
        let name = super::common::unique("sec-weak");
        let answer = Caller::new(port)
            .data(SIGN_UP, json!({"u": name, "p": weak}), "get_account")
            .await;
        assert_eq!(answer["reason"], TOO_EASY, "{weak}");
    }

    // Failed and throttled logins are counted, and the log never holds a password.
    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("text");
    for (kind, outcome) in [
        ("customer", "succeeded"),
        ("customer", "failed"),
        ("customer", "throttled"),
        ("employee", "failed"),
        ("employee", "busy"),
    ] {
        let line = format!("open_bank_logins_total{{kind=\"{kind}\",outcome=\"{outcome}\"}}");
        assert!(metrics.contains(&line), "{line} missing:\n{metrics}");
    }
    let log = suite.endpoint.log_text();
    assert!(log.contains("a login was refused") && log.contains("a login was throttled"));
    for secret in [STRONG_PASSWORD, "a wrong guess of mine", "guess two"] {
        assert!(!log.contains(secret), "the log holds a password");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn cash_comes_in_bounded_per_deposit_and_per_day() {
    let suite = Suite::start(&endpoint_settings(&[])).await;
    let saver = Customer::sign_up(suite.endpoint.port(), "sec-cash").await;
    let refused = saver.deposit(1_000_001).await;
    assert_eq!(
        refused,
        json!({"success": false, "reason": "a cash deposit may be at most € 10.000,00"})
    );
    for _ in 0..2 {
        assert_eq!(saver.deposit(1_000_000).await["success"], true);
    }
    let daily = "cash deposits into this account may be at most € 25.000,00 a day";
    assert_eq!(saver.deposit(1_000_000).await["reason"], daily);
    assert_eq!(
        saver.deposit(500_000).await["success"],
        true,
        "up to exactly € 25.000,00"
    );
    assert_eq!(saver.deposit(1).await["reason"], daily);
    // Only the accepted deposits moved money.
    let query =
        "query($i: String!) { transactions_by_iban(iban: $i, max_items: 10) { new_balance } }";
    let mut balance = Value::Null;
    for _ in 0..50 {
        let seen = saver
            .caller
            .data(query, json!({"i": saver.iban}), "transactions_by_iban")
            .await;
        balance = seen[0]["new_balance"].clone();
        if balance == "€ 25.000,00" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(balance, "€ 25.000,00");
    // A password change refuses a weak new password too (checked here, on a quiet address).
    let change = "mutation { change_password(old_password: \"violet harbor lantern 42\", new_password: \"12345678\") { success reason } }";
    let refused = saver
        .caller
        .data(change, json!({}), "change_password")
        .await;
    assert_eq!(refused, json!({"success": false, "reason": TOO_EASY}));
}
