#!/usr/bin/env bash
# make reproducible: is the module a function of the commit alone?
#
#   packaging/reproducible.sh /abs/dir/a /abs/other/dir/b
#
# Clones HEAD of this repository into both directories (removed first), one after the other
# runs `make build` in each (its own target/ dir, no inherited make or cargo state), clone B
# with a different CARGO_HOME path (its registry and git sources are symlinks to this one's:
# same crates, another path, nothing downloaded). Then compares the sha256 of the two modules,
# and checks that neither contains its directory, its CARGO_HOME or $HOME, and that the build
# left each clone's `git status` clean (Cargo.lock used as committed). Exit 1 on any mismatch
# (the clones are kept to compare); on success the clones are removed unless REPRO_KEEP=1.
set -euo pipefail

a=${1:?usage: reproducible.sh DIR_A DIR_B}
b=${2:?usage: reproducible.sh DIR_A DIR_B}
[ "$a" != "$b" ] || { echo "reproducible: the two directories must differ"; exit 2; }
for d in "$a" "$b"; do
  case "$d" in
    /?*/*) ;;
    *) echo "reproducible: $d: give an absolute path at least two levels deep"; exit 2 ;;
  esac
done

src=$(git rev-parse --show-toplevel)
rev=$(git -C "$src" rev-parse HEAD)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
wasm=target/wasm32-wasip1/release/workload_authz.wasm
raw=target/wasm32-wasip1/release/deps/workload_authz.wasm
if [ -n "$(git -C "$src" status --porcelain --untracked-files=no)" ]; then
  echo "reproducible: uncommitted changes in $src are not part of this check (it builds HEAD)"
fi
echo "reproducible: commit $rev"

clone() {
  local dir=$1
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  git clone -q --no-hardlinks "$src" "$dir"
  git -C "$dir" checkout -q --detach "$rev"
  # The venv (Envoy, needed by `make setup`, not by the module) is shared rather than
  # downloaded again; it is ignored by git.
  if [ -e "$src/.venv" ]; then ln -s "$(readlink -f "$src/.venv")" "$dir/.venv"; fi
}

# build DIR CARGO_HOME: `make build` in a clean environment (no inherited make variables, no
# target dir or rustflags override); prints the log to DIR.build.log.
build() {
  local dir=$1 home=$2 start=$SECONDS
  echo "reproducible: building in $dir (CARGO_HOME=$home)"
  if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
      -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS \
      -u WORKLOAD_AUTHZ_WASM -u ENVOY_BIN \
      CARGO_HOME="$home" CARGO_CACHE_AUTO_CLEAN_FREQUENCY=never \
      make -C "$dir" --no-print-directory build >"$dir.build.log" 2>&1; then
    tail -30 "$dir.build.log"
    echo "reproducible: make build failed in $dir (log: $dir.build.log)"
    exit 1
  fi
  echo "reproducible:   $(tail -1 "$dir.build.log") ($((SECONDS - start)) s)"
}

clone "$a"
clone "$b"
home_b="$b.cargo-home"
rm -rf "$home_b"
mkdir -p "$home_b"
for sub in registry git; do
  if [ -e "$cargo_home/$sub" ]; then ln -s "$(readlink -f "$cargo_home/$sub")" "$home_b/$sub"; fi
done

build "$a" "$cargo_home"
build "$b" "$home_b"

status=0
declare -A sum
for d in "$a" "$b"; do
  sum[$d]=$(sha256sum "$d/$wasm" | cut -d' ' -f1)
  printf 'reproducible: %s  %s (%s bytes; cargo output %s)\n' "${sum[$d]}" "$d/$wasm" \
    "$(stat -c %s "$d/$wasm")" "$(sha256sum "$d/$raw" | cut -c1-16)"
  if [ -n "$(git -C "$d" status --porcelain)" ]; then
    echo "reproducible: the build changed tracked files in $d:"; git -C "$d" status --porcelain
    status=1
  fi
done
for d in "$a" "$b"; do
  for leak in "$a" "$b" "$cargo_home" "$home_b" "$HOME/"; do
    if grep -qaF -- "$leak" "$d/$wasm" "$d/$raw"; then
      echo "reproducible: $d's module contains the path $leak"
      status=1
    fi
  done
done
if [ "${sum[$a]}" != "${sum[$b]}" ]; then
  echo "reproducible: FAILED, the modules differ (clones kept: $a, $b)"
  exit 1
fi
if [ "$status" != 0 ]; then
  echo "reproducible: FAILED (clones kept: $a, $b)"
  exit 1
fi
echo "reproducible: OK, both clones built sha256 ${sum[$a]}"
if [ "${REPRO_KEEP:-0}" != 1 ]; then
  rm -rf "$a" "$b" "$home_b"
fi
