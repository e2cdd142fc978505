// SPDX-License-Identifier: Apache-2.0
/// @file result_json.hpp
/// The result JSON of one analysed timepoint (`flowmrd analyze --json`, schema
/// "flowmrd.result/1", documented field by field in docs/result-format.md), and reading the
/// blast phenotypes back from such a file (`flowmrd analyze --diagnosis DX_RESULT.json`).
///
/// The text is a pure function of its inputs: fixed key order, fixed number formatting, no
/// thread count, wall time, host name or output path in it, so the same inputs give
/// byte-identical files whatever `--threads` was.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "flowmrd/pipeline/analysis.hpp"
#include "flowmrd/pipeline/rule_engine.hpp"

namespace flowmrd::pipeline {

/// The schema identifier written as "schema".
inline constexpr const char* kResultSchema = "flowmrd.result/1";

/// Where the diagnosis phenotype (LAIP) that guided the blast search came from.
struct DiagnosisSource {
  std::string path;    ///< as given on the command line
  std::string kind;    ///< "fcs" (the diagnosis sample was analysed) or "result" (a flowmrd.result/1 file)
  std::string sha256;  ///< of the file's bytes
  /// Population ids of the phenotypes taken from it, in order ("b_blasts", ...).
  std::vector<std::string> populations;
};

/// The result of an earlier timepoint of the same patient whose measurements were given to the
/// protocol (`flowmrd analyze --previous RESULT.json`).
struct PreviousResult {
  std::string path;       ///< as given
  std::string sha256;     ///< of the file's bytes
  std::string timepoint;  ///< its "timepoint"
};

/// Everything the result records besides the AnalysisResult itself: who/what/when, the protocol
/// evaluation, and the options that change results (for provenance).
struct ResultContext {
  std::string software_version;  ///< e.g. "0.1.0"
  std::string timepoint;         ///< protocol timepoint id ("" = none given)
  std::string patient_id;        ///< "" = unknown
  std::string sample_id;         ///< "" = unknown
  /// The protocol evaluation, when a protocol was requested (absent: "protocol" is
  /// {"status": "not requested"}).
  std::optional<Evaluation> evaluation;
  /// The inputs the protocol was evaluated with (MRD of this timepoint, flags, clinical fields).
  ProtocolInputs protocol_inputs;
  /// The protocol's decision threshold for this timepoint, % (absent: none applies).
  std::optional<double> decision_threshold_percent;
  /// Options as given on the command line ("" = default / not given).
  std::string panel_option;      ///< --panel NAME|FILE ("" = chosen per tube)
  std::string protocol_option;   ///< --protocol NAME|FILE
  std::string reference_option;  ///< --reference FILE ("" = the shipped default)
  /// --clinical KEY=VALUE pairs as given, in command-line order.
  std::vector<std::pair<std::string, std::string>> clinical;
  std::optional<DiagnosisSource> diagnosis;
  /// Earlier timepoints' results whose measurements entered `protocol_inputs`, in the order given.
  std::vector<PreviousResult> previous;
  /// The analysis options used. Only the ones that change results are written (LOD/LLOQ
  /// events, confidence, decision threshold, outlier quantile, minimum events, sensitivity goal);
  /// `threads` never is.
  AnalysisOptions analysis;
  /// The --events CSV as recorded (relative to the JSON's folder when possible), "" = none.
  /// `flowmrd qa` reads it back through this field.
  std::string events_file;
};

/// The result JSON text (UTF-8, 2-space indentation, ending with a newline). Absent values are
/// null, never NaN; invalid UTF-8 in strings is replaced by U+FFFD. Statistics (percentages,
/// medians, shifts) are rounded to 10 significant digits; a phenotype's Gaussian summary
/// (`model`) keeps full double precision so that --diagnosis reads back the same numbers.
[[nodiscard]] std::string result_to_json(const AnalysisResult& result, const ResultContext& context);

/// Add one timepoint's measurements of `result` to protocol inputs: `mrd_percent` and
/// `mrd_negative` (true for status negative) unless the status is not_evaluable or
/// insufficient_sensitivity (a number that cannot support a negative decision is not passed, so
/// rules needing it are "not evaluable"); `cd19_negative` and `lineage_switch` (whether the flag
/// is raised) only where `coverage` says the part was evaluated.
void add_timepoint_inputs(const AnalysisResult& result, const std::string& timepoint, ProtocolInputs& inputs);

/// The same from a result JSON of an earlier timepoint (its "timepoint", "mrd", "flags" and
/// "coverage"); returns its timepoint id. `label` names the input in errors.
/// @throws std::runtime_error "LABEL: FIELD: reason" for invalid JSON, another schema, a result
///         without a timepoint, or a field of the wrong type
std::string add_timepoint_inputs_from_result_json(const std::string& text, const std::string& label,
                                                  ProtocolInputs& inputs);

/// The blast phenotypes of a result JSON (`mrd.phenotypes`), for `--diagnosis DX_RESULT.json`.
/// `label` names the input in errors. Only schema "flowmrd.result/1" is accepted.
/// @throws std::runtime_error "LABEL: FIELD: reason" for invalid JSON, another schema, or a field
///         that is missing or has the wrong type or size.
[[nodiscard]] std::vector<BlastPhenotype> phenotypes_from_result_json(const std::string& text,
                                                                      const std::string& label);

}  // namespace flowmrd::pipeline
