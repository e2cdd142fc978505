// SPDX-License-Identifier: Apache-2.0
/// @file text_escape.hpp
/// Escaping shared by every writer of CSV and HTML in flowmrd (result CSVs, the store export,
/// the QA report, the patient report and the batch summary), so a field is quoted the same way
/// wherever it is written.
#pragma once

#include <string>
#include <string_view>

namespace flowmrd::pipeline {

/// One CSV field per RFC 4180: unchanged unless it holds a comma, a quote, CR or LF; then quoted,
/// with quotes doubled.
[[nodiscard]] std::string csv_field(std::string_view text);

/// Text for HTML element content and attribute values: & < > " ' as entities.
[[nodiscard]] std::string html_escape(std::string_view text);

}  // namespace flowmrd::pipeline
