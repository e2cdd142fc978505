// SPDX-License-Identifier: Apache-2.0
/// @file evaluate.hpp
/// Applying a gating strategy to a data set: per-population membership masks and statistics.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fcs/dataset.hpp"
#include "flowmrd/gating/mask.hpp"
#include "flowmrd/gating/strategy.hpp"

namespace flowmrd::gating {

/// How dimension coordinates are computed.
enum class Precision {
  exact,  ///< double precision, exact transforms (reproduces Gating-ML reference results)
  fast,   ///< float tables for logicle/hyperlog/biex (error below 1e-6 transformed units)
};

struct GateOptions {
  /// Worker threads (0 = all cores). Results are identical for any value.
  unsigned threads = 0;
  Precision precision = Precision::exact;
  /// Overrides the data set's own matrix for dimensions that reference "FCS" (nullptr: use the
  /// file's; a data set without one is used uncompensated, with a note in the result, as
  /// flowCore/flowUtils and FlowKit do and the Gating-ML compliance suite expects).
  const Compensation* file_compensation = nullptr;
};

/// Count and shares of one population.
struct PopulationCount {
  std::string id;
  std::string name;
  std::string path;          ///< GatingStrategy::path
  std::optional<std::string> parent;
  std::size_t events = 0;
  double percent_of_parent = 0.0;  ///< 0 when the parent is empty
  double percent_of_total = 0.0;   ///< 0 when the data set is empty
};

/// The membership of every population of a strategy in one data set.
class GatingResult {
 public:
  GatingResult() = default;
  GatingResult(std::size_t events, std::vector<PopulationCount> counts, std::vector<Mask> masks,
               std::vector<std::string> notes = {});

  [[nodiscard]] std::size_t events() const noexcept { return events_; }
  /// One entry per population, in the strategy's definition order.
  [[nodiscard]] const std::vector<PopulationCount>& counts() const noexcept { return counts_; }
  /// Membership (parents included) of population `i` / `id`.
  [[nodiscard]] const Mask& mask(std::size_t i) const { return masks_.at(i); }
  /// @throws GatingError for an unknown id
  [[nodiscard]] const Mask& mask(const std::string& id) const;
  [[nodiscard]] const PopulationCount& count(const std::string& id) const;
  /// What the evaluation had to decide on its own (e.g. "FCS" compensation without a matrix).
  [[nodiscard]] const std::vector<std::string>& notes() const noexcept { return notes_; }

 private:
  std::size_t events_ = 0;
  std::vector<PopulationCount> counts_;
  std::vector<Mask> masks_;
  std::vector<std::string> notes_;
};

/// Evaluate every population of `strategy` on `ds` (values as read, e.g. with PnG scaling for
/// Gating-ML compliance), in parallel over chunks of events; deterministic.
/// @throws GatingError (invalid strategy, channel missing in the data set), CompensationError,
///         TransformError
[[nodiscard]] GatingResult apply_gates(const GatingStrategy& strategy, const fcs::Dataset& ds,
                                       const GateOptions& options = {});

/// The coordinates of one dimension for all events (compensated and transformed as it says).
/// @throws as apply_gates
[[nodiscard]] std::vector<double> dimension_values(const GatingStrategy& strategy, const Dimension& dim,
                                                   const fcs::Dataset& ds, const GateOptions& options = {});

/// Median of `values` over the events in `mask` (NaN values ignored); nullopt when none.
/// An even count gives the mean of the two middle values.
[[nodiscard]] std::optional<double> median(std::span<const double> values, const Mask& mask);
[[nodiscard]] std::optional<double> median(std::span<const float> values, const Mask& mask);

}  // namespace flowmrd::gating
