// SPDX-License-Identifier: Apache-2.0
/// @file mrd_statistics.hpp
/// MRD quantification from event counts: MRD %, limit of detection (LOD) and lower limit of
/// quantification (LLOQ) from configurable event counts, an exact (Garwood) Poisson confidence
/// interval, the result category, and the sentence a report prints. docs/mrd-statistics.md gives
/// the formulas and the reasoning behind every rule.
///
/// Categories (N_LOD, N_LLOQ from MrdOptions; k = blast events, D = denominator events):
///  - D == 0                    -> not_evaluable (no percentages at all, never NaN);
///  - k >= N_LLOQ               -> positive (quantified);
///  - N_LOD <= k < N_LLOQ       -> positive_below_lloq (positive, not quantifiable);
///  - k < N_LOD                 -> negative, unless a decision threshold is set and the LOD
///                                 (N_LOD / D x 100) is above it: then insufficient_sensitivity
///                                 ("A negative result whose LOD is above the protocol's decision
///                                 threshold is 'insufficient sensitivity', never a plain negative").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace flowmrd::pipeline {

/// How MRD counts are turned into a result.
struct MrdOptions {
  /// Clustered events needed to call MRD detected (LOD = lod_events / denominator). Default 20,
  /// the EuroFlow convention (unverified for ALL; some labs use 10). Must be >= 1.
  std::uint64_t lod_events = 20;
  /// Events needed to quantify (LLOQ = lloq_events / denominator). Default 50. Must be >= lod_events.
  std::uint64_t lloq_events = 50;
  /// Two-sided confidence level of the Poisson interval, in (0, 1). Default 0.95.
  double confidence = 0.95;
  /// The protocol's clinical decision threshold in percent (0.01 means 10^-4), when the timepoint
  /// has one. A negative result whose LOD % is strictly above it is insufficient_sensitivity.
  /// Equality (within floating-point rounding of the decimal threshold) is sufficient sensitivity.
  std::optional<double> decision_threshold_percent;
};

/// Result category of one MRD measurement.
enum class MrdStatus {
  positive,                  ///< k >= N_LLOQ: quantified.
  positive_below_lloq,       ///< N_LOD <= k < N_LLOQ: detected, not quantifiable (PNQ).
  negative,                  ///< k < N_LOD with adequate (or unjudged) sensitivity.
  insufficient_sensitivity,  ///< k < N_LOD and the LOD is above the decision threshold.
  not_evaluable,             ///< No denominator events: nothing can be said.
};

/// "positive", "positive_below_lloq", "negative", "insufficient_sensitivity", "not_evaluable"
/// (stable identifiers for JSON and CSV).
[[nodiscard]] std::string to_string(MrdStatus status);

/// A two-sided interval [low, high].
struct ConfidenceInterval {
  double low = 0.0;
  double high = 0.0;
};

/// Exact (Garwood 1936) two-sided Poisson confidence interval for the mean of a Poisson count
/// `k`: low = gamma_p_inv(k, a/2) (0 when k == 0), high = gamma_p_inv(k + 1, 1 - a/2) with
/// a = 1 - confidence; equivalently chi2 quantiles chi2(a/2; 2k)/2 and chi2(1 - a/2; 2k + 2)/2.
/// Throws std::invalid_argument when confidence is not in (0, 1).
[[nodiscard]] ConfidenceInterval poisson_interval(std::uint64_t k, double confidence = 0.95);

/// One MRD measurement with everything a report needs.
struct MrdResult {
  std::uint64_t blast_events = 0;        ///< k: leukemic (MRD) events.
  std::uint64_t denominator_events = 0;  ///< D: e.g. nucleated viable single cells.
  MrdStatus status = MrdStatus::not_evaluable;
  /// The rest is absent exactly when status == not_evaluable.
  std::optional<double> percent;          ///< k / D x 100 (reported for every category).
  std::optional<double> lod_percent;      ///< N_LOD / D x 100.
  std::optional<double> lloq_percent;     ///< N_LLOQ / D x 100.
  std::optional<ConfidenceInterval> ci_percent;  ///< Poisson interval of k, / D x 100, upper capped at 100.
  /// Achieved sensitivity as "1 in N": N = D / N_LOD (one leukemic cell in N detectable).
  std::optional<double> sensitivity_one_in;
  MrdOptions options;   ///< The options used (event rules, confidence, threshold).
  std::string message;  ///< Why not evaluable (empty otherwise).
};

/// Compute MRD % , LOD, LLOQ, the confidence interval and the category. Pure and thread-safe.
/// Throws std::invalid_argument when blast_events > denominator_events or the options are
/// invalid (lod_events == 0, lloq_events < lod_events, confidence outside (0, 1), a threshold that
/// is not a positive finite number). A zero denominator is not an error: status not_evaluable.
[[nodiscard]] MrdResult compute_mrd(std::uint64_t blast_events, std::uint64_t denominator_events,
                                    const MrdOptions& options = {});

/// The human sentence for a result, e.g.
/// "MRD positive, not quantifiable: 0.012% (95% CI 0.0074-0.019%; 24 of 200,000 events), below the
///  LLOQ of 0.025% (LOD 0.01%); sensitivity 1 in 10,000."
/// Percentages carry two significant digits (trailing zeros dropped); counts have thousands
/// separators. Deterministic (no locale).
[[nodiscard]] std::string describe(const MrdResult& result);

/// A percentage with `significant` significant digits in fixed notation, trailing zeros dropped,
/// without the % sign: 0.01234 -> "0.012", 12.34 -> "12", 0 -> "0". Used by describe().
[[nodiscard]] std::string format_percent(double percent, int significant = 2);

/// A count with thousands separators: 1234567 -> "1,234,567".
[[nodiscard]] std::string format_count(std::uint64_t n);

}  // namespace flowmrd::pipeline
