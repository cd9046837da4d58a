//! Enforce or shadow: what a decision does with a failed check. It lives with the decision (not
//! the configuration that sets it), so `decision` depends on nothing of `config`.

/// Whether failed checks block requests or are only recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Denials are answered.
    #[default]
    Enforce,
    /// Every check runs and is recorded, but the request goes on.
    Shadow,
}

impl Mode {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Shadow => "shadow",
        }
    }
}
