// SPDX-License-Identifier: Apache-2.0
/// @file biexponential.hpp
/// Private: the biexponential curve shared by logicle, hyperlog and FlowJo's biex, and its
/// robust inverse. Implemented in logicle.cpp.
///
/// All three scales are "data value x as a function of display position y":
///
///     B(y) = a e^(b y) - c e^(-d y) + g y + f      for y >= x1, with B(x1) = 0,
///     B(y) = -B(2 x1 - y)                          for y <  x1 (odd symmetry about (x1, 0)),
///
/// with a, b > 0 and c, d, g >= 0, so B is strictly increasing. Logicle has g = 0 (Moore & Parks,
/// Cytometry A 2006 and 2012), hyperlog has c = 0 (Bagwell, Cytometry A 2005; Gating-ML 2.0 hyperlog),
/// FlowJo's biex is a logicle-like curve with its own zero point. The transform is the root y of
/// B(y) = x; the inverse transform is B itself.
#pragma once

#include <array>

namespace flowmrd::gating::detail {

/// Coefficients of B (see the file comment), times `scale`: B(y) = scale (a e^(b y) - ...).
/// The caller guarantees B(x1) = 0 up to rounding. All three scales are proportional to their top
/// of scale (T, or biex's max), so a, c, f, g are given for T = 1 and scale = T: the solver then
/// works on O(1) numbers for every T a double can hold.
struct BiexponentialCoefficients {
  double scale = 1;  ///< > 0, data units per unit of the normalised curve
  double a = 0;   ///< > 0
  double b = 0;   ///< > 0, the positive decades times ln 10 (in units of y)
  double c = 0;   ///< >= 0
  double d = 0;   ///< >= 0
  double f = 0;
  double g = 0;   ///< >= 0, the linear term (hyperlog)
  double x1 = 0;  ///< the display position of data zero
};

/// B(y) and its root, to full double precision.
class Biexponential {
 public:
  /// @param coefficients  see BiexponentialCoefficients
  /// @param inflection_at_x1  B''(x1) = 0 by construction (logicle): the quadratic Taylor
  ///        coefficient is then set to exactly zero instead of a difference of rounded terms.
  Biexponential(const BiexponentialCoefficients& coefficients, bool inflection_at_x1);

  /// B(y): the data value at display position y (the inverse transform). NaN stays NaN.
  [[nodiscard]] double value(double y) const noexcept;
  /// dB/dy at y (> 0 everywhere).
  [[nodiscard]] double slope(double y) const noexcept;
  /// The root y of B(y) = x (the transform), from an analytic starting value.
  [[nodiscard]] double solve(double x) const noexcept;
  /// The root y of B(y) = x starting from `guess` (e.g. the fast-path table value). The result
  /// does not depend on the guess beyond rounding; a good guess only saves iterations.
  [[nodiscard]] double solve(double x, double guess) const noexcept;

  [[nodiscard]] const BiexponentialCoefficients& coefficients() const noexcept { return k_; }
  /// dB/dy at x1: data units per display unit around zero.
  [[nodiscard]] double slope_at_zero() const noexcept { return k_.scale * taylor_[0]; }
  /// True when every derived constant is finite (parameters too extreme for double otherwise).
  [[nodiscard]] bool finite() const noexcept;

 private:
  static constexpr int taylor_terms = 16;

  [[nodiscard]] double positive_value(double y) const noexcept;
  [[nodiscard]] double series(double dy) const noexcept;
  [[nodiscard]] double upper_bound(double v) const noexcept;
  [[nodiscard]] double solve_positive(double v, double y) const noexcept;
  [[nodiscard]] double solve_signed(double x, double guess, bool have_guess) const noexcept;

  BiexponentialCoefficients k_;
  std::array<double, taylor_terms> taylor_{};  ///< B(x1 + h) = sum taylor_[i] h^(i+1)
  std::array<double, taylor_terms> slope_taylor_{};      ///< B'(x1 + h) = sum slope_taylor_[i] h^i
  std::array<double, taylor_terms> curvature_taylor_{};  ///< B''(x1 + h) = sum curvature_taylor_[i] h^i
  double taylor_limit_ = 0;  ///< use the series for 0 <= y - x1 < taylor_limit_
  double a_e_bx1_ = 0;       ///< a e^(b x1)
  double log_a_ = 0;         ///< ln a
  double log_scale_ = 0;     ///< ln scale
  double log_region_ = 0;    ///< for x / scale >= this, y = (ln(x / scale) - ln a) / b to full precision
  double accept_step_ = 0;   ///< a Halley step this small leaves an error below rounding
};

/// The logicle constant d: the root of 2 (ln d - ln b) + w (b + d) = 0 in (0, b] (Moore & Parks
/// 2012, the logicle condition B''(x1) = 0; d = b when w = 0). Also FlowJo's "negative range" of its
/// biex table.
[[nodiscard]] double solve_logicle_d(double b, double w) noexcept;

}  // namespace flowmrd::gating::detail
