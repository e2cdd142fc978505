#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Speed and memory of `flowmrd batch` (docs/benchmarks.md, "flowmrd batch").
#
# Usage: scripts/bench-batch.sh [--build-dir DIR] [--files N] [--events N] [--regenerate] [--flowmrd EXE]
#
#   Builds flowmrd in DIR (default build/, Release) unless --flowmrd is given, simulates N
#   (default 20) follow-up marrows of E (default 1,000,000) events with 0.1% MRD once (kept in
#   DIR/bench-batch/, seeds 30001..; --regenerate rewrites them), reads them once so they sit in
#   the page cache, then runs with /usr/bin/time (wall seconds, peak RSS):
#     A. flowmrd batch on all N files with --jobs 1
#     B. the same with --jobs 2
#     C. --jobs 2 on the first N/2 files (memory must not grow with the number of files)
#   checks that A and B wrote byte-identical per-sample outputs and store exports, and prints
#   the figures with PASS/FAIL against issue 7's targets: B at least 1.7x faster than A, and the
#   peak memory of B within 25% of C's.
#
# Exits 1 when a target is missed or outputs differ, 2 on usage errors, other non-zero when
# building, simulating or the batch fails. Run it on an otherwise idle machine.
set -Eeuo pipefail

usage() { sed -n '4,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

build_dir=build
files=20
events=1000000
regenerate=0
flowmrd=""
need_value() { [[ $# -ge 2 ]] || { echo "error: $1 needs a value" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) need_value "$@"; build_dir=$2; shift ;;
    --build-dir=*) build_dir=${1#*=} ;;
    --files) need_value "$@"; files=$2; shift ;;
    --files=*) files=${1#*=} ;;
    --events) need_value "$@"; events=$2; shift ;;
    --events=*) events=${1#*=} ;;
    --regenerate) regenerate=1 ;;
    --flowmrd) need_value "$@"; flowmrd=$2; shift ;;
    --flowmrd=*) flowmrd=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "error: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
for v in "$files" "$events"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "error: --files and --events need a positive integer, got '$v'" >&2; exit 2; }
done
[[ $files -ge 2 ]] || { echo "error: --files must be at least 2" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "error: /usr/bin/time is missing (Debian package 'time'; scripts/setup-deps.sh installs it)" >&2; exit 2; }

abspath() { [[ $1 == /* ]] && printf '%s\n' "$1" || printf '%s\n' "$PWD/$1"; }
build_dir=$(abspath "$build_dir")
[[ -n $flowmrd ]] && flowmrd=$(abspath "$flowmrd")
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$(pwd)
banner() { printf '\n== %s\n' "$1"; }

if [[ -z $flowmrd ]]; then
  banner "configure and build flowmrd ($build_dir, Release)"
  gen=()
  if [[ ! -f $build_dir/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then gen=(-G Ninja); fi
  cmake -S "$repo_root" -B "$build_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build_dir" -j "$(nproc 2>/dev/null || echo 2)" --target flowmrd
  flowmrd=$build_dir/apps/flowmrd/flowmrd
fi
[[ -x $flowmrd ]] || { echo "error: $flowmrd is not an executable" >&2; exit 3; }

work=$build_dir/bench-batch
mkdir -p "$work/files"

banner "input files ($work/files: $files x $events events)"
scenario=$repo_root/samples/scenarios/bcp-all-mrd-0.1pct.toml
for ((i = 1; i <= files; i++)); do
  f=$work/files/s$(printf '%02d' "$i")-$events.fcs
  if [[ $regenerate == 1 || ! -f $f || $scenario -nt $f ]]; then
    "$flowmrd" simulate "$scenario" -o "$f" --events "$events" --seed $((30000 + i)) >/dev/null
  fi
done
cat "$work"/files/*-"$events".fcs >/dev/null  # into the page cache

# manifest NAME COUNT: one patient per file, the AIEOP-BFM day-15 timepoint.
manifest() {
  local m=$work/$1.csv
  echo "patient,sample,timepoint,date,file,protocol" >"$m"
  for ((i = 1; i <= $2; i++)); do
    local id; id=$(printf 'B%02d' "$i")
    echo "$id,$id-D15,d15,2026-04-20,files/s$(printf '%02d' "$i")-$events.fcs,aieop-bfm-all-2009" >>"$m"
  done
  printf '%s\n' "$m"
}
all=$(manifest manifest-all "$files")
half=$(manifest manifest-half $((files / 2)))

# run NAME MANIFEST JOBS -> "wall_s peak_kb" in $work/NAME.time
run() {
  local name=$1 m=$2 j=$3
  rm -rf "${work:?}/$name"
  banner "$name: flowmrd batch $(basename "$m") --jobs $j"
  local rc=0
  /usr/bin/time -f '%e %M' -o "$work/$name.time" "$flowmrd" batch "$m" --out "$work/$name" --jobs "$j" \
    --progress lines >"$work/$name.log" 2>&1 || rc=$?
  tail -n 6 "$work/$name.log"
  [[ $rc == 0 ]] || { echo "error: the batch failed (exit $rc), see $work/$name.log" >&2; exit 4; }
  cat "$work/$name.time"
}
run jobs1 "$all" 1
run jobs2 "$all" 2
run jobs2-half "$half" 2

banner "identical outputs (--jobs 1 vs 2)"
same=1
if ! diff -r "$work/jobs1/samples" "$work/jobs2/samples" >/dev/null; then same=0; echo "sample outputs differ"; fi
if [[ $("$flowmrd" db export --db "$work/jobs1/flowmrd.sqlite") != $("$flowmrd" db export --db "$work/jobs2/flowmrd.sqlite") ]]; then
  same=0; echo "store exports differ"
fi
[[ $same == 1 ]] && echo "byte-identical"

python3 - "$work" "$files" "$events" "$same" <<'PY'
import sys
work, files, events, same = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
def read(name):
    wall, kb = open(f"{work}/{name}.time").read().split()[-2:]
    return float(wall), int(kb) / 1024
t1, m1 = read("jobs1")
t2, m2 = read("jobs2")
th, mh = read("jobs2-half")
speedup = t1 / t2
print(f"\nflowmrd batch, {files} files x {events:,} events")
print(f"  --jobs 1: {t1:7.1f} s  peak {m1:6.0f} MB  ({files * events / t1 / 1e6:.2f} M events/s)")
print(f"  --jobs 2: {t2:7.1f} s  peak {m2:6.0f} MB  ({files * events / t2 / 1e6:.2f} M events/s)")
print(f"  --jobs 2, {files // 2} files: {th:7.1f} s  peak {mh:6.0f} MB")
ok_speed = speedup >= 1.7
ok_mem = m2 <= 1.25 * mh
print(f"  speed-up --jobs 2 / --jobs 1: {speedup:.2f}x (target >= 1.7x) {'PASS' if ok_speed else 'FAIL'}")
print(f"  peak memory {files} files / {files // 2} files at --jobs 2: {m2 / mh:.2f} (target <= 1.25) {'PASS' if ok_mem else 'FAIL'}")
print(f"  peak memory --jobs 2 / --jobs 1: {m2 / m1:.2f} (grows with --jobs)")
print(f"  outputs --jobs 1 vs 2: {'identical' if same else 'DIFFERENT'}")
sys.exit(0 if ok_speed and ok_mem and same else 1)
PY
