#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Build and run the libfcs read benchmarks and the gating (compensation, transform, Frame)
# benchmarks; print the figures against the project's targets.
#
# Usage: scripts/bench.sh [--build-dir DIR] [--jobs N] [--repetitions N] [--regenerate]
#
#   Configures DIR (default build/) as Release, builds fcs_make_bench_files, fcs_bench_read and
#   fcs_read_peak_memory, writes the three 5,000,000-event input files once (600 MB in all),
#   runs the throughput benchmark (memcpy of the DATA segment vs fcs::read_file/read_bytes,
#   medians over N repetitions, default 3) and the peak-memory tool on each file, and prints a
#   summary table with PASS/FAIL against the targets (docs/benchmarks.md). Then runs
#   scripts/bench-analyze.sh (flowmrd analyze on 1M and 5M-event combined tubes, same DIR) and
#   scripts/bench-batch.sh (flowmrd batch on 20 files of 1M events, --jobs 1 vs 2, same DIR).
#   --regenerate  rewrite the input files even when they exist.
#
# Environment: FLOWMRD_BENCH_DIR: input files (default DIR/bench-data); FLOWMRD_BENCH_ITERATIONS:
# timed iterations per benchmark run (default 3). Raw results go to DIR/bench-results/.
# Exits 1 when a target is missed, 2 on usage errors, other non-zero when building or running
# fails. Run it on an otherwise idle machine: the figures are wall-clock times.
set -Eeuo pipefail

usage() { sed -n '4,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

build_dir=build
jobs=""
repetitions=3
regenerate=0
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
command -v python3 >/dev/null 2>&1 || { echo "error: python3 is needed for the summary" >&2; exit 2; }

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$(pwd)
mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)
export FLOWMRD_BENCH_DIR=${FLOWMRD_BENCH_DIR:-$build_dir/bench-data}
results_dir=$build_dir/bench-results
mkdir -p "$results_dir"

banner() {
  printf '\n== %s\n' "$1"
}

# ---------------------------------------------------------------------------------------------
banner "configure and build ($build_dir, Release)"
gen=()
# Keep the generator of an existing build tree (cmake refuses to switch).
if [[ ! -f $build_dir/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
  gen=(-G Ninja)
fi
cmake -S "$repo_root" -B "$build_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DFLOWMRD_BUILD_BENCH=ON
cmake --build "$build_dir" -j "$jobs" --target fcs_make_bench_files fcs_bench_read fcs_read_peak_memory gating_bench gating_bench_gates

find_exe() {
  local exe
  exe=$(find "$build_dir" -type f -name "$1" -perm -u+x -print -quit)
  [[ -n $exe ]] || { echo "error: built $1 but found no executable under $build_dir" >&2; exit 3; }
  printf '%s\n' "$exe"
}
make_files=$(find_exe fcs_make_bench_files)
bench_read=$(find_exe fcs_bench_read)
peak_memory=$(find_exe fcs_read_peak_memory)
gating_bench=$(find_exe gating_bench)
gates_bench=$(find_exe gating_bench_gates)

# ---------------------------------------------------------------------------------------------
banner "input files ($FLOWMRD_BENCH_DIR)"
gen_args=()
[[ $regenerate == 1 ]] && gen_args=(--force)
"$make_files" "${gen_args[@]}" "$FLOWMRD_BENCH_DIR"
layouts=(float32_be int16_log_be int32_be)
# "From the page cache": read every file once before timing anything.
for l in "${layouts[@]}"; do
  cat "$FLOWMRD_BENCH_DIR/$l.fcs" >/dev/null
done

banner "machine"
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || echo unknown CPU)"
machine+=", $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo 2>/dev/null || true)"
echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:  $machine"
echo "kernel:   $(uname -sr)"
echo "compiler: $(c++ --version | head -n1)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) (1/5/15 min; should be near 0)"

# ---------------------------------------------------------------------------------------------
banner "throughput: fcs_bench_read ($repetitions repetitions)"
"$bench_read" --benchmark_repetitions="$repetitions" --benchmark_report_aggregates_only=true \
  --benchmark_out="$results_dir/bench_read.json" --benchmark_out_format=json \
  | tee "$results_dir/bench_read.txt"

banner "peak memory: fcs_read_peak_memory"
for l in "${layouts[@]}"; do
  # A fresh process per file: ru_maxrss is a per-process high-water mark.
  "$peak_memory" "$FLOWMRD_BENCH_DIR/$l.fcs" | tee "$results_dir/peak_$l.txt"
  echo
done

banner "compensation, transforms, Frame: gating_bench (in-memory synthetic 5M x 12)"
"$gating_bench" --benchmark_repetitions="$repetitions" --benchmark_report_aggregates_only=true \
  --benchmark_out="$results_dir/gating_bench.json" --benchmark_out_format=json \
  | tee "$results_dir/gating_bench.txt"
gating_missed=0
grep -q ' FAIL$' "$results_dir/gating_bench.txt" && gating_missed=1

banner "gate evaluation: gating_bench_gates (polygon over 10M events, 20-gate tree over 5M events)"
"$gates_bench" --benchmark_repetitions="$repetitions" --benchmark_report_aggregates_only=true \
  --benchmark_out="$results_dir/gates_bench.json" --benchmark_out_format=json \
  | tee "$results_dir/gates_bench.txt"
grep -q ' FAIL$' "$results_dir/gates_bench.txt" && gating_missed=1

# ---------------------------------------------------------------------------------------------
banner "flowmrd analyze: 1M and 5M-event combined tubes (scripts/bench-analyze.sh)"
analyze_missed=0
bash "$repo_root/scripts/bench-analyze.sh" --build-dir "$build_dir" --jobs "$jobs" --repetitions "$repetitions" || analyze_missed=1

banner "flowmrd batch: 20 files of 1M events, --jobs 1 vs 2 (scripts/bench-batch.sh)"
batch_missed=0
bash "$repo_root/scripts/bench-batch.sh" --build-dir "$build_dir" || batch_missed=1

# ---------------------------------------------------------------------------------------------
banner "summary"
python3 - "$results_dir" "$machine" <<'EOF'
import json, re, sys
from pathlib import Path

results, machine = Path(sys.argv[1]), sys.argv[2]
# layout: (read/memcpy target, peak/data target or None when the issue sets none)
targets = {"float32_be": (0.5, 1.2), "int16_log_be": (0.25, None), "int32_be": (0.25, None)}

# Median bytes/s and CPU time per benchmark (the means of the runs without a median aggregate).
rates, runs, cpu, cpu_runs = {}, {}, {}, {}
for b in json.loads((results / "bench_read.json").read_text())["benchmarks"]:
    if b.get("error_occurred") or "bytes_per_second" not in b:
        continue
    name = re.sub(r"/(iterations|repeats|min_time|threads):[^/]*|/real_time", "", b["run_name"])
    if b.get("run_type") == "aggregate":
        if b.get("aggregate_name") == "median":
            rates[name] = b["bytes_per_second"]
            cpu[name] = b["cpu_time"]
    else:
        runs.setdefault(name, []).append(b["bytes_per_second"])
        cpu_runs.setdefault(name, []).append(b["cpu_time"])
for name, values in runs.items():
    rates.setdefault(name, sum(values) / len(values))
for name, values in cpu_runs.items():
    cpu.setdefault(name, sum(values) / len(values))

def peak(layout):
    f = results / f"peak_{layout}.txt"
    if not f.exists():
        return {}
    return dict(line.split(": ", 1) for line in f.read_text().splitlines() if ": " in line)

failed = False
def verdict(value, target, higher_is_better=True):
    global failed
    if value is None:  # a benchmark or the memory tool did not run
        failed = True
        return "n/a"
    if target is None:
        return "-"
    ok = value >= target if higher_is_better else value <= target
    failed |= not ok
    return "PASS" if ok else "FAIL"

print(f"machine: {machine}")
print("Throughput: DATA segment bytes/s, read vs memcpy of the same bytes (median; GB = 1e9 bytes)")
fmt = "{:<14} {:>8} {:>12} {:>12} {:>7} {:>12} {:>7} {:>9} {:>7}  {}"
print(fmt.format("layout", "data MB", "memcpy GB/s", "read_file", "ratio", "read_bytes", "ratio",
                 "cpu ratio", "target", "result"))
for layout, (t_speed, _) in targets.items():
    m = rates.get(f"BM_memcpy_data_segment/{layout}")
    f = rates.get(f"BM_read_{layout}")
    b = rates.get(f"BM_read_bytes_{layout}")
    rf = f / m if m and f else None
    rb = b / m if m and b else None
    # read_file vs memcpy from CPU times: context on a busy machine; the verdict is wall-clock.
    cm, cf = cpu.get(f"BM_memcpy_data_segment/{layout}"), cpu.get(f"BM_read_{layout}")
    rc = cm / cf if cm and cf else None
    data_mb = float(peak(layout).get("data_segment_bytes", "nan")) / 1e6
    g = lambda x: f"{x / 1e9:.2f}" if x else "-"
    r = lambda x: f"{x:.3f}" if x is not None else "-"
    # The target is about decoding "from the page cache", i.e. read_file.
    print(fmt.format(layout, f"{data_mb:.0f}", g(m), g(f), r(rf), g(b), r(rb), r(rc),
                     f"{t_speed:.2f}", verdict(rf, t_speed)))

print()
print("Peak memory of fcs::read_file in a fresh process (maxrss after - RSS before)")
fmt = "{:<14} {:>8} {:>10} {:>9} {:>10} {:>11} {:>7}  {}"
print(fmt.format("layout", "data MB", "events MB", "peak MB", "peak/data", "peak/events",
                 "target", "result"))
for layout, (_, t_mem) in targets.items():
    p = peak(layout)
    if not p:
        print(fmt.format(layout, "-", "-", "-", "-", "-", "-", "n/a"))
        failed = True
        continue
    d, e, k = (float(p[key]) for key in ("data_segment_bytes", "event_bytes", "peak_bytes"))
    ratio = k / d if d else None
    print(fmt.format(layout, f"{d / 1e6:.0f}", f"{e / 1e6:.0f}", f"{k / 1e6:.0f}",
                     f"{ratio:.3f}" if ratio else "-", f"{k / e:.3f}" if e else "-",
                     f"{t_mem:.1f}" if t_mem else "-", verdict(ratio, t_mem, False)))
print()
print("RESULT (read):", "some target missed" if failed else "all targets met")
sys.exit(1 if failed else 0)
EOF
if [[ $gating_missed == 1 ]]; then
  echo "RESULT (gating): some target missed (see the gating_bench summary above)"
  exit 1
fi
echo "RESULT (gating): all targets met"
if [[ $analyze_missed == 1 ]]; then
  echo "RESULT (analyze): some target missed or the run failed (see the bench-analyze summary above)"
  exit 1
fi
if [[ $batch_missed == 1 ]]; then
  echo "RESULT (batch): some target missed or the run failed (see the bench-batch summary above)"
  exit 1
fi
