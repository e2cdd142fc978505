// SPDX-License-Identifier: Apache-2.0
// Internal: the 58-byte HEADER segment (FCS 3.1 §3.1).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "context.hpp"
#include "fcs/dataset.hpp"

namespace fcs::detail {

/// HEADER facts; offsets are relative to the start of the data set, as written (0 = blank/absent).
struct Header {
  Version version = Version::fcs3_1;
  std::string version_text;  ///< "FCS3.1"
  std::uint64_t text_begin = 0, text_end = 0;
  std::uint64_t data_begin = 0, data_end = 0;
  std::uint64_t analysis_begin = 0, analysis_end = 0;
};

/// Minimum bytes of a HEADER (version, blanks, six offsets).
inline constexpr std::size_t header_size = 58;

/// Parse the HEADER at the start of `bytes` (the remainder of the file from the data set's start).
/// `base` is the absolute offset of the data set, for error locations.
[[nodiscard]] Header parse_header(std::span<const std::byte> bytes, std::uint64_t base, Context& ctx);

}  // namespace fcs::detail
