// SPDX-License-Identifier: Apache-2.0
/// @file batch_runner.hpp
/// The engine of `flowmrd batch`: every sample of a manifest through a TBB pipeline (ordered
/// read -> parallel analysis -> ordered write), with fault isolation per sample, atomic
/// per-sample outputs, `--resume`, the results store and the per-patient reports.
///
/// Output folder (docs/batch.md):
///   OUT/samples/<patient>/<sample>/result.json    the flowmrd.result/1 JSON
///   OUT/samples/<patient>/<sample>/plots/*.png    the gating plots
///   OUT/samples/<patient>/<sample>/outcome.json   written last: the sample's completion record
///   OUT/reports/<patient>.html, OUT/summary.csv, OUT/summary.html, OUT/flowmrd.sqlite
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace flowmrd::cli {

/// What `flowmrd batch` was asked to do.
struct BatchOptions {
  std::filesystem::path manifest;
  std::filesystem::path out = "flowmrd-batch";
  std::filesystem::path db;           ///< "" = OUT/flowmrd.sqlite
  bool store = true;                  ///< false: --no-store
  bool reports = true;                ///< false: --no-reports
  unsigned jobs = 0;                  ///< 0 = all cores
  bool resume = false;
  bool fail_fast = false;
  std::vector<std::string> only;      ///< sample ids "PATIENT/SAMPLE" or patient ids; empty = all
  std::string reference;              ///< "" = the shipped reference
  std::uint64_t lod_events = 20;
  std::uint64_t lloq_events = 50;
  std::string command_line;           ///< for the audit table
};

/// One sample's progress event, for the progress bar or log lines.
struct BatchProgress {
  std::size_t done = 0;       ///< samples finished (analysed, skipped or failed)
  std::size_t total = 0;      ///< samples in this run
  std::uint64_t events = 0;   ///< events of the samples analysed so far
  double elapsed_s = 0.0;     ///< wall time since the batch started
  std::string id;             ///< "PATIENT/SAMPLE" just finished
  std::string outcome;        ///< "analysed", "skipped (unchanged)", "failed"
  std::string detail;         ///< MRD sentence or failure reason
  double sample_s = 0.0;      ///< this sample's wall time
};

/// What the batch did.
struct BatchTotals {
  std::size_t analysed = 0;
  std::size_t skipped = 0;
  std::size_t failed = 0;
  std::size_t not_run = 0;    ///< left out by --fail-fast
  std::filesystem::path summary_csv, summary_html, store;
  std::vector<std::filesystem::path> reports;
};

/// Run the batch. Per-sample failures are recorded and counted, never thrown.
/// @throws CommandError for a manifest that cannot be used at all, a store that cannot be
///         opened or written, or an output folder that cannot be created
BatchTotals run_batch(const BatchOptions& options, const std::function<void(const BatchProgress&)>& progress);

/// `flowmrd batch --plan`: the samples, their folders and dependencies as JSON (for workflow/Snakefile).
/// @throws CommandError as run_batch
std::string batch_plan_json(const BatchOptions& options);

}  // namespace flowmrd::cli
