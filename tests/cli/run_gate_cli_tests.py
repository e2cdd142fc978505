#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of `flowmrd gate`, run as a user runs it.

Usage: run_gate_cli_tests.py FLOWMRD SHARED_DATA TEST [--work DIR] [--config CONFIG]

The Gating-ML 2.0 compliance suite (SHARED_DATA/gatingml2) through the command line: every
expected result file of sets 1 and 2 must equal the membership file flowmrd writes (0 mismatching
events); FlowJo workspaces (SHARED_DATA/flowjo) against FlowJo's stored counts; the per-event CSV
and JSON outputs; identical output at any thread count; clear errors. Exit status 0 pass, 1 fail,
77 skipped (shared data absent).
"""

import csv
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_cli_tests import Failure, Skip, EXIT_USAGE, EXIT_INPUT, run_scenarios  # noqa: E402

GML = "gatingml2"
DIAMOND = "flowjo/whitews__FlowKit/data/simple_diamond_example"


def shared_path(ctx, rel):
    path = os.path.join(ctx.shared, rel)
    if not os.path.exists(path):
        raise Skip(f"shared data not available: {path}")
    return path


def compliance(ctx, number):
    gates = shared_path(ctx, f"{GML}/Gating-MLFiles/gates{number}.xml")
    fcs = shared_path(ctx, f"{GML}/FCSFiles/data{number}.fcs")
    expected = sorted(glob.glob(shared_path(ctx, f"{GML}/ExpectedResults/set_{number}") + "/Results_*.txt"))
    out_dir = ctx.tmp("membership")
    out_json = ctx.tmp("gate.json")
    ctx.run_ok("gate", "--gatingml", gates, fcs, "--membership", out_dir, "--json", out_json)
    with open(out_json, encoding="utf-8") as f:
        doc = json.load(f)
    counts = {p["id"]: p["events"] for p in doc["populations"]}
    problems = []
    for path in expected:
        gate_id = os.path.basename(path)[len("Results_"):-len(".txt")]
        mine = os.path.join(out_dir, gate_id + ".txt")
        if not os.path.isfile(mine):
            problems.append(f"{gate_id}: no membership file written")
            continue
        with open(path, encoding="utf-8") as f:
            want = f.read().split()
        with open(mine, encoding="utf-8") as f:
            got = f.read().split()
        if len(want) != len(got):
            problems.append(f"{gate_id}: {len(got)} lines, expected {len(want)}")
            continue
        bad = sum(1 for a, b in zip(want, got) if a != b)
        if bad:
            problems.append(f"{gate_id}: {bad} mismatching events")
        if counts.get(gate_id) != got.count("1"):
            problems.append(f"{gate_id}: JSON count {counts.get(gate_id)} != membership file {got.count('1')}")
    if problems:
        raise Failure("\n".join(problems))
    if len(expected) != {1: 60, 2: 40}[number]:
        raise Failure(f"set {number}: {len(expected)} expected-result files, the suite has {60 if number == 1 else 40}")
    print(f"set {number}: {len(expected)} gates, 0 mismatching events")


def test_gatingml_set1(ctx):
    compliance(ctx, 1)


def test_gatingml_set2(ctx):
    compliance(ctx, 2)


def test_threads_identical(ctx):
    gates = shared_path(ctx, f"{GML}/Gating-MLFiles/gates2.xml")
    fcs = shared_path(ctx, f"{GML}/FCSFiles/data2.fcs")
    outs = []
    for threads in ("1", "2"):
        d = ctx.tmp(f"m{threads}")
        ctx.run_ok("gate", "--gatingml", gates, fcs, "--membership", d, "--threads", threads)
        files = sorted(os.listdir(d))
        outs.append({name: open(os.path.join(d, name), "rb").read() for name in files})
    if outs[0] != outs[1]:
        raise Failure("membership files differ between --threads 1 and --threads 2")


def test_flowjo_counts(ctx):
    wsp = shared_path(ctx, f"{DIAMOND}/simple_diamond_example_quad_gate.wsp")
    fcs = shared_path(ctx, f"{DIAMOND}/test_data_diamond_01.fcs")
    out_json = ctx.tmp("fj.json")
    out, _ = ctx.run_ok("gate", "--flowjo", wsp, fcs, "--json", out_json)
    if "FlowJo" not in out:
        raise Failure(f"the table has no FlowJo column:\n{out}")
    with open(out_json, encoding="utf-8") as f:
        doc = json.load(f)
    if doc["source"]["kind"] != "flowjo" or not doc["populations"]:
        raise Failure(f"unexpected JSON: {doc}")
    for p in doc["populations"]:
        if p["gate"] in ("rectangle", "quadrant", "boolean") and p["flowjo_events"] not in (None, p["events"]):
            raise Failure(f"{p['path']}: flowmrd {p['events']} events, FlowJo {p['flowjo_events']}")
        if not p["within_tolerance"]:
            raise Failure(f"{p['path']}: outside the tolerance: {p}")


def test_events_csv(ctx):
    gates = shared_path(ctx, f"{GML}/Gating-MLFiles/gates1.xml")
    fcs = shared_path(ctx, f"{GML}/FCSFiles/data1.fcs")
    events = ctx.tmp("out/events.csv")
    out_json = ctx.tmp("out/gate.json")
    os.makedirs(ctx.tmp("out"))
    ctx.run_ok("gate", "--gatingml", gates, fcs, "--events", events, "--json", out_json)
    with open(out_json, encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("events_file") != "events.csv":
        raise Failure(f"events_file should be relative to the JSON: {doc.get('events_file')!r}")
    if not doc.get("fcs_sha256") or len(doc["fcs_sha256"]) != 64:
        raise Failure("no fcs_sha256")
    with open(events, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    if len(body) != doc["events"] or len(header) != len(doc["populations"]):
        raise Failure(f"{len(body)} rows x {len(header)} columns for {doc['events']} events, "
                      f"{len(doc['populations'])} populations")
    for j, p in enumerate(doc["populations"]):
        if header[j] != p["path"]:
            raise Failure(f"column {j} is {header[j]!r}, expected {p['path']!r}")
        if sum(1 for r in body if r[j] == "1") != p["events"]:
            raise Failure(f"column {p['path']}: count differs from the JSON")


def test_errors(ctx):
    fcs = shared_path(ctx, f"{GML}/FCSFiles/data1.fcs")
    ctx.expect_exit(EXIT_USAGE, "gate", fcs)
    ctx.expect_exit(EXIT_INPUT, "gate", "--gatingml", ctx.tmp("missing.xml"), fcs, must_name="missing.xml")
    bad = ctx.tmp("bad.xml")
    with open(bad, "w", encoding="utf-8") as f:
        f.write("<gating:Gating-ML xmlns:gating='http://www.isac-net.org/std/Gating-ML/v2.0/gating'>\n"
                "<gating:RectangleGate gating:id='R'><gating:dimension>\n")
    ctx.expect_exit(EXIT_INPUT, "gate", "--gatingml", bad, fcs, must_name="bad.xml")
    # Set 2's gates name channels data1.fcs does not have: the error names the channel.
    gates2 = shared_path(ctx, f"{GML}/Gating-MLFiles/gates2.xml")
    ctx.expect_exit(EXIT_INPUT, "gate", "--gatingml", gates2, fcs, must_name="is not in the data set")
    wsp = shared_path(ctx, f"{DIAMOND}/simple_diamond_example_quad_gate.wsp")
    ctx.expect_exit(EXIT_USAGE, "gate", "--flowjo", wsp, "--sample", "no-such-sample",
                    shared_path(ctx, f"{DIAMOND}/test_data_diamond_01.fcs"), must_name="no-such-sample")


TESTS = {
    "gatingml_set1": test_gatingml_set1,
    "gatingml_set2": test_gatingml_set2,
    "threads_identical": test_threads_identical,
    "flowjo_counts": test_flowjo_counts,
    "events_csv": test_events_csv,
    "errors": test_errors,
}


def main():
    return run_scenarios(TESTS, __doc__.split("\n")[0], "gate")


if __name__ == "__main__":
    sys.exit(main())
