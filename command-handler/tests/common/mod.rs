//! Helpers for the command handler's integration tests against a real broker + registry.
//!
//! The topology must be applied first (`scripts/test.sh` runs `synchronizer apply`). The
//! cluster is shared, so every test uses its own transactional id, consumer group, usernames
//! and IBANs, and asserts only on its own data.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::StreamConsumer;
use rdkafka::message::{BorrowedMessage, Message};
use topology::codec::Codec;
use topology::proofs::{token_hash, SagaKey};
use topology::topic_names::{
    BANK_COMMAND_FEEDBACK, BANK_EVENTS, TRANSFER_COMMAND_FEEDBACK, USER_COMMAND_FEEDBACK,
    USER_EVENTS,
};
use topology::{
    BankCommandFeedback, BankEvent, CreditMoneyCommand, Id, TransferCommandFeedback,
    UserCommandFeedback, UserEvent,
};

pub use command_handler::domain::saga::transfer_id;
pub use test_support::{codec, unique, Sender, ServiceProcess};

/// Every wait is bounded, so a bug fails a test instead of hanging it.
pub const WAIT: Duration = Duration::from_secs(120);

/// The `COMMAND_HANDLER_SAGA_SECRET` every command-handler process of the tests gets: the
/// instances of one deployment must share it, or the credits they send each other are ignored.
pub const SAGA_SECRET: &str = "command-handler integration tests: the shared saga secret";

/// The key of [`SAGA_SECRET`], to sign a credit a test writes itself.
pub fn saga_key() -> SagaKey {
    SagaKey::new(SAGA_SECRET.as_bytes())
}

/// `credit` signed as a saga of the command handlers under test signs it.
pub fn signed(mut credit: CreditMoneyCommand) -> CreditMoneyCommand {
    credit.saga_signature = Some(saga_key().sign_credit(&credit));
    credit
}

/// A new account token, as the GraphQL endpoint would make one: only its hash is ever sent.
pub fn new_token() -> String {
    topology::values::new_token()
}

/// The ids that make one command-handler "deployment": the same ids again = a restart.
#[derive(Clone)]
pub struct Ids {
    pub transactional_id: String,
    pub group: String,
}

impl Ids {
    /// Fresh ids whose group starts at the current end of the command topics, so the instance
    /// does not re-handle the retained commands of earlier tests (harmless, but slow).
    pub fn fresh() -> Self {
        let ids = Self {
            transactional_id: unique("command-handler-test-tx"),
            group: unique("command-handler-test-group"),
        };
        test_support::start_group_at_end(&ids.group, &test_support::COMMAND_TOPICS);
        ids
    }
}

/// The command-handler binary with `ids`, as a child process killed when dropped; its log is
/// `<temp dir>/command-handler-<name>-<port>.log`. Ready after `wait_ready(WAIT)`.
/// Every process gets [`SAGA_SECRET`].
pub fn start_command_handler(ids: &Ids, name: &str) -> ServiceProcess {
    let state_dir = test_support::state_dir().display().to_string();
    ServiceProcess::start(
        &format!("command-handler-{name}"),
        env!("CARGO_BIN_EXE_command-handler"),
        ("COMMAND_HANDLER_HEALTH_PORT", "COMMAND_HANDLER_HEALTH_HOST"),
        [
            (
                "COMMAND_HANDLER_TRANSACTIONAL_ID",
                ids.transactional_id.as_str(),
            ),
            ("COMMAND_HANDLER_GROUP", ids.group.as_str()),
            ("COMMAND_HANDLER_STATE_DIR", state_dir.as_str()),
            ("COMMAND_HANDLER_SAGA_SECRET", SAGA_SECRET),
        ],
    )
}

/// Everything the command handler wrote that a test looks at, decoded.
#[derive(Debug, Clone)]
pub enum Seen {
    User(UserEvent),
    Bank(BankEvent),
    /// (feedback topic, record)
    Succeeded(&'static str, topology::CommandSucceeded),
    Failed(&'static str, topology::CommandFailed),
}

/// Reads the output topics from their end at creation, so a test sees what follows.
pub struct Watcher {
    consumer: StreamConsumer,
    codec: Codec,
    pub seen: Vec<Seen>,
}

impl Watcher {
    pub fn new() -> Self {
        let consumer = test_support::consumer_at_end(&[
            USER_EVENTS,
            BANK_EVENTS,
            USER_COMMAND_FEEDBACK,
            BANK_COMMAND_FEEDBACK,
            TRANSFER_COMMAND_FEEDBACK,
        ]);
        Self {
            consumer,
            codec: codec(),
            seen: Vec::new(),
        }
    }

    /// Reads until `done(&seen)` holds; panics after [`WAIT`] with what was seen.
    pub async fn until(&mut self, what: &str, done: impl Fn(&[Seen]) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(&self.seen) {
            assert!(
                Instant::now() < deadline,
                "not seen within {WAIT:?}: {what}; seen {} records",
                self.seen.len()
            );
            let Ok(message) =
                tokio::time::timeout(Duration::from_millis(200), self.consumer.recv()).await
            else {
                continue;
            };
            let message = message.expect("message");
            let seen = decode(&self.codec, &message).await;
            self.seen.push(seen);
        }
    }

    /// The feedback for command `id` (waits for it).
    pub async fn feedback(&mut self, id: Id) -> Result<Option<String>, String> {
        self.until(&format!("feedback for {id}"), |seen| {
            seen.iter().any(|s| feedback_of(s, id).is_some())
        })
        .await;
        self.seen
            .iter()
            .find_map(|s| feedback_of(s, id))
            .expect("feedback")
    }

    /// Waits for feedback for command `id` equal to `expected`, read after this call started.
    pub async fn expect_feedback(&mut self, id: Id, expected: Answer) {
        let before = self.seen.len();
        let what = format!("feedback {expected:?} for {id}");
        self.until(&what, |seen| {
            seen[before..]
                .iter()
                .any(|s| feedback_of(s, id).as_ref() == Some(&expected))
        })
        .await;
    }

    /// Waits for a bank event matching `matches` and returns it. Events and feedback travel
    /// on different topics, so the feedback of a command may be read before its events.
    pub async fn bank_event(
        &mut self,
        what: &str,
        matches: impl Fn(&BankEvent) -> bool,
    ) -> BankEvent {
        let find = |seen: &[Seen]| {
            seen.iter().find_map(|s| match s {
                Seen::Bank(e) if matches(e) => Some(e.clone()),
                _ => None,
            })
        };
        self.until(what, |seen| find(seen).is_some()).await;
        find(&self.seen).expect("bank event")
    }

    pub async fn user_event(&mut self, what: &str, matches: impl Fn(&UserEvent) -> bool) {
        self.until(what, |seen| {
            seen.iter()
                .any(|s| matches!(s, Seen::User(e) if matches(e)))
        })
        .await;
    }

    /// Waits until `count` money events of transfer (or command) `id` were seen.
    pub async fn money_events(&mut self, id: Id, count: usize) -> Vec<(&'static str, String, i64)> {
        let what = format!("{count} money events of {id}");
        self.until(&what, |seen| {
            seen.iter()
                .filter(|s| matches!(s, Seen::Bank(e) if is_money(e) && transfer_id(e) == Some(id)))
                .count()
                >= count
        })
        .await;
        money_of(self, id)
    }

    /// Reads on for `within`, then fails the test if a record read since `since` (an index
    /// into [`Watcher::seen`]) matches `matches`: to show that something does *not* happen.
    pub async fn nothing_since(
        &mut self,
        since: usize,
        within: Duration,
        what: &str,
        matches: impl Fn(&Seen) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + within;
        while let Ok(message) = tokio::time::timeout_at(deadline, self.consumer.recv()).await {
            let message = message.expect("message");
            let seen = decode(&self.codec, &message).await;
            self.seen.push(seen);
        }
        let unexpected: Vec<&Seen> = self.seen[since..].iter().filter(|s| matches(s)).collect();
        assert!(unexpected.is_empty(), "{what}: {unexpected:?}");
    }

    /// Waits for feedback for `id` equal to `expected`, including what was read before.
    pub async fn any_feedback(&mut self, id: Id, expected: Answer) {
        let what = format!("feedback {expected:?} for {id}");
        self.until(&what, |seen| {
            seen.iter()
                .any(|s| feedback_of(s, id).as_ref() == Some(&expected))
        })
        .await;
    }

    pub fn bank_events(&self) -> Vec<BankEvent> {
        self.seen
            .iter()
            .filter_map(|s| match s {
                Seen::Bank(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn user_events(&self) -> Vec<UserEvent> {
        self.seen
            .iter()
            .filter_map(|s| match s {
                Seen::User(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }
}

/// A feedback: Ok(additional_info) or Err(reason).
pub type Answer = Result<Option<String>, String>;

/// Ok(additional_info) or Err(reason) if `seen` is feedback for `id`.
pub fn feedback_of(seen: &Seen, id: Id) -> Option<Result<Option<String>, String>> {
    match seen {
        Seen::Succeeded(_, s) if s.id == id => Some(Ok(s.additional_info.clone())),
        Seen::Failed(_, f) if f.id == id => Some(Err(f.reason.clone())),
        _ => None,
    }
}

async fn decode(codec: &Codec, message: &BorrowedMessage<'_>) -> Seen {
    let payload = message.payload();
    let topic = message.topic();
    match topic {
        USER_EVENTS => Seen::User(codec.decode(payload).await.expect("user event")),
        BANK_EVENTS => Seen::Bank(codec.decode(payload).await.expect("bank event")),
        USER_COMMAND_FEEDBACK => match codec.decode(payload).await.expect("feedback") {
            UserCommandFeedback::CommandSucceeded(s) => Seen::Succeeded(USER_COMMAND_FEEDBACK, s),
            UserCommandFeedback::CommandFailed(f) => Seen::Failed(USER_COMMAND_FEEDBACK, f),
        },
        BANK_COMMAND_FEEDBACK => match codec.decode(payload).await.expect("feedback") {
            BankCommandFeedback::CommandSucceeded(s) => Seen::Succeeded(BANK_COMMAND_FEEDBACK, s),
            BankCommandFeedback::CommandFailed(f) => Seen::Failed(BANK_COMMAND_FEEDBACK, f),
        },
        _ => match codec.decode(payload).await.expect("feedback") {
            TransferCommandFeedback::CommandSucceeded(s) => {
                Seen::Succeeded(TRANSFER_COMMAND_FEEDBACK, s)
            }
            TransferCommandFeedback::CommandFailed(f) => Seen::Failed(TRANSFER_COMMAND_FEEDBACK, f),
        },
    }
}

fn is_money(event: &BankEvent) -> bool {
    matches!(
        event,
        BankEvent::MoneyDebitedEvent(_)
            | BankEvent::MoneyCreditedEvent(_)
            | BankEvent::MoneyReturnedEvent(_)
    )
}

/// Every committed `bank_events` record from the beginning to the current end.
pub async fn all_bank_events() -> Vec<BankEvent> {
    let codec = codec();
    let mut events = Vec::new();
    for message in test_support::read_to_end(BANK_EVENTS, WAIT).await {
        events.push(codec.decode(message.payload()).await.expect("bank event"));
    }
    events
}

/// Balance per IBAN from the money events among `events`, for `ibans` only.
pub fn balances(events: &[BankEvent], ibans: &[String]) -> BTreeMap<String, i64> {
    let mut balances: BTreeMap<String, i64> = ibans.iter().map(|i| (i.clone(), 0)).collect();
    for event in events {
        let (iban, change) = match event {
            BankEvent::MoneyCreditedEvent(e) => (&e.iban, e.amount),
            BankEvent::MoneyReturnedEvent(e) => (&e.iban, e.amount),
            BankEvent::MoneyDebitedEvent(e) => (&e.iban, -e.amount),
            _ => continue,
        };
        if let Some(balance) = balances.get_mut(iban) {
            *balance += change;
        }
    }
    balances
}

/// Creates `username`'s user and a new open account with a new token, of which the command
/// carries the hash only (as the GraphQL endpoint does); returns (iban, token).
pub async fn open_account(
    sender: &Sender,
    watcher: &mut Watcher,
    username: &str,
) -> (String, String) {
    use topology::{BankCommand, CreateBankAccountCommand, CreateUserAccountCommand, UserCommand};
    let id = Id::random();
    let user: UserCommand = CreateUserAccountCommand {
        id,
        username: username.into(),
        password: "hash".into(),
    }
    .into();
    sender.send(username, &user).await;
    assert_eq!(watcher.feedback(id).await, Ok(None));
    let iban = topology::values::new_open_iban();
    let token = new_token();
    let id = Id::random();
    let account: BankCommand = CreateBankAccountCommand {
        id,
        iban: iban.clone(),
        username: username.into(),
        token_hash: Some(token_hash(&token)),
        token_nonce: None,
    }
    .into();
    sender.send(&iban, &account).await;
    // The answer tells no token: the sender made it.
    assert_eq!(watcher.feedback(id).await, Ok(None), "account created");
    (iban, token)
}

/// Sends a MoneyTransferCommand by `username` with the hash of `token`, and returns its id.
pub async fn transfer(
    sender: &Sender,
    (username, token): (&str, &str),
    from: &str,
    to: &str,
    amount: i64,
) -> Id {
    let id = Id::random();
    let command: topology::BankCommand = topology::MoneyTransferCommand {
        id,
        token: token_hash(token),
        amount,
        from: from.into(),
        to: to.into(),
        description: "test".into(),
        username: username.into(),
    }
    .into();
    // Keyed by the transfer's home account, like the GraphQL endpoint does.
    sender
        .send(topology::routing::home(from, to), &command)
        .await;
    id
}

/// The final event of transfer `id` (waits for it): Ok(()) completed, Err(reason) failed.
pub async fn outcome(watcher: &mut Watcher, id: Id) -> Result<(), String> {
    let find = |seen: &[Seen]| {
        seen.iter().find_map(|s| match s {
            Seen::Bank(BankEvent::TransferCompletedEvent(e)) if e.id == id => Some(Ok(())),
            Seen::Bank(BankEvent::TransferFailedEvent(e)) if e.id == id => {
                Some(Err(e.reason.clone()))
            }
            _ => None,
        })
    };
    watcher
        .until(&format!("final event of transfer {id}"), |seen| {
            find(seen).is_some()
        })
        .await;
    find(&watcher.seen).expect("final event")
}

/// The money events of transfer `id` seen so far, as (kind, iban, amount).
/// The money events of transfer `id` in saga order (debit, credit, return): they may live in
/// different partitions, which have no order between them.
pub fn money_of(watcher: &Watcher, id: Id) -> Vec<(&'static str, String, i64)> {
    let mut money: Vec<(u8, (&'static str, String, i64))> = watcher
        .bank_events()
        .into_iter()
        .filter_map(|e| match e {
            BankEvent::MoneyDebitedEvent(e) if e.id == id => {
                Some((0, ("debited", e.iban, e.amount)))
            }
            BankEvent::MoneyCreditedEvent(e) if e.id == id => {
                Some((1, ("credited", e.iban, e.amount)))
            }
            BankEvent::MoneyReturnedEvent(e) if e.id == id => {
                Some((2, ("returned", e.iban, e.amount)))
            }
            _ => None,
        })
        .collect();
    money.sort_by_key(|(step, _)| *step);
    money.into_iter().map(|(_, event)| event).collect()
}

/// One user with one account: (username, iban, token).
pub type Account = (String, String, String);

/// `count` accounts of fresh users named after `prefix`, each funded with `deposit` from cash
/// (waits until every deposit completed).
pub async fn funded_accounts(
    sender: &Sender,
    watcher: &mut Watcher,
    prefix: &str,
    count: usize,
    deposit: i64,
) -> Vec<Account> {
    let mut accounts = Vec::new();
    for n in 0..count {
        let username = unique(&format!("{prefix}{n}"));
        let (iban, token) = open_account(sender, watcher, &username).await;
        accounts.push((username, iban, token));
    }
    let mut deposits = Vec::new();
    for (username, iban, token) in &accounts {
        deposits.push(transfer(sender, (username, token), "cash", iban, deposit).await);
    }
    for id in &deposits {
        assert_eq!(outcome(watcher, *id).await, Ok(()), "deposit {id}");
    }
    accounts
}

/// A deterministic pseudo-random number below its argument (xorshift), so a failing run can be
/// repeated with the same pairs and amounts.
pub fn pseudo_random(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut state = seed;
    move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    }
}

/// How many of the transfers `ours` have a final event among `seen`.
pub fn finals_seen(seen: &[Seen], ours: &std::collections::HashSet<Id>) -> usize {
    seen.iter()
        .filter(|s| match s {
            Seen::Bank(
                e @ (BankEvent::TransferCompletedEvent(_) | BankEvent::TransferFailedEvent(_)),
            ) => transfer_id(e).is_some_and(|id| ours.contains(&id)),
            _ => false,
        })
        .count()
}

/// The outcome of each of the transfers `ours` in `events`: Ok when completed, Err(reason)
/// when failed. Fails the test for a transfer with no final event or with several.
pub fn one_final_each(
    events: &[BankEvent],
    ours: &std::collections::HashSet<Id>,
) -> BTreeMap<Id, Result<(), String>> {
    let mut finals: BTreeMap<Id, Vec<Result<(), String>>> = BTreeMap::new();
    for event in events {
        match event {
            BankEvent::TransferCompletedEvent(e) if ours.contains(&e.id) => {
                finals.entry(e.id).or_default().push(Ok(()))
            }
            BankEvent::TransferFailedEvent(e) if ours.contains(&e.id) => {
                finals.entry(e.id).or_default().push(Err(e.reason.clone()))
            }
            _ => {}
        }
    }
    for id in ours {
        let outcomes = finals.get(id).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(
            outcomes.len(),
            1,
            "transfer {id} has final events {outcomes:?}"
        );
    }
    finals
        .into_iter()
        .filter_map(|(id, outcomes)| outcomes.into_iter().next().map(|o| (id, o)))
        .collect()
}

/// The balances of `ibans` in `events` add up to `expected_total`, and none went below the
/// limit.
pub fn assert_money_adds_up(events: &[BankEvent], ibans: &[String], expected_total: i64) {
    let balances = balances(events, ibans);
    let total: i64 = balances.values().sum();
    assert_eq!(
        total, expected_total,
        "money is conserved: balances {balances:?}"
    );
    for (iban, balance) in &balances {
        assert!(*balance > -50_000, "{iban} went below its limit: {balance}");
    }
}
