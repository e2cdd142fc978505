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
/// `column_min` holds each column's smallest decoded value (NaN ignored; +inf when none or when
/// events were not read).
void assign_value_ranges(std::vector<Channel>& channels, const std::vector<double>& column_min, const Keywords& kw,
                         const ReadOptions& options, bool already_transformed);

/// Smallest non-NaN value of each column of `events` (+inf for an empty column).
[[nodiscard]] std::vector<double> column_minima(const EventMatrix& events);

/// Bytes of one event when every width is a whole number of bytes; 0 for delimited ASCII.
[[nodiscard]] std::uint64_t event_width(const std::vector<Channel>& channels) noexcept;

}  // namespace fcs::detail
