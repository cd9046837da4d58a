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
/// numeric offset accepted), `None` for anything else: the review's own parser.
pub(super) fn epoch(ts: &str) -> Option<i64> {
    crate::review::time::parse_rfc3339(ts)
}

/// The date and time of `epoch` seconds, "2026-12-02 05:02" (UTC, minutes).
pub(super) fn minute_of(epoch: i64) -> String {
    let full = crate::review::time::format_rfc3339(epoch);
    full.get(..16).unwrap_or(&full).replacen('T', " ", 1)
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
