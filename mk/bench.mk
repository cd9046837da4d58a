# make bench: Envoy without an auth filter, with jwt_authn + RBAC, and with workload-authz, under
# the same wrk load on 127.0.0.1 (see docs/benchmark.md). Writes target/bench/report.{md,json}.
# Settings come from the environment: BENCH_SECONDS, BENCH_REPEAT, BENCH_ALGS, BENCH_VARIANTS, ...
# (bench/run.py lists them all). Never part of `make test`.

MINT_POOL := target/release/mint-pool
# The floors' filter, exporting only the callbacks it answers (as `make build` does for the module).
NOOP_FILTER := target/noop-filter/noop_filter.wasm
# The DPoP proof minter of the dpop and bearer workloads, built for speed (profile bench-tools,
# opt-level 3) only when BENCH_WORKLOADS names one of them.
DPOP_PROOFS := target/bench-tools/dpop-proofs

.PHONY: bench bench-tools bench-micro bench-instructions bench-review

## bench-tools: Debian's wrk (the load generator), the token-pool minter and, for the dpop and
## bearer workloads, the proof minter.
bench-tools:
	@command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
	@command -v taskset >/dev/null || { apt-get update && apt-get install -y util-linux; }
	cargo build --release -p workload-authz-bench --bin mint-pool
	$(if $(findstring dpop,$(BENCH_WORKLOADS))$(findstring bearer,$(BENCH_WORKLOADS)),cargo build --profile bench-tools -p workload-authz-bench --bin dpop-proofs)
	CARGO_TARGET_DIR=$(CURDIR)/target cargo build --release \
		--manifest-path bench/noop-filter/Cargo.toml --target $(WASM_TARGET)
	@mkdir -p $(dir $(NOOP_FILTER))
	@if command -v wasm-metadce >/dev/null; then \
	  $(WASM_METADCE) bench/noop-filter/exports.json \
	    target/$(WASM_TARGET)/release/bench_noop_filter.wasm -o $(NOOP_FILTER) >/dev/null; \
	else cp target/$(WASM_TARGET)/release/bench_noop_filter.wasm $(NOOP_FILTER); fi

## bench: the Envoy benchmark (about 25 minutes with the defaults: 5 runs of 8 s per cell).
bench: build cli bench-tools
	@printf 'benchmarking %s: %s bytes\n' "$(WASM)" "$$(stat -c %s $(WASM))"
	ENVOY_BIN="$(ENVOY_BIN)" WASM="$(CURDIR)/$(WASM)" MINT_POOL="$(CURDIR)/$(MINT_POOL)" \
		DPOP_PROOFS="$(CURDIR)/$(DPOP_PROOFS)" $(VENV)/bin/python bench/run.py
	$(MAKE) --no-print-directory bench-review

## bench-review: `workload-authz review` of 5 million generated records (a row of its own in
## target/bench/report.md; about a minute, plus a minute to generate the log once).
bench-review: cli
	cargo build --release -p workload-authz-bench --bin review-log
	CLI="$(CURDIR)/$(CLI)" REVIEW_LOG="$(CURDIR)/target/release/review-log" $(PYTHON) bench/review_scale.py

## bench-micro: criterion microbenchmarks of the core's phases (native code, not V8).
bench-micro:
	cargo bench -p workload-authz-core --bench decide

## bench-instructions: instructions per request of each configuration, counted by callgrind
## (valgrind, installed if missing): repeatable where CPU time is not. About 1 minute per
## configuration and algorithm; settings as bench, plus BENCH_INSTR_WARM, BENCH_INSTR_COUNT.
bench-instructions: build cli bench-tools
	@command -v valgrind >/dev/null || { apt-get update && apt-get install -y valgrind; }
	ENVOY_BIN="$(ENVOY_BIN)" WASM="$(CURDIR)/$(WASM)" MINT_POOL="$(CURDIR)/$(MINT_POOL)" \
		$(VENV)/bin/python bench/instructions.py
