//! Text for the page: HTML escaping (every string of the report comes from untrusted logs),
//! numbers with thousands separators, durations, and RFC 3339 timestamps.

/// `s` escaped for HTML text and for a double- or single-quoted attribute value.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `n` with thousands separators: 1234567 is "1,234,567".
pub(super) fn num(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `part` as a percentage of `whole` with one decimal ("12.5%"), "0%" of nothing.
pub(super) fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0%".into();
    }
    let tenths = (u128::from(part) * 1000 + u128::from(whole) / 2) / u128::from(whole);
    format!("{}.{}%", tenths / 10, tenths % 10)
}

/// A duration for people: "45 s", "15 min", "1 h 30 min", "2 d".
pub(super) fn duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "min"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .take(2)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if parts.is_empty() {
        "0 s".into()
    } else {
        parts.join(" ")
    }
}

/// Seconds since 1970 of an RFC 3339 timestamp ("2026-12-02T05:02:11Z", a fraction and a
/// numeric offset accepted), `None` for anything else.
pub(super) fn epoch(ts: &str) -> Option<i64> {
    let b = ts.as_bytes();
    let n = |from: usize, len: usize| -> Option<i64> {
        let digits = ts.get(from..from + len)?;
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let sep_ok = b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && b.get(13) == Some(&b':')
        && b.get(16) == Some(&b':');
    if !sep_ok {
        return None;
    }
    let (year, month, day) = (n(0, 4)?, n(5, 2)?, n(8, 2)?);
    let (hour, minute, second) = (n(11, 2)?, n(14, 2)?, n(17, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let offset = zone_offset(ts.get(19..)?)?;
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second.min(60) - offset)
}

/// The offset in seconds of the tail after the seconds: optional fraction, then `Z` or ±hh:mm.
fn zone_offset(tail: &str) -> Option<i64> {
    let tail = match tail.strip_prefix('.') {
        Some(rest) => rest.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => tail,
    };
    if tail.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match tail.get(..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let (h, m) = (tail.get(1..3)?, tail.get(4..6)?);
    if tail.len() != 6 || tail.get(3..4)? != ":" {
        return None;
    }
    Some(sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date and time of `epoch` seconds, "2026-12-02 05:02" (UTC, minutes).
pub(super) fn minute_of(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// A timestamp for people: "2026-12-02 05:02:11 UTC" for the report's UTC form, else as is.
pub(super) fn when(ts: &str) -> String {
    match ts.strip_suffix('Z') {
        Some(rest) if ts.len() == 20 && ts.get(10..11) == Some("T") => {
            format!("{} UTC", rest.replacen('T', " ", 1))
        }
        _ => ts.to_string(),
    }
}

/// `s` cut to `max` characters with an ellipsis in the middle (SVG text cannot wrap).
pub(super) fn middle_cut(s: &str, max: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= max || max < 5 {
        return s.to_string();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    let start: String = chars.iter().take(head).collect();
    let end: String = chars.iter().skip(chars.len() - tail).collect();
    format!("{start}…{end}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(num(0), "0");
        assert_eq!(num(999), "999");
        assert_eq!(num(1000), "1,000");
        assert_eq!(num(1_234_567), "1,234,567");
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(5, 0), "0%");
        assert_eq!(duration(900), "15 min");
        assert_eq!(duration(86_400), "1 d");
        assert_eq!(duration(5400), "1 h 30 min");
        assert_eq!(duration(0), "0 s");
    }

    #[test]
    fn timestamps_round_trip() {
        let t = epoch("2026-12-02T05:02:11Z");
        assert_eq!(t, Some(1_796_187_731));
        assert_eq!(epoch("2026-12-02T06:02:11.250+01:00"), t);
        assert_eq!(minute_of(1_796_187_731), "2026-12-02 05:02");
        assert_eq!(minute_of(0), "1970-01-01 00:00");
        for bad in [
            "",
            "yesterday",
            "2026-13-02T05:02:11Z",
            "2026-12-02T05:02:11",
            "2026-12-02T05:02:11+1",
        ] {
            assert_eq!(epoch(bad), None, "{bad}");
        }
        assert_eq!(when("2026-12-02T05:02:11Z"), "2026-12-02 05:02:11 UTC");
        assert_eq!(when("soon"), "soon");
    }

    #[test]
    fn middle_cut_keeps_both_ends() {
        let s = "spiffe://prod.example/ns/shop/sa/checkout";
        assert_eq!(middle_cut(s, 100), s);
        let cut = middle_cut(s, 21);
        assert_eq!(cut.chars().count(), 21);
        assert!(
            cut.starts_with("spiffe://p") && cut.ends_with("checkout"),
            "{cut}"
        );
    }
}
