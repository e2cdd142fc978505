#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Accuracy metrics of `flowmrd analyze` on the simulated cohort (docs/validation.md).

Usage: scripts/validation/metrics.py --cohort DIR [--cases REGEX] [--markdown FILE]
                                     [--lod N] [--lloq N] [--flowmrd EXE]

Reads DIR/manifest.csv (scripts/validation/make_cohort.py), the truth files DIR/data/*.truth.json
and what scripts/validate.sh left in DIR/results/: <case>.json (the result), <case>.events.csv
(`--events` of the first tube), <case>.error (a failed run), <case>.seconds. Prints the per-case
table and the summary metrics for train, test and all with PASS/FAIL against the targets of
issue 6; --markdown FILE writes the same as a markdown section. Python 3 standard library only.

Exit status: 0 when the tables were written, whether targets are met or not; 1 on a script error
(unreadable manifest or truth file).

Definitions (docs/validation.md, "Metrics"):
- truth of a case = its first tube's truth file (MRD %, leukemic events k); the MRD level of a
  case (for "truth >= x%" strata) is the scenario's configured level from the manifest, so the
  rounding of one event never moves a case across a stratum boundary;
- truth status from k with the analysis' default event rules: k >= LLOQ (50) positive,
  LOD (20) <= k < LLOQ positive_below_lloq, k < LOD negative; a measured insufficient_sensitivity
  counts as negative (both say "not detected");
- expected flags: cd19_negative when the first tube holds >= LOD CD19-negative B blasts;
  lineage_switch when the tube with myeloid markers (combined tube, or the second tube of a
  two-tube case) holds >= LOD monocytic blasts; "no" when that population is absent; in between
  (present, fewer than LOD events) either answer is accepted;
- event-level precision/recall/F1 on the first tube: truth positives are the leukemic events that
  tube can show (CD19+ and CD19- B blasts; monocytic blasts too when the tube has CD33/CD64), the
  predicted positives are the `blast` = 1 rows of --events;
- Pearson r of log10(measured %) vs log10(truth %) over cases with level >= 0.01% whose truth
  holds at least LOD leukemic events (fewer cannot be measured under the LOD rule; the status
  agreement covers them); a measured 0 (or a failed case) enters as half an event,
  log10(50 / D) with D the measured (else the true) denominator;
- median relative error |measured - truth| / truth over cases with level >= 0.1% (a failed case
  counts as measured 0, relative error 1).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

LEUKEMIC_B = {"c", "d"}      # blast_b, blast_b_cd19neg (label codes, docs/simulator.md)
LEUKEMIC_MONO = {"e"}        # blast_monocytic
MYELOID_PROFILES = {"bd-fortessa-12c-combined", "bd-fortessa-10c-myelomonocytic"}

STATUS_SHORT = {
    "positive": "pos",
    "positive_below_lloq": "<lloq",
    "negative": "neg",
    "insufficient_sensitivity": "insuf",
    "not_evaluable": "n/e",
    "error": "ERROR",
    "missing": "-",
}
FLAG_SHORT = {"cd19_negative": "C", "lineage_switch": "L", "qc_anomaly": "Q", "low_cellularity": "W"}


@dataclass
class CaseResult:
    case: str
    split: str
    category: str
    layout: str
    level: float                  # configured MRD %, manifest
    events: int                   # first tube
    truth_percent: float
    truth_k: int
    truth_denominator: int
    truth_status: str
    expect_cd19neg: str           # yes / no / optional
    expect_switch: str
    anomaly: bool
    cd19neg_fraction: float
    switch_fraction: float
    measured_percent: float | None = None
    measured_k: int | None = None
    measured_denominator: int | None = None
    measured_status: str = "missing"
    raised: list[str] = field(default_factory=list)
    error: str = ""
    tp: int | None = None
    fp: int | None = None
    fn: int | None = None
    events_note: str = ""
    seconds: float | None = None

    @property
    def status_class(self) -> str:
        return "negative" if self.measured_status == "insufficient_sensitivity" else self.measured_status

    @property
    def status_ok(self) -> bool:
        return self.status_class == self.truth_status

    @property
    def has_result(self) -> bool:
        return self.measured_status not in ("error", "missing")

    @property
    def precision(self) -> float | None:
        if self.tp is None or self.tp + self.fp == 0:
            return None
        return self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        if self.tp is None or self.tp + self.fn == 0:
            return None
        return self.tp / (self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        if self.tp is None or 2 * self.tp + self.fp + self.fn == 0:
            return None
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn)

    @property
    def rel_error(self) -> float | None:
        if self.truth_percent <= 0:
            return None
        m = self.measured_percent if self.measured_percent is not None else 0.0
        return abs(m - self.truth_percent) / self.truth_percent


def truth_status(k: int, lod: int, lloq: int) -> str:
    if k >= lloq:
        return "positive"
    if k >= lod:
        return "positive_below_lloq"
    return "negative"


def expectation(count: int, lod: int) -> str:
    return "yes" if count >= lod else ("no" if count == 0 else "optional")


def load_case(row: dict[str, str], cohort: Path, lod: int, lloq: int) -> CaseResult:
    truth_paths = [cohort / p for p in row["truth"].split(";")]
    profiles = row["tubes"].split("+")
    truths = []
    for p in truth_paths:
        try:
            truths.append(json.loads(p.read_text()))
        except (OSError, ValueError) as e:
            raise RuntimeError(f"{row['case']}: cannot read truth file {p}: {e}") from e
    t1 = truths[0]
    counts1 = t1["counts"]
    switch_tube = next((t for t, prof in zip(truths, profiles) if prof in MYELOID_PROFILES), None)
    r = CaseResult(
        case=row["case"], split=row["split"], category=row["category"], layout=row["layout"],
        level=float(row["mrd_percent"]), events=int(t1["events"]),
        truth_percent=float(t1["mrd_percent"]), truth_k=int(t1["blasts"]),
        truth_denominator=int(t1["denominator"]),
        truth_status=truth_status(int(t1["blasts"]), lod, lloq),
        expect_cd19neg=expectation(int(counts1.get("blast_b_cd19neg", 0)), lod),
        expect_switch=(expectation(int(switch_tube["counts"].get("blast_monocytic", 0)), lod)
                       if switch_tube is not None else "no"),
        anomaly=row["flow_anomaly"] != "none",
        cd19neg_fraction=float(row["cd19neg_fraction"]),
        switch_fraction=float(row["lineage_switch_fraction"]),
    )

    res = cohort / "results" / row["case"]
    seconds = res.with_name(res.name + ".seconds")
    if seconds.exists():
        try:
            r.seconds = float(seconds.read_text().strip())
        except ValueError:
            pass
    err = res.with_name(res.name + ".error")
    js = res.with_name(res.name + ".json")
    if err.exists():
        r.measured_status = "error"
        r.error = err.read_text().strip().splitlines()[-1] if err.read_text().strip() else "failed"
    if js.exists() and not err.exists():
        try:
            result = json.loads(js.read_text())
            mrd = result.get("mrd", {})
            r.measured_status = str(mrd.get("status", "missing"))
            if mrd.get("percent") is not None:
                r.measured_percent = float(mrd["percent"])
            if mrd.get("blast_events") is not None:
                r.measured_k = int(mrd["blast_events"])
            if mrd.get("denominator_events") is not None:
                r.measured_denominator = int(mrd["denominator_events"])
            if r.measured_percent is None and r.measured_k is not None and r.measured_denominator:
                r.measured_percent = 100.0 * r.measured_k / r.measured_denominator
            r.raised = [f.get("id", "?") for f in result.get("flags", []) if f.get("raised")]
        except (OSError, ValueError, TypeError, AttributeError) as e:
            r.measured_status = "error"
            r.error = f"unreadable result JSON: {e}"

    ev = res.with_name(res.name + ".events.csv")
    if ev.exists() and r.measured_status != "error":
        leukemic = LEUKEMIC_B | (LEUKEMIC_MONO if profiles[0] in MYELOID_PROFILES else set())
        labels = t1["event_labels"]
        try:
            with ev.open(newline="") as f:
                reader = csv.reader(f)
                header = next(reader, None)
                if header is None or [h.strip() for h in header[:2]] != ["population", "blast"]:
                    raise ValueError(f"header {header!r}, expected population,blast")
                pred = [rec[1].strip() == "1" for rec in reader if rec]
            if len(pred) != len(labels):
                r.events_note = f"--events has {len(pred)} rows, the first tube {len(labels)} events"
            else:
                tp = fp = fn = 0
                for p, lab in zip(pred, labels):
                    true = lab in leukemic
                    if p and true:
                        tp += 1
                    elif p:
                        fp += 1
                    elif true:
                        fn += 1
                r.tp, r.fp, r.fn = tp, fp, fn
        except (OSError, ValueError, IndexError) as e:
            r.events_note = f"--events unreadable: {e}"
    elif r.has_result:
        r.events_note = "no --events file"
    return r


# ------------------------------------------------------------------------------------------------
# Summary metrics
# ------------------------------------------------------------------------------------------------

def pearson(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 3:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return sxy / math.sqrt(sxx * syy)


@dataclass
class Metric:
    name: str
    target: str
    value: str
    verdict: str   # PASS, FAIL, n/a, "-" (informational)
    detail: str = ""


def summarize(cases: list[CaseResult]) -> list[Metric]:
    out: list[Metric] = []

    def verdict(ok: bool | None, missing: int = 0) -> str:
        if ok is None:
            return "n/a"
        return "PASS" if ok and missing == 0 else "FAIL"

    # 1. Pearson r on log10, level >= 0.01 % and truth k >= LOD (a truth below the LOD is not
    # measurable under the LOD rule; the status agreement covers those cases).
    below_lod = [c for c in cases if c.level >= 0.01 and c.truth_status == "negative"]
    sel = [c for c in cases if c.level >= 0.01 and c.truth_status != "negative"]
    xs, ys = [], []
    for c in sel:
        m = c.measured_percent if c.has_result and c.measured_percent is not None else 0.0
        if m <= 0:
            d = c.measured_denominator or c.truth_denominator
            m = 100.0 * 0.5 / d
        xs.append(math.log10(c.truth_percent))
        ys.append(math.log10(m))
    r = pearson(xs, ys)
    missing = sum(not c.has_result for c in sel)
    out.append(Metric("Pearson r, log10 MRD %, truth >= 0.01%", ">= 0.99",
                      f"{r:.4f}" if r is not None else "n/a", verdict(r >= 0.99 if r is not None else None, missing),
                      f"n={len(sel)}" + (f", {missing} without result" if missing else "")
                      + (f"; truth below the LOD, not included: {' '.join(c.case for c in below_lod)}"
                         if below_lod else "")))

    # 2. Median relative error, level >= 0.1 %.
    sel = [c for c in cases if c.level >= 0.1]
    errs = [c.rel_error for c in sel if c.rel_error is not None]
    med = statistics.median(errs) if errs else None
    missing = sum(not c.has_result for c in sel)
    out.append(Metric("median relative error, truth >= 0.1%", "<= 15%",
                      f"{100 * med:.1f}%" if med is not None else "n/a",
                      verdict(med <= 0.15 if med is not None else None, missing),
                      f"n={len(errs)}, max {100 * max(errs):.0f}%" if errs else ""))

    # 3. Status agreement, all cases.
    agree = sum(c.status_ok for c in cases)
    share = agree / len(cases) if cases else None
    out.append(Metric("status agreement (pos / <LLOQ / neg)", ">= 95%",
                      f"{100 * share:.1f}%" if share is not None else "n/a",
                      verdict(share >= 0.95 if share is not None else None),
                      f"{agree}/{len(cases)}"))

    # 4. Normals: false MRD-positive and false lineage_switch.
    normals = [c for c in cases if c.category == "normal"]
    no_result = [c.case for c in normals if not c.has_result]
    missing = len(no_result)
    fpos = [c.case for c in normals if c.status_class in ("positive", "positive_below_lloq")]
    fls = [c.case for c in normals if "lineage_switch" in c.raised]
    suffix = f"; without result: {' '.join(no_result)}" if no_result else ""
    out.append(Metric("false MRD-positive calls on normal marrow", "0", str(len(fpos)),
                      verdict(not fpos if normals else None, missing),
                      f"n={len(normals)}" + (f"; false: {' '.join(fpos)}" if fpos else "") + suffix))
    out.append(Metric("false lineage_switch on normal marrow", "0", str(len(fls)),
                      verdict(not fls if normals else None, missing),
                      f"n={len(normals)}" + (f"; false: {' '.join(fls)}" if fls else "") + suffix))

    # 5. CD19-negative / lineage-switch cases flagged at >= 0.1 %.
    for flag, frac, label in (("cd19_negative", "cd19neg_fraction", "CD19-negative"),
                              ("lineage_switch", "switch_fraction", "lineage-switch")):
        sel = [c for c in cases if getattr(c, frac) > 0 and c.level >= 0.1]
        hit = [c for c in sel if flag in c.raised]
        missed = [c.case for c in sel if flag not in c.raised]
        out.append(Metric(f"{label} cases flagged, truth >= 0.1%", "all",
                          f"{len(hit)}/{len(sel)}", verdict(len(hit) == len(sel) if sel else None),
                          f"missed: {' '.join(missed)}" if missed else ""))

    # 6. Median F1, level >= 0.1 %.
    sel = [c for c in cases if c.level >= 0.1]
    f1s = [c.f1 if c.f1 is not None else 0.0 for c in sel]
    med = statistics.median(f1s) if f1s else None
    missing = sum(c.f1 is None for c in sel)
    out.append(Metric("median event-level F1 (first tube), truth >= 0.1%", ">= 0.95",
                      f"{med:.3f}" if med is not None else "n/a",
                      verdict(med >= 0.95 if med is not None else None),
                      f"n={len(sel)}, min {min(f1s):.3f}" + (f", {missing} without F1 (counted 0)" if missing else "")
                      if f1s else ""))

    # Informational.
    fl_all = [c.case for c in cases if c.expect_switch == "no" and "lineage_switch" in c.raised]
    out.append(Metric("false lineage_switch, all cases without switch", "-", str(len(fl_all)), "-",
                      " ".join(fl_all)))
    fc_all = [c.case for c in cases if c.expect_cd19neg == "no" and "cd19_negative" in c.raised]
    out.append(Metric("false cd19_negative, all cases without CD19-neg blasts", "-", str(len(fc_all)), "-",
                      " ".join(fc_all)))
    an = [c for c in cases if c.anomaly]
    qa = [c for c in an if "qc_anomaly" in c.raised]
    q_false = [c.case for c in cases if not c.anomaly and "qc_anomaly" in c.raised]
    out.append(Metric("qc_anomaly raised on flow-anomaly cases", "-", f"{len(qa)}/{len(an)}", "-",
                      f"raised without anomaly: {' '.join(q_false)}" if q_false else ""))
    errs = [c.case for c in cases if c.measured_status in ("error", "missing")]
    out.append(Metric("cases without a result (analyze failed or not run)", "0", str(len(errs)),
                      "PASS" if not errs else "FAIL", " ".join(errs)))
    secs = [c.seconds for c in cases if c.seconds is not None]
    if secs:
        out.append(Metric("analysis wall time (s, --threads 1)", "-",
                          f"{sum(secs):.1f} total", "-",
                          f"median {statistics.median(secs):.2f}, max {max(secs):.2f}"))
    return out


# ------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------

def fmt_pct(x: float | None) -> str:
    if x is None:
        return "-"
    if x == 0:
        return "0"
    return f"{x:.3g}" if x < 100 else f"{x:.1f}"


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def flags_truth(c: CaseResult) -> str:
    s = ""
    s += {"yes": "C", "optional": "c", "no": ""}[c.expect_cd19neg]
    s += {"yes": "L", "optional": "l", "no": ""}[c.expect_switch]
    s += "q" if c.anomaly else ""
    return s or "-"


def flags_raised(c: CaseResult) -> str:
    if not c.has_result:
        return "-"
    s = "".join(FLAG_SHORT.get(f, "?") for f in sorted(c.raised, key=lambda f: "CLQW?".find(FLAG_SHORT.get(f, "?"))))
    return s or "-"


CASE_COLUMNS = ["case", "split", "category", "layout", "events", "truth %", "meas %", "rel.err",
                "truth st", "meas st", "st", "flags T", "flags R", "prec", "recall", "F1", "s"]


def case_cells(c: CaseResult) -> list[str]:
    rel = c.rel_error if c.has_result and c.truth_percent > 0 else None
    return [
        c.case, c.split, c.category, c.layout, f"{c.events // 1000}k",
        fmt_pct(c.truth_percent), fmt_pct(c.measured_percent) if c.has_result else "-",
        f"{100 * rel:.0f}%" if rel is not None else "-",
        STATUS_SHORT.get(c.truth_status, c.truth_status),
        STATUS_SHORT.get(c.measured_status, c.measured_status),
        "ok" if c.status_ok else "X",
        flags_truth(c), flags_raised(c),
        fmt_ratio(c.precision), fmt_ratio(c.recall), fmt_ratio(c.f1),
        f"{c.seconds:.1f}" if c.seconds is not None else "-",
    ]


def text_table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def md_table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    esc = lambda s: s.replace("|", "\\|")
    out = ["| " + " | ".join(esc(h) for h in header) + " |",
           "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


LEGEND = (
    "Status: pos = positive (k >= 50), <lloq = positive below the LLOQ (20 <= k < 50), neg = negative "
    "(k < 20; a measured insuf = insufficient_sensitivity counts as neg), n/e = not evaluable, ERROR = "
    "analyze failed. st: ok when the measured status matches the truth status. Flags T (expected): "
    "C = cd19_negative (>= 20 CD19-negative blasts), L = lineage_switch (>= 20 monocytic blasts in the "
    "tube with myeloid markers), lower case = present below 20 events (either answer accepted), q = flow "
    "anomaly simulated. Flags R (raised): C, L, Q = qc_anomaly, W = low_cellularity. prec/recall/F1: "
    "event level on the first tube (`--events`). s: analysis wall seconds."
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohort", required=True, type=Path)
    ap.add_argument("--cases", default="", help="only case ids matching this regular expression")
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--lod", type=int, default=20)
    ap.add_argument("--lloq", type=int, default=50)
    ap.add_argument("--flowmrd", default="", help="the flowmrd used (its --version goes in the header)")
    args = ap.parse_args()

    try:
        with (args.cohort / "manifest.csv").open(newline="") as f:
            rows = list(csv.DictReader(f))
        pattern = re.compile(args.cases) if args.cases else None
        cases = [load_case(r, args.cohort, args.lod, args.lloq) for r in rows
                 if pattern is None or pattern.search(r["case"])]
    except (OSError, RuntimeError, KeyError, re.error) as e:
        print(f"metrics.py: error: {e}", file=sys.stderr)
        return 1
    if not cases:
        print("metrics.py: error: no case selected", file=sys.stderr)
        return 1

    version = ""
    if args.flowmrd:
        try:
            version = subprocess.run([args.flowmrd, "--version"], capture_output=True, text=True,
                                     timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            version = ""
    splits = {"train": [c for c in cases if c.split == "train"],
              "test": [c for c in cases if c.split == "test"],
              "all": cases}
    summaries = {k: summarize(v) for k, v in splits.items() if v}

    right = {4, 5, 6, 7, 13, 14, 15, 16}
    case_rows = [case_cells(c) for c in cases]
    sum_header = ["metric", "target"] + [f"{k} (n={len(splits[k])})" for k in summaries] + ["result " + "/".join(summaries)]
    names = [m.name for m in next(iter(summaries.values()))]
    sum_rows = []
    for i, name in enumerate(names):
        ms = [summaries[k][i] for k in summaries]
        sum_rows.append([name, ms[0].target] + [m.value for m in ms] + ["/".join(m.verdict for m in ms)])
    # Details (counts, case ids) for all cases; the split of a case is in the per-case table.
    details = [f"{m.name}: {m.detail}" for m in summaries["all"] if m.detail]
    problems = [f"{c.case}: {c.error or c.events_note}" for c in cases if c.error or c.events_note]

    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    total_events = sum(c.events for c in cases)
    head = (f"{when}; {version or 'flowmrd'}; {len(cases)} cases "
            f"({len(splits['train'])} train, {len(splits['test'])} test), first tubes "
            f"{total_events:,} events")
    print(head)
    print()
    print(text_table(CASE_COLUMNS, case_rows, right))
    print()
    print(LEGEND)
    print()
    print(text_table(sum_header, sum_rows, set()))
    if details:
        print()
        print("\n".join(details))
    if problems:
        print()
        print("Problems:")
        print("\n".join(f"  {p}" for p in problems))
    targets = [m for m in summaries["all"] if m.verdict in ("PASS", "FAIL", "n/a")]
    missed = [m.name for m in targets if m.verdict == "FAIL"]
    unknown = [m.name for m in targets if m.verdict == "n/a"]
    print()
    verdict_line = "all targets met" if not missed else f"{len(missed)} target(s) missed: " + "; ".join(missed)
    if unknown:
        verdict_line += f" (not evaluable on these cases: {'; '.join(unknown)})"
    print("RESULT (all cases):", verdict_line)

    if args.markdown:
        md = [f"### Validation run of {when}", "",
              f"{version or 'flowmrd'}; {len(cases)} cases ({len(splits['train'])} train, "
              f"{len(splits['test'])} test); command `scripts/validate.sh`.", "",
              md_table(sum_header, sum_rows, set()), ""]
        if details:
            md += ["Details:", ""] + [f"- {d}" for d in details] + [""]
        md += ["Per case:", "", md_table(CASE_COLUMNS, case_rows, right), "", LEGEND, ""]
        if problems:
            md += ["Problems:", ""] + [f"- {p}" for p in problems] + [""]
        try:
            args.markdown.parent.mkdir(parents=True, exist_ok=True)
            args.markdown.write_text("\n".join(md))
        except OSError as e:
            print(f"metrics.py: error: cannot write {args.markdown}: {e}", file=sys.stderr)
            return 1
        print(f"markdown: {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
