// SPDX-License-Identifier: Apache-2.0
/// @file issue.hpp
/// Problems found while reading a file, reported as data rather than printed.
///
/// Every tolerated defect of a real instrument's file becomes an `Issue` whose `code` names the
/// repair that was applied (see docs/repairs.md). Issues travel with the value they describe and
/// end up in every result built on the file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fcs {

/// How serious an issue is.
enum class Severity {
  info,     ///< Worth knowing; values are unaffected (e.g. an unusual but legal layout).
  warning,  ///< A repair was applied or a value was clipped; values depend on the repair.
  error,    ///< The file (or data set) cannot be read; raised as `fcs::Error`.
};

/// Text form of a severity: "info", "warning", "error".
[[nodiscard]] std::string_view to_string(Severity s) noexcept;

/// One problem found in a file, with where it was found.
struct Issue {
  std::string code;                         ///< Stable machine-readable name, e.g. "empty_keyword_value".
  Severity severity = Severity::warning;    ///< See `Severity`.
  std::string message;                      ///< Human-readable explanation.
  std::optional<std::uint64_t> byte_offset; ///< Absolute byte offset in the file, when known.
  std::string keyword;                      ///< The keyword concerned, when there is one.
  int dataset = 0;                          ///< 1-based data set number; 0 for the whole file.

  /// "warning empty_keyword_value (dataset 1, byte 312, keyword $INST): message".
  [[nodiscard]] std::string to_string() const;
};

using Issues = std::vector<Issue>;

}  // namespace fcs
