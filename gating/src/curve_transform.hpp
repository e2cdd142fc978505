// SPDX-License-Identifier: Apache-2.0
/// @file curve_transform.hpp
/// Private: the `Transform::Impl` of every biexponential scale (logicle, logicle-flowcore,
/// hyperlog, biex): an exact `Biexponential`, its fast-path `TransformTable`, and the map from
/// display position to output units. Implemented in logicle.cpp.
#pragma once

#include <span>

#include "biexponential.hpp"
#include "transform_impl.hpp"
#include "transform_table.hpp"

namespace flowmrd::gating::detail {

/// A transform whose value is `map(y)` with y the root of B(y) = x.
class CurveTransform final : public Transform::Impl {
 public:
  /// @param tolerance  fast-path interpolation error allowed, in output units
  /// @throws TransformError when the coefficients overflow double precision
  CurveTransform(TransformSpec spec, const BiexponentialCoefficients& coefficients, bool inflection_at_x1,
                 const OutputMap& map, double tolerance);

  [[nodiscard]] double apply(double x) const override;
  [[nodiscard]] double inverse(double y) const override;
  void apply_fast(std::span<const float> in, std::span<float> out) const override;
  void apply_fast(std::span<const double> in, std::span<float> out) const override;
  void apply_exact(std::span<const double> in, std::span<double> out) const override;

  [[nodiscard]] const Biexponential& curve() const noexcept { return curve_; }
  [[nodiscard]] const TransformTable& table() const noexcept { return table_; }

 private:
  [[nodiscard]] double position(double x) const noexcept;

  Biexponential curve_;
  OutputMap map_;
  TransformTable table_;
};

}  // namespace flowmrd::gating::detail
