//! Live streams: who may open them, what they carry, and that they end within seconds when
//! the rights behind them end (a logout, an expired session, an owner who left).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::common::{Suite, EMPLOYEE, STRONG_PASSWORD};
use super::{
    another_endpoint, endpoint_settings, new_address, open_socket, Caller, Customer, Socket,
};

const STREAM: &str = "subscription($i: String) { stream_transactions(iban: $i) { id iban descr } }";
const ALERTS: &str = "subscription($i: String!) { alerts(iban: $i) { kind iban } }";
const EMPLOYEE_LOGIN: &str =
    "mutation($u: String!, $p: String!) { employee_login(username: $u, password: $p) { token } }";

async fn socket(port: u16, session: Option<&str>) -> Socket {
    let mut socket = open_socket(port, None, new_address())
        .await
        .expect("a socket");
    socket.init(session).await;
    socket
}

/// The next `next` payload of subscription `id` that is an error, or data: the first message
/// for that subscription.
async fn next_for(socket: &mut Socket) -> Value {
    loop {
        let message = socket.next_json().await.expect("a message");
        if message["type"] == "complete" {
            continue;
        }
        assert!(
            message["type"] == "next" || message["type"] == "error",
            "{message}"
        );
        return message["payload"].clone();
    }
}

fn error_code(payload: &Value) -> Option<&str> {
    payload["errors"][0]["extensions"]["code"]
        .as_str()
        .or_else(|| payload[0]["extensions"]["code"].as_str())
}

/// Waits for the stream's error, skipping data, and tells how long it took.
async fn ended_with(socket: &mut Socket) -> (Duration, String) {
    let started = Instant::now();
    loop {
        let payload = next_for(socket).await;
        if let Some(code) = error_code(&payload) {
            let complete = socket.next_json().await;
            assert!(
                complete.is_none_or(|m| m["type"] == "complete"),
                "the stream completes after its error"
            );
            return (started.elapsed(), code.to_string());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn streams_carry_only_what_their_caller_may_see_and_end_with_the_rights() {
    let suite = Suite::start(&endpoint_settings(&[])).await;
    let port = suite.endpoint.port();
    let alice = Customer::sign_up(port, "sec-live-alice").await;
    let bob = Customer::sign_up(port, "sec-live-bob").await;
    let alice_session = alice.caller.session.clone().expect("session");

    // Without a session, or on someone else's account: refused at once.
    let mut anonymous = socket(port, None).await;
    anonymous
        .subscribe("1", STREAM, json!({"i": alice.iban}))
        .await;
    assert_eq!(
        error_code(&next_for(&mut anonymous).await),
        Some("UNAUTHENTICATED")
    );
    let mut nosy = socket(port, bob.caller.session.as_deref()).await;
    nosy.subscribe("1", STREAM, json!({"i": alice.iban})).await;
    assert_eq!(error_code(&next_for(&mut nosy).await), Some("FORBIDDEN"));
    nosy.subscribe("2", ALERTS, json!({"i": alice.iban})).await;
    assert_eq!(error_code(&next_for(&mut nosy).await), Some("FORBIDDEN"));

    // A customer's stream without an IBAN carries their own accounts only; an employee's all.
    let mut own = socket(port, Some(&alice_session)).await;
    own.subscribe("1", STREAM, json!({})).await;
    let employee_session = {
        let login = Caller::new(port)
            .data(
                EMPLOYEE_LOGIN,
                json!({"u": EMPLOYEE.0, "p": EMPLOYEE.1}),
                "employee_login",
            )
            .await;
        login["token"].as_str().expect("token").to_string()
    };
    let mut everything = socket(port, Some(&employee_session)).await;
    everything.subscribe("1", STREAM, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bob.deposit(700).await["success"], true);
    assert_eq!(alice.deposit(500).await["success"], true);
    let first = next_for(&mut own).await;
    assert_eq!(
        first["data"]["stream_transactions"]["iban"],
        alice.iban.as_str(),
        "{first}"
    );
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let payload = next_for(&mut everything).await;
        if let Some(iban) = payload["data"]["stream_transactions"]["iban"].as_str() {
            if iban == alice.iban || iban == bob.iban {
                seen.push(iban.to_string());
            }
        }
    }
    assert!(
        seen.contains(&bob.iban) && seen.contains(&alice.iban),
        "{seen:?}"
    );

    // An owner who leaves stops receiving within seconds.
    let share = "mutation($i: String!, $a: String!) { add_owner(iban: $i, user_to_add: $a) { success reason } }";
    let shared = alice
        .caller
        .data(share, json!({"i": alice.iban, "a": bob.name}), "add_owner")
        .await;
    assert_eq!(shared["success"], true, "{shared}");
    let mut bobs = socket(port, bob.caller.session.as_deref()).await;
    for _ in 0..50 {
        bobs.subscribe("1", STREAM, json!({"i": alice.iban})).await;
        let message = tokio::time::timeout(Duration::from_millis(500), bobs.next_json()).await;
        match message {
            Err(_) => break, // no refusal: the stream is open
            Ok(Some(m)) if m["type"] == "next" && error_code(&m["payload"]).is_some() => {
                let _ = bobs.next_json().await; // its complete
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(other) => panic!("{other:?}"),
        }
    }
    let leave = "mutation($i: String!) { remove_owner(iban: $i) { success reason } }";
    let other_session = bob.caller.session_of(&bob.name, STRONG_PASSWORD).await;
    let left = other_session
        .data(leave, json!({"i": alice.iban}), "remove_owner")
        .await;
    assert_eq!(left["success"], true, "{left}");
    let (took, code) = ended_with(&mut bobs).await;
    eprintln!("an owner who left: stream ended after {took:?}");
    assert_eq!(code, "FORBIDDEN");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // A logout ends the session's streams within seconds.
    let logout = alice
        .caller
        .post("mutation { logout { success } }", json!({}))
        .await;
    assert_eq!(logout["data"]["logout"]["success"], true);
    let (took, code) = ended_with(&mut own).await;
    eprintln!("a logout: stream ended after {took:?}");
    assert_eq!(code, "UNAUTHENTICATED");
    assert!(took < Duration::from_secs(4), "{took:?}");

    // So does a session that expires (one from a replica whose sessions last 3 s unrefreshed).
    let brief = another_endpoint(&[("SESSION_IDLE_SECONDS", "3")]).await;
    let short = Caller::new(brief.port())
        .session_of(&alice.name, STRONG_PASSWORD)
        .await;
    let mut expiring = socket(port, short.session.as_deref()).await;
    expiring
        .subscribe("1", ALERTS, json!({"i": alice.iban}))
        .await;
    let started = Instant::now();
    let (_, code) = ended_with(&mut expiring).await;
    eprintln!(
        "an expired session: stream ended {:?} after it began",
        started.elapsed()
    );
    assert_eq!(code, "UNAUTHENTICATED");
    assert!(started.elapsed() < Duration::from_secs(8));
}
