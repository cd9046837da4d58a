//! Counters, defined once per name and VM and kept as ids. Names come from
//! `workload_authz_core::telemetry`, so cardinality is bounded by the configuration
//! (outcomes x reasons x actions, providers x results).

use crate::host;
use std::collections::HashMap;

/// The counters of one VM.
#[derive(Default)]
pub struct Metrics {
    ids: HashMap<String, u32>,
}

impl Metrics {
    /// Adds one to the counter `name`, defining it on first use. Host errors are logged, not fatal.
    pub fn increment(&mut self, name: &str) {
        let id = match self.ids.get(name) {
            Some(id) => *id,
            None => match host::define_counter(name) {
                Ok(id) => {
                    self.ids.insert(name.to_string(), id);
                    id
                }
                Err(status) => {
                    log::warn!("workload-authz: cannot define metric {name}: {status:?}");
                    return;
                }
            },
        };
        if let Err(status) = host::increment_counter(id) {
            log::warn!("workload-authz: cannot increment metric {name}: {status:?}");
        }
    }
}
