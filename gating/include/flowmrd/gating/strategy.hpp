// SPDX-License-Identifier: Apache-2.0
/// @file strategy.hpp
/// A gating strategy: named transforms and compensation matrices, and a tree of populations, each
/// defined by a gate inside its parent. This is what Gating-ML import, FlowJo workspace import and
/// automated gating produce, and what `apply_gates` evaluates.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "flowmrd/gating/compensation.hpp"
#include "flowmrd/gating/gate.hpp"
#include "flowmrd/gating/transform.hpp"

namespace flowmrd::gating {

/// Inconsistent strategy (unknown parent or reference, cycle, wrong vertex count, ...), or a
/// strategy that cannot be applied to a data set (missing channel, no spillover in the file).
/// `what()` names the population/gate and the reason.
class GatingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A population: the events of its parent (all events at the root) that its gate accepts.
struct Population {
  std::string id;                     ///< Unique within the strategy (Gating-ML gate id, FlowJo gate id).
  std::string name;                   ///< Display name; equals id when the source has no names.
  std::optional<std::string> parent;  ///< Parent population id; none = root (all events).
  Gate gate;
};

/// Transforms, compensations and populations.
class GatingStrategy {
 public:
  /// Transform id -> parameters.
  std::map<std::string, TransformSpec> transforms;
  /// Transform id -> Gating-ML boundMin/boundMax, applied to the transform's result (absent:
  /// unbounded).
  std::map<std::string, Bounds> transform_bounds;
  /// Compensation id -> matrix. "FCS" is never stored: it is the data set's own matrix.
  std::map<std::string, Compensation> compensations;
  /// Optional output names of a compensation (Gating-ML spectrumMatrix fluorochromes), in the
  /// order of its channels (detectors): a dimension may name either. Absent: outputs are named
  /// like the detectors.
  std::map<std::string, std::vector<std::string>> fluorochromes;
  /// In definition order.
  std::vector<Population> populations;

  /// The population with this id, or nullptr.
  [[nodiscard]] const Population* find(const std::string& id) const noexcept;
  /// Index in `populations` of this id, or nullopt.
  [[nodiscard]] std::optional<std::size_t> index_of(const std::string& id) const noexcept;
  /// Path of display names from the root, "/"-separated: "Lymphocytes/CD3+/CD4+".
  [[nodiscard]] std::string path(const std::string& id) const;

  /// Check references (parents, boolean operands, transform and compensation ids), dimension
  /// counts, vertex counts, covariance sizes, and the absence of cycles.
  /// @throws GatingError naming the first problem found
  void validate() const;

  /// Indices of `populations` so that every population comes after its parent and after the
  /// populations its boolean gate refers to. @throws GatingError on a cycle.
  [[nodiscard]] std::vector<std::size_t> evaluation_order() const;
};

}  // namespace flowmrd::gating
