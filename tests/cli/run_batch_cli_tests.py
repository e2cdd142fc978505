#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of `flowmrd batch`, run as a lab runs it.

Usage: run_batch_cli_tests.py FLOWMRD SHARED_DATA TEST [--work DIR] [--config CONFIG]

The scenarios write their own manifests (docs/manifest.md) over the bundled demo files
(samples/demo/*.fcs, with truth JSON beside each) and check: the per-sample outputs, the results
store (read with Python's sqlite3), the reports and the batch summary; that a batch result equals
what `flowmrd analyze` gives for the same sample; byte-identical outputs for --jobs 1 and 2;
fault isolation (missing, truncated, non-FCS, panel-mismatch files and a bad manifest row next to
good samples); --resume after a clean run and after kill -9 at several moments; --fail-fast;
--plan and --only. Exit status 0 pass, 1 fail, 77 skipped.
"""

import csv
import glob
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_cli_tests import Failure, Skip, EXIT_OK, EXIT_USAGE, EXIT_INPUT, run_scenarios  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEMO = os.path.join(ROOT, "samples", "demo")
EXIT_PARTIAL = 7

HEADER = ("patient,sample,timepoint,protocol_timepoint,date,tube,file,panel,protocol,age_days,wbc,kmt2a,cns,"
          "day8_pb_blasts_per_ul")
# The bundled demo: (patient, sample, timepoint, protocol timepoint, date, file, protocol, clinical)
INFANT = "122,412,rearranged,negative,2300"
DEMO_ROWS = [
    ("P1", "P1-DX", "diagnosis", "dx", "2026-03-02", "p1-diagnosis.fcs", "interfant-21", INFANT),
    ("P1", "P1-D15", "day15", "", "2026-03-16", "p1-day15.fcs", "interfant-21", INFANT),
    ("P1", "P1-D33", "day33", "eoi", "2026-04-03", "p1-day33.fcs", "interfant-21", INFANT),
    ("P1", "P1-BLIN1", "blin1", "blin1", "2026-05-09", "p1-blin1.fcs", "interfant-21", INFANT),
    ("P2", "P2-DX", "diagnosis", "dx", "2026-01-10", "p2-diagnosis.fcs", "interfant-21", "274,95,rearranged,negative,450"),
    ("P2", "P2-REL", "relapse", "", "2026-06-15", "p2-relapse.fcs", "interfant-21", "274,95,rearranged,negative,450"),
    ("N1", "N1-D15", "day15", "d15", "2026-04-20", "n1-day15.fcs", "aieop-bfm-all-2009", "1650,12,germline,negative,"),
]


# ---- helpers ------------------------------------------------------------------------------------
def demo_file(name):
    path = os.path.join(DEMO, name)
    if not os.path.isfile(path):
        raise Skip(f"demo file missing: {path}")
    return path


def write_manifest(ctx, name, rows):
    """rows: tuples as DEMO_ROWS, file either a demo file name or a path."""
    lines = [HEADER]
    for patient, sample, tp, ptp, date, file, protocol, clinical in rows:
        path = file if os.path.isabs(file) else demo_file(file)
        lines.append(f"{patient},{sample},{tp},{ptp},{date},tube 1,{path},,{protocol},{clinical}")
    path = ctx.tmp(name)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def batch(ctx, manifest, out, *extra, expect=EXIT_OK, timeout=900):
    rc, stdout, stderr = ctx.run("batch", manifest, "--out", out, "--progress", "lines", *extra, timeout=timeout)
    if rc != expect:
        raise Failure(f"flowmrd batch {manifest} --out {out} {' '.join(extra)}: exit {rc}, expected {expect}\n"
                      f"stdout:\n{stdout}\nstderr:\n{stderr}")
    return stdout, stderr


def outcome(out, patient, sample):
    with open(os.path.join(out, "samples", patient, sample, "outcome.json"), encoding="utf-8") as f:
        return json.load(f)


def result(out, patient, sample):
    with open(os.path.join(out, "samples", patient, sample, "result.json"), encoding="utf-8") as f:
        return json.load(f)


def summary(out):
    with open(os.path.join(out, "summary.csv"), encoding="utf-8", newline="") as f:
        return {(r["patient"], r["sample"]): r for r in csv.DictReader(f)}


def store_rows(db, sql, *args):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def tree_digest(out, include_store=False):
    """SHA-256 of every file under OUT/samples (and the store's export), by relative path."""
    digests = {}
    for path in sorted(glob.glob(os.path.join(out, "samples", "**", "*"), recursive=True)):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                digests[os.path.relpath(path, out)] = hashlib.sha256(f.read()).hexdigest()
    return digests


def export_csv(ctx, db):
    out, _ = ctx.run_ok("db", "export", "--db", db)
    return out


def check_demo_outputs(ctx, out):
    truth_files = {r[1]: os.path.join(DEMO, r[5].replace(".fcs", ".truth.json")) for r in DEMO_ROWS}
    rows = summary(out)
    if len(rows) != len(DEMO_ROWS):
        raise Failure(f"summary.csv has {len(rows)} rows, expected {len(DEMO_ROWS)}")
    for patient, sample, *_ in DEMO_ROWS:
        o = outcome(out, patient, sample)
        if o["status"] != "ok":
            raise Failure(f"{patient}/{sample}: status {o['status']}: {o.get('error')}")
        doc = result(out, patient, sample)
        if doc["patient_id"] != patient or doc["sample_id"] != sample:
            raise Failure(f"{patient}/{sample}: result names {doc['patient_id']}/{doc['sample_id']}")
        with open(truth_files[sample], encoding="utf-8") as f:
            truth = json.load(f)
        got, want = doc["mrd"]["percent"] or 0.0, truth["mrd_percent"]
        if want == 0 and got > 0.01 or want > 0 and abs(got - want) > 0.35 * want:
            raise Failure(f"{patient}/{sample}: MRD {got}%, truth {want}%")
        plots = glob.glob(os.path.join(out, "samples", patient, sample, "plots", "*.png"))
        if len(plots) != len(o["plots"]) or not plots:
            raise Failure(f"{patient}/{sample}: {len(plots)} plots on disk, outcome lists {len(o['plots'])}")
        if rows[(patient, sample)]["outcome"] not in ("analysed", "skipped (unchanged)"):
            raise Failure(f"{patient}/{sample}: summary outcome {rows[(patient, sample)]['outcome']}")
    # Follow-ups were guided by their diagnosis and saw earlier timepoints.
    blin = result(out, "P1", "P1-BLIN1")
    prov = blin["provenance"]
    if not prov.get("diagnosis") or "P1-DX" not in prov["diagnosis"]["path"]:
        raise Failure(f"P1-BLIN1 was not guided by P1-DX: provenance.diagnosis = {prov.get('diagnosis')}")
    previous = [p["timepoint"] for p in prov["options"].get("previous", [])]
    if sorted(previous) != ["dx", "eoi"]:
        raise Failure(f"P1-BLIN1: earlier timepoints given to the protocol: {previous}, expected dx and eoi")
    raised = {f["id"] for f in blin["flags"] if f["raised"]}
    if "cd19_negative" not in raised:
        raise Failure(f"P1-BLIN1: cd19_negative not raised ({raised})")
    rel = result(out, "P2", "P2-REL")
    if "lineage_switch" not in {f["id"] for f in rel["flags"] if f["raised"]}:
        raise Failure("P2-REL: lineage_switch not raised")
    db = os.path.join(out, "flowmrd.sqlite")
    n = store_rows(db, "SELECT COUNT(*) FROM samples")[0][0]
    if n != len(DEMO_ROWS):
        raise Failure(f"store has {n} samples, expected {len(DEMO_ROWS)}")
    for patient in ("P1", "P2", "N1"):
        report = os.path.join(out, "reports", patient + ".html")
        if not os.path.isfile(report) or os.path.getsize(report) < 1000:
            raise Failure(f"no report for {patient}: {report}")
    return rows


# ---- scenarios ----------------------------------------------------------------------------------
def test_demo(ctx):
    manifest = write_manifest(ctx, "demo.csv", DEMO_ROWS)
    out = ctx.tmp("out")
    stdout, stderr = batch(ctx, manifest, out, "--jobs", "2")
    check_demo_outputs(ctx, out)
    for needle in ("analysed: 7", "failed: 0", "report: ", "store: "):
        if needle not in stdout:
            raise Failure(f"batch output lacks {needle!r}:\n{stdout}")
    if stderr.count("[") < len(DEMO_ROWS):
        raise Failure(f"expected one log line per sample on a non-terminal stderr:\n{stderr}")
    html = open(os.path.join(out, "summary.html"), encoding="utf-8").read()
    if "P1-BLIN1" not in html or "reports/P1.html" not in html:
        raise Failure("summary.html lacks the samples or the report links")


def test_equals_analyze(ctx):
    """A sample without dependencies gives the JSON `flowmrd analyze` gives (but for the ids)."""
    rows = [r for r in DEMO_ROWS if r[0] == "N1"]
    manifest = write_manifest(ctx, "n1.csv", rows)
    out = ctx.tmp("out")
    batch(ctx, manifest, out, "--jobs", "2", "--no-store")
    got = result(out, "N1", "N1-D15")
    single = ctx.tmp("single.json")
    ctx.run_ok("analyze", demo_file("n1-day15.fcs"), "--protocol", "aieop-bfm-all-2009", "--timepoint", "d15",
               "--clinical", "age_days=1650", "--clinical", "wbc=12", "--clinical", "kmt2a=germline",
               "--clinical", "cns=negative", "--json", single)
    with open(single, encoding="utf-8") as f:
        want = json.load(f)
    got["patient_id"] = want["patient_id"]
    got["sample_id"] = want["sample_id"]
    if got != want:
        diff = [k for k in want if got.get(k) != want.get(k)]
        raise Failure(f"batch and analyze results differ in {diff}")


def test_jobs_identical(ctx):
    manifest = write_manifest(ctx, "demo.csv", DEMO_ROWS)
    a, b = ctx.tmp("a"), ctx.tmp("b")
    batch(ctx, manifest, a, "--jobs", "1")
    batch(ctx, manifest, b, "--jobs", "2")
    da, db_ = tree_digest(a), tree_digest(b)
    if da != db_:
        diff = sorted(k for k in set(da) | set(db_) if da.get(k) != db_.get(k))
        raise Failure(f"--jobs 1 and --jobs 2 outputs differ: {diff[:10]}")
    if export_csv(ctx, os.path.join(a, "flowmrd.sqlite")) != export_csv(ctx, os.path.join(b, "flowmrd.sqlite")):
        raise Failure("--jobs 1 and --jobs 2 stores export differently")
    if open(os.path.join(a, "summary.csv"), "rb").read() != open(os.path.join(b, "summary.csv"), "rb").read():
        raise Failure("--jobs 1 and --jobs 2 summary.csv differ")


def corrupted_rows(ctx):
    good = demo_file("n1-day15.fcs")
    with open(good, "rb") as f:
        data = f.read()
    truncated = ctx.tmp("truncated.fcs")
    with open(truncated, "wb") as f:
        f.write(data[: len(data) // 3])
    not_fcs = ctx.tmp("notes.fcs")
    with open(not_fcs, "w", encoding="utf-8") as f:
        f.write("patient notes, not a cytometry file\n")
    rows = [
        ("P1", "P1-DX", "diagnosis", "dx", "2026-03-02", ctx.tmp("missing.fcs"), "interfant-21", INFANT),
        ("P1", "P1-D33", "day33", "eoi", "2026-04-03", "p1-day33.fcs", "interfant-21", INFANT),
        ("T1", "T1-D15", "day15", "d15", "2026-04-20", truncated, "aieop-bfm-all-2009", "1650,12,germline,negative,"),
        ("X1", "X1-D15", "day15", "d15", "2026-04-20", not_fcs, "aieop-bfm-all-2009", "1650,12,germline,negative,"),
        ("B1", "B1-D15", "day15", "d15", "2026-04-20", good, "aieop-bfm-all-2009", "1650,abc,germline,negative,"),
        ("N1", "N1-D15", "day15", "d15", "2026-04-20", good, "aieop-bfm-all-2009", "1650,12,germline,negative,"),
    ]
    mismatch = ctx.shared_file_or_none("UCLouvain-CBIO__CytoPipeline/inst/extdata/Donor1.fcs")
    if mismatch:
        rows.append(("M1", "M1-D15", "day15", "d15", "2026-04-20", mismatch, "aieop-bfm-all-2009",
                     "1650,12,germline,negative,"))
    return rows


def test_corrupted(ctx):
    rows = corrupted_rows(ctx)
    manifest = write_manifest(ctx, "bad.csv", rows)
    out = ctx.tmp("out")
    stdout, stderr = batch(ctx, manifest, out, "--jobs", "2", expect=EXIT_PARTIAL)
    expect_fail = {("P1", "P1-DX"): "no such file", ("T1", "T1-D15"): "truncated.fcs",
                   ("X1", "X1-D15"): "not an FCS file", ("B1", "B1-D15"): "wbc"}
    if len(rows) == 7:
        expect_fail[("M1", "M1-D15")] = "no panel"
    s = summary(out)
    for key, needle in expect_fail.items():
        o = outcome(out, *key)
        if o["status"] != "failed" or needle not in (o["error"] or ""):
            raise Failure(f"{key}: expected failure naming {needle!r}, got {o['status']}: {o.get('error')}")
        if s[key]["outcome"] != "failed" or needle not in s[key]["error"]:
            raise Failure(f"summary.csv row {key}: {s[key]}")
        if os.path.exists(os.path.join(out, "samples", *key, "result.json")):
            raise Failure(f"{key}: a failed sample left a result.json")
    for key in (("N1", "N1-D15"), ("P1", "P1-D33")):
        if outcome(out, *key)["status"] != "ok":
            raise Failure(f"{key}: a good sample did not survive its neighbours: {outcome(out, *key)}")
    warnings = outcome(out, "P1", "P1-D33")["warnings"]
    if not any("P1-DX" in w for w in warnings):
        raise Failure(f"P1-D33 does not warn that its diagnosis failed: {warnings}")
    db = os.path.join(out, "flowmrd.sqlite")
    failed = store_rows(db, "SELECT patient, sample, error_message FROM samples WHERE status = 'failed' ORDER BY 1")
    if len(failed) != len(expect_fail):
        raise Failure(f"store has {len(failed)} failed samples, expected {len(expect_fail)}: {failed}")
    if "failed: " + str(len(expect_fail)) not in stdout:
        raise Failure(f"batch output does not count the failures:\n{stdout}")
    # --resume: unchanged failures stay failed without their folders being rewritten.
    mtimes = {k: os.stat(os.path.join(out, "samples", *k, "outcome.json")).st_mtime_ns for k in expect_fail}
    stdout, _ = batch(ctx, manifest, out, "--jobs", "2", "--resume", expect=EXIT_PARTIAL)
    if "failed: " + str(len(expect_fail)) not in stdout or "analysed: 0" not in stdout:
        raise Failure(f"--resume after failures:\n{stdout}")
    for k, t in mtimes.items():
        if os.stat(os.path.join(out, "samples", *k, "outcome.json")).st_mtime_ns != t:
            raise Failure(f"--resume rewrote the unchanged failure of {k}")


def test_fail_fast(ctx):
    rows = [r for r in corrupted_rows(ctx) if r[0] in ("X1", "N1")]
    rows = [rows[0]] + [("N1", "N1-D15", *rows[1][2:])]
    manifest = write_manifest(ctx, "ff.csv", rows)
    out = ctx.tmp("out")
    stdout, _ = batch(ctx, manifest, out, "--jobs", "1", "--fail-fast", expect=EXIT_PARTIAL)
    s = summary(out)
    if s[("N1", "N1-D15")]["outcome"] != "not run (--fail-fast)":
        raise Failure(f"--fail-fast still ran the next sample: {s[('N1', 'N1-D15')]}")


def test_resume(ctx):
    manifest = write_manifest(ctx, "demo.csv", DEMO_ROWS)
    out = ctx.tmp("out")
    batch(ctx, manifest, out, "--jobs", "2")
    before = tree_digest(out)
    db = os.path.join(out, "flowmrd.sqlite")
    audit_before = store_rows(db, "SELECT COUNT(*) FROM audit WHERE sample IS NOT NULL AND sample != ''")[0][0]
    stdout, _ = batch(ctx, manifest, out, "--jobs", "2", "--resume")
    if "skipped (unchanged): 7" not in stdout or "analysed: 0" not in stdout:
        raise Failure(f"--resume re-analysed unchanged samples:\n{stdout}")
    if tree_digest(out) != before:
        raise Failure("--resume changed sample outputs of unchanged samples")
    audit_after = store_rows(db, "SELECT COUNT(*) FROM audit WHERE sample IS NOT NULL AND sample != ''")[0][0]
    if audit_after != audit_before:
        raise Failure(f"--resume added {audit_after - audit_before} sample audit rows for unchanged samples")
    # A changed file: that sample and the later samples of its patient run again, nothing else.
    changed = ctx.tmp("p1-day33-copy.fcs")
    shutil.copyfile(demo_file("p1-day33.fcs"), changed)
    with open(changed, "ab") as f:
        f.write(b" ")  # bytes after the last segment: a different file, the same events
    rows = [(r[0], r[1], r[2], r[3], r[4], changed if r[1] == "P1-D33" else r[5], r[6], r[7]) for r in DEMO_ROWS]
    manifest2 = write_manifest(ctx, "demo2.csv", rows)
    stdout, stderr = batch(ctx, manifest2, out, "--jobs", "2", "--resume")
    # P1-D33 changed; P1-BLIN1 depends on its result (a protocol input): both run again.
    if "analysed: 2" not in stdout or "skipped (unchanged): 5" not in stdout:
        raise Failure(f"after changing one file, expected P1-D33 and P1-BLIN1 re-analysed:\n{stdout}\n{stderr}")
    if outcome(out, "P1", "P1-D33")["tubes"][0]["path"] != changed:
        raise Failure("P1-D33's outcome does not name the changed file")


def test_kill_resume(ctx):
    """kill -9 at several moments, then --resume: the end state equals a clean run's."""
    manifest = write_manifest(ctx, "demo.csv", DEMO_ROWS)
    clean = ctx.tmp("clean")
    batch(ctx, manifest, clean, "--jobs", "1")
    out = ctx.tmp("out")
    kills = 0
    for delay in (0.3, 1.0, 2.0, 3.5, 5.0):
        proc = subprocess.Popen([ctx.flowmrd, "batch", manifest, "--out", out, "--jobs", "1", "--resume",
                                 "--progress", "none"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    if kills == 0:
        raise Skip("the batch always finished before the kill: nothing was interrupted")
    batch(ctx, manifest, out, "--jobs", "1", "--resume")
    if tree_digest(out) != tree_digest(clean):
        a, b = tree_digest(out), tree_digest(clean)
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        raise Failure(f"after {kills} kills and --resume, sample outputs differ from a clean run: {diff[:10]}")
    leftovers = [p for p in glob.glob(os.path.join(out, "**", "*"), recursive=True) if ".tmp-" in p]
    if leftovers:
        raise Failure(f"temporary files left behind: {leftovers[:5]}")
    db = os.path.join(out, "flowmrd.sqlite")
    dup = store_rows(db, "SELECT patient, sample, COUNT(*) FROM samples GROUP BY 1, 2 HAVING COUNT(*) > 1")
    if dup:
        raise Failure(f"duplicated samples in the store: {dup}")
    if export_csv(ctx, db) != export_csv(ctx, os.path.join(clean, "flowmrd.sqlite")):
        raise Failure("after kills and --resume the store exports differently from a clean run's")
    recorded = store_rows(db, "SELECT patient, sample, COUNT(*) FROM audit WHERE action IN ('recorded', 'replaced') "
                              "GROUP BY 1, 2 HAVING COUNT(*) > 1")
    if recorded:
        raise Failure(f"samples recorded more than once: {recorded}")


def test_plan_only(ctx):
    manifest = write_manifest(ctx, "demo.csv", DEMO_ROWS)
    out = ctx.tmp("out")
    plan_text, _ = ctx.run_ok("batch", manifest, "--out", out, "--plan")
    plan = json.loads(plan_text)
    ids = [s["id"] for s in plan["samples"]]
    if len(ids) != len(DEMO_ROWS) or "P1/P1-BLIN1" not in ids:
        raise Failure(f"--plan samples: {ids}")
    blin = next(s for s in plan["samples"] if s["id"] == "P1/P1-BLIN1")
    if blin["depends_on"] != ["P1/P1-DX", "P1/P1-D15", "P1/P1-D33"]:
        raise Failure(f"--plan depends_on of P1/P1-BLIN1: {blin['depends_on']}")
    if os.path.exists(out):
        raise Failure("--plan wrote outputs")
    # --only runs one sample; a follow-up reads its diagnosis from OUT.
    batch(ctx, manifest, out, "--only", "P1/P1-DX", "--no-store")
    batch(ctx, manifest, out, "--only", "P1/P1-D15", "--no-store")
    if sorted(os.listdir(os.path.join(out, "samples", "P1"))) != ["P1-D15", "P1-DX"]:
        raise Failure(f"--only ran other samples: {os.listdir(os.path.join(out, 'samples', 'P1'))}")
    if os.path.exists(os.path.join(out, "flowmrd.sqlite")) or os.path.exists(os.path.join(out, "summary.csv")):
        raise Failure("--only --no-store wrote a store or a summary")
    d15 = result(out, "P1", "P1-D15")
    if not d15["provenance"].get("diagnosis"):
        raise Failure("--only P1/P1-D15 was not guided by the diagnosis result in OUT")
    ctx.expect_exit(EXIT_USAGE, "batch", manifest, "--out", out, "--only", "P9/NOPE", must_name="P9/NOPE")


def test_errors(ctx):
    ctx.expect_exit(EXIT_INPUT, "batch", ctx.tmp("nope.csv"), "--out", ctx.tmp("o"), must_name="nope.csv")
    bad = ctx.tmp("bad.csv")
    with open(bad, "w", encoding="utf-8") as f:
        f.write("patient,sample\nP1,S1\n")
    ctx.expect_exit(EXIT_INPUT, "batch", bad, "--out", ctx.tmp("o"), must_name="file")


TESTS = {
    "demo": test_demo,
    "equals_analyze": test_equals_analyze,
    "jobs_identical": test_jobs_identical,
    "corrupted": test_corrupted,
    "fail_fast": test_fail_fast,
    "resume": test_resume,
    "kill_resume": test_kill_resume,
    "plan_only": test_plan_only,
    "errors": test_errors,
}


def main():
    return run_scenarios(TESTS, __doc__.split("\n")[0], "batch")


if __name__ == "__main__":
    sys.exit(main())
