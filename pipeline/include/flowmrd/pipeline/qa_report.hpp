// SPDX-License-Identifier: Apache-2.0
/// @file qa_report.hpp
/// The result of comparing a reference gating with a test gating of the same events (`flowmrd
/// qa`): the per-population comparison table, its JSON (schema "flowmrd.qa/1") and a
/// self-contained HTML page with one plot of the disagreeing events per population, and the
/// per-event disagreements as CSV. Formats are documented in docs/qa.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowmrd/gating/mask.hpp"
#include "flowmrd/gating/qa.hpp"
#include "flowmrd/pipeline/plot.hpp"

namespace flowmrd::pipeline {

/// Colour of events only the reference has (vermillion, colour-blind safe with the next one).
inline constexpr Rgb kReferenceOnlyColour{213, 94, 0};
/// Colour of events only the test has (blue).
inline constexpr Rgb kTestOnlyColour{0, 114, 178};

/// One side of the comparison.
struct QaSource {
  std::string path;
  std::string kind;    ///< "flowjo", "gatingml", "labels" or "flowmrd-result"
  std::string sample;  ///< FlowJo sample name (empty otherwise)
};

/// MRD of one population on both sides: events / denominator events * 100.
struct MrdComparison {
  std::size_t reference_denominator = 0;
  std::size_t test_denominator = 0;
  double reference_percent = 0.0;  ///< 0 when the denominator is empty
  double test_percent = 0.0;
  double difference = 0.0;         ///< test - reference, percentage points
  bool reference_positive = false; ///< reference_percent >= threshold
  bool test_positive = false;
  bool calls_agree = true;
};

/// MRD percentages and positive/negative calls (positive when MRD % >= `threshold_percent`).
[[nodiscard]] MrdComparison compare_mrd(std::size_t reference_events, std::size_t reference_denominator,
                                        std::size_t test_events, std::size_t test_denominator,
                                        double threshold_percent);

/// One compared population.
struct QaPopulation {
  std::string name;            ///< reference display name
  std::string reference_path;  ///< reference path ("/"-separated; equals name for labels)
  std::string test_name;       ///< test population (path when it has one)
  std::string match;           ///< rule that paired them: "map", "name", "path", "last component"
  gating::Agreement agreement;
  std::optional<MrdComparison> mrd;  ///< set for MRD populations
  std::string x_axis;                ///< plot / disagreement coordinates
  std::string y_axis;
  std::vector<std::uint8_t> plot_png;  ///< disagreement plot; empty when not rendered
};

/// The whole comparison.
struct QaReport {
  std::string software_version;
  std::string fcs_file;
  std::size_t events = 0;
  QaSource reference;
  QaSource test;
  double threshold_percent = 0.01;
  std::string denominator = "all events";  ///< name of the MRD denominator population
  std::vector<QaPopulation> populations;   ///< in reference order
  std::vector<std::string> unmatched_reference;
  std::vector<std::string> unmatched_test;
};

/// JSON text (schema "flowmrd.qa/1", two-space indent, keys in a fixed order, trailing newline).
/// Invalid UTF-8 in names is replaced by U+FFFD.
[[nodiscard]] std::string qa_json(const QaReport& report);

/// A self-contained HTML page: no scripts, no external URLs; plots embedded as data: URIs.
[[nodiscard]] std::string qa_html(const QaReport& report);

/// Text escaped for HTML element content and attribute values.
[[nodiscard]] std::string html_escape(std::string_view text);

/// What a disagreement plot shows.
struct DisagreementPlot {
  std::string title;
  Axis x;
  Axis y;
  const gating::Mask* background = nullptr;  ///< density of these events (nullptr: all)
  const gating::Mask* reference = nullptr;   ///< required
  const gating::Mask* test = nullptr;        ///< required
  std::optional<Shape> gate;                 ///< the reference gate, drawn when set
  std::string gate_label;
};

/// PNG of the background density (grey) with reference-only events in kReferenceOnlyColour and
/// test-only events in kTestOnlyColour on top. @throws std::invalid_argument as render_density_plot
[[nodiscard]] std::vector<std::uint8_t> render_disagreement_plot(std::span<const double> x,
                                                                 std::span<const double> y,
                                                                 const DisagreementPlot& plot);

/// The events of one population on which the two sides disagree.
struct DisagreementSet {
  std::string population;
  const gating::Mask* reference = nullptr;
  const gating::Mask* test = nullptr;
  std::string x_axis;
  std::string y_axis;
  std::span<const double> x;  ///< one value per event
  std::span<const double> y;
};

/// CSV with header `event,population,reference,test,x_axis,x,y_axis,y`: one row per event in
/// exactly one of the two masks (event 1-based), sets in order, events ascending; coordinates as
/// shortest round-trip text (NaN, Inf as R writes them). @throws std::invalid_argument on sizes
void write_disagreements_csv(std::ostream& out, const std::vector<DisagreementSet>& sets);

}  // namespace flowmrd::pipeline
