//! Every rule and reason string of SPEC §4, through the real binary, broker and registry.

mod common;

use common::*;
use topology::values::new_open_iban;
use topology::{
    AddUserToBankAccountCommand, BankCommand, BankEvent, CreateBankAccountCommand,
    CreateUserAccountCommand, CreditMoneyCommand, DebitMoneyCommand, Id,
    MarkTransferCompletedCommand, MarkTransferFailedCommand, RemoveUserFromBankAccountCommand,
    ReturnMoneyCommand, TransferCommand, UserCommand, UserEvent,
};

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

    // CreateBankAccount
    let create = |iban: &str, username: &str| CreateBankAccountCommand {
        id: Id::random(),
        iban: iban.into(),
        username: username.into(),
    };
    rig.bank(
        create("NL91ABNA0417164300", &alice),
        refused("invalid open iban"),
    )
    .await;
    let iban = new_open_iban();
    let token = rig
        .bank_answer(create(&iban, &alice))
        .await
        .expect("created")
        .expect("token");
    assert_eq!(token.len(), 20);
    rig.watcher
        .bank_event("BankAccountCreated", |e| matches!(e,
            BankEvent::BankAccountCreatedEvent(c) if c.iban == iban && c.token == token && c.username == alice))
        .await;
    rig.bank(create(&iban, &alice), refused("iban already exist"))
        .await;

    // AddUserToBankAccount
    let bob = unique("bob");
    let add =
        |iban: &str, username: &str, token: &str, user_to_add: &str| AddUserToBankAccountCommand {
            id: Id::random(),
            iban: iban.into(),
            username: username.into(),
            token: token.into(),
            user_to_add: user_to_add.into(),
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
    let bob_token = added.token;
    assert_ne!(bob_token, token);

    // DebitMoney / CreditMoney / ReturnMoney (sent directly, as the saga would)
    let debit = |iban: &str, amount: i64, token: &str, username: &str| DebitMoneyCommand {
        id: Id::random(),
        iban: iban.into(),
        amount,
        token: token.into(),
        username: username.into(),
    };
    rig.money(
        debit(&unknown, 1, &token, &alice),
        refused("iban not known"),
    )
    .await;
    rig.money(
        debit(&iban, 1, &token, &unique("mallory")),
        refused("user is no owner of bank account"),
    )
    .await;
    rig.money(
        debit(&iban, 1, "wrong", &alice),
        refused("token is not valid"),
    )
    .await;
    rig.money(
        debit(&iban, 50_000, &token, &alice),
        refused("insufficient funds would be below the limit of € -500,00"),
    )
    .await;
    rig.money(
        debit(&iban, 0, &token, &alice),
        refused("amount should be positive"),
    )
    .await;
    let ok_debit = debit(&iban, 49_999, &bob_token, &bob);
    let ok_debit_id = ok_debit.id;
    rig.money(ok_debit, Ok(None)).await;
    assert_eq!(
        rig.watcher.money_events(ok_debit_id, 1).await,
        [("debited", iban.clone(), 49_999)]
    );

    let credit = |iban: &str, amount: i64| CreditMoneyCommand {
        id: Id::random(),
        iban: iban.into(),
        amount,
        transfer_from: None,
        transfer_description: None,
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

    let give_back = |iban: &str, amount: i64| ReturnMoneyCommand {
        id: Id::random(),
        iban: iban.into(),
        amount,
        reason: "because".into(),
    };
    rig.money(give_back(&unknown, 5), refused("iban not known"))
        .await;
    let ok_return = give_back(&iban, 1);
    let ok_return_id = ok_return.id;
    rig.money(ok_return, Ok(None)).await;
    assert_eq!(
        rig.watcher.money_events(ok_return_id, 1).await,
        [("returned", iban.clone(), 1)]
    );
    // Balance now 60_000 - 49_999 + 1 = 10_002.

    // RemoveUserFromBankAccount
    let remove = |iban: &str, username: &str, token: &str| RemoveUserFromBankAccountCommand {
        id: Id::random(),
        iban: iban.into(),
        username: username.into(),
        token: token.into(),
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

    // MarkTransferCompleted / MarkTransferFailed
    let never = Id::random();
    rig.bank(
        MarkTransferCompletedCommand { id: never },
        refused("transfer not known"),
    )
    .await;
    let fail = MarkTransferFailedCommand {
        id: never,
        reason: "x".into(),
    };
    rig.bank(fail, refused("transfer not known")).await;
    let deposit = transfer(
        &rig.sender,
        (&other, &other_token),
        "cash",
        &other_iban,
        100,
    )
    .await;
    assert_eq!(outcome(&mut rig.watcher, deposit).await, Ok(()));
    rig.bank(
        MarkTransferCompletedCommand { id: deposit },
        refused("state of transfer was complete so could not be completed"),
    )
    .await;
    let fail = MarkTransferFailedCommand {
        id: deposit,
        reason: "x".into(),
    };
    rig.bank(
        fail,
        refused("state of transfer was complete so could not be failed"),
    )
    .await;
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
    rig.bank(
        MarkTransferCompletedCommand { id: doomed },
        refused("state of transfer was failed so could not be completed"),
    )
    .await;

    // MoneyTransfer: a transfer id seen before.
    let again = topology::MoneyTransferCommand {
        id: deposit,
        token: other_token.clone(),
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
        MarkTransferCompletedCommand { id: Id::random() },
        refused("transfer not known"),
    )
    .await;

    assert!(
        handler.terminate().is_some_and(|s| s.success()),
        "clean exit on SIGTERM"
    );
}
