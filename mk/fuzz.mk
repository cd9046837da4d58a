# make fuzz: every cargo-fuzz (libFuzzer) target of fuzz/ for FUZZ_SECONDS each, one after the
# other, niced; seeds in fuzz/corpus/<target>, the growing working corpus in fuzz/work/<target>,
# logs in fuzz/work/logs/<target>.log, a summary line per target (executions, coverage) on stdout
# and in fuzz/work/logs/summary.txt. A crash stops the run (reproducer in fuzz/artifacts/<target>/;
# minimise it with `cargo fuzz tmin`, keep it in fuzz/regressions/<target>/).
# make fuzz-regressions replays fuzz/regressions/* and the seeds once (no fuzzing).
# The toolchain is stable: RUSTC_BOOTSTRAP=1 lets it take the nightly-only sanitizer flags.
# Fuzz builds use their own target dir (fuzz/target). Never part of `make test`.

FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= token_parse jwks_parse config_compile path_match decide header_map jsonrpc
FUZZ_NICE    ?= nice -n 19
# Wall-clock seconds for one input; high enough that a loaded machine (the fuzzer is niced)
# does not report false timeouts.
FUZZ_TIMEOUT ?= 60
FUZZ_CARGO   := cd fuzz && RUSTC_BOOTSTRAP=1 $(FUZZ_NICE) cargo fuzz
FUZZ_FLAGS   := -O --target-dir target
# Longer inputs for the targets whose limits are in kilobytes (8 KiB tokens).
FUZZ_MAXLEN_token_parse := 12000
FUZZ_MAXLEN_decide      := 12000

.PHONY: fuzz fuzz-setup fuzz-build fuzz-regressions

## fuzz-setup: cargo-fuzz from crates.io (only if missing).
fuzz-setup:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

fuzz-build: fuzz-setup
	$(FUZZ_CARGO) build $(FUZZ_FLAGS)

## fuzz-regressions: replay the seeds and the saved regressions of every target once.
fuzz-regressions: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		dirs="corpus/$$t"; [ -d fuzz/regressions/$$t ] && dirs="$$dirs regressions/$$t"; \
		echo "replaying $$dirs"; \
		( $(FUZZ_CARGO) run $(FUZZ_FLAGS) $$t $$dirs -- -runs=0 ) >/dev/null 2>fuzz/work-replay.log \
			|| { tail -40 fuzz/work-replay.log; exit 1; }; \
	done; rm -f fuzz/work-replay.log; echo "every seed and regression replays cleanly"

## fuzz: every target for FUZZ_SECONDS seconds (default 60).
fuzz: fuzz-regressions
	@set -e; mkdir -p fuzz/work/logs; \
	for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/work/$$t; \
		maxlen=""; \
		case $$t in token_parse) maxlen="-max_len=$(FUZZ_MAXLEN_token_parse)";; decide) maxlen="-max_len=$(FUZZ_MAXLEN_decide)";; esac; \
		echo "fuzzing $$t for $(FUZZ_SECONDS) s (log fuzz/work/logs/$$t.log)"; \
		start=$$(date +%s); \
		if ( $(FUZZ_CARGO) run $(FUZZ_FLAGS) $$t work/$$t corpus/$$t -- \
				-max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=4096 $$maxlen \
				-print_final_stats=1 ) >fuzz/work/logs/$$t.log 2>&1; then status=ok; else status=CRASH; fi; \
		end=$$(date +%s); \
		execs=$$(grep -o 'stat::number_of_executed_units: [0-9]*' fuzz/work/logs/$$t.log | grep -o '[0-9]*$$' || echo '?'); \
		cov=$$(grep -E '#[0-9]+.*cov:' fuzz/work/logs/$$t.log | tail -1 | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9a-zA-Z]*' || echo '?'); \
		line="$$t: $$status, $$((end - start)) s, $$execs executions, $$cov"; \
		echo "$$line"; echo "$$(date -u +%FT%TZ) $$line" >> fuzz/work/logs/summary.txt; \
		if [ $$status != ok ]; then \
			grep -E 'panicked|SUMMARY|Test unit written|ERROR' fuzz/work/logs/$$t.log | head -10; exit 1; \
		fi; \
	done
