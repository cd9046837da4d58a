//! The one helper every stage records its checks through: it notes a check in the trace (for
//! `explain`) and hands its result on, so a value is derived once and never read back from the
//! trace or the decision record.

use crate::decision::{Reason, Trace};

/// The trace of one decision, as the stages see it.
pub(super) struct Checks<'t> {
    trace: &'t mut Trace,
    hint: Option<String>,
}

impl<'t> Checks<'t> {
    /// Checks recorded into `trace` (off in the filter: nothing is formatted then).
    pub(super) fn new(trace: &'t mut Trace) -> Self {
        Checks { trace, hint: None }
    }

    /// Notes what an operator needs to fix a refusal, for the decision's `hint` (the filter's
    /// debug log line): a few words, never a claim value or a token. Control characters and
    /// length are trimmed here, as parts of it (a `kid`) come from the request.
    pub(super) fn hint(&mut self, text: String) {
        let mut clean: String = text
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        if clean.len() > 200 {
            let cut = (0..=200)
                .rev()
                .find(|i| clean.is_char_boundary(*i))
                .unwrap_or(0);
            clean.truncate(cut);
        }
        self.hint = Some(clean);
    }

    /// The hint noted, if any.
    pub(super) fn take_hint(&mut self) -> Option<String> {
        self.hint.take()
    }

    /// Records `step` with its result and returns the result; `detail` runs only when tracing.
    pub(super) fn check<T>(
        &mut self,
        step: &'static str,
        result: Result<T, Reason>,
        detail: impl FnOnce() -> String,
    ) -> Result<T, Reason> {
        let outcome = result.as_ref().map(|_| ()).map_err(|reason| *reason);
        self.trace.note(step, outcome, detail);
        result
    }

    /// Records a step that passed.
    pub(super) fn pass(&mut self, step: &'static str, detail: impl FnOnce() -> String) {
        self.trace.note(step, Ok(()), detail);
    }

    /// Records a failed step and returns its reason as an error.
    pub(super) fn fail<T>(
        &mut self,
        step: &'static str,
        reason: Reason,
        detail: impl FnOnce() -> String,
    ) -> Result<T, Reason> {
        self.trace.note(step, Err(reason), detail);
        Err(reason)
    }

    /// Whether the trace records anything (`explain`).
    pub(super) fn tracing(&self) -> bool {
        self.trace.is_on()
    }
}

/// `Ok(())` when `ok`, else `Err(reason)`.
pub(super) fn pass_if(ok: bool, reason: Reason) -> Result<(), Reason> {
    if ok {
        Ok(())
    } else {
        Err(reason)
    }
}
