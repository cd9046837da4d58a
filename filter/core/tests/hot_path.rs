//! What a request costs in allocations, counted (not timed): under V8 every allocation of the
//! Wasm module is a call into its allocator, and a cached decision (the `reuse` workload of
//! `make bench`) should make few. A budget per path guards against regressions; the counts are
//! printed (`cargo test --test hot_path -- --nocapture`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use workload_authz_core::memo::DecisionMemo;
use workload_authz_core::{
    decide, telemetry, GuestVerifier, NoConnection, Reason, RequestView, RuntimeState,
};

/// The system allocator, counting the allocations of the current thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (and reallocations) made by `f` on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (out, ALLOCATIONS.with(Cell::get) - before)
}

#[test]
fn a_cached_decision_and_its_record_stay_within_their_allocation_budgets() {
    let mut value = example_policy_json();
    let p = policy(&value);
    value["decision_record"] = serde_json::json!("keys");
    let p_keys = policy(&value);
    value["decision_record"] = serde_json::json!("off");
    let p_off = policy(&value);
    let state = RuntimeState::new(&p);
    let token = es256(&with(good_claims(), "jti", serde_json::json!("t-1")));
    let headers = vec![
        (":method".to_string(), "GET".to_string()),
        (":path".to_string(), "/tenants/acme/orders/7".to_string()),
        (":authority".to_string(), "orders.example".to_string()),
        ("authorization".to_string(), format!("Bearer {token}")),
        ("user-agent".to_string(), "wrk".to_string()),
    ];
    let request = RequestView {
        method: "GET",
        path: "/tenants/acme/orders/7",
        authority: "orders.example",
        headers: &headers,
    };
    let first = decide(&p, &state, &request, NOW, &GuestVerifier);
    assert_eq!(first.reason, Reason::Allowed);
    assert_eq!(state.cached_tokens(), 1);
    let (hit, hit_allocations) = allocations(|| decide(&p, &state, &request, NOW, &GuestVerifier));
    assert_eq!(hit.reason, Reason::Allowed);
    let (entries, record_allocations) =
        allocations(|| telemetry::filter_state(&hit, &p_keys).len());
    assert_eq!(entries, 15);
    let (none, default_allocations) = allocations(|| telemetry::filter_state(&hit, &p).len());
    assert_eq!(
        none, 0,
        "the default record is one typed property, no text keys"
    );
    assert_eq!(default_allocations, 0);
    let (bytes, struct_allocations) = allocations(|| telemetry::record_struct(&hit, &p).len());
    assert!(bytes > 0);
    let (none, off_allocations) = allocations(|| telemetry::filter_state(&hit, &p_off).len());
    assert_eq!(none, 0);
    let (_, drop_allocations) = allocations(|| drop(hit));
    println!(
        "cached decision: {hit_allocations} allocations; keys record: {record_allocations}; \
         struct record: {struct_allocations}; record off: {off_allocations}; \
         dropping the decision: {drop_allocations}"
    );
    assert!(
        hit_allocations <= HIT_BUDGET,
        "a cached decision made {hit_allocations} allocations, budget {HIT_BUDGET}"
    );
    assert!(
        record_allocations <= RECORD_BUDGET,
        "the full record made {record_allocations} allocations, budget {RECORD_BUDGET}"
    );
    assert!(
        struct_allocations <= STRUCT_BUDGET,
        "the struct record made {struct_allocations} allocations, budget {STRUCT_BUDGET}"
    );
    assert_eq!(off_allocations, 0, "no record, no allocation");
    assert_eq!(drop_allocations, 0);
}

/// Allocations allowed for a cached, allowed decision on the example policy's `orders.read`.
const HIT_BUDGET: usize = 24;
/// Allocations allowed for the 15 filter-state entries of a `keys` record.
const RECORD_BUDGET: usize = 8;
/// Allocations allowed for the default record: its member list and its exact-size bytes.
const STRUCT_BUDGET: usize = 2;

#[test]
fn a_memoised_decision_is_served_without_allocating() {
    let p = policy(&example_policy_json());
    let state = RuntimeState::new(&p);
    let token = es256(&good_claims());
    let headers = vec![
        ("authorization".to_string(), format!("Bearer {token}")),
        ("user-agent".to_string(), "wrk".to_string()),
        ("x-request-id".to_string(), "1".to_string()),
    ];
    let request = RequestView {
        method: "GET",
        path: "/tenants/acme/orders/7",
        authority: "orders.example",
        headers: &headers,
    };
    let mut memo: DecisionMemo<()> = DecisionMemo::new(&p);
    let conn = NoConnection;
    let first = memo.decide(&p, &state, &request, &conn, NOW, &GuestVerifier);
    assert_eq!(first.decision.reason, Reason::Allowed);
    let (served, served_allocations) =
        allocations(|| memo.decide(&p, &state, &request, &conn, NOW, &GuestVerifier));
    assert!(
        std::rc::Rc::ptr_eq(&first, &served),
        "not served from the memo"
    );
    assert_eq!(memo.served(), 1);
    println!("memoised decision served: {served_allocations} allocations");
    assert_eq!(
        served_allocations, 0,
        "serving a memoised decision allocates nothing (its key is built in a reused buffer)"
    );
}
