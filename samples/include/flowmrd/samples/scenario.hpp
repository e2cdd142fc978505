// SPDX-License-Identifier: Apache-2.0
/// @file scenario.hpp
/// Scenario files: what one simulated sample holds (docs/simulator.md, samples/scenarios/*.toml).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace flowmrd::samples {

/// Aberrancies of the leukemic B blasts, as shifts in decades (log10 units) from the stage I/II
/// hematogone phenotype they resemble: positive = over-expressed, negative = under-expressed.
struct BlastPhenotype {
  double cd10 = 0;   ///< CD10 over (>0) or under (<0; -2 or less makes it negative, as in KMT2A-r).
  double cd38 = 0;   ///< CD38 under-expression (< 0) is the most frequent aberrancy.
  double cd58 = 0;   ///< CD58 over-expression (> 0).
  double cd45 = 0;   ///< CD45 under-expression (< 0).
  double cd20 = 0;   ///< Asynchronous CD20 (> 0 on a CD34+ blast).
  double cd34 = 0;   ///< CD34 over (> 0) or loss (< 0).
  double spread = 0.18;  ///< SD of the log10 intensities (blasts are more homogeneous than normal).
};

/// A change of flow rate during acquisition (a clog or a bubble), as a fraction of the run.
struct FlowAnomaly {
  double start = 0.5;       ///< Start, as a fraction of the events (0..1).
  double end = 0.6;         ///< End (> start, <= 1).
  double rate_factor = 0.2; ///< Event rate during the anomaly relative to nominal (0.2 = a clog).
};

/// One simulated sample.
struct Scenario {
  std::string name;            ///< Scenario id (default: the file stem).
  std::string description;     ///< Free text.
  std::string profile;         ///< Profile name or path (resolve_profile_path).
  std::filesystem::path base_dir;  ///< Directory of the scenario file (for relative profile paths).
  std::string source;          ///< The file it was loaded from.
  std::uint64_t events = 100000;  ///< Total events written ($TOT).
  std::uint64_t seed = 1;         ///< Random seed.
  /// Relative fractions of the normal nucleated populations (granulocyte .. erythroid); they are
  /// normalised to sum 1 over the non-leukemic part of the denominator.
  std::map<std::string, double> fractions;
  double debris = 0.05;    ///< Fraction of all events that are debris.
  double doublets = 0.03;  ///< Fraction of all events that are doublets.
  double dead = 0.03;      ///< Fraction of all events that are dead cells.
  /// MRD level: leukemic cells / (nucleated viable single cells), 0..1 (0.001 = 0.1%).
  double mrd = 0;
  BlastPhenotype blast;    ///< B-blast aberrancies.
  double cd19_negative_fraction = 0;  ///< Share of the leukemic cells that are CD19-negative B blasts.
  double lineage_switch_fraction = 0; ///< Share of the leukemic cells that are monocytic blasts.
  std::optional<FlowAnomaly> flow_anomaly;  ///< Optional flow-rate anomaly in Time.
  /// Free keywords written to the FCS TEXT (e.g. $SRC, PATIENT); keys as written.
  std::map<std::string, std::string> keywords;
};

/// A scenario that could not be loaded: the message names the file, the line and the field.
class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Parse a scenario from TOML text; `label` names the input in errors, `base_dir` resolves a
/// relative profile path.
/// @throws ScenarioError
[[nodiscard]] Scenario parse_scenario(std::string_view toml_text, const std::string& label = "<memory>",
                                      const std::filesystem::path& base_dir = {});

/// Load a scenario file.
/// @throws ScenarioError (also when it cannot be read)
[[nodiscard]] Scenario load_scenario(const std::filesystem::path& path);

/// The default normal-marrow composition (relative fractions of a regenerating paediatric
/// marrow); scenario `[fractions]` entries replace single values of it.
[[nodiscard]] std::map<std::string, double> default_fractions();

}  // namespace flowmrd::samples
