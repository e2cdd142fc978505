// SPDX-License-Identifier: Apache-2.0
// Line numbers from byte offsets (pugixml reports node and parse-error positions as offsets; every
// error message of the XML readers names a line).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

namespace flowmrd::gating {

class LineIndex {
 public:
  LineIndex() = default;
  explicit LineIndex(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') starts_.push_back(i + 1);
  }
  /// 1-based line of the byte at `offset`; 0 when the offset is unknown (negative).
  [[nodiscard]] std::size_t line(std::ptrdiff_t offset) const {
    if (offset < 0) return 0;
    return static_cast<std::size_t>(
        std::upper_bound(starts_.begin(), starts_.end(), static_cast<std::size_t>(offset)) - starts_.begin());
  }

 private:
  std::vector<std::size_t> starts_{0};
};

}  // namespace flowmrd::gating
