// SPDX-License-Identifier: Apache-2.0
/// @file qa.hpp
/// Event-level agreement between a reference and a test gating of the same events, and the
/// matching of population names between the two (docs/qa.md).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "flowmrd/gating/mask.hpp"

namespace flowmrd::gating {

/// Agreement of one population.
struct Agreement {
  std::size_t reference_events = 0;
  std::size_t test_events = 0;
  std::size_t both = 0;              ///< true positives
  std::size_t reference_only = 0;    ///< false negatives
  std::size_t test_only = 0;         ///< false positives
  long long difference_events = 0;   ///< test - reference
  double difference_percent = 0.0;   ///< of the reference count (0 when the reference is empty)
  double precision = 0.0;            ///< both / test (1 when both are empty)
  double recall = 0.0;               ///< both / reference (1 when both are empty)
  double f1 = 0.0;                   ///< harmonic mean (1 when both are empty)
};

/// Event-level agreement. When only one side is empty, the undefined ratio (precision of an
/// empty test, recall of an empty reference) is 0, and so is F1.
/// @throws std::invalid_argument when the masks differ in size
[[nodiscard]] Agreement compare_masks(const Mask& reference, const Mask& test);

/// A failure to pair populations: an ambiguous name, or an explicit mapping naming a population
/// that does not exist. `what()` lists the candidates.
class MatchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How a population is known for matching.
struct PopulationName {
  std::string name;  ///< display name ("CD19+"); for a labels column, the header or label value
  std::string path;  ///< "/"-separated path from the root ("Lymphocytes/CD19+"); may equal name
};

/// The last "/"-separated component of `path` (the whole text when it has no "/").
[[nodiscard]] std::string last_path_component(const std::string& path);

/// One reference population paired with one test population.
struct PopulationPair {
  std::size_t reference = 0;  ///< index into the reference list
  std::size_t test = 0;       ///< index into the test list
  /// "map" (explicit), "name", "path" or "last component": the rule that paired them.
  std::string rule;
};

/// Result of match_populations.
struct PopulationMatching {
  std::vector<PopulationPair> pairs;           ///< in reference order
  std::vector<std::size_t> unmatched_reference;  ///< indices, ascending
  std::vector<std::size_t> unmatched_test;       ///< indices, ascending
};

/// Pair reference and test populations.
///  1. Each explicit (REF, TEST) in `explicit_map` pairs the reference population whose name or
///     path equals REF with the test population whose name or path equals TEST (each must
///     identify exactly one population; exact, case-sensitive). Populations paired this way take
///     no part in the automatic rules.
///  2. Every other reference population R, in order, is paired with the test population T found
///     by the first rule that finds any: T.name == R.name (when several, the one among them whose
///     path equals R.path); T.path == R.path; last component of T.path == last component of
///     R.path. More than one candidate at the deciding rule is an error listing them.
///  3. A test population claimed by two reference populations is an error naming both.
/// @throws MatchError
[[nodiscard]] PopulationMatching match_populations(
    const std::vector<PopulationName>& reference, const std::vector<PopulationName>& test,
    const std::vector<std::pair<std::string, std::string>>& explicit_map = {});

}  // namespace flowmrd::gating
