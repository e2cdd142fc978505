// SPDX-License-Identifier: Apache-2.0
// Internal: splitting a TEXT segment into keywords (FCS 3.1 §3.2).
#pragma once

#include <cstdint>
#include <span>

#include "context.hpp"
#include "fcs/keywords.hpp"

namespace fcs::detail {

/// Parse the TEXT (or supplemental TEXT / ANALYSIS) segment `segment`, which starts at absolute
/// offset `at`, appending its keywords to `out` (duplicates are reported and the first kept).
void parse_text(std::span<const std::byte> segment, std::uint64_t at, bool supplemental,
                Keywords& out, Context& ctx);

}  // namespace fcs::detail
