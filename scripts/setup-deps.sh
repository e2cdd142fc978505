#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Install every build and test dependency of flowmrd on Debian 12 (bookworm).
#
# Idempotent: each package is checked with dpkg-query first; apt-get (and `apt-get update`)
# runs only when something is missing, so a second run does nothing and needs no network.
# Works as root on a fresh Debian 12 with access to Debian's archive only. When not root, uses
# sudo if it exists.
#
# Usage: scripts/setup-deps.sh
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

# Debian 12 package names.
required_packages=(
  # toolchain
  build-essential cmake ninja-build clang
  libclang-rt-14-dev            # libFuzzer and sanitizer runtimes for clang
  python3 git ca-certificates
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  time                          # /usr/bin/time: wall time and peak RSS in scripts/bench-*.sh
  chromium fonts-dejavu-core    # headless browser: report PDF (flowmrd report --pdf) and the browser test
  snakemake                     # workflow/Snakefile (cluster runs) and its test
  # libraries
  libcli11-dev nlohmann-json3-dev libfmt-dev libspdlog-dev libtbb-dev libeigen3-dev
  libpugixml-dev libtomlplusplus-dev libsqlite3-dev libfast-float-dev libboost-dev
  libboost-math-dev             # exact Poisson confidence intervals
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev   # density gates, PNG plots
)
# Nice to have (llvm-symbolizer, llvm-profdata, llvm-cov); a failure to install them is not fatal.
optional_packages=(
  llvm-14
)

log() { printf '[setup-deps] %s\n' "$*"; }
die() { printf '[setup-deps] error: %s\n' "$*" >&2; exit 1; }

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  die "dpkg-query/apt-get not found: this script supports Debian 12 only. Install the packages" \
      "listed in scripts/setup-deps.sh by other means, then set FLOWMRD_SKIP_SETUP=1 for" \
      "scripts/test.sh and scripts/demo.sh."
fi

is_installed() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  [[ $status == *" ok installed" ]]
}

missing_of() {
  local pkg
  for pkg in "$@"; do
    is_installed "$pkg" || printf '%s\n' "$pkg"
  done
}

mapfile -t missing_required < <(missing_of "${required_packages[@]}")
mapfile -t missing_optional < <(missing_of "${optional_packages[@]}")

if [[ ${#missing_required[@]} -eq 0 && ${#missing_optional[@]} -eq 0 ]]; then
  log "all ${#required_packages[@]} required and ${#optional_packages[@]} optional packages are installed"
  exit 0
fi

# Root, or sudo when available.
as_root=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
  else
    die "missing packages (${missing_required[*]} ${missing_optional[*]}) and not root, and sudo" \
        "is not installed; re-run this script as root"
  fi
fi

apt_get=("${as_root[@]}" apt-get -y -q -o DPkg::Lock::Timeout=600)

log "missing: ${missing_required[*]} ${missing_optional[*]}"
log "running apt-get update"
"${apt_get[@]}" update

if [[ ${#missing_required[@]} -gt 0 ]]; then
  log "installing required: ${missing_required[*]}"
  "${apt_get[@]}" install --no-install-recommends "${missing_required[@]}"
fi

if [[ ${#missing_optional[@]} -gt 0 ]]; then
  log "installing optional: ${missing_optional[*]}"
  "${apt_get[@]}" install --no-install-recommends "${missing_optional[@]}" \
    || log "warning: could not install optional packages (${missing_optional[*]}); continuing"
fi

mapfile -t still_missing < <(missing_of "${required_packages[@]}")
if [[ ${#still_missing[@]} -gt 0 ]]; then
  die "still missing after apt-get install: ${still_missing[*]}"
fi
log "done: all required packages are installed"
