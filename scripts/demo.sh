#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Demo: install dependencies, build flowmrd (Release) into build/, run it on the bundled demo
# FCS files in samples/demo/ (`flowmrd info --stats`), then the MRD job: `flowmrd batch
# samples/demo/manifest.csv` (every sample with its protocol, timepoint and clinical inputs; the
# diagnosis result of a patient guides the later timepoints, earlier timepoints feed the
# protocol rules) into build/demo/: per-sample results and plots, the results store, one HTML
# report per patient and the batch summary. Prints where the reports are.
#
# Usage: scripts/demo.sh [--jobs N]
#
# Environment: FLOWMRD_SKIP_SETUP=1 skips scripts/setup-deps.sh (non-Debian machines).
# Exits non-zero when the build fails, when samples/demo/ has no .fcs file, or when flowmrd fails
# on any demo file or sample (a failed sample prints its error and the demo goes on with the
# others). Works from any working directory.
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
    -h | --help) sed -n '4,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

# ---------------------------------------------------------------------------------------------
# The MRD job: `flowmrd batch` over the demo manifest.
banner "flowmrd batch samples/demo/manifest.csv (results, store, reports)"
manifest=samples/demo/manifest.csv
out_dir=build/demo
# A fresh output folder each time: the demo shows a full run (a lab reruns with --resume).
rm -rf "$out_dir"
batch_rc=0
"$flowmrd" batch "$manifest" --out "$out_dir" --jobs "$jobs" </dev/null || batch_rc=$?
if [[ $batch_rc -ne 0 ]]; then
  echo "!! flowmrd batch exited with status $batch_rc (7: some samples failed, see $out_dir/summary.csv)" >&2
fi

banner "MRD results (measured vs the simulator's truth)"
python3 - "$manifest" "$out_dir" <<'EOF'
import csv, json, os, sys

manifest, out = sys.argv[1], sys.argv[2]
folder = os.path.dirname(manifest)

def pct(x):
    if x is None:
        return "-"
    return "0" if x == 0 else (f"{x:.2g}" if x < 1 else f"{x:.3g}")

rows, seen = [], set()
for m in csv.DictReader(open(manifest, encoding="utf-8")):
    key = (m["patient"], m.get("sample") or m["timepoint"])
    if key in seen:
        continue
    seen.add(key)
    try:
        truth_pct = pct(json.load(open(os.path.join(folder, m.get("truth", "")))).get("mrd_percent"))
    except (OSError, ValueError):
        truth_pct = "?"
    d = os.path.join(out, "samples", *key)
    try:
        o = json.load(open(os.path.join(d, "outcome.json")))
    except (OSError, ValueError):
        rows.append([*key, m["timepoint"], "-", "NOT RUN", "-", "-", truth_pct])
        continue
    if o["status"] != "ok":
        rows.append([*key, m["timepoint"], "-", "FAILED: " + (o.get("error") or ""), "-", "-", truth_pct])
        continue
    r = json.load(open(os.path.join(d, "result.json")))
    mrd = r.get("mrd", {})
    flags = ",".join(f["id"] for f in r.get("flags", []) if f.get("raised")) or "-"
    p = r.get("protocol", {}) or {}
    msg = p.get("message") or p.get("status") or "-"
    if p.get("risk_group") and not msg.startswith(p["risk_group"]):
        msg = f"{p['risk_group']}: {msg}"
    alerts = [a.get("alert") for a in p.get("alerts", []) if a.get("evaluable") and a.get("alert")]
    if alerts:  # first, so the column's truncation never hides them
        msg = "ALERT: " + "; ".join(alerts) + " | " + msg
    tp = m["timepoint"] + (f" ({o['protocol_timepoint']})" if o.get("protocol_timepoint") else "")
    rows.append([*key, tp, pct(mrd.get("percent")), str(mrd.get("status", "-")), flags, msg, truth_pct])

header = ["patient", "sample", "timepoint", "MRD %", "status", "flags raised", "protocol", "truth MRD %"]
widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i]) for i in range(len(header))]
widths[6] = min(widths[6], 70)
def cell(s, w):
    return s if len(s) <= w else s[: w - 3] + "..."
for r in [header, ["-" * w for w in widths]] + rows:
    print("  ".join(cell(c, w).ljust(w) for c, w in zip(r, widths)).rstrip())
EOF

echo
echo "outputs in $out_dir/:"
echo "  reports/<patient>.html       one MRD report per patient (open in a browser; 'flowmrd report --pdf' prints one)"
echo "  summary.csv, summary.html    one row per sample, failures with their reasons"
echo "  flowmrd.sqlite               the results store ('flowmrd db patients --db $out_dir/flowmrd.sqlite')"
echo "  samples/<patient>/<sample>/  result.json (flowmrd.result/1), plots/*.png, outcome.json"

banner "demo summary"
echo "files: ${#demo_files[@]}, failed: ${#failed[@]}"
samples=$(python3 -c 'import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1]))))' "$out_dir/summary.csv" 2>/dev/null || echo 0)
samples_failed=$(python3 -c 'import csv,sys; print(sum(r["outcome"] != "analysed" for r in csv.DictReader(open(sys.argv[1]))))' "$out_dir/summary.csv" 2>/dev/null || echo "?")
echo "samples analysed: $samples, failed: $samples_failed"
echo "reports:"
for r in "$out_dir"/reports/*.html; do [[ -f $r ]] && echo "  $repo_root/$r"; done
echo "batch summary: $repo_root/$out_dir/summary.html"
if [[ ${#failed[@]} -gt 0 || $batch_rc -ne 0 || $samples_failed != 0 ]]; then
  [[ ${#failed[@]} -eq 0 ]] || printf '  failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "demo OK"
