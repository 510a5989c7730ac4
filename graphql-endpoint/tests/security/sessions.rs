//! Customer and employee sessions: logging in, refreshing, expiring, and ending on every
//! replica (logout, a password change).

use std::time::{Duration, Instant};

use serde_json::json;

use super::common::{Suite, EMPLOYEE, STRONG_PASSWORD};
use super::{another_endpoint, endpoint_settings, Caller, Customer};

const MINE: &str = "{ my_accounts { accounts { iban } reason } }";
const REFRESH: &str = "mutation { refresh_session { token expires_at reason } }";
const LOGOUT: &str = "mutation { logout { success reason } }";
const CHANGE: &str = "mutation($o: String!, $n: String!) { change_password(old_password: $o, new_password: $n) { success reason } }";
const EMPLOYEE_LOGIN: &str = "mutation($u: String!, $p: String!) { employee_login(username: $u, password: $p) { token expires_at reason } }";

/// How long until `caller`'s session is refused (polled every 20 ms, at most 5 s), with the
/// refusal's message.
async fn refused_within(caller: &Caller) -> (Duration, String) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let response = caller.post(MINE, json!({})).await;
        if let Some(message) = response["errors"][0]["message"].as_str() {
            assert_eq!(
                response["errors"][0]["extensions"]["code"],
                "UNAUTHENTICATED"
            );
            return (started.elapsed(), message.to_string());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the session was still accepted after 5 s");
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn sessions_are_checked_refreshed_and_ended_on_every_replica() {
    let suite = Suite::start(&endpoint_settings(&[])).await;
    let replica = another_endpoint(&[]).await;
    let (a, b) = (suite.endpoint.port(), replica.port());
    let alice = Customer::sign_up(a, "sec-alice").await;

    // A session from one replica is accepted by the other (they share the signing secret).
    let mine = alice
        .caller
        .at(b)
        .data(MINE, json!({}), "my_accounts")
        .await;
    assert_eq!(mine["accounts"][0]["iban"], alice.iban.as_str(), "{mine}");

    // An unknown user and a wrong password: the same answer, in about the same time.
    let stranger = Caller::new(a);
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for n in 0..3 {
        let started = Instant::now();
        let answer = stranger
            .login(&format!("sec-nobody-{n}-{}", alice.name), STRONG_PASSWORD)
            .await;
        unknown.push(started.elapsed());
        assert_eq!(answer["reason"], "invalid username or password");
        let started = Instant::now();
        let answer = Caller::new(a)
            .login(&alice.name, "not alice's password at all")
            .await;
        wrong.push(started.elapsed());
        assert_eq!(answer["reason"], "invalid username or password");
    }
    let (unknown, wrong) = (median(unknown), median(wrong));
    eprintln!("login: unknown user {unknown:?}, wrong password {wrong:?} (medians of 3)");
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!((0.33..3.0).contains(&ratio), "{unknown:?} vs {wrong:?}");

    // A refresh: a new token of the same session, ending no earlier.
    let first = alice.caller.login(&alice.name, STRONG_PASSWORD).await;
    let session = alice
        .caller
        .with_session(first["token"].as_str().expect("token"));
    let refreshed = session.data(REFRESH, json!({}), "refresh_session").await;
    assert!(
        refreshed["expires_at"].as_str() >= first["expires_at"].as_str(),
        "{refreshed}"
    );
    let second = session.with_session(refreshed["token"].as_str().expect("token"));
    assert!(second
        .at(b)
        .post(MINE, json!({}))
        .await
        .get("errors")
        .is_none());

    // Logout on one replica ends the session (every token of it) on the other within a second.
    let out = second.data(LOGOUT, json!({}), "logout").await;
    assert_eq!(out["success"], true);
    let (took, message) = refused_within(&second.at(b)).await;
    eprintln!("logout on one replica: refused by the other after {took:?}");
    assert_eq!(message, "session ended");
    assert!(took < Duration::from_secs(1), "{took:?}");
    let (_, message) = refused_within(&session.at(b)).await;
    assert_eq!(
        message, "session ended",
        "the older token of the same session too"
    );
    assert_eq!(refused_within(&second).await.1, "session ended");
    let again = second.post(LOGOUT, json!({})).await;
    assert_eq!(again["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    // The refused logins and the logout are in the log, under a pseudonym; no service's log
    // names the customer.
    let log = suite.endpoint.log_text();
    for line in ["a login was refused", "logged out"] {
        assert!(log.contains(line), "no '{line}' in the endpoint's log");
    }
    for (service, log) in [
        ("endpoint", log),
        ("replica", replica.log_text()),
        ("command handler", suite.handler.log_text()),
        ("projector", suite.projector.log_text()),
    ] {
        let naming: Vec<&str> = log
            .lines()
            .filter(|line| line.contains(alice.name.as_str()))
            .collect();
        assert!(
            naming.is_empty(),
            "the {service}'s log names the customer:\n{}",
            naming.join("\n")
        );
    }

    // A password change ends the user's other sessions everywhere, and keeps this one.
    let phone = alice.caller.session_of(&alice.name, STRONG_PASSWORD).await;
    let laptop = alice.caller.session_of(&alice.name, STRONG_PASSWORD).await;
    let new_password = "granite orchard whistle 77";
    for (old, new, reason) in [
        ("not the old password", new_password, "invalid password"),
        (
            STRONG_PASSWORD,
            "password1",
            "password is too easy to guess: use a longer phrase of uncommon words",
        ),
    ] {
        let refused = laptop
            .data(CHANGE, json!({"o": old, "n": new}), "change_password")
            .await;
        assert_eq!(refused, json!({"success": false, "reason": reason}));
    }
    let changed = laptop
        .data(
            CHANGE,
            json!({"o": STRONG_PASSWORD, "n": new_password}),
            "change_password",
        )
        .await;
    assert_eq!(changed, json!({"success": true, "reason": null}));
    let (took, message) = refused_within(&phone.at(b)).await;
    eprintln!("password change: the other session refused after {took:?}");
    assert_eq!(message, "session ended");
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(
        laptop
            .at(b)
            .post(MINE, json!({}))
            .await
            .get("errors")
            .is_none(),
        "kept"
    );
    // The projector follows the command a moment later.
    let mut old_refused = false;
    for _ in 0..50 {
        if Caller::new(a).login(&alice.name, STRONG_PASSWORD).await["reason"]
            == "invalid username or password"
        {
            old_refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(old_refused, "the old password stops working");
    assert!(Caller::new(a).login(&alice.name, new_password).await["token"].is_string());

    // Employees log out the same way.
    let employee = Caller::new(a);
    let login = employee
        .data(
            EMPLOYEE_LOGIN,
            json!({"u": EMPLOYEE.0, "p": EMPLOYEE.1}),
            "employee_login",
        )
        .await;
    let employee = employee.with_session(login["token"].as_str().expect("token"));
    let page = "{ all_accounts(max_items: 1) { total } }";
    assert!(employee
        .at(b)
        .post(page, json!({}))
        .await
        .get("errors")
        .is_none());
    assert_eq!(
        employee.data(LOGOUT, json!({}), "logout").await["success"],
        true
    );
    // The other replica learns of the logout through Kafka, within milliseconds.
    let started = Instant::now();
    let refused = loop {
        let answer = employee.at(b).post(page, json!({})).await;
        if answer.get("errors").is_some() || started.elapsed() > Duration::from_secs(5) {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        refused["errors"][0]["message"], "session ended",
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn sessions_expire_when_idle_and_at_their_absolute_end() {
    let suite = Suite::start(&endpoint_settings(&[
        ("SESSION_IDLE_SECONDS", "2"),
        ("SESSION_MAX_SECONDS", "5"),
    ]))
    .await;
    let alice = Customer::sign_up(suite.endpoint.port(), "sec-idle").await;

    // Unused for longer than the idle lifetime: expired.
    let idle = alice.caller.session_of(&alice.name, STRONG_PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    let refused = idle.post(MINE, json!({})).await;
    assert_eq!(
        refused["errors"][0]["message"], "session expired",
        "{refused}"
    );
    assert_eq!(
        idle.post(REFRESH, json!({})).await["errors"][0]["message"],
        "session expired"
    );

    // Refreshed every second it lives on, until its absolute end (5 s after the login).
    let mut session = alice.caller.session_of(&alice.name, STRONG_PASSWORD).await;
    let logged_in = Instant::now();
    let ended = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let refreshed = session.post(REFRESH, json!({})).await;
        match refreshed["data"]["refresh_session"]["token"].as_str() {
            Some(token) => session = session.with_session(token),
            None => break logged_in.elapsed(),
        }
        assert!(logged_in.elapsed() < Duration::from_secs(10), "never ended");
    };
    eprintln!("a session refreshed every second ended {ended:?} after the login");
    assert!(ended >= Duration::from_secs(4), "{ended:?}");
    assert_eq!(
        session.post(MINE, json!({})).await["errors"][0]["message"],
        "session expired"
    );
}
