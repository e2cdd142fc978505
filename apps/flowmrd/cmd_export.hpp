// SPDX-License-Identifier: Apache-2.0
/// @file cmd_export.hpp
/// `flowmrd export`: the event matrix of one data set as CSV, TSV or FCS 3.1.
#pragma once

#include <string>
#include <vector>

namespace flowmrd::cli {

/// Options of `flowmrd export` (docs/cli.md). Defaults read values as flowCore `read.FCS` does.
struct ExportOptions {
  std::string file;           ///< Input FCS file.
  int dataset = 1;            ///< 1-based data set.
  bool raw = false;           ///< Stored values, no $PnE decoding (Transformation::raw).
  bool png_scaling = false;   ///< Divide linear channels by $PnG (linearize-with-PnG-scaling).
  bool no_truncate = false;   ///< Keep values above each channel's maximum range.
  bool strict = false;        ///< No repairs: any defect is an error.
  std::string format = "csv"; ///< "csv", "tsv" or "fcs".
  std::string output;         ///< Output path; "" or "-" is standard output.
  /// Compensate with the file's own spillover matrix (as flowCore chooses it).
  bool compensate = false;
  /// Compensate with this external matrix instead (CSV, FlowJo or Gating-ML; implies compensate).
  std::string spillover_file;
  /// "CHANNEL=NAME:K=V,..." (CHANNEL is a $PnN, a $PnS, or ALL for every channel not named).
  std::vector<std::string> transforms;
};

/// Run the command. Warnings about repairs go to standard error.
/// @throws CommandError (input, usage and output failures)
/// @returns the exit code (always ExitCode::ok when it returns).
int run_export(const ExportOptions& options);

}  // namespace flowmrd::cli
