// SPDX-License-Identifier: Apache-2.0
// Private text helpers shared by the panel loader and marker resolution.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace flowmrd::panels::detail {

/// ASCII upper case (marker names and FCS keywords are ASCII; other bytes pass unchanged).
[[nodiscard]] std::string upper(std::string_view text);

/// Whether a byte separates tokens in a $PnS/$PnN value: space - _ / ; , : . ( ) [ ] + and tabs.
[[nodiscard]] bool is_separator(char c) noexcept;

/// Upper-cased tokens of `text` split at separators ("Anti-HLA-DR V450-A" -> ANTI HLA DR V450 A).
[[nodiscard]] std::vector<std::string> tokens(std::string_view text);

/// A marker name without separators, upper case ("HLA-DR" -> "HLADR", "SYTO 41" -> "SYTO41").
[[nodiscard]] std::string compact(std::string_view name);

}  // namespace flowmrd::panels::detail
