// SPDX-License-Identifier: Apache-2.0
/// @file cmd_simulate.hpp
/// `flowmrd simulate`: draw a synthetic bone-marrow sample from a scenario file and write it as
/// FCS 3.1 with its truth file beside it (docs/simulator.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace flowmrd::cli {

/// Options of `flowmrd simulate` (docs/cli.md, docs/simulator.md).
struct SimulateOptions {
  std::string scenario;                 ///< Scenario TOML file.
  std::string output;                   ///< Output FCS path; the truth goes to <stem>.truth.json.
  std::optional<std::uint64_t> seed;    ///< Replaces the scenario's seed.
  std::optional<std::uint64_t> events;  ///< Replaces the scenario's event count.
};

/// Simulate and write; prints one summary line to standard output.
/// @throws CommandError: input_invalid (scenario or profile unreadable or invalid), usage (bad
///         --events), output_failed (FCS or truth file not written).
/// @returns the exit code (always ExitCode::ok when it returns).
int run_simulate(const SimulateOptions& options);

}  // namespace flowmrd::cli
