// SPDX-License-Identifier: Apache-2.0
/// @file transform_table.hpp
/// Private: the bulk fast path of the biexponential scales (logicle, hyperlog, biex). See
/// transform_table.cpp for the design and docs/transforms.md for the error bound.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "biexponential.hpp"

namespace flowmrd::gating::detail {

/// How the table's display position y becomes the output value: `scale * y`, optionally clamped
/// to [lo, hi] (FlowJo's biex channels). x_lo and x_hi are the inputs where the curve reaches the
/// bounds: the table need not be accurate beyond them, and the exact path need not solve there.
struct OutputMap {
  double scale = 1;
  bool clip = false;
  double lo = 0;
  double hi = 0;
  double x_lo = 0;
  double x_hi = 0;
};

/// IEEE 754 layout of the input types.
template <typename F>
struct FloatBits;

template <>
struct FloatBits<float> {
  using Unsigned = std::uint32_t;
  static constexpr int mantissa_bits = 23;
  static constexpr int bias = 127;
  static constexpr Unsigned magnitude_mask = 0x7fffffffu;
  static constexpr Unsigned infinity_bits = 0x7f800000u;
};

template <>
struct FloatBits<double> {
  using Unsigned = std::uint64_t;
  static constexpr int mantissa_bits = 52;
  static constexpr int bias = 1023;
  static constexpr Unsigned magnitude_mask = 0x7fffffffffffffffull;
  static constexpr Unsigned infinity_bits = 0x7ff0000000000000ull;
};

/// The lookup itself: everything it needs by value, so a loop keeps it in registers. Coefficients
/// hold y - x1 (the deviation from data zero's position), which the odd symmetry reflects.
struct TableKernel {
  const double* coefficients = nullptr;  ///< 4 per segment
  int k = 0;                             ///< 2^k segments per octave
  std::int64_t first_key_float = 0;      ///< (bias + e_min) << k for float32 bits
  std::int64_t first_key_double = 0;     ///< the same for float64 bits
  std::int64_t last_start = 0;           ///< index of the last octave's first segment
  double fraction_scale_float = 0;       ///< 2^(k - 23): remaining mantissa bits -> t in [0, 1)
  double fraction_scale_double = 0;      ///< 2^(k - 52)
  double x1 = 0;                         ///< y at x = 0
  double slope0 = 0;                     ///< dy/dx at x = 0
  double linear_limit = 0;               ///< 2^e_min: the end of the linear region
  double octave_step = 0;                ///< ln 2 / b: y per octave beyond the table

  /// y(x) for any x: finite values from the table, +-inf to +-inf, NaN to NaN.
  template <typename F>
  [[nodiscard]] double operator()(F x) const noexcept {
    // Mixed data has unpredictable signs and zeros, so the choices below are arithmetic (0/1
    // factors, copysign, max) rather than branches; only NaN and infinities, which are rare, branch.
    using B = FloatBits<F>;
    using U = typename B::Unsigned;
    constexpr bool is_float = sizeof(F) == sizeof(float);
    const int shift = B::mantissa_bits - k;
    const U magnitude = std::bit_cast<U>(x) & B::magnitude_mask;
    // Segment: exponent and top k mantissa bits, counted from the first table octave.
    std::int64_t index =
        static_cast<std::int64_t>(magnitude >> shift) - (is_float ? first_key_float : first_key_double);
    // Above the table, fold whole octaves back into the last one; each adds ln2 / b.
    const std::int64_t octaves_above = std::max<std::int64_t>(index - last_start, 0) >> k;
    index -= octaves_above << k;
    // Below the table (zero, subnormals, tiny values) y is linear in x.
    const std::int64_t below_mask = index >> 63;  // all ones when index < 0
    const auto below = static_cast<double>(below_mask & 1);
    index &= ~below_mask;
    const U fraction_mask = (U{1} << shift) - 1;
    const double t =
        static_cast<double>(magnitude & fraction_mask) * (is_float ? fraction_scale_float : fraction_scale_double);
    const double* c = coefficients + 4 * index;
    const double table =
        c[0] + t * (c[1] + t * (c[2] + t * c[3])) + static_cast<double>(octaves_above) * octave_step;
    const double v = static_cast<double>(std::bit_cast<F>(magnitude));
    const double linear = std::min(v, linear_limit) * slope0;
    const double deviation = table + below * (linear - table);
    // Odd symmetry of B about (x1, 0): y(-x) = 2 x1 - y(x).
    const double y = x1 + std::copysign(deviation, static_cast<double>(x));
    if (magnitude >= B::infinity_bits) [[unlikely]] return static_cast<double>(x);
    return y;
  }
};

/// Piecewise-cubic table of y(x), the root of B(y) = x, indexed by the bits of |x|.
///
/// Thread-safe after construction (read-only). Not copyable: the kernel points into the table.
class TransformTable {
 public:
  /// Build a table whose interpolation error, in units of y, stays below `tolerance` for every
  /// input with |x| <= `x_limit` (infinity: every finite input; beyond a finite limit the output
  /// is expected to be clipped, and the table is only approximately right there).
  TransformTable(const Biexponential& curve, double tolerance, double x_limit);
  TransformTable(const TransformTable&) = delete;
  TransformTable& operator=(const TransformTable&) = delete;
  TransformTable(TransformTable&&) = delete;
  TransformTable& operator=(TransformTable&&) = delete;
  ~TransformTable() = default;

  /// False when no table within the limits below meets the tolerance (extreme parameters);
  /// callers then use the exact path.
  [[nodiscard]] bool valid() const noexcept { return valid_; }

  /// Table value of y(x) (a starting value for the exact solver). Only when valid().
  [[nodiscard]] double lookup(double x) const noexcept { return kernel_(x); }

  /// out[i] = map(y(in[i])) as float. `in` and `out` may be the same array. Only when valid().
  void apply(std::span<const float> in, std::span<float> out, const OutputMap& map) const noexcept;
  void apply(std::span<const double> in, std::span<float> out, const OutputMap& map) const noexcept;

  /// log2 of the segments per octave, octaves covered, the largest interpolation error measured
  /// at segment midpoints during construction (units of y). For diagnostics and documentation.
  [[nodiscard]] int resolution_bits() const noexcept { return kernel_.k; }
  [[nodiscard]] int octaves() const noexcept { return e_max_ - e_min_ + 1; }
  [[nodiscard]] double measured_error() const noexcept { return measured_error_; }

 private:
  [[nodiscard]] bool build(const Biexponential& curve, int k, double tolerance);

  bool valid_ = false;
  int e_min_ = 0;  ///< first octave [2^e_min, 2^(e_min+1)); below it y is linear in x
  int e_max_ = 0;  ///< last octave; above it y grows by ln2 / b per octave
  double measured_error_ = 0;
  std::vector<double> coefficients_;
  TableKernel kernel_;
};

}  // namespace flowmrd::gating::detail
