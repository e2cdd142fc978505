// SPDX-License-Identifier: Apache-2.0
// Logicle (Gating-ML 2.0 `logicle`, flowCore `logicleTransform`) and the biexponential machinery
// it shares with hyperlog and FlowJo's biex.
//
// References: Parks, Roederer & Moore, "A new Logicle display method avoids deceptive effects of
// logarithmic scaling for low signals and compensated data", Cytometry A 69 (2006); Moore & Parks,
// "Update for the logicle data scale including operational code implementations", Cytometry A 81
// (2012); the Gating-ML 2.0 definition of `logicle` (the same constants, output 0..1 at T).
#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <limits>
#include <numbers>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

#include "biexponential.hpp"
#include "curve_transform.hpp"
#include "transform_impl.hpp"
#include "transform_table.hpp"

namespace flowmrd::gating::detail {

namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();

}  // namespace

double solve_logicle_d(double b, double w) noexcept {
  // w = 0 makes the logicle condition d = b: the scale is a pure inverse hyperbolic sine.
  if (w == 0) return b;
  // Solve in u = ln d: h(u) = 2 (u - ln b) + w (b + e^u) is increasing and convex, and
  // h(ln b) = 2 w b > 0, so Newton's method started at u = ln b approaches the root from the right
  // monotonically and cannot overshoot. That replaces the bracketing safeguards of the published
  // rtsafe-based solver with a proof.
  const double log_b = std::log(b);
  double u = log_b;
  for (int i = 0; i < 200; ++i) {
    const double e = std::exp(u);
    const double h = 2 * (u - log_b) + w * (b + e);
    const double step = h / (2 + w * e);
    u -= step;
    if (!(std::abs(step) > 2 * DBL_EPSILON * std::max(1.0, std::abs(u)))) break;
  }
  return std::exp(u);
}

Biexponential::Biexponential(const BiexponentialCoefficients& coefficients, bool inflection_at_x1)
    : k_(coefficients) {
  a_e_bx1_ = k_.a * std::exp(k_.b * k_.x1);
  const double c_e_dx1 = k_.c * std::exp(-k_.d * k_.x1);
  // Taylor coefficients of B around x1 (Moore & Parks 2012, "Taylor series"): the n-th derivative
  // of a e^(b y) is a b^n e^(b y), that of -c e^(-d y) is -c (-d)^n e^(-d y). B(x1) = 0, so the
  // series has no constant term; the linear term g y only adds to the first coefficient.
  double positive = a_e_bx1_;
  double negative = -c_e_dx1;
  for (int i = 0; i < taylor_terms; ++i) {
    positive *= k_.b / (i + 1);
    negative *= -k_.d / (i + 1);
    taylor_[static_cast<std::size_t>(i)] = positive + negative;
  }
  taylor_[0] += k_.g;
  // Logicle chooses d so that B''(x1) = 0; the computed difference is rounding noise.
  if (inflection_at_x1) taylor_[1] = 0;
  // The series of B' and B'', so the solver needs no exponential near data zero.
  for (std::size_t i = 0; i < taylor_terms; ++i) {
    slope_taylor_[i] = static_cast<double>(i + 1) * taylor_[i];
    curvature_taylor_[i] = i + 1 < taylor_terms ? static_cast<double>((i + 2) * (i + 1)) * taylor_[i + 1] : 0.0;
  }

  // Near x1 the terms of B cancel (B(x1) = 0): the closed form loses relative precision, the series
  // does not. Moore & Parks switch at x1 + w/4; any point where the series has converged works.
  // With h = y - x1 and rate * h <= 1/2, the first omitted term is below (1/2)^16 / 17! ~ 4e-20 of
  // the leading one; beyond it the closed form's relative rounding error, about
  // DBL_EPSILON / (rate * h), is at most 2 DBL_EPSILON. A limit in units of the exponential rate
  // also gives W = 0 a series region (the published x1 + w/4 is empty there) and keeps the
  // 16-term series exact for very wide W (where x1 + w/4 lies beyond its convergence).
  const double rate = std::max(k_.b, k_.d);
  taylor_limit_ = 0.5 / rate;

  log_a_ = std::log(k_.a);
  log_scale_ = std::log(k_.scale);
  // Above this, c e^(-d y), |f| and g y are below 1e-17 of a e^(b y) (y stays below 710 / b + 1
  // for any double), so y = (ln x - ln a) / b to double precision. As a e^(b x1) <=
  // c e^(-d x1) + |f| + g |x1| (B(x1) = 0), this is also far above data zero.
  log_region_ = 1e17 * (std::abs(k_.f) + c_e_dx1 + k_.g * (std::abs(k_.x1) + 710.0 / k_.b + 1.0));

  // Halley's error after a step is C e^3 with |C| <= |B''/2B'|^2 + |B'''/6B'| <= rate^2 / 2 (every
  // derivative of the exponentials is bounded by rate times the previous one). A step below this
  // size therefore leaves an error below DBL_EPSILON / 16 and needs no confirming iteration,
  // which halves the cost of the exact path when it starts from the fast-path table.
  accept_step_ = 0.5 * std::cbrt(DBL_EPSILON / (rate * rate));
}

bool Biexponential::finite() const noexcept {
  const auto ok = [](double v) { return std::isfinite(v); };
  if (!(k_.scale > 0) || !(k_.a > 0) || !(k_.b > 0) || !(k_.c >= 0) || !(k_.d >= 0) || !(k_.g >= 0)) return false;
  if (!ok(k_.scale)) return false;
  if (!ok(k_.a) || !ok(k_.b) || !ok(k_.c) || !ok(k_.d) || !ok(k_.f) || !ok(k_.g) || !ok(k_.x1)) return false;
  if (!ok(a_e_bx1_) || !ok(log_region_) || !(taylor_[0] > 0)) return false;
  return std::all_of(taylor_.begin(), taylor_.end(), ok);
}

namespace {

/// sum_i c[i] h^i by Estrin's scheme: the same terms as Horner's rule, but four dependent
/// multiply-add levels instead of sixteen, which matters in the exact bulk path.
double polynomial16(const std::array<double, 16>& c, double h) noexcept {
  const double h2 = h * h;
  const double h4 = h2 * h2;
  const double h8 = h4 * h4;
  const double q0 = (c[0] + c[1] * h) + (c[2] + c[3] * h) * h2;
  const double q1 = (c[4] + c[5] * h) + (c[6] + c[7] * h) * h2;
  const double q2 = (c[8] + c[9] * h) + (c[10] + c[11] * h) * h2;
  const double q3 = (c[12] + c[13] * h) + (c[14] + c[15] * h) * h2;
  return (q0 + q1 * h4) + (q2 + q3 * h4) * h8;
}

}  // namespace

double Biexponential::series(double h) const noexcept { return polynomial16(taylor_, h) * h; }

double Biexponential::positive_value(double y) const noexcept {
  const double h = y - k_.x1;
  if (h < taylor_limit_) return series(h);
  const double decaying = k_.c == 0 ? 0.0 : k_.c * std::exp(-k_.d * y);
  // Largest terms first: (a e^(b y) + f) is the published order with the better rounding.
  return (k_.a * std::exp(k_.b * y) + k_.f) - decaying + k_.g * y;
}

double Biexponential::value(double y) const noexcept {
  if (std::isnan(y)) return y;
  const bool negative = y < k_.x1;
  const double r = negative ? 2 * k_.x1 - y : y;
  double v = k_.scale * positive_value(r);
  // The normalised curve can overflow where the data value does not (tiny T, large y): there
  // only a e^(b y) matters, so take it in logarithms.
  if (std::isinf(v) && std::isfinite(r)) v = std::exp(log_scale_ + log_a_ + k_.b * r);
  return negative ? -v : v;
}

double Biexponential::slope(double y) const noexcept {
  const double r = y >= k_.x1 ? y : 2 * k_.x1 - y;
  const double decaying = k_.c == 0 ? 0.0 : k_.c * k_.d * std::exp(-k_.d * r);
  return k_.scale * (k_.a * k_.b * std::exp(k_.b * r) + decaying + k_.g);
}

double Biexponential::upper_bound(double v) const noexcept {
  // For y >= x1: -c e^(-d y) >= -c e^(-d x1) and g y >= g x1, so B(y) >= a e^(b y) - a e^(b x1)
  // (using B(x1) = 0). Hence the root of B(y) = v lies at or below this.
  return k_.x1 + std::log1p(v / a_e_bx1_) / k_.b;
}

double Biexponential::solve(double x) const noexcept { return solve_signed(x, 0, false); }

double Biexponential::solve(double x, double guess) const noexcept { return solve_signed(x, guess, true); }

double Biexponential::solve_signed(double x, double guess, bool have_guess) const noexcept {
  if (std::isnan(x)) return x;
  if (x == 0) return k_.x1;
  // B is odd about (x1, 0): solve for |x| on the upper branch and reflect (Moore & Parks 2012).
  const double v = std::abs(x) / k_.scale;
  double y;
  if (v >= log_region_) {
    // ln|x| - ln(scale), not ln(v): v overflows for huge x when the scale is tiny.
    y = (std::log(std::abs(x)) - log_scale_ - log_a_) / k_.b;  // also +inf for infinite input
  } else {
    double start;
    if (have_guess && std::isfinite(guess)) {
      // The guess reflected onto the upper branch (2 x1 - guess for negative x), without a branch
      // on the sign, which is unpredictable in real data.
      start = k_.x1 + std::abs(guess - k_.x1);
    } else if (v < taylor_[0] * taylor_limit_) {
      start = k_.x1 + v / taylor_[0];  // quasi-linear region around data zero
    } else {
      start = upper_bound(v);  // close to the root wherever the exponential dominates
    }
    y = solve_positive(v, start);
  }
  return k_.x1 + std::copysign(y - k_.x1, x);  // 2 x1 - y for negative x
}

double Biexponential::solve_positive(double v, double y) const noexcept {
  // Halley's method (cubic convergence, as in Moore & Parks 2012) inside a bracket [lo, hi] that
  // every evaluation shrinks; a step leaving the bracket becomes a bisection step, so the
  // iteration converges for every parameter set, not only where B is convex.
  constexpr double tolerance = 4 * DBL_EPSILON;
  double lo = k_.x1;
  double hi = infinity;
  if (!(y >= lo) || !std::isfinite(y)) y = upper_bound(v);
  for (int i = 0; i < 400; ++i) {
    const double h = y - k_.x1;
    double residual;
    double d1;
    double d2;
    if (h < taylor_limit_) {
      residual = series(h) - v;
      d1 = polynomial16(slope_taylor_, h);
      d2 = polynomial16(curvature_taylor_, h);
    } else {
      const double growing = k_.a * std::exp(k_.b * y);
      const double decaying = k_.c == 0 ? 0.0 : k_.c * std::exp(-k_.d * y);
      residual = ((growing + k_.f) - decaying + k_.g * y) - v;
      d1 = k_.b * growing + k_.d * decaying + k_.g;
      d2 = k_.b * k_.b * growing - k_.d * k_.d * decaying;
    }
    if (residual == 0) return y;
    // Halley: y -= r B' / (B'^2 - r B'' / 2), one division. Far from the root its correction
    // factor (the denominator over B'^2) can be meaningless; outside [1/2, 2] take Newton's step.
    const double d1_squared = d1 * d1;
    const double denominator = d1_squared - 0.5 * residual * d2;
    const bool halley = denominator > 0.5 * d1_squared && denominator < 2 * d1_squared;
    const double next = y - (halley ? residual * d1 / denominator : residual / d1);
    const double step = std::abs(next - y);
    // Converged (a step within rounding may land on the bracket's edge: that is not an overshoot).
    if (step <= tolerance * std::max(1.0, std::abs(y))) return next;
    // Both steps move from y towards the root, so next can only overshoot the far end of the
    // bracket; testing it against the bracket before this evaluation needs no branch on the
    // residual's sign (a coin flip when starting from the table) on the common path.
    if (halley && step <= accept_step_ && next > lo && next < hi) return next;
    if (residual < 0) {
      lo = y;
    } else {
      hi = y;
    }
    if (!(next > lo && next < hi)) {
      if (hi == infinity) hi = std::max(upper_bound(v), lo);
      y = 0.5 * (lo + hi);
      continue;
    }
    y = next;
  }
  return y;
}

// ---- CurveTransform: the Transform::Impl of every biexponential scale -------------------------

CurveTransform::CurveTransform(TransformSpec spec, const BiexponentialCoefficients& coefficients,
                               bool inflection_at_x1, const OutputMap& map, double tolerance)
    : Impl(std::move(spec)),
      curve_(coefficients, inflection_at_x1),
      map_(map),
      table_(curve_, tolerance / map.scale,
             map.clip ? std::max(std::abs(map.x_lo), std::abs(map.x_hi)) : infinity) {
  if (!curve_.finite()) {
    throw TransformError(std::string{to_string(this->spec().kind)} +
                         ": parameters beyond what double precision can represent (" + this->spec().to_string() +
                         ")");
  }
}

double CurveTransform::position(double x) const noexcept {
  if (table_.valid() && std::isfinite(x)) return curve_.solve(x, table_.lookup(x));
  return curve_.solve(x);
}

double CurveTransform::apply(double x) const {
  if (map_.clip) {
    if (x <= map_.x_lo) return map_.lo;
    if (x >= map_.x_hi) return map_.hi;
  }
  const double out = map_.scale * position(x);
  if (map_.clip) return std::clamp(out, map_.lo, map_.hi);  // NaN stays NaN
  return out;
}

double CurveTransform::inverse(double y) const { return curve_.value(y / map_.scale); }

void CurveTransform::apply_fast(std::span<const float> in, std::span<float> out) const {
  if (!table_.valid()) {
    Impl::apply_fast(in, out);
    return;
  }
  if (in.size() != out.size()) throw std::invalid_argument("Transform::apply: input and output sizes differ");
  table_.apply(in, out, map_);
}

void CurveTransform::apply_fast(std::span<const double> in, std::span<float> out) const {
  if (!table_.valid()) {
    Impl::apply_fast(in, out);
    return;
  }
  if (in.size() != out.size()) throw std::invalid_argument("Transform::apply: input and output sizes differ");
  table_.apply(in, out, map_);
}

void CurveTransform::apply_exact(std::span<const double> in, std::span<double> out) const {
  if (in.size() != out.size()) throw std::invalid_argument("Transform::apply_exact: input and output sizes differ");
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = apply(in[i]);
}

// ---- logicle and logicle-flowcore --------------------------------------------------------------

namespace {

/// Gating-ML 2.0 logicle constants (identical to Moore & Parks 2012):
///   w = W/(M+A), x2 = A/(M+A), x1 = x2 + w, x0 = x2 + 2w, b = (M+A) ln 10,
///   d solves 2 (ln d - ln b) + w (b + d) = 0,
///   c_a = e^(x0 (b+d)), f_a = e^(b x1) - c_a e^(-d x1), a = T / (e^b - f_a - c_a e^(-d)),
///   c = c_a a, f = f_a a, and B(y) = a e^(b y) - c e^(-d y) - f.
/// Computed for T = 1 and scaled by T (B is proportional to T).
BiexponentialCoefficients logicle_coefficients(double t, double w_decades, double m, double a_decades) {
  const double w = w_decades / (m + a_decades);
  const double x2 = a_decades / (m + a_decades);
  const double x1 = x2 + w;
  const double x0 = x2 + 2 * w;
  const double b = (m + a_decades) * std::numbers::ln10;
  const double d = solve_logicle_d(b, w);
  const double c_a = std::exp(x0 * (b + d));
  const double f_a = std::exp(b * x1) - c_a * std::exp(-d * x1);
  const double a = 1 / ((std::exp(b) - f_a) - c_a * std::exp(-d));
  BiexponentialCoefficients k;
  k.scale = t;
  k.a = a;
  k.b = b;
  k.c = c_a * a;
  k.d = d;
  k.f = -f_a * a;
  k.x1 = x1;
  return k;
}

}  // namespace

void validate_twma(std::string_view name, const std::array<std::string_view, 4>& keys, double t, double w,
                   double m, double a, bool w_may_be_zero) {
  const auto [kt, kw, km, ka] = keys;
  require_finite(name, kt, t);
  require_finite(name, kw, w);
  require_finite(name, km, m);
  require_finite(name, ka, a);
  const std::string T{kt}, W{kw}, M{km}, A{ka};
  if (!(t > 0)) fail_parameter(name, T + " must be > 0", {{kt, t}});
  if (!(m > 0)) fail_parameter(name, M + " must be > 0", {{km, m}});
  if (w_may_be_zero) {
    if (!(w >= 0)) fail_parameter(name, W + " must be >= 0", {{kw, w}});
  } else if (!(w > 0)) {
    fail_parameter(name, W + " must be > 0", {{kw, w}});
  }
  if (!(2 * w <= m)) fail_parameter(name, W + " must be <= " + M + "/2", {{kw, w}, {km, m}});
  if (!(a >= -w)) fail_parameter(name, A + " must be >= -" + W, {{ka, a}, {kw, w}});
  if (!(a <= m - 2 * w)) fail_parameter(name, A + " must be <= " + M + " - 2" + W, {{ka, a}, {km, m}, {kw, w}});
}

ImplPtr make_logicle(TransformSpec spec) {
  const bool flowcore = spec.kind == TransformKind::logicle_flowcore;
  const std::string_view name = to_string(spec.kind);
  using Keys = std::array<std::string_view, 4>;
  const Keys keys = flowcore ? Keys{"t", "w", "m", "a"} : Keys{"T", "W", "M", "A"};
  const double t = param(spec, keys[0]);
  const double w = param(spec, keys[1]);
  const double m = param(spec, keys[2]);
  const double a = param(spec, keys[3]);
  validate_twma(name, keys, t, w, m, a, true);
  // flowCore's logicleTransform(w, t, m, a) returns m times the Gating-ML value (its output spans
  // 0..m decades instead of 0..1), computed by the same Moore & Parks code.
  OutputMap map;
  map.scale = flowcore ? m : 1.0;
  // 1e-8 in output units keeps the fast path two orders of magnitude inside its 1e-6 promise,
  // leaving the rest to float32 rounding of the output.
  return std::make_shared<const CurveTransform>(std::move(spec), logicle_coefficients(t, w, m, a), true, map, 1e-8);
}

}  // namespace flowmrd::gating::detail
