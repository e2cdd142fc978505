#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of `flowmrd analyze` and `flowmrd reference`, run as a user runs them.

Usage: run_analyze_cli_tests.py FLOWMRD SHARED_DATA TEST [--work DIR] [--config CONFIG]

Each scenario simulates small files with `flowmrd simulate` from samples/scenarios into a
scratch directory, analyses them and checks the result JSON (schema flowmrd.result/1,
docs/result-format.md) against the truth JSON the simulator writes beside each file: MRD status
and %, the cd19_negative / lineage_switch flags; also the per-event CSV, the plots, the protocol
evaluation, --diagnosis, byte-identical output at any thread count, `reference build` / `show`,
and clear errors with the documented exit codes for bad inputs. The normal-marrow reference is
the shipped panels/reference/default.json when present, else one built here from the
simulator's normal scenarios. Exit status 0 pass, 1 fail, 77 skipped.
"""

import csv
import glob
import json
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_cli_tests import Failure, Skip, EXIT_USAGE, EXIT_INPUT, EXIT_OUTPUT, run_scenarios  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCENARIOS = os.path.join(ROOT, "samples", "scenarios")
REFERENCE_SCENARIOS = os.path.join(ROOT, "panels", "reference", "scenarios")
DEFAULT_REFERENCE = os.path.join(ROOT, "panels", "reference", "default.json")
EXIT_ANALYSIS = 6

# Shared FCS files with neither CD19 nor CD33/CD64 (no panel fits them); the first present is used.
NO_LINEAGE_FILES = ["UCLouvain-CBIO__CytoPipeline/inst/extdata/Donor1.fcs",
                    "RGLab__flowWorkspaceData/inst/extdata/diva/124500.fcs"]

RESULT_KEYS = ["schema", "timepoint", "patient_id", "sample_id", "events_file", "fcs_sha256", "mrd", "flags",
               "populations", "coverage", "protocol", "provenance", "notes"]
MRD_KEYS = ["status", "blast_events", "denominator_events", "denominator", "percent", "lod_percent", "lloq_percent",
            "ci95_percent", "confidence", "sensitivity_one_in", "lod_events", "lloq_events",
            "decision_threshold_percent", "sentence", "message", "components", "phenotypes"]


# ---- helpers ------------------------------------------------------------------------------------
def simulate(ctx, scenario, name, events, seed=None):
    """Simulate samples/scenarios/<scenario>.toml into the work dir; returns (fcs path, truth)."""
    path = ctx.tmp(name + ".fcs")
    args = ["simulate", os.path.join(SCENARIOS, scenario + ".toml"), "-o", path, "--events", str(events)]
    if seed is not None:
        args += ["--seed", str(seed)]
    ctx.run_ok(*args)
    with open(ctx.tmp(name + ".truth.json"), encoding="utf-8") as f:
        return path, json.load(f)


def reference(ctx):
    """The shipped default reference, or one built here from the reference scenarios."""
    if os.path.isfile(DEFAULT_REFERENCE):
        return DEFAULT_REFERENCE
    built = ctx.tmp("built-reference.json")
    if os.path.isfile(built):
        return built
    files = []
    for s in sorted(glob.glob(os.path.join(REFERENCE_SCENARIOS, "*.toml"))):
        out = ctx.tmp("ref-" + os.path.basename(s)[:-5] + ".fcs")
        ctx.run_ok("simulate", s, "-o", out, "--events", "40000")
        files.append(out)
    if not files:
        raise Skip("no default reference and no reference scenarios to build one")
    ctx.run_ok("reference", "build", *files, "-o", built, "--name", "test", "--version", "0")
    return built


def analyze(ctx, *args, json_name="result.json"):
    """Run analyze with --json; returns (document, stdout, stderr, json path)."""
    out_json = ctx.tmp(json_name)
    out, err = ctx.run_ok("analyze", *args, "--reference", reference(ctx), "--json", out_json)
    with open(out_json, encoding="utf-8") as f:
        return json.load(f), out, err, out_json


def truth_status(truth, lod=20, lloq=50):
    k, d = truth["blasts"], truth["denominator"]
    if d == 0:
        return "not_evaluable"
    return "positive" if k >= lloq else "positive_below_lloq" if k >= lod else "negative"


def flag(doc, flag_id):
    for f in doc["flags"]:
        if f["id"] == flag_id:
            return f
    return None


def check_schema(doc):
    if list(doc) != RESULT_KEYS:
        raise Failure(f"top-level keys {list(doc)}, expected {RESULT_KEYS}")
    if doc["schema"] != "flowmrd.result/1":
        raise Failure(f"schema {doc['schema']!r}")
    if list(doc["mrd"]) != MRD_KEYS:
        raise Failure(f"mrd keys {list(doc['mrd'])}, expected {MRD_KEYS}")
    for f in doc["flags"]:
        if list(f) != ["id", "raised", "events", "percent_nucleated", "percent_of_blasts", "tube", "explanation"]:
            raise Failure(f"flag keys {list(f)}")
        if not f["explanation"]:
            raise Failure(f"flag {f['id']} has no explanation")
    ids = [p["id"] for p in doc["populations"]]
    for needed in ("all_events", "nucleated"):
        if needed not in ids:
            raise Failure(f"population {needed} missing: {ids}")
    for p in doc["populations"]:
        if p["parent"] is not None and p["parent"] not in ids:
            raise Failure(f"population {p['id']}: parent {p['parent']} is not a population")
    prov = doc["provenance"]
    for i in prov["inputs"]:
        if len(i["sha256"]) != 64 or not i["panel"]["name"] or not i["markers"]:
            raise Failure(f"provenance input incomplete: {i['file']}")
    if "threads" in json.dumps(prov["options"]):
        raise Failure("the options record the thread count")


def check_against_truth(doc, truth, rel_tolerance=0.35):
    """Status, MRD % (loosely: this checks the plumbing, docs/validation.md the accuracy) and flags."""
    mrd = doc["mrd"]
    want = truth_status(truth)
    if mrd["status"] != want:
        raise Failure(f"status {mrd['status']!r}, truth {want!r} ({truth['blasts']} of {truth['denominator']})\n"
                      f"{mrd['sentence']}")
    if truth["mrd_percent"] >= 0.1:
        got, exp = mrd["percent"], truth["mrd_percent"]
        if abs(got - exp) > rel_tolerance * exp:
            raise Failure(f"MRD {got}%, truth {exp}%")
    for flag_id in ("cd19_negative", "lineage_switch"):
        f = flag(doc, flag_id)
        raised = f is not None and f["raised"]
        if raised != bool(truth["flags"][flag_id]):
            raise Failure(f"flag {flag_id}: raised={raised}, truth {truth['flags'][flag_id]} ({f})")
        if raised and f["percent_nucleated"] is None:
            raise Failure(f"raised flag {flag_id} without percent_nucleated")
    if mrd["ci95_percent"] is not None and not mrd["ci95_percent"][0] <= mrd["percent"] <= mrd["ci95_percent"][1]:
        raise Failure(f"percent {mrd['percent']} outside its interval {mrd['ci95_percent']}")


# ---- scenarios ----------------------------------------------------------------------------------
def test_b_lineage(ctx):
    """A classic B-lineage MRD: JSON fields and truth, --events (header, one row per event, blast
    count = blast_events), --plots (PNG files of the gating path), the text summary."""
    fcs, truth = simulate(ctx, "bcp-all-mrd-0.1pct", "bcp", 100000)
    events = ctx.tmp("out/events.csv")
    plots = ctx.tmp("plots")
    os.makedirs(ctx.tmp("out"))
    doc, out, _, _ = analyze(ctx, fcs, "--events", events, "--plots", plots, json_name="out/result.json")
    check_schema(doc)
    check_against_truth(doc, truth)
    if doc["events_file"] != "events.csv":
        raise Failure(f"events_file should be relative to the JSON: {doc['events_file']!r}")
    if doc["protocol"] != {"status": "not requested"}:
        raise Failure(f"protocol without --protocol: {doc['protocol']}")
    if not doc["mrd"]["phenotypes"] or doc["mrd"]["phenotypes"][0]["population"] != "b_blasts":
        raise Failure(f"no b_blasts phenotype: {doc['mrd']['phenotypes']}")
    if doc["mrd"]["sentence"].split(":")[0] not in out:
        raise Failure(f"the summary does not print the MRD sentence:\n{out}")
    for word in ("flags:", "populations:", "b_blasts", "protocol: not requested"):
        if word not in out:
            raise Failure(f"the summary lacks {word!r}:\n{out}")
    with open(events, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if rows[0] != ["population", "blast"]:
        raise Failure(f"events header {rows[0]}")
    if len(rows) - 1 != truth["events"]:
        raise Failure(f"{len(rows) - 1} event rows, the file has {truth['events']} events")
    blasts = sum(1 for r in rows[1:] if r[1] == "1")
    if blasts != doc["mrd"]["blast_events"]:
        raise Failure(f"{blasts} blast rows, blast_events {doc['mrd']['blast_events']}")
    if any(r[1] not in ("0", "1") or not r[0] for r in rows[1:]):
        raise Failure("an events row has an empty population or a blast value other than 0/1")
    pngs = sorted(os.listdir(plots))
    if not any(p.endswith("-cd19.png") for p in pngs) or not any("singlets" in p for p in pngs):
        raise Failure(f"plots: {pngs}")
    for p in pngs:
        with open(os.path.join(plots, p), "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                raise Failure(f"{p} is not a PNG")
    print(f"{doc['mrd']['sentence']} ({len(pngs)} plots)")


def test_cd19_negative(ctx):
    fcs, truth = simulate(ctx, "cd19-negative-escape", "cd19neg", 60000)
    doc, out, _, _ = analyze(ctx, fcs)
    check_schema(doc)
    check_against_truth(doc, truth)
    f = flag(doc, "cd19_negative")
    if f["percent_of_blasts"] is None or not 0 < f["percent_of_blasts"] <= 100:
        raise Failure(f"cd19_negative percent_of_blasts: {f}")
    if "RAISED cd19_negative" not in out:
        raise Failure(f"the summary does not show the raised flag:\n{out}")
    if not doc["coverage"]["cd19_negative"]["evaluated"]:
        raise Failure(f"coverage: {doc['coverage']}")


def test_lineage_switch(ctx):
    fcs, truth = simulate(ctx, "lineage-switch", "switch", 60000)
    doc, _, _, _ = analyze(ctx, fcs)
    check_schema(doc)
    check_against_truth(doc, truth)
    if not doc["coverage"]["lineage_switch"]["evaluated"]:
        raise Failure(f"coverage: {doc['coverage']}")


def test_normal(ctx):
    """Regenerating marrow with many hematogones: negative, no flag raised."""
    fcs, truth = simulate(ctx, "normal-regenerating", "normal", 60000)
    doc, _, _, _ = analyze(ctx, fcs)
    check_schema(doc)
    check_against_truth(doc, truth)
    if doc["mrd"]["status"] != "negative":
        raise Failure(f"normal marrow: {doc['mrd']['sentence']}")


def test_two_tubes(ctx):
    """A B-lineage tube and a myelomonocytic tube of one timepoint: both in populations and
    provenance, coverage names the tube of each part, --events covers the first tube only."""
    btube, btruth = simulate(ctx, "bcp-all-mrd-0.1pct", "btube", 40000)
    mtube, mtruth = simulate(ctx, "lineage-switch-myelomonocytic-tube", "mtube", 40000)
    events = ctx.tmp("events.csv")
    doc, _, _, _ = analyze(ctx, btube, mtube, "--events", events)
    check_schema(doc)
    labels = [i["file"] for i in doc["provenance"]["inputs"]]
    if labels != ["btube.fcs", "mtube.fcs"]:
        raise Failure(f"provenance inputs {labels}")
    if {p["tube"] for p in doc["populations"]} != {"btube.fcs", "mtube.fcs"}:
        raise Failure("populations do not come from both tubes")
    cov = doc["coverage"]
    if cov["lineage_switch"]["tube"] != "mtube.fcs" or cov["b_lineage"]["tube"] != "btube.fcs":
        raise Failure(f"coverage {cov}")
    if not flag(doc, "lineage_switch")["raised"]:
        raise Failure(f"the myelomonocytic tube's lineage switch is not flagged: {flag(doc, 'lineage_switch')}")
    with open(events, encoding="utf-8") as f:
        rows = sum(1 for _ in f) - 1
    if rows != btruth["events"]:
        raise Failure(f"--events has {rows} rows, the first tube {btruth['events']} events")


def test_threads_identical(ctx):
    """JSON, events CSV and plots are byte-identical with --threads 1 and --threads 2."""
    fcs, _ = simulate(ctx, "cd19-negative-escape", "t", 40000)
    outputs = []
    for threads in ("1", "2"):
        j, e, p = ctx.tmp(f"r{threads}.json"), ctx.tmp(f"e{threads}.csv"), ctx.tmp(f"p{threads}")
        ctx.run_ok("analyze", fcs, "--reference", reference(ctx), "--json", j, "--events", e, "--plots", p,
                   "--threads", threads, "--protocol", "interfant-21", "--timepoint", "blin1")
        plots = {n: open(os.path.join(p, n), "rb").read() for n in sorted(os.listdir(p))}
        outputs.append((open(j, "rb").read(), open(e, "rb").read(), plots))
    # The JSON names its events file, which differs by name here; compare with it normalised.
    a = outputs[0][0].replace(b"e1.csv", b"E.csv")
    b = outputs[1][0].replace(b"e2.csv", b"E.csv")
    if a != b:
        raise Failure("result JSON differs between --threads 1 and --threads 2")
    if outputs[0][1] != outputs[1][1]:
        raise Failure("events CSV differs between --threads 1 and --threads 2")
    if outputs[0][2] != outputs[1][2]:
        raise Failure("plots differ between --threads 1 and --threads 2")
    # And JSON to standard output equals the file (apart from events_file).
    out, _ = ctx.run_ok("analyze", fcs, "--reference", reference(ctx), "--json", "-", "--threads", "2",
                        "--protocol", "interfant-21", "--timepoint", "blin1")
    doc = json.loads(out)
    if doc["events_file"] is not None or doc["mrd"] != json.loads(outputs[0][0])["mrd"]:
        raise Failure("--json - differs from the file output")


def test_protocol(ctx):
    """Protocol evaluation for a timepoint, the decision threshold, clinical inputs, and usage
    errors for a missing or unknown timepoint, an unknown protocol or clinical key."""
    fcs, truth = simulate(ctx, "cd19-negative-escape", "p", 40000)
    doc, out, _, _ = analyze(ctx, fcs, "--protocol", "interfant-21", "--timepoint", "blin1",
                             "--clinical", "age_days=120", "--clinical", "wbc=50", "--clinical", "kmt2a=rearranged",
                             "--clinical", "day8_pb_blasts_per_ul=200")
    pr = doc["protocol"]
    if pr["name"] != "Interfant-21" or pr["timepoint"] != "blin1":
        raise Failure(f"protocol {pr}")
    if pr["decision_threshold_percent"] != 0.01 or doc["mrd"]["decision_threshold_percent"] != 0.01:
        raise Failure(f"decision threshold for blin1 should be 0.01: {pr['decision_threshold_percent']}")
    if pr["inputs"]["mrd_percent"].get("blin1") != doc["mrd"]["percent"]:
        raise Failure(f"protocol inputs {pr['inputs']} vs MRD {doc['mrd']['percent']}")
    if pr["inputs"]["cd19_negative"].get("blin1") is not True:
        raise Failure(f"cd19_negative input: {pr['inputs']}")
    if pr["inputs"]["age_days"] != 120 or pr["inputs"]["kmt2a"] != "rearranged":
        raise Failure(f"clinical inputs: {pr['inputs']}")
    # Interfant-21 decides HR on the end-of-induction MRD before the blinatumomab one; without the
    # eoi result the risk is "not evaluable" (never a guess), while the CD19-escape alert fires.
    if pr["status"] != "not evaluable" or "mrd_percent@eoi" not in pr["missing"] or pr["risk_group"] is not None:
        raise Failure(f"expected not evaluable for lack of mrd_percent@eoi: {pr}")
    fired = [a["rule"]["id"] for a in pr["alerts"] if a["evaluable"]]
    if "cd19-negative-blin1" not in fired:
        raise Failure(f"the CD19-escape alert did not fire: {pr['alerts']}")
    for word in ("Interfant-21", "not evaluable: missing mrd_percent@eoi", "ALERT: "):
        if word not in out:
            raise Failure(f"the summary lacks {word!r}:\n{out}")
    # AIEOP-BFM day 15: MRD about 1% is 0.1% to < 10%, intermediate (MR).
    doc_bfm, _, _, _ = analyze(ctx, fcs, "--protocol", "aieop-bfm-all-2009", "--timepoint", "d15",
                               json_name="bfm.json")
    bfm = doc_bfm["protocol"]
    if bfm["status"] != "assigned" or bfm["risk_group"] != "MR" or not bfm["rule"]["id"]:
        raise Failure(f"AIEOP-BFM d15: {bfm}")
    if bfm["decision_threshold_percent"] != 0.1:
        raise Failure(f"AIEOP-BFM d15 decision threshold {bfm['decision_threshold_percent']}, expected 0.1")
    # --previous: the end-of-induction result (MRD ~0.1% < 1%) lets Interfant-21 get past its eoi
    # rule, and the blin1 MRD (~1% > 0.01%) then assigns HR.
    eoi_fcs, _ = simulate(ctx, "bcp-all-mrd-0.1pct", "eoi", 40000)
    _, _, _, eoi_json = analyze(ctx, eoi_fcs, "--protocol", "interfant-21", "--timepoint", "eoi",
                                json_name="eoi.json")
    doc3, _, _, _ = analyze(ctx, fcs, "--protocol", "interfant-21", "--timepoint", "blin1",
                            "--clinical", "age_days=120", "--clinical", "wbc=50", "--clinical",
                            "day8_pb_blasts_per_ul=200", "--previous", eoi_json, json_name="blin1.json")
    p3 = doc3["protocol"]
    if p3["status"] != "assigned" or p3["risk_group"] != "HR" or p3["rule"]["id"] != "hr-mrd-blin1":
        raise Failure(f"with --previous eoi: {p3}")
    if set(p3["inputs"]["mrd_percent"]) != {"eoi", "blin1"}:
        raise Failure(f"inputs with --previous: {p3['inputs']}")
    prev = doc3["provenance"]["options"]["previous"]
    if len(prev) != 1 or prev[0]["timepoint"] != "eoi" or len(prev[0]["sha256"]) != 64:
        raise Failure(f"options.previous {prev}")
    ref = reference(ctx)
    ctx.expect_exit(EXIT_USAGE, "analyze", fcs, "--reference", ref, "--protocol", "interfant-21", "--timepoint",
                    "eoi", "--previous", eoi_json, must_name="the timepoint of this analysis")
    no_tp = ctx.tmp("no-timepoint.json")
    ctx.run_ok("analyze", eoi_fcs, "--reference", ref, "--json", no_tp)
    ctx.expect_exit(EXIT_INPUT, "analyze", fcs, "--reference", ref, "--protocol", "interfant-21", "--timepoint",
                    "blin1", "--previous", no_tp, must_name="no-timepoint.json: timepoint: missing")
    ctx.expect_exit(EXIT_USAGE, "analyze", fcs, "--reference", ref, "--protocol", "interfant-21",
                    must_name="needs --timepoint")
    err = ctx.expect_exit(EXIT_USAGE, "analyze", fcs, "--reference", ref, "--protocol", "interfant-21",
                          "--timepoint", "day99", must_name="day99")
    for tp in ("eoi", "blin1"):
        if tp not in err:
            raise Failure(f"the timepoint error does not list {tp}:\n{err}")
    ctx.expect_exit(EXIT_USAGE, "analyze", fcs, "--reference", ref, "--protocol", "no-such-protocol",
                    "--timepoint", "eoi", must_name="interfant-21")
    err = ctx.expect_exit(EXIT_USAGE, "analyze", fcs, "--reference", ref, "--clinical", "height=3",
                          must_name="height")
    if "age_days" not in err or "day8_pb_blasts_per_ul" not in err:
        raise Failure(f"the clinical-key error does not list the valid keys:\n{err}")
    ctx.expect_exit(EXIT_USAGE, "analyze", fcs, "--reference", ref, "--clinical", "kmt2a=maybe", must_name="kmt2a")
    ctx.expect_exit(EXIT_USAGE, "analyze", fcs, "--reference", ref, "--clinical", "wbc=lots", must_name="wbc")
    # A protocol file works like a shipped name.
    proto = os.path.join(ROOT, "panels", "protocols", "cog-aall08b1.toml")
    doc2, _, _, _ = analyze(ctx, fcs, "--protocol", proto, "--timepoint", "d29", json_name="cog.json")
    cog = doc2["protocol"]
    if cog["decision_threshold_percent"] != 0.01 or "d29-positive" not in [a["rule"]["id"] for a in cog["alerts"]]:
        raise Failure(f"COG day 29: {cog}")


def test_diagnosis(ctx):
    """--diagnosis with the diagnosis FCS (analysed first) and with its result JSON."""
    dx, _ = simulate(ctx, "bcp-all-mrd-0.1pct", "dx", 40000, seed=7)
    fu, truth = simulate(ctx, "bcp-all-mrd-0.1pct", "fu", 40000, seed=8)
    dx_doc, _, _, dx_json = analyze(ctx, dx, json_name="dx.json")
    if not dx_doc["mrd"]["phenotypes"]:
        raise Failure("the diagnosis result has no phenotype")
    for source, kind in ((dx_json, "result"), (dx, "fcs")):
        doc, out, _, _ = analyze(ctx, fu, "--diagnosis", source, json_name=f"fu-{kind}.json")
        d = doc["provenance"]["diagnosis"]
        if d is None or d["kind"] != kind or len(d["sha256"]) != 64 or d["populations"][0] != "b_blasts":
            raise Failure(f"provenance.diagnosis {d}")
        if "diagnosis phenotype" not in out:
            raise Failure(f"the summary does not mention the diagnosis:\n{out}")
    bad = ctx.tmp("bad-dx.json")
    with open(bad, "w", encoding="utf-8") as f:
        json.dump({"schema": "flowmrd.result/1", "mrd": {"phenotypes": [{"population": "b_blasts"}]}}, f)
    ctx.expect_exit(EXIT_INPUT, "analyze", fu, "--reference", reference(ctx), "--diagnosis", bad,
                    must_name="mrd.phenotypes[0].model")
    other = ctx.tmp("other.json")
    with open(other, "w", encoding="utf-8") as f:
        f.write('{"schema": "flowmrd.gating/1"}')
    ctx.expect_exit(EXIT_INPUT, "analyze", fu, "--reference", reference(ctx), "--diagnosis", other,
                    must_name="other.json")


def test_errors(ctx):
    """Bad inputs end with one clear error line naming the file and the documented exit code."""
    ref = reference(ctx)
    not_fcs = ctx.tmp("notes.fcs")
    with open(not_fcs, "w", encoding="utf-8") as f:
        f.write("this is not flow cytometry data\n")
    ctx.expect_exit(EXIT_INPUT, "analyze", not_fcs, "--reference", ref, must_name="notes.fcs")
    empty = ctx.tmp("empty.fcs")
    open(empty, "wb").close()
    ctx.expect_exit(EXIT_INPUT, "analyze", empty, "--reference", ref, must_name="empty.fcs")
    ctx.expect_exit(EXIT_INPUT, "analyze", ctx.tmp("missing.fcs"), "--reference", ref, must_name="missing.fcs")
    ctx.expect_exit(EXIT_INPUT, "analyze", ctx.work, "--reference", ref, must_name="directory")
    # Too few events: a result (not evaluable, low_cellularity), not a crash.
    few, _ = simulate(ctx, "bcp-all-mrd-0.1pct", "few", 300)
    doc, _, _, _ = analyze(ctx, few, json_name="few.json")
    if doc["mrd"]["status"] != "not_evaluable" or not flag(doc, "low_cellularity")["raised"]:
        raise Failure(f"300 events: {doc['mrd']['status']}, flags {doc['flags']}")
    if "NaN" in open(ctx.tmp("few.json"), encoding="utf-8").read():
        raise Failure("NaN in the not-evaluable result")
    # A tube with neither CD19 nor CD33/CD64: no panel fits it.
    shared = [p for p in (ctx.shared_file_or_none(r) for r in NO_LINEAGE_FILES) if p]
    if shared:
        err = ctx.expect_exit(EXIT_INPUT, "analyze", shared[0], "--reference", ref,
                              must_name=os.path.basename(shared[0]))
        if "CD19" not in err:
            raise Failure(f"the panel error does not name the missing CD19:\n{err}")
    else:
        print("(no shared file without CD19/CD33: that check is skipped)")
    good, _ = simulate(ctx, "normal-regenerating", "good", 5000)
    ctx.expect_exit(EXIT_USAGE, "analyze", good, "--reference", ref, "--lod-events", "30", "--lloq-events", "10",
                    must_name="--lloq-events")
    ctx.expect_exit(EXIT_USAGE, "analyze", good, "--reference", ref, "--panel", "no-such-panel",
                    must_name="b-lineage-mrd")
    ctx.expect_exit(EXIT_INPUT, "analyze", good, "--reference", ctx.tmp("no-reference.json"),
                    must_name="no-reference.json")
    ctx.expect_exit(EXIT_OUTPUT, "analyze", good, "--reference", ref, "--json", ctx.tmp("no/such/dir/r.json"),
                    must_name="r.json")
    if os.path.exists("/dev/full") and stat.S_ISCHR(os.stat("/dev/full").st_mode):
        # A device is written in place (disk full: exit 5), never replaced by a renamed file.
        for option in ("--json", "--events"):
            ctx.expect_exit(EXIT_OUTPUT, "analyze", good, "--reference", ref, option, "/dev/full",
                            must_name="/dev/full")
            if not stat.S_ISCHR(os.stat("/dev/full").st_mode):
                raise Failure(f"{option} /dev/full replaced the device")
    ctx.expect_exit(EXIT_USAGE, "analyze", good, "--reference", ref, "--events", "-", must_name="--events")
    ctx.expect_exit(EXIT_USAGE, "analyze", good, "--reference", ref, "--json", good, must_name="overwrite")
    if os.path.getsize(good) < 1000:
        raise Failure("the input was overwritten")
    # The wrong forced panel: the myelomonocytic panel on a B-lineage tube.
    ctx.expect_exit(EXIT_INPUT, "analyze", good, "--reference", ref, "--panel", "myelomonocytic",
                    must_name="good.fcs")
    leftovers = [n for n in os.listdir(ctx.work) if ".tmp" in n]
    if leftovers:
        raise Failure(f"temporary files left behind: {leftovers}")


def test_reference(ctx):
    """`reference build` writes a reference that `analyze --reference` uses and `reference show`
    describes; rebuilding gives the same bytes; errors name the file."""
    normal, _ = simulate(ctx, "normal-regenerating", "normal", 40000)
    switch, _ = simulate(ctx, "lineage-switch-myelomonocytic-tube", "mm", 20000, seed=11)
    built = ctx.tmp("ref.json")
    out, _ = ctx.run_ok("reference", "build", normal, "-o", built, "--name", "lab", "--version", "2",
                        "--description", "test reference")
    with open(built, encoding="utf-8") as f:
        ref = json.load(f)
    if ref.get("schema") != "flowmrd.reference/1" or ref.get("name") != "lab" or ref.get("version") != "2":
        raise Failure(f"reference header: { {k: ref.get(k) for k in ('schema', 'name', 'version')} }")
    if "b_lineage" not in out:
        raise Failure(f"build does not summarise the models:\n{out}")
    again = ctx.tmp("ref2.json")
    ctx.run_ok("reference", "build", normal, "-o", again, "--name", "lab", "--version", "2",
               "--description", "test reference", "--threads", "1")
    if open(built, "rb").read() != open(again, "rb").read():
        raise Failure("rebuilding the reference (--threads 1) gave different bytes")
    fcs, _ = simulate(ctx, "bcp-all-mrd-0.1pct", "mrd", 40000)
    out_json = ctx.tmp("with-ref.json")
    ctx.run_ok("analyze", fcs, "--reference", built, "--json", out_json)
    with open(out_json, encoding="utf-8") as f:
        doc = json.load(f)
    r = doc["provenance"]["reference"]
    if r["name"] != "lab" or r["version"] != "2" or len(r["sha256"]) != 64 or r["source"] != built:
        raise Failure(f"provenance.reference {r}")
    out, _ = ctx.run_ok("reference", "show", built)
    for word in ("lab", "b_lineage", "hematogone", "normal.fcs", r["sha256"]):
        if word not in out:
            raise Failure(f"reference show lacks {word!r}:\n{out}")
    if os.path.isfile(DEFAULT_REFERENCE):
        out, _ = ctx.run_ok("reference", "show")
        if "default" not in out:
            raise Failure(f"reference show (default):\n{out}")
    ctx.expect_exit(EXIT_INPUT, "reference", "show", ctx.tmp("none.json"), must_name="none.json")
    broken = ctx.tmp("broken.json")
    with open(broken, "w", encoding="utf-8") as f:
        f.write('{"schema": "flowmrd.reference/1", "models": 3}')
    ctx.expect_exit(EXIT_INPUT, "reference", "show", broken, must_name="broken.json")
    ctx.expect_exit(EXIT_INPUT, "analyze", fcs, "--reference", broken, must_name="broken.json")
    not_fcs = ctx.tmp("x.fcs")
    with open(not_fcs, "w", encoding="utf-8") as f:
        f.write("no")
    ctx.expect_exit(EXIT_INPUT, "reference", "build", not_fcs, "-o", ctx.tmp("r.json"), must_name="x.fcs")
    ctx.expect_exit(EXIT_USAGE, "reference", "build", normal)
    ctx.expect_exit(EXIT_USAGE, "reference")


def test_qa_events(ctx):
    """The result JSON and its --events CSV are a gating `flowmrd qa` reads: compared with the
    simulator's truth labels, the blast population agrees."""
    fcs, truth = simulate(ctx, "bcp-all-mrd-0.1pct", "qa", 60000)
    events = ctx.tmp("events.csv")
    _, _, _, out_json = analyze(ctx, fcs, "--events", events)
    codes = truth["label_codes"]
    leukemic = {"blast_b", "blast_b_cd19neg", "blast_monocytic"}
    labels = ctx.tmp("truth.csv")
    with open(labels, "w", encoding="utf-8") as f:
        f.write("blast\n")
        f.writelines("1\n" if codes[c] in leukemic else "0\n" for c in truth["event_labels"])
    qa_json = ctx.tmp("qa.json")
    ctx.run_ok("qa", "--reference", labels, "--test", out_json, fcs, "--mrd", "blast", "--json", qa_json)
    with open(qa_json, encoding="utf-8") as f:
        qa = json.load(f)
    pops = [p for p in qa["populations"] if p["name"] == "blast"]
    if len(pops) != 1:
        raise Failure(f"qa did not pair the blast populations: {[p['name'] for p in qa['populations']]}")
    p = pops[0]
    with open(out_json, encoding="utf-8") as f:
        doc = json.load(f)
    if p["reference_events"] != truth["blasts"] or p["test_events"] != doc["mrd"]["blast_events"]:
        raise Failure(f"qa counts {p['reference_events']}/{p['test_events']}, truth {truth['blasts']}, "
                      f"result {doc['mrd']['blast_events']}")
    # A loose bound: the accuracy itself is measured in docs/validation.md.
    if p["f1"] < 0.8:
        raise Failure(f"blast F1 {p['f1']} against the truth labels")
    print(f"qa: blast F1 {p['f1']:.3f} ({p['both']} agree, {p['reference_only']} missed, {p['test_only']} extra)")


TESTS = {
    "b_lineage": test_b_lineage,
    "cd19_negative": test_cd19_negative,
    "lineage_switch": test_lineage_switch,
    "normal": test_normal,
    "two_tubes": test_two_tubes,
    "threads_identical": test_threads_identical,
    "protocol": test_protocol,
    "diagnosis": test_diagnosis,
    "errors": test_errors,
    "reference": test_reference,
    "qa_events": test_qa_events,
}


def main():
    return run_scenarios(TESTS, __doc__.split("\n")[0], "analyze")


if __name__ == "__main__":
    sys.exit(main())
