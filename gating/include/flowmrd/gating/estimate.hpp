// SPDX-License-Identifier: Apache-2.0
/// @file estimate.hpp
/// Transform parameters estimated from data. These never throw: degenerate columns (empty, all
/// zero, constant, no negative values) give sane defaults and a note saying so.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "flowmrd/gating/transform.hpp"

namespace flowmrd::gating {

/// A recoverable finding of an estimator (code + message), like fcs::Issue without a location.
struct EstimateNote {
  std::string code;     ///< e.g. "logicle_no_negatives", "constant_column".
  std::string message;
};

/// An estimated transform with the notes that explain any default taken.
struct Estimate {
  TransformSpec spec;
  std::vector<EstimateNote> notes;
};

/// Gating-ML logicle parameters for a column: T = `top` (the channel's range), M = `decades`,
/// A = 0, and W from the negative tail as Parks et al. (Cytometry A 2006) and flowCore's
/// estimateLogicle intend: r = the 5th percentile of the negative values (or `quantile`),
/// W = (M - log10(T / |r|)) / 2, clamped to [0, M/2] (flowCore fails with "w is negative" where
/// this clamps). No negative values: W = 0 and a note.
[[nodiscard]] Estimate estimate_logicle(std::span<const float> values, double top, double decades = 4.5,
                                        double quantile = 0.05);

/// flowCore-style arcsinh cofactor: b = 1 / cofactor with the cofactor from the spread of the
/// values around zero (robust scale of the negative tail), defaulting to 150 for fluorescence
/// (5 for mass cytometry-like data) with a note when the column gives no information.
[[nodiscard]] Estimate estimate_arcsinh(std::span<const float> values);

}  // namespace flowmrd::gating
