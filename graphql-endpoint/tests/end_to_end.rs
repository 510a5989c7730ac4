//! The endpoint against the real suite: command handler, projector and endpoint binaries on a
//! real broker + registry; everything through HTTP and WebSocket, as a frontend would.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::time::Duration;

use common::{
    start_graphql_endpoint, Client, Protocol, Subscription, Suite, STRONG_PASSWORD, WAIT,
};
use serde_json::{json, Value};
use topology::Id;

const LOGIN: &str = "mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason } }";
const TRANSFER: &str = "mutation($uuid: String!, $u: String!, $t: String!, $a: Int!, $f: String!, $to: String!, $d: String!) {
  money_transfer(uuid: $uuid, username: $u, token: $t, amount: $a, from: $f, to: $to, descr: $d) { uuid success reason } }";
const STREAM: &str = "subscription($iban: String, $dir: dtype, $min: Int, $max: Int, $descr: String) {
  stream_transactions(iban: $iban, direction: $dir, min_amount: $min, max_amount: $max, descr_includes: $descr) {
    id iban new_balance changed_by from_to descr direction } }";
const BY_IBAN: &str =
    "query($iban: String!, $n: Int!) { transactions_by_iban(iban: $iban, max_items: $n) {
  id iban new_balance changed_by from_to descr direction } }";

const ALL_ACCOUNTS: &str = "query($o: Int, $n: Int, $s: String) {
  all_accounts(offset: $o, max_items: $n, search: $s) { total offset accounts { iban balance owners } } }";

/// A page of `all_accounts`, asked by `employee` (a client with an employee's session).
async fn accounts(employee: &Client, offset: i64, max_items: i64, search: &str) -> Value {
    employee
        .data(
            ALL_ACCOUNTS,
            json!({"o": offset, "n": max_items, "s": search}),
            "all_accounts",
        )
        .await
}

struct User {
    name: String,
    iban: String,
    token: String,
    /// The endpoint with this user's session (`login`).
    session: Client,
}

async fn log_in(client: &Client, name: &str, password: &str) -> Value {
    client
        .data(LOGIN, json!({"u": name, "p": password}), "get_account")
        .await
}

async fn new_user(client: &Client, prefix: &str) -> User {
    // Unique per run, at least 8 characters.
    let name = format!("{prefix}-{}", &Id::random().to_uuid_string()[..8]);
    let account = log_in(client, &name, STRONG_PASSWORD).await;
    assert!(account["reason"].is_null(), "{account}");
    let iban = account["iban"].as_str().expect("iban").to_string();
    assert!(topology::values::is_open_iban(&iban), "{iban}");
    let token = account["token"].as_str().expect("token").to_string();
    assert_eq!(token.len(), 20);
    let session = client.with_session(&client.customer_session(&name, STRONG_PASSWORD).await);
    User {
        name,
        iban,
        token,
        session,
    }
}

/// One money_transfer mutation by `user`, with a fresh uuid; sent again, it is a retry.
struct Transfer<'a> {
    uuid: String,
    user: &'a User,
    amount: i64,
    from: &'a str,
    to: &'a str,
    descr: &'a str,
}

fn transfer<'a>(
    user: &'a User,
    amount: i64,
    from: &'a str,
    to: &'a str,
    descr: &'a str,
) -> Transfer<'a> {
    Transfer {
        uuid: new_uuid(),
        user,
        amount,
        from,
        to,
        descr,
    }
}

impl Transfer<'_> {
    fn with_uuid(self, uuid: &str) -> Self {
        Self {
            uuid: uuid.to_string(),
            ..self
        }
    }

    fn variables(&self) -> Value {
        json!({
            "uuid": self.uuid, "u": self.user.name, "t": self.user.token, "a": self.amount,
            "f": self.from, "to": self.to, "d": self.descr,
        })
    }

    /// The mutation's result: `{uuid success reason}`.
    async fn send(&self, client: &Client) -> Value {
        client
            .data(TRANSFER, self.variables(), "money_transfer")
            .await
    }

    /// The message of the GraphQL error the endpoint refuses it with before sending a command.
    async fn refused(&self, client: &Client) -> String {
        client.error(TRANSFER, self.variables()).await
    }
}

async fn transactions_by_iban(client: &Client, iban: &str, max_items: i64) -> Value {
    client
        .data(
            BY_IBAN,
            json!({"iban": iban, "n": max_items}),
            "transactions_by_iban",
        )
        .await
}

/// The page of `search`, asked again (for 5 s at most) until it lists `total` accounts: the
/// accounts of new users reach the read model a moment after the login.
async fn accounts_once_listed(employee: &Client, search: &str, total: i64) -> Value {
    let mut found = Value::Null;
    for _ in 0..50 {
        found = accounts(employee, 0, 10, search).await;
        if found["total"] == total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    found
}

async fn get(client: &Client, path: &str) -> reqwest::Response {
    client
        .http()
        .get(format!("{}{path}", client.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

fn count_fundings(transactions: &Value) -> usize {
    transactions.as_array().map_or(0, |all| {
        all.iter()
            .filter(|t| t["descr"] == "initial funding of the company account")
            .count()
    })
}

fn new_uuid() -> String {
    Id::random().to_uuid_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn login_deposit_transfer_stream_query_and_every_error_path() {
    let suite = Suite::start(&[]).await;
    let endpoint = &suite.endpoint;
    let client = suite.client();
    let employee = client.as_employee().await;

    let company = transactions_by_iban(&employee, "NL66OPEN0000000000", 1000).await;
    assert_eq!(
        count_fundings(&company),
        1,
        "funded exactly once: {company}"
    );

    // Two users log in: their first login creates user + account. Both names carry this run's
    // tag, so a search for it finds exactly their accounts.
    let run = &new_uuid()[..8];
    let alice = new_user(&client, &format!("e2e-alice-{run}")).await;
    let bob = new_user(&client, &format!("e2e-bob-{run}")).await;
    let again = log_in(&client, &alice.name, STRONG_PASSWORD).await;
    assert_eq!(again["iban"], alice.iban.as_str());
    assert_eq!(again["token"], alice.token.as_str());

    // The employee's list: a new account shows before any transaction, with € 0,00.
    let found = accounts_once_listed(&employee, &alice.name.to_uppercase(), 1).await;
    assert_eq!(
        found,
        json!({"total": 1, "offset": 0, "accounts": [
            {"iban": alice.iban, "balance": "€ 0,00", "owners": [alice.name]}
        ]})
    );
    let mut ours = vec![
        json!({"iban": alice.iban, "balance": "€ 0,00", "owners": [alice.name]}),
        json!({"iban": bob.iban, "balance": "€ 0,00", "owners": [bob.name]}),
    ];
    ours.sort_by(|x, y| x["iban"].as_str().cmp(&y["iban"].as_str()));
    let both = accounts_once_listed(&employee, run, 2).await;
    assert_eq!(both, json!({"total": 2, "offset": 0, "accounts": ours}));
    assert_eq!(
        accounts(&employee, 1, 1, run).await,
        json!({"total": 2, "offset": 1, "accounts": [ours[1]]})
    );
    assert_eq!(
        accounts(&employee, 2, 1, run).await,
        json!({"total": 2, "offset": 2, "accounts": []})
    );
    // Defaults (offset 0, 10 per page), and a search by part of an IBAN as people type it.
    let company = employee
        .data(
            "{ all_accounts(search: \" nl66 open 0000 0000 00 \") { total offset accounts { iban owners } } }",
            json!({}),
            "all_accounts",
        )
        .await;
    assert_eq!(
        company,
        json!({"total": 1, "offset": 0, "accounts": [{"iban": "NL66OPEN0000000000", "owners": ["openweb"]}]})
    );
    let first_page = employee
        .data(
            "{ all_accounts { total accounts { iban } } }",
            json!({}),
            "all_accounts",
        )
        .await;
    let listed = first_page["accounts"].as_array().map_or(0, Vec::len);
    assert!(first_page["total"].as_i64() >= Some(3), "{first_page}");
    assert_eq!(
        i64::try_from(listed).ok(),
        first_page["total"].as_i64().map(|t| t.min(10))
    );
    // Bad paging is refused by the endpoint itself.
    for (variables, message) in [
        (json!({"n": 0}), "max_items should be between 1 and 1000"),
        (json!({"n": 1001}), "max_items should be between 1 and 1000"),
        (json!({"o": -1}), "offset should not be negative"),
    ] {
        let response = employee.post(ALL_ACCOUNTS, variables.clone()).await;
        assert_eq!(
            response["errors"][0]["message"], message,
            "{variables}: {response}"
        );
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{response}"
        );
    }

    // Bob watches everything on his account over the legacy protocol; Alice only her debits.
    // Each sends their session in connection_init.
    let session = |user: &User| user.session.session().expect("a session").to_string();
    let mut bob_stream = Subscription::start_as(
        endpoint.port(),
        Protocol::LegacyWs,
        &session(&bob),
        STREAM,
        json!({"iban": bob.iban}),
    )
    .await;
    let mut alice_debits = Subscription::start_as(
        endpoint.port(),
        Protocol::TransportWs,
        &session(&alice),
        STREAM,
        json!({"iban": alice.iban, "dir": "DEBIT", "descr": "DINNER"}),
    )
    .await;
    // A subscription has no "subscribed" acknowledgement; give the server a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let deposit = transfer(&alice, 10_000, "cash", &alice.iban, "salary")
        .send(&client)
        .await;
    assert_eq!(deposit["success"], true, "{deposit}");
    let dinner = transfer(
        &alice,
        2_550,
        &alice.iban,
        &bob.iban,
        "Dinner at Ünïcode Place",
    );
    let paid_uuid = dinner.uuid.clone();
    let paid = dinner.send(&client).await;
    assert_eq!(
        paid,
        json!({"uuid": paid_uuid, "success": true, "reason": null})
    );

    let credit = bob_stream.next_payload().await["data"]["stream_transactions"].clone();
    assert_eq!(credit["iban"], bob.iban.as_str());
    assert_eq!(credit["direction"], "CREDIT");
    assert_eq!(credit["changed_by"], "€ 25,50");
    assert_eq!(credit["new_balance"], "€ 25,50");
    assert_eq!(credit["from_to"], alice.iban.as_str());
    assert_eq!(credit["descr"], "Dinner at Ünïcode Place");
    let debit = alice_debits.next_payload().await["data"]["stream_transactions"].clone();
    assert_eq!(debit["direction"], "DEBIT");
    assert_eq!(debit["changed_by"], "€ 25,50");
    assert_eq!(debit["new_balance"], "€ 74,50");
    assert_eq!(debit["from_to"], bob.iban.as_str());

    // The queries agree with what was streamed (each owner reads their own account).
    let alices = transactions_by_iban(&alice.session, &alice.iban, 10).await;
    assert_eq!(alices.as_array().map(Vec::len), Some(2), "{alices}");
    assert_eq!(alices[0], debit, "newest first");
    assert_eq!(alices[1]["descr"], "salary");
    assert_eq!(alices[1]["from_to"], "cash");
    assert_eq!(alices[1]["new_balance"], "€ 100,00");
    let by_id = bob
        .session
        .data(
            "query($id: Int!) { transaction_by_id(id: $id) { id iban new_balance changed_by from_to descr direction } }",
            json!({"id": credit["id"]}),
            "transaction_by_id",
        )
        .await;
    assert_eq!(by_id, credit);
    let last = employee
        .data(
            "{ all_last_transactions { id iban direction } }",
            json!({}),
            "all_last_transactions",
        )
        .await;
    let bobs_last = last
        .as_array()
        .and_then(|all| all.iter().find(|t| t["iban"] == bob.iban.as_str()))
        .cloned();
    assert_eq!(
        bobs_last.map(|t| t["id"].clone()),
        Some(credit["id"].clone())
    );
    let both = accounts(&employee, 0, 10, run).await;
    let balance_of = |iban: &str| {
        both["accounts"]
            .as_array()
            .and_then(|list| list.iter().find(|a| a["iban"] == iban))
            .map(|a| a["balance"].clone())
    };
    assert_eq!(balance_of(&alice.iban), Some(json!("€ 74,50")), "{both}");
    assert_eq!(balance_of(&bob.iban), Some(json!("€ 25,50")), "{both}");
    // Alice started the transfer: she and an employee may ask how it stands.
    let status_query = "query($u: String!) { transfer_status(uuid: $u) { uuid status reason } }";
    for asker in [&alice.session, &employee] {
        let status = asker
            .data(status_query, json!({"u": paid_uuid}), "transfer_status")
            .await;
        assert_eq!(
            status,
            json!({"uuid": paid_uuid, "status": "complete", "reason": null})
        );
    }
    // Reads need a session, and a customer reads only their own: no session is
    // UNAUTHENTICATED, Bob reading Alice's account or her transfer FORBIDDEN.
    let by_iban = json!({"iban": alice.iban, "n": 10});
    let status_of = "query($u: String!) { transfer_status(uuid: $u) { status } }";
    for (asker, query, variables, code, message) in [
        (
            &client,
            BY_IBAN,
            &by_iban,
            "UNAUTHENTICATED",
            "login required",
        ),
        (
            &bob.session,
            BY_IBAN,
            &by_iban,
            "FORBIDDEN",
            "user is no owner of bank account",
        ),
        (
            &client,
            status_of,
            &json!({"u": paid_uuid}),
            "UNAUTHENTICATED",
            "login required",
        ),
        (
            &bob.session,
            status_of,
            &json!({"u": paid_uuid}),
            "FORBIDDEN",
            "user did not start this transfer",
        ),
    ] {
        let refused = asker.post(query, variables.clone()).await;
        assert_eq!(refused["errors"][0]["message"], message, "{refused}");
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], code,
            "{refused}"
        );
    }

    // Error paths of SPEC §4 / §6, each with its reason.
    let short = client
        .error(LOGIN, json!({"u": "e2e-short-pw", "p": "short"}))
        .await;
    assert_eq!(short, "password should be at least 8 characters");
    let short_name = client
        .error(LOGIN, json!({"u": "short", "p": STRONG_PASSWORD}))
        .await;
    assert_eq!(short_name, "username should be at least 8 characters");
    let wrong = log_in(&client, &alice.name, "not her password").await;
    assert_eq!(
        wrong,
        json!({"iban": null, "token": null, "reason": "invalid password"})
    );
    let bad_uuid = transfer(&alice, 100, &alice.iban, &bob.iban, "x")
        .with_uuid("not-a-uuid")
        .refused(&client)
        .await;
    assert_eq!(bad_uuid, "uuid `not-a-uuid` is not a valid UUID");
    for amount in [0, -100] {
        let refused = transfer(&alice, amount, &alice.iban, &bob.iban, "x")
            .refused(&client)
            .await;
        assert_eq!(refused, "amount should be positive");
    }
    let bad_to = transfer(&alice, 100, &alice.iban, "NL00OPEN0000000001", "x")
        .refused(&client)
        .await;
    assert_eq!(bad_to, "to `NL00OPEN0000000001` is not a valid IBAN");
    let overdraw = transfer(&alice, 100_000, &alice.iban, &bob.iban, "too much");
    let broke_uuid = overdraw.uuid.clone();
    let broke = overdraw.send(&client).await;
    assert_eq!(
        broke,
        json!({"uuid": broke_uuid, "success": false, "reason": "insufficient funds would be below the limit of € -500,00"})
    );
    let into_bobs = transfer(&alice, 100, "cash", &bob.iban, "gift")
        .send(&client)
        .await;
    assert_eq!(into_bobs["success"], false);
    assert_eq!(into_bobs["reason"], "user is no owner of bank account");
    let wrong_token = User {
        token: "00000000000000000000".into(),
        name: alice.name.clone(),
        iban: alice.iban.clone(),
        session: alice.session.clone(),
    };
    let forged = transfer(&wrong_token, 100, "cash", &alice.iban, "x")
        .send(&client)
        .await;
    assert_eq!(forged["reason"], "token is not valid");

    // The same uuid again: the original outcome, and no money moves twice.
    let retried = dinner.send(&client).await;
    assert_eq!(retried, paid);
    let retried_broke = overdraw.send(&client).await;
    assert_eq!(retried_broke, broke);
    let bobs = transactions_by_iban(&bob.session, &bob.iban, 10).await;
    assert_eq!(
        bobs.as_array().map(Vec::len),
        Some(1),
        "one credit only: {bobs}"
    );

    // Limits and bad arguments are GraphQL errors with a clear message.
    let too_many = bob
        .session
        .error(BY_IBAN, json!({"iban": bob.iban, "n": 0}))
        .await;
    assert_eq!(too_many, "max_items should be between 1 and 1000");
    let unknown = bob
        .session
        .error("{ transaction_by_id(id: 2000000000) { id } }", json!({}))
        .await;
    assert_eq!(unknown, "transaction does not exist");
    let nested = format!(
        "{{ __schema {{ types {{ {} name {} }} }} }}",
        "ofType { ".repeat(16),
        "} ".repeat(16)
    );
    let deep = client.error(&nested, json!({})).await;
    assert!(deep.contains("nested too deep"), "{deep}");
    let mut inverted = Subscription::start(
        endpoint.port(),
        Protocol::TransportWs,
        STREAM,
        json!({"min": 10, "max": 5}),
    )
    .await;
    // A resolver error arrives as a result with `errors`, then the subscription completes.
    let refused = inverted.next_payload().await;
    assert_eq!(
        refused["errors"][0]["message"], "min_amount should not be more than max_amount",
        "{refused}"
    );

    // GraphiQL is served with its own assets (switched on for the tests), and browsers on the
    // allowed origins (the web app's, by default) may call the API; others may not.
    let page = get(&client, "/graphiql").await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("page");
    assert!(html.contains("graphiql/assets/graphiql.min.js") && !html.contains("unpkg"));
    let script = get(&client, "/graphiql/assets/graphiql.min.js").await;
    assert_eq!(script.status().as_u16(), 200);
    assert!(script.text().await.expect("script").contains("GraphiQL"));
    for (origin, allowed) in [
        ("http://localhost:8181", Some("http://localhost:8181")),
        ("http://evil.example", None),
    ] {
        let preflight = client
            .http()
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", client.base))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
            .await
            .expect("preflight");
        assert_eq!(
            preflight
                .headers()
                .get("access-control-allow-origin")
                .and_then(|v| v.to_str().ok()),
            allowed,
            "{origin}"
        );
    }

    // A restart (here: a second instance) finds the company account and funds it no more.
    let mut restarted = start_graphql_endpoint(&[]);
    restarted.wait_healthy(WAIT).await;
    let company = transactions_by_iban(&employee, "NL66OPEN0000000000", 1000).await;
    assert_eq!(count_fundings(&company), 1, "still funded once: {company}");

    drop(restarted);
    drop(suite);
}

/// Admission control: with one command allowed in flight and the command handler frozen, the
/// first deposit waits for its answer until the endpoint's timeout, and a second is refused at
/// once with `BUSY` (HTTP 503 before any GraphQL work), while a login still runs; once the first
/// is over, commands are admitted again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn a_full_endpoint_refuses_more_commands_at_once_with_busy() {
    const TIMED: &str = "mutation($uuid: String!, $u: String!, $t: String!, $a: Int!, $f: String!, $to: String!, $d: String!) {
  money_transfer(uuid: $uuid, username: $u, token: $t, amount: $a, from: $f, to: $to, descr: $d) { success ended reason } }";
    let mut suite = Suite::start(&[
        ("GRAPHQL_MAX_PENDING_COMMANDS", "1".to_string()),
        ("GRAPHQL_COMMAND_TIMEOUT", "3".to_string()),
    ])
    .await;
    let client = suite.client();
    let alice = new_user(&client, "busy").await;

    suite.handler.pause();
    let waiting = {
        let (client, variables) = (
            client.clone(),
            transfer(&alice, 100, "cash", &alice.iban, "waits").variables(),
        );
        tokio::spawn(async move { client.data(TIMED, variables, "money_transfer").await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = std::time::Instant::now();
    let refused = client
        .post(
            TIMED,
            transfer(&alice, 100, "cash", &alice.iban, "shed").variables(),
        )
        .await;
    let took = asked.elapsed();
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BUSY",
        "{refused}"
    );
    assert_eq!(
        refused["errors"][0]["message"],
        "the bank is busy, try again in a moment"
    );
    assert!(
        took < Duration::from_secs(1),
        "answered at once, not queued: {took:?}"
    );
    // Refused before any GraphQL work (`shedding`): HTTP 503 with Retry-After.
    let shed = reqwest::Client::new()
        .post(format!("{}/graphql", client.base))
        .json(&json!({
            "query": TIMED,
            "variables": transfer(&alice, 100, "cash", &alice.iban, "shed again").variables(),
        }))
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["retry-after"], "1");
    // What sends no command still runs meanwhile: a customer logs in.
    let session = client.customer_session(&alice.name, STRONG_PASSWORD).await;
    assert!(!session.is_empty());
    let waited = waiting.await.expect("the first deposit's task");
    assert_eq!(
        waited["ended"], false,
        "it waited until the timeout: {waited}"
    );

    // Its place was given back: the next command is admitted, and answered once the handler runs.
    suite.handler.resume();
    let admitted = client
        .data(
            TIMED,
            transfer(&alice, 100, "cash", &alice.iban, "admitted").variables(),
            "money_transfer",
        )
        .await;
    assert_eq!(admitted["success"], true, "{admitted}");
    let metrics = get(&client, "/metrics")
        .await
        .text()
        .await
        .expect("metrics");
    assert!(
        metrics.contains("open_bank_commands_shed_total 2"),
        "both shed commands are counted"
    );
}
