// SPDX-License-Identifier: Apache-2.0
/// @file spillover.hpp
/// Spillover (compensation) matrices stored in a file's TEXT.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fcs/issue.hpp"

namespace fcs {

class Keywords;
struct Channel;

/// A square spillover matrix S over named channels: observed = true x S (row i = spill of dye i).
struct Spillover {
  std::string source_keyword;          ///< "$SPILLOVER", "SPILL", "spillover", "$COMP" or "$DFC".
  std::vector<std::string> channels;   ///< $PnN of each row/column, in matrix order.
  std::vector<int> channel_indices;    ///< 1-based parameter numbers matching `channels`.
  std::vector<double> values;          ///< Row-major n x n.

  [[nodiscard]] std::size_t size() const noexcept { return channels.size(); }
  [[nodiscard]] double at(std::size_t row, std::size_t col) const { return values.at(row * size() + col); }
};

/// Every spillover matrix found in the keywords, in file order of preference:
/// "SPILL", "spillover", "$SPILLOVER" (the order flowCore's `spillover()` lists), then FCS 3.0
/// "$COMP" and FCS 2.0 "$DFCiTOj". Malformed matrices are skipped with an issue.
[[nodiscard]] std::vector<Spillover> parse_spillovers(const Keywords& kw,
                                                      const std::vector<Channel>& channels,
                                                      bool allow_index_names, bool allow_size_repair,
                                                      Issues& issues, int dataset);

/// The matrix flowCore `compensate()` would use by default: the first of SPILL, spillover,
/// $SPILLOVER; else $COMP; else $DFC. Nullopt when the file has none.
[[nodiscard]] const Spillover* preferred_spillover(const std::vector<Spillover>& all) noexcept;

}  // namespace fcs
