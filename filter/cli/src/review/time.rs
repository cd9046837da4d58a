//! Times in access logs: RFC 3339 (`%START_TIME%`: `2026-12-02T05:02:11.482Z`) to Unix seconds and
//! back, and the `--since`/`--until` forms (a timestamp, or a duration ago: `90m`, `24h`, `7d`).

/// Seconds since the Unix epoch of an RFC 3339 timestamp (`Z` or `±hh:mm`; fractions dropped;
/// a space for `T` accepted), or `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 {
        return None;
    }
    let digits = |from: usize, to: usize| -> Option<i64> {
        let part = text.get(from..to)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| bytes.get(i) != Some(&c))
        || !matches!(bytes.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 7)?, digits(8, 10)?);
    let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = text.get(19..)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if end == 0 {
            return None;
        }
        rest = fraction.get(end..)?;
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes().get(3) != Some(&b':') {
                return None;
            }
            let hours: i64 = rest.get(1..3)?.parse().ok()?;
            let minutes: i64 = rest.get(4..6)?.parse().ok()?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// `2026-12-02T05:02:11Z` for Unix seconds.
pub fn format_rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let in_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

/// `--since`/`--until`: an RFC 3339 timestamp, or a duration before `now` (`30s`, `90m`, `24h`,
/// `7d`).
pub fn parse_bound(text: &str, now: i64) -> Result<i64, String> {
    if let Some(at) = parse_rfc3339(text) {
        return Ok(at);
    }
    let unit = text.chars().last().unwrap_or(' ');
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => 0,
    };
    let amount = text
        .get(..text.len().saturating_sub(1))
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0);
    match (scale, amount) {
        (1.., Some(amount)) => Ok(now - amount.saturating_mul(scale)),
        _ => Err(format!(
            "`{text}` is neither an RFC 3339 time (2026-12-02T05:00:00Z) nor a duration ago (30m, 24h, 7d)"
        )),
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn envoy_start_times_parse() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-12-02T05:02:11.482Z"),
            Some(1_796_187_731)
        );
        assert_eq!(
            parse_rfc3339("2026-12-02T06:02:11+01:00"),
            Some(1_796_187_731)
        );
        assert_eq!(parse_rfc3339("2026-12-02 05:02:11Z"), Some(1_796_187_731));
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Some(1_709_164_800));
    }

    #[test]
    fn non_times_are_refused() {
        for text in [
            "",
            "-",
            "2026-13-02T05:02:11Z",
            "2025-02-29T00:00:00Z",
            "2026-12-02T05:02:11",
            "2026-12-02T05:02:11.Z",
            "2026-12-02T25:02:11Z",
            "2026-12-02T05:02:11+0100",
            "2026/12/02T05:02:11Z",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for seconds in [0, 1_796_187_731, 951_782_400, -86_400] {
            assert_eq!(parse_rfc3339(&format_rfc3339(seconds)), Some(seconds));
        }
        assert_eq!(format_rfc3339(1_796_187_731), "2026-12-02T05:02:11Z");
    }

    #[test]
    fn bounds_are_times_or_durations_ago() {
        let now = 1_000_000;
        assert_eq!(parse_bound("24h", now), Ok(now - 86_400));
        assert_eq!(parse_bound("90m", now), Ok(now - 5400));
        assert_eq!(parse_bound("7d", now), Ok(now - 7 * 86_400));
        assert_eq!(parse_bound("1970-01-01T00:00:10Z", now), Ok(10));
        assert!(parse_bound("yesterday", now).is_err());
        assert!(parse_bound("-5m", now).is_err());
    }
}
