//! Every rule and reason string of SPEC §4, through the real binary, broker and registry; and
//! that money steps which no saga of the bank asked for are ignored.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::time::Duration;

use common::*;
use topology::proofs::{token_hash, SagaKey};
use topology::values::new_open_iban;
use topology::{
    AddUserToBankAccountCommand, BankCommand, BankEvent, CreateBankAccountCommand,
    CreateUserAccountCommand, CreditMoneyCommand, DebitMoneyCommand, Id,
    MarkTransferCompletedCommand, MarkTransferFailedCommand, RemoveUserFromBankAccountCommand,
    ReturnMoneyCommand, TopicMessage, TransferCommand, UserCommand, UserEvent,
};

const FOREIGN_IBAN: &str = "NL91ABNA0417164300";
/// How long a test watches for what an ignored command must not cause.
const QUIET: Duration = Duration::from_secs(5);

struct Rig {
    sender: Sender,
    watcher: Watcher,
}

impl Rig {
    /// Sends `command` and waits for feedback for its id equal to `expected`. Waiting for the
    /// expected answer rather than the first one matters for ids with earlier feedback (a
    /// transfer id also names its saga's commands).
    async fn bank(&mut self, command: impl Into<BankCommand>, expected: Answer) {
        let command = command.into();
        let id = command_id_bank(&command);
        self.sender.send(&id.to_uuid_string(), &command).await;
        self.watcher.expect_feedback(id, expected).await;
    }

    async fn bank_answer(&mut self, command: impl Into<BankCommand>) -> Answer {
        let command = command.into();
        let id = command_id_bank(&command);
        self.sender.send(&id.to_uuid_string(), &command).await;
        self.watcher.feedback(id).await
    }

    /// Sends a money step as a saga would (a credit must be signed with [`SAGA_SECRET`]) and
    /// waits for feedback for its id equal to `expected`.
    async fn money(&mut self, command: impl Into<TransferCommand>, expected: Answer) {
        let command = command.into();
        let (id, iban) = match &command {
            TransferCommand::DebitMoneyCommand(c) => (c.id, c.iban.clone()),
            TransferCommand::CreditMoneyCommand(c) => (c.id, c.iban.clone()),
            TransferCommand::ReturnMoneyCommand(c) => (c.id, c.iban.clone()),
        };
        self.sender.send(&iban, &command).await;
        self.watcher.expect_feedback(id, expected).await;
    }

    /// Sends `command` (id `id`) under `key`, which the handler must ignore, then a probe under
    /// the same key (so on the same partition, handled after it). [`Rig::all_ignored`] checks
    /// what they caused.
    async fn send_ignored<M: TopicMessage>(
        &mut self,
        what: &'static str,
        key: &str,
        id: Id,
        command: &M,
    ) -> Ignored {
        self.sender.send(key, command).await;
        let probe = Id::random();
        if M::TOPIC == "transfer_commands" {
            let credit = signed(CreditMoneyCommand {
                id: probe,
                iban: new_open_iban(),
                amount: 1,
                transfer_from: None,
                transfer_description: None,
                saga_signature: None,
            });
            self.sender.send(key, &TransferCommand::from(credit)).await;
        } else {
            let create = CreateBankAccountCommand {
                id: probe,
                iban: FOREIGN_IBAN.into(),
                username: unique("probe"),
                token_hash: Some(token_hash(&new_token())),
                token_nonce: None,
            };
            self.sender.send(key, &BankCommand::from(create)).await;
        }
        Ignored { what, id, probe }
    }

    /// Each probe is answered (refused) first, so every ignored command was handled; then the
    /// test watches a while longer, once for all of them: no answer and no bank event of any
    /// of their ids since `since`.
    async fn all_ignored(&mut self, since: usize, ignored: &[Ignored]) {
        for command in ignored {
            if self.watcher.feedback(command.probe).await.is_ok() {
                panic!("{}: the probe after it is refused", command.what);
            }
        }
        let mut quiet = QUIET;
        for command in ignored {
            // The first check watches for QUIET; the others look at what it saw.
            self.watcher
                .nothing_since(since, quiet, command.what, |seen| about(seen, command.id))
                .await;
            quiet = Duration::ZERO;
        }
    }
}

/// A command the handler must ignore, and the probe sent after it.
struct Ignored {
    what: &'static str,
    id: Id,
    probe: Id,
}

/// Whether `seen` answers command `id` or is a bank event of transfer `id`.
fn about(seen: &Seen, id: Id) -> bool {
    feedback_of(seen, id).is_some() || matches!(seen, Seen::Bank(e) if transfer_id(e) == Some(id))
}

fn command_id_bank(command: &BankCommand) -> Id {
    use command_handler::domain::CommandMeta;
    command.command_id()
}

fn refused(reason: &str) -> Answer {
    Err(reason.to_string())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn every_rule_answers_with_its_exact_reason() {
    let ids = Ids::fresh();
    let mut handler = start_command_handler(&ids, "rules");
    let mut rig = Rig {
        sender: Sender::new(),
        watcher: Watcher::new(),
    };
    handler.wait_ready(WAIT).await;

    // CreateUserAccount
    let alice = unique("alice");
    let create_user = |id: Id, username: &str| -> UserCommand {
        CreateUserAccountCommand {
            id,
            username: username.into(),
            password: "hash".into(),
        }
        .into()
    };
    let id = Id::random();
    rig.sender
        .send(&id.to_uuid_string(), &create_user(id, &alice))
        .await;
    assert_eq!(rig.watcher.feedback(id).await, Ok(None));
    rig.watcher
        .user_event(
            "UserAccountCreated",
            |event| matches!(event, UserEvent::UserAccountCreatedEvent(e) if e.username == alice),
        )
        .await;
    let id = Id::random();
    rig.sender
        .send(&id.to_uuid_string(), &create_user(id, &alice))
        .await;
    assert_eq!(
        rig.watcher.feedback(id).await,
        refused("user already exists")
    );

    // CreateBankAccount: the command carries the hash of the token the sender made, and the
    // nonce it made it from; the token itself travels nowhere.
    let create = |iban: &str, username: &str, token: &str| CreateBankAccountCommand {
        id: Id::random(),
        iban: iban.into(),
        username: username.into(),
        token_hash: Some(token_hash(token)),
        token_nonce: Some("rules-nonce".into()),
    };
    rig.bank(
        create("NL91ABNA0417164300", &alice, &new_token()),
        refused("invalid open iban"),
    )
    .await;
    let iban = new_open_iban();
    let token = new_token();
    assert_eq!(
        rig.bank_answer(create(&iban, &alice, &token)).await,
        Ok(None),
        "created, and no token in the answer"
    );
    let alice_hash = token_hash(&token);
    rig.watcher
        .bank_event("BankAccountCreated", |e| {
            matches!(e,
            BankEvent::BankAccountCreatedEvent(c) if c.iban == iban
                && c.token.is_empty()
                && c.token_hash.as_deref() == Some(alice_hash.as_str())
                && c.token_nonce.as_deref() == Some("rules-nonce")
                && c.username == alice)
        })
        .await;
    rig.bank(
        create(&iban, &alice, &new_token()),
        refused("iban already exist"),
    )
    .await;

    // AddUserToBankAccount: the adder's token and the added user's new one, both as hashes.
    let bob = unique("bob");
    let bob_token = new_token();
    let add =
        |iban: &str, username: &str, token: &str, user_to_add: &str| AddUserToBankAccountCommand {
            id: Id::random(),
            iban: iban.into(),
            username: username.into(),
            token: token_hash(token),
            user_to_add: user_to_add.into(),
            token_hash: Some(token_hash(&bob_token)),
            token_nonce: None,
        };
    let unknown = new_open_iban();
    rig.bank(
        add(&unknown, &alice, &token, &bob),
        refused("iban not known"),
    )
    .await;
    rig.bank(
        add(&iban, &alice, &token, &alice),
        refused("user to add is already owner of bank account"),
    )
    .await;
    rig.bank(
        add(&iban, &bob, &token, &bob),
        refused("user is not owner of account"),
    )
    .await;
    rig.bank(
        add(&iban, &alice, "wrong", &bob),
        refused("token is not valid"),
    )
    .await;
    rig.bank(
        AddUserToBankAccountCommand {
            token: token.clone(),
            ..add(&iban, &alice, &token, &bob)
        },
        refused("token is not valid"),
    )
    .await;
    rig.bank(add(&iban, &alice, &token, &bob), Ok(None)).await;
    let added = rig
        .watcher
        .bank_event("UserAddedToBankAccount", |e| {
            matches!(e, BankEvent::UserAddedToBankAccountEvent(a) if a.iban == iban && a.username == bob)
        })
        .await;
    let BankEvent::UserAddedToBankAccountEvent(added) = added else {
        unreachable!("matched above")
    };
    assert_eq!(added.token, "");
    assert_eq!(added.token_hash, Some(token_hash(&bob_token)));
    assert_ne!(bob_token, token);

    // DebitMoney: asked for by the saga of a transfer only (one written to Kafka is ignored,
    // see the test below), so its reasons reach the sender as the failed transfer's reason.
    let out_of = |from: &str| (from.to_string(), FOREIGN_IBAN);
    let debit_fails = [
        (
            (alice.clone(), token.clone()),
            out_of(&unknown),
            1,
            "iban not known",
        ),
        (
            (unique("mallory"), token.clone()),
            out_of(&iban),
            1,
            "user is no owner of bank account",
        ),
        (
            (alice.clone(), "wrong".to_string()),
            out_of(&iban),
            1,
            "token is not valid",
        ),
        (
            (alice.clone(), token.clone()),
            out_of(&iban),
            50_000,
            "insufficient funds would be below the limit of € -500,00",
        ),
    ];
    for ((username, token), (from, to), amount, reason) in debit_fails {
        let id = transfer(&rig.sender, (&username, &token), &from, to, amount).await;
        assert_eq!(outcome(&mut rig.watcher, id).await, Err(reason.to_string()));
        assert!(money_of(&rig.watcher, id).is_empty(), "{reason}");
    }
    let ok_debit = transfer(&rig.sender, (&bob, &bob_token), &iban, FOREIGN_IBAN, 49_999).await;
    assert_eq!(outcome(&mut rig.watcher, ok_debit).await, Ok(()));
    assert_eq!(
        rig.watcher.money_events(ok_debit, 1).await,
        [("debited", iban.clone(), 49_999)]
    );

    // CreditMoney, written directly: it counts only with the signature of the command
    // handlers' shared secret.
    let credit = |iban: &str, amount: i64| {
        signed(CreditMoneyCommand {
            id: Id::random(),
            iban: iban.into(),
            amount,
            transfer_from: None,
            transfer_description: None,
            saga_signature: None,
        })
    };
    rig.money(credit(&unknown, 5), refused("iban not known"))
        .await;
    rig.money(credit(&iban, -5), refused("amount should be positive"))
        .await;
    let ok_credit = credit(&iban, 60_000);
    let ok_credit_id = ok_credit.id;
    rig.money(ok_credit, Ok(None)).await;
    assert_eq!(
        rig.watcher.money_events(ok_credit_id, 1).await,
        [("credited", iban.clone(), 60_000)]
    );

    // ReturnMoney: asked for by a saga whose credit was refused; the money comes back.
    let nowhere = new_open_iban();
    let returned = transfer(&rig.sender, (&alice, &token), &iban, &nowhere, 1).await;
    assert_eq!(
        outcome(&mut rig.watcher, returned).await,
        Err("iban not known".into())
    );
    assert_eq!(
        rig.watcher.money_events(returned, 2).await,
        [("debited", iban.clone(), 1), ("returned", iban.clone(), 1)]
    );
    // Balance now -49_999 + 60_000 = 10_001.

    // RemoveUserFromBankAccount
    let remove = |iban: &str, username: &str, token: &str| RemoveUserFromBankAccountCommand {
        id: Id::random(),
        iban: iban.into(),
        username: username.into(),
        token: token_hash(token),
    };
    rig.bank(remove(&unknown, &alice, &token), refused("iban not known"))
        .await;
    rig.bank(
        remove(&iban, &unique("carol"), &token),
        refused("user to remove is not owner of bank account"),
    )
    .await;
    rig.bank(
        remove(&iban, &alice, "wrong"),
        refused("token is not valid"),
    )
    .await;
    rig.bank(
        RemoveUserFromBankAccountCommand {
            token: bob_token.clone(),
            ..remove(&iban, &bob, &bob_token)
        },
        refused("token is not valid"),
    )
    .await;
    rig.bank(remove(&iban, &bob, &bob_token), Ok(None)).await;
    rig.bank(
        remove(&iban, &alice, &token),
        refused("last user and balance is not zero, so can't be removed"),
    )
    .await;
    rig.watcher
        .bank_event("UserRemoved", |e| {
            matches!(e,
            BankEvent::UserRemovedFromBankAccountEvent(r) if r.iban == iban && r.username == bob)
        })
        .await;

    // MoneyTransfer hardening: non-positive amounts, deposits into someone else's account.
    assert_eq!(
        rig.watcher
            .feedback(transfer(&rig.sender, (&alice, &token), &iban, &unknown, 0).await)
            .await,
        refused("amount should be positive")
    );
    assert_eq!(
        rig.watcher
            .feedback(transfer(&rig.sender, (&alice, &token), "cash", &iban, -100).await)
            .await,
        refused("amount should be positive")
    );
    let other = unique("other");
    let (other_iban, other_token) = open_account(&rig.sender, &mut rig.watcher, &other).await;
    assert_eq!(
        rig.watcher
            .feedback(transfer(&rig.sender, (&alice, &token), "cash", &other_iban, 100).await)
            .await,
        refused("user is no owner of bank account")
    );
    assert_eq!(
        rig.watcher
            .feedback(transfer(&rig.sender, (&other, &token), "cash", &other_iban, 100).await)
            .await,
        refused("token is not valid")
    );
    assert_eq!(
        rig.watcher
            .feedback(transfer(&rig.sender, (&other, &other_token), "cash", &unknown, 100).await)
            .await,
        refused("iban not known")
    );
    // A cash deposit is bounded (the bound of a day's deposits is left to the unit tests: a
    // test here could straddle midnight).
    assert_eq!(
        rig.watcher
            .feedback(
                transfer(
                    &rig.sender,
                    (&other, &other_token),
                    "cash",
                    &other_iban,
                    1_000_001
                )
                .await
            )
            .await,
        refused("a cash deposit may be at most € 10.000,00")
    );

    // The final marks are the saga's own (one written to Kafka is ignored, see the test
    // below): a transfer ends once, completed or failed.
    let deposit = transfer(
        &rig.sender,
        (&other, &other_token),
        "cash",
        &other_iban,
        100,
    )
    .await;
    assert_eq!(outcome(&mut rig.watcher, deposit).await, Ok(()));
    let doomed = transfer(
        &rig.sender,
        (&other, &other_token),
        &other_iban,
        &other_iban,
        100,
    )
    .await;
    assert_eq!(
        outcome(&mut rig.watcher, doomed).await,
        Err("from and to can't be same for transfer".into())
    );

    // MoneyTransfer: a transfer id seen before.
    let again = topology::MoneyTransferCommand {
        id: deposit,
        token: token_hash(&other_token),
        amount: 100,
        from: "cash".into(),
        to: other_iban.clone(),
        description: "again".into(),
        username: other.clone(),
    };
    let reasons = [
        (
            deposit,
            "transfer was already started, current status: complete",
        ),
        (
            doomed,
            "transfer was already started, current status: failed",
        ),
    ];
    for (id, reason) in reasons {
        let mut command = again.clone();
        command.id = id;
        let command: BankCommand = command.into();
        // The first answer for this id is the original one; wait for the refusal after it.
        let before = rig.watcher.seen.len();
        rig.sender.send(&id.to_uuid_string(), &command).await;
        rig.watcher
            .until(reason, |seen| {
                seen[before..]
                    .iter()
                    .any(|s| feedback_of(s, id) == Some(refused(reason)))
            })
            .await;
    }

    // Garbage never crashes the handler: it is skipped and the next command is answered.
    rig.sender
        .send_raw("bank_commands", "garbage", b"\x00\x00\x00\x00\x07not avro")
        .await;
    rig.sender
        .send_raw("user_commands", "garbage", b"plain text")
        .await;
    rig.bank(
        create(FOREIGN_IBAN, &alice, &new_token()),
        refused("invalid open iban"),
    )
    .await;

    assert!(
        handler.terminate().is_some_and(|s| s.success()),
        "clean exit on SIGTERM"
    );
}

/// Whoever can write `transfer_commands` or `bank_commands` cannot move money: a credit
/// without the signature of the command handlers' shared secret (none, another key's, or one
/// of another amount or account), a debit, a return and a final mark written there change
/// nothing and answer nothing, while a credit signed with the secret is booked.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn money_steps_only_a_saga_of_the_bank_asks_for() {
    let ids = Ids::fresh();
    let mut handler = start_command_handler(&ids, "saga-only");
    let mut rig = Rig {
        sender: Sender::new(),
        watcher: Watcher::new(),
    };
    handler.wait_ready(WAIT).await;

    let alice = unique("alice");
    let (iban, token) = open_account(&rig.sender, &mut rig.watcher, &alice).await;
    let deposit = transfer(&rig.sender, (&alice, &token), "cash", &iban, 1_000).await;
    assert_eq!(outcome(&mut rig.watcher, deposit).await, Ok(()));
    // A transfer under way would be what a forged mark or return aims at; a finished one
    // will do: its saga decided everything already.
    let out = transfer(&rig.sender, (&alice, &token), &iban, FOREIGN_IBAN, 100).await;
    assert_eq!(outcome(&mut rig.watcher, out).await, Ok(()));
    // Its answers (to the MoneyTransferCommand and its saga's mark) travel on another topic
    // than its events: read them now, so that only what comes later counts below.
    rig.watcher
        .until("both answers of the transfer out", |seen| {
            seen.iter()
                .filter(|s| feedback_of(s, out).is_some())
                .count()
                >= 2
        })
        .await;

    let credit = |amount: i64| CreditMoneyCommand {
        id: Id::random(),
        iban: iban.clone(),
        amount,
        transfer_from: None,
        transfer_description: None,
        saga_signature: None,
    };
    let unsigned = credit(500);
    let mut other_key = credit(500);
    other_key.saga_signature =
        Some(SagaKey::new(b"not the secret of the command handlers").sign_credit(&other_key));
    let mut more = signed(credit(500));
    more.amount = 500_000;
    let mut elsewhere = signed(CreditMoneyCommand {
        iban: new_open_iban(),
        ..credit(500)
    });
    elsewhere.iban = iban.clone();
    let forged: Vec<(&'static str, TransferCommand)> = vec![
        ("an unsigned credit", unsigned.into()),
        ("a credit signed with another key", other_key.into()),
        ("a signed credit whose amount was changed", more.into()),
        ("a signed credit sent to another account", elsewhere.into()),
        (
            "a debit, even with the owner's token",
            DebitMoneyCommand {
                id: Id::random(),
                iban: iban.clone(),
                amount: 300,
                token: token_hash(&token),
                username: alice.clone(),
            }
            .into(),
        ),
        (
            "a debit of a transfer that happened",
            DebitMoneyCommand {
                id: out,
                iban: iban.clone(),
                amount: 100,
                token: token_hash(&token),
                username: alice.clone(),
            }
            .into(),
        ),
        (
            "a return",
            ReturnMoneyCommand {
                id: out,
                iban: iban.clone(),
                amount: 100,
                reason: "iban not known".into(),
            }
            .into(),
        ),
    ];
    let since = rig.watcher.seen.len();
    let mut ignored = Vec::new();
    for (what, command) in &forged {
        let id = {
            use command_handler::domain::CommandMeta;
            command.command_id()
        };
        ignored.push(rig.send_ignored(what, &iban, id, command).await);
    }
    let marks: Vec<(&'static str, BankCommand)> = vec![
        (
            "a completion of a transfer",
            MarkTransferCompletedCommand { id: Id::random() }.into(),
        ),
        (
            "a failure of a completed transfer",
            MarkTransferFailedCommand {
                id: out,
                reason: "forged".into(),
            }
            .into(),
        ),
    ];
    for (what, command) in &marks {
        let id = command_id_bank(command);
        ignored.push(rig.send_ignored(what, &iban, id, command).await);
    }
    rig.all_ignored(since, &ignored).await;

    // The same credit, signed with the secret the process was given, is booked and answered.
    let unsigned = credit(500);
    let signed_credit = signed(unsigned.clone());
    let before = rig.watcher.seen.len();
    rig.sender
        .send(&iban, &TransferCommand::from(unsigned.clone()))
        .await;
    rig.money(signed(credit(700)), Ok(None)).await;
    rig.watcher
        .nothing_since(before, QUIET, "an unsigned credit", |seen| {
            about(seen, unsigned.id)
        })
        .await;
    let id = signed_credit.id;
    rig.money(signed_credit, Ok(None)).await;
    assert_eq!(
        rig.watcher.money_events(id, 1).await,
        [("credited", iban.clone(), 500)]
    );

    // Nothing else moved: the deposit, the transfer out and the two signed credits.
    let balances = balances(&rig.watcher.bank_events(), std::slice::from_ref(&iban));
    assert_eq!(balances[&iban], 1_000 - 100 + 700 + 500);
    assert!(handler.terminate().is_some_and(|s| s.success()));
}
