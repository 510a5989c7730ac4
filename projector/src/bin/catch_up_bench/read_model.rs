//! The benchmarks of the read model alone (no Kafka): the account list and one account's history.

use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use projector::{answer, BankProjector, Derived, QueryAnswer, ReadModel, Source};
use topology::query_results::StatementPage;
use topology::values::{new_token, open_iban_for_account, CASH};
use topology::{
    AccountAtQuery, AlertKind, AlertSetEvent, AllBankAccountsQuery, BalanceHistoryQuery,
    BankAccountCreatedEvent, BankEvent, BankQuery, Id, MoneyCreditedEvent, MoneyDebitedEvent,
    StatementQuery,
};

use crate::{kib, vm_rss_kib};

/// Projects `accounts` account creations in a shuffled IBAN order, then times the list.
pub(crate) fn list_accounts(accounts: u32) -> anyhow::Result<()> {
    let model = Arc::new(ReadModel::new());
    // One partition: only the accounts index is timed here, transaction ids do not matter.
    let mut projector = BankProjector::new(Arc::clone(&model), 1);
    // A multiplicative permutation of 0..accounts: IBANs arrive far from sorted.
    let order = (0..accounts).map(|i| (u64::from(i) * 7_919 % u64::from(accounts)) as u32);
    let rss_before = vm_rss_kib();
    let started = Instant::now();
    for (offset, account) in (0..).zip(order) {
        let created: BankEvent = BankAccountCreatedEvent {
            iban: open_iban_for_account(account),
            token: new_token(),
            username: format!("bench-user-{account}"),
            token_hash: None,
            token_nonce: None,
        }
        .into();
        projector.project(Source::at(0, offset), &created)?;
    }
    println!(
        "projected {} account creations in {:.0} ms; VmRSS {} before, {} after",
        model.account_count(),
        started.elapsed().as_secs_f64() * 1_000.0,
        kib(rss_before),
        kib(vm_rss_kib())
    );
    time_account_queries(&model, "bench-user-4242");
    Ok(())
}

/// The instant of the `n`-th money event of [`history`]: one a second from 2026-01-01.
fn instant_of(n: u32) -> i64 {
    1_767_225_600_000 + i64::from(n) * 1_000
}

/// Projects one account's history of `transactions` money events (with `rules`: under three
/// alert rules, one of which fires on each event), writing rounds to the model's state store
/// as the projector does; prints the rate.
fn project_history(iban: &str, transactions: u32, rules: bool) -> anyhow::Result<Arc<ReadModel>> {
    let model = Arc::new(ReadModel::new());
    let mut projector = BankProjector::new(Arc::clone(&model), 1);
    let mut events: Vec<BankEvent> = vec![BankAccountCreatedEvent {
        iban: iban.to_string(),
        token: new_token(),
        username: "bench-user".into(),
        token_hash: None,
        token_nonce: None,
    }
    .into()];
    if rules {
        for (kind, threshold) in [
            (AlertKind::LargeDebit, Some(1)),
            (AlertKind::AnyCredit, None),
            (AlertKind::BalanceBelow, Some(1)),
        ] {
            events.push(
                AlertSetEvent {
                    iban: iban.to_string(),
                    alert_kind: kind,
                    threshold,
                }
                .into(),
            );
        }
    }
    let mut alerts = 0;
    let started = Instant::now();
    let mut offset = 0;
    for event in &events {
        projector.project(Source::written(0, offset, Some(instant_of(0))), event)?;
        offset += 1;
    }
    let write_round = |projector: &BankProjector, offset: i64| -> anyhow::Result<()> {
        let round = model.take_round(vec![("bench".into(), 0, offset)], projector.issued());
        model.store().write(&round, false)?;
        model.written();
        Ok(())
    };
    for n in 0..transactions {
        let id = Id::random();
        let event: BankEvent = if n % 2 == 0 {
            MoneyCreditedEvent {
                iban: iban.to_string(),
                amount: 2,
                id,
                transfer_from: Some(CASH.into()),
                transfer_description: Some("bench".into()),
            }
            .into()
        } else {
            MoneyDebitedEvent {
                iban: iban.to_string(),
                amount: 1,
                id,
            }
            .into()
        };
        let source = Source::written(0, offset, Some(instant_of(n)));
        if let Some(derived) = projector
            .project(source, &event)?
            .and_then(Derived::transaction)
        {
            alerts += derived.alerts.len();
        }
        offset += 1;
        // Rounds go to the state store as in the projector (every 250 ms there).
        if n % 10_000 == 9_999 {
            write_round(&projector, offset)?;
        }
    }
    write_round(&projector, offset)?;
    let took = started.elapsed();
    println!(
        "projected {transactions} money events of one account {} alert rules in {:.0} ms \
         ({:.0} events/s), {alerts} alerts derived",
        if rules { "with three" } else { "without" },
        took.as_secs_f64() * 1_000.0,
        f64::from(transactions) / took.as_secs_f64()
    );
    Ok(model)
}

pub(crate) fn history(transactions: u32) -> anyhow::Result<()> {
    let iban = open_iban_for_account(7);
    project_history(&iban, transactions, false)?;
    let model = project_history(&iban, transactions, true)?;
    let last = transactions.saturating_sub(1);
    let queries: Vec<(String, BankQuery)> = vec![
        (
            "AccountAtQuery at the newest transaction, 10 items".into(),
            AccountAtQuery {
                id: Id::random(),
                iban: iban.clone(),
                instant: instant_of(last),
                max_items: 10,
            }
            .into(),
        ),
        (
            "AccountAtQuery in the middle of the history, 10 items".into(),
            AccountAtQuery {
                id: Id::random(),
                iban: iban.clone(),
                instant: instant_of(last / 2),
                max_items: 10,
            }
            .into(),
        ),
        (
            "AccountAtQuery at the oldest transaction, 10 items".into(),
            AccountAtQuery {
                id: Id::random(),
                iban: iban.clone(),
                instant: instant_of(0),
                max_items: 10,
            }
            .into(),
        ),
        (
            "BalanceHistoryQuery, the last hour, 120 points".into(),
            BalanceHistoryQuery {
                id: Id::random(),
                iban: iban.clone(),
                since: instant_of(last) - 3_600_000,
                until: instant_of(last),
                points: 120,
            }
            .into(),
        ),
        (
            "BalanceHistoryQuery, the whole history, 500 points".into(),
            BalanceHistoryQuery {
                id: Id::random(),
                iban: iban.clone(),
                since: instant_of(0),
                until: instant_of(last),
                points: 500,
            }
            .into(),
        ),
    ];
    println!(
        "over {transactions} transactions of one account in the state store, median of 21 runs:"
    );
    for (name, query) in queries {
        let mut times = Vec::new();
        let mut answer_bytes = 0;
        for _ in 0..21 {
            let started = Instant::now();
            let result = answer(&model, &query);
            times.push(started.elapsed());
            match result {
                QueryAnswer::Succeeded(succeeded) => answer_bytes = succeeded.query_result.len(),
                QueryAnswer::Failed(failed) => bail!("{name}: {}", failed.reason),
            }
        }
        times.sort();
        println!(
            "  {name}: {:.3} ms ({answer_bytes} bytes)",
            times[times.len() / 2].as_secs_f64() * 1_000.0
        );
    }
    time_statement(&model, &iban, transactions)
}

/// Every page of the statement of the newest 100,000 transactions (or all of them), asked one
/// after another as the endpoint does: median of 21 runs.
fn time_statement(model: &ReadModel, iban: &str, transactions: u32) -> anyhow::Result<()> {
    let wanted = transactions.min(100_000);
    let last = transactions.saturating_sub(1);
    let first = StatementQuery {
        id: Id::random(),
        iban: iban.to_string(),
        since: instant_of(transactions - wanted),
        until: instant_of(last) + 1,
        before: None,
        max_items: 10_000,
    };
    let mut times = Vec::new();
    let (mut pages, mut bytes, mut listed) = (0, 0, 0);
    for _ in 0..21 {
        let started = Instant::now();
        let mut query = first.clone();
        (pages, bytes, listed) = (0, 0, 0);
        loop {
            let page = match answer(model, &BankQuery::from(query.clone())) {
                QueryAnswer::Succeeded(succeeded) => succeeded.query_result,
                QueryAnswer::Failed(failed) => bail!("StatementQuery: {}", failed.reason),
            };
            pages += 1;
            bytes += page.len();
            let page: StatementPage = serde_json::from_str(&page)?;
            listed += page.transactions.len();
            match page.next_before {
                Some(before) => query.before = Some(before),
                None => break,
            }
        }
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "  StatementQuery, every page of the newest {wanted} transactions: {:.1} ms \
         ({listed} transactions in {pages} pages, {bytes} bytes)",
        times[times.len() / 2].as_secs_f64() * 1_000.0
    );
    Ok(())
}

/// Median time of `AllBankAccountsQuery` answers (query → JSON text) on `model`.
pub(crate) fn time_account_queries(model: &ReadModel, username: &str) {
    let accounts = i32::try_from(model.account_count()).unwrap_or(i32::MAX);
    let cases: [(&str, i32, i32, Option<&str>); 7] = [
        ("first page of 10, no search", 0, 10, None),
        (
            "last page of 10, no search",
            accounts.saturating_sub(10),
            10,
            None,
        ),
        (
            "1,000 from the middle, no search",
            accounts / 2,
            1_000,
            None,
        ),
        ("search one username", 0, 10, Some(username)),
        (
            "search an IBAN part (`open 0000 01`)",
            0,
            10,
            Some("open 0000 01"),
        ),
        (
            "search matching every account, page 1",
            0,
            10,
            Some("BENCH"),
        ),
        ("search matching nothing", 0, 10, Some("nobody-at-all")),
    ];
    println!("AllBankAccountsQuery over {accounts} accounts, median of 21 runs:");
    for (name, offset, max_items, search) in cases {
        let query: BankQuery = AllBankAccountsQuery {
            id: Id::random(),
            offset,
            max_items,
            search: search.map(str::to_string),
        }
        .into();
        let mut times = Vec::new();
        let mut answer_text = String::new();
        for _ in 0..21 {
            let started = Instant::now();
            let result = answer(model, &query);
            times.push(started.elapsed());
            if let QueryAnswer::Succeeded(succeeded) = result {
                answer_text = succeeded.query_result;
            }
        }
        times.sort();
        let total = serde_json::from_str::<serde_json::Value>(&answer_text)
            .ok()
            .and_then(|v| v["total"].as_u64());
        println!(
            "  {name}: {:.3} ms (total {}, {} bytes)",
            times[times.len() / 2].as_secs_f64() * 1_000.0,
            total.map_or_else(|| "?".to_string(), |t| t.to_string()),
            answer_text.len()
        );
    }
}
