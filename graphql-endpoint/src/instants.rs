//! Instants on the GraphQL side are RFC 3339 strings; on Kafka they are milliseconds since the
//! Unix epoch, as Kafka keeps record timestamps.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::validation::InvalidInput;

/// The milliseconds of RFC 3339 `text` (any offset; `Z` for UTC), or why `field` is refused.
pub fn parse(field: &str, text: &str) -> Result<i64, InvalidInput> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|instant| instant.timestamp_millis())
        .map_err(|error| {
            InvalidInput(format!(
                "{field} is not an RFC 3339 instant like 2026-11-30T08:00:00Z: {error}"
            ))
        })
}

/// Now, in milliseconds since the epoch.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// `millis` as RFC 3339 in UTC with milliseconds, e.g. `2026-11-30T08:00:00.000Z`.
pub fn format(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis).map_or_else(
        // Beyond chrono's range (±262,000 years): say so rather than show a wrong date.
        || format!("{millis} ms since 1970-01-01T00:00:00Z"),
        |instant| instant.to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_and_offsets_parse_to_the_same_instant() {
        assert_eq!(parse("at", "1970-01-01T00:00:01Z"), Ok(1_000));
        assert_eq!(parse("at", "1970-01-01T01:00:01.5+01:00"), Ok(1_500));
        assert_eq!(parse("at", " 2026-11-30T08:00:00Z "), Ok(1_796_025_600_000));
    }

    #[test]
    fn malformed_instants_say_what_is_expected() {
        for bad in [
            "",
            "yesterday",
            "2026-11-30",
            "2026-13-01T00:00:00Z",
            "1764489600000",
        ] {
            let error = parse("at", bad).expect_err(bad);
            assert!(
                error.0.starts_with("at is not an RFC 3339 instant"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn instants_format_in_utc_with_milliseconds_and_round_trip() {
        assert_eq!(format(1_796_025_600_123), "2026-11-30T08:00:00.123Z");
        assert_eq!(parse("at", &format(-1)), Ok(-1));
        assert!(format(i64::MAX).contains("ms since"));
    }
}
