// SPDX-License-Identifier: Apache-2.0
// FlowJo's biexponential ("biex") scale, as FlowJo workspaces parameterise it: negative decades,
// width basis, positive decades, maximum value; output in channels 0..4096.
//
// FlowJo does not evaluate a formula per event: it fills a 4097-entry lookup table (channel i ->
// data value) and interpolates it linearly, clipping at channels 0 and 4096. That table is the
// legacy TreeStar recipe carried into cytolib and FlowKit/FlowUtils `generate_biex_lut`:
//
//   W        = log10(-width)                     (width basis -10 -> 1 decade of linear region)
//   decades  = positive - W/2
//   extra    = max(negative, 0) + W/2
//   zero     = min(floor(extra * 4096 / (extra + decades)), 2048)     (integer channel of data 0)
//   decades  = extra * 4096 / zero               (only if zero > 0: the integer zero is exact)
//   w        = W / (2 decades),  P = decades ln 10,  minimum = max / e^P
//   Q        = the logicle d for (b = P, w)      (FlowJo's "negative range")
//   s        = e^((P + Q) (w + extra / decades))
//   X(i)     = minimum (e^(P i/4097) - s e^(-Q i/4097) - s0)  for i >= zero, s0 making X(zero) = 0,
//   X(i)     = -X(2 zero - i)                                  for i <  zero.
//
// Note the denominator 4097 (the table's length) against channel values 0..4096: reproduced.
//
// X is exactly a biexponential B(y) of biexponential.hpp in y = i / 4097, with x1 = zero / 4097.
// We evaluate that curve itself instead of the piecewise-linear interpolation of its samples.
// The two differ by the interpolation error of FlowJo's table, at most (1/8) max|X''/X'| with
// channels as the unit, i.e. max(P, Q) / (8 * 4097): 3e-4 to 5e-4 channel for usual settings
// (3.1e-4 to 4.2e-4 on the reference tables; it stays below 0.01 channel up to 140 positive
// decades), far inside the 0.01 channel that reproduces FlowJo's gates. In exchange the scale is
// smooth and has an exact inverse. Clipping at 0 and 4096 is kept; the inverse is the curve
// itself and extends beyond the clipped ends.
#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>
#include <string>
#include <string_view>
#include <utility>

#include "biexponential.hpp"
#include "curve_transform.hpp"
#include "transform_impl.hpp"
#include "transform_table.hpp"

namespace flowmrd::gating::detail {

namespace {

constexpr double channel_range = 4096;       // FlowJo's channel scale 0..4096
constexpr double table_points = 4097;        // the table's length, FlowJo's denominator

}  // namespace

ImplPtr make_biex(TransformSpec spec) {
  const std::string_view name = to_string(spec.kind);
  const double negative = param(spec, "negative");
  const double width = param(spec, "width");
  const double positive = param(spec, "positive");
  const double max_value = param(spec, "max");
  require_finite(name, "negative", negative);
  require_finite(name, "width", width);
  require_finite(name, "positive", positive);
  require_finite(name, "max", max_value);
  if (!(negative >= 0)) {
    fail_parameter(name, "negative (extra negative decades) must be >= 0", {{"negative", negative}});
  }
  // FlowJo's width basis is negative (-10, -100, -1000); log10(-width) is the linear region in
  // decades and must not be negative.
  if (!(width <= -1)) {
    fail_parameter(name, "width (FlowJo width basis) must be <= -1, e.g. -10 or -100", {{"width", width}});
  }
  const double w_decades = std::log10(-width);
  if (!(positive > w_decades / 2)) {
    fail_parameter(name, "positive must be > log10(-width)/2", {{"positive", positive}, {"width", width}});
  }
  if (!(max_value > 0)) fail_parameter(name, "max must be > 0", {{"max", max_value}});

  double decades = positive - w_decades / 2;
  const double extra = negative + w_decades / 2;
  // Integer zero channel, truncated as FlowJo's table does.
  const double zero = std::min(std::floor(extra * channel_range / (extra + decades)), channel_range / 2);
  if (zero > 0) decades = extra * channel_range / zero;
  const double w = w_decades / (2 * decades);
  const double p = std::numbers::ln10 * decades;
  const double minimum = 1 / std::exp(p);  // for max = 1; the curve is scaled by max below
  const double q = solve_logicle_d(p, w);
  const double s = std::exp((p + q) * (w + extra / decades));
  const double x1 = zero / table_points;
  const double s0 = std::exp(p * x1) - s * std::exp(-q * x1);

  BiexponentialCoefficients k;
  k.scale = max_value;
  k.a = minimum;
  k.b = p;
  k.c = minimum * s;
  k.d = q;
  k.f = -minimum * s0;
  k.x1 = x1;

  // Output: channels = 4097 y, clipped to [0, 4096] at the inputs where the curve reaches them.
  const Biexponential curve(k, false);
  OutputMap map;
  map.scale = table_points;
  map.clip = true;
  map.lo = 0;
  map.hi = channel_range;
  map.x_lo = curve.value(0);
  map.x_hi = curve.value(channel_range / table_points);
  // Channels are 4096 times coarser than logicle's unit: 2.5e-7 channel is ~6e-11 of the scale.
  // float32 output rounds by up to 2.4e-4 channel near the top anyway.
  return std::make_shared<const CurveTransform>(std::move(spec), k, false, map, 2.5e-7);
}

}  // namespace flowmrd::gating::detail
