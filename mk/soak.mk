# make soak: mixed valid/invalid traffic with wrk against Envoy (--concurrency 2) running the
# filter, while the remote JWKS rotates and the configuration reloads (LDS file swap); fails on
# any 5xx, a dead Envoy, a Wasm VM failure or memory growth over 10 % after warm-up. Figures in
# target/soak/report.{md,json}; see soak/soak.py for the settings (ROTATE_SECONDS, ...).
# Never part of `make test`.

SOAK_SECONDS ?= 600

.PHONY: soak soak-tools

## soak-tools: Debian's wrk.
soak-tools:
	@command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }

## soak: SOAK_SECONDS (default 600) of traffic, key rotation and reloads.
soak: build cli soak-tools
	SOAK_SECONDS=$(SOAK_SECONDS) ENVOY_BIN="$(ENVOY_BIN)" WASM="$(CURDIR)/$(WASM)" \
		CLI="$(CURDIR)/$(CLI)" $(VENV)/bin/python soak/soak.py
