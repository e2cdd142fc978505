// SPDX-License-Identifier: Apache-2.0
// Internal: which of flowCore's value rules apply to a channel. The decoder, the range
// computation and the writer all ask the same questions; they must get the same answers.
#pragma once

#include "fcs/channel.hpp"
#include "fcs/options.hpp"

namespace fcs::detail {

/// Whether the stored numbers are transformed at all: not for Transformation::raw, and not for
/// files flowCore itself wrote already linearized (keyword transformation=applied/custom).
[[nodiscard]] inline bool values_transformed(Transformation t, bool already_transformed) noexcept {
  return t != Transformation::raw && !already_transformed;
}

/// Whether $PnE log decoding applies: integer data (stored in binary or as ASCII digits) with
/// f1 > 0; floating-point data with a $PnE are already linear.
[[nodiscard]] inline bool log_decoded(const Channel& c, Transformation t, bool already_transformed) noexcept {
  return values_transformed(t, already_transformed) &&
         (c.type == DataType::integer || c.type == DataType::ascii) && c.is_log();
}

/// Whether the value is divided by $PnG (linearize-with-PnG-scaling, every channel not log-decoded).
[[nodiscard]] inline bool gain_divided(const Channel& c, Transformation t, bool already_transformed) noexcept {
  return t == Transformation::linearize_with_png_scaling && values_transformed(t, already_transformed) &&
         !log_decoded(c, t, already_transformed) && c.gain != 1;
}

}  // namespace fcs::detail
