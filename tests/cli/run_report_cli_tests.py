#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of `flowmrd report`, run as a user runs it, and of the page in a real browser.

Usage: run_report_cli_tests.py FLOWMRD SHARED_DATA TEST [--work DIR] [--config CONFIG]
                               [--artifacts DIR]

Each scenario first makes a results store with `flowmrd batch samples/demo/manifest.csv`, then:
  html     the default output name, byte-identical reports under SOURCE_DATE_EPOCH, a
           self-contained page (no script, no http/https reference, balanced tags) that shows
           the store's MRD values and the CD19-negative finding
  browser  headless Chromium: --dump-dom (the displayed MRD % equal the store's results table),
           --screenshot (kept as <artifacts>/report-P1.png), console log without errors or
           failed loads
  pdf      --pdf: a PDF that starts with %PDF and has at least one page
  errors   missing store (3), not a store (3), unknown patient (2, lists the patients), --pdf
           with FLOWMRD_CHROMIUM pointing nowhere (5, clear message, HTML still written)
The scenarios that need Chromium exit 77 (skipped) when it is not installed, unless
FLOWMRD_REQUIRE_BROWSER is set (CI), which makes that a failure. Exit status 0 pass, 1 fail, 77
skipped. Python standard library only.
"""

import html.parser
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_cli_tests import Failure, Skip, EXIT_OK, EXIT_USAGE, EXIT_INPUT, EXIT_OUTPUT, run_scenarios  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "samples" / "demo" / "manifest.csv"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EPOCH = "1717243200"  # 2024-06-01T12:00:00Z
ARTIFACTS = None


# ---- helpers ------------------------------------------------------------------------------------
def run(ctx, *args, env=None, cwd=None, timeout=300):
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([ctx.flowmrd, *args], capture_output=True, timeout=timeout, env=full_env, cwd=cwd)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def run_ok(ctx, *args, **kwargs):
    rc, out, err = run(ctx, *args, **kwargs)
    if rc != EXIT_OK:
        raise Failure(f"flowmrd {' '.join(args)}: exit {rc}, expected 0\nstderr:\n{err}")
    return out, err


def make_store(ctx):
    """Run `flowmrd batch` on the demo manifest; returns the store path."""
    if not MANIFEST.is_file():
        raise Skip(f"demo manifest not found: {MANIFEST}")
    rc, out, err = run(ctx, "batch", "--help")
    if rc != EXIT_OK or "(in progress)" in out:
        raise Skip("`flowmrd batch` is not implemented yet (its --help says '(in progress)')")
    out_dir = ctx.tmp("batch")
    run_ok(ctx, "batch", str(MANIFEST), "--out", out_dir, "--jobs", "2", timeout=600)
    store = os.path.join(out_dir, "flowmrd.sqlite")
    if not os.path.isfile(store):
        raise Failure(f"flowmrd batch wrote no store at {store}")
    return store


def store_results(store, patient):
    """(sample, mrd_percent, mrd_status, lod_percent) of a patient's ok samples, from the results table."""
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT s.sample, r.mrd_percent, r.mrd_status, r.lod_percent FROM samples s "
                           "JOIN results r ON r.sample_id = s.id WHERE s.patient = ? AND s.status = 'ok' "
                           "ORDER BY s.sample", (patient,)).fetchall()
    finally:
        con.close()
    if not rows:
        raise Failure(f"{store}: no results of patient {patient}")
    return rows


def format_percent(p, significant=2):
    """pipeline::format_percent: fixed notation with `significant` digits, trailing zeros dropped."""
    if p == 0:
        return "0"
    exponent = math.floor(math.log10(abs(p)))
    decimals = max(0, significant - 1 - exponent)
    s = "%.*f" % (decimals, p)
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def displayed_value(mrd, status, lod):
    """The MRD cell text as the report shows it."""
    if status in ("negative", "insufficient_sensitivity") and lod is not None:
        return "< " + format_percent(lod) + "%"
    return format_percent(mrd) + "%"


def chromium_or_skip():
    env = os.environ.get("FLOWMRD_CHROMIUM")
    found = env if env and os.access(env, os.X_OK) else None
    if found is None and not env:
        for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
            found = shutil.which(name)
            if found:
                break
    if found is None:
        msg = "Chromium not installed (Debian package 'chromium'; or set FLOWMRD_CHROMIUM)"
        if os.environ.get("FLOWMRD_REQUIRE_BROWSER"):
            raise Failure(msg + ", and FLOWMRD_REQUIRE_BROWSER is set")
        raise Skip(msg)
    return found


def chromium(ctx, exe, *args, timeout=90):
    """Run headless Chromium with a fresh profile; returns (rc, stdout, stderr)."""
    profile = tempfile.mkdtemp(prefix="chromium-", dir=ctx.work)
    cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, start_new_session=True)
    except subprocess.TimeoutExpired:
        raise Failure(f"{' '.join(cmd)}: did not finish within {timeout} s")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


class TagChecker(html.parser.HTMLParser):
    """Balanced tags (void elements excepted); records src/href values and script elements."""
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.refs, self.scripts = [], [], [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts += 1
        for k, v in attrs:
            if k in ("src", "href") and v is not None:
                self.refs.append(v)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        for k, v in attrs:
            if k in ("src", "href") and v is not None:
                self.refs.append(v)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-1] if self.stack else '-'})")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
        else:
            self.stack.pop()


def check_page(text, label):
    checker = TagChecker()
    checker.feed(text)
    checker.close()
    problems = list(checker.errors[:5])
    if checker.stack:
        problems.append(f"unclosed tags: {checker.stack[-5:]}")
    if checker.scripts:
        problems.append(f"{checker.scripts} <script> element(s)")
    for ref in checker.refs:
        if not (ref.startswith("data:image/png;base64,") or ref.startswith("#")):
            problems.append(f"external reference {ref[:80]!r}")
    if re.search(r"https?://", text.replace('xmlns="http://www.w3.org/2000/svg"', "")):
        problems.append("an http(s) URL in the page")
    if problems:
        raise Failure(f"{label}: " + "; ".join(problems))


def check_values_shown(text, rows, label):
    for sample, mrd, status, lod in rows:
        if mrd is None:
            continue
        shown = displayed_value(mrd, status, lod)
        escaped = shown.replace("<", "&lt;")
        if f">{escaped}<" not in text and f">{shown}<" not in text:
            raise Failure(f"{label}: sample {sample}: MRD {mrd} ({status}) is not shown as {shown!r}")


def report(ctx, store, *args, env=None, cwd=None):
    return run_ok(ctx, "report", "--db", store, "--patient", "P1", *args, env=env, cwd=cwd)


def pdf_pages(data):
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    if pages == 0:
        counts = [int(m) for m in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", data, re.S)]
        pages = max(counts, default=0)
    return pages


# ---- scenarios ----------------------------------------------------------------------------------
def test_html(ctx):
    store = make_store(ctx)
    cwd = ctx.tmp("cwd")
    os.makedirs(cwd)
    env = {"SOURCE_DATE_EPOCH": EPOCH}
    out, _ = report(ctx, store, env=env, cwd=cwd)
    default = os.path.join(cwd, "P1.html")
    if not os.path.isfile(default):
        raise Failure(f"flowmrd report without --html/--pdf wrote no P1.html in the current directory (stdout: {out})")
    second = ctx.tmp("second.html")
    report(ctx, store, "--html", second, env=env)
    a, b = Path(default).read_bytes(), Path(second).read_bytes()
    if a != b:
        raise Failure("two reports of the same store with SOURCE_DATE_EPOCH set differ")
    text = a.decode("utf-8")
    check_page(text, "P1.html")
    if "2024-06-01T12:00:00Z" not in text:
        raise Failure("SOURCE_DATE_EPOCH=%s is not shown as 2024-06-01T12:00:00Z" % EPOCH)
    check_values_shown(text, store_results(store, "P1"), "P1.html")
    for needle in ["CD19-NEGATIVE BLASTS at blin1", "<svg", "data:image/png;base64,", "Interfant-21"]:
        if needle not in text:
            raise Failure(f"P1.html does not contain {needle!r}")
    p2 = ctx.tmp("P2.html")
    run_ok(ctx, "report", "--db", store, "--patient", "P2", "--html", p2)
    p2_text = Path(p2).read_text(encoding="utf-8")
    check_page(p2_text, "P2.html")
    if "LINEAGE SWITCH at relapse" not in p2_text:
        raise Failure("P2.html does not report the lineage switch at relapse")
    n1 = ctx.tmp("N1.html")
    run_ok(ctx, "report", "--db", store, "--patient", "N1", "--html", n1)
    n1_text = Path(n1).read_text(encoding="utf-8")
    if "No CD19-negative or lineage-switch population was found at any timepoint" not in n1_text:
        raise Failure("N1.html does not say that no CD19-negative or lineage-switch population was found")
    check_values_shown(n1_text, store_results(store, "N1"), "N1.html")
    # '-' writes the page to standard output.
    out, _ = report(ctx, store, "--html", "-", env=env)
    if out.encode("utf-8") != a:
        raise Failure("--html - does not write the same page to standard output")


def test_browser(ctx):
    exe = chromium_or_skip()
    store = make_store(ctx)
    page = ctx.tmp("P1.html")
    pdf = ctx.tmp("P1.pdf")
    report(ctx, store, "--html", page, "--pdf", pdf)
    url = Path(page).resolve().as_uri()

    rc, dom, err = chromium(ctx, exe, "--enable-logging=stderr", "--v=0", "--dump-dom", url)
    if rc != 0 or "<html" not in dom:
        raise Failure(f"chromium --dump-dom {url}: exit {rc}\n{err[-2000:]}")
    check_values_shown(dom, store_results(store, "P1"), "DOM of P1.html")
    for needle in ["CD19-NEGATIVE BLASTS at blin1", "mrdplot-title", "MRD by timepoint"]:
        if needle not in dom:
            raise Failure(f"the DOM of P1.html does not contain {needle!r}")
    bad = [line for line in err.splitlines()
           if "Uncaught" in line or "Failed to load resource" in line or "ERR_" in line]
    if bad:
        raise Failure("the browser log has errors:\n" + "\n".join(bad[:10]))

    shot = ctx.tmp("report-P1.png")
    rc, _, err = chromium(ctx, exe, f"--screenshot={shot}", "--window-size=1280,2400", url)
    if rc != 0 or not os.path.isfile(shot):
        raise Failure(f"chromium --screenshot: exit {rc}, no {shot}\n{err[-2000:]}")
    data = Path(shot).read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or len(data) < 10000:
        raise Failure(f"{shot}: not a PNG screenshot ({len(data)} bytes)")
    if ARTIFACTS:
        os.makedirs(ARTIFACTS, exist_ok=True)
        kept = os.path.join(ARTIFACTS, "report-P1.png")
        shutil.copyfile(shot, kept)
        print(f"screenshot: {kept}")


def test_pdf(ctx):
    chromium_or_skip()
    store = make_store(ctx)
    pdf = ctx.tmp("P1.pdf")
    report(ctx, store, "--pdf", pdf, cwd=ctx.work)
    if os.path.exists(ctx.tmp("P1.html")):
        raise Failure("--pdf alone wrote an HTML file into the current directory")
    data = Path(pdf).read_bytes()
    if not data.startswith(b"%PDF-"):
        raise Failure(f"{pdf} does not start with %PDF- ({data[:16]!r})")
    pages = pdf_pages(data)
    if pages < 1:
        raise Failure(f"{pdf}: no page found")
    leftovers = [f for f in os.listdir(ctx.work) if f.endswith(".tmp.pdf")]
    if leftovers:
        raise Failure(f"temporary PDF files left behind: {leftovers}")
    if ARTIFACTS:
        os.makedirs(ARTIFACTS, exist_ok=True)
        shutil.copyfile(pdf, os.path.join(ARTIFACTS, "report-P1.pdf"))
    print(f"pdf: {pages} page(s)")


def test_errors(ctx):
    missing = ctx.tmp("missing.sqlite")
    rc, _, err = run(ctx, "report", "--db", missing, "--patient", "P1", "--html", ctx.tmp("x.html"))
    if rc != EXIT_INPUT or missing not in err or "flowmrd: error: " not in err:
        raise Failure(f"missing store: exit {rc}, expected {EXIT_INPUT} naming {missing}\n{err}")
    not_store = ctx.tmp("not-a-store.sqlite")
    Path(not_store).write_text("patient,sample\nP1,S1\n", encoding="utf-8")
    rc, _, err = run(ctx, "report", "--db", not_store, "--patient", "P1", "--html", ctx.tmp("x.html"))
    if rc != EXIT_INPUT or "not-a-store.sqlite" not in err:
        raise Failure(f"a CSV file as --db: exit {rc}, expected {EXIT_INPUT} naming the file\n{err}")
    rc, _, err = run(ctx, "report", "--patient", "P1")
    if rc != EXIT_USAGE:
        raise Failure(f"no --db: exit {rc}, expected {EXIT_USAGE}\n{err}")

    store = make_store(ctx)
    rc, _, err = run(ctx, "report", "--db", store, "--patient", "NOPE", "--html", ctx.tmp("nope.html"))
    if rc != EXIT_USAGE or "NOPE" not in err or not all(p in err for p in ("P1", "P2", "N1")):
        raise Failure(f"unknown patient: exit {rc}, expected {EXIT_USAGE} naming it and listing P1, P2, N1\n{err}")
    if os.path.exists(ctx.tmp("nope.html")):
        raise Failure("unknown patient: an HTML file was written")

    page = ctx.tmp("P1.html")
    pdf = ctx.tmp("P1.pdf")
    rc, _, err = run(ctx, "report", "--db", store, "--patient", "P1", "--html", page, "--pdf", pdf,
                     env={"FLOWMRD_CHROMIUM": ctx.tmp("no-such-chromium")})
    if rc != EXIT_OUTPUT:
        raise Failure(f"--pdf without Chromium: exit {rc}, expected {EXIT_OUTPUT}\n{err}")
    for needle in ["Chromium", "chromium", "FLOWMRD_CHROMIUM", page]:
        if needle not in err:
            raise Failure(f"--pdf without Chromium: the message does not name {needle!r}:\n{err}")
    if not os.path.isfile(page) or os.path.getsize(page) < 1000:
        raise Failure("--pdf without Chromium: the HTML report was not written")
    if os.path.exists(pdf):
        raise Failure("--pdf without Chromium: a PDF file exists")

    # An unwritable --html: exit 5.
    rc, _, err = run(ctx, "report", "--db", store, "--patient", "P1", "--html", ctx.tmp("no-dir/P1.html"))
    if rc != EXIT_OUTPUT:
        raise Failure(f"--html into a missing directory: exit {rc}, expected {EXIT_OUTPUT}\n{err}")


TESTS = {
    "html": test_html,
    "browser": test_browser,
    "pdf": test_pdf,
    "errors": test_errors,
}


def main():
    def add_arguments(parser):
        parser.add_argument("--artifacts", help="keep the screenshot and PDF here (default <build dir>/test-artifacts)")

    def setup(args):
        global ARTIFACTS
        ARTIFACTS = args.artifacts or str(Path(os.path.abspath(args.flowmrd)).resolve().parents[2] / "test-artifacts")

    return run_scenarios(TESTS, __doc__.split("\n")[0], "report", add_arguments, setup)


if __name__ == "__main__":
    sys.exit(main())
