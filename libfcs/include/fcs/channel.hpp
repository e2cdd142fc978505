// SPDX-License-Identifier: Apache-2.0
/// @file channel.hpp
/// Standardized, typed description of one parameter ($Pn... keywords) of a data set.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fcs {

/// Storage type of one parameter in DATA.
enum class DataType { integer, float32, float64, ascii };

/// One channel (FCS "parameter"), standardized from $PnN, $PnS, $PnB, $PnE, $PnG, $PnR, ...
struct Channel {
  int index = 0;                  ///< 1-based parameter number n.
  std::string name;               ///< $PnN (short name), e.g. "FL1-A".
  std::optional<std::string> marker;  ///< $PnS (long name / stain), e.g. "CD19 PE-Cy7".
  DataType type = DataType::float32;  ///< $DATATYPE or FCS 3.2 $PnDATATYPE.
  int bits = 32;                  ///< $PnB as written (may be '*' for ASCII: then 0).
  int storage_bits = 32;          ///< Bits actually occupied in DATA (differs only after a repair).
  double range = 0;               ///< $PnR (may be fractional for float data in FCS 3.2).
  double log_decades = 0;         ///< $PnE f1 (0 = linear).
  double log_offset = 0;          ///< $PnE f2 as written.
  double gain = 1;                ///< $PnG (1 when absent).
  bool amplification_given = false;  ///< Whether $PnE is present in TEXT.
  std::optional<double> voltage;  ///< $PnV.
  std::optional<std::string> detector;  ///< $PnD / $PnT / $PnF, informative only.
  /// Integer values are masked with this (0 = no masking).
  std::uint64_t mask = 0;
  /// Minimum and maximum of the channel's value range after the chosen transformation, as flowCore
  /// `parameters()` gives them: max = $PnR - 1 (10^f1 * f2 for log channels); min from the data's
  /// minimum, floored at -111 and capped at $PnE f2 (see docs/fcs-reader.md).
  double min_range = 0;
  double max_range = 0;

  /// True when $PnE asks for log decoding of an integer channel.
  [[nodiscard]] bool is_log() const noexcept { return log_decades > 0; }
};

}  // namespace fcs
