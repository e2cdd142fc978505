// SPDX-License-Identifier: Apache-2.0
/// @file writer.hpp
/// Writing FCS 3.1 list-mode files (float32 events).
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fcs/dataset.hpp"

namespace fcs {

/// One channel to write.
struct WriteChannel {
  std::string name;                 ///< $PnN (required, unique, no commas).
  std::optional<std::string> marker;///< $PnS.
  double range = 262144;            ///< $PnR.
  double gain = 1;                  ///< $PnG (written only when != 1).
};

/// What to write: channels, their columns (all of one length), extra keywords, spillover.
struct WriteRequest {
  std::vector<WriteChannel> channels;
  std::vector<std::span<const float>> columns;  ///< One per channel, column-major events.
  /// Extra keywords written after the required ones, in order. Keywords the writer owns
  /// ($BEGINDATA, $TOT, $PnB, ...) are rejected with an fcs::Error of kind argument.
  std::vector<std::pair<std::string, std::string>> keywords;
  std::optional<Spillover> spillover;  ///< Written as $SPILLOVER by channel name.
  ByteOrder byte_order = ByteOrder::little;
  char delimiter = '/';            ///< Any byte except 0 and those in values is safe; '/' is escaped.
};

/// Encode an FCS 3.1 file in memory.
/// @throws fcs::Error (kind argument) on inconsistent input.
[[nodiscard]] std::vector<std::byte> write_bytes(const WriteRequest& request);

/// Encode and write to a path (written to a temporary name first, then renamed).
/// @throws fcs::Error
void write_file(const std::filesystem::path& path, const WriteRequest& request);

/// A request that rewrites a data set as read (events converted to float32, owned by `storage`).
/// Keeps $PnS, ranges, gains, non-structural keywords and the preferred spillover. Values that were
/// linearized are marked as flowCore marks them (keyword transformation=applied with
/// flowCore_$PnRmax/$PnRmin), so reading the file back gives the same values; gains already
/// divided out are written as 1 and log-decoded channels get a $PnR that holds their values.
/// Chooses a delimiter safe for the data set's text. Changes it had to make (commas in $PnN
/// replaced by ';', a spillover naming unknown channels dropped) are appended to `notes`.
/// @throws fcs::Error (argument) when the events were not read.
[[nodiscard]] WriteRequest request_from_dataset(const Dataset& dataset,
                                                std::vector<std::vector<float>>& storage,
                                                Issues* notes = nullptr);

}  // namespace fcs
