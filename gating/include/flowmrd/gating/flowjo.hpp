// SPDX-License-Identifier: Apache-2.0
/// @file flowjo.hpp
/// FlowJo 10 workspace (.wsp) import: samples, their gating trees, compensation matrices,
/// transforms and the event counts FlowJo stored, turned into GatingStrategy objects that
/// `apply_gates` evaluates; and the comparison of recomputed counts with FlowJo's.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fcs/reader.hpp"
#include "flowmrd/gating/evaluate.hpp"
#include "flowmrd/gating/strategy.hpp"

namespace flowmrd::gating {

/// One sample of a workspace.
struct WorkspaceSample {
  std::string id;        ///< FlowJo sampleID
  std::string name;      ///< Sample name as FlowJo shows it ($FIL or file name)
  std::string uri;       ///< DataSet uri as stored (may point to another machine)
  std::optional<std::size_t> event_count;  ///< FlowJo's total event count for the sample
  GatingStrategy strategy;                 ///< populations in workspace order, paths = FlowJo's tree
  /// FlowJo's stored count per population id (absent when FlowJo stored none).
  std::map<std::string, std::size_t> stored_counts;
};

struct Workspace {
  std::filesystem::path path;
  std::string flowjo_version;
  std::vector<WorkspaceSample> samples;
  /// Sample by name, id or file name (case-sensitive); nullptr when none.
  [[nodiscard]] const WorkspaceSample* find_sample(const std::string& key) const noexcept;
};

/// @throws GatingError "FILE:LINE: element: reason", naming unsupported gate/transform elements
[[nodiscard]] Workspace read_flowjo_workspace(const std::filesystem::path& path);

/// How FCS files must be read to reproduce FlowJo's coordinates.
[[nodiscard]] fcs::ReadOptions flowjo_read_options();

/// One row of the FlowJo count comparison.
struct FlowJoCountRow {
  std::string id;
  std::string path;
  std::string gate_kind;              ///< gate_kind_name
  std::optional<std::size_t> flowjo;  ///< stored count (none when FlowJo stored none)
  std::size_t recomputed = 0;
  long long difference = 0;           ///< recomputed - flowjo
  double difference_percent = 0.0;    ///< of the FlowJo count
  bool within_tolerance = true;       ///< |diff| <= max(2 events, 0.5 % of FlowJo's count)
  std::string explanation;            ///< why they differ, when it can be told; empty when equal
};

/// Compare FlowJo's stored counts with `result` (apply_gates of `sample.strategy`).
[[nodiscard]] std::vector<FlowJoCountRow> compare_flowjo_counts(const WorkspaceSample& sample,
                                                                const GatingResult& result);

}  // namespace flowmrd::gating
