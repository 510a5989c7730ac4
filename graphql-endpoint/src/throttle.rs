//! Login throttling: every check of a password (`login`, `get_account` of a known user,
//! `open_account` / `my_accounts` with a password, `employee_login`, `change_password`) first
//! asks here, per username and per client address.
//!
//! - Growing delays after failures: the first few failures of a username (or an address) cost
//!   nothing, then each further one makes the next attempt wait twice as long (1 s, 2 s, 4 s …
//!   up to 15 min). A success clears the username's count. Counts fade after a quiet hour.
//! - A steady rate per address (governor's GCRA): at most 30 attempts at once and one more
//!   every second, successes included, so one address cannot keep the password hashing busy
//!   (an office behind one address still logs in in the morning).
//!
//! A throttled attempt is answered at once, without hashing: `too many attempts, try again in
//! N s`. The state is per endpoint replica (in memory): an attacker spreading guesses over N
//! replicas gets N times the attempts, still with growing delays on each.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use topology::reasons::Refusal;

/// Failures without delay: a user mistyping a few times is not slowed down.
const FREE_FAILURES_PER_USER: u32 = 3;
/// An address may be shared (an office, a mobile network): more before it is slowed down.
const FREE_FAILURES_PER_ADDRESS: u32 = 10;
const FIRST_DELAY: Duration = Duration::from_secs(1);
const LONGEST_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
const FADE_AFTER: Duration = Duration::from_secs(3600);
/// Burst and refill of attempts per address.
const ADDRESS_BURST: u32 = 30;
const ADDRESS_REFILL: Duration = Duration::from_secs(1);
/// How many keys may be tracked before the old ones are swept (bounds memory under a flood of
/// usernames or addresses).
const SWEEP_ABOVE: usize = 100_000;

/// Failures of one key, and until when it must wait.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    failures: u32,
    last_failure: Instant,
    blocked_until: Instant,
}

impl Backoff {
    fn wait(&self, now: Instant) -> Option<Duration> {
        (self.blocked_until > now).then(|| self.blocked_until - now)
    }

    fn failed(&mut self, now: Instant, free: u32) {
        if now.duration_since(self.last_failure) > FADE_AFTER {
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        self.last_failure = now;
        if self.failures > free {
            let doublings = (self.failures - free - 1).min(20);
            let delay = FIRST_DELAY
                .saturating_mul(1 << doublings)
                .min(LONGEST_DELAY);
            self.blocked_until = now + delay;
        }
    }
}

fn fresh(now: Instant) -> Backoff {
    Backoff {
        failures: 0,
        last_failure: now,
        blocked_until: now,
    }
}

pub struct LoginThrottle {
    users: DashMap<String, Backoff>,
    addresses: DashMap<IpAddr, Backoff>,
    rate: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new()
    }
}

/// Refused: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled(pub Duration);

impl Throttled {
    /// The reason the caller reads, in whole seconds (at least 1).
    pub fn reason(&self) -> String {
        let seconds = self.0.as_secs_f64().ceil().max(1.0);
        Refusal::TooManyAttempts.filled(&[("seconds", &seconds.to_string())])
    }
}

impl LoginThrottle {
    pub fn new() -> Self {
        let refill = Quota::with_period(ADDRESS_REFILL)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(ADDRESS_BURST).unwrap_or(NonZeroU32::MIN));
        Self {
            users: DashMap::new(),
            addresses: DashMap::new(),
            rate: RateLimiter::keyed(refill),
        }
    }

    /// May `username` from `address` try a password now? Counts the attempt against the
    /// address's rate.
    pub fn attempt(&self, username: &str, address: Option<IpAddr>) -> Result<(), Throttled> {
        let now = Instant::now();
        let waits = [
            self.users.get(username).and_then(|b| b.wait(now)),
            address.and_then(|a| self.addresses.get(&a).and_then(|b| b.wait(now))),
        ];
        if let Some(longest) = waits.into_iter().flatten().max() {
            return Err(Throttled(longest));
        }
        if let Some(address) = address {
            if let Err(not_until) = self.rate.check_key(&address) {
                return Err(Throttled(
                    not_until.wait_time_from(DefaultClock::default().now()),
                ));
            }
        }
        Ok(())
    }

    pub fn failed(&self, username: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        self.sweep(now);
        self.users
            .entry(username.to_string())
            .or_insert_with(|| fresh(now))
            .failed(now, FREE_FAILURES_PER_USER);
        if let Some(address) = address {
            self.addresses
                .entry(address)
                .or_insert_with(|| fresh(now))
                .failed(now, FREE_FAILURES_PER_ADDRESS);
        }
    }

    /// The right password: the username's failures are forgiven (the address's are not: one
    /// known account must not unlock guessing at others).
    pub fn succeeded(&self, username: &str) {
        self.users.remove(username);
    }

    fn sweep(&self, now: Instant) {
        if self.users.len() + self.addresses.len() <= SWEEP_ABOVE {
            return;
        }
        let quiet = |backoff: &Backoff| {
            backoff.blocked_until > now || now.duration_since(backoff.last_failure) < FADE_AFTER
        };
        self.users.retain(|_, backoff| quiet(backoff));
        self.addresses.retain(|_, backoff| quiet(backoff));
        self.rate.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));
    const OTHER: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)));

    #[test]
    fn delays_grow_after_the_free_failures_of_a_username() {
        let mut backoff = fresh(Instant::now());
        let now = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..7 {
            backoff.failed(now, FREE_FAILURES_PER_USER);
            waits.push(backoff.wait(now).map_or(0, |wait| wait.as_secs()));
        }
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8]);
        for _ in 0..30 {
            backoff.failed(now, FREE_FAILURES_PER_USER);
        }
        assert_eq!(backoff.wait(now), Some(LONGEST_DELAY));
    }

    #[test]
    fn a_username_under_attack_is_slowed_from_every_address() {
        let throttle = LoginThrottle::new();
        for _ in 0..4 {
            assert!(throttle.attempt("alice-owner", OTHER).is_ok());
            throttle.failed("alice-owner", OTHER);
        }
        let refused = throttle
            .attempt("alice-owner", HOME)
            .expect_err("throttled");
        assert_eq!(refused.reason(), "too many attempts, try again in 1 s");
        assert!(
            throttle.attempt("bob-the-owner", HOME).is_ok(),
            "others are not"
        );
    }

    #[test]
    fn an_address_guessing_many_usernames_is_slowed() {
        let throttle = LoginThrottle::new();
        let mut refused = 0;
        for n in 0..40 {
            let user = format!("user-{n}");
            match throttle.attempt(&user, OTHER) {
                Ok(()) => throttle.failed(&user, OTHER),
                Err(_) => refused += 1,
            }
        }
        assert!(refused >= 25, "{refused} of 40 refused");
        assert!(
            throttle.attempt("user-0", HOME).is_ok(),
            "another address is not slowed"
        );
    }

    #[test]
    fn a_success_forgives_the_username() {
        let throttle = LoginThrottle::new();
        for _ in 0..4 {
            throttle.failed("carol-owner", None);
        }
        assert!(throttle.attempt("carol-owner", None).is_err());
        throttle.succeeded("carol-owner");
        assert!(throttle.attempt("carol-owner", None).is_ok());
    }

    #[test]
    fn the_reason_rounds_up_to_whole_seconds() {
        assert_eq!(
            Throttled(Duration::from_millis(1_200)).reason(),
            "too many attempts, try again in 2 s"
        );
        assert_eq!(
            Throttled(Duration::from_millis(10)).reason(),
            "too many attempts, try again in 1 s"
        );
    }
}
