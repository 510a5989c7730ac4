//! The filters of `stream_transactions`, all optional; pure so they are unit-tested.

use super::types::{Direction, Transaction};

#[derive(Debug, Clone, Default)]
pub struct TransactionFilter {
    pub iban: Option<String>,
    /// Inclusive bounds on the amount in cents, without sign.
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
    pub direction: Option<Direction>,
    /// Lower-cased once, compared against the lower-cased description.
    pub descr_includes: Option<String>,
}

impl TransactionFilter {
    pub fn new(
        iban: Option<String>,
        min_amount: Option<i64>,
        max_amount: Option<i64>,
        direction: Option<Direction>,
        descr_includes: Option<String>,
    ) -> Self {
        Self {
            iban,
            min_amount,
            max_amount,
            direction,
            descr_includes: descr_includes
                .filter(|text| !text.is_empty())
                .map(|text| text.to_lowercase()),
        }
    }

    pub fn matches(&self, transaction: &Transaction) -> bool {
        self.iban
            .as_ref()
            .is_none_or(|iban| transaction.iban.as_ref() == Some(iban))
            && self
                .min_amount
                .is_none_or(|min| transaction.amount_cents >= min)
            && self
                .max_amount
                .is_none_or(|max| transaction.amount_cents <= max)
            && self
                .direction
                .is_none_or(|direction| transaction.direction == Some(direction))
            && self.descr_includes.as_ref().is_none_or(|part| {
                transaction
                    .descr
                    .as_ref()
                    .is_some_and(|descr| descr.to_lowercase().contains(part.as_str()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transaction(iban: &str, changed_by: i64, descr: &str) -> Transaction {
        Transaction::from_read(&crate::reads::Transaction {
            id: 1,
            iban: iban.into(),
            new_balance: 0,
            changed_by,
            from_to: "cash".into(),
            description: descr.into(),
            at_millis: None,
        })
    }

    #[test]
    fn no_filter_passes_everything() {
        assert!(TransactionFilter::default().matches(&transaction("A", -5, "")));
    }

    #[test]
    fn each_filter_narrows() {
        let rent = transaction("NL66OPEN0000000000", -75_000, "Rent for MAY");
        let only = |filter: TransactionFilter| filter.matches(&rent);
        assert!(only(TransactionFilter::new(
            Some("NL66OPEN0000000000".into()),
            None,
            None,
            None,
            None
        )));
        assert!(!only(TransactionFilter::new(
            Some("NL91ABNA0417164300".into()),
            None,
            None,
            None,
            None
        )));
        assert!(only(TransactionFilter::new(
            None,
            Some(75_000),
            Some(75_000),
            None,
            None
        )));
        assert!(!only(TransactionFilter::new(
            None,
            Some(75_001),
            None,
            None,
            None
        )));
        assert!(!only(TransactionFilter::new(
            None,
            None,
            Some(74_999),
            None,
            None
        )));
        assert!(only(TransactionFilter::new(
            None,
            None,
            None,
            Some(Direction::Debit),
            None
        )));
        assert!(!only(TransactionFilter::new(
            None,
            None,
            None,
            Some(Direction::Credit),
            None
        )));
        assert!(only(TransactionFilter::new(
            None,
            None,
            None,
            None,
            Some("rent for may".into())
        )));
        assert!(only(TransactionFilter::new(
            None,
            None,
            None,
            None,
            Some("MaY".into())
        )));
        assert!(!only(TransactionFilter::new(
            None,
            None,
            None,
            None,
            Some("june".into())
        )));
    }
}
