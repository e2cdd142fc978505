// SPDX-License-Identifier: Apache-2.0
// Names and small helpers shared by the Gating-ML 2.0 reader (gatingml_read.cpp) and writer
// (gatingml_write.cpp): the three namespaces, XML ID (NCName) checks and number text.
#pragma once

#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace flowmrd::gating::gml {

/// The Gating-ML 2.0 namespaces (ISAC, version 2.0.121207 of the schemas).
inline constexpr std::string_view kGatingNs = "http://www.isac-net.org/std/Gating-ML/v2.0/gating";
inline constexpr std::string_view kTransformsNs = "http://www.isac-net.org/std/Gating-ML/v2.0/transformations";
inline constexpr std::string_view kDataTypeNs = "http://www.isac-net.org/std/Gating-ML/v2.0/datatypes";

/// Gating-ML's reserved compensation references (Dimension_Type/@compensation-ref).
inline constexpr std::string_view kRefUncompensated = "uncompensated";
inline constexpr std::string_view kRefFcs = "FCS";

/// True for an XML NCName as the schemas' ID/IDREF types require (ASCII subset: a letter or '_'
/// first, then letters, digits, '.', '-', '_'; non-ASCII bytes are accepted as name characters).
[[nodiscard]] inline bool is_ncname(std::string_view s) noexcept {
  if (s.empty()) return false;
  const auto name_start = [](unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
  };
  if (!name_start(static_cast<unsigned char>(s.front()))) return false;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (!(name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  return true;
}

/// A finite double from XSD double text (surrounding blanks and a leading '+' allowed); nullopt
/// for anything else, including INF and NaN, which no Gating-ML coordinate may be.
[[nodiscard]] inline std::optional<double> parse_double(std::string_view s) noexcept {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double v = 0.0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

/// Shortest text that reads back to exactly `v` (std::to_chars), so export/import is lossless.
[[nodiscard]] inline std::string format_double(double v) {
  std::array<char, 32> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return ec == std::errc() ? std::string(buf.data(), end) : std::string("nan");
}

}  // namespace flowmrd::gating::gml
