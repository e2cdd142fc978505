// SPDX-License-Identifier: Apache-2.0
#include "flowmrd/pipeline/mrd_statistics.hpp"

#include <algorithm>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace flowmrd::pipeline {

namespace {

void validate(const MrdOptions& o) {
  if (o.lod_events == 0) throw std::invalid_argument("MRD options: lod_events must be at least 1");
  if (o.lloq_events < o.lod_events) {
    throw std::invalid_argument("MRD options: lloq_events (" + std::to_string(o.lloq_events) +
                                ") must not be below lod_events (" + std::to_string(o.lod_events) + ")");
  }
  if (!(o.confidence > 0.0 && o.confidence < 1.0)) {
    throw std::invalid_argument("MRD options: confidence must be in (0, 1), got " + std::to_string(o.confidence));
  }
  if (o.decision_threshold_percent &&
      !(std::isfinite(*o.decision_threshold_percent) && *o.decision_threshold_percent > 0.0)) {
    throw std::invalid_argument("MRD options: decision_threshold_percent must be a positive number, got " +
                                std::to_string(*o.decision_threshold_percent));
  }
}

// LOD% > threshold%  <=>  N_LOD * 100 > threshold * D. Compared in this product form so that the
// boundary is exact for integer counts; the decimal threshold (0.01 is not a binary fraction)
// carries a relative rounding error of ~1e-16, so a relative margin of 1e-12 treats "equal up to
// that rounding" as equal, i.e. not above (DOMAIN.md: "above the threshold").
bool lod_above_threshold(std::uint64_t lod_events, std::uint64_t denominator, double threshold_percent) {
  const double lhs = static_cast<double>(lod_events) * 100.0;
  const double rhs = threshold_percent * static_cast<double>(denominator);
  return lhs > rhs * (1.0 + 1e-12);
}

std::string trim_zeros(std::string s) {
  if (s.find('.') == std::string::npos) return s;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// "95" for 0.95, "99.9" for 0.999: the confidence level as a percentage label.
std::string confidence_label(double confidence) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", confidence * 100.0);
  return trim_zeros(buf);
}

std::string ci_text(const MrdResult& r) {
  return confidence_label(r.options.confidence) + "% CI " + format_percent(r.ci_percent->low) + "-" +
         format_percent(r.ci_percent->high) + "%";
}

std::string counts_text(const MrdResult& r) {
  return format_count(r.blast_events) + " of " + format_count(r.denominator_events) + " events";
}

std::string sensitivity_text(const MrdResult& r) {
  return "sensitivity 1 in " + format_count(static_cast<std::uint64_t>(std::llround(*r.sensitivity_one_in)));
}

}  // namespace

std::string to_string(MrdStatus status) {
  switch (status) {
    case MrdStatus::positive: return "positive";
    case MrdStatus::positive_below_lloq: return "positive_below_lloq";
    case MrdStatus::negative: return "negative";
    case MrdStatus::insufficient_sensitivity: return "insufficient_sensitivity";
    case MrdStatus::not_evaluable: return "not_evaluable";
  }
  return "unknown";
}

ConfidenceInterval poisson_interval(std::uint64_t k, double confidence) {
  if (!(confidence > 0.0 && confidence < 1.0)) {
    throw std::invalid_argument("Poisson interval: confidence must be in (0, 1), got " + std::to_string(confidence));
  }
  const double alpha = 1.0 - confidence;
  const double kd = static_cast<double>(k);
  ConfidenceInterval ci;
  // P(X >= k | mu_low) = alpha/2 and P(X <= k | mu_high) = alpha/2, written through the regularised
  // lower incomplete gamma function: P(X >= k | mu) = P(k, mu), P(X <= k | mu) = Q(k + 1, mu).
  ci.low = k == 0 ? 0.0 : boost::math::gamma_p_inv(kd, alpha / 2.0);
  ci.high = boost::math::gamma_p_inv(kd + 1.0, 1.0 - alpha / 2.0);
  return ci;
}

MrdResult compute_mrd(std::uint64_t blast_events, std::uint64_t denominator_events, const MrdOptions& options) {
  validate(options);
  if (blast_events > denominator_events) {
    throw std::invalid_argument("MRD: blast events (" + std::to_string(blast_events) +
                                ") exceed denominator events (" + std::to_string(denominator_events) + ")");
  }
  MrdResult r;
  r.blast_events = blast_events;
  r.denominator_events = denominator_events;
  r.options = options;
  if (denominator_events == 0) {
    r.status = MrdStatus::not_evaluable;
    r.message = "no denominator events";
    return r;
  }
  const double d = static_cast<double>(denominator_events);
  r.percent = static_cast<double>(blast_events) / d * 100.0;
  r.lod_percent = static_cast<double>(options.lod_events) / d * 100.0;
  r.lloq_percent = static_cast<double>(options.lloq_events) / d * 100.0;
  r.sensitivity_one_in = d / static_cast<double>(options.lod_events);
  const ConfidenceInterval counts = poisson_interval(blast_events, options.confidence);
  // The Poisson model treats the denominator as fixed and blasts as rare; for large fractions
  // the upper bound can pass D, which is meaningless as a percentage, so it is capped at 100.
  r.ci_percent = ConfidenceInterval{counts.low / d * 100.0, std::min(counts.high / d * 100.0, 100.0)};

  if (blast_events >= options.lloq_events) {
    r.status = MrdStatus::positive;
  } else if (blast_events >= options.lod_events) {
    r.status = MrdStatus::positive_below_lloq;
  } else if (options.decision_threshold_percent &&
             lod_above_threshold(options.lod_events, denominator_events, *options.decision_threshold_percent)) {
    r.status = MrdStatus::insufficient_sensitivity;
  } else {
    r.status = MrdStatus::negative;
  }
  return r;
}

std::string format_percent(double percent, int significant) {
  if (!std::isfinite(percent)) return percent != percent ? "nan" : (percent > 0 ? "inf" : "-inf");
  if (percent == 0.0) return "0";
  significant = std::max(significant, 1);
  const int exponent = static_cast<int>(std::floor(std::log10(std::fabs(percent))));
  const int decimals = std::max(0, significant - 1 - exponent);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, percent);
  return trim_zeros(buf);
}

std::string format_count(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string describe(const MrdResult& r) {
  if (r.status == MrdStatus::not_evaluable) {
    return "MRD not evaluable: " + (r.message.empty() ? std::string("no denominator events") : r.message) + ".";
  }
  const std::string lod = format_percent(*r.lod_percent);
  const std::string lloq = format_percent(*r.lloq_percent);
  const std::string needed = "fewer than the " + format_count(r.options.lod_events) + " needed";
  switch (r.status) {
    case MrdStatus::positive:
      return "MRD positive: " + format_percent(*r.percent) + "% (" + ci_text(r) + "; " + counts_text(r) + "); LOD " +
             lod + "%, LLOQ " + lloq + "%; " + sensitivity_text(r) + ".";
    case MrdStatus::positive_below_lloq:
      return "MRD positive, not quantifiable: " + format_percent(*r.percent) + "% (" + ci_text(r) + "; " +
             counts_text(r) + "), below the LLOQ of " + lloq + "% (LOD " + lod + "%); " + sensitivity_text(r) + ".";
    case MrdStatus::negative:
      return "MRD negative (< LOD " + lod + "%): " + counts_text(r) + ", " + needed + " (" + ci_text(r) + "); " +
             sensitivity_text(r) + ".";
    case MrdStatus::insufficient_sensitivity:
      return "MRD not detected, insufficient sensitivity: the LOD of " + lod + "% is above the decision threshold of " +
             format_percent(*r.options.decision_threshold_percent, 6) + "% (" + counts_text(r) + ", " + needed + "; " +
             ci_text(r) + "); " + sensitivity_text(r) + ".";
    case MrdStatus::not_evaluable: break;
  }
  return "MRD not evaluable.";
}

}  // namespace flowmrd::pipeline
