//! The release's entry in `CHANGELOG.md`: a `## [VERSION] - DATE` section whose artefact block
//! (between `<!-- artefacts -->` and `<!-- /artefacts -->`) `make dist` writes. The notes
//! people write in the section are kept as they are.

const OPEN: &str = "<!-- artefacts -->";
const CLOSE: &str = "<!-- /artefacts -->";

/// Returns `text` with the section of `version` present and its artefact block set to `block`
/// (without markers). A new section is dated `date` and goes above the previous releases.
pub fn update(text: &str, version: &str, date: &str, block: &str) -> String {
    let heading = format!("## [{version}]");
    let fenced = format!("{OPEN}\n{}\n{CLOSE}", block.trim_end());
    let mut text = text.to_string();
    if !text.lines().any(|l| l.starts_with(&heading)) {
        let section = format!("{heading} - {date}\n\n{fenced}\n\n");
        match text.find("\n## [") {
            Some(i) => text.insert_str(i + 1, &section),
            None => {
                if !text.ends_with('\n') && !text.is_empty() {
                    text.push('\n');
                }
                text.push('\n');
                text.push_str(&section);
            }
        }
        return text;
    }
    let start = text.find(&heading).unwrap_or(0);
    let end = text
        .get(start + heading.len()..)
        .and_then(|rest| rest.find("\n## "))
        .map_or(text.len(), |i| start + heading.len() + i + 1);
    let section = text.get(start..end).unwrap_or_default().to_string();
    let new_section = match (section.find(OPEN), section.find(CLOSE)) {
        (Some(a), Some(b)) if a < b => format!(
            "{}{fenced}{}",
            section.get(..a).unwrap_or_default(),
            section.get(b + CLOSE.len()..).unwrap_or_default()
        ),
        _ => format!("{}\n\n{fenced}\n\n", section.trim_end()),
    };
    text.replace_range(start..end, &new_section);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_updates_the_block_only() {
        let base = "# Changelog\n\nIntro.\n\n## [0.0.9] - 2020-01-01\n\n- old\n";
        let once = update(base, "0.1.0", "2021-02-03", "A");
        assert!(once.contains("## [0.1.0] - 2021-02-03\n\n<!-- artefacts -->\nA\n<!-- /artefacts -->\n\n## [0.0.9]"), "{once}");
        let notes = once.replace(
            "## [0.1.0] - 2021-02-03\n\n",
            "## [0.1.0] - 2021-02-03\n\n- notes\n\n",
        );
        let twice = update(&notes, "0.1.0", "2030-01-01", "B");
        assert!(twice.contains("## [0.1.0] - 2021-02-03\n\n- notes\n\n<!-- artefacts -->\nB\n<!-- /artefacts -->\n\n## [0.0.9]"), "{twice}");
        assert_eq!(update(&twice, "0.1.0", "2030-01-01", "B"), twice);
        let no_block = "# C\n\n## [0.1.0] - 2021-02-03\n\n- notes\n";
        let added = update(no_block, "0.1.0", "x", "C");
        assert!(
            added.ends_with("- notes\n\n<!-- artefacts -->\nC\n<!-- /artefacts -->\n\n"),
            "{added}"
        );
    }
}
