//! An optional trace of every check a decision ran, for `workload-authz explain`. Off in the
//! filter: nothing is formatted or stored unless it is on.

use super::Reason;

/// One check and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What was checked (`path`, `route`, `token`, `signature`, `scopes`...).
    pub check: &'static str,
    /// `None` when it passed, else the reason it failed.
    pub failed: Option<Reason>,
    /// What was seen, in words (never a token or signature).
    pub detail: String,
}

/// Collects steps when enabled.
#[derive(Debug, Default)]
pub struct Trace {
    enabled: bool,
    steps: Vec<Step>,
}

impl Trace {
    /// A trace that records nothing (the filter's).
    pub fn off() -> Self {
        Trace::default()
    }

    /// A trace that records every step.
    pub fn on() -> Self {
        Trace {
            enabled: true,
            steps: Vec::new(),
        }
    }

    /// Whether steps are recorded.
    pub fn is_on(&self) -> bool {
        cfg!(feature = "explain") && self.enabled
    }

    /// Records one check; `detail` runs only when the trace is on (and never without the
    /// `explain` feature: the filter's build, where the closures are then dead code).
    pub fn note(
        &mut self,
        check: &'static str,
        result: Result<(), Reason>,
        detail: impl FnOnce() -> String,
    ) {
        if self.is_on() {
            self.steps.push(Step {
                check,
                failed: result.err(),
                detail: detail(),
            });
        }
    }

    /// The steps recorded.
    pub fn into_steps(self) -> Vec<Step> {
        self.steps
    }
}
