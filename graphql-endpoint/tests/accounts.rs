//! Several and shared accounts, the employee login, the contract's refusals and the batch
//! limit, against the real suite (command handler, projector, endpoint on a real broker +
//! registry), through HTTP and WebSocket as the web app uses them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::time::{Duration, SystemTime};

use common::{trust_local_proxy, Client, Protocol, Subscription, Suite, SESSION_SECRET};
use graphql_endpoint::sessions::{Lifetimes, Role, Sessions};
use serde_json::{json, Value};
use topology::Id;

const PASSWORD: &str = common::STRONG_PASSWORD;
const LOGIN: &str = "mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason } }";
const OPEN: &str = "mutation($u: String!, $p: String!) { open_account(username: $u, password: $p) { iban token reason } }";
const MINE: &str = "query($u: String!, $p: String!) { my_accounts(username: $u, password: $p) {
  accounts { iban token balance owners } reason } }";
/// The logged-in customer's accounts.
const MY_ACCOUNTS: &str = "{ my_accounts { accounts { iban token balance owners } reason } }";
const ADD: &str = "mutation($i: String!, $u: String!, $t: String!, $a: String!) {
  add_owner(iban: $i, username: $u, token: $t, user_to_add: $a) { success reason } }";
const REMOVE: &str = "mutation($i: String!, $u: String!, $t: String!) {
  remove_owner(iban: $i, username: $u, token: $t) { success reason } }";
const TRANSFER: &str = "mutation($uuid: String!, $u: String!, $t: String!, $a: Int!, $f: String!, $to: String!) {
  money_transfer(uuid: $uuid, username: $u, token: $t, amount: $a, from: $f, to: $to, descr: \"e2e\") { success reason } }";
const EMPLOYEE_LOGIN: &str = "mutation($u: String!, $p: String!) { employee_login(username: $u, password: $p) { token expires_at reason } }";
const ALL_ACCOUNTS: &str =
    "query($s: String) { all_accounts(search: $s) { total accounts { iban owners } } }";

fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", &Id::random().to_uuid_string()[..8])
}

/// `{iban, token}` of the first account, created by the first login.
async fn sign_up(client: &Client, name: &str) -> (String, String) {
    let account = client
        .data(LOGIN, json!({"u": name, "p": PASSWORD}), "get_account")
        .await;
    assert!(account["reason"].is_null(), "{account}");
    (text(&account["iban"]), text(&account["token"]))
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a string, got {value}"))
        .to_string()
}

/// The client of a customer: from an address of their own (the endpoint trusts this machine
/// as a proxy), so that each is throttled on their own, as from their own browsers.
fn from_home(client: &Client, customer: u8) -> Client {
    client.with_address(&format!("10.7.0.{customer}"))
}

/// `client` with `name`'s session (`login`).
async fn logged_in(client: &Client, name: &str) -> Client {
    client.with_session(&client.customer_session(name, PASSWORD).await)
}

/// `my_accounts` of the customer whose session `session` sends.
async fn my_accounts(session: &Client) -> Value {
    session.data(MY_ACCOUNTS, json!({}), "my_accounts").await
}

/// `my_accounts`, asked again (5 s at most) until `done` holds: the read model follows the
/// command a moment later. With a session: asking with a password that often would be
/// throttled, as a guessing run is.
async fn my_accounts_until(session: &Client, done: impl Fn(&Value) -> bool) -> Value {
    let mut seen = Value::Null;
    for _ in 0..50 {
        seen = my_accounts(session).await;
        if done(&seen) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

fn ibans(mine: &Value) -> Vec<String> {
    mine["accounts"]
        .as_array()
        .map(|accounts| accounts.iter().map(|a| text(&a["iban"])).collect())
        .unwrap_or_default()
}

fn account<'a>(mine: &'a Value, iban: &str) -> &'a Value {
    mine["accounts"]
        .as_array()
        .and_then(|accounts| accounts.iter().find(|a| a["iban"] == iban))
        .unwrap_or_else(|| panic!("{iban} in {mine}"))
}

async fn transfer(client: &Client, who: (&str, &str), amount: i64, from: &str, to: &str) -> Value {
    let variables = json!({
        "uuid": Id::random().to_uuid_string(), "u": who.0, "t": who.1, "a": amount,
        "f": from, "to": to,
    });
    client.data(TRANSFER, variables, "money_transfer").await
}

async fn command(client: &Client, mutation: &str, variables: Value, field: &str) -> Value {
    client.data(mutation, variables, field).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn several_and_shared_accounts_employee_sessions_and_refusals() {
    let suite = Suite::start(&[("GRAPHQL_MAX_BATCH", "3".into()), trust_local_proxy()]).await;
    let client = suite.client();

    // A user opens a second account; get_account keeps answering the first.
    let alice = unique_name("acc-alice");
    let alice_home = from_home(&client, 1);
    let (first, alice_first_token) = sign_up(&alice_home, &alice).await;
    let second = alice_home
        .data(OPEN, json!({"u": alice, "p": PASSWORD}), "open_account")
        .await;
    assert!(second["reason"].is_null(), "{second}");
    let (second, alice_second_token) = (text(&second["iban"]), text(&second["token"]));
    assert_ne!(first, second);
    let again = alice_home
        .data(LOGIN, json!({"u": alice, "p": PASSWORD}), "get_account")
        .await;
    assert_eq!(again["iban"], first.as_str());
    let alice_session = logged_in(&alice_home, &alice).await;
    let mine = my_accounts_until(&alice_session, |m| ibans(m).len() == 2).await;
    assert_eq!(
        ibans(&mine),
        [first.clone(), second.clone()],
        "oldest first"
    );
    // Username and password still answer the same.
    let by_password = alice_home
        .data(MINE, json!({"u": alice, "p": PASSWORD}), "my_accounts")
        .await;
    assert_eq!(by_password, mine);
    assert_eq!(
        account(&mine, &second)["token"],
        alice_second_token.as_str()
    );
    assert_eq!(account(&mine, &first)["owners"], json!([alice]));
    assert_eq!(account(&mine, &first)["balance"], "€ 0,00");

    // Money between her own accounts.
    let alice_first = (alice.as_str(), alice_first_token.as_str());
    let alice_second = (alice.as_str(), alice_second_token.as_str());
    let deposit = transfer(&client, alice_first, 10_000, "cash", &first).await;
    assert_eq!(deposit["success"], true, "{deposit}");
    let moved = transfer(&client, alice_first, 2_500, &first, &second).await;
    assert_eq!(moved["success"], true, "{moved}");
    // The debit and the credit are on two partitions, which the projection applies each in
    // its own time: wait for both.
    let mine = my_accounts_until(&alice_session, |m| {
        account(m, &second)["balance"] == "€ 25,00" && account(m, &first)["balance"] == "€ 75,00"
    })
    .await;
    assert_eq!(account(&mine, &first)["balance"], "€ 75,00");
    assert_eq!(account(&mine, &second)["balance"], "€ 25,00");

    // Refusals of open_account and my_accounts: an unknown user and a wrong password alike.
    let nobody = unique_name("acc-nobody");
    let refused = json!({"iban": null, "token": null, "reason": "invalid username or password"});
    let unknown = alice_home
        .data(OPEN, json!({"u": nobody, "p": PASSWORD}), "open_account")
        .await;
    assert_eq!(unknown, refused);
    let wrong = alice_home
        .data(
            OPEN,
            json!({"u": alice, "p": "not her password"}),
            "open_account",
        )
        .await;
    assert_eq!(wrong, refused);
    let wrong = alice_home
        .data(
            MINE,
            json!({"u": alice, "p": "not her password"}),
            "my_accounts",
        )
        .await;
    assert_eq!(
        wrong,
        json!({"accounts": null, "reason": "invalid username or password"})
    );

    // Alice shares her second account with Bob, who sees it with a token of his own.
    let bob = unique_name("acc-bob");
    let bob_home = from_home(&client, 2);
    let (bob_own, _) = sign_up(&bob_home, &bob).await;
    let bob_session = logged_in(&bob_home, &bob).await;
    let share = |user_to_add: &str, token: &str| json!({"i": second, "u": alice, "t": token, "a": user_to_add});
    let shared = command(&client, ADD, share(&bob, &alice_second_token), "add_owner").await;
    assert_eq!(shared, json!({"success": true, "reason": null}));
    let bobs = my_accounts_until(&bob_session, |m| ibans(m).len() == 2).await;
    assert_eq!(ibans(&bobs), [bob_own.clone(), second.clone()]);
    let bob_token = text(&account(&bobs, &second)["token"]);
    assert_ne!(bob_token, alice_second_token, "each owner has a token");
    assert_eq!(account(&bobs, &second)["owners"], json!([alice, bob]));
    let alices = my_accounts(&alice_session).await;
    assert!(
        !alices.to_string().contains(&bob_token),
        "the adder never sees the added user's token: {alices}"
    );
    // Bob moves money out of the shared account, with his token.
    let bob_shared = (bob.as_str(), bob_token.as_str());
    let paid = transfer(&client, bob_shared, 1_000, &second, &bob_own).await;
    assert_eq!(paid["success"], true, "{paid}");

    // add_owner's refusals, each with its reason (SPEC §4 AddUserToBankAccount).
    for (variables, reason) in [
        (
            share(&bob, &alice_second_token),
            "user to add is already owner of bank account",
        ),
        (
            share(&nobody, &alice_second_token),
            "username does not exist",
        ),
        (
            share(&alice, &alice_second_token),
            "user to add is already owner of bank account",
        ),
        (
            json!({"i": "NL66OPEN0000000001", "u": alice, "t": alice_second_token, "a": bob}),
            "iban not known",
        ),
        (
            json!({"i": first, "u": bob, "t": bob_token, "a": unique_name("acc-x")}),
            "username does not exist",
        ),
        (
            json!({"i": first, "u": bob, "t": bob_token, "a": alice}),
            "user to add is already owner of bank account",
        ),
    ] {
        let refused = command(&client, ADD, variables.clone(), "add_owner").await;
        assert_eq!(
            refused,
            json!({"success": false, "reason": reason}),
            "{variables}"
        );
    }
    let carol = unique_name("acc-carol");
    sign_up(&from_home(&client, 3), &carol).await;
    let not_owner = json!({"i": first, "u": bob, "t": bob_token, "a": carol});
    let refused = command(&client, ADD, not_owner, "add_owner").await;
    assert_eq!(refused["reason"], "user is not owner of account");
    let bad_token = json!({"i": first, "u": alice, "t": "00000000000000000000", "a": carol});
    let refused = command(&client, ADD, bad_token, "add_owner").await;
    assert_eq!(refused["reason"], "token is not valid");

    // remove_owner: refusals, then Bob leaves; the last owner leaves only an empty account.
    let leave = |iban: &str, user: &str, token: &str| json!({"i": iban, "u": user, "t": token});
    for (variables, reason) in [
        (
            leave("NL66OPEN0000000001", &alice, &alice_first_token),
            "iban not known",
        ),
        (
            leave(&first, &bob, &bob_token),
            "user to remove is not owner of bank account",
        ),
        (
            leave(&second, &bob, "00000000000000000000"),
            "token is not valid",
        ),
        (
            leave(&first, &alice, &alice_first_token),
            "last user and balance is not zero, so can't be removed",
        ),
    ] {
        let refused = command(&client, REMOVE, variables.clone(), "remove_owner").await;
        assert_eq!(
            refused,
            json!({"success": false, "reason": reason}),
            "{variables}"
        );
    }
    let left = command(
        &client,
        REMOVE,
        leave(&second, &bob, &bob_token),
        "remove_owner",
    )
    .await;
    assert_eq!(left, json!({"success": true, "reason": null}));
    let bobs = my_accounts_until(&bob_session, |m| ibans(m).len() == 1).await;
    assert_eq!(ibans(&bobs), [bob_own.as_str()]);
    let gone = transfer(&client, bob_shared, 100, &second, &bob_own).await;
    assert_eq!(gone["reason"], "user is no owner of bank account");
    // Alice empties her second account, and then may leave it.
    let emptied = transfer(&client, alice_second, 1_500, &second, &first).await;
    assert_eq!(emptied["success"], true, "{emptied}");
    let left = command(
        &client,
        REMOVE,
        leave(&second, &alice, &alice_second_token),
        "remove_owner",
    )
    .await;
    assert_eq!(left, json!({"success": true, "reason": null}));
    let mine = my_accounts_until(&alice_session, |m| ibans(m).len() == 1).await;
    assert_eq!(ibans(&mine), [first.as_str()]);

    // The contract audit: refusals the spec gives a reason are answers, not GraphQL errors.
    for (who, from, to, reason) in [
        (
            alice_first,
            first.as_str(),
            first.as_str(),
            "from and to can't be same for transfer",
        ),
        (
            alice_first,
            "NL91ABNA0417164300",
            first.as_str(),
            "from is invalid",
        ),
        (
            ("", ""),
            "cash",
            first.as_str(),
            "user is no owner of bank account",
        ),
    ] {
        let refused = transfer(&client, who, 100, from, to).await;
        assert_eq!(
            refused,
            json!({"success": false, "reason": reason}),
            "{from} -> {to}"
        );
    }
    // Malformed input stays a GraphQL error.
    let long_iban = "N".repeat(100);
    let malformed = client
        .post(
            ADD,
            json!({"i": long_iban, "u": alice, "t": alice_first_token, "a": bob}),
        )
        .await;
    assert_eq!(
        malformed["errors"][0]["message"],
        "iban should be at most 64 characters"
    );
    assert_eq!(
        malformed["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );

    employee_sessions(&client, suite.endpoint.port(), &alice, &alice_session).await;
    batches_are_capped(&client).await;
}

async fn employee_sessions(client: &Client, port: u16, alice: &str, alice_session: &Client) {
    // Without a session, or with a bad or expired one: UNAUTHENTICATED.
    let search = json!({"s": alice});
    let lifetimes = Lifetimes {
        idle: Duration::from_secs(60),
        absolute: Duration::from_secs(60),
    };
    let expired = Sessions::new(SESSION_SECRET.as_bytes(), lifetimes, lifetimes)
        .expect("a secret")
        .issue(
            "employee",
            Role::Employee,
            SystemTime::now() - Duration::from_secs(120),
        )
        .expect("signed");
    let forged = Sessions::new(b"not the endpoint's secret", lifetimes, lifetimes)
        .expect("a secret")
        .issue("employee", Role::Employee, SystemTime::now())
        .expect("signed");
    for (asker, message) in [
        (client.clone(), "employee login required"),
        (client.with_session(&expired.token), "session expired"),
        (client.with_session(&forged.token), "session is not valid"),
    ] {
        let refused = asker.post(ALL_ACCOUNTS, search.clone()).await;
        assert_eq!(refused["errors"][0]["message"], message, "{refused}");
        assert_eq!(
            refused["errors"][0]["extensions"]["code"],
            "UNAUTHENTICATED"
        );
    }
    // A wrong password gets a reason, the right one a session that lists the customers.
    let wrong = client
        .data(
            EMPLOYEE_LOGIN,
            json!({"u": "employee", "p": "not the password"}),
            "employee_login",
        )
        .await;
    assert_eq!(
        wrong,
        json!({"token": null, "expires_at": null, "reason": "invalid employee username or password"})
    );
    let session = client
        .data(
            EMPLOYEE_LOGIN,
            json!({"u": common::EMPLOYEE.0, "p": common::EMPLOYEE.1}),
            "employee_login",
        )
        .await;
    let expires_at = text(&session["expires_at"]);
    let ends = humantime::parse_rfc3339(&expires_at).expect("RFC 3339");
    let lasts = ends.duration_since(SystemTime::now()).unwrap_or_default();
    // The token ends once idle (15 minutes without refresh_session), within the session's
    // absolute end (EMPLOYEE_SESSION_SECONDS, an hour).
    assert!(
        lasts > Duration::from_secs(800) && lasts <= Duration::from_secs(900),
        "{expires_at}"
    );
    let token = text(&session["token"]);
    let listed = client
        .with_session(&token)
        .data(ALL_ACCOUNTS, search.clone(), "all_accounts")
        .await;
    assert_eq!(listed["total"], 1, "{listed}");
    // Over WebSocket the session comes in the connection_init payload.
    let query = "query($s: String) { all_accounts(search: $s) { total } }";
    let init = json!({"Authorization": format!("Bearer {token}")});
    let mut socket =
        Subscription::start_with_init(port, Protocol::TransportWs, init, query, search.clone())
            .await;
    assert_eq!(
        socket.next_payload().await["data"]["all_accounts"]["total"],
        1
    );
    let mut socket = Subscription::start_with_init(
        port,
        Protocol::TransportWs,
        json!({}),
        query,
        search.clone(),
    )
    .await;
    let refused = socket.next_payload().await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused}"
    );
    // A customer's session is no employee's: FORBIDDEN, here and for every account's last
    // transaction, which the original contract had open.
    let refused = alice_session.post(ALL_ACCOUNTS, search).await;
    assert_eq!(
        refused["errors"][0]["message"], "employees only",
        "{refused}"
    );
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let last = "{ all_last_transactions { id } }";
    for (asker, code, message) in [
        (client.clone(), "UNAUTHENTICATED", "employee login required"),
        (alice_session.clone(), "FORBIDDEN", "employees only"),
    ] {
        let refused = asker.post(last, json!({})).await;
        assert_eq!(refused["errors"][0]["message"], message, "{refused}");
        assert_eq!(refused["errors"][0]["extensions"]["code"], code);
    }
    let every = client.with_session(&token).post(last, json!({})).await;
    assert!(every.get("errors").is_none(), "{every}");
}

async fn batches_are_capped(client: &Client) {
    let url = format!("{}/graphql", client.base);
    let operation = json!({"query": "{ __typename }"});
    let batch = |n: usize| Value::Array(vec![operation.clone(); n]);
    let allowed = client
        .http()
        .post(&url)
        .json(&batch(3))
        .send()
        .await
        .expect("POST");
    assert!(allowed.status().is_success());
    let answers: Value = allowed.json().await.expect("JSON");
    assert_eq!(answers.as_array().map(Vec::len), Some(3), "{answers}");
    let refused = client
        .http()
        .post(&url)
        .json(&batch(1_000))
        .send()
        .await
        .expect("POST");
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(
        body["errors"][0]["message"],
        "a batch may hold at most 3 operations; this one has 1000"
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "BATCH_TOO_LARGE");
}
