#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of `flowmrd qa`, run as a user would run it.

Usage: run_qa_cli_tests.py FLOWMRD SHARED_DATA TEST [--work DIR] [--config CONFIG]

FLOWMRD      path of the built executable
SHARED_DATA  the shared data folder (gatingml2/, flowjo/); tests exit 77 (skip) when the files
             they need are absent
TEST         one test name (see TESTS at the bottom), or "all"
--work DIR   scratch directory (default: a fresh temporary directory)
--config     build configuration (informational)

Exit status: 0 pass, 1 fail, 77 skipped (CTest SKIP_RETURN_CODE). Python standard library only.
Expected figures (counts, precision, recall, F1, MRD %) are computed here from the label files the
tests write, independently of flowmrd.
"""

import argparse
import base64
import csv
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile

SKIP = 77
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INPUT = 3

GML_FCS = "gatingml2/FCSFiles/data1.fcs"
GML_XML = "gatingml2/Gating-MLFiles/gates1.xml"
GML_RESULTS = "gatingml2/ExpectedResults/set_1"
DIAMOND_DIR = "flowjo/whitews__FlowKit/data/simple_diamond_example"
DIAMOND_FCS = DIAMOND_DIR + "/test_data_diamond_01.fcs"
DIAMOND_WSP = DIAMOND_DIR + "/simple_diamond_example_quad_gate.wsp"
FACSPY_DIR = "flowjo/rgb-lab__FACSPy/FACSPy/_resources/test_suite_dataset"
DATA1_EVENTS = 13367


class Skip(Exception):
    pass


class Failure(Exception):
    pass


class Context:
    def __init__(self, flowmrd, shared, work):
        self.flowmrd = flowmrd
        self.shared = shared
        self.work = work

    def run(self, *args):
        proc = subprocess.run([self.flowmrd, *args], capture_output=True, timeout=300)
        return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")

    def run_ok(self, *args):
        rc, out, err = self.run(*args)
        if rc != EXIT_OK:
            raise Failure(f"flowmrd {' '.join(args)}: exit {rc}, expected 0\nstderr:\n{err}")
        return out, err

    def expect_exit(self, code, *args, must_name=None):
        rc, _, err = self.run(*args)
        cmd = "flowmrd " + " ".join(args)
        if rc != code:
            raise Failure(f"{cmd}: exit {rc}, expected {code}\nstderr:\n{err}")
        if "flowmrd: error: " not in err:
            raise Failure(f"{cmd}: stderr has no 'flowmrd: error: ' line:\n{err}")
        for name in [must_name] if isinstance(must_name, str) else (must_name or []):
            if name not in err:
                raise Failure(f"{cmd}: the error does not name {name!r}:\n{err}")
        return err

    def shared_file(self, rel):
        path = os.path.join(self.shared, rel)
        if not os.path.exists(path):
            raise Skip(f"shared data not available: {path}")
        return path

    def tmp(self, name):
        return os.path.join(self.work, name)


# ---- helpers ----------------------------------------------------------------------------------
def check(cond, message):
    if not cond:
        raise Failure(message)


def close(a, b, tol=1e-12):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def agreement(ref, test):
    """Counts and ratios as docs/qa.md defines them; `ref`/`test` are sets of event indices."""
    both = len(ref & test)
    r, t = len(ref), len(test)
    if r == 0 and t == 0:
        return dict(reference_events=0, test_events=0, both=0, precision=1.0, recall=1.0, f1=1.0)
    return dict(reference_events=r, test_events=t, both=both,
                precision=both / t if t else 0.0, recall=both / r if r else 0.0, f1=2.0 * both / (r + t))


def check_population(pop, ref, test):
    exp = agreement(ref, test)
    for key in ("reference_events", "test_events", "both"):
        check(pop[key] == exp[key], f"{pop['name']}: {key} {pop[key]}, expected {exp[key]}")
    for key in ("precision", "recall", "f1"):
        check(close(pop[key], exp[key]), f"{pop['name']}: {key} {pop[key]}, expected {exp[key]}")
    check(pop["reference_only"] == len(ref - test), f"{pop['name']}: reference_only {pop['reference_only']}")
    check(pop["test_only"] == len(test - ref), f"{pop['name']}: test_only {pop['test_only']}")
    check(pop["difference_events"] == len(test) - len(ref), f"{pop['name']}: difference_events")


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def by_name(report):
    return {p["name"]: p for p in report["populations"]}


def read_result_file(path):
    with open(path) as f:
        return {i for i, line in enumerate(f.read().split()) if line == "1"}


def write_csv(path, header, rows, newline="\n"):
    with open(path, "w", newline="") as f:
        if header is not None:
            f.write(",".join(header) + newline)
        for r in rows:
            f.write(",".join(str(v) for v in r) + newline)


def png_size(data):
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "embedded image is not a PNG")
    check(data[12:16] == b"IHDR", "PNG without IHDR")
    return struct.unpack(">II", data[16:24])


def synthetic_labels(n, seed):
    """Reference labels (FlowCAP integers 0..3, 3 = blast) and a test copy with known flips."""
    rng = random.Random(seed)
    ref = [rng.choice([0, 1, 1, 2, 2, 2]) for _ in range(n)]
    for i in rng.sample(range(n), 40):
        ref[i] = 3  # 40 blasts: 0.3 % of 13367
    test = list(ref)
    flips = sorted(rng.sample(range(n), 250))
    for i in flips:
        test[i] = (ref[i] + 1) % 4
    return ref, test


def members(labels, value):
    return {i for i, v in enumerate(labels) if v == value}


# ---- tests ------------------------------------------------------------------------------------
def test_labels_vs_labels(ctx):
    fcs = ctx.shared_file(GML_FCS)
    ref, test = synthetic_labels(DATA1_EVENTS, 7)
    # Reference: FlowCAP style, one integer per line, no header, 0 = ungated.
    write_csv(ctx.tmp("ref.csv"), None, [[v] for v in ref])
    # Test: header, quoted label column with names, CRLF line ends.
    names = {0: "", 1: "lymphocytes", 2: "granulocytes", 3: "blast"}
    write_csv(ctx.tmp("test.csv"), ['"population"'], [[f'"{names[v]}"'] for v in test], newline="\r\n")
    out, _ = ctx.run_ok("qa", "--reference", ctx.tmp("ref.csv"), "--test", ctx.tmp("test.csv"), fcs,
                        "--map", "1=lymphocytes", "--map", "2=granulocytes", "--map", "3=blast",
                        "--json", ctx.tmp("qa.json"))
    report = load_json(ctx.tmp("qa.json"))
    check(report["schema"] == "flowmrd.qa/1", "schema")
    check(report["events"] == DATA1_EVENTS, f"events {report['events']}")
    check(report["reference"]["kind"] == "labels" and report["test"]["kind"] == "labels", "kinds")
    pops = by_name(report)
    check(sorted(pops) == ["1", "2", "3"], f"populations {sorted(pops)}")
    for label in (1, 2, 3):
        check_population(pops[str(label)], members(ref, label), members(test, label))
    # MRD: "blast" is an MRD population by default; % of all events, threshold 0.01 %.
    mrd = pops["3"].get("mrd")
    check(mrd is not None, "blast population has no MRD comparison")
    ref_pct = 100.0 * len(members(ref, 3)) / DATA1_EVENTS
    test_pct = 100.0 * len(members(test, 3)) / DATA1_EVENTS
    check(close(mrd["reference_percent"], ref_pct), f"MRD ref {mrd['reference_percent']} != {ref_pct}")
    check(close(mrd["test_percent"], test_pct), f"MRD test {mrd['test_percent']} != {test_pct}")
    check(close(mrd["difference"], test_pct - ref_pct, 1e-9), "MRD difference")
    check(mrd["calls_agree"] is True and mrd["reference_call"] == "positive", f"MRD calls {mrd}")
    check("mrd" not in pops["1"], "population 1 compared as MRD")
    # A threshold between the two MRD values makes the calls disagree.
    between = (ref_pct + test_pct) / 2
    ctx.run_ok("qa", "--reference", ctx.tmp("ref.csv"), "--test", ctx.tmp("test.csv"), fcs, "--map", "3=blast",
               "--mrd", "3", "--threshold", repr(between), "--json", ctx.tmp("qa2.json"))
    mrd2 = by_name(load_json(ctx.tmp("qa2.json")))["3"]["mrd"]
    check(mrd2["calls_agree"] is (ref_pct == test_pct), f"calls at threshold {between}: {mrd2}")
    check("F1" in out and "lymphocytes" in out, "text table missing")


def test_gatingml_reference(ctx):
    fcs = ctx.shared_file(GML_FCS)
    xml = ctx.shared_file(GML_XML)
    results = ctx.shared_file(GML_RESULTS)
    files = sorted(f for f in os.listdir(results) if f.startswith("Results_") and f.endswith(".txt"))
    ids = [f[len("Results_"):-len(".txt")] for f in files]
    sets = [read_result_file(os.path.join(results, f)) for f in files]
    rows = [[1 if i in s else 0 for s in sets] for i in range(DATA1_EVENTS)]
    write_csv(ctx.tmp("expected.csv"), ids, rows)
    ctx.run_ok("qa", "--reference", xml, "--test", ctx.tmp("expected.csv"), fcs, "--json", ctx.tmp("qa.json"))
    report = load_json(ctx.tmp("qa.json"))
    check(report["reference"]["kind"] == "gatingml", "reference kind")
    pops = {p["test_name"]: p for p in report["populations"]}
    check(sorted(pops) == sorted(ids), f"compared {len(pops)} populations, expected {len(ids)}: "
          f"unmatched test {report['unmatched_test']}")
    for gate_id, s in zip(ids, sets):
        check_population(pops[gate_id], s, s)
        check(pops[gate_id]["f1"] == 1.0, f"{gate_id}: F1 {pops[gate_id]['f1']}")


def diamond_events(ctx):
    """`flowmrd gate --events` of the diamond quadrant workspace: (header, rows, json path)."""
    fcs = ctx.shared_file(DIAMOND_FCS)
    wsp = ctx.shared_file(DIAMOND_WSP)
    ctx.run_ok("gate", "--flowjo", wsp, fcs, "--json", ctx.tmp("gate.json"), "--events", ctx.tmp("events.csv"))
    with open(ctx.tmp("events.csv"), newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [[int(v) for v in r] for r in reader]
    return fcs, wsp, header, rows


def test_flowjo_reference(ctx):
    fcs, wsp, header, rows = diamond_events(ctx)
    check(len(header) == 4, f"expected 4 quadrants, got {header}")
    # The workspace against flowmrd's own result (a flowmrd result JSON): full agreement.
    ctx.run_ok("qa", "--reference", wsp, "--test", ctx.tmp("gate.json"), fcs, "--json", ctx.tmp("same.json"))
    same = load_json(ctx.tmp("same.json"))
    check(same["reference"]["kind"] == "flowjo" and same["test"]["kind"] == "flowmrd-result", "kinds")
    check(same["reference"].get("sample") == "test_data_diamond_01.fcs", f"sample {same['reference']}")
    check(len(same["populations"]) == 4 and all(p["f1"] == 1.0 for p in same["populations"]),
          "workspace vs its own gating is not F1 = 1")
    # A labels CSV with one label column: each event's quadrant, 500 events moved to the next one.
    rng = random.Random(3)
    label = [r.index(1) if 1 in r else -1 for r in rows]
    moved = set(rng.sample([i for i, v in enumerate(label) if v >= 0], 500))
    test = [(v + 1) % 4 if i in moved else v for i, v in enumerate(label)]
    write_csv(ctx.tmp("quadrants.csv"), ["quadrant"],
              [['"' + header[v] + '"' if v >= 0 else ""] for v in test])
    ctx.run_ok("qa", "--reference", wsp, "--test", ctx.tmp("quadrants.csv"), fcs, "--json", ctx.tmp("moved.json"))
    pops = {p["test_name"]: p for p in load_json(ctx.tmp("moved.json"))["populations"]}
    for q, name in enumerate(header):
        check_population(pops[name], {i for i, v in enumerate(label) if v == q},
                         {i for i, v in enumerate(test) if v == q})
    # FACSPy: the sample is found by $FIL (the file was renamed); a 7-population tree.
    facspy = os.path.join(ctx.shared, FACSPY_DIR)
    if os.path.isdir(facspy):
        f2 = os.path.join(facspy, "file2_unstained.fcs")
        ws2 = os.path.join(facspy, "test_suite.wsp")
        ctx.run_ok("gate", "--flowjo", ws2, f2, "--json", ctx.tmp("f2.json"), "--events", ctx.tmp("f2.csv"))
        ctx.run_ok("qa", "--reference", ws2, "--test", ctx.tmp("f2.json"), f2, "--json", ctx.tmp("f2qa.json"))
        r2 = load_json(ctx.tmp("f2qa.json"))
        check(len(r2["populations"]) == 7 and all(p["f1"] == 1.0 for p in r2["populations"]),
              f"FACSPy workspace vs its own gating: {[(p['name'], p['f1']) for p in r2['populations']]}")


def test_map(ctx):
    fcs, wsp, header, rows = diamond_events(ctx)
    q1 = header[0]
    write_csv(ctx.tmp("renamed.csv"), ["upper_left", "blast"], [[r[0], r[1]] for r in rows])
    # No name in common: an input error that suggests --map.
    ctx.expect_exit(EXIT_INPUT, "qa", "--reference", wsp, "--test", ctx.tmp("renamed.csv"), fcs,
                    must_name=["no population of the reference matches", "--map"])
    ctx.run_ok("qa", "--reference", wsp, "--test", ctx.tmp("renamed.csv"), fcs, "--map", f"{q1}=upper_left",
               "--json", ctx.tmp("map.json"))
    report = load_json(ctx.tmp("map.json"))
    check(len(report["populations"]) == 1, f"populations {report['populations']}")
    p = report["populations"][0]
    check(p["match"] == "map" and p["test_name"] == "upper_left" and p["f1"] == 1.0, f"mapped population {p}")
    check(report["unmatched_test"] == ["blast"], f"unmatched test {report['unmatched_test']}")
    check(len(report["unmatched_reference"]) == 3, f"unmatched reference {report['unmatched_reference']}")
    # Mapping to a population that does not exist, or a malformed --map: usage errors.
    ctx.expect_exit(EXIT_USAGE, "qa", "--reference", wsp, "--test", ctx.tmp("renamed.csv"), fcs, "--map", "nope=blast",
                    must_name="no reference population is named 'nope'")
    ctx.expect_exit(EXIT_USAGE, "qa", "--reference", wsp, "--test", ctx.tmp("renamed.csv"), fcs, "--map", "noequals",
                    must_name="expected REF=TEST")
    # Ambiguity: two test columns whose last path component is the same reference name.
    write_csv(ctx.tmp("ambiguous.csv"), [f'"a/{q1}"', f'"b/{q1}"'], [[r[0], r[0]] for r in rows])
    ctx.expect_exit(EXIT_USAGE, "qa", "--reference", wsp, "--test", ctx.tmp("ambiguous.csv"), fcs,
                    must_name=["matches several test populations", f"a/{q1}", f"b/{q1}"])


def test_disagreements(ctx):
    fcs = ctx.shared_file(GML_FCS)
    ref, test = synthetic_labels(DATA1_EVENTS, 11)
    write_csv(ctx.tmp("ref.csv"), ["population"], [[v] for v in ref])
    write_csv(ctx.tmp("test.csv"), ["population"], [[v] for v in test])
    ctx.run_ok("qa", "--reference", ctx.tmp("ref.csv"), "--test", ctx.tmp("test.csv"), fcs,
               "--disagreements", ctx.tmp("dis.csv"))
    with open(ctx.tmp("dis.csv"), newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        got = [r for r in reader]
    check(header == ["event", "population", "reference", "test", "x_axis", "x", "y_axis", "y"], f"header {header}")
    expected = set()
    for label in (1, 2, 3):
        r, t = members(ref, label), members(test, label)
        for i in r ^ t:
            expected.add((i + 1, str(label), 1 if i in r else 0, 1 if i in t else 0))
    rows = {(int(r[0]), r[1], int(r[2]), int(r[3])) for r in got}
    check(len(rows) == len(got), "duplicate disagreement rows")
    check(rows == expected, f"{len(rows)} disagreement rows, expected {len(expected)}; "
          f"e.g. missing {sorted(expected - rows)[:3]}, extra {sorted(rows - expected)[:3]}")
    # Labels carry no gate: coordinates are the scatter channels, as read by default.
    check(all(r[4] == "FSC-H (FSC-Height)" and r[6] == "SSC-H (SSC-Height)" for r in got), f"axes {got[0]}")
    check(all(float(r[5]) >= 0 for r in got), "negative FSC-H")
    # --axes overrides the coordinates.
    ctx.run_ok("qa", "--reference", ctx.tmp("ref.csv"), "--test", ctx.tmp("test.csv"), fcs, "--axes", "FL1-H,FL2-H",
               "--disagreements", ctx.tmp("dis2.csv"))
    with open(ctx.tmp("dis2.csv"), newline="") as f:
        first = list(csv.reader(f))[1]
    check(first[4].startswith("FL1-H") and first[6].startswith("FL2-H"), f"--axes ignored: {first}")
    ctx.expect_exit(EXIT_USAGE, "qa", "--reference", ctx.tmp("ref.csv"), "--test", ctx.tmp("test.csv"), fcs,
                    "--axes", "FL1-H,NOPE", "--disagreements", ctx.tmp("dis3.csv"), must_name="no channel 'NOPE'")


def test_json_html(ctx):
    fcs = ctx.shared_file(GML_FCS)
    xml = ctx.shared_file(GML_XML)
    results = ctx.shared_file(GML_RESULTS)
    ids = ["Range1", "Polygon1", "Ellipse1", "And1"]
    sets = [read_result_file(os.path.join(results, f"Results_{g}.txt")) for g in ids]
    rng = random.Random(5)
    flipped = set(rng.sample(range(DATA1_EVENTS), 100))
    rows = [[(1 if i in s else 0) ^ (1 if (i in flipped and k == 1) else 0) for k, s in enumerate(sets)]
            for i in range(DATA1_EVENTS)]
    write_csv(ctx.tmp("labels.csv"), ids, rows)
    ctx.run_ok("qa", "--reference", xml, "--test", ctx.tmp("labels.csv"), fcs, "--json", ctx.tmp("qa.json"),
               "--html", ctx.tmp("qa.html"))
    report = load_json(ctx.tmp("qa.json"))
    pops = {p["name"]: p for p in report["populations"]}
    for g, s in zip(ids, sets):
        t = s ^ flipped if g == "Polygon1" else s
        check_population(pops[g], s, t)
        for key in ("name", "reference_events", "test_events", "precision", "recall", "f1"):
            check(key in pops[g], f"JSON population lacks {key}")
    check(pops["Polygon1"]["x_axis"].startswith("FL2-H"), f"Polygon1 plotted on {pops['Polygon1']['x_axis']}")
    with open(ctx.tmp("qa.html"), encoding="utf-8") as f:
        html = f.read()
    check(html.startswith("<!DOCTYPE html>"), "HTML doctype")
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)  # base64 may hold "//"
    check(re.search(r"(?:https?:)?//[a-z0-9]", text, re.I) is None, "HTML refers to an external URL")
    check("<script" not in html and "<link" not in html, "HTML loads scripts or stylesheets")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    check(len(images) == len(ids), f"{len(images)} embedded plots, expected {len(ids)}")
    for b in images:
        w, h = png_size(base64.b64decode(b))
        check((w, h) == (480, 420), f"plot size {w}x{h}")
    for g in ids:
        check(g in html, f"HTML table lacks {g}")
    # Same inputs, same bytes.
    ctx.run_ok("qa", "--reference", xml, "--test", ctx.tmp("labels.csv"), fcs, "--json", ctx.tmp("qa2.json"),
               "--html", ctx.tmp("qa2.html"))
    for a, b in (("qa.json", "qa2.json"), ("qa.html", "qa2.html")):
        with open(ctx.tmp(a), "rb") as fa, open(ctx.tmp(b), "rb") as fb:
            check(fa.read() == fb.read(), f"{a} differs between two runs")


def test_bad_reference(ctx):
    fcs = ctx.shared_file(GML_FCS)
    ok = ctx.tmp("ok.csv")
    write_csv(ok, ["blast"], [[0]] * DATA1_EVENTS)
    # Missing file.
    ctx.expect_exit(EXIT_INPUT, "qa", "--reference", ctx.tmp("absent.wsp"), "--test", ok, fcs, must_name="absent.wsp")
    # XML that is neither FlowJo nor Gating-ML.
    with open(ctx.tmp("other.xml"), "w") as f:
        f.write('<?xml version="1.0"?>\n<!-- a comment -->\n<html><body/></html>\n')
    ctx.expect_exit(EXIT_INPUT, "qa", "--reference", ctx.tmp("other.xml"), "--test", ok, fcs,
                    must_name=["other.xml", "<html>"])
    # Broken Gating-ML.
    with open(ctx.tmp("broken.xml"), "w") as f:
        f.write('<?xml version="1.0"?>\n<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/'
                'gating">\n<gating:RectangleGate gating:id="R">\n')
    ctx.expect_exit(EXIT_INPUT, "qa", "--reference", ctx.tmp("broken.xml"), "--test", ok, fcs, must_name="broken.xml")
    # An FCS file given as the reference.
    ctx.expect_exit(EXIT_INPUT, "qa", "--reference", fcs, "--test", ok, fcs, must_name="this is an FCS file")
    # Labels with the wrong number of rows.
    write_csv(ctx.tmp("short.csv"), ["blast"], [[0]] * 10)
    ctx.expect_exit(EXIT_INPUT, "qa", "--reference", ctx.tmp("short.csv"), "--test", ok, fcs,
                    must_name=["short.csv", "10 row(s)", str(DATA1_EVENTS)])
    # Ragged labels: the error names the line.
    with open(ctx.tmp("ragged.csv"), "w") as f:
        f.write("a,b\n1,0\n1\n")
    ctx.expect_exit(EXIT_INPUT, "qa", "--reference", ctx.tmp("ragged.csv"), "--test", ok, fcs,
                    must_name="ragged.csv:3:")
    # A JSON that is not a flowmrd result.
    with open(ctx.tmp("other.json"), "w") as f:
        f.write('{"schema": "something/1"}\n')
    ctx.expect_exit(EXIT_INPUT, "qa", "--reference", ctx.tmp("other.json"), "--test", ok, fcs,
                    must_name="not a flowmrd result")


TESTS = {
    "labels_vs_labels": test_labels_vs_labels,
    "gatingml_reference": test_gatingml_reference,
    "flowjo_reference": test_flowjo_reference,
    "map": test_map,
    "disagreements": test_disagreements,
    "json_html": test_json_html,
    "bad_reference": test_bad_reference,
}


def run_one(name, flowmrd, shared, work):
    ctx = Context(flowmrd, shared, work)
    try:
        TESTS[name](ctx)
    except Skip as e:
        print(f"SKIP {name}: {e}")
        return SKIP
    except Failure as e:
        print(f"FAIL {name}:\n{e}")
        return 1
    print(f"PASS {name}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("flowmrd")
    parser.add_argument("shared")
    parser.add_argument("test", choices=[*TESTS, "all"])
    parser.add_argument("--work")
    parser.add_argument("--config", default="")
    args = parser.parse_args()
    if not os.access(args.flowmrd, os.X_OK):
        print(f"FAIL: {args.flowmrd} is not an executable")
        return 1
    names = list(TESTS) if args.test == "all" else [args.test]
    results = {}
    for name in names:
        work = args.work or tempfile.mkdtemp(prefix=f"flowmrd-qa-{name}-")
        os.makedirs(work, exist_ok=True)
        try:
            results[name] = run_one(name, args.flowmrd, args.shared, work)
        finally:
            if not args.work:
                shutil.rmtree(work, ignore_errors=True)
    if len(names) == 1:
        return results[names[0]]
    return 1 if any(r == 1 for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
