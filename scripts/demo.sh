#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Demo: install dependencies, build flowmrd (Release) into build/, and run it on the bundled demo
# FCS files in samples/demo/.
#
# Usage: scripts/demo.sh [--jobs N]
#
# Environment: FLOWMRD_SKIP_SETUP=1 skips scripts/setup-deps.sh (non-Debian machines).
# Exits non-zero when the build fails, when samples/demo/ has no .fcs file, or when flowmrd fails
# on any demo file. Works from any working directory.
set -Eeuo pipefail

jobs=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --jobs | -j)
      [[ $# -ge 2 ]] || { echo "error: $1 needs a value" >&2; exit 2; }
      jobs=$2
      shift
      ;;
    --jobs=*) jobs=${1#*=} ;;
    -h | --help) sed -n '4,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z $jobs ]]; then
  jobs=$(nproc 2>/dev/null || echo 2)
fi
if ! [[ $jobs =~ ^[1-9][0-9]*$ ]]; then
  echo "error: --jobs needs a positive integer, got '$jobs'" >&2
  exit 2
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$(pwd)

banner() {
  printf '\n'
  printf '=%.0s' {1..96}
  printf '\n== %s\n' "$1"
  printf '=%.0s' {1..96}
  printf '\n'
}
trap 'rc=$?; printf "\n!! demo FAILED (exit %s, line %s)\n" "$rc" "$LINENO" >&2; exit "$rc"' ERR

# Fail early and clearly when there is nothing to demo.
shopt -s nullglob
demo_files=(samples/demo/*.fcs)
shopt -u nullglob
if [[ ${#demo_files[@]} -eq 0 ]]; then
  echo "error: no demo FCS files found: $repo_root/samples/demo/*.fcs matches nothing" >&2
  exit 1
fi

banner "dependencies (scripts/setup-deps.sh)"
if [[ ${FLOWMRD_SKIP_SETUP:-0} == 1 ]]; then
  echo "FLOWMRD_SKIP_SETUP=1: skipping"
else
  bash scripts/setup-deps.sh
fi

banner "configure build/ (Release)"
gen=()
if [[ ! -f build/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
  gen=(-G Ninja)
fi
# FLOWMRD_WERROR is left as cached (OFF on a fresh tree) so that sharing build/ with
# scripts/test.sh does not force a full rebuild.
cmake -S . -B build "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DFLOWMRD_ASSERTIONS=ON

banner "build flowmrd"
cmake --build build -j "$jobs" --target flowmrd

flowmrd=build/apps/flowmrd/flowmrd
if [[ ! -x $flowmrd ]]; then
  echo "error: $flowmrd was not produced by the build" >&2
  exit 1
fi

failed=()
for f in "${demo_files[@]}"; do
  banner "flowmrd info --stats $f"
  rc=0
  "$flowmrd" info --stats "$f" || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "!! flowmrd exited with status $rc on $f" >&2
    failed+=("$f (exit $rc)")
  fi
done

banner "demo summary"
echo "files: ${#demo_files[@]}, failed: ${#failed[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  printf '  failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "demo OK"
