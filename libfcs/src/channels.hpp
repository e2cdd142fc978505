// SPDX-License-Identifier: Apache-2.0
// Internal: the standardized channel table and the DATA layout it implies.
#pragma once

#include <cstdint>
#include <vector>

#include "context.hpp"
#include "fcs/channel.hpp"
#include "fcs/dataset.hpp"

namespace fcs::detail {

/// Read $PAR and the $Pn... keywords into channels (type, bits, range, $PnE, $PnG, names).
/// `datatype` is the data set's $DATATYPE; FCS 3.2 $PnDATATYPE overrides it per channel.
[[nodiscard]] std::vector<Channel> read_channels(const Keywords& kw, char datatype, Version version,
                                                 Context& ctx);

/// Set each integer channel's mask (flowCore keeps the bits $PnR needs).
void assign_masks(std::vector<Channel>& channels);

/// Fill min_range and max_range as flowCore `parameters()` reports them, from $PnR, $PnE and
/// the decoded data's minimum (see docs/fcs-reader.md).
void assign_value_ranges(std::vector<Channel>& channels, const EventMatrix& events, const Keywords& kw,
                         const ReadOptions& options, bool already_transformed);

/// Bytes of one event when every width is a whole number of bytes; 0 for delimited ASCII.
[[nodiscard]] std::uint64_t event_width(const std::vector<Channel>& channels) noexcept;

}  // namespace fcs::detail
