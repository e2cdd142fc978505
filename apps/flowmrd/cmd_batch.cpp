// SPDX-License-Identifier: Apache-2.0
// `flowmrd batch`: options, the progress display and the closing summary. The engine is in
// batch_runner.cpp.
#include "cmd_batch.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "batch_runner.hpp"
#include "command_error.hpp"
#include "exit_codes.hpp"

namespace flowmrd::cli {

namespace {

std::string& command_line() {
  static std::string line;
  return line;
}

struct CliOptions {
  BatchOptions batch;
  std::string manifest;
  std::string out = "flowmrd-batch";
  std::string db;
  bool no_store = false;
  bool no_reports = false;
  bool plan = false;
  std::string progress = "auto";
};

std::string duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

std::string rate(double events_per_s) {
  char buf[32];
  if (events_per_s >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.1fM", events_per_s / 1e6);
  } else if (events_per_s >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.0fk", events_per_s / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", events_per_s);
  }
  return buf;
}

// A terminal gets one bar redrawn in place (files done/total, events/s, ETA) plus a line per
// failure; anything else (a log file, CI) gets one plain line per sample.
class Progress {
 public:
  explicit Progress(const std::string& mode) {
    if (mode == "bar") bar_ = true;
    if (mode == "auto") bar_ = ::isatty(STDERR_FILENO) == 1;
    quiet_ = mode == "none";
  }

  void operator()(const BatchProgress& p) {
    if (quiet_) return;
    const double eta = p.done == 0 ? 0.0 : p.elapsed_s / static_cast<double>(p.done) * static_cast<double>(p.total - p.done);
    const std::string speed = rate(p.elapsed_s > 0 ? static_cast<double>(p.events) / p.elapsed_s : 0.0) + " events/s";
    if (!bar_) {
      char head[64];
      std::snprintf(head, sizeof head, "[%zu/%zu] ", p.done, p.total);
      std::cerr << head << p.id << ": " << p.outcome << " (" << duration(p.sample_s) << ")"
                << (p.detail.empty() ? "" : ": " + p.detail) << "\n";
      return;
    }
    if (p.outcome == "failed") std::cerr << "\r\033[K" << "FAILED " << p.id << ": " << p.detail << "\n";
    const int width = 30;
    const int filled = p.total == 0 ? width : static_cast<int>(width * p.done / p.total);
    std::string bar(static_cast<std::size_t>(filled), '=');
    if (filled < width) bar += '>' + std::string(static_cast<std::size_t>(width - filled - 1), ' ');
    std::cerr << "\r\033[K[" << bar << "] " << p.done << "/" << p.total << " files  " << speed << "  ETA "
              << duration(eta) << "  " << p.id << std::flush;
    if (p.done == p.total) std::cerr << "\n";
  }

 private:
  bool bar_ = false;
  bool quiet_ = false;
};

int run(CliOptions& c) {
  BatchOptions& o = c.batch;
  o.command_line = command_line();
  o.manifest = c.manifest;
  o.out = c.out;
  o.db = c.db;
  o.store = !c.no_store;
  o.reports = !c.no_reports && !c.no_store;
  if (o.lod_events < 1) throw CommandError(ExitCode::usage, "--lod-events must be at least 1");
  if (o.lloq_events < o.lod_events) throw CommandError(ExitCode::usage, "--lloq-events must be at least --lod-events");
  if (c.plan) {
    std::cout << batch_plan_json(o);
    std::cout.flush();
    if (!std::cout) throw CommandError(ExitCode::output_failed, "<stdout>: write failed");
    return to_int(ExitCode::ok);
  }
  Progress progress(c.progress);
  const BatchTotals t = run_batch(o, [&](const BatchProgress& p) { progress(p); });

  std::cout << "samples: " << (t.analysed + t.skipped + t.failed + t.not_run) << ", analysed: " << t.analysed
            << ", skipped (unchanged): " << t.skipped << ", failed: " << t.failed;
  if (t.not_run > 0) std::cout << ", not run (--fail-fast): " << t.not_run;
  std::cout << "\n";
  if (!t.store.empty()) std::cout << "store: " << t.store.string() << "\n";
  if (!t.summary_csv.empty()) std::cout << "summary: " << t.summary_csv.string() << ", " << t.summary_html.string() << "\n";
  for (const auto& r : t.reports) std::cout << "report: " << r.string() << "\n";
  std::cout.flush();
  return to_int(t.failed + t.not_run > 0 ? ExitCode::partial_batch_failure : ExitCode::ok);
}

}  // namespace

void remember_command_line(int argc, const char* const* argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    const bool quote = a.empty() || a.find_first_of(" \t'\"\\$") != std::string::npos;
    line += (i == 0 ? "" : " ") + (quote ? "'" + a + "'" : a);
  }
  command_line() = line;
}

std::function<int()> add_batch_command(CLI::App& app) {
  auto c = std::make_shared<CliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "batch", "Analyse every sample of a manifest (docs/manifest.md) in parallel: per-sample results and plots, "
               "the results store, one report per patient, a batch summary (docs/batch.md)");
  cmd->add_option("MANIFEST", c->manifest, "Manifest CSV: one row per tube")->required()->type_name("MANIFEST.csv");
  cmd->add_option("--out", c->out, "Output folder")->type_name("DIR")->capture_default_str();
  cmd->add_option("--db", c->db, "Results store (SQLite); default: OUT/flowmrd.sqlite")->type_name("FILE.sqlite");
  cmd->add_option("--jobs", c->batch.jobs, "Threads in all (samples in flight and threads inside a sample); 0 = all cores")
      ->type_name("N");
  cmd->add_flag("--resume", c->batch.resume,
                "Skip samples whose files (SHA-256) and options are unchanged since their recorded outcome");
  cmd->add_flag("--fail-fast", c->batch.fail_fast, "Start no further sample after the first failure");
  cmd->add_option("--only", c->batch.only, "Run only this sample (PATIENT/SAMPLE) or patient, repeatable; earlier "
                                           "samples it depends on are read from OUT")
      ->type_name("ID")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("--no-store", c->no_store, "Write no results store (and so no reports)");
  cmd->add_flag("--no-reports", c->no_reports, "Write no patient reports");
  cmd->add_flag("--plan", c->plan, "Print the samples, their folders and dependencies as JSON and stop");
  cmd->add_option("--reference", c->batch.reference, "Normal-marrow reference JSON; default: the shipped one")
      ->type_name("FILE");
  cmd->add_option("--lod-events", c->batch.lod_events, "Clustered events needed to detect MRD (LOD)")
      ->type_name("N")
      ->capture_default_str();
  cmd->add_option("--lloq-events", c->batch.lloq_events, "Events needed to quantify MRD (LLOQ)")
      ->type_name("N")
      ->capture_default_str();
  cmd->add_option("--progress", c->progress, "Progress display: auto (a bar on a terminal, else lines), bar, lines, none")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}))
      ->capture_default_str();
  return [c]() -> int { return run(*c); };
}

}  // namespace flowmrd::cli
