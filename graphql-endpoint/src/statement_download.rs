//! `GET /graphql/statement?iban=…&from=…&to=…&format=csv|camt053`: an account's statement as a file,
//! for the web app's download buttons and for anyone with a session (`curl -H "Authorization:
//! Bearer <session>"`).
//!
//! A file, not a GraphQL field: a year of a busy account is 100,000 transactions, tens of
//! megabytes of camt.053, far beyond what one GraphQL answer may be. The file is written as it
//! is sent, [`crate::statements::CHUNK_LINES`] lines at a time on a blocking thread, so memory
//! holds the statement and a few chunks, never the whole file.
//!
//! Who may: the same as `statement` in GraphQL, an owner of the account or an employee. At most
//! [`AT_ONCE`] statements are read and written at a time per endpoint; a request that finds no
//! turn within [`TURN_WAIT`] is told to come back (`503 BUSY`). Errors are GraphQL-shaped JSON
//! (`{"errors": [{"message", "extensions": {"code"}}]}`) with the HTTP status that fits.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::Semaphore;
use topology::reasons::Refusal;

use crate::bank::Bank;
use crate::bus::BusError;
use crate::reads::ReadError;
use crate::sessions::{Bearer, Role, SessionError, Sessions};
use crate::statements::{camt053, csv, Statement, StatementError};
use crate::{instants, validation};

/// Statements read and written at once: each holds up to 200,000 transactions in memory.
pub const AT_ONCE: usize = 2;
/// How long a request waits for its turn before `503 BUSY`.
pub const TURN_WAIT: Duration = Duration::from_secs(10);
/// Chunks written ahead of the connection.
const CHUNKS_AHEAD: usize = 4;

#[derive(Clone)]
pub struct Downloads {
    bank: Arc<Bank>,
    sessions: Arc<Sessions>,
    turns: Arc<Semaphore>,
}

impl Downloads {
    pub fn new(bank: Arc<Bank>, sessions: Arc<Sessions>) -> Self {
        Self {
            bank,
            sessions,
            turns: Arc::new(Semaphore::new(AT_ONCE)),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Params {
    iban: String,
    from: String,
    to: String,
    format: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Camt053,
}

impl Format {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "csv" => Some(Self::Csv),
            "camt053" => Some(Self::Camt053),
            _ => None,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Camt053 => "application/xml; charset=utf-8",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Camt053 => "xml",
        }
    }
}

fn refused(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    crate::server::refusal(status, code, message.into())
}

pub async fn statement(
    State(downloads): State<Downloads>,
    headers: HeaderMap,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return refused(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "give iban, from, to (RFC 3339) and format (csv or camt053)",
        );
    };
    let Some(format) = Format::parse(&params.format) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "format should be csv or camt053",
        );
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let claims = match downloads
        .sessions
        .verify(&Bearer::from_authorization(authorization))
    {
        Ok(claims) => claims,
        Err(error) => {
            let message = if error == SessionError::Missing {
                Refusal::LoginRequired.text().to_string()
            } else {
                error.to_string()
            };
            return refused(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message);
        }
    };
    let period = instants::parse("from", &params.from)
        .and_then(|since| Ok((since, instants::parse("to", &params.to)?)))
        .and_then(|(since, until)| validation::statement(since, until).map(|()| (since, until)));
    let (since, until) = match period {
        Ok(period) => period,
        Err(invalid) => return refused(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", invalid.0),
    };
    let bank = &downloads.bank;
    if claims.role != Role::Employee {
        match bank
            .rights
            .owns(&bank.queries, &claims.sub, &params.iban)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                let reason = Refusal::UserIsNoOwnerOfBankAccount.text();
                return refused(StatusCode::FORBIDDEN, "FORBIDDEN", reason);
            }
            Err(error) => return read_failed(&StatementError::Read(error)),
        }
    }
    let Ok(Ok(turn)) =
        tokio::time::timeout(TURN_WAIT, Arc::clone(&downloads.turns).acquire_owned()).await
    else {
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "BUSY",
            "too many statements are being written: try again in a moment",
        );
    };
    let statement = match Statement::read(&bank.queries, &params.iban, since, until).await {
        Ok(statement) => statement,
        Err(error) => return read_failed(&error),
    };
    let name = file_name(&statement, format);
    let (sender, receiver) =
        tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(CHUNKS_AHEAD);
    tokio::task::spawn_blocking(move || {
        let send = |chunk: Result<Vec<u8>, std::io::Error>| {
            sender.blocking_send(chunk.map(Bytes::from)).is_ok()
        };
        match format {
            Format::Csv => {
                for chunk in csv::chunks(&statement) {
                    if !send(chunk.map_err(std::io::Error::other)) {
                        break;
                    }
                }
            }
            Format::Camt053 => {
                for chunk in camt053::chunks(&statement, instants::now_millis()) {
                    if !send(chunk) {
                        break;
                    }
                }
            }
        }
        drop(turn);
    });
    let mut response =
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(receiver)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// `statement-NL66OPEN0000000000-20261101.csv`: the account and the first day of the period,
/// nothing else a file name could trip on.
fn file_name(statement: &Statement, format: Format) -> String {
    let iban: String = statement
        .iban
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let day: String = instants::format(statement.since)
        .chars()
        .take(10)
        .filter(char::is_ascii_digit)
        .collect();
    format!("statement-{iban}-{day}.{}", format.extension())
}

fn read_failed(error: &StatementError) -> Response {
    let (status, code) = match error {
        StatementError::Read(ReadError::Bus(BusError::Timeout(_))) => {
            (StatusCode::GATEWAY_TIMEOUT, "TIMEOUT")
        }
        StatementError::Read(ReadError::Refused(_)) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
        StatementError::TooLong => (StatusCode::BAD_REQUEST, "BAD_USER_INPUT"),
        StatementError::Read(_) | StatementError::DoesNotReconcile { .. } => {
            tracing::error!(%error, "a statement could not be read");
            (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL")
        }
    };
    refused(status, code, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statements::tests::long_statement;

    #[test]
    fn formats_are_named_exactly() {
        assert_eq!(Format::parse("csv"), Some(Format::Csv));
        assert_eq!(Format::parse("camt053"), Some(Format::Camt053));
        for other in ["CSV", "xml", "camt.053", ""] {
            assert_eq!(Format::parse(other), None, "{other}");
        }
    }

    #[test]
    fn file_names_hold_the_account_and_the_first_day() {
        let statement = long_statement(0);
        assert_eq!(
            file_name(&statement, Format::Camt053),
            "statement-NL66OPEN0000000000-20261101.xml"
        );
    }
}
