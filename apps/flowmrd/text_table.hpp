// SPDX-License-Identifier: Apache-2.0
/// @file text_table.hpp
/// Aligned plain-text tables for human-readable command output.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace flowmrd::cli {

/// A table rendered with columns padded to their widest cell, two spaces apart.
class TextTable {
 public:
  enum class Align { left, right };

  /// `align` may be shorter than `header`; missing entries are left-aligned.
  TextTable(std::vector<std::string> header, std::vector<Align> align = {});

  /// Append a row; short rows are padded with empty cells.
  void add_row(std::vector<std::string> cells);

  [[nodiscard]] bool empty() const noexcept { return rows_.empty(); }

  /// Append the header and rows to `out`, each line starting with `indent`.
  void render(std::string& out, std::string_view indent) const;

 private:
  std::vector<std::string> header_;
  std::vector<Align> align_;
  std::vector<std::vector<std::string>> rows_;
};

/// Characters a terminal shows for `text`: UTF-8 continuation bytes do not count, so names such
/// as "CD45 Alexa Fluor® 488" stay aligned.
[[nodiscard]] std::size_t display_width(std::string_view text) noexcept;

}  // namespace flowmrd::cli
