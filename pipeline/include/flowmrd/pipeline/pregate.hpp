// SPDX-License-Identifier: Apache-2.0
/// @file pregate.hpp
/// Automated pre-gating of one tube, without fixed coordinates: acquisition QC over time
/// (flow-rate and signal stability), margin (saturated) events, debris, doublets (FSC-A vs FSC-H),
/// dead cells and, when the tube has one, the nucleic-acid dye. What remains are the nucleated,
/// viable single cells: the MRD denominator. Every gate is found from this sample's densities
/// (1D valleys, 2D density contours) and recorded with its placement so it can be drawn and
/// audited (docs/mrd-method.md, "Pre-gating").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "flowmrd/gating/frame.hpp"
#include "flowmrd/gating/gate.hpp"
#include "flowmrd/gating/mask.hpp"

namespace flowmrd::pipeline {

/// One axis of a placed gate: a Frame column and the scale the gate's coordinates are in.
struct GateAxis {
  int column = -1;          ///< column index in the tube's linear (compensated) Frame
  std::string label;        ///< axis label for plots, e.g. "FSC-A", "CD19 (PE-Cy7-A)"
  /// Scale of the coordinates: "linear" (the Frame's values) or "model" (flowmrd's analysis scale
  /// for fluorescence, model_scale() in model_scale.hpp: asinh(x / 150) / ln 10).
  std::string scale = "linear";
};

/// A gate as placed on one sample: where it is, how it was found and what it selects.
struct PlacedGate {
  std::string population;   ///< id of the population it defines, e.g. "singlets"
  std::string parent;       ///< id of the parent population
  GateAxis x;
  std::optional<GateAxis> y;  ///< absent for a 1D gate
  /// The geometry in the axes' scale. Its Dimensions name the axis labels (Dimension::channel =
  /// GateAxis::label) so pipeline::gate_shape() can draw it on a plot with those axes.
  gating::Gate gate;
  std::string method;       ///< e.g. "1D valley", "2D density contour at 5% of peak", "ratio tail cut"
  std::string note;         ///< diagnostics in words ("valley depth 0.93 between peaks at ...")
  bool inverted = false;    ///< the population is the events OUTSIDE `gate` (e.g. "not debris")
};

/// One flow-rate or signal anomaly found over time.
struct TimeAnomaly {
  double start = 0.0;        ///< start, in Time channel units
  double end = 0.0;          ///< end, in Time channel units
  std::size_t events = 0;    ///< events acquired in the interval
  double rate_factor = 1.0;  ///< event rate in the interval / the run's median rate
  std::string kind;          ///< "flow_rate" or "signal_shift"
  bool excluded = false;     ///< events of the interval were removed (signal shifts only)
  std::string message;       ///< one line for people
};

/// Which Frame columns pre-gating uses (-1 = absent).
struct PregateChannels {
  int fsc_a = -1;                 ///< required
  int fsc_h = -1;                 ///< for doublets; without it doublets are not excluded (a note says so)
  int ssc_a = -1;                 ///< required
  int time = -1;                  ///< for acquisition QC; without it QC is skipped (a note says so)
  int dna = -1;                   ///< nucleic-acid dye (SYTO 41, DAPI, ...): nucleated = dye positive
  std::vector<int> fluorescence;  ///< stained fluorescence channels (signal stability, dead cells)
  double time_step = 0.0;         ///< $TIMESTEP (seconds per Time unit), 0 when unknown
  std::vector<double> ranges;     ///< $PnR per Frame column (margin events), empty = no margin check
};

/// Options of pregate().
struct PregateOptions {
  unsigned threads = 0;  ///< 0 = all cores; results identical for any value
};

/// The outcome of pre-gating: nested masks over all events of the tube (each a subset of the one
/// before), the placed gates, QC findings and notes.
struct PregateResult {
  gating::Mask qc_pass;     ///< events kept by acquisition QC (all events when no signal shift)
  gating::Mask non_margin;  ///< qc_pass minus saturated (margin) scatter events
  gating::Mask cells;       ///< non_margin minus debris
  gating::Mask singlets;    ///< cells minus doublets
  gating::Mask viable;      ///< singlets minus dead cells
  gating::Mask nucleated;   ///< viable and nucleic-acid dye positive (= viable without a dye): the denominator
  std::vector<PlacedGate> gates;        ///< in gating order
  std::vector<TimeAnomaly> anomalies;   ///< flow-rate and signal anomalies (flag qc_anomaly)
  std::vector<std::string> notes;       ///< e.g. "no FSC-H channel: doublets not excluded"
};

/// Pre-gate one tube. `frame` is the compensated, untransformed (linear) Frame.
/// @throws std::invalid_argument when FSC-A or SSC-A is missing or a column index is out of range.
/// Degenerate data (no events, a constant channel, no valley) never throw: the gate falls back to
/// a documented rule and a note says so.
[[nodiscard]] PregateResult pregate(const gating::Frame& frame, const PregateChannels& channels,
                                    const PregateOptions& options = {});

}  // namespace flowmrd::pipeline
