// SPDX-License-Identifier: Apache-2.0
/// @file reference.hpp
/// The normal-marrow reference: for each analysis compartment (CD19+ B cells, the CD19-negative
/// B-progenitor window, myelomonocytic cells) a Gaussian mixture of what normal and regenerating
/// marrow puts there, in flowmrd's model scale (model_scale.hpp). Blast detection scores
/// every event against it ("different from normal") and keeps coherent clusters that normal
/// maturation does not explain. Built from files by `flowmrd reference build`; the default ships
/// as panels/reference/default.json. Format: docs/reference-format.md (schema
/// "flowmrd.reference/1").
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "flowmrd/gating/gmm.hpp"

namespace flowmrd::pipeline {

/// Analysis compartments with a reference model.
enum class Compartment {
  b_lineage,        ///< CD19+ nucleated cells: hematogones, mature B, plasma cells (and CD19+ blasts)
  cd19neg_window,   ///< CD19-negative, low-scatter, CD10+ and/or CD34+ cells without myeloid markers
  myelomonocytic,   ///< CD19-negative CD33+ and/or CD64+ cells: monocytes, granulocytes, myeloid precursors
};

/// "b_lineage", "cd19neg_window", "myelomonocytic".
[[nodiscard]] std::string to_string(Compartment c);
/// Parse a compartment name. @throws std::invalid_argument for an unknown name.
[[nodiscard]] Compartment compartment_from_string(const std::string& name);

/// One model: a compartment over a marker set (a tube type contributes the markers it has).
struct ReferenceModel {
  Compartment compartment = Compartment::b_lineage;
  /// Dimension names in model order: canonical marker names ("CD19", "HLA-DR") and "FSC-A", "SSC-A".
  std::vector<std::string> dimensions;
  gating::GaussianMixture mixture;       ///< over `dimensions`, model scale
  /// A population name per component ("hematogone", "mature_b", "plasma_cell", "monocyte",
  /// "granulocyte", "myeloid_precursor", "eosinophil", "progenitor", ...), from its mean.
  std::vector<std::string> component_labels;
  std::uint64_t events = 0;              ///< events the model was fitted to
  std::uint64_t files = 0;               ///< files that contributed
};

/// A normal-marrow reference.
struct NormalReference {
  std::string name;         ///< e.g. "default"
  std::string version;      ///< free text, recorded in results
  std::string description;
  std::string created_by;   ///< software version that built it
  std::vector<std::string> sources;  ///< file names (and SHA-256) it was built from
  std::vector<ReferenceModel> models;
  std::string sha256;       ///< of the file it was loaded from (empty when built in memory)

  /// The model of `compartment` that covers most of `available` dimensions (ties: more events,
  /// then file order), or nullptr when none covers at least `min_dims` of them.
  [[nodiscard]] const ReferenceModel* best_model(Compartment compartment, const std::vector<std::string>& available,
                                                 std::size_t min_dims = 3) const;
};

/// A reference file that cannot be read or is invalid: `what()` names the file and the field.
class ReferenceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// JSON text of a reference (schema "flowmrd.reference/1", fixed key order, numbers with 17
/// significant digits: byte-identical for identical references).
[[nodiscard]] std::string reference_to_json(const NormalReference& reference);
/// Parse a reference. `label` names the input in errors. @throws ReferenceError
[[nodiscard]] NormalReference reference_from_json(const std::string& text, const std::string& label);
/// Load a reference file (sets `sha256`). @throws ReferenceError
[[nodiscard]] NormalReference load_reference(const std::filesystem::path& path);
/// The shipped default: $FLOWMRD_DATA/panels/reference/default.json when FLOWMRD_DATA is set, else
/// the source tree's panels/reference/default.json.
[[nodiscard]] std::filesystem::path default_reference_path();

}  // namespace flowmrd::pipeline
