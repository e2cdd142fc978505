// SPDX-License-Identifier: Apache-2.0
/// @file json_issue.hpp
/// How `fcs::Issue`s are shown: in JSON output, in text tables and as stderr warnings.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "fcs/issue.hpp"

namespace flowmrd::cli {

/// {"severity", "code", "dataset", "byte_offset", "keyword", "message"}; absent location parts
/// are null (docs/cli.md, "info --json").
[[nodiscard]] nlohmann::ordered_json issue_to_json(const fcs::Issue& issue);
[[nodiscard]] nlohmann::ordered_json issues_to_json(const fcs::Issues& issues);

/// "dataset 1, byte 312, keyword $INST", or "" when nothing is known.
[[nodiscard]] std::string issue_location(const fcs::Issue& issue);

/// "<file>: <message> (<location>) [<code>]", the form of `fcs::Error::what()`, for stderr lines.
[[nodiscard]] std::string issue_line(const std::string& file, const fcs::Issue& issue);

/// True for issues worth a stderr warning (repairs applied, values clipped); info is not.
[[nodiscard]] bool is_warning(const fcs::Issue& issue) noexcept;

}  // namespace flowmrd::cli
