// SPDX-License-Identifier: Apache-2.0
/// @file model_scale.hpp
/// flowmrd's fixed analysis scale for fluorescence and scatter: asinh(x / 150) / ln 10, about
/// log10(x / 75) above a few hundred and linear around 0. Fixed, unlike a logicle with W estimated
/// per file, so a reference built on some files applies to others. Pre-gating densities, the MRD
/// models and the plots all use it (docs/mrd-method.md, "The model scale").
#pragma once

#include <cmath>

namespace flowmrd::pipeline {

/// Cofactor of the model scale.
inline constexpr double kModelCofactor = 150.0;

/// asinh(linear / 150) / ln 10.
[[nodiscard]] inline double model_scale(double linear) noexcept {
  return std::asinh(linear / kModelCofactor) / std::log(10.0);
}

/// Inverse of model_scale: 150 sinh(v ln 10).
[[nodiscard]] inline double model_scale_inverse(double model) noexcept {
  return kModelCofactor * std::sinh(model * std::log(10.0));
}

/// model_scale in float for columns of millions of events: sign(v) log(|v| + sqrt(v^2 + 1)) / ln 10
/// with v = x / 150. Float precision (~1e-7 relative) is far below any biological spread; NaN and
/// infinite inputs give NaN.
[[nodiscard]] inline float model_scale_f(float linear) noexcept {
  constexpr float inv_cofactor = static_cast<float>(1.0 / kModelCofactor);
  constexpr float inv_ln10 = 0.43429448190325182765f;
  const float v = linear * inv_cofactor;
  const float a = std::fabs(v);
  const float y = std::log(a + std::sqrt(a * a + 1.0f)) * inv_ln10;
  return std::isfinite(y) ? std::copysign(y, v) : NAN;
}

}  // namespace flowmrd::pipeline
