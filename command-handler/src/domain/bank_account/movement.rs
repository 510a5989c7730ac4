//! A money movement of a transfer on one account, as bookings are kept and stored.

use topology::{BankEvent, Id};

/// One money movement of one transfer; with the transfer id it identifies a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Movement {
    Debit,
    Credit,
    Return,
}

impl Movement {
    /// The movement a money event books, with its transfer and account.
    pub fn booked_by(event: &BankEvent) -> Option<(Id, &str, Movement)> {
        match event {
            BankEvent::MoneyDebitedEvent(e) => Some((e.id, e.iban.as_str(), Movement::Debit)),
            BankEvent::MoneyCreditedEvent(e) => Some((e.id, e.iban.as_str(), Movement::Credit)),
            BankEvent::MoneyReturnedEvent(e) => Some((e.id, e.iban.as_str(), Movement::Return)),
            _ => None,
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Movement::Debit => 0,
            Movement::Credit => 1,
            Movement::Return => 2,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Movement::Debit),
            1 => Some(Movement::Credit),
            2 => Some(Movement::Return),
            _ => None,
        }
    }
}
