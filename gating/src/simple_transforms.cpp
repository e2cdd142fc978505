// SPDX-License-Identifier: Apache-2.0
// The closed-form transforms: Gating-ML 2.0 flin, flog and fasinh, and flowCore's
// arcsinhTransform. Each is a few arithmetic operations, so the "fast" path is the exact formula
// rounded to float (the compiler inlines it into the loop).
#include <cmath>
#include <cstddef>
#include <memory>
#include <numbers>
#include <span>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "transform_impl.hpp"

namespace flowmrd::gating::detail {

namespace {

/// A Transform::Impl from a formula object with `forward(x)` and `backward(y)`: the bulk loops
/// are instantiated per formula so nothing is called indirectly per value.
template <typename Formula>
class FormulaTransform final : public Transform::Impl {
 public:
  FormulaTransform(TransformSpec spec, Formula formula) : Impl(std::move(spec)), formula_(formula) {}

  [[nodiscard]] double apply(double x) const override { return formula_.forward(x); }
  [[nodiscard]] double inverse(double y) const override { return formula_.backward(y); }

  void apply_fast(std::span<const float> in, std::span<float> out) const override { run(in, out); }
  void apply_fast(std::span<const double> in, std::span<float> out) const override { run(in, out); }
  void apply_exact(std::span<const double> in, std::span<double> out) const override { run(in, out); }

 private:
  template <typename In, typename Out>
  void run(std::span<const In> in, std::span<Out> out) const {
    if (in.size() != out.size()) throw std::invalid_argument("Transform::apply: input and output sizes differ");
    const Formula f = formula_;
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = static_cast<Out>(f.forward(static_cast<double>(in[i])));
  }

  Formula formula_;
};

template <typename Formula>
ImplPtr make_formula(TransformSpec spec, Formula formula) {
  return std::make_shared<const FormulaTransform<Formula>>(std::move(spec), formula);
}

/// Gating-ML 2.0 flin(x; T, A) = (x + A) / (T + A): [-A, T] -> [0, 1], linear everywhere.
struct Flin {
  double a;
  double span;  // T + A
  [[nodiscard]] double forward(double x) const noexcept { return (x + a) / span; }
  [[nodiscard]] double backward(double y) const noexcept { return y * span - a; }
};

/// Gating-ML 2.0 flog(x; T, M) = 1 + log10(x / T) / M: (0, T] -> (-inf, 1]. Defined for x > 0
/// only; x = 0 gives -inf and x < 0 NaN, as the logarithm does.
struct Flog {
  double t;
  double m;
  [[nodiscard]] double forward(double x) const noexcept { return 1 + std::log10(x / t) / m; }
  [[nodiscard]] double backward(double y) const noexcept { return t * std::pow(10.0, (y - 1) * m); }
};

/// Gating-ML 2.0 fasinh(x; T, M, A) = (asinh(x sinh(M ln10) / T) + A ln10) / ((M + A) ln10): T maps
/// to 1, large values follow an (M + A)-decade log scale, A decades of negatives are on scale.
/// It equals logicle with W = 0.
struct Fasinh {
  double gain;    // sinh(M ln10) / T
  double offset;  // A ln10
  double width;   // (M + A) ln10
  [[nodiscard]] double forward(double x) const noexcept { return (std::asinh(x * gain) + offset) / width; }
  [[nodiscard]] double backward(double y) const noexcept { return std::sinh(y * width - offset) / gain; }
};

/// flowCore arcsinhTransform(a, b, c): asinh(a + b x) + c.
struct Arcsinh {
  double a;
  double b;
  double c;
  [[nodiscard]] double forward(double x) const noexcept { return std::asinh(a + b * x) + c; }
  [[nodiscard]] double backward(double y) const noexcept { return (std::sinh(y - c) - a) / b; }
};

}  // namespace

ImplPtr make_flin(TransformSpec spec) {
  const std::string_view name = to_string(spec.kind);
  const double t = param(spec, "T");
  const double a = param(spec, "A");
  require_finite(name, "T", t);
  require_finite(name, "A", a);
  if (!(t > 0)) fail_parameter(name, "T must be > 0", {{"T", t}});
  if (!(a >= 0)) fail_parameter(name, "A must be >= 0", {{"A", a}});
  if (!(a <= t)) fail_parameter(name, "A must be <= T", {{"A", a}, {"T", t}});
  return make_formula(std::move(spec), Flin{a, t + a});
}

ImplPtr make_flog(TransformSpec spec) {
  const std::string_view name = to_string(spec.kind);
  const double t = param(spec, "T");
  const double m = param(spec, "M");
  require_finite(name, "T", t);
  require_finite(name, "M", m);
  if (!(t > 0)) fail_parameter(name, "T must be > 0", {{"T", t}});
  if (!(m > 0)) fail_parameter(name, "M must be > 0", {{"M", m}});
  return make_formula(std::move(spec), Flog{t, m});
}

ImplPtr make_fasinh(TransformSpec spec) {
  const std::string_view name = to_string(spec.kind);
  const double t = param(spec, "T");
  const double m = param(spec, "M");
  const double a = param(spec, "A");
  require_finite(name, "T", t);
  require_finite(name, "M", m);
  require_finite(name, "A", a);
  if (!(t > 0)) fail_parameter(name, "T must be > 0", {{"T", t}});
  if (!(m > 0)) fail_parameter(name, "M must be > 0", {{"M", m}});
  if (!(a >= 0)) fail_parameter(name, "A must be >= 0", {{"A", a}});
  if (!(a <= m)) fail_parameter(name, "A must be <= M", {{"A", a}, {"M", m}});
  const double gain = std::sinh(m * std::numbers::ln10) / t;
  if (!std::isfinite(gain) || !(gain > 0)) {
    fail_parameter(name, "sinh(M ln 10) / T must be a finite positive number (M too large or T too small)",
                   {{"T", t}, {"M", m}});
  }
  return make_formula(std::move(spec),
                      Fasinh{gain, a * std::numbers::ln10, (m + a) * std::numbers::ln10});
}

ImplPtr make_arcsinh(TransformSpec spec) {
  const std::string_view name = to_string(spec.kind);
  const double a = param(spec, "a");
  const double b = param(spec, "b");
  const double c = param(spec, "c");
  require_finite(name, "a", a);
  require_finite(name, "b", b);
  require_finite(name, "c", c);
  // flowCore accepts any b, but b = 0 maps every value to the same number: nothing to invert.
  if (b == 0) fail_parameter(name, "b must be non-zero", {{"b", b}});
  return make_formula(std::move(spec), Arcsinh{a, b, c});
}

}  // namespace flowmrd::gating::detail
