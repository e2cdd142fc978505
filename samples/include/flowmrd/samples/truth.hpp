// SPDX-License-Identifier: Apache-2.0
/// @file truth.hpp
/// The truth file written beside each simulated FCS file (docs/simulator.md).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "flowmrd/samples/populations.hpp"

namespace flowmrd::samples {

/// What a simulated sample really holds.
struct Truth {
  std::string scenario;     ///< Scenario name.
  std::string profile;      ///< Profile name.
  std::uint64_t seed = 0;
  std::uint64_t events = 0;  ///< Events written ($TOT).
  std::array<std::uint64_t, population_count> counts{};  ///< Events per population (code order).
  std::uint64_t denominator = 0;  ///< Nucleated viable single cells (all but debris, doublets, dead).
  std::uint64_t blasts = 0;       ///< Leukemic events (all three blast populations).
  double mrd_percent = 0;         ///< 100 x blasts / denominator (0 when the denominator is 0).
  bool cd19_negative = false;     ///< Expected flag: CD19-negative leukemic cells present.
  bool lineage_switch = false;    ///< Expected flag: monocytic lineage-switch blasts present.
  std::vector<std::uint8_t> labels;  ///< Population code of each event, in event order.
};

/// Recompute counts, denominator, blasts, MRD % and flags from `labels` (other fields kept).
void finalize_truth(Truth& truth);

/// The truth as JSON text (schema "flowmrd.truth/1"): fixed key order, so byte-identical for
/// identical inputs. Labels are one character per event ('0'-'9' then 'a'-'z' = code).
[[nodiscard]] std::string truth_to_json(const Truth& truth);

/// Parse a truth file written by truth_to_json.
/// @throws std::runtime_error on malformed input.
[[nodiscard]] Truth truth_from_json(const std::string& text);

/// The truth path beside an FCS path: "x/s.fcs" -> "x/s.truth.json".
[[nodiscard]] std::filesystem::path truth_path_for(const std::filesystem::path& fcs_path);

}  // namespace flowmrd::samples
