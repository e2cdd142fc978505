// SPDX-License-Identifier: Apache-2.0
/// @file cmd_info.hpp
/// `flowmrd info`: what a file holds (data sets, channels, spillover, issues), as text or JSON.
#pragma once

#include <string>

namespace flowmrd::cli {

/// Options of `flowmrd info` (docs/cli.md).
struct InfoOptions {
  std::string file;     ///< Input FCS file.
  int dataset = 0;      ///< 1-based data set to show; 0 shows all.
  bool json = false;    ///< One JSON object instead of text tables.
  bool stats = false;   ///< Read the events and add per-channel statistics.
  bool strict = false;  ///< No repairs: any defect is an error.
};

/// Run the command, writing to standard output.
/// @throws CommandError (input, usage and output failures)
/// @returns the exit code (always ExitCode::ok when it returns).
int run_info(const InfoOptions& options);

}  // namespace flowmrd::cli
