//! The README's reason table is the code's: every `Reason` is listed once with the status the
//! filter answers, and the cardinality sentence counts them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use workload_authz_core::{render_denial, Decision, Mode, Reason};

fn readme() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `code → status` from the rows of the table under "Reason codes".
fn documented_reasons(text: &str) -> BTreeMap<String, String> {
    let table = text
        .split_once("| reason | status | meaning |")
        .map(|(_, rest)| rest)
        .expect("the README has the reason table");
    let mut rows = BTreeMap::new();
    for line in table.lines().skip(2) {
        let Some(row) = line.strip_prefix("| ") else {
            break;
        };
        let cells: Vec<&str> = row.split(" | ").collect();
        for code in cells[0].split(", ") {
            let code = code.trim_matches('`').to_string();
            assert!(
                rows.insert(code.clone(), cells[1].to_string()).is_none(),
                "`{code}` listed twice"
            );
        }
    }
    rows
}

#[test]
fn every_reason_is_documented_with_its_status() {
    let text = readme();
    let rows = documented_reasons(&text);
    for reason in Reason::ALL {
        let status = rows
            .get(reason.as_str())
            .unwrap_or_else(|| panic!("`{reason}` is missing from the README's reason table"));
        let expected = render_denial(&Decision::new(reason, Mode::Enforce), "r")
            .map_or("-".to_string(), |answer| answer.status.to_string());
        assert_eq!(status, &expected, "status of `{reason}`");
    }
    assert_eq!(
        rows.len(),
        Reason::ALL.len(),
        "the table lists unknown codes: {rows:?}"
    );
    let cardinality = format!("5 decisions x {} reasons", Reason::ALL.len());
    assert!(
        text.contains(&cardinality),
        "the README should say `{cardinality}`"
    );
}
