// SPDX-License-Identifier: Apache-2.0
#include "flowmrd/gating/estimate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace flowmrd::gating {

namespace {

// R's default quantile (type 7): linear interpolation between order statistics.
double quantile_type7(std::vector<double>& sorted_values, double q) {
  const std::size_t n = sorted_values.size();
  const double h = (static_cast<double>(n) - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, n - 1);
  return sorted_values[lo] + (h - static_cast<double>(lo)) * (sorted_values[hi] - sorted_values[lo]);
}

struct ColumnFacts {
  std::vector<double> negatives;  // sorted ascending
  std::size_t finite = 0;
  double min = 0, max = 0;
};

ColumnFacts scan(std::span<const float> values) {
  ColumnFacts f;
  bool first = true;
  for (float v : values) {
    if (!std::isfinite(v)) continue;
    ++f.finite;
    const double d = v;
    if (first) {
      f.min = f.max = d;
      first = false;
    } else {
      f.min = std::min(f.min, d);
      f.max = std::max(f.max, d);
    }
    if (d < 0) f.negatives.push_back(d);
  }
  std::sort(f.negatives.begin(), f.negatives.end());
  return f;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

Estimate estimate_logicle(std::span<const float> values, double top, double decades, double quantile) {
  Estimate e;
  const ColumnFacts f = scan(values);
  double t = top;
  if (!(std::isfinite(t) && t > 0)) {
    t = f.finite > 0 && f.max > 0 ? f.max : 262144.0;
    e.notes.push_back({"logicle_top_from_data", "no usable channel range; T = " + num(t) + " taken from the data"});
  }
  double m = decades;
  if (!(std::isfinite(m) && m > 0)) {
    m = 4.5;
    e.notes.push_back({"logicle_default_decades", "decades must be positive; M = 4.5 used"});
  }
  double w = 0;
  if (f.finite == 0) {
    e.notes.push_back({"empty_column", "no finite values; W = 0"});
  } else if (f.min == f.max) {
    e.notes.push_back({"constant_column", "all values equal " + num(f.min) + "; W = 0"});
  } else if (f.negatives.empty()) {
    e.notes.push_back({"logicle_no_negatives", "no negative values to estimate the linear region from; W = 0"});
  } else {
    std::vector<double> neg = f.negatives;
    const double q = std::clamp(quantile, 0.0, 1.0);
    // The q-quantile of the negative values measures how far below zero the data spread; the
    // linear region must hold it: W = (M - log10(T / |r|)) / 2 (Parks et al. 2006, eq. 12).
    const double r = quantile_type7(neg, q);
    const double abs_r = std::max(std::abs(r), 1e-300);
    w = (m - std::log10(t / abs_r)) / 2;
    if (w < 0) {
      e.notes.push_back({"logicle_w_clamped",
                         "negative tail (" + num(r) + ") is narrower than the scale resolves; W = 0 (flowCore "
                         "estimateLogicle stops with \"w is negative\" here)"});
      w = 0;
    } else if (w > m / 2) {
      e.notes.push_back({"logicle_w_clamped", "negative tail (" + num(r) + ") needs W > M/2; W = M/2"});
      w = m / 2;
    }
  }
  e.spec.kind = TransformKind::logicle;
  e.spec.params = {{"T", t}, {"W", w}, {"M", m}, {"A", 0.0}};
  return e;
}

Estimate estimate_arcsinh(std::span<const float> values) {
  Estimate e;
  const ColumnFacts f = scan(values);
  double cofactor = 150;
  if (f.finite == 0 || f.min == f.max) {
    e.notes.push_back({f.finite == 0 ? "empty_column" : "constant_column",
                       "no spread to estimate a cofactor from; cofactor 150"});
  } else if (f.negatives.size() < 20) {
    // Mass cytometry counts have no negatives and small values; fluorescence is in the 10^2-10^5 range.
    cofactor = f.max < 1000 ? 5 : 150;
    e.notes.push_back({"arcsinh_default_cofactor", "too few negative values to estimate the noise; cofactor " +
                                                       num(cofactor) + " (" + (cofactor == 5 ? "count-like data" : "fluorescence") + ")"});
  } else {
    // Negative values are noise around zero: their median magnitude / 0.6745 estimates the noise
    // SD (half-normal). asinh(x / c) is linear within about +-c, so c = that SD keeps the noise
    // linear and compresses what is above it.
    std::vector<double> mags;
    mags.reserve(f.negatives.size());
    for (double v : f.negatives) mags.push_back(-v);
    std::sort(mags.begin(), mags.end());
    const double median = quantile_type7(mags, 0.5);
    cofactor = std::max(1.0, median / 0.6745);
  }
  e.spec.kind = TransformKind::arcsinh;
  e.spec.params = {{"a", 0.0}, {"b", 1.0 / cofactor}, {"c", 0.0}};
  return e;
}

}  // namespace flowmrd::gating
