#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the simulated validation cohort of `flowmrd analyze` (docs/validation.md).

Usage: scripts/validation/make_cohort.py OUTDIR [--list]

Writes OUTDIR/scenarios/<case>[-t1|-t2].toml (one scenario per tube) and OUTDIR/manifest.csv
(one row per case: case, split, category, layout, tubes, scenario/FCS/truth paths relative to
OUTDIR, and the parameters that vary). Deterministic: the cases are the fixed table CASES below,
nothing is random, so the same generator always writes byte-identical files. Python 3 standard
library only. `--list` prints the cases and writes nothing.

Cohort rules (checked at the end, the script fails if one is broken):
- >= 48 cases; all three instrument profiles; two-tube cases pair a B-lineage 8-colour tube
  (first tube) with a myelomonocytic 10-colour tube of the same timepoint (a second aliquot: its
  own seed, 80% of the events);
- MRD truth on the grid 0, 0.001, 0.005, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 50 %, every level used;
- seeds >= 10000 (the shipped normal-marrow reference is built from seeds < 10000);
- >= 8 normal regenerating marrows (MRD 0), hematogones up to 15%, reactive monocytosis on the
  combined tube;
- where a CD19-negative or lineage-switch case has a truth MRD >= 0.1%, that sub-population is
  expected to hold >= 50 events in the tube that can see it (so "flagged at >= 0.1%" is fair);
- split: a case is in the TEST set when its 0-based index within its category is 2 mod 3 (cases
  2, 5, 8, ... of each category), else TRAIN. The split is stratified by construction: each set
  holds normals, CD19-positive B-lineage MRD, CD19-negative and lineage-switch cases.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path

# ------------------------------------------------------------------------------------------------
# Building blocks
# ------------------------------------------------------------------------------------------------

PROFILE_8C = "bd-canto-8c-bcell"
PROFILE_12C = "bd-fortessa-12c-combined"
PROFILE_10C = "bd-fortessa-10c-myelomonocytic"

# layout -> profiles of its tubes, first tube first (the tube `--events` describes).
LAYOUTS = {
    "b8": [PROFILE_8C],
    "combined": [PROFILE_12C],
    "two_tube": [PROFILE_8C, PROFILE_10C],
}

MRD_GRID = [0, 0.001, 0.005, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 50]  # percent

# B-blast aberrancies, decades (log10) from the stage I/II hematogone-like blast base
# (docs/simulator.md). Every pattern has at least one aberrancy a "different from normal" model can
# use; "cd38_under" alone is the weakest.
PATTERNS: dict[str, dict[str, float]] = {
    "classic": {"cd10": 0.4, "cd38": -1.0, "cd58": 0.5, "cd45": -0.5},
    "cd38_under": {"cd38": -1.2},
    "cd10_over_cd58_over": {"cd10": 0.5, "cd58": 0.6},
    "cd10_neg_kmt2a": {"cd10": -2.5, "cd34": -0.3, "cd45": -0.4, "cd58": 0.4, "cd38": -0.4},
    "cd10_under": {"cd10": -0.8, "cd38": -0.6},
    "cd20_async": {"cd20": 1.5, "cd38": -0.5},
    "cd34_over": {"cd34": 0.6, "cd45": -0.4, "cd38": -0.5},
    "cd34_loss": {"cd34": -2.0, "cd10": 0.4, "cd58": 0.5},
    "cd45_under": {"cd45": -0.8},
    "cd58_over": {"cd58": 0.8},
    "combo_full": {"cd10": 0.5, "cd38": -1.2, "cd58": 0.6, "cd45": -0.6, "cd20": 0.8, "cd34": 0.4},
}

# Normal nucleated compositions (relative weights of the populations other than hematogones and
# monocytes; those two are set per case and the rest is scaled to fill 1 - hematogone - monocyte).
COMPOSITIONS: dict[str, dict[str, float]] = {
    # the simulator's default regenerating paediatric marrow
    "regenerating": {"granulocyte": 0.50, "eosinophil": 0.03, "myeloid_precursor": 0.02,
                     "lymphocyte_t_nk": 0.15, "mature_b": 0.04, "plasma_cell": 0.005,
                     "erythroid": 0.105},
    "granulocytic": {"granulocyte": 0.68, "eosinophil": 0.04, "myeloid_precursor": 0.03,
                     "lymphocyte_t_nk": 0.10, "mature_b": 0.02, "plasma_cell": 0.005,
                     "erythroid": 0.06},
    "lymphoid": {"granulocyte": 0.30, "eosinophil": 0.02, "myeloid_precursor": 0.01,
                 "lymphocyte_t_nk": 0.38, "mature_b": 0.08, "plasma_cell": 0.01,
                 "erythroid": 0.08},
    "erythroid": {"granulocyte": 0.40, "eosinophil": 0.02, "myeloid_precursor": 0.02,
                  "lymphocyte_t_nk": 0.12, "mature_b": 0.03, "plasma_cell": 0.005,
                  "erythroid": 0.25},
}

# Non-nucleated / excluded events: fractions of all events (debris, doublets, dead).
JUNK: dict[str, tuple[float, float, float]] = {
    "clean": (0.02, 0.01, 0.01),
    "default": (0.05, 0.03, 0.03),
    "dirty": (0.15, 0.06, 0.08),
    "very_dirty": (0.25, 0.08, 0.12),
}

# Flow-rate anomalies (start, end as fractions of the run; rate relative to nominal).
ANOMALIES: dict[str, tuple[float, float, float] | None] = {
    "none": None,
    "clog": (0.50, 0.60, 0.2),
    "late_clog": (0.80, 0.86, 0.15),
    "surge": (0.30, 0.35, 3.0),
}

SEED_BASE = 10000  # the normal-marrow reference uses seeds < 10000


@dataclass(frozen=True)
class Case:
    category: str              # normal, b_lineage, cd19_negative, lineage_switch
    layout: str                # b8, combined, two_tube
    events: int                # events of the first tube (second tube: 80%)
    mrd: float                 # percent
    hematogone: float          # share of the normal nucleated cells
    monocyte: float = 0.05     # share of the normal nucleated cells (>= 0.10: reactive monocytosis)
    pattern: str = "classic"
    spread: float = 0.18
    cd19neg: float = 0.0
    switch: float = 0.0
    composition: str = "regenerating"
    junk: str = "default"
    anomaly: str = "none"
    note: str = ""


# ------------------------------------------------------------------------------------------------
# The cohort. Order matters: the index within a category decides the split (2 mod 3 -> test).
# ------------------------------------------------------------------------------------------------

C = Case
CASES: list[Case] = [
    # --- normal regenerating marrow, MRD 0 (10) ---
    C("normal", "b8", 200_000, 0, 0.15, note="regenerating with hematogones 15%"),
    C("normal", "b8", 100_000, 0, 0.05, composition="granulocytic", junk="clean"),
    C("normal", "combined", 300_000, 0, 0.12, monocyte=0.15, note="reactive monocytosis 15%"),
    C("normal", "b8", 500_000, 0, 0.10, composition="erythroid", junk="dirty"),
    C("normal", "combined", 150_000, 0, 0.08, monocyte=0.10, anomaly="clog",
      note="reactive monocytosis 10% with a clog"),
    C("normal", "two_tube", 200_000, 0, 0.15, monocyte=0.12, note="reactive monocytosis 12%"),
    C("normal", "b8", 50_000, 0, 0.0, composition="lymphoid", note="no hematogones; lymphoid"),
    C("normal", "combined", 200_000, 0, 0.15, junk="very_dirty"),
    C("normal", "combined", 100_000, 0, 0.02, monocyte=0.14, composition="granulocytic",
      note="reactive monocytosis 14%"),
    C("normal", "two_tube", 150_000, 0, 0.03, monocyte=0.15, anomaly="surge",
      note="reactive monocytosis 15% with a surge"),

    # --- CD19-positive B-lineage MRD (22) ---
    C("b_lineage", "b8", 500_000, 0.001, 0.10, pattern="classic", note="2-5 blasts: truth negative"),
    C("b_lineage", "b8", 300_000, 0.01, 0.05, pattern="cd38_under", spread=0.15),
    C("b_lineage", "b8", 200_000, 0.1, 0.12, pattern="classic"),
    C("b_lineage", "combined", 200_000, 0.03, 0.08, pattern="cd10_over_cd58_over"),
    C("b_lineage", "b8", 100_000, 1, 0.03, pattern="cd10_neg_kmt2a", composition="lymphoid"),
    C("b_lineage", "b8", 100_000, 10, 0.01, pattern="cd20_async", spread=0.22),
    C("b_lineage", "b8", 50_000, 50, 0.0, pattern="cd34_over", spread=0.25),
    C("b_lineage", "combined", 500_000, 0.005, 0.15, pattern="cd45_under", note="below LLOQ"),
    C("b_lineage", "two_tube", 200_000, 0.3, 0.10, pattern="cd10_under", monocyte=0.08),
    C("b_lineage", "combined", 150_000, 3, 0.05, pattern="cd34_loss", composition="erythroid"),
    C("b_lineage", "b8", 400_000, 0.03, 0.15, pattern="cd58_over", spread=0.12),
    C("b_lineage", "combined", 100_000, 0.3, 0.02, pattern="combo_full", spread=0.20),
    C("b_lineage", "two_tube", 300_000, 0.01, 0.06, pattern="classic"),
    C("b_lineage", "b8", 250_000, 0.1, 0.15, pattern="cd10_neg_kmt2a", anomaly="clog"),
    C("b_lineage", "combined", 300_000, 1, 0.10, pattern="cd38_under", junk="dirty"),
    C("b_lineage", "b8", 150_000, 0.3, 0.08, pattern="cd20_async", junk="dirty"),
    C("b_lineage", "two_tube", 100_000, 10, 0.02, pattern="cd34_over", composition="granulocytic"),
    C("b_lineage", "b8", 500_000, 0.005, 0.04, pattern="combo_full", junk="clean"),
    C("b_lineage", "combined", 50_000, 50, 0.0, pattern="cd10_neg_kmt2a", spread=0.25),
    C("b_lineage", "b8", 300_000, 3, 0.12, pattern="cd45_under", spread=0.22, anomaly="surge"),
    C("b_lineage", "combined", 200_000, 0.1, 0.05, pattern="cd34_loss", monocyte=0.12),
    C("b_lineage", "b8", 100_000, 0.001, 0.15, pattern="classic", junk="very_dirty",
      note="1 blast: truth negative"),

    # --- CD19-negative B-lineage blasts (11) ---
    C("cd19_negative", "combined", 200_000, 1, 0.05, pattern="cd10_neg_kmt2a", cd19neg=0.8),
    C("cd19_negative", "b8", 300_000, 0.1, 0.10, pattern="classic", cd19neg=0.3),
    C("cd19_negative", "combined", 150_000, 0.3, 0.05, pattern="cd10_over_cd58_over", cd19neg=1.0),
    C("cd19_negative", "two_tube", 200_000, 3, 0.04, pattern="classic", cd19neg=0.8),
    C("cd19_negative", "b8", 100_000, 10, 0.02, pattern="cd34_over", cd19neg=1.0, spread=0.22),
    C("cd19_negative", "combined", 500_000, 0.03, 0.12, pattern="cd38_under", cd19neg=0.8),
    C("cd19_negative", "b8", 200_000, 0.3, 0.15, pattern="cd38_under", cd19neg=0.3, junk="dirty"),
    C("cd19_negative", "combined", 300_000, 0.1, 0.08, pattern="classic", cd19neg=1.0,
      monocyte=0.12, anomaly="late_clog"),
    C("cd19_negative", "two_tube", 150_000, 1, 0.06, pattern="cd20_async", cd19neg=0.3),
    C("cd19_negative", "b8", 400_000, 0.01, 0.05, pattern="combo_full", cd19neg=0.8),
    C("cd19_negative", "combined", 100_000, 50, 0.0, pattern="cd10_neg_kmt2a", cd19neg=0.8,
      spread=0.15),

    # --- lineage switch to monocytic blasts (10) ---
    C("lineage_switch", "combined", 200_000, 3, 0.03, pattern="cd10_neg_kmt2a", switch=0.9,
      monocyte=0.08),
    C("lineage_switch", "two_tube", 200_000, 1, 0.05, pattern="cd10_neg_kmt2a", switch=0.5),
    C("lineage_switch", "combined", 150_000, 10, 0.01, pattern="cd10_neg_kmt2a", switch=0.9,
      anomaly="late_clog"),
    C("lineage_switch", "two_tube", 150_000, 0.3, 0.08, pattern="cd20_async", switch=0.9,
      monocyte=0.12, note="switch among reactive monocytosis"),
    C("lineage_switch", "combined", 300_000, 0.1, 0.10, pattern="classic", switch=0.5,
      monocyte=0.15, note="switch among reactive monocytosis"),
    C("lineage_switch", "two_tube", 100_000, 50, 0.0, pattern="cd10_neg_kmt2a", switch=0.9),
    C("lineage_switch", "combined", 500_000, 0.03, 0.05, pattern="cd10_neg_kmt2a", switch=0.9,
      composition="granulocytic"),
    C("lineage_switch", "combined", 200_000, 1, 0.06, pattern="cd34_over", switch=0.5, cd19neg=0.3,
      junk="dirty", note="mixed: CD19+ / CD19- / monocytic"),
    C("lineage_switch", "two_tube", 300_000, 0.1, 0.04, pattern="classic", switch=0.9,
      monocyte=0.10),
    C("lineage_switch", "combined", 100_000, 0.01, 0.02, pattern="cd10_neg_kmt2a", switch=0.9),
]

CATEGORY_PREFIX = {"normal": "nrm", "b_lineage": "bll", "cd19_negative": "cdn", "lineage_switch": "lsw"}


# ------------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------------

def num(x: float) -> str:
    """A TOML float without exponent ("0.001", "15.0")."""
    s = f"{x:.10f}".rstrip("0")
    return s + "0" if s.endswith(".") else s


def fractions_of(case: Case) -> dict[str, float]:
    """The [fractions] table: hematogone and monocyte as given, the rest scaled to fill 1."""
    base = COMPOSITIONS[case.composition]
    rest = 1.0 - case.hematogone - case.monocyte
    total = sum(base.values())
    out = {k: round(v * rest / total, 6) for k, v in base.items()}
    out["hematogone"] = case.hematogone
    out["monocyte"] = case.monocyte
    order = ["granulocyte", "eosinophil", "monocyte", "myeloid_precursor", "lymphocyte_t_nk",
             "mature_b", "hematogone", "plasma_cell", "erythroid"]
    return {k: out[k] for k in order}


def expected_counts(case: Case, events: int) -> dict[str, int]:
    """What the simulator will draw, to the rounding of an event (docs/simulator.md)."""
    debris, doublets, dead = JUNK[case.junk]
    denominator = round(events * (1 - debris - doublets - dead))
    blasts = round(case.mrd / 100 * denominator)
    return {
        "denominator": denominator,
        "blasts": blasts,
        "cd19neg": round(blasts * case.cd19neg),
        "switch": round(blasts * case.switch),
    }


def scenario_text(case_id: str, case: Case, tube: int, profile: str, events: int, seed: int,
                  description: str) -> str:
    debris, doublets, dead = JUNK[case.junk]
    lines = [
        "# SPDX-License-Identifier: Apache-2.0",
        "# Generated by scripts/validation/make_cohort.py: do not edit (docs/validation.md).",
        f'name = "{case_id}-t{tube}"',
        f'description = "{description}"',
        f'profile = "{profile}"',
        f"events = {events}",
        f"seed = {seed}",
        f"mrd_percent = {num(case.mrd)}",
        f"debris = {num(debris)}",
        f"doublets = {num(doublets)}",
        f"dead = {num(dead)}",
        "",
        "[fractions]",
    ]
    lines += [f"{k} = {num(v)}" for k, v in fractions_of(case).items()]
    lines += ["", "[blast]"]
    blast = {"cd10": 0.0, "cd38": 0.0, "cd58": 0.0, "cd45": 0.0, "cd20": 0.0, "cd34": 0.0}
    blast.update(PATTERNS[case.pattern])
    lines += [f"{k} = {num(v)}" for k, v in blast.items()]
    lines += [f"spread = {num(case.spread)}",
              f"cd19_negative_fraction = {num(case.cd19neg)}",
              f"lineage_switch_fraction = {num(case.switch)}"]
    anomaly = ANOMALIES[case.anomaly]
    if anomaly is not None:
        lines += ["", "[flow_anomaly]", f"start = {num(anomaly[0])}", f"end = {num(anomaly[1])}",
                  f"rate_factor = {num(anomaly[2])}"]
    lines += ["", "[keywords]", f'PATIENT = "{case_id}"', 'TIMEPOINT = "validation"',
              f'TUBE = "{tube}"', ""]
    return "\n".join(lines)


MANIFEST_COLUMNS = [
    "case", "split", "category", "layout", "tubes", "scenarios", "fcs", "truth", "events", "seeds",
    "mrd_percent", "hematogone", "monocyte", "composition", "pattern", "spread",
    "cd19neg_fraction", "lineage_switch_fraction", "junk", "flow_anomaly", "note",
]


def build(cases: list[Case]) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Manifest rows and {relative scenario path: text}."""
    rows: list[dict[str, str]] = []
    files: dict[str, str] = {}
    index_in_category: dict[str, int] = {}
    for n, case in enumerate(cases):
        k = index_in_category.get(case.category, 0)
        index_in_category[case.category] = k + 1
        case_id = f"{CATEGORY_PREFIX[case.category]}{k:02d}"
        split = "test" if k % 3 == 2 else "train"
        profiles = LAYOUTS[case.layout]
        scen, fcs, truth, events, seeds = [], [], [], [], []
        for t, profile in enumerate(profiles, start=1):
            ev = case.events if t == 1 else case.events * 4 // 5
            seed = SEED_BASE + 100 * n + t
            desc = (f"validation {case.category} {case.layout} tube {t}/{len(profiles)}: MRD "
                    f"{num(case.mrd)}%, hematogones {num(case.hematogone * 100)}%, "
                    f"pattern {case.pattern}")
            rel = f"scenarios/{case_id}-t{t}.toml"
            files[rel] = scenario_text(case_id, case, t, profile, ev, seed, desc)
            scen.append(rel)
            fcs.append(f"data/{case_id}-t{t}.fcs")
            truth.append(f"data/{case_id}-t{t}.truth.json")
            events.append(str(ev))
            seeds.append(str(seed))
        anomaly = ANOMALIES[case.anomaly]
        rows.append({
            "case": case_id,
            "split": split,
            "category": case.category,
            "layout": case.layout,
            "tubes": "+".join(profiles),
            "scenarios": ";".join(scen),
            "fcs": ";".join(fcs),
            "truth": ";".join(truth),
            "events": ";".join(events),
            "seeds": ";".join(seeds),
            "mrd_percent": num(case.mrd),
            "hematogone": num(case.hematogone),
            "monocyte": num(case.monocyte),
            "composition": case.composition,
            "pattern": case.pattern if case.mrd > 0 else "-",
            "spread": num(case.spread) if case.mrd > 0 else "-",
            "cd19neg_fraction": num(case.cd19neg),
            "lineage_switch_fraction": num(case.switch),
            "junk": "/".join(num(x) for x in JUNK[case.junk]),
            "flow_anomaly": (case.anomaly if anomaly is None else
                             f"{case.anomaly} {num(anomaly[0])}-{num(anomaly[1])} x{num(anomaly[2])}"),
            "note": case.note,
        })
    return rows, files


def check(cases: list[Case], rows: list[dict[str, str]]) -> list[str]:
    """The cohort rules of the module docstring; returns the broken ones."""
    problems = []
    if len(cases) < 48:
        problems.append(f"only {len(cases)} cases (need >= 48)")
    used_profiles = {p for c in cases for p in LAYOUTS[c.layout]}
    if used_profiles != {PROFILE_8C, PROFILE_12C, PROFILE_10C}:
        problems.append(f"profiles used: {sorted(used_profiles)}")
    for level in MRD_GRID:
        if not any(c.mrd == level for c in cases):
            problems.append(f"MRD grid level {level}% unused")
    for c in cases:
        if c.mrd not in MRD_GRID:
            problems.append(f"MRD {c.mrd}% is not on the grid")
        if not 50_000 <= c.events <= 500_000:
            problems.append(f"events {c.events} outside 50k..500k")
        if c.layout == "b8" and c.switch > 0:
            problems.append("a lineage switch needs a tube with myeloid markers")
        if (c.category == "normal") != (c.mrd == 0):
            problems.append("normal cases are exactly the MRD-0 cases")
        if c.category == "cd19_negative" and not c.cd19neg > 0:
            problems.append("cd19_negative case without CD19-negative blasts")
        if c.category == "lineage_switch" and not c.switch > 0:
            problems.append("lineage_switch case without switch")
        if c.category == "b_lineage" and (c.switch > 0 or c.cd19neg > 0):
            problems.append("b_lineage case with CD19-negative or switched blasts")
        if not 0 <= c.hematogone <= 0.15 or not 0 < c.monocyte <= 0.15:
            problems.append("hematogone 0..15%, monocyte up to 15%")
        if c.mrd >= 0.1:
            # The tube that sees the population: CD19-neg in the first tube; switch in the tube
            # with myeloid markers (the combined tube, or the second tube of a two-tube case).
            exp1 = expected_counts(c, c.events)
            exp2 = expected_counts(c, c.events * 4 // 5 if c.layout == "two_tube" else c.events)
            if c.cd19neg > 0 and exp1["cd19neg"] < 50:
                problems.append(f"{c}: only {exp1['cd19neg']} CD19-negative blasts at >= 0.1%")
            if c.switch > 0 and exp2["switch"] < 50:
                problems.append(f"{c}: only {exp2['switch']} monocytic blasts at >= 0.1%")
    normals = [c for c in cases if c.category == "normal"]
    if len(normals) < 8:
        problems.append("fewer than 8 normal marrows")
    if not any(c.layout == "combined" and c.monocyte >= 0.10 for c in normals):
        problems.append("no reactive monocytosis on the combined tube among normals")
    if max(c.hematogone for c in normals) < 0.15:
        problems.append("no normal marrow with 15% hematogones")
    for split in ("train", "test"):
        cats = {r["category"] for r in rows if r["split"] == split}
        if cats != set(CATEGORY_PREFIX):
            problems.append(f"{split} set lacks {sorted(set(CATEGORY_PREFIX) - cats)}")
    for r in rows:
        for key, value in r.items():
            # validate.sh reads the manifest with IFS=, : no field may need CSV quoting.
            if any(ch in value for ch in ',"\n'):
                problems.append(f"{r['case']}: manifest field {key} holds a comma or quote")
    seeds = [int(s) for r in rows for s in r["seeds"].split(";")]
    if min(seeds) < SEED_BASE or len(set(seeds)) != len(seeds):
        problems.append("seeds must be unique and >= 10000")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", nargs="?", help="where scenarios/ and manifest.csv go")
    ap.add_argument("--list", action="store_true", help="print the cases, write nothing")
    args = ap.parse_args()
    if not args.list and not args.outdir:
        ap.error("OUTDIR is required (or --list)")

    rows, files = build(CASES)
    problems = check(CASES, rows)
    if problems:
        for p in problems:
            print(f"make_cohort.py: error: {p}", file=sys.stderr)
        return 1

    total = sum(int(e) for r in rows for e in r["events"].split(";"))
    summary = (f"{len(rows)} cases ({sum(r['split'] == 'test' for r in rows)} test), "
               f"{len(files)} tubes, {total:,} events")
    if args.list:
        fmt = "{:<6} {:<5} {:<15} {:<9} {:>8} {:>6} {:>5} {:>5} {:<20} {:>4} {:>4} {}"
        print(fmt.format("case", "split", "category", "layout", "events", "MRD%", "HG", "mono",
                         "pattern", "c19-", "LS", "anomaly/junk"))
        for r in rows:
            print(fmt.format(r["case"], r["split"], r["category"], r["layout"], r["events"].split(";")[0],
                             r["mrd_percent"], r["hematogone"], r["monocyte"], r["pattern"],
                             r["cd19neg_fraction"], r["lineage_switch_fraction"],
                             f"{r['flow_anomaly']} / {r['junk']}"))
        print(summary)
        return 0

    out = Path(args.outdir)
    (out / "scenarios").mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = out / rel
        # Rewrite only what changed, so file times (and validate.sh's stamps) stay meaningful.
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    # Scenario files of cases that no longer exist would be confusing: remove them.
    for stale in (out / "scenarios").glob("*.toml"):
        if f"scenarios/{stale.name}" not in files:
            stale.unlink()
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    manifest = out / "manifest.csv"
    if not manifest.exists() or manifest.read_text() != buf.getvalue():
        manifest.write_text(buf.getvalue())
    print(f"cohort: {summary} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
