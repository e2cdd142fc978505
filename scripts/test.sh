#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Build flowmrd and run its tests.
#
# Usage: scripts/test.sh [--sanitize] [--fuzz] [--jobs N]
#
#   (always)    install dependencies (scripts/setup-deps.sh), configure build/ (Release, warnings as
#               errors, assertions on), build everything, run all CTest tests.
#   --sanitize  then configure build-asan/ (RelWithDebInfo, ASan+UBSan, no benchmarks), build, and
#               run the tests labelled `libfcs`, `gating` and `pipeline`.
#   --fuzz      then configure build-fuzz/ with clang (FLOWMRD_FUZZ=ON), build fcs_fuzz_reader and
#               run it for 60 s on a temporary copy of tests/fuzz/corpus. Skipped when clang is
#               missing. Crash inputs are kept in build-fuzz/artifacts/.
#   --jobs N    parallel build and test jobs (default: nproc).
#
# Environment: FLOWMRD_SKIP_SETUP=1 skips scripts/setup-deps.sh (non-Debian machines);
# FLOWMRD_SHARED_DATA overrides the shared data folder (default: ../shared/data beside the repo);
# FLOWMRD_FUZZ_SECONDS overrides the fuzzing time (default 60).
# Exits non-zero on any failure. Works from any working directory.
set -Eeuo pipefail

usage() { sed -n '4,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

sanitize=0
fuzz=0
jobs=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --sanitize) sanitize=1 ;;
    --fuzz) fuzz=1 ;;
    --jobs | -j)
      [[ $# -ge 2 ]] || { echo "error: $1 needs a value" >&2; exit 2; }
      jobs=$2
      shift
      ;;
    --jobs=*) jobs=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "error: unknown argument: $1" >&2; usage >&2; exit 2 ;;
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

# ---------------------------------------------------------------------------------------------
current_section="start"
results=()
section_start=$SECONDS

banner() {
  current_section=$1
  section_start=$SECONDS
  printf '\n'
  printf '=%.0s' {1..96}
  printf '\n== %s\n' "$1"
  printf '=%.0s' {1..96}
  printf '\n'
}
section_done() {
  results+=("$(printf 'ok    %-48s %5ss' "$current_section" $((SECONDS - section_start)))")
}
on_error() {
  local rc=$?
  printf '\n!! FAILED (exit %s) in section: %s (line %s)\n' "$rc" "$current_section" "$1" >&2
  exit "$rc"
}
trap 'on_error $LINENO' ERR

# configure DIR [cmake args...]: Ninja when available, unless DIR already has a cache (keeps its
# generator so re-runs never fail on a generator mismatch).
configure() {
  local dir=$1
  shift
  local gen=()
  if [[ ! -f $dir/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
    gen=(-G Ninja)
  fi
  local shared=()
  if [[ -n ${FLOWMRD_SHARED_DATA:-} ]]; then
    shared=("-DFLOWMRD_SHARED_DATA=$FLOWMRD_SHARED_DATA")
  fi
  cmake -S "$repo_root" -B "$dir" "${gen[@]}" "${shared[@]}" "$@"
}

run_ctest() {
  local dir=$1
  shift
  ctest --test-dir "$dir" --output-on-failure --no-tests=error --timeout 1200 -j "$jobs" "$@"
}

# ---------------------------------------------------------------------------------------------
banner "dependencies (scripts/setup-deps.sh)"
if [[ ${FLOWMRD_SKIP_SETUP:-0} == 1 ]]; then
  echo "FLOWMRD_SKIP_SETUP=1: skipping"
else
  bash scripts/setup-deps.sh
  # setup-deps installed Chromium and Snakemake: their tests must run, not skip.
  export FLOWMRD_REQUIRE_BROWSER=${FLOWMRD_REQUIRE_BROWSER:-1}
  export FLOWMRD_REQUIRE_SNAKEMAKE=${FLOWMRD_REQUIRE_SNAKEMAKE:-1}
fi
section_done

banner "environment"
echo "repo:        $repo_root"
echo "jobs:        $jobs"
echo "cmake:       $(cmake --version | head -n1)"
echo "c++:         $(c++ --version | head -n1)"
if command -v ninja >/dev/null 2>&1; then echo "ninja:       $(ninja --version)"; fi
if command -v clang++ >/dev/null 2>&1; then echo "clang++:     $(clang++ --version | head -n1)"; fi
shared_dir=${FLOWMRD_SHARED_DATA:-$repo_root/../shared/data}
if [[ -d $shared_dir ]]; then
  echo "shared data: $shared_dir"
else
  echo "shared data: $shared_dir (absent: tests that need it will be skipped)"
fi
echo "options:     sanitize=$sanitize fuzz=$fuzz"
section_done

# ---------------------------------------------------------------------------------------------
banner "Release: configure build/"
configure build -DCMAKE_BUILD_TYPE=Release -DFLOWMRD_WERROR=ON -DFLOWMRD_ASSERTIONS=ON
section_done

banner "Release: build"
cmake --build build -j "$jobs"
section_done

banner "Release: ctest (all tests)"
run_ctest build
section_done

# ---------------------------------------------------------------------------------------------
if [[ $sanitize == 1 ]]; then
  banner "ASan+UBSan: configure build-asan/"
  configure build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLOWMRD_SANITIZE=ON \
    -DFLOWMRD_BUILD_BENCH=OFF -DFLOWMRD_ASSERTIONS=ON
  section_done

  banner "ASan+UBSan: build"
  cmake --build build-asan -j "$jobs"
  section_done

  banner "ASan+UBSan: ctest -L 'libfcs|gating|pipeline'"
  # LeakSanitizer cannot run under ptrace-restricted containers; probe once and only then turn
  # leak detection off (with a warning) instead of failing every test.
  detect_leaks=1
  probe_dir=$(mktemp -d "${TMPDIR:-/tmp}/flowmrd-lsan.XXXXXX")
  printf 'int main() { return 0; }\n' >"$probe_dir/p.cpp"
  if "${CXX:-c++}" -fsanitize=address "$probe_dir/p.cpp" -o "$probe_dir/p" 2>/dev/null \
    && ! ASAN_OPTIONS=detect_leaks=1 "$probe_dir/p" >"$probe_dir/out" 2>&1; then
    if grep -q 'LeakSanitizer' "$probe_dir/out"; then
      echo "warning: LeakSanitizer does not work in this environment; running with detect_leaks=0"
      detect_leaks=0
    fi
  fi
  rm -rf "$probe_dir"
  export ASAN_OPTIONS="detect_leaks=$detect_leaks:halt_on_error=1:check_initialization_order=1:strict_init_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
  echo "ASAN_OPTIONS=$ASAN_OPTIONS"
  echo "UBSAN_OPTIONS=$UBSAN_OPTIONS"
  # The reader, the gating engine and its XML/CSV readers, and the pipeline: every module that
  # parses untrusted input or indexes buffers by computed offsets.
  run_ctest build-asan -L 'libfcs|gating|pipeline'
  section_done
fi

# ---------------------------------------------------------------------------------------------
if [[ $fuzz == 1 ]]; then
  if ! command -v clang++ >/dev/null 2>&1 || ! command -v clang >/dev/null 2>&1; then
    banner "fuzz: SKIPPED (clang/clang++ not found; install clang and libclang-rt-14-dev)"
    section_done
  else
    banner "fuzz: configure build-fuzz/ (clang, FLOWMRD_FUZZ=ON)"
    CC=clang CXX=clang++ configure build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DFLOWMRD_FUZZ=ON -DFLOWMRD_BUILD_BENCH=OFF -DFLOWMRD_ASSERTIONS=ON
    section_done

    banner "fuzz: build fcs_fuzz_reader"
    cmake --build build-fuzz -j "$jobs" --target fcs_fuzz_reader
    section_done

    fuzz_seconds=${FLOWMRD_FUZZ_SECONDS:-60}
    banner "fuzz: run fcs_fuzz_reader for ${fuzz_seconds} s"
    fuzzer=$(find build-fuzz -type f -name fcs_fuzz_reader -perm -u+x -print -quit)
    if [[ -z $fuzzer ]]; then
      echo "error: built target fcs_fuzz_reader but found no executable under build-fuzz/" >&2
      false
    fi
    fuzz_tmp=$(mktemp -d "${TMPDIR:-/tmp}/flowmrd-fuzz.XXXXXX")
    trap 'rm -rf "$fuzz_tmp"' EXIT
    mkdir -p "$fuzz_tmp/corpus" build-fuzz/artifacts
    if [[ -d tests/fuzz/corpus ]]; then
      cp -R tests/fuzz/corpus/. "$fuzz_tmp/corpus/"
      echo "corpus: $(find "$fuzz_tmp/corpus" -type f | wc -l) files copied from tests/fuzz/corpus"
    else
      echo "warning: tests/fuzz/corpus not found; fuzzing from an empty corpus"
    fi
    if ! "$fuzzer" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$repo_root/build-fuzz/artifacts/" \
      "$fuzz_tmp/corpus" </dev/null; then
      echo "error: fcs_fuzz_reader found a failing input; artefacts:" >&2
      ls -l build-fuzz/artifacts/ >&2 || true
      false
    fi
    section_done
  fi
fi

# ---------------------------------------------------------------------------------------------
banner "summary"
printf '%s\n' "${results[@]}"
echo "ALL PASSED (total ${SECONDS}s)"
