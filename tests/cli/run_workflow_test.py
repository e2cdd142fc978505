#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end test of the Snakemake workflow (workflow/Snakefile, docs/cluster.md).

Usage: run_workflow_test.py FLOWMRD SHARED_DATA TEST [--work DIR] [--config CONFIG]

Scenario `snakemake`: runs the workflow on the demo manifest (samples/demo/manifest.csv) into
WORK/a (`snakemake --cores 2`: one job per sample, then the merge), runs `flowmrd batch` on the
same manifest into WORK/b, and compares the two: the results stores table by table (every table
but audit; time stamps and the store's own row ids left out, result_json compared as text), the
per-sample outcome.json status and result.json bytes, summary.csv, and `flowmrd db export` when
that command exists. Then a second `snakemake` run must have nothing to do.

Exit status 0 pass, 1 fail, 77 skipped: snakemake is not installed (unless
FLOWMRD_REQUIRE_SNAKEMAKE is set, then it is a failure), or `flowmrd batch` is not finished yet.
"""

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_cli_tests import Failure, Skip, run_scenarios  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SNAKEFILE = os.path.join(ROOT, "workflow", "Snakefile")
DEMO_MANIFEST = os.path.join(ROOT, "samples", "demo", "manifest.csv")
EXIT_BATCH_FAILURE = 7

# Columns that differ between two runs of the same batch for reasons other than the results:
# time stamps, the store's own row ids (order of insertion may differ), and the software/command
# context. Matched by name in every table.
IGNORED_COLUMNS = {"recorded_at", "first_seen", "at", "created_at", "updated_at", "timestamp", "time",
                   "id", "sample_id", "timepoint_id"}


def snakemake_or_skip():
    exe = shutil.which("snakemake")
    if exe is None:
        if os.environ.get("FLOWMRD_REQUIRE_SNAKEMAKE"):
            raise Failure("snakemake is not installed (FLOWMRD_REQUIRE_SNAKEMAKE is set): apt-get install snakemake")
        raise Skip("snakemake is not installed (apt-get install snakemake)")
    return exe


def batch_ready_or_skip(ctx):
    rc, out, err = ctx.run("batch", "--help")
    if rc != 0 or "(in progress)" in out + err:
        raise Skip("`flowmrd batch` is not implemented yet")


def run(cmd, env, timeout, cwd=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def snakemake_env(work):
    env = dict(os.environ)
    cache = os.path.join(work, "xdg-cache")
    os.makedirs(cache, exist_ok=True)
    env["XDG_CACHE_HOME"] = cache  # snakemake writes its source cache here
    env.setdefault("HOME", work)
    return env


# ---- store comparison ---------------------------------------------------------------------------
def table_rows(db, table):
    """Rows of a table as sorted tuples of the compared columns (names sorted)."""
    cols = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
    keep = [c for c in cols if c not in IGNORED_COLUMNS]
    # Keep the link to the sample by its natural key instead of the row id.
    joins = ""
    select = [f't."{c}"' for c in keep]
    if "sample_id" in cols and table != "samples":
        joins += " LEFT JOIN samples s ON s.id = t.sample_id"
        select += ["s.patient", "s.sample"]
    if "timepoint_id" in cols:
        joins += " LEFT JOIN timepoints tp ON tp.id = t.timepoint_id"
        select += ["tp.label"]
    sql = f'SELECT {", ".join(select)} FROM "{table}" t{joins}'
    rows = [tuple(r) for r in db.execute(sql)]
    return keep, sorted(rows, key=lambda r: tuple((x is None, str(type(x)), x if x is not None else 0) for x in r))


def compare_stores(a_path, b_path):
    problems = []
    # Plain connections, only SELECTs (a read-only one would leave -wal/-shm files behind).
    a = sqlite3.connect(a_path)
    b = sqlite3.connect(b_path)
    try:
        def tables(db):
            return sorted(r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
        ta, tb = tables(a), tables(b)
        if ta != tb:
            problems.append(f"tables differ: {ta} vs {tb}")
        compared = 0
        for t in ta:
            if t == "audit" or t not in tb:
                continue
            cols_a, rows_a = table_rows(a, t)
            cols_b, rows_b = table_rows(b, t)
            if cols_a != cols_b:
                problems.append(f"{t}: columns differ: {cols_a} vs {cols_b}")
                continue
            if len(rows_a) != len(rows_b):
                problems.append(f"{t}: {len(rows_a)} rows (snakemake) vs {len(rows_b)} rows (flowmrd batch)")
                continue
            for ra, rb in zip(rows_a, rows_b):
                if ra != rb:
                    diff = [f"{c}: {va!r:.200} vs {vb!r:.200}"
                            for c, va, vb in zip(cols_a + ["(patient)", "(sample)", "(timepoint)"], ra, rb)
                            if va != vb]
                    problems.append(f"{t}: row differs: " + "; ".join(diff))
                    break
            compared += len(rows_a)
        n_results = a.execute("SELECT count(*) FROM results").fetchone()[0] if "results" in ta else 0
        if n_results == 0:
            problems.append("the snakemake store has no results rows")
    finally:
        a.close()
        b.close()
    return problems


def db_export(ctx, db):
    """`flowmrd db export` of the store as CSV text, or None when the command does not exist yet."""
    rc, out, err = ctx.run("db", "export", "--help")
    if rc != 0 or "(in progress)" in out + err:
        return None
    for args in (["db", "export", "--db", db], ["db", "export", db]):
        rc, out, err = ctx.run(*args)
        if rc == 0:
            return out
    raise Failure(f"flowmrd db export of {db} failed (exit {rc}):\n{err}")


def normalise_csv(text, drop=("recorded_at", "first_seen", "at", "outcome")):
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return rows
    header = rows[0]
    keep = [i for i, h in enumerate(header) if h not in drop]
    return [[r[i] if i < len(r) else "" for i in keep] for r in rows]


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


# ---- the scenario -------------------------------------------------------------------------------
def test_snakemake(ctx):
    snakemake = snakemake_or_skip()
    batch_ready_or_skip(ctx)
    flowmrd = os.path.abspath(ctx.flowmrd)
    out_a = ctx.tmp("a")
    out_b = ctx.tmp("b")
    env = snakemake_env(ctx.work)

    # The plan the workflow is built from.
    out, _ = ctx.run_ok("batch", DEMO_MANIFEST, "--plan", "--out", out_a)
    plan = json.loads(out)
    ids = [s["id"] for s in plan["samples"]]
    if len(ids) != 7:
        raise Failure(f"--plan lists {len(ids)} samples, expected the 7 demo samples: {ids}")

    cmd = [snakemake, "-s", SNAKEFILE, "--cores", "2", "--directory", ctx.work,
           "--config", f"manifest={DEMO_MANIFEST}", f"out={out_a}", f"flowmrd={flowmrd}", "jobs_per_sample=1"]
    rc, sout, serr = run(cmd, env, timeout=1100)
    if rc != 0:
        raise Failure(f"snakemake failed (exit {rc}):\n{sout[-4000:]}\n{serr[-8000:]}")

    rc, bout, berr = ctx.run("batch", DEMO_MANIFEST, "--out", out_b, "--jobs", "2", "--progress", "none",
                             timeout=1100)
    if rc not in (0, EXIT_BATCH_FAILURE):
        raise Failure(f"flowmrd batch failed (exit {rc}):\n{berr[-8000:]}")

    problems = []
    # Per-sample outcome status and result bytes.
    for s in plan["samples"]:
        rel = os.path.join("samples", s["patient"], s["sample"])
        oa, ob = os.path.join(out_a, rel, "outcome.json"), os.path.join(out_b, rel, "outcome.json")
        for p in (oa, ob):
            if not os.path.isfile(p):
                problems.append(f"{s['id']}: no {p}")
        if not (os.path.isfile(oa) and os.path.isfile(ob)):
            continue
        ja, jb = json.loads(read(oa)), json.loads(read(ob))
        if ja.get("status") != jb.get("status"):
            problems.append(f"{s['id']}: outcome status {ja.get('status')!r} (snakemake) vs {jb.get('status')!r}")
        ra, rb = os.path.join(out_a, rel, "result.json"), os.path.join(out_b, rel, "result.json")
        if os.path.isfile(ra) != os.path.isfile(rb):
            problems.append(f"{s['id']}: result.json written by only one of the runs")
        elif os.path.isfile(ra) and read(ra, "rb") != read(rb, "rb"):
            problems.append(f"{s['id']}: result.json differs between snakemake and flowmrd batch")

    # The stores.
    db_a, db_b = os.path.join(out_a, "flowmrd.sqlite"), os.path.join(out_b, "flowmrd.sqlite")
    for p in (db_a, db_b):
        if not os.path.isfile(p):
            problems.append(f"no store {p}")
    if os.path.isfile(db_a) and os.path.isfile(db_b):
        problems += compare_stores(db_a, db_b)
        ea, eb = db_export(ctx, db_a), db_export(ctx, db_b)
        if ea is not None:
            if len(normalise_csv(ea)) != 1 + len(plan["samples"]):
                problems.append(f"`flowmrd db export` of the snakemake store has not one row per sample:\n{ea}")
            if normalise_csv(ea) != normalise_csv(eb):
                problems.append(f"`flowmrd db export` differs between the two stores:\n{ea}\nvs\n{eb}")

    # The summary and the reports.
    for name in ("summary.csv", "summary.html"):
        if not os.path.isfile(os.path.join(out_a, name)):
            problems.append(f"snakemake wrote no {name}")
    sa, sb = os.path.join(out_a, "summary.csv"), os.path.join(out_b, "summary.csv")
    if os.path.isfile(sa) and os.path.isfile(sb):
        # The `outcome` column says what this run did: the merge only records ("skipped
        # (unchanged)"), flowmrd batch analyses ("analysed"); failures must agree.
        rows_a, rows_b = list(csv.DictReader(io.StringIO(read(sa)))), list(csv.DictReader(io.StringIO(read(sb))))
        for ra in rows_a:
            if ra.get("outcome") == "analysed":
                problems.append(f"the merge job analysed {ra.get('patient')}/{ra.get('sample')} again "
                                "(its sample job's outcome did not match)")

        def strip(rows):
            return [{k: ("failed" if k == "outcome" and v == "failed" else "" if k == "outcome" else v)
                     for k, v in r.items()} for r in rows]
        if strip(rows_a) != strip(rows_b):
            problems.append("summary.csv differs between snakemake and flowmrd batch:\n" + read(sa) + "\nvs\n" + read(sb))
    for p in sorted({s["patient"] for s in plan["samples"]}):
        if not os.path.isfile(os.path.join(out_a, "reports", p + ".html")):
            problems.append(f"snakemake wrote no reports/{p}.html")

    # Nothing to do the second time.
    rc, sout2, serr2 = run(cmd + ["--dry-run", "--quiet"], env, timeout=300)
    if rc != 0:
        problems.append(f"snakemake --dry-run after the run failed (exit {rc}):\n{serr2[-3000:]}")
    elif "Nothing to be done" not in sout2 + serr2 and ("sample" in sout2 or "merge" in sout2):
        problems.append(f"a second snakemake run would run jobs again:\n{(sout2 + serr2)[-3000:]}")

    if problems:
        raise Failure("\n".join(problems[:40]))


TESTS = {"snakemake": test_snakemake}


def main():
    return run_scenarios(TESTS, __doc__.split("\n")[0], "workflow")


if __name__ == "__main__":
    sys.exit(main())
