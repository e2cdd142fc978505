// SPDX-License-Identifier: Apache-2.0
// Per-event membership tests of the geometric gates over one chunk of coordinates, written as
// simple loops over events (edge or dimension outermost) so the compiler vectorises them. Each
// writes 0/1 per event into `in`; pack() turns those into mask words.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "flowmrd/gating/gate.hpp"

namespace flowmrd::gating::kernels {

/// in[i] = every dimension's value lies in its interval (min <= x < max; absent sides open).
inline void in_box(const std::vector<const double*>& cols, const std::vector<Interval>& iv, std::size_t n,
                   std::uint8_t* in) {
  for (std::size_t i = 0; i < n; ++i) in[i] = 1;
  for (std::size_t d = 0; d < cols.size(); ++d) {
    const double* x = cols[d];
    // NaN fails every comparison, so an undefined coordinate is outside any side that is set.
    if (iv[d].min && iv[d].max) {
      const double lo = *iv[d].min, hi = *iv[d].max;
      for (std::size_t i = 0; i < n; ++i) in[i] &= static_cast<std::uint8_t>((x[i] >= lo) & (x[i] < hi));
    } else if (iv[d].min) {
      const double lo = *iv[d].min;
      for (std::size_t i = 0; i < n; ++i) in[i] &= static_cast<std::uint8_t>(x[i] >= lo);
    } else if (iv[d].max) {
      const double hi = *iv[d].max;
      for (std::size_t i = 0; i < n; ++i) in[i] &= static_cast<std::uint8_t>(x[i] < hi);
    }
  }
}

/// Inside or on the boundary. Inside by the even-odd rule: a horizontal ray from the event towards
/// +x crosses the polygon's edges an odd number of times (an edge counts when one end is at or
/// below the event's y and the other above it, so a ray through a vertex is counted once, and the
/// crossing lies strictly right of the event). On the boundary: on any edge segment (Gating-ML
/// 2.0 polygons include their boundary). Writes ceil(n / 64) mask words directly (gate_kernels.cpp; AVX2 when the
/// CPU has it, with the same IEEE operations in the same order as the portable loop).
void in_polygon(const double* x, const double* y, const std::vector<Point>& v, std::size_t n, std::uint64_t* words);

/// (x - mean)' inverse (x - mean) <= distance_square.
inline void in_ellipsoid(const std::vector<const double*>& cols, const std::vector<double>& mean,
                         const std::vector<double>& inv, double d2, std::size_t n, std::uint8_t* in) {
  const std::size_t k = cols.size();
  if (k == 2) {
    const double a = inv[0], b = inv[1] + inv[2], c = inv[3];
    const double* x = cols[0];
    const double* y = cols[1];
    for (std::size_t i = 0; i < n; ++i) {
      const double u = x[i] - mean[0], w = y[i] - mean[1];
      in[i] = static_cast<std::uint8_t>(a * u * u + b * u * w + c * w * w <= d2);
    }
    return;
  }
  std::vector<double> diff(k);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t d = 0; d < k; ++d) diff[d] = cols[d][i] - mean[d];
    double q = 0;
    for (std::size_t r = 0; r < k; ++r) {
      double row = 0;
      for (std::size_t c = 0; c < k; ++c) row += inv[r * k + c] * diff[c];
      q += diff[r] * row;
    }
    in[i] = static_cast<std::uint8_t>(q <= d2);
  }
}

/// Pack n 0/1 bytes into ceil(n / 64) words, event i in bit i % 64.
void pack(const std::uint8_t* in, std::size_t n, std::uint64_t* words);

}  // namespace flowmrd::gating::kernels
