// SPDX-License-Identifier: Apache-2.0
/// @file analysis_internal.hpp
/// Private building blocks of the MRD analysis (analysis.cpp, compartments.cpp, blast_search.cpp,
/// reference_build.cpp): model-scale columns, marker positivity cuts, the compartments and the
/// different-from-normal blast search.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flowmrd/gating/gmm.hpp"
#include "flowmrd/gating/mask.hpp"
#include "flowmrd/pipeline/analysis.hpp"

namespace flowmrd::pipeline::detail {

/// The B-lineage markers, the myelomonocytic markers, and the dimensions of each compartment's
/// model (those the tube has are used, in this order).
const std::vector<std::string>& b_lineage_dims();
const std::vector<std::string>& window_dims();
const std::vector<std::string>& myelomonocytic_dims();
const std::vector<std::string>& myeloid_markers();  ///< CD33, CD64, CD14, CD11b

/// Model-scale values of the tube's markers and scatter (model_scale of the linear values), one
/// float column per name ("CD19", "SSC-A", ...).
struct ModelColumns {
  std::map<std::string, std::vector<float>> values;
  [[nodiscard]] const std::vector<float>* get(const std::string& name) const;
  [[nodiscard]] bool has(const std::string& name) const { return get(name) != nullptr; }
};
[[nodiscard]] ModelColumns model_columns(const Tube& tube, unsigned threads);

/// The dimensions of `wanted` the columns have, in order.
[[nodiscard]] std::vector<std::string> available(const ModelColumns& cols, const std::vector<std::string>& wanted);

/// Rows (row-major, dims.size() per event) of the events set in `mask`; `index` gets their event
/// numbers.
[[nodiscard]] std::vector<float> gather(const ModelColumns& cols, const std::vector<std::string>& dims,
                                        const gating::Mask& mask, std::vector<std::uint32_t>* index);

/// Where a marker turns positive on this sample (model scale), found from its density.
struct PositivityCut {
  double cut = 0.0;
  std::string method;
  std::string note;
};
[[nodiscard]] PositivityCut positivity_cut(const std::vector<float>& values, const gating::Mask& mask);

/// The three compartments of one tube (masks over all events) and the gates that made them.
struct Compartments {
  std::optional<gating::Mask> b_cells;         ///< CD19+ nucleated (absent: no CD19)
  std::optional<gating::Mask> cd19neg_window;  ///< absent: no CD19 or neither CD10 nor CD34
  std::optional<gating::Mask> myelomonocytic;  ///< absent: neither CD33 nor CD64
  gating::Mask low_scatter;                    ///< nucleated with lymphoid-range SSC
  std::map<std::string, double> cuts;          ///< marker -> positivity cut used
  std::vector<PlacedGate> gates;
  std::vector<std::string> notes;
};
[[nodiscard]] Compartments find_compartments(const Tube& tube, const ModelColumns& cols, const gating::Mask& nucleated);

/// One cluster the blast search looked at.
struct ClusterReport {
  std::uint64_t core_events = 0;   ///< off-normal events in its core
  double expected_background = 0;  ///< off-normal normal events expected there
  bool accepted = false;
  std::string reason;
};

/// The outcome of the blast search in one compartment.
struct BlastSearchResult {
  std::vector<std::uint8_t> is_blast;       ///< per compartment event (gather order)
  std::vector<std::uint32_t> normal_component;  ///< best normal reference component per event
  std::vector<ClusterReport> clusters;
  std::vector<std::string> notes;
  std::uint64_t candidates = 0;             ///< off-normal events
  double threshold = 0.0;                   ///< log-density threshold
};

/// Options of the blast search.
struct BlastSearchOptions {
  double outlier_quantile = 1e-3;
  std::uint64_t lod_events = 20;
  unsigned threads = 0;
  std::vector<gating::GmmComponent> laip;  ///< diagnosis phenotypes over the same dims (seeds)
};

/// Different-from-normal search: score events against `normal`, cluster the off-normal ones,
/// keep coherent clusters that beat the background normal maturation predicts, then assign every
/// event to blast or normal by posterior under normal + blast components.
[[nodiscard]] BlastSearchResult search_blasts(const gating::GaussianMixture& normal, const std::vector<float>& data,
                                              std::size_t dims, const BlastSearchOptions& options);

/// Label a reference component from its mean over `dims` (compartment-specific rules).
[[nodiscard]] std::string label_component(Compartment compartment, const std::vector<std::string>& dims,
                                          const std::vector<double>& mean);

/// The reference model of `compartment` restricted to the dims the tube has: the mixture, its
/// dims and component labels. nullopt when the reference has none covering >= 3 of them.
struct UsableModel {
  gating::GaussianMixture mixture;
  std::vector<std::string> dims;
  std::vector<std::string> labels;
};
[[nodiscard]] std::optional<UsableModel> usable_model(const NormalReference& reference, Compartment compartment,
                                                      const std::vector<std::string>& available_dims);

}  // namespace flowmrd::pipeline::detail
