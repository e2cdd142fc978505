// SPDX-License-Identifier: Apache-2.0
/// @file analysis.hpp
/// The automated MRD analysis of one timepoint (one or more tubes of the same sample): tube
/// loading (read, panel resolution, file compensation), pre-gating, the B-lineage compartment
/// split into normal maturation and blasts by a different-from-normal model, the CD19-independent
/// B-lineage gate (CD19-negative blasts), the myelomonocytic compartment (lineage switch), MRD
/// statistics and flags. The method is described in docs/mrd-method.md; the result JSON written
/// from AnalysisResult (result_json.hpp) in docs/result-format.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "fcs/issue.hpp"
#include "flowmrd/gating/compensation.hpp"
#include "flowmrd/gating/frame.hpp"
#include "flowmrd/gating/mask.hpp"
#include "flowmrd/panels/panel.hpp"
#include "flowmrd/panels/resolve.hpp"
#include "flowmrd/pipeline/model_scale.hpp"
#include "flowmrd/pipeline/mrd_statistics.hpp"
#include "flowmrd/pipeline/pregate.hpp"
#include "flowmrd/pipeline/reference.hpp"

namespace flowmrd::pipeline {

// ---------------------------------------------------------------------------------------------
// Tubes
// ---------------------------------------------------------------------------------------------

/// Why an analysis input was refused.
enum class AnalysisErrorKind {
  input_invalid,   ///< unreadable, not FCS, empty data set, truncated
  panel_mismatch,  ///< a required marker is missing or ambiguous, no panel fits
  analysis_failed, ///< the data cannot be analysed (e.g. no scatter, compensation singular)
};

/// An input that cannot be analysed. `what()` names the file, the place and the reason.
class AnalysisError : public std::runtime_error {
 public:
  AnalysisError(AnalysisErrorKind kind, std::string file, const std::string& message)
      : std::runtime_error(message), kind_(kind), file_(std::move(file)) {}
  [[nodiscard]] AnalysisErrorKind kind() const noexcept { return kind_; }
  [[nodiscard]] const std::string& file() const noexcept { return file_; }

 private:
  AnalysisErrorKind kind_;
  std::string file_;
};

/// One tube, read and compensated (not transformed: the Frame holds linear compensated values).
struct Tube {
  std::string path;      ///< as given
  std::string label;     ///< file name, used in messages and population records
  std::string sha256;    ///< of the file's bytes
  std::uint64_t events = 0;
  std::string cytometer; ///< $CYT
  std::map<std::string, std::string> keywords;  ///< $FIL, $DATE, $BTIM, $CYT, $SRC, $TOT, ... (a few, for reports)
  panels::Panel panel;
  panels::Resolution resolution;
  std::optional<gating::CompensationSource> compensation;  ///< absent: the file has no matrix (a note says so)
  fcs::Issues issues;    ///< repairs applied and findings of the reader (provenance)
  gating::Frame frame;   ///< compensated, linear
  PregateChannels channels;  ///< the columns pre-gating uses
  /// Canonical marker name -> Frame column for every resolved fluorescence marker ("CD19", "HLA-DR",
  /// "SYTO 41") and "FSC-A", "FSC-H", "SSC-A", "Time".
  std::map<std::string, int> columns;
  std::vector<std::string> notes;
};

/// Options of load_tube().
struct LoadOptions {
  unsigned threads = 0;
  std::string instrument;  ///< panel instrument mapping to use (panels::ResolveOptions)
};

/// Read an FCS file, choose the panel (the one given, else panels::choose_panel among `panels`),
/// resolve markers, apply the file's compensation. @throws AnalysisError
[[nodiscard]] Tube load_tube(const std::string& path, std::span<const panels::Panel> panels,
                             const LoadOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/// A gated population of one tube.
struct PopulationCount {
  std::string id;       ///< stable id, e.g. "nucleated", "b_cells", "b_blasts" (docs/result-format.md)
  std::string name;     ///< for people, e.g. "CD19+ B cells"
  std::string parent;   ///< parent id ("" for the root "all_events")
  std::string tube;     ///< tube label
  std::uint64_t events = 0;
  double percent_parent = 0.0;                ///< 0 when the parent is empty
  std::optional<double> percent_nucleated;    ///< for populations inside the denominator
};

/// Median of one marker on a population.
struct MarkerMedian {
  std::string marker;
  double model = 0.0;   ///< model scale
  double linear = 0.0;  ///< compensated linear intensity
  std::optional<double> normal_model;  ///< the nearest normal counterpart's median (model scale)
};

/// A marker on which a blast population differs from its nearest normal counterpart.
struct Aberrancy {
  std::string marker;
  std::string direction;  ///< "over" or "under"
  double shift = 0.0;     ///< blast median - normal counterpart, model scale (about decades)
  std::string text;       ///< e.g. "CD38 under-expressed (-1.0 decades vs. stage I hematogones)"
};

/// The phenotype of a blast population (also what a diagnosis result passes to follow-ups).
struct BlastPhenotype {
  std::string population;            ///< population id ("b_blasts", "b_blasts_cd19neg", "myelomonocytic_blasts")
  std::string tube;
  std::uint64_t events = 0;
  std::vector<MarkerMedian> medians;
  std::vector<Aberrancy> aberrancies;
  std::string counterpart;           ///< the normal population compared with, e.g. "hematogone"
  /// Gaussian summary in model scale for LAIP-guided search: dimensions, mean, covariance (row-major).
  std::vector<std::string> dimensions;
  std::vector<double> mean;
  std::vector<double> covariance;
};

/// A flag raised (or evaluated and not raised) on the timepoint.
struct Flag {
  std::string id;           ///< "cd19_negative", "lineage_switch", "low_cellularity", "qc_anomaly", ...
  bool raised = false;
  std::uint64_t events = 0;
  std::optional<double> percent_nucleated;
  std::optional<double> percent_of_blasts;
  std::string tube;
  std::string explanation;  ///< one line for people
};

/// One leukemic compartment's contribution to MRD.
struct MrdComponent {
  std::string population;   ///< "b_blasts", "b_blasts_cd19neg", "myelomonocytic_blasts"
  std::string tube;
  std::uint64_t events = 0;
  std::uint64_t denominator = 0;
  double percent = 0.0;
};

/// What was evaluated in which tube ("evaluated": the tube has the markers).
struct Coverage {
  bool b_lineage = false;       ///< CD19+ B-lineage blasts
  bool cd19_negative = false;   ///< CD19-independent B-lineage gate
  bool lineage_switch = false;  ///< myelomonocytic blasts
  std::string b_lineage_tube, cd19_negative_tube, lineage_switch_tube;
  std::vector<std::string> notes;  ///< e.g. "lineage switch not evaluable: no tube has CD33 or CD64"
};

/// The analysis of one tube.
struct TubeAnalysis {
  Tube tube;
  PregateResult pregate;
  /// Every population of the tube with its mask over all events (same order as the population
  /// list of the result for this tube).
  std::vector<std::pair<std::string, gating::Mask>> masks;
  /// Terminal population of each event (index into `terminal_names`), for --events.
  std::vector<std::uint8_t> assignment;
  std::vector<std::string> terminal_names;
  gating::Mask leukemic;             ///< every leukemic event of the tube
  std::vector<PlacedGate> gates;     ///< pre-gating then lineage gates
  std::vector<std::string> notes;

  /// The mask of a population id, or nullptr.
  [[nodiscard]] const gating::Mask* mask(const std::string& id) const;
};

/// Options of analyze().
struct AnalysisOptions {
  MrdOptions mrd;                 ///< LOD/LLOQ events, confidence, decision threshold
  unsigned threads = 0;           ///< 0 = all cores; results identical for any value
  /// Share of normal events allowed to score as "off normal" (the outlier threshold of the
  /// different-from-normal score); clusters must still beat what this rate predicts.
  double outlier_quantile = 1e-3;
  /// The diagnosis blast phenotype(s) (LAIP): they seed the blast search.
  std::vector<BlastPhenotype> diagnosis;
  std::uint64_t min_events = 1000;  ///< fewer nucleated events: MRD not evaluable (flag low_cellularity)
  /// Sensitivity goal in % (0.01 = 10^-4): a denominator whose LOD is above it raises
  /// low_cellularity.
  double sensitivity_goal_percent = 0.01;
};

/// The analysis of one timepoint.
struct AnalysisResult {
  std::vector<TubeAnalysis> tubes;
  std::vector<PopulationCount> populations;  ///< every tube's populations, tube order
  MrdResult mrd;                             ///< the timepoint's MRD (sum of components)
  std::vector<MrdComponent> components;
  std::vector<BlastPhenotype> phenotypes;    ///< one per leukemic population found
  std::vector<Flag> flags;
  Coverage coverage;
  std::string reference_name, reference_version, reference_sha256;
  std::vector<std::string> notes;
};

/// Analyse the tubes of one timepoint. @throws AnalysisError when no tube can be analysed (e.g.
/// no tube has CD19 or CD33/CD64); a tube with too few events gives a result with status
/// not_evaluable and flag low_cellularity instead.
[[nodiscard]] AnalysisResult analyze(std::vector<Tube> tubes, const NormalReference& reference,
                                     const AnalysisOptions& options = {});

/// Options of build_reference().
struct ReferenceBuildOptions {
  std::string name = "custom";
  std::string version;
  std::string description;
  std::string created_by;
  unsigned threads = 0;
  std::size_t max_events_per_model = 300000;  ///< subsample (deterministic stride) above this
};

/// Build a normal-marrow reference from tubes of normal or regenerating marrow (no leukemia):
/// pre-gate each, collect each compartment's events, fit one mixture per compartment and marker
/// set. @throws AnalysisError when no compartment has enough events.
[[nodiscard]] NormalReference build_reference(std::span<const Tube> tubes, const ReferenceBuildOptions& options);

}  // namespace flowmrd::pipeline
