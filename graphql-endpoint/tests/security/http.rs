//! The bounds of HTTP and WebSocket: body size, content type, answer size and memory, CORS
//! and WebSocket origins, sockets per address and subscriptions per socket, pings, idle and
//! half-open sockets, security headers, and GraphiQL and introspection switched off.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::common::{Suite, EMPLOYEE};
use super::{
    another_endpoint, endpoint_settings, new_address, open_socket, Caller, Customer, Frame,
};

const APP: &str = "http://127.0.0.1:8181";
const ELSEWHERE: &str = "https://elsewhere.example";
const INTROSPECTION: &str = include_str!("../../src/schema/introspection.graphql");

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn requests_and_answers_are_bounded_and_browsers_are_fenced() {
    let suite = Suite::start(&endpoint_settings(&[])).await;
    let port = suite.endpoint.port();
    let caller = Caller::new(port);
    let http = reqwest::Client::new();
    let url = caller.url("/graphql");
    let figures = json!({"query": "{ bank_figures { accounts } }"});

    // Only JSON is executed: a form or text/plain body (what a page elsewhere can send
    // without asking) is 415, and nothing runs.
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let sent = http
            .post(&url)
            .header("content-type", content_type)
            .body(figures.to_string())
            .send()
            .await
            .expect("POST");
        assert_eq!(sent.status(), 415, "{content_type}");
    }
    // A body over 1 MiB is 413.
    let huge =
        json!({"query": format!("{{ bank_figures {{ accounts }} }} # {}", "x".repeat(1_100_000))});
    let sent = http.post(&url).json(&huge).send().await.expect("POST");
    assert_eq!(sent.status(), 413);

    // The answer is the API's: framed by nobody, never sniffed, never cached, no referrer.
    let answer = http.post(&url).json(&figures).send().await.expect("POST");
    assert_eq!(answer.status(), 200);
    assert!(header(&answer, "content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header(&answer, "x-content-type-options"), "nosniff");
    assert_eq!(header(&answer, "x-frame-options"), "DENY");
    assert_eq!(header(&answer, "referrer-policy"), "no-referrer");
    assert!(header(&answer, "permissions-policy").contains("camera=()"));
    assert_eq!(header(&answer, "cache-control"), "no-store");
    let graphiql = http.get(caller.url("/graphiql")).send().await.expect("GET");
    let policy = header(&graphiql, "content-security-policy").to_string();
    assert!(
        policy.contains("script-src 'self';"),
        "no inline script: {policy}"
    );
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(
        !graphiql.text().await.expect("page").contains("<script>"),
        "no inline script"
    );

    // CORS: the web app's origin may call, any other origin gets no permission.
    for (origin, allowed) in [(APP, true), (ELSEWHERE, false)] {
        let preflight = http
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, authorization",
            )
            .send()
            .await
            .expect("OPTIONS");
        let granted = header(&preflight, "access-control-allow-origin");
        assert_eq!(granted == origin, allowed, "{origin}: {granted:?}");
        assert_ne!(granted, "*");
    }
    // WebSockets: a browser page elsewhere may not open one; the app and non-browsers may.
    assert_eq!(
        open_socket(port, Some(ELSEWHERE), new_address())
            .await
            .err(),
        Some(403)
    );
    assert!(open_socket(port, Some(APP), new_address()).await.is_ok());
    assert!(open_socket(port, None, new_address()).await.is_ok());

    // Big answers: bounded, and the memory they took goes back. Ten introspections per
    // request, 30 times (each answer about 10 times GraphiQL's schema).
    let before = suite.endpoint.resident_kib().unwrap_or_default();
    let batch = Value::Array(vec![json!({"query": INTROSPECTION}); 10]);
    for _ in 0..30 {
        let answered = http.post(&url).json(&batch).send().await.expect("POST");
        assert_eq!(answered.status(), 200);
        let bytes = answered.bytes().await.expect("body").len();
        assert!(bytes < 4 * 1024 * 1024, "{bytes}");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = suite.endpoint.resident_kib().unwrap_or_default();
    eprintln!("resident memory around 300 large answers: {before} KiB before, {after} KiB after");
    assert!(after < before + 64 * 1024, "{before} KiB -> {after} KiB");

    strict_endpoint().await;
}

/// An endpoint with tight bounds, to reach each of them quickly.
async fn strict_endpoint() {
    let strict = another_endpoint(&[
        ("GRAPHQL_MAX_RESPONSE_BYTES", "4096"),
        ("GRAPHQL_MAX_SOCKETS_PER_ADDRESS", "3"),
        ("GRAPHQL_MAX_SUBSCRIPTIONS_PER_SOCKET", "2"),
        ("GRAPHQL_WS_PING_SECONDS", "1"),
        ("GRAPHQL_WS_INIT_SECONDS", "1"),
        ("GRAPHQL_WS_IDLE_SECONDS", "2"),
        ("GRAPHQL_GRAPHIQL", "off"),
        ("GRAPHQL_INTROSPECTION", "off"),
    ])
    .await;
    let port = strict.port();

    // An answer larger than allowed is refused whole.
    let saver = Customer::sign_up(port, "sec-big").await;
    assert_eq!(saver.deposit(100_000).await["success"], true);
    let long = "a long description ".repeat(50);
    for _ in 0..5 {
        let (_, paid) = saver.pay(100, "NL91ABNA0417164300", &long).await;
        assert_eq!(paid["success"], true, "{paid}");
    }
    let query = "query($i: String!) { transactions_by_iban(iban: $i, max_items: 10) { descr } }";
    let mut refused = Value::Null;
    for _ in 0..50 {
        refused = saver.caller.post(query, json!({"i": saver.iban})).await;
        if refused.get("errors").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "RESPONSE_TOO_LARGE",
        "{refused}"
    );
    assert!(refused.get("data").is_none_or(Value::is_null));

    // GraphiQL and introspection are off.
    let page = reqwest::get(format!("http://127.0.0.1:{port}/graphiql"))
        .await
        .expect("GET");
    assert_eq!(page.status(), 404);
    let schema = Caller::new(port)
        .post("{ __schema { types { name } } }", json!({}))
        .await;
    assert!(schema["data"]["__schema"].is_null(), "{schema}");

    let employee = Caller::new(port)
        .data(
            "mutation($u: String!, $p: String!) { employee_login(username: $u, password: $p) { token } }",
            json!({"u": EMPLOYEE.0, "p": EMPLOYEE.1}),
            "employee_login",
        )
        .await;
    let employee = employee["token"]
        .as_str()
        .expect("an employee session")
        .to_string();
    let stream = "subscription { stream_transactions { id } }";

    // At most three sockets per address; a closed one makes room (quickly: these sockets
    // must send connection_init within a second).
    let address = new_address();
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(
            open_socket(port, None, address)
                .await
                .expect("within the cap"),
        );
    }
    assert_eq!(open_socket(port, None, address).await.err(), Some(429));
    assert!(
        open_socket(port, None, new_address()).await.is_ok(),
        "another address"
    );
    drop(open.pop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut socket = open_socket(port, None, address).await.expect("room again");

    // At most two subscriptions per socket.
    socket.init(Some(&employee)).await;
    for id in ["1", "2", "3"] {
        socket.subscribe(id, stream, json!({})).await;
    }
    // One of the three is refused: whichever asks for its slot last (the server starts the
    // three side by side, so not necessarily the third sent).
    let refused = loop {
        let message = socket.next_json().await.expect("one is refused");
        if message["type"] == "error" || !message["payload"]["errors"].is_null() {
            break message;
        }
    };
    let errors = if refused["type"] == "error" {
        &refused["payload"]
    } else {
        &refused["payload"]["errors"]
    };
    assert_eq!(
        errors[0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS",
        "{refused}"
    );

    // The server pings; a socket that stops answering (half-open) is closed.
    let mut quiet = open_socket(port, None, new_address())
        .await
        .expect("a socket");
    quiet.init(Some(&employee)).await;
    quiet.subscribe("1", stream, json!({})).await;
    let started = Instant::now();
    loop {
        match quiet.frame().await {
            Frame::Ping => break,
            Frame::Json(_) => {}
            other => panic!("{other:?}"),
        }
    }
    eprintln!("first server ping after {:?}", started.elapsed());
    let mut silent = open_socket(port, None, new_address())
        .await
        .expect("a socket");
    silent.init(Some(&employee)).await;
    silent.subscribe("1", stream, json!({})).await;
    // Reading nothing for 5 s means no pong is sent (tungstenite answers pings while reading).
    tokio::time::sleep(Duration::from_secs(5)).await;
    // The server's close frame, or, if our late pong already met a closed connection, its end.
    let code = silent.close_code().await;
    assert!(
        matches!(code, Some(1001) | None),
        "closed as half-open: {code:?}"
    );

    // A socket that never sends connection_init, and one without subscriptions, are closed.
    let mut mute = open_socket(port, None, new_address())
        .await
        .expect("a socket");
    let started = Instant::now();
    assert_eq!(mute.close_code().await, Some(4408));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let mut idle = open_socket(port, None, new_address())
        .await
        .expect("a socket");
    idle.init(None).await;
    let started = Instant::now();
    assert_eq!(idle.close_code().await, Some(1000));
    eprintln!("an idle socket closed after {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(6));
}
