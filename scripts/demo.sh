#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Demo: install dependencies, build flowmrd (Release) into build/, run it on the bundled demo
# FCS files in samples/demo/ (`flowmrd info --stats`), then the MRD job: `flowmrd analyze` on
# every row of samples/demo/manifest.csv with its protocol, timepoint and clinical inputs (the
# diagnosis result of the same patient guides the later timepoints, the results of earlier
# protocol timepoints feed the protocol rules), results in build/demo/.
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
# The MRD job: one `flowmrd analyze` per manifest row.
manifest=samples/demo/manifest.csv
out_dir=build/demo
mkdir -p "$out_dir"

# Manifest timepoint -> protocol timepoint id (panels/protocols/*.toml). The demo manifest names
# timepoints as a clinic does (diagnosis, day15, day33); the protocols use their own ids (dx, eoi,
# d15). A timepoint that is neither mapped here nor an id of the protocol is analysed without
# --protocol (the protocol has no rule for it).
declare -A timepoint_map=(
  [interfant-21:diagnosis]=dx
  [interfant-21:day33]=eoi
  [interfant-21:blin1]=blin1
  [aieop-bfm-all-2009:day15]=d15
)
# The timepoint ids a protocol file declares ([[timepoint]] id = ...), one per line.
protocol_timepoints() {
  python3 - "panels/protocols/$1.toml" <<'EOF' 2>/dev/null || true
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    for t in tomllib.load(f).get("timepoint", []):
        print(t.get("id", ""))
EOF
}

rows_file=$out_dir/samples.tsv
: >"$rows_file"
declare -A diagnosis_json=()
# Per patient: results of earlier timepoints analysed under a protocol ("path|path|"), passed as
# --previous so rules about earlier timepoints (e.g. Interfant-21's end-of-induction MRD) decide.
declare -A previous_json=()
sample_failed=()
samples_run=0
header_seen=0
while IFS=, read -r patient timepoint tube file protocol age_days wbc kmt2a cns day8 truth || [[ -n ${patient:-} ]]; do
  if [[ $header_seen == 0 ]]; then
    header_seen=1
    continue
  fi
  [[ -n $patient ]] || continue
  samples_run=$((samples_run + 1))
  id=$(printf '%s-%s' "$patient" "$timepoint" | tr '[:upper:]' '[:lower:]')
  banner "flowmrd analyze: $patient $timepoint ($tube, $file)"
  args=(analyze "samples/demo/$file" --json "$out_dir/$id.json" --plots "$out_dir/plots/$id")
  protocol_tp=""
  protocol_note=""
  if [[ -n $protocol ]]; then
    protocol_tp=${timepoint_map[$protocol:$timepoint]:-}
    if [[ -z $protocol_tp ]] && protocol_timepoints "$protocol" | grep -qx -- "$timepoint"; then
      protocol_tp=$timepoint
    fi
  fi
  if [[ -n $protocol_tp ]]; then
    args+=(--protocol "$protocol" --timepoint "$protocol_tp")
    [[ -n $age_days ]] && args+=(--clinical "age_days=$age_days")
    [[ -n $wbc ]] && args+=(--clinical "wbc=$wbc")
    [[ -n $kmt2a ]] && args+=(--clinical "kmt2a=$kmt2a")
    [[ -n $cns ]] && args+=(--clinical "cns=$cns")
    [[ -n $day8 ]] && args+=(--clinical "day8_pb_blasts_per_ul=$day8")
  elif [[ -n $protocol ]]; then
    protocol_note="$protocol has no timepoint '$timepoint' (analysed without --protocol)"
    echo "note: $protocol_note"
  fi
  if [[ $timepoint != diagnosis && -n ${diagnosis_json[$patient]:-} ]]; then
    args+=(--diagnosis "${diagnosis_json[$patient]}")
  fi
  if [[ -n $protocol_tp && -n ${previous_json[$patient:$protocol]:-} ]]; then
    IFS='|' read -r -a earlier <<<"${previous_json[$patient:$protocol]}"
    for e in "${earlier[@]}"; do
      [[ -n $e ]] && args+=(--previous "$e")
    done
  fi
  rm -f "$out_dir/$id.json"
  echo "+ $flowmrd ${args[*]}"
  rc=0
  "$flowmrd" "${args[@]}" </dev/null || rc=$?
  if [[ $rc -ne 0 || ! -f $out_dir/$id.json ]]; then
    echo "!! flowmrd analyze exited with status $rc on $patient $timepoint (samples/demo/$file)" >&2
    sample_failed+=("$patient $timepoint (exit $rc)")
  else
    if [[ $timepoint == diagnosis ]]; then diagnosis_json[$patient]=$out_dir/$id.json; fi
    if [[ -n $protocol_tp ]]; then previous_json[$patient:$protocol]+="$out_dir/$id.json|"; fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$patient" "$timepoint" "${protocol_tp:+$protocol:$protocol_tp}" \
    "$out_dir/$id.json" "samples/demo/$truth" "$rc" "$protocol_note" >>"$rows_file"
done <"$manifest"

banner "MRD results (samples/demo/manifest.csv)"
python3 - "$rows_file" <<'EOF'
import json, sys

def pct(x):
    if x is None:
        return "-"
    return "0" if x == 0 else (f"{x:.2g}" if x < 1 else f"{x:.3g}")

rows = []
for line in open(sys.argv[1]):
    patient, timepoint, proto, result, truth, rc, note = line.rstrip("\n").split("\t")
    try:
        t = json.load(open(truth))
        truth_pct = pct(t.get("mrd_percent"))
    except (OSError, ValueError):
        truth_pct = "?"
    if rc != "0":
        rows.append([patient, timepoint, proto or "-", "-", f"FAILED (exit {rc})", "-", "-", truth_pct])
        continue
    try:
        r = json.load(open(result))
    except (OSError, ValueError) as e:
        rows.append([patient, timepoint, proto or "-", "-", f"unreadable result: {e}", "-", "-", truth_pct])
        continue
    mrd = r.get("mrd", {})
    flags = ",".join(f["id"] for f in r.get("flags", []) if f.get("raised")) or "-"
    p = r.get("protocol", {}) or {}
    msg = note or p.get("message") or p.get("status") or "-"
    alerts = [a.get("alert") for a in p.get("alerts", []) if a.get("evaluable") and a.get("alert")]
    if alerts:  # first, so the column's truncation never hides them
        msg = "ALERT: " + "; ".join(alerts) + " | " + msg
    rows.append([patient, timepoint, proto or "-", pct(mrd.get("percent")), str(mrd.get("status", "-")),
                 flags, msg, truth_pct])

header = ["patient", "timepoint", "protocol:timepoint", "MRD %", "status", "flags raised",
          "protocol message", "truth MRD %"]
widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i]) for i in range(len(header))]
widths[6] = min(widths[6], 80)
def cell(s, w):
    return s if len(s) <= w else s[: w - 3] + "..."
for r in [header, ["-" * w for w in widths]] + rows:
    print("  ".join(cell(c, w).ljust(w) for c, w in zip(r, widths)).rstrip())
EOF
echo
echo "outputs: $out_dir/<patient>-<timepoint>.json (result, schema flowmrd.result/1),"
echo "         $out_dir/plots/<patient>-<timepoint>/ (gating plots, PNG); the full protocol messages are in the JSON"

banner "demo summary"
echo "files: ${#demo_files[@]}, failed: ${#failed[@]}"
echo "samples analysed: $samples_run, failed: ${#sample_failed[@]}"
if [[ ${#failed[@]} -gt 0 || ${#sample_failed[@]} -gt 0 ]]; then
  [[ ${#failed[@]} -eq 0 ]] || printf '  failed: %s\n' "${failed[@]}" >&2
  [[ ${#sample_failed[@]} -eq 0 ]] || printf '  failed sample: %s\n' "${sample_failed[@]}" >&2
  exit 1
fi
echo "demo OK"
