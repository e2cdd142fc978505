#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Speed and memory of `flowmrd analyze` on large combined-tube files (docs/benchmarks.md,
# "flowmrd analyze").
#
# Usage: scripts/bench-analyze.sh [--build-dir DIR] [--jobs N] [--repetitions N] [--regenerate]
#                                 [--flowmrd EXE]
#
#   Builds flowmrd in DIR (default build/, Release) unless --flowmrd is given, simulates a
#   1,000,000-event and a 5,000,000-event combined 12-colour tube with 0.1% MRD once (kept in
#   DIR/bench-analyze/, about 410 MB; --regenerate rewrites them), reads each file once so it
#   sits in the page cache, then times on each file (median of N repetitions, default 3):
#     - the baseline `flowmrd info --stats FILE` (reads and decodes every event, per-channel
#       statistics), so the analysis can be quoted as a multiple of reading the file;
#     - `flowmrd analyze FILE --json OUT --threads 1` and `--threads 2`,
#   with /usr/bin/time (wall seconds, peak RSS), checks that the result JSON of 1 and 2 threads is
#   byte-identical (cmp), and prints a summary with PASS/FAIL against the targets of issue 6:
#   1M events <= 2 s and <= 400 MB, 5M events <= 8 s (judged on --threads 2, the machine's two
#   cores; the 1-thread figures are shown for scale).
#
# Exits 1 when a target is missed or the outputs differ, 2 on usage errors, other non-zero when
# building, simulating or analysing fails. Run it on an otherwise idle machine.
set -Eeuo pipefail

usage() { sed -n '4,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

build_dir=build
jobs=""
repetitions=3
regenerate=0
flowmrd=""
need_value() { [[ $# -ge 2 ]] || { echo "error: $1 needs a value" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) need_value "$@"; build_dir=$2; shift ;;
    --build-dir=*) build_dir=${1#*=} ;;
    --jobs | -j) need_value "$@"; jobs=$2; shift ;;
    --jobs=*) jobs=${1#*=} ;;
    --repetitions) need_value "$@"; repetitions=$2; shift ;;
    --repetitions=*) repetitions=${1#*=} ;;
    --regenerate) regenerate=1 ;;
    --flowmrd) need_value "$@"; flowmrd=$2; shift ;;
    --flowmrd=*) flowmrd=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "error: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [[ -z $jobs ]]; then
  jobs=$(nproc 2>/dev/null || echo 2)
fi
for v in "$jobs" "$repetitions"; do
  if ! [[ $v =~ ^[1-9][0-9]*$ ]]; then
    echo "error: --jobs and --repetitions need a positive integer, got '$v'" >&2
    exit 2
  fi
done
[[ -x /usr/bin/time ]] || { echo "error: /usr/bin/time is missing (Debian package 'time'; scripts/setup-deps.sh installs it)" >&2; exit 2; }
command -v python3 >/dev/null 2>&1 || { echo "error: python3 is needed for the summary" >&2; exit 2; }

abspath() { [[ $1 == /* ]] && printf '%s\n' "$1" || printf '%s\n' "$PWD/$1"; }
build_dir=$(abspath "$build_dir")
[[ -n $flowmrd ]] && flowmrd=$(abspath "$flowmrd")
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$(pwd)

banner() { printf '\n== %s\n' "$1"; }

# ---------------------------------------------------------------------------------------------
if [[ -z $flowmrd ]]; then
  banner "configure and build flowmrd ($build_dir, Release)"
  gen=()
  # Keep the generator of an existing build tree (cmake refuses to switch).
  if [[ ! -f $build_dir/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
    gen=(-G Ninja)
  fi
  cmake -S "$repo_root" -B "$build_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build_dir" -j "$jobs" --target flowmrd
  flowmrd=$build_dir/apps/flowmrd/flowmrd
fi
[[ -x $flowmrd ]] || { echo "error: $flowmrd is not an executable" >&2; exit 3; }

work=$build_dir/bench-analyze
mkdir -p "$work"

# ---------------------------------------------------------------------------------------------
banner "input files ($work)"
scenario=$work/bench-combined-0.1pct.toml
cat >"$scenario.new" <<'EOF'
# SPDX-License-Identifier: Apache-2.0
# Written by scripts/bench-analyze.sh: the benchmark input of `flowmrd analyze`, a combined
# 12-colour follow-up marrow with 0.1% classic aberrant B blasts among 8% hematogones.
name = "bench-combined-0.1pct"
description = "flowmrd analyze benchmark: combined tube, MRD 0.1%"
profile = "bd-fortessa-12c-combined"
events = 1000000
seed = 20001
mrd_percent = 0.1

[fractions]
hematogone = 0.08

[blast]
cd10 = 0.4
cd38 = -1.0
cd58 = 0.5
cd45 = -0.5
EOF
if [[ -f $scenario ]] && cmp -s "$scenario" "$scenario.new"; then
  rm -f "$scenario.new"
else
  mv -f "$scenario.new" "$scenario"
  regenerate=1
fi
sizes=(1M 5M)
declare -A events_of=([1M]=1000000 [5M]=5000000)
for s in "${sizes[@]}"; do
  f=$work/combined-$s.fcs
  if [[ $regenerate == 1 || ! -f $f || $scenario -nt $f ]]; then
    "$flowmrd" simulate "$scenario" -o "$f" --events "${events_of[$s]}"
  else
    echo "$f: exists (--regenerate rewrites it)"
  fi
  cat "$f" >/dev/null  # page cache
done

banner "machine"
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || echo unknown CPU)"
machine+=", $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo 2>/dev/null || true)"
echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:  $machine"
echo "flowmrd:  $("$flowmrd" --version 2>/dev/null || echo unknown) ($flowmrd)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) (1/5/15 min; should be near 0)"

# ---------------------------------------------------------------------------------------------
# timed LABEL CMD...: run CMD (stdout discarded) under /usr/bin/time, append "LABEL wall_s rss_kb"
# to the measurement file; a failing command stops the script (exit 3) with its output.
measurements=$work/measurements.txt
: >"$measurements"
timed() {
  local label=$1
  shift
  local tf=$work/.time rc=0
  /usr/bin/time -f '%e %M' -o "$tf" "$@" >/dev/null 2>"$work/.stderr" || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "error: exit $rc: $*" >&2
    cat "$work/.stderr" >&2
    exit 3
  fi
  printf '%s %s\n' "$label" "$(tail -n 1 "$tf")" | tee -a "$measurements"
}

banner "runs ($repetitions repetitions; label wall_s peak_rss_kB)"
for s in "${sizes[@]}"; do
  f=$work/combined-$s.fcs
  for ((r = 1; r <= repetitions; r++)); do
    timed "$s baseline" "$flowmrd" info --stats "$f"
    for t in 1 2; do
      timed "$s analyze-t$t" "$flowmrd" analyze "$f" --json "$work/result-$s-t$t.json" --threads "$t"
    done
  done
done

banner "determinism (1 vs 2 threads)"
identical=()
for s in "${sizes[@]}"; do
  if cmp "$work/result-$s-t1.json" "$work/result-$s-t2.json"; then
    echo "$s: result JSON byte-identical with 1 and 2 threads"
    identical+=("$s=yes")
  else
    identical+=("$s=no")
    # Say where they differ (JSON paths), to tell a real difference from a recorded option.
    python3 - "$work/result-$s-t1.json" "$work/result-$s-t2.json" <<'EOF' || true
import json, sys
def walk(a, b, path):
    if type(a) is not type(b):
        print(f"  {path}: {a!r} vs {b!r}"[:200]); return
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            walk(a.get(k), b.get(k), f"{path}.{k}")
    elif isinstance(a, list):
        if len(a) != len(b):
            print(f"  {path}: {len(a)} vs {len(b)} items")
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]")
    elif a != b:
        print(f"  {path}: {a!r} vs {b!r}"[:200])
walk(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), "$")
EOF
  fi
done

# ---------------------------------------------------------------------------------------------
banner "summary"
python3 - "$measurements" "$machine" "${identical[@]}" <<'EOF'
import statistics, sys
from collections import defaultdict

path, machine, *ident = sys.argv[1:]
identical = dict(x.split("=") for x in ident)
runs = defaultdict(list)
for line in open(path):
    size, what, wall, rss = line.split()
    runs[(size, what)].append((float(wall), int(rss)))

def med(size, what):
    v = runs.get((size, what))
    if not v:
        return None, None
    return statistics.median(w for w, _ in v), max(r for _, r in v) / 1024  # MiB

# size: (wall target s, memory target MiB or None); judged on --threads 2.
targets = {"1M": (2.0, 400.0), "5M": (8.0, None)}
failed = False
print(f"machine: {machine}")
fmt = "{:<4} {:<12} {:>8} {:>9} {:>10} {:>9} {:>10}  {}"
print(fmt.format("file", "run", "wall s", "x base", "peak MB", "target s", "target MB", "result"))
for size, (t_wall, t_mem) in targets.items():
    bw, bm = med(size, "baseline")
    print(fmt.format(size, "info --stats", f"{bw:.2f}", "1.00", f"{bm:.0f}", "-", "-", "baseline"))
    for th in (1, 2):
        w, m = med(size, f"analyze-t{th}")
        if w is None:
            print(fmt.format(size, f"analyze -t{th}", "-", "-", "-", "-", "-", "n/a"))
            failed = True
            continue
        verdict = "-"
        if th == 2:
            ok = w <= t_wall and (t_mem is None or m <= t_mem)
            failed |= not ok
            verdict = "PASS" if ok else "FAIL"
        print(fmt.format(size, f"analyze -t{th}", f"{w:.2f}", f"{w / bw:.2f}", f"{m:.0f}",
                         f"{t_wall:.0f}", f"{t_mem:.0f}" if t_mem else "-", verdict))
    w1, _ = med(size, "analyze-t1")
    w2, _ = med(size, "analyze-t2")
    same = identical.get(size, "no") == "yes"
    failed |= not same
    speedup = f"{w1 / w2:.2f}x" if w1 and w2 else "-"
    print(f"{size}: 2-thread speed-up {speedup}; JSON 1 vs 2 threads byte-identical: "
          f"{'yes' if same else 'NO'}")
print("wall s: median over the repetitions; peak MB: largest peak RSS (MiB) over them; x base: "
      "wall / `flowmrd info --stats` of the same file in the same run")
print("RESULT (analyze):", "some target missed" if failed else "all targets met")
sys.exit(1 if failed else 0)
EOF
