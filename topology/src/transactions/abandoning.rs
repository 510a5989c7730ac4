//! Blocking transactional calls, each on a thread of its own, abandoned with their producer
//! when they do not return in time: some of librdkafka's never do (see [`Patience`]). The
//! process counts what it leaves blocked and stops adding producers past [`MAX_ABANDONED`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::TransactionError;

/// How much longer than [`super::CALL_TIMEOUT`] a call may take before it is abandoned with its
/// producer: `send_offsets_to_transaction` ignores its timeout and can wait forever for a group
/// coordinator on a broker that died (librdkafka #5456, #5511; seen in the broker-loss test).
pub(super) const ABANDON_AFTER: Duration = Duration::from_secs(10);
/// How long `send_offsets_to_transaction` may take, soon after trouble with a broker, before
/// its producer is abandoned. That is when it hangs: the producer still names the lost broker
/// as the group's coordinator (librdkafka #5456, #5511). Mostly it goes on once the cluster has
/// moved the coordinator: in the broker-loss test (the local cluster fences a lost broker
/// 3.2–4.2 s after its loss) two of three such calls returned 4.2 and 5.5 s after they began;
/// the third never did, since once the cluster has dropped the broker nothing makes librdkafka
/// look the coordinator up again until some other connection changes state. Nothing can go on
/// before that move anyway: a new producer needs the transaction coordinator, and the old
/// transaction's abort the new leaders of its partitions. So abandoning at 3 s, as before, only
/// added a new producer and a takeover (pauses of 6.7–7.7 s); waiting past the move keeps the
/// producer in the calls that return, and costs 3 s more in the one that never would.
const ABANDON_SEND_OFFSETS_IN_TROUBLE: Duration = Duration::from_secs(6);
/// How many abandoned producers may be blocked in their calls at once. Each holds a whole
/// librdkafka client (its threads, connections and buffers) that only the call's return frees;
/// past this, [`super::TransactionalWriter::start`] refuses to add another, so the process ends and
/// its restart frees them all, instead of a long-lived process piling them up.
pub const MAX_ABANDONED: usize = 2;
/// Abandoned producers whose call has not returned yet (see [`abandonable`]).
static ABANDONED: AtomicUsize = AtomicUsize::new(0);

/// Producers abandoned in a call that has not returned yet: each still holds its client.
pub fn abandoned_producers() -> usize {
    ABANDONED.load(Ordering::SeqCst)
}

/// Ends the process with `code` at once while abandoned producers are still blocked (see
/// [`MAX_ABANDONED`]): returning from `main` would drop the tokio runtime, which waits forever
/// for its blocking threads, so the restart that frees them would never come. Call it on the
/// way out of `main`.
pub fn exit_if_calls_are_blocked(code: i32) {
    let blocked = abandoned_producers();
    if blocked > 0 {
        tracing::error!(
            blocked,
            "abandoned producers are still blocked in their calls; exiting without waiting for them"
        );
        eprintln!("{blocked} abandoned Kafka producers still blocked; exiting with code {code}");
        std::process::exit(code);
    }
}

/// Whether the process may create another producer (see [`MAX_ABANDONED`]).
pub(super) fn room_for_another_producer() -> Result<(), TransactionError> {
    match abandoned_producers() {
        abandoned if abandoned >= MAX_ABANDONED => {
            Err(TransactionError::TooManyAbandoned(abandoned))
        }
        _ => Ok(()),
    }
}

/// Where a blocking call stands, between the thread that runs it and the one that waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallState {
    Running,
    Returned,
    Abandoned,
}

/// How long a blocking call is waited for before it is abandoned.
#[derive(Debug, Clone, Copy)]
pub(super) struct Patience {
    /// At most this long.
    usual: Duration,
    /// Only this long when trouble with a broker was heard of by then (it may come after the
    /// call began: the broker that dies is often the one the call waits for).
    in_trouble: Duration,
}

impl Patience {
    pub(super) const USUAL: Patience = Patience {
        usual: ABANDON_AFTER,
        in_trouble: ABANDON_AFTER,
    };
    pub(super) const SEND_OFFSETS: Patience = Patience {
        usual: ABANDON_AFTER,
        in_trouble: ABANDON_SEND_OFFSETS_IN_TROUBLE,
    };
}

/// Runs `work` on a blocking thread and waits for it as `patience` says: `None` when it did
/// not return by then. It is then counted in [`abandoned_producers`] until it does return
/// (which may be never), so the process knows how much it leaves behind.
pub(super) async fn abandonable<T: Send + 'static>(
    patience: Patience,
    in_trouble: impl Fn() -> bool,
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let state = Arc::new(Mutex::new(CallState::Running));
    let on_return = Arc::clone(&state);
    let began = Instant::now();
    let mut running = tokio::task::spawn_blocking(move || {
        let result = work();
        let mut state = on_return.lock().unwrap_or_else(PoisonError::into_inner);
        if *state == CallState::Abandoned {
            ABANDONED.fetch_sub(1, Ordering::SeqCst);
            // When an abandoned call comes back says what it was stuck on: the coordinator's
            // move, or the lost broker's return.
            tracing::info!(
                after = ?began.elapsed(),
                "an abandoned transactional call returned; its producer is freed"
            );
        }
        *state = CallState::Returned;
        result
    });
    let early = patience.in_trouble.min(patience.usual);
    let waited = match tokio::time::timeout(early, &mut running).await {
        Err(_waited) if !in_trouble() => {
            tokio::time::timeout(patience.usual - early, &mut running).await
        }
        waited => waited,
    };
    match waited {
        Ok(Ok(result)) => Some(result),
        // A panicking call: nothing is left running.
        Ok(Err(_panicked)) => None,
        Err(_waited) => {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            if *state == CallState::Running {
                *state = CallState::Abandoned;
                ABANDONED.fetch_add(1, Ordering::SeqCst);
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call that never returns is counted as abandoned until it does return, so a process
    /// knows how many clients it still holds, and makes no new producer while
    /// [`MAX_ABANDONED`] are blocked; a call that returns in time is never counted. (The only
    /// test of this binary that abandons calls: the count is the process's.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn abandoned_calls_are_counted_until_they_return_and_bound_new_producers() {
        assert_eq!(abandoned_producers(), 0);
        let patience = |after| Patience {
            usual: after,
            in_trouble: after,
        };
        let calm = || false;
        let quick = abandonable(patience(Duration::from_secs(5)), calm, || 7).await;
        assert_eq!((quick, abandoned_producers()), (Some(7), 0));
        assert!(room_for_another_producer().is_ok());

        let mut releases = Vec::new();
        for stuck in 1..=MAX_ABANDONED {
            let (release, blocked) = std::sync::mpsc::channel::<()>();
            releases.push(release);
            let call = abandonable(patience(Duration::from_millis(50)), calm, move || {
                blocked.recv().is_ok()
            });
            assert_eq!(call.await, None);
            assert_eq!(abandoned_producers(), stuck);
        }
        assert!(matches!(
            room_for_another_producer(),
            Err(TransactionError::TooManyAbandoned(MAX_ABANDONED))
        ));

        for release in releases {
            release.send(()).ok();
        }
        until_none_abandoned("returned calls are still counted").await;
        assert!(room_for_another_producer().is_ok());

        // Trouble with a broker, heard of while a call waits, shortens the wait; without it, a
        // call slower than the short wait is waited for.
        let patience = Patience {
            usual: Duration::from_secs(5),
            in_trouble: Duration::from_millis(50),
        };
        let slow = abandonable(patience, calm, || {
            std::thread::sleep(Duration::from_millis(200));
            8
        });
        assert_eq!(slow.await, Some(8));
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let began = Instant::now();
        let hung = abandonable(patience, || true, move || blocked.recv().is_ok());
        assert_eq!(hung.await, None);
        assert!(
            began.elapsed() < Duration::from_secs(2),
            "{:?}",
            began.elapsed()
        );
        assert_eq!(abandoned_producers(), 1);
        release.send(()).ok();
        until_none_abandoned("the returned call is still counted").await;
    }

    async fn until_none_abandoned(failure: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while abandoned_producers() > 0 {
            assert!(Instant::now() < deadline, "{failure}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
