//! Read your own writes across endpoint replicas (see `topology::consistency`).
//!
//! Every command's answer names the event positions it caused. While one HTTP request runs,
//! those positions are gathered in the request's scope, and every query the request sends
//! after them asks the projector to answer only once it has applied them. The request's answer
//! hands the gathered positions to the client as `extensions.consistency`; the client sends them
//! back in the [`HEADER`] of its next requests, to this replica or any other, so its reads see
//! its writes. Like the trace context, the scope follows the request's task: resolvers need no
//! parameter for it, and work outside a request (the WebSocket, start-up) has none.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use topology::consistency::Positions;

/// The request header a client sends its last token in.
pub const HEADER: &str = "open-bank-consistency";
/// The key of the token in an answer's `extensions`.
pub const EXTENSION: &str = "consistency";

tokio::task_local! {
    static SCOPE: Arc<Mutex<Positions>>;
}

/// Runs `request` in a scope that starts with the client's `known` positions; answers its
/// output and every position known at its end.
pub async fn scope<F: Future>(known: Positions, request: F) -> (F::Output, Positions) {
    let positions = Arc::new(Mutex::new(known));
    let output = SCOPE.scope(Arc::clone(&positions), request).await;
    let positions = positions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    (output, positions)
}

/// A command of this request caused `written`: later reads must see it.
pub fn caused(written: &Positions) {
    if written.is_empty() {
        return;
    }
    // Outside a request nobody reads after it.
    let _ = SCOPE.try_with(|positions| {
        positions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .merge(written);
    });
}

/// What a query of this request must be answered after; empty outside a request.
pub fn read_after() -> Positions {
    SCOPE
        .try_with(|positions| {
            positions
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_reads_after_what_it_knew_and_what_it_caused() {
        let known = Positions::parse("bank_events:1:5").unwrap();
        let ((), positions) = scope(known, async {
            assert_eq!(read_after().to_string(), "bank_events:1:5");
            caused(&Positions::parse("bank_events:2:9,bank_events:1:3").unwrap());
            assert_eq!(read_after().to_string(), "bank_events:1:5,bank_events:2:9");
        })
        .await;
        assert_eq!(positions.to_string(), "bank_events:1:5,bank_events:2:9");
    }

    #[tokio::test]
    async fn outside_a_request_nothing_is_kept() {
        caused(&Positions::parse("bank_events:2:9").unwrap());
        assert!(read_after().is_empty());
    }
}
