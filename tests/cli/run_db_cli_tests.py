#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of `flowmrd db` (the results store, docs/store.md), run as a user runs them.

Usage: run_db_cli_tests.py FLOWMRD SHARED_DATA TEST [--work DIR] [--config CONFIG]

`errors` needs no populated store: a missing store, a junk file, an SQLite file of something
else and a store with a newer schema (made with Python's sqlite3: a `schema_version` table saying
99) must each end with one "FILE: reason" error line and exit 3, leaving the file untouched. The
other scenarios build a store the only supported way, with `flowmrd batch` over the bundled demo
manifest (samples/demo/manifest.csv), and check `db patients`, `timeline`, `export` and `audit`
against the per-sample result JSONs the batch wrote; they are skipped (77) while `flowmrd batch`
is not available. Exit status 0 pass, 1 fail, 77 skipped.
"""

import csv
import hashlib
import io
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_cli_tests import Failure, Skip, EXIT_OK, EXIT_USAGE, EXIT_INPUT, EXIT_OUTPUT, run_scenarios  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DEMO = os.path.abspath(os.path.join(ROOT, "samples", "demo"))
DEMO_MANIFEST = os.path.join(DEMO, "manifest.csv")

CSV_HEADER = ["patient", "sample", "timepoint", "protocol_timepoint", "date", "protocol", "status", "error",
              "mrd_percent", "mrd_status", "lod_percent", "lloq_percent", "ci_low_percent", "ci_high_percent",
              "blast_events", "denominator_events", "flags", "risk_group", "rule_id", "files", "sha256",
              "software_version"]


# ---- helpers ------------------------------------------------------------------------------------
def file_state(path):
    """Bytes hash and mtime of a file, to prove a read-only command left it alone."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest(), os.stat(path).st_mtime_ns


def require_batch(ctx):
    rc, out, err = ctx.run("batch", "--help")
    if rc != EXIT_OK or "(in progress)" in out + err:
        raise Skip("`flowmrd batch` is not available yet (its --help says '(in progress)')")


def batch(ctx, manifest=DEMO_MANIFEST, out_name="out", *extra, expect=(EXIT_OK,)):
    """Run `flowmrd batch` into the work dir; returns (out dir, store path)."""
    require_batch(ctx)
    out_dir = ctx.tmp(out_name)
    rc, out, err = ctx.run("batch", manifest, "--out", out_dir, "--jobs", "2", *extra, timeout=900)
    if rc not in expect:
        raise Failure(f"flowmrd batch {manifest}: exit {rc}, expected {expect}\nstdout:\n{out}\nstderr:\n{err}")
    store = os.path.join(out_dir, "flowmrd.sqlite")
    if not os.path.isfile(store):
        raise Failure(f"flowmrd batch wrote no store at {store}\nstdout:\n{out}")
    return out_dir, store


def demo_samples():
    """{(patient, sample): first manifest row} of the demo manifest, in manifest order."""
    with open(DEMO_MANIFEST, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    out = {}
    for r in rows:
        out.setdefault((r["patient"], r["sample"]), r)
    return out


def result_of(out_dir, patient, sample):
    path = os.path.join(out_dir, "samples", patient, sample, "result.json")
    if not os.path.isfile(path):
        raise Failure(f"the batch wrote no {path}")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def db_json(ctx, *args):
    out, _ = ctx.run_ok("db", *args, "--json")
    try:
        return json.loads(out)
    except json.JSONDecodeError as e:
        raise Failure(f"flowmrd db {' '.join(args)} --json is not JSON ({e}):\n{out[:2000]}")


def close(a, b, rel=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= rel * max(1.0, abs(float(a)), abs(float(b)))


def no_sidecars(store):
    left = [s for s in ("-wal", "-shm", "-journal") if os.path.exists(store + s)]
    if left:
        raise Failure(f"read-only `flowmrd db` left {left} beside {store}")


# ---- scenarios ----------------------------------------------------------------------------------
def test_errors(ctx):
    """Stores that cannot be read: one clear "FILE: reason" line, exit 3, the file untouched."""
    missing = ctx.tmp("missing.sqlite")
    for sub in (["patients"], ["timeline", "--patient", "P1"], ["export"], ["audit"]):
        err = ctx.expect_exit(EXIT_INPUT, "db", *sub, "--db", missing, must_name=missing)
        if "no such store" not in err:
            raise Failure(f"db {sub[0]} on a missing store: {err}")
    if os.path.exists(missing):
        raise Failure("a read-only db command created the missing store")

    junk = ctx.tmp("junk.sqlite")
    with open(junk, "wb") as f:
        f.write(b"this is not a database\n" + bytes(range(256)) * 8)
    before = file_state(junk)
    err = ctx.expect_exit(EXIT_INPUT, "db", "patients", "--db", junk, must_name=junk)
    if "not an SQLite database" not in err:
        raise Failure(f"junk file: {err}")
    if file_state(junk) != before:
        raise Failure("the junk file was changed")

    empty = ctx.tmp("empty.sqlite")
    open(empty, "wb").close()
    ctx.expect_exit(EXIT_INPUT, "db", "patients", "--db", empty, must_name=empty)

    other = ctx.tmp("other.sqlite")
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    err = ctx.expect_exit(EXIT_INPUT, "db", "audit", "--db", other, must_name=other)
    if "not a flowmrd results store" not in err:
        raise Failure(f"foreign SQLite file: {err}")

    newer = ctx.tmp("newer.sqlite")
    con = sqlite3.connect(newer)
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    con.execute("INSERT INTO schema_version VALUES (99)")
    con.commit()
    con.close()
    before = file_state(newer)
    err = ctx.expect_exit(EXIT_INPUT, "db", "patients", "--db", newer, must_name=newer)
    if "schema version 99 is newer than this flowmrd" not in err or "use a newer flowmrd" not in err:
        raise Failure(f"newer schema: {err}")
    if file_state(newer) != before:
        raise Failure("the newer store was changed")

    ctx.expect_exit(EXIT_INPUT, "db", "patients", "--db", ctx.work, must_name="directory")
    ctx.expect_exit(EXIT_USAGE, "db", "patients", must_name="--db")
    ctx.expect_exit(EXIT_USAGE, "db", "timeline", "--db", missing, must_name="--patient")
    ctx.expect_exit(EXIT_USAGE, "db")


def test_patients(ctx):
    """`db patients`: one row per manifest patient, counts, dates and latest MRD from the results."""
    out_dir, store = batch(ctx)
    before = file_state(store)
    samples = demo_samples()
    doc = db_json(ctx, "patients", "--db", store)
    if doc.get("schema") != "flowmrd.db.patients/1":
        raise Failure(f"schema: {doc.get('schema')}")
    got = [p["patient"] for p in doc["patients"]]
    want = sorted({p for p, _ in samples})
    if got != want:
        raise Failure(f"patients {got}, expected {want}")
    for p in doc["patients"]:
        mine = [(k, r) for k, r in samples.items() if k[0] == p["patient"]]
        if p["samples"] != len(mine) or p["failed"] != 0:
            raise Failure(f"{p['patient']}: {p['samples']} samples / {p['failed']} failed, expected {len(mine)} / 0")
        dates = sorted(r["date"] for _, r in mine)
        if (p["first_date"], p["last_date"]) != (dates[0], dates[-1]):
            raise Failure(f"{p['patient']}: dates {p['first_date']}..{p['last_date']}, expected {dates[0]}..{dates[-1]}")
        latest = max(mine, key=lambda kr: kr[1]["date"])
        res = result_of(out_dir, *latest[0])
        if p["latest_timepoint"] != latest[1]["timepoint"]:
            raise Failure(f"{p['patient']}: latest timepoint {p['latest_timepoint']}, expected {latest[1]['timepoint']}")
        if not close(p["latest_mrd_percent"], res["mrd"]["percent"]) or p["latest_status"] != res["mrd"]["status"]:
            raise Failure(f"{p['patient']}: latest MRD {p['latest_mrd_percent']} {p['latest_status']}, result says "
                          f"{res['mrd']['percent']} {res['mrd']['status']}")
    text, _ = ctx.run_ok("db", "patients", "--db", store)
    lines = text.splitlines()
    if not lines or not lines[0].startswith("patient") or len(lines) != 1 + len(want):
        raise Failure(f"text table:\n{text}")
    for name in want:
        if not any(line.startswith(name + " ") for line in lines[1:]):
            raise Failure(f"{name} is not in the table:\n{text}")
    if file_state(store) != before:
        raise Failure("`db patients` changed the store")
    no_sidecars(store)


def test_timeline(ctx):
    """`db timeline`: the patient's samples by date with the numbers of each result JSON."""
    out_dir, store = batch(ctx)
    samples = demo_samples()
    for patient in sorted({p for p, _ in samples}):
        mine = sorted(((k, r) for k, r in samples.items() if k[0] == patient), key=lambda kr: (kr[1]["date"], kr[0][1]))
        doc = db_json(ctx, "timeline", "--db", store, "--patient", patient)
        if doc.get("schema") != "flowmrd.db.timeline/1" or doc.get("patient") != patient:
            raise Failure(f"timeline header: {doc.get('schema')} {doc.get('patient')}")
        got = [s["sample"] for s in doc["samples"]]
        if got != [k[1] for k, _ in mine]:
            raise Failure(f"{patient}: timeline order {got}, expected {[k[1] for k, _ in mine]}")
        for s, (key, row) in zip(doc["samples"], mine):
            res = result_of(out_dir, *key)
            if s["status"] != "ok" or s["date"] != row["date"] or s["timepoint"] != row["timepoint"]:
                raise Failure(f"{key}: {s['status']} {s['date']} {s['timepoint']}")
            if (s["protocol_timepoint"] or "") != row["protocol_timepoint"]:
                raise Failure(f"{key}: protocol timepoint {s['protocol_timepoint']}, manifest {row['protocol_timepoint']}")
            m = res["mrd"]
            for mine_key, theirs in (("mrd_percent", m["percent"]), ("lod_percent", m["lod_percent"]),
                                     ("lloq_percent", m["lloq_percent"]), ("blast_events", m["blast_events"]),
                                     ("denominator_events", m["denominator_events"]),
                                     ("sensitivity_one_in", m["sensitivity_one_in"])):
                if not close(s[mine_key], theirs):
                    raise Failure(f"{key}: {mine_key} {s[mine_key]}, result {theirs}")
            if s["mrd_status"] != m["status"]:
                raise Failure(f"{key}: status {s['mrd_status']}, result {m['status']}")
            if m["ci95_percent"] and (s["ci95_percent"] is None or not all(
                    close(a, b) for a, b in zip(s["ci95_percent"], m["ci95_percent"]))):
                raise Failure(f"{key}: CI {s['ci95_percent']}, result {m['ci95_percent']}")
            raised = [f["id"] for f in res["flags"] if f.get("raised")]
            if s["flags"] != raised:
                raise Failure(f"{key}: flags {s['flags']}, result {raised}")
            proto = res.get("protocol") or {}
            if (s["risk_group"] or None) != proto.get("risk_group") or (s["protocol_status"] or None) != proto.get("status"):
                raise Failure(f"{key}: risk {s['risk_group']} / {s['protocol_status']}, result {proto}")
            with open(os.path.join(out_dir, "samples", key[0], key[1], "result.json"), "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()
            if s["result_sha256"] != sha:
                raise Failure(f"{key}: result_sha256 {s['result_sha256']}, the file hashes to {sha}")
    text, _ = ctx.run_ok("db", "timeline", "--db", store, "--patient", "P1")
    if "P1-BLIN1" not in text or "MRD %" not in text or "cd19_negative" not in text:
        raise Failure(f"timeline text:\n{text}")
    err = ctx.expect_exit(EXIT_USAGE, "db", "timeline", "--db", store, "--patient", "P9", must_name="P9")
    if "P1" not in err or "P2" not in err:
        raise Failure(f"the unknown-patient error does not list the known patients:\n{err}")
    no_sidecars(store)


def test_export(ctx):
    """`db export`: RFC 4180 CSV with the documented columns, stdout or an atomically written file."""
    out_dir, store = batch(ctx)
    samples = demo_samples()
    text, _ = ctx.run_ok("db", "export", "--db", store)
    rows = list(csv.reader(io.StringIO(text)))
    if rows[0] != CSV_HEADER:
        raise Failure(f"CSV header {rows[0]}")
    body = [dict(zip(CSV_HEADER, r)) for r in rows[1:]]
    if len(body) != len(samples) or any(len(r) != len(CSV_HEADER) for r in rows):
        raise Failure(f"{len(body)} CSV rows for {len(samples)} samples")
    keys = [(r["patient"], r["sample"]) for r in body]
    want = [k for k, _ in sorted(samples.items(), key=lambda kr: (kr[0][0], kr[1]["date"], kr[0][1]))]
    if keys != want:
        raise Failure(f"CSV order {keys}, expected {want}")
    for r in body:
        res = result_of(out_dir, r["patient"], r["sample"])
        if r["status"] != "ok" or not close(r["mrd_percent"], res["mrd"]["percent"], rel=1e-9):
            raise Failure(f"{r['patient']}/{r['sample']}: {r['status']} {r['mrd_percent']} vs {res['mrd']['percent']}")
        manifest_file = os.path.join(DEMO, samples[(r["patient"], r["sample"])]["file"])
        with open(manifest_file, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        if r["sha256"] != sha or os.path.basename(r["files"]) != os.path.basename(manifest_file):
            raise Failure(f"{r['patient']}/{r['sample']}: files {r['files']} sha256 {r['sha256']}, expected {sha}")
    one, _ = ctx.run_ok("db", "export", "--db", store, "--patient", "P2")
    if one != text.splitlines(keepends=True)[0] + "".join(
            line for line in text.splitlines(keepends=True)[1:] if line.startswith("P2,")):
        raise Failure(f"--patient P2 export:\n{one}")
    out_csv = ctx.tmp("export.csv")
    out, _ = ctx.run_ok("db", "export", "--db", store, "-o", out_csv)
    with open(out_csv, encoding="utf-8", newline="") as f:
        if f.read() != text or out:
            raise Failure("-o wrote something else than standard output shows (or printed to stdout)")
    ctx.expect_exit(EXIT_OUTPUT, "db", "export", "--db", store, "-o", ctx.tmp("no/such/dir/x.csv"), must_name="x.csv")
    ctx.expect_exit(EXIT_USAGE, "db", "export", "--db", store, "--patient", "nobody", must_name="nobody")
    leftovers = [n for n in os.listdir(ctx.work) if ".tmp" in n]
    if leftovers:
        raise Failure(f"temporary files left behind: {leftovers}")

    # The same manifest run again into another store: the same CSV (the store is deterministic).
    _, store2 = batch(ctx, DEMO_MANIFEST, "out2")
    text2, _ = ctx.run_ok("db", "export", "--db", store2)
    if text2 != text.replace(os.path.join(ctx.work, "out"), os.path.join(ctx.work, "out2")):
        raise Failure("two batch runs of the same manifest export different CSV")


def test_audit(ctx):
    """`db audit`: a "recorded" entry per sample; identical re-runs add none; changes are "replaced"."""
    out_dir, store = batch(ctx)
    samples = demo_samples()
    doc = db_json(ctx, "audit", "--db", store)
    if doc.get("schema") != "flowmrd.db.audit/1":
        raise Failure(f"schema {doc.get('schema')}")
    recorded = [e for e in doc["entries"] if e["action"] == "recorded"]
    if sorted((e["patient"], e["sample"]) for e in recorded) != sorted(samples):
        raise Failure(f"recorded entries: {[(e['patient'], e['sample']) for e in recorded]}")
    for e in recorded:
        d = e["detail"]
        if not isinstance(d, dict) or not d.get("fingerprint") or not d.get("result_sha256") or not d.get("inputs"):
            raise Failure(f"audit detail of {e['patient']}/{e['sample']}: {d}")
        if not e["at"].endswith("Z") or not e["software_version"] or not e["command_line"]:
            raise Failure(f"audit entry lacks when/what/how: {e}")
    ids = [e["id"] for e in doc["entries"]]
    if ids != sorted(ids):
        raise Failure(f"audit ids not in order: {ids}")

    # The audit table is append-only, whatever tool edits the file.
    con = sqlite3.connect(store)
    for sql in ("UPDATE audit SET action = 'forged'", "DELETE FROM audit"):
        try:
            con.execute(sql)
            con.commit()
            raise Failure(f"{sql}: accepted")
        except sqlite3.DatabaseError as e:
            if "append-only" not in str(e):
                raise Failure(f"{sql}: {e}")
    con.close()

    # The same batch again (no --resume): same results, so no per-sample entry is added.
    batch(ctx)
    again = db_json(ctx, "audit", "--db", store)["entries"]
    if [e for e in again if e["sample"]] != [e for e in doc["entries"] if e["sample"]]:
        raise Failure("re-running an unchanged batch added per-sample audit entries")

    # Other options change every fingerprint: each sample is "replaced", naming the old hashes.
    batch(ctx, DEMO_MANIFEST, "out", "--lod-events", "25")
    after = db_json(ctx, "audit", "--db", store, "--patient", "P1")["entries"]
    replaced = [e for e in after if e["action"] == "replaced"]
    p1 = sorted(s for p, s in samples if p == "P1")
    if sorted(e["sample"] for e in replaced) != p1:
        raise Failure(f"replaced entries for P1: {[e['sample'] for e in replaced]}, expected {p1}")
    first = {e["sample"]: e["detail"] for e in recorded if e["patient"] == "P1"}
    for e in replaced:
        d = e["detail"]
        if d.get("previous_fingerprint") != first[e["sample"]]["fingerprint"] or \
                d.get("previous_result_sha256") != first[e["sample"]]["result_sha256"]:
            raise Failure(f"replaced {e['sample']}: {d}")
    if any(e["patient"] != "P1" for e in after):
        raise Failure("--patient P1 shows other patients' entries")
    text, _ = ctx.run_ok("db", "audit", "--db", store, "--patient", "P1")
    if "replaced" not in text or "recorded" not in text:
        raise Failure(f"audit text:\n{text}")
    no_sidecars(store)


def test_failed(ctx):
    """A sample that fails is in the store with its reason; the others are unaffected."""
    require_batch(ctx)
    junk = ctx.tmp("broken.fcs")
    with open(junk, "wb") as f:
        f.write(b"FCS3.1 but not really\n" * 10)
    manifest = ctx.tmp("manifest.csv")
    with open(DEMO_MANIFEST, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    keep = [r for r in rows if r["patient"] == "P2"]
    bad = dict(keep[0], sample="P2-BROKEN", timepoint="day15", protocol_timepoint="", date="2026-02-01",
               file=junk, truth="")
    with open(manifest, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        for r in keep:
            w.writerow(dict(r, file=os.path.join(DEMO, r["file"]),
                            truth=os.path.join(DEMO, r["truth"]) if r.get("truth") else ""))
        w.writerow(bad)
    _, store = batch(ctx, manifest, "out", expect=(7,))
    doc = db_json(ctx, "timeline", "--db", store, "--patient", "P2")
    by = {s["sample"]: s for s in doc["samples"]}
    if [s["sample"] for s in doc["samples"]] != ["P2-DX", "P2-BROKEN", "P2-REL"]:
        raise Failure(f"timeline order: {list(by)}")
    b = by["P2-BROKEN"]
    if b["status"] != "failed" or not b["error_kind"] or "broken.fcs" not in (b["error_message"] or ""):
        raise Failure(f"failed sample: {b}")
    if b["mrd_percent"] is not None or b["result_sha256"] is not None:
        raise Failure(f"failed sample has result values: {b}")
    if by["P2-REL"]["status"] != "ok":
        raise Failure(f"P2-REL: {by['P2-REL']['status']}")
    pts = db_json(ctx, "patients", "--db", store)["patients"]
    if [(p["patient"], p["samples"], p["failed"]) for p in pts] != [("P2", 3, 1)]:
        raise Failure(f"patients: {pts}")
    text, _ = ctx.run_ok("db", "timeline", "--db", store, "--patient", "P2")
    if "FAILED" not in text or "broken.fcs" not in text:
        raise Failure(f"timeline text does not show the failure:\n{text}")
    csv_text, _ = ctx.run_ok("db", "export", "--db", store)
    rows = {r["sample"]: r for r in csv.DictReader(io.StringIO(csv_text))}
    if rows["P2-BROKEN"]["status"] != "failed" or "broken.fcs" not in rows["P2-BROKEN"]["error"] or \
            rows["P2-BROKEN"]["mrd_percent"] != "":
        raise Failure(f"failed sample in CSV: {rows['P2-BROKEN']}")


TESTS = {
    "errors": test_errors,
    "patients": test_patients,
    "timeline": test_timeline,
    "export": test_export,
    "audit": test_audit,
    "failed": test_failed,
}


def main():
    return run_scenarios(TESTS, __doc__.split("\n")[0], "db")


if __name__ == "__main__":
    sys.exit(main())
