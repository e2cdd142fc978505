// SPDX-License-Identifier: Apache-2.0
// Hyperlog (Bagwell, "Hyperlog - a flexible log-like transform for negative, zero, and positive
// valued data", Cytometry A 64 (2005)) as Gating-ML 2.0 parameterises it:
//
//   hyperlog(x; T, W, M, A) = root y of EH(y) = x, EH(y) = a e^(b y) + c y - f  (y >= x1),
//   EH(y) = -EH(2 x1 - y) below x1, with
//   w = W/(M+A), x2 = A/(M+A), x1 = x2 + w, x0 = x2 + 2w, b = (M+A) ln 10,
//   e0 = e^(b x0), c_a = e0 / w, f_a = e^(b x1) + c_a x1, a = T / (e^b + c_a - f_a),
//   c = c_a a, f = f_a a.
//
// It is the biexponential curve of biexponential.hpp with a linear instead of a decaying
// exponential term, so it shares logicle's series expansion, robust solver and fast-path table.
#include <array>
#include <cmath>
#include <memory>
#include <numbers>
#include <string_view>
#include <utility>

#include "biexponential.hpp"
#include "curve_transform.hpp"
#include "transform_impl.hpp"
#include "transform_table.hpp"

namespace flowmrd::gating::detail {

ImplPtr make_hyperlog(TransformSpec spec) {
  const std::string_view name = to_string(spec.kind);
  const double t = param(spec, "T");
  const double w_decades = param(spec, "W");
  const double m = param(spec, "M");
  const double a_decades = param(spec, "A");
  // Gating-ML 2.0 requires W > 0 for hyperlog (c_a = e0 / w).
  validate_twma(name, {"T", "W", "M", "A"}, t, w_decades, m, a_decades, false);

  const double w = w_decades / (m + a_decades);
  const double x2 = a_decades / (m + a_decades);
  const double x1 = x2 + w;
  const double x0 = x2 + 2 * w;
  const double b = (m + a_decades) * std::numbers::ln10;
  const double e0 = std::exp(b * x0);
  const double c_a = e0 / w;
  const double f_a = std::exp(b * x1) + c_a * x1;
  // For T = 1, scaled by T (EH is proportional to T).
  const double a = 1 / ((std::exp(b) + c_a) - f_a);

  BiexponentialCoefficients k;
  k.scale = t;
  k.a = a;
  k.b = b;
  k.g = c_a * a;
  k.f = -f_a * a;
  k.x1 = x1;
  // EH''(x1) = a b^2 e^(b x1) > 0: no inflection at x1, unlike logicle.
  return std::make_shared<const CurveTransform>(std::move(spec), k, false, OutputMap{}, 1e-8);
}

}  // namespace flowmrd::gating::detail
