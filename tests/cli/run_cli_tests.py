#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the `flowmrd` executable, run as a user would run it.

Usage: run_cli_tests.py FLOWMRD SHARED_DATA TEST [--work DIR] [--config CONFIG]

FLOWMRD      path of the built executable
SHARED_DATA  the shared data folder (fcs/files, fcs/golden); tests that need it exit 77 (skip)
             when it is absent
TEST         one test name (see TESTS at the bottom), or "all"
--work DIR   scratch directory (default: a fresh temporary directory)
--config     build configuration (informational)
--expectations FILE
             tests/libfcs/golden_expectations.tsv; differences from flowCore it marks `known`
             (check ids "<variant>:values:<PnN>", "n_events", "read", ...) are not failures

Exit status: 0 pass, 1 fail, 77 skipped (CTest SKIP_RETURN_CODE). Only the Python standard
library is used. Golden values are flowCore 2.10.0 `read.FCS` results
(SHARED_DATA/fcs/README.md); a relative tolerance of 1e-6 applies to rows and stats.
"""

import argparse
import array
import concurrent.futures
import csv
import fnmatch
import io
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_OUTPUT = 5

# The file the brief names: a BD LSRII FCS 3.0 float file with a SPILL matrix.
COMP_EXAMPLE = "whitews__FlowKit/data/test_comp_example.fcs"
# Extra files whose variants differ: integer data with $PnE log channels and $PnG (data1.fcs),
# float data where truncation matters and two data sets (Guava Muse).
DATA1 = "bioc__gatingMLData/inst/extdata/Gml2/FCSFiles/data1.fcs"
GUAVA = "cytoflow__cytoflow/cytoflow/tests/data/instruments/Guava Muse.fcs"
NOT_FCS = "webduvet__fcsparser/test/mockdata/wrongFile.fcs"

VARIANT_FLAGS = {
    "linearize": [],
    "linearize_no_truncate": ["--no-truncate"],
    "png_scaling": ["--png-scaling"],
}


class Skip(Exception):
    pass


class Failure(Exception):
    pass


class Context:
    def __init__(self, flowmrd, shared, work, config, known):
        self.flowmrd = flowmrd
        self.shared = shared
        self.work = work
        self.config = config
        self.known = known

    # ---- running flowmrd -------------------------------------------------------------------
    def run(self, *args, stdout_bytes=False, timeout=300, stdin=None):
        """`stdin`: bytes or str fed to standard input (None: no input)."""
        if isinstance(stdin, str):
            stdin = stdin.encode("utf-8")
        extra = {} if stdin is None else {"input": stdin}
        proc = subprocess.run([self.flowmrd, *args], capture_output=True, timeout=timeout, **extra)
        out = proc.stdout if stdout_bytes else proc.stdout.decode("utf-8", "replace")
        return proc.returncode, out, proc.stderr.decode("utf-8", "replace")

    def run_ok(self, *args, **kwargs):
        rc, out, err = self.run(*args, **kwargs)
        if rc != EXIT_OK:
            raise Failure(f"flowmrd {' '.join(args)}: exit {rc}, expected 0\nstderr:\n{err}")
        return out, err

    def expect_exit(self, code, *args, must_name=None, stdin=None):
        rc, out, err = self.run(*args, stdin=stdin)
        cmd = "flowmrd " + " ".join(args)
        if rc != code:
            raise Failure(f"{cmd}: exit {rc}, expected {code}\nstderr:\n{err}")
        if "flowmrd: error: " not in err:
            raise Failure(f"{cmd}: stderr has no 'flowmrd: error: ' line:\n{err}")
        if must_name is not None and must_name not in err:
            raise Failure(f"{cmd}: the error does not name {must_name!r}:\n{err}")
        return err

    # ---- shared data -----------------------------------------------------------------------
    def shared_file_or_none(self, rel):
        path = os.path.join(self.shared, "fcs", "files", rel)
        return path if os.path.isfile(path) else None

    def shared_file(self, rel):
        path = os.path.join(self.shared, "fcs", "files", rel)
        if not os.path.isfile(path):
            raise Skip(f"shared data not available: {path}")
        return path

    def golden(self, rel):
        path = os.path.join(self.shared, "fcs", "golden", "files", rel + ".json")
        if not os.path.isfile(path):
            raise Skip(f"golden data not available: {path}")
        with open(path, encoding="utf-8") as f:
            return json.load(f)

    def tmp(self, name):
        return os.path.join(self.work, name)


# ---- helpers ----------------------------------------------------------------------------------
def as_float(v):
    if isinstance(v, str):
        return {"NaN": math.nan, "Inf": math.inf, "-Inf": -math.inf}[v]
    return float(v)


def close(a, b, rel=1e-6, abs_tol=1e-9):
    a, b = as_float(a), as_float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)


def parse_table(text, delimiter=","):
    """Header and float columns of exported CSV/TSV text."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = list(reader)
    if not rows:
        raise Failure("export printed nothing")
    header, body = rows[0], rows[1:]
    width = len(header)
    for i, row in enumerate(body):
        if len(row) != width:
            raise Failure(f"row {i} has {len(row)} fields, header has {width}")
    try:
        values = [[float(v) for v in row] for row in body]
    except ValueError as e:
        raise Failure(f"export printed a value that is not a number: {e}")
    return header, values


def column_stats(values, col):
    col_values = [row[col] for row in values]
    if any(math.isnan(v) for v in col_values):
        mn = mx = math.nan
    else:
        mn, mx = min(col_values), max(col_values)
    return {"min": mn, "max": mx, "sum": math.fsum(col_values),
            "sumsq": math.fsum(v * v for v in col_values)}


def compare_with_golden(label, header, values, golden_ds, variant):
    """(check id, message) for every difference between an export and one flowCore variant.

    Check ids are those of tests/libfcs/golden_expectations.tsv, so `known` differences explained
    there are not failures here either."""
    problems = []
    names = [c["name"] for c in golden_ds["channels"]]
    if header != names:
        for name, got in zip(names, header):
            if name != got:
                problems.append((f"channel:{name}:name", f"{label}: header {got!r} != flowCore name {name!r}"))
        if len(header) != len(names):
            problems.append(("channels", f"{label}: {len(header)} columns, flowCore has {len(names)}"))
    if len(values) != golden_ds["n_events"]:
        problems.append(("n_events", f"{label}: {len(values)} rows, flowCore has {golden_ds['n_events']} events"))
        return problems
    g = golden_ds["variants"][variant]
    for index, expected in zip(g["rows"]["index"], g["rows"]["values"]):
        for c, (a, b) in enumerate(zip(values[index], expected)):
            if not close(a, b):
                problems.append((f"{variant}:values:{names[c]}",
                                 f"{label}: row {index} column {names[c]}: {a!r} != flowCore {b!r}"))
    for c, expected in enumerate(g["stats"]):
        if c >= len(header):
            break
        got = column_stats(values, c)
        scale = math.sqrt(as_float(expected["sumsq"])) if not isinstance(expected["sumsq"], str) else 0
        for key in ("min", "max", "sum", "sumsq"):
            abs_tol = max(1e-9, 1e-9 * scale) if key == "sum" else 1e-9
            if not close(got[key], expected[key], abs_tol=abs_tol):
                problems.append((f"{variant}:values:{names[c]}",
                                 f"{label}: {names[c]} {key} {got[key]!r} != flowCore {expected[key]!r}"))
    return problems


def load_known(path):
    """`known` lines of tests/libfcs/golden_expectations.tsv: {(file, dataset or 0): [glob, ...]}."""
    known = {}
    if not path or not os.path.isfile(path):
        return known
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 4 and cols[2].strip() == "known":
                ds = cols[1].strip()
                key = (cols[0].strip(), 0 if ds in ("*", "") else int(ds))
                known.setdefault(key, []).append(cols[3].strip())
    return known


def unexplained(ctx, rel, dataset, problems):
    """Messages of the differences no `known` expectation explains."""
    globs = ctx.known.get((rel, dataset), []) + ctx.known.get((rel, 0), [])
    return [msg for check_id, msg in problems if not any(fnmatch.fnmatchcase(check_id, g) for g in globs)]


def export_and_compare(ctx, rel, dataset, variant):
    """Unexplained differences between `flowmrd export` and flowCore, and 1 (or 0 when flowCore
    has no such variant to compare with)."""
    path = ctx.shared_file(rel)
    golden_ds = ctx.golden(rel)["datasets"][dataset - 1]
    if variant not in golden_ds.get("variants", {}) or "error" in golden_ds["variants"][variant]:
        return [], 0
    label = f"{rel} data set {dataset} {variant}"
    rc, out, err = ctx.run("export", path, "--dataset", str(dataset), *VARIANT_FLAGS[variant])
    if rc != EXIT_OK:
        return unexplained(ctx, rel, dataset, [("read", f"{label}: exit {rc}: {err.strip()}")]), 1
    header, values = parse_table(out)
    return unexplained(ctx, rel, dataset, compare_with_golden(label, header, values, golden_ds, variant)), 1


def fail_on(problems, limit=30):
    if problems:
        shown = "\n".join(problems[:limit])
        more = f"\n... and {len(problems) - limit} more" if len(problems) > limit else ""
        raise Failure(shown + more)


# ---- a minimal FCS 3.1 writer, so some tests need no shared data ------------------------------
def write_fcs(path, names, columns, datatype="F", extra=None, ranges=None):
    """FCS 3.1, little-endian, list mode. `columns` are lists of numbers (float32 or uint16)."""
    n_events = len(columns[0])
    n_par = len(names)
    if datatype == "F":
        bits, code = 32, "f"
    else:
        bits, code = 16, "H"
    data = array.array(code, bytes(array.array(code).itemsize * n_events * n_par))
    for c in range(n_par):  # list mode interleaves events: row r is data[r*n_par : (r+1)*n_par]
        data[c::n_par] = array.array(code, columns[c])
    if sys.byteorder != "little":
        data.byteswap()
    data_bytes = data.tobytes()

    def text_for(begin_data, end_data):
        kw = [("$BEGINANALYSIS", "0"), ("$ENDANALYSIS", "0"), ("$BEGINSTEXT", "0"), ("$ENDSTEXT", "0"),
              ("$BEGINDATA", str(begin_data)), ("$ENDDATA", str(end_data)),
              ("$BYTEORD", "1,2,3,4" if bits == 32 else "1,2"), ("$DATATYPE", datatype),
              ("$MODE", "L"), ("$NEXTDATA", "0"), ("$PAR", str(n_par)), ("$TOT", str(n_events)),
              ("$CYT", "flowmrd-cli-test")]
        for i, name in enumerate(names, start=1):
            rng = ranges[i - 1] if ranges else (262144 if bits == 32 else 65536)
            kw += [(f"$P{i}N", name), (f"$P{i}B", str(bits)), (f"$P{i}E", "0,0"), (f"$P{i}R", str(rng))]
        kw += list((extra or {}).items())
        body = "/" + "/".join(f"{k}/{v.replace('/', '//')}" for k, v in kw) + "/"
        return body.encode("latin-1")

    text_begin = 58
    begin_data = 0
    for _ in range(5):  # offsets change the TEXT length; iterate to a fixed point
        text = text_for(begin_data, begin_data + len(data_bytes) - 1)
        new_begin = text_begin + len(text)
        if new_begin == begin_data:
            break
        begin_data = new_begin
    text_end = text_begin + len(text) - 1
    end_data = begin_data + len(data_bytes) - 1
    header = b"FCS3.1    " + b"".join(str(v).rjust(8).encode() for v in
                                       (text_begin, text_end, begin_data if end_data < 10**8 else 0,
                                        end_data if end_data < 10**8 else 0, 0, 0))
    assert len(header) == 58
    with open(path, "wb") as f:
        f.write(header + text + data_bytes)


def float32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def synthetic_file(ctx):
    """Five events, channel names that need CSV quoting, float32 values with long double reprs."""
    path = ctx.tmp("synthetic.fcs")
    names = ["FSC-A", "CD19,PE", 'say "hi"', "Time"]
    columns = [[float32(v) for v in (0.1, 1.0, 262143.0, 100000.0, 12345.678)],
               [float32(v) for v in (-0.5, 2.5e-7, 3.0, 1e10, -0.0)],
               [float32(v) for v in (1.0, 2.0, 3.0, 4.0, 5.0)],
               [float32(v) for v in (0.0, 0.01, 0.02, 0.03, 0.04)]]
    # Ranges above every value, so the default truncation leaves the values alone.
    write_fcs(path, names, columns, ranges=[262144, 100000000000, 1024, 1024])
    return path, names, columns


# ---- tests ------------------------------------------------------------------------------------
def test_version(ctx):
    out, _ = ctx.run_ok("--version")
    if not out.startswith("flowmrd ") or not any(ch.isdigit() for ch in out):
        raise Failure(f"--version printed {out!r}")


def test_help(ctx):
    out, _ = ctx.run_ok("--help")
    for word in ("info", "export", "Exit codes"):
        if word not in out:
            raise Failure(f"--help does not mention {word!r}:\n{out}")
    out, _ = ctx.run_ok("export", "--help")
    for word in ("--dataset", "--raw", "--png-scaling", "--no-truncate", "--strict", "--format", "--output"):
        if word not in out:
            raise Failure(f"export --help does not mention {word!r}:\n{out}")
    out, _ = ctx.run_ok("info", "--help")
    for word in ("--dataset", "--json", "--stats", "--strict"):
        if word not in out:
            raise Failure(f"info --help does not mention {word!r}:\n{out}")


def test_bad_option(ctx):
    f = ctx.tmp("irrelevant.fcs")
    ctx.expect_exit(EXIT_USAGE)                                        # no command
    ctx.expect_exit(EXIT_USAGE, "frobnicate", f)                       # unknown command
    ctx.expect_exit(EXIT_USAGE, "info", "--bogus", f)
    ctx.expect_exit(EXIT_USAGE, "info")                                # FILE missing
    ctx.expect_exit(EXIT_USAGE, "export", f, "--raw", "--png-scaling")
    ctx.expect_exit(EXIT_USAGE, "export", f, "--format", "xlsx")
    ctx.expect_exit(EXIT_USAGE, "export", f, "--dataset", "0")
    ctx.expect_exit(EXIT_USAGE, "export", f, "--dataset", "two")
    ctx.expect_exit(EXIT_USAGE, "export", f, "--format", "fcs")         # fcs needs -o


def test_missing_file(ctx):
    missing = ctx.tmp("no-such-file.fcs")
    ctx.expect_exit(EXIT_INPUT, "info", missing, must_name=missing)
    ctx.expect_exit(EXIT_INPUT, "export", missing, must_name=missing)
    ctx.expect_exit(EXIT_INPUT, "info", ctx.work, must_name=ctx.work)   # a directory


def test_not_fcs(ctx):
    junk = ctx.tmp("junk.fcs")
    with open(junk, "wb") as f:
        f.write(b"<html><body>not an FCS file</body></html>\n" * 10)
    ctx.expect_exit(EXIT_INPUT, "info", junk, must_name=junk)
    ctx.expect_exit(EXIT_INPUT, "export", junk, must_name=junk)
    empty = ctx.tmp("empty.fcs")
    open(empty, "wb").close()
    ctx.expect_exit(EXIT_INPUT, "info", empty, must_name=empty)
    # A real non-FCS file from the shared corpus, when it is there.
    wrong = ctx.shared_file_or_none(NOT_FCS)
    if wrong:
        ctx.expect_exit(EXIT_INPUT, "info", wrong, must_name=wrong)
        ctx.expect_exit(EXIT_INPUT, "export", wrong, must_name=wrong)


def test_dataset_out_of_range(ctx):
    path, _, _ = synthetic_file(ctx)
    err = ctx.expect_exit(EXIT_USAGE, "export", path, "--dataset", "2", must_name=path)
    if "1" not in err.split(path, 1)[1]:
        raise Failure(f"the error does not say how many data sets the file has:\n{err}")
    ctx.expect_exit(EXIT_USAGE, "info", path, "--dataset", "3", must_name=path)
    shared = ctx.shared_file_or_none(COMP_EXAMPLE)
    if shared:
        ctx.expect_exit(EXIT_USAGE, "export", shared, "--dataset", "2", must_name=shared)
        ctx.expect_exit(EXIT_USAGE, "info", shared, "--dataset", "2", must_name=shared)


def test_write_failure(ctx):
    path, _, _ = synthetic_file(ctx)
    bad = os.path.join(ctx.work, "no-such-dir", "out.csv")
    ctx.expect_exit(EXIT_OUTPUT, "export", path, "-o", bad, must_name=bad)
    ctx.expect_exit(EXIT_OUTPUT, "export", path, "--format", "fcs", "-o", bad, must_name=bad)
    if os.path.exists("/dev/full"):
        ctx.expect_exit(EXIT_OUTPUT, "export", path, "-o", "/dev/full")
        if not os.path.exists("/dev/full"):
            raise Failure("flowmrd removed /dev/full after failing to write to it")


def test_export_synthetic(ctx):
    """Quoting, exact float32-as-double values and the shortest round-trip text."""
    path, names, columns = synthetic_file(ctx)
    for fmt, delim in (("csv", ","), ("tsv", "\t")):
        out, _ = ctx.run_ok("export", path, "--format", fmt)
        if fmt == "csv" and not out.startswith('FSC-A,"CD19,PE","say ""hi""",Time\n'):
            raise Failure(f"CSV header not quoted per RFC 4180: {out.splitlines()[0]!r}")
        header, values = parse_table(out, delim)
        if header != names:
            raise Failure(f"{fmt}: header {header} != {names}")
        for r, row in enumerate(values):
            for c, v in enumerate(row):
                expected = columns[c][r]
                if v != expected or math.copysign(1, v) != math.copysign(1, expected):
                    raise Failure(f"{fmt}: row {r} column {c}: {v!r} != {expected!r} (exact double of the float)")
        # Shortest text: never longer than Python's repr of the same double (both round-trip).
        for line in out.splitlines()[1:]:
            for text in line.split(delim):
                if len(text) > len(repr(float(text))) + 2:
                    raise Failure(f"{fmt}: {text!r} is not a shortest representation")
    out, _ = ctx.run_ok("export", path, "-o", "-")
    if not out.splitlines()[1].startswith("0.10000000149011612,"):
        raise Failure(f"0.1f must print as the double 0.10000000149011612: {out.splitlines()[1]!r}")
    csv_path = ctx.tmp("synthetic.csv")
    ctx.run_ok("export", path, "-o", csv_path)
    with open(csv_path, encoding="utf-8") as f:
        if f.read() != out:
            raise Failure("-o FILE and standard output differ")


def test_export_million(ctx):
    """One million events export completely and correctly (speed is measured in bench/, not here)."""
    n = 1_000_000
    path = ctx.tmp("million.fcs")
    names = [f"P{i}" for i in range(1, 9)]
    base = array.array("f", (float32((i % 5000) * 0.37 - 100.0) for i in range(5000)))
    columns = []
    for c in range(len(names)):
        col = array.array("f", base) * (n // len(base))
        if c == 0:
            col = array.array("f", (float(i % 262144) for i in range(n)))
        columns.append(col)
    write_fcs(path, names, columns)
    start = time.monotonic()
    rc, out, err = ctx.run("export", path, stdout_bytes=True)
    elapsed = time.monotonic() - start
    if rc != 0:
        raise Failure(f"export of {n} events failed with exit {rc}:\n{err}")
    lines = out.count(b"\n")
    if lines != n + 1:
        raise Failure(f"{lines} lines, expected {n + 1}")
    last = out.rstrip(b"\n").rsplit(b"\n", 1)[1].split(b",")
    if float(last[0]) != float((n - 1) % 262144) or float(last[1]) != float(columns[1][n - 1]):
        raise Failure(f"last row {last} is wrong")
    print(f"export of {n} events x {len(names)} channels: {elapsed:.2f} s (informational)")


def test_info_text(ctx):
    path = ctx.shared_file(COMP_EXAMPLE)
    golden = ctx.golden(COMP_EXAMPLE)["datasets"][0]
    out, _ = ctx.run_ok("info", path)
    for needle in ("10703", "LSRII", "02-SEP-2009", "16:21:15", "16:23:00", "SPILL", "issues", "data sets:  1"):
        if needle not in out:
            raise Failure(f"info output lacks {needle!r}:\n{out}")
    for ch in golden["channels"]:
        if ch["name"] not in out or (ch["desc"] and ch["desc"] not in out):
            raise Failure(f"info output lacks channel {ch['name']} / {ch['desc']}:\n{out}")
    lines = [line for line in out.splitlines() if line.strip().startswith("18 ")]
    if not lines or "Time" not in lines[0]:
        raise Failure(f"channel table has no row 18 (Time):\n{out}")


def check_info_json(doc, golden, rel):
    problems = []
    for key in ("schema", "flowmrd_version", "file", "size", "version", "dataset_count", "issues", "datasets"):
        if key not in doc:
            problems.append(f"info --json lacks {key!r}")
    if problems:
        return problems
    if doc["schema"] != "flowmrd.info/1":
        problems.append(f"schema {doc['schema']!r}")
    if doc["dataset_count"] != len(golden["datasets"]):
        problems.append(f"dataset_count {doc['dataset_count']} != {len(golden['datasets'])}")
    for ds, gds in zip(doc["datasets"], golden["datasets"]):
        for key in ("dataset", "version", "events", "cytometer", "date", "begin_time", "end_time", "datatype",
                    "byte_order", "mode", "channel_count", "channels", "spillovers", "issues"):
            if key not in ds:
                problems.append(f"{rel}: data set lacks {key!r}")
        if problems:
            return problems
        if ds["events"] != gds["n_events"]:
            problems.append(f"{rel}: events {ds['events']} != {gds['n_events']}")
        if ds["channel_count"] != len(gds["channels"]):
            problems.append(f"{rel}: channel_count {ds['channel_count']} != {len(gds['channels'])}")
        kw = gds["keywords"]
        for key, keyword in (("cytometer", "$CYT"), ("date", "$DATE"), ("begin_time", "$BTIM"), ("end_time", "$ETIM")):
            if keyword in kw and kw[keyword].strip() and ds[key] != kw[keyword].strip():
                problems.append(f"{rel}: {key} {ds[key]!r} != {keyword} {kw[keyword]!r}")
        for ch, gch in zip(ds["channels"], gds["channels"]):
            for key in ("index", "name", "marker", "bits", "range", "amplification", "gain", "min_range", "max_range"):
                if key not in ch:
                    problems.append(f"{rel}: channel lacks {key!r}")
            if ch["name"] != gch["name"]:
                problems.append(f"{rel}: channel name {ch['name']!r} != {gch['name']!r}")
            if ch["marker"] != gch["desc"]:
                problems.append(f"{rel}: {gch['name']} marker {ch['marker']!r} != $PnS {gch['desc']!r}")
            if not close(ch["range"], gch["range"]):
                problems.append(f"{rel}: {gch['name']} range {ch['range']} != {gch['range']}")
            # min_range is not compared: flowCore derives it from the data for float channels
            # (max(-111, min(0, data min))), which `info` without events cannot know.
            if not close(ch["max_range"], gch["maxRange"]):
                problems.append(f"{rel}: {gch['name']} max_range {ch['max_range']} != flowCore {gch['maxRange']}")
        for key, spill in (gds.get("spillover") or {}).items():
            found = [s for s in ds["spillovers"] if s["source_keyword"] == key]
            if not found:
                problems.append(f"{rel}: spillover {key} missing")
                continue
            s = found[0]
            if s["channels"] != spill["channels"]:
                problems.append(f"{rel}: spillover {key} channels {s['channels']} != {spill['channels']}")
            for r, (row, grow) in enumerate(zip(s["matrix"], spill["matrix"])):
                if len(row) != len(grow) or not all(close(a, b) for a, b in zip(row, grow)):
                    problems.append(f"{rel}: spillover {key} row {r} {row} != {grow}")
        for issue in ds["issues"]:
            for key in ("severity", "code", "dataset", "byte_offset", "keyword", "message"):
                if key not in issue:
                    problems.append(f"{rel}: issue lacks {key!r}: {issue}")
    return problems


def test_info_json(ctx):
    problems = []
    for rel in (COMP_EXAMPLE, DATA1, GUAVA):
        path = ctx.shared_file(rel)
        out, _ = ctx.run_ok("info", path, "--json")
        try:
            doc = json.loads(out)
        except json.JSONDecodeError as e:
            raise Failure(f"info --json output does not parse: {e}\n{out[:2000]}")
        if doc["file"] != path:
            problems.append(f"file {doc['file']!r} != {path!r}")
        problems += check_info_json(doc, ctx.golden(rel), rel)
    # --dataset selects one data set but still reports how many there are.
    out, _ = ctx.run_ok("info", ctx.shared_file(GUAVA), "--json", "--dataset", "2")
    doc = json.loads(out)
    if doc["dataset_count"] != 2 or [d["dataset"] for d in doc["datasets"]] != [2]:
        problems.append(f"info --dataset 2 on a 2-data-set file: count {doc['dataset_count']}, "
                        f"shown {[d['dataset'] for d in doc['datasets']]}")
    fail_on(problems)


def test_info_stats(ctx):
    """--stats agrees with flowCore's default read and with the default CSV export."""
    problems = []
    for rel in (COMP_EXAMPLE, DATA1):
        path = ctx.shared_file(rel)
        gds = ctx.golden(rel)["datasets"][0]
        doc = json.loads(ctx.run_ok("info", path, "--json", "--stats")[0])
        _, values = parse_table(ctx.run_ok("export", path)[0])
        stats = gds["variants"]["linearize"]["stats"]
        for c, (ch, g) in enumerate(zip(doc["datasets"][0]["channels"], stats)):
            s = ch["stats"]
            col = [row[c] for row in values]
            if s["count"] != gds["n_events"]:
                problems.append(f"{rel} {ch['name']}: count {s['count']} != {gds['n_events']}")
            for key in ("min", "max"):
                if not close(s[key], g[key]):
                    problems.append(f"{rel} {ch['name']}: {key} {s[key]} != flowCore {g[key]}")
            mean = as_float(g["sum"]) / gds["n_events"]
            if not close(s["mean"], mean, abs_tol=1e-9 * math.sqrt(as_float(g["sumsq"]) / gds["n_events"])):
                problems.append(f"{rel} {ch['name']}: mean {s['mean']} != flowCore {mean}")
            # Off scale = at or above the top of the scale: max_range, or for log-decoded integer
            # channels the decoded value of the highest stored value $PnR - 1 (docs/cli.md).
            top = ch["max_range"]
            if ch["type"] == "integer" and ch["log_decades"] > 0:
                f2 = ch["log_offset"] if ch["log_offset"] > 0 else 1
                top = f2 * 10 ** (ch["log_decades"] * (ch["range"] - 1) / ch["range"])
            if not close(s["off_scale_threshold"], top):
                problems.append(f"{rel} {ch['name']}: off_scale_threshold {s['off_scale_threshold']} != {top}")
            negative = sum(1 for v in col if v < 0)
            off_scale = sum(1 for v in col if v >= s["off_scale_threshold"])
            if s["negative"] != negative:
                problems.append(f"{rel} {ch['name']}: negative {s['negative']} != {negative} in the export")
            if s["off_scale"] != off_scale:
                problems.append(f"{rel} {ch['name']}: off_scale {s['off_scale']} != {off_scale} in the export")
        if rel == DATA1 and not any(ch["stats"]["off_scale"] for ch in doc["datasets"][0]["channels"]):
            problems.append(f"{rel}: FACSCalibur data with saturated events, but no channel has off-scale events")
    out, _ = ctx.run_ok("info", ctx.shared_file(COMP_EXAMPLE), "--stats")
    for word in ("min", "max", "mean", "negative", "off-scale"):
        if word not in out:
            problems.append(f"info --stats text lacks column {word!r}")
    fail_on(problems)


def export_variant_test(variant):
    def test(ctx):
        problems = []
        runs = 0
        for rel, dataset in ((COMP_EXAMPLE, 1), (DATA1, 1), (GUAVA, 1), (GUAVA, 2)):
            p, n = export_and_compare(ctx, rel, dataset, variant)
            problems += p
            runs += n
        if runs == 0:
            raise Failure(f"no golden {variant} variant to compare with")
        fail_on(problems)
    return test


def test_export_tsv(ctx):
    path = ctx.shared_file(COMP_EXAMPLE)
    csv_out, _ = ctx.run_ok("export", path)
    tsv_out, _ = ctx.run_ok("export", path, "--format", "tsv")
    if tsv_out.replace("\t", ",") != csv_out:
        raise Failure("TSV export is not the CSV export with tabs")


def test_export_raw(ctx):
    """--raw on integer log data gives the stored channel numbers: integers within $PnR."""
    path = ctx.shared_file(DATA1)
    doc = json.loads(ctx.run_ok("info", path, "--json")[0])
    header, values = parse_table(ctx.run_ok("export", path, "--raw")[0])
    problems = []
    for c, ch in enumerate(doc["datasets"][0]["channels"]):
        if ch["type"] != "integer":
            continue
        bad = [v for v in (row[c] for row in values) if v != int(v) or v < 0 or v >= ch["range"]]
        if bad:
            problems.append(f"{header[c]}: raw values not integers in [0, $PnR): {bad[:5]}")
    if not any(ch["log_decades"] > 0 for ch in doc["datasets"][0]["channels"]):
        problems.append("data1.fcs should have log ($PnE) channels")
    fail_on(problems)


def test_export_fcs_roundtrip(ctx):
    problems = []
    for rel, dataset in ((COMP_EXAMPLE, 1), (DATA1, 1)):
        path = ctx.shared_file(rel)
        out_path = ctx.tmp(f"roundtrip-{os.path.basename(rel)}.fcs")
        ctx.run_ok("export", path, "--dataset", str(dataset), "--format", "fcs", "-o", out_path)
        original = json.loads(ctx.run_ok("info", path, "--json", "--dataset", str(dataset))[0])["datasets"][0]
        doc = json.loads(ctx.run_ok("info", out_path, "--json")[0])
        copy = doc["datasets"][0]
        if doc["version"] != "FCS3.1" and "3.1" not in str(doc["version"]):
            problems.append(f"{rel}: written file is {doc['version']}, expected FCS 3.1")
        for key in ("events", "channel_count"):
            if copy[key] != original[key]:
                problems.append(f"{rel}: {key} {copy[key]} != {original[key]}")
        for a, b in zip(copy["channels"], original["channels"]):
            if (a["name"], a["marker"]) != (b["name"], b["marker"]):
                problems.append(f"{rel}: channel {(a['name'], a['marker'])} != {(b['name'], b['marker'])}")
        if original["spillovers"]:
            pref = [s for s in original["spillovers"] if s["preferred"]][0]
            if not copy["spillovers"] or copy["spillovers"][0]["channels"] != pref["channels"]:
                problems.append(f"{rel}: preferred spillover not kept: {copy['spillovers']}")
            elif copy["spillovers"][0]["matrix"] != pref["matrix"]:
                problems.append(f"{rel}: spillover values changed")
        # Values: float32 of what was read (exact for float data such as test_comp_example).
        _, before = parse_table(ctx.run_ok("export", path, "--dataset", str(dataset))[0])
        _, after = parse_table(ctx.run_ok("export", out_path)[0])
        if len(before) != len(after):
            problems.append(f"{rel}: {len(after)} events after the round trip, {len(before)} before")
        else:
            for r, (x, y) in enumerate(zip(before, after)):
                if any(not close(float32(a), b, rel=0, abs_tol=0) for a, b in zip(x, y)):
                    problems.append(f"{rel}: row {r} {y} != float32 of {x}")
                    break
    # -o - writes the same bytes to standard output.
    path = ctx.shared_file(COMP_EXAMPLE)
    rc, data, err = ctx.run("export", path, "--format", "fcs", "-o", "-", stdout_bytes=True)
    if rc != 0 or not data.startswith(b"FCS3.1"):
        problems.append(f"--format fcs -o - failed (exit {rc}): {err}")
    fail_on(problems)


def test_strict(ctx):
    """--strict makes a repair an error (exit 3) whose message names the file."""
    path = ctx.shared_file(COMP_EXAMPLE)
    doc = json.loads(ctx.run_ok("info", path, "--json")[0])
    repaired = [i for d in doc["datasets"] for i in d["issues"] if i["severity"] == "warning"]
    if not repaired:
        raise Skip("the file needed no repair")
    ctx.expect_exit(EXIT_INPUT, "info", path, "--strict", must_name=path)
    ctx.expect_exit(EXIT_INPUT, "export", path, "--strict", must_name=path)
    _, err = ctx.run_ok("export", path)
    if "flowmrd: warning: " not in err or repaired[0]["code"] not in err:
        raise Failure(f"export does not warn about the repair {repaired[0]['code']}:\n{err}")


def sweep_one(ctx, job):
    rel, dataset, variant = job
    try:
        return export_and_compare(ctx, rel, dataset, variant)
    except (Failure, Skip) as e:
        return [f"{rel} data set {dataset} {variant}: {e}"], 1


def test_golden_sweep(ctx):
    """Every data set flowCore reads with its defaults: the three variants agree with flowCore."""
    index = os.path.join(ctx.shared, "fcs", "golden", "INDEX.tsv")
    if not os.path.isfile(index):
        raise Skip(f"shared data not available: {index}")
    with open(index, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    jobs = [(row["file"][len("files/"):], int(row["dataset"]), variant)
            for row in rows if row["status"] == "ok" for variant in VARIANT_FLAGS]
    problems = []
    runs = 0
    # Parsing CSV in Python dominates; spread the exports over processes.
    workers = max(1, min(8, os.cpu_count() or 1))
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        for p, n in pool.map(sweep_one, [ctx] * len(jobs), jobs):
            # One line per export: the first unexplained difference and how many there are.
            if p:
                problems.append(p[0] + (f"  (+{len(p) - 1} more differences)" if len(p) > 1 else ""))
            runs += n
    print(f"{runs} exports compared with flowCore, {len(problems)} differ")
    fail_on(problems, limit=200)


# ---- flowmrd transform ------------------------------------------------------------------------
def transform_reference(ctx, name):
    """One reference file of SHARED_DATA/transforms (README there): its transform and parameters."""
    path = os.path.join(ctx.shared, "transforms", name)
    if not os.path.isfile(path):
        raise Skip(f"shared data not available: {path}")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def transform_args(ref):
    args = ["transform", ref["transform"]]
    for key, value in ref["params"].items():
        args += ["--param", f"{key}={value!r}"]
    return args


def parse_lines(out, label):
    lines = out.split()
    try:
        return [as_float(v) if v in ("NaN", "Inf", "-Inf") else float(v) for v in lines]
    except ValueError as e:
        raise Failure(f"{label}: output is not one number per line: {e}")


def test_transform_reference(ctx):
    """`transform` prints the reference values (1e-9 relative, absolute near zero), one per line in
    input order, and `--inverse` gives the inputs back."""
    problems = []
    for name, tolerance in (("logicle__T262144_W0p5_M4p5_A0.json", 1e-9),
                            ("logicle__T262144_W1p0_M4p5_Am1p0.json", 1e-9),
                            ("hyperlog__T100000_W1p0_M4p0_A0p5.json", 1e-9),
                            ("fasinh__T1048576_M5p0_A0p5.json", 1e-9),
                            ("biex__negative1p0_widthm100p0_positive4p5_max262144p0.json", 0.01)):
        ref = transform_reference(ctx, name)
        # Mixed separators: spaces, tabs and newlines all split numbers.
        text = "".join(repr(x) + (" ", "\t", "\n")[i % 3] for i, x in enumerate(ref["x"]))
        out, _ = ctx.run_ok(*transform_args(ref), stdin=text)
        got = parse_lines(out, name)
        if len(got) != len(ref["y"]):
            raise Failure(f"{name}: {len(got)} results for {len(ref['y'])} inputs")
        for x, g, want in zip(ref["x"], got, ref["y"]):
            err = abs(g - want) if ref["transform"] == "biex" else abs(g - want) / max(1.0, abs(want))
            if not err <= tolerance:
                problems.append(f"{name}: x={x!r}: {g!r} != reference {want!r}")
        if ref["transform"] != "biex":
            out, _ = ctx.run_ok(*transform_args(ref), "--inverse", stdin="\n".join(repr(y) for y in ref["y"]))
            scale = 1e-6 * ref["params"]["T"]
            for x, back in zip(ref["x"], parse_lines(out, name + " --inverse")):
                if not abs(back - x) <= 1e-9 * max(abs(x), scale):
                    problems.append(f"{name} --inverse: {back!r} != {x!r}")
    fail_on(problems)


def test_transform_cli(ctx):
    """No shared data needed: defaults, the flowCore scales, shortest round-trip output, and the
    usage (exit 2) and input (exit 3) errors."""
    # flin is exact arithmetic: (x + A) / (T + A).
    out, _ = ctx.run_ok("transform", "flin", "--param", "T=1000", "--param", "A=100", stdin="-100 900\n1000\n")
    if out != "0\n0.9090909090909091\n1\n":
        raise Failure(f"flin printed {out!r}")
    # flowCore arcsinhTransform(a, b, c) = asinh(a + b x) + c, and its inverse.
    out, _ = ctx.run_ok("transform", "arcsinh", "--param", "a=0", "--param", "b=0.2", "--param", "c=1", stdin="0 5")
    if parse_lines(out, "arcsinh") != [1.0, math.asinh(1.0) + 1]:
        raise Failure(f"arcsinh printed {out!r}")
    # logicle-flowcore = M x logicle; logicle(T) = 1 with the default parameters.
    out, _ = ctx.run_ok("transform", "logicle-flowcore", stdin="262144")
    if not close(parse_lines(out, "logicle-flowcore")[0], 4.5, rel=1e-12):
        raise Failure(f"logicle-flowcore(262144) printed {out!r}, expected 4.5")
    out, _ = ctx.run_ok("transform", "logicle", "--inverse", stdin="1")
    if not close(parse_lines(out, "logicle --inverse")[0], 262144, rel=1e-12):
        raise Failure(f"logicle --inverse 1 printed {out!r}")
    # Non-finite values in and out, R's spelling; empty input prints nothing.
    out, _ = ctx.run_ok("transform", "logicle", stdin="NaN Inf -Inf +0")
    got = out.split()
    if got[:3] != ["NaN", "Inf", "-Inf"] or len(got) != 4:
        raise Failure(f"logicle of NaN Inf -Inf +0 printed {out!r}")
    out, _ = ctx.run_ok("transform", "logicle", stdin="")
    if out != "":
        raise Failure(f"empty input printed {out!r}")
    # Usage errors: exit 2, naming what is wrong.
    ctx.expect_exit(EXIT_USAGE, "transform", "logicel", stdin="1", must_name="unknown transform 'logicel'")
    ctx.expect_exit(EXIT_USAGE, "transform", "logicle", "--param", "W=3", stdin="1",
                    must_name="logicle: W must be <= M/2 (W=3, M=4.5)")
    ctx.expect_exit(EXIT_USAGE, "transform", "logicle", "--param", "Q=1", stdin="1",
                    must_name="logicle: unknown parameter 'Q'")
    ctx.expect_exit(EXIT_USAGE, "transform", "biex", "--param", "width=10", stdin="1", must_name="width")
    ctx.expect_exit(EXIT_USAGE, "transform", "logicle", "--param", "W=wide", stdin="1", must_name="'wide'")
    ctx.expect_exit(EXIT_USAGE, "transform", stdin="1")
    # A token that is not a number: exit 3, naming it and where it is; nothing printed.
    rc, out, err = ctx.run("transform", "flin", stdin="1 2\n3 x4 5\n")
    if rc != EXIT_INPUT or out != "":
        raise Failure(f"bad token: exit {rc} (expected {EXIT_INPUT}), stdout {out!r}\n{err}")
    if "token 4 ('x4', line 2, column 3) is not a number" not in err:
        raise Failure(f"bad token message does not name the token and its position:\n{err}")


# ---- compensation and transforms on export (issue 3) ------------------------------------------
COMPENSATED = ("whitews__FlowKit/data/100715.fcs",
               "whitews__FlowKit/data/4_color_beads/Compensation Controls_Blue B Stained Control_005.fcs")


def test_export_compensated(ctx):
    """`export --compensate` equals flowCore compensate() (golden `compensated` variant)."""
    problems = []
    for rel in COMPENSATED:
        golden_ds = ctx.golden(rel)["datasets"][0]
        if "compensated" not in golden_ds["variants"]:
            raise Failure(f"{rel}: golden has no compensated variant")
        out, _ = ctx.run_ok("export", ctx.shared_file(rel), "--compensate")
        header, values = parse_table(out)
        # The analysis Frame is float32: compare at float precision.
        for check_id, msg in compare_with_golden(rel + " --compensate", header, values, golden_ds, "compensated"):
            problems.append(msg)
    # float32 rounding of values near zero exceeds the 1e-9 absolute floor of compare_with_golden;
    # keep only differences larger than float resolution.
    real = [m for m in problems if not float_close_message(m)]
    fail_on(real)


def float_close_message(msg):
    """True when a compare_with_golden message reports a difference within float32 resolution."""
    try:
        tail = msg.rsplit(": ", 1)[1]
        a, b = tail.split(" != flowCore ")
        a, b = as_float(a.split()[-1]), as_float(b)
    except (IndexError, ValueError):
        return False
    return abs(a - b) <= 2e-7 * max(abs(a), abs(b), 1.0)


def test_export_transform(ctx):
    """`export --transform` equals `flowmrd transform` applied to the plain export, and errors are clear."""
    rel = COMP_EXAMPLE
    path = ctx.shared_file(rel)
    spec = "logicle:T=262144,W=0.5,M=4.5,A=0"
    plain_out, _ = ctx.run_ok("export", path)
    header, plain = parse_table(plain_out)
    out, _ = ctx.run_ok("export", path, "--transform", "CD3=" + spec, "--transform", "FSC-A=flin:T=262144,A=0")
    h2, transformed = parse_table(out)
    if h2 != header:
        raise Failure(f"header changed: {h2}")
    col = header.index("PE-Cy7-A")  # $PnS CD3
    fsc = header.index("FSC-A")
    xs = " ".join(repr(row[col]) for row in plain[:500])
    ref_out, _ = ctx.run_ok("transform", "logicle", "--param", "T=262144", "--param", "W=0.5", "--param", "M=4.5",
                            "--param", "A=0", stdin=xs)
    ref = [float(v) for v in ref_out.split()]
    for i in range(500):
        if abs(transformed[i][col] - ref[i]) > 1e-6:
            raise Failure(f"row {i}: export --transform gave {transformed[i][col]}, transform gave {ref[i]}")
        if abs(transformed[i][fsc] - plain[i][fsc] / 262144) > 1e-6:
            raise Failure(f"row {i}: flin of FSC-A wrong: {transformed[i][fsc]}")
        other = header.index("SSC-A")
        if transformed[i][other] != plain[i][other]:
            raise Failure(f"row {i}: SSC-A changed without a transform")
    ctx.expect_exit(EXIT_USAGE, "export", path, "--transform", "Bogus=logicle", must_name="Bogus")
    ctx.expect_exit(EXIT_USAGE, "export", path, "--transform", "CD3=logicle:W=9", must_name="W")
    ctx.expect_exit(EXIT_INPUT, "export", ctx.shared_file(DATA1), "--compensate", must_name="spillover")


def test_export_spillover_file(ctx):
    """`export --spillover FILE` uses an external CSV matrix and records it."""
    path = ctx.tmp("two_colours.fcs")
    n = 300
    write_fcs(path, ["FSC-A", "FL1-A", "FL2-A"],
              [[float32(1000.0 + i) for i in range(n)],
               [float32((i * 37) % 5000 - 200.0) for i in range(n)],
               [float32((i * 91) % 7000 - 300.0) for i in range(n)]],
              ranges=[262144, 262144, 262144])
    plain_out, _ = ctx.run_ok("export", path)
    header, plain = parse_table(plain_out)
    a, b = header[1], header[2]
    matrix = ctx.tmp("matrix.csv")
    with open(matrix, "w", encoding="utf-8") as f:
        f.write(f"{a},{b}\n1,0.5\n0,1\n")
    rc, out, err = ctx.run("export", path, "--spillover", matrix)
    if rc != EXIT_OK:
        raise Failure(f"exit {rc}: {err}")
    if matrix not in err or "sha256" not in err:
        raise Failure(f"the compensation source is not reported:\n{err}")
    _, comp = parse_table(out)
    for i, row in enumerate(plain[:200]):
        want_b = row[2] - 0.5 * row[1]  # [x_a, x_b] x inverse([[1, .5], [0, 1]])
        if abs(comp[i][2] - want_b) > 1e-4 * max(1.0, abs(want_b)) or comp[i][1] != row[1]:
            raise Failure(f"row {i}: compensated {comp[i][1:3]}, expected {[row[1], want_b]}")
    bad = ctx.tmp("singular.csv")
    with open(bad, "w", encoding="utf-8") as f:
        f.write(f"{a},{b}\n1,1\n1,1\n")
    ctx.expect_exit(EXIT_INPUT, "export", path, "--spillover", bad, must_name="singular")


# ---- the simulator (issue 5) ------------------------------------------------------------------
SAMPLES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples")


def test_simulate(ctx):
    """`simulate` writes an FCS 3.1 file that `info` reads cleanly and a truth file whose labels
    match $TOT; the same seed gives byte-identical files; errors exit 3 (scenario), 2 (usage) and
    5 (output) naming the file."""
    scenario = os.path.join(SAMPLES_DIR, "scenarios", "lineage-switch.toml")
    a = os.path.join(ctx.work, "a.fcs")
    b = os.path.join(ctx.work, "b.fcs")
    c = os.path.join(ctx.work, "c.fcs")
    out, _ = ctx.run_ok("simulate", scenario, "-o", a, "--events", "6000", "--seed", "9")
    if "6000 events" not in out or "lineage switch" not in out:
        raise Failure(f"simulate printed {out!r}")
    ctx.run_ok("simulate", scenario, "-o", b, "--events", "6000", "--seed", "9")
    ctx.run_ok("simulate", scenario, "-o", c, "--events", "6000", "--seed", "10")
    read = lambda p: open(p, "rb").read()
    if read(a) != read(b) or read(a[:-4] + ".truth.json") != read(b[:-4] + ".truth.json"):
        raise Failure("the same scenario and seed gave different files")
    if read(a) == read(c):
        raise Failure("different seeds gave the same file")
    info, _ = ctx.run_ok("info", "--json", a)
    doc = json.loads(info)
    ds = doc["datasets"][0]
    if ds["events"] != 6000 or doc["issues"] or ds["issues"]:
        raise Failure(f"info: events {ds['events']}, issues {doc['issues']} {ds['issues']}")
    text = json.dumps(ds)
    if "$SPILLOVER" not in text or "CD19 PE-Cy7" not in text or "CD33 PE-CF594" not in text:
        raise Failure("info --json lacks $SPILLOVER or the CD19/CD33 markers")
    # An independent decode (no libfcs): HEADER offsets, TEXT keywords, big-endian float32 DATA.
    raw = read(a)
    text_begin, text_end, data_begin, data_end = (int(raw[i:i + 8]) for i in (10, 18, 26, 34))
    text = raw[text_begin:text_end + 1].decode("ascii")
    delim = text[0]  # a doubled delimiter is an escaped one inside a value (FCS 3.1 3.2.9)
    parts = [x.replace("\0", delim) for x in text[1:].replace(delim * 2, "\0").split(delim)]
    kw = {parts[i].upper(): parts[i + 1] for i in range(0, len(parts) - 1, 2)}
    npar, tot = int(kw["$PAR"]), int(kw["$TOT"])
    if (raw[:6] != b"FCS3.1" or kw["$DATATYPE"] != "F" or kw["$BYTEORD"] != "4,3,2,1" or tot != 6000
            or kw.get("FLOWMRD_SIMULATOR") != "flowmrd.samples/1" or kw.get("FLOWMRD_SEED") != "9"):
        raise Failure(f"unexpected HEADER/TEXT: {raw[:6]!r} {kw.get('$DATATYPE')} {kw.get('$BYTEORD')} {tot}")
    if data_end - data_begin + 1 != tot * npar * 4:
        raise Failure(f"DATA is {data_end - data_begin + 1} bytes for {tot} x {npar} float32")
    first = struct.unpack(">" + "f" * npar, raw[data_begin:data_begin + 4 * npar])
    csv_out, _ = ctx.run_ok("export", a)
    header, rows = parse_table(csv_out)
    if len(header) != npar or any(not close(x, y) for x, y in zip(first, rows[0])):
        raise Failure(f"first event decodes as {first}, export gives {rows[0]}")
    with open(a[:-4] + ".truth.json", encoding="utf-8") as f:
        truth = json.load(f)
    if truth["schema"] != "flowmrd.truth/1" or truth["events"] != 6000 or len(truth["event_labels"]) != 6000:
        raise Failure("truth file does not describe 6000 events")
    if sum(truth["counts"].values()) != 6000:
        raise Failure(f"truth counts sum to {sum(truth['counts'].values())}")
    blasts = sum(truth["counts"][k] for k in ("blast_b", "blast_b_cd19neg", "blast_monocytic"))
    if blasts != truth["blasts"] or not close(truth["mrd_percent"], 100.0 * blasts / truth["denominator"]):
        raise Failure("truth MRD % is not blasts / denominator")
    if not truth["flags"]["lineage_switch"]:
        raise Failure("lineage-switch scenario without the lineage_switch flag")
    # Errors.
    ctx.expect_exit(EXIT_INPUT, "simulate", os.path.join(ctx.work, "none.toml"), "-o", c, must_name="none.toml")
    bad = os.path.join(ctx.work, "bad.toml")
    with open(bad, "w", encoding="utf-8") as f:
        f.write('profile = "bd-canto-8c-bcell"\nmrd = 2\n')
    ctx.expect_exit(EXIT_INPUT, "simulate", bad, "-o", c, must_name="bad.toml:2: mrd")
    ctx.expect_exit(EXIT_USAGE, "simulate", scenario, "-o", c, "--events", "0", must_name="--events")
    ctx.expect_exit(EXIT_USAGE, "simulate", scenario)
    ctx.expect_exit(EXIT_OUTPUT, "simulate", scenario, "--events", "100", "-o",
                    os.path.join(ctx.work, "no", "such", "dir", "x.fcs"), must_name="x.fcs")


TESTS = {
    "version": test_version,
    "help": test_help,
    "bad_option": test_bad_option,
    "missing_file": test_missing_file,
    "not_fcs": test_not_fcs,
    "dataset_out_of_range": test_dataset_out_of_range,
    "write_failure": test_write_failure,
    "export_synthetic": test_export_synthetic,
    "export_million": test_export_million,
    "info_text": test_info_text,
    "info_json": test_info_json,
    "info_stats": test_info_stats,
    "export_linearize": export_variant_test("linearize"),
    "export_no_truncate": export_variant_test("linearize_no_truncate"),
    "export_png_scaling": export_variant_test("png_scaling"),
    "export_tsv": test_export_tsv,
    "export_raw": test_export_raw,
    "export_fcs_roundtrip": test_export_fcs_roundtrip,
    "strict": test_strict,
    "golden_sweep": test_golden_sweep,
    "transform_reference": test_transform_reference,
    "transform_cli": test_transform_cli,
    "export_compensated": test_export_compensated,
    "export_transform": test_export_transform,
    "export_spillover_file": test_export_spillover_file,
    "simulate": test_simulate,
}


def run_one(name, flowmrd, shared, work, config, known):
    ctx = Context(flowmrd, shared, work, config, known)
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


def run_scenarios(tests, description, prefix, add_arguments=None, setup=None):
    """The main() of the per-command scenario scripts (run_batch_cli_tests.py and others):
    arguments FLOWMRD SHARED_DATA TEST [--work DIR] [--config CONFIG] (plus `add_arguments(parser)`),
    `setup(args)` before the first scenario; each scenario runs in a fresh work folder (kept only
    with --work). Returns the exit status: 0 pass, 1 fail, 77 skipped (one scenario)."""
    import tempfile
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("flowmrd")
    parser.add_argument("shared")
    parser.add_argument("test", choices=[*tests, "all"])
    parser.add_argument("--work")
    parser.add_argument("--config", default="")
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()
    if setup:
        setup(args)
    names = list(tests) if args.test == "all" else [args.test]
    worst = 0
    for name in names:
        work = os.path.join(args.work, name) if args.work else tempfile.mkdtemp(prefix=f"flowmrd-{prefix}-{name}-")
        os.makedirs(work, exist_ok=True)
        ctx = Context(os.path.abspath(args.flowmrd), args.shared, os.path.abspath(work), args.config, {})
        try:
            tests[name](ctx)
            print(f"PASS {name}")
            rc = 0
        except Skip as e:
            print(f"SKIP {name}: {e}")
            rc = SKIP
        except Failure as e:
            print(f"FAIL {name}:\n{e}")
            rc = 1
        except subprocess.TimeoutExpired as e:
            print(f"FAIL {name}: timed out: {e}")
            rc = 1
        finally:
            if not args.work:
                shutil.rmtree(work, ignore_errors=True)
        worst = 1 if rc == 1 or worst == 1 else (rc if len(names) == 1 else worst)
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("flowmrd")
    parser.add_argument("shared")
    parser.add_argument("test", choices=[*TESTS, "all"])
    parser.add_argument("--work")
    parser.add_argument("--config", default="")
    parser.add_argument("--expectations", help="tests/libfcs/golden_expectations.tsv: its `known` "
                        "differences from flowCore are not failures")
    args = parser.parse_args()
    if not os.access(args.flowmrd, os.X_OK):
        print(f"FAIL: {args.flowmrd} is not an executable")
        return 1
    names = list(TESTS) if args.test == "all" else [args.test]
    known = load_known(args.expectations)
    results = {}
    for name in names:
        work = args.work or tempfile.mkdtemp(prefix=f"flowmrd-cli-{name}-")
        os.makedirs(work, exist_ok=True)
        try:
            results[name] = run_one(name, args.flowmrd, args.shared, work, args.config, known)
        finally:
            if not args.work:
                shutil.rmtree(work, ignore_errors=True)
    if len(names) == 1:
        return results[names[0]]
    failed = [n for n, r in results.items() if r == 1]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
