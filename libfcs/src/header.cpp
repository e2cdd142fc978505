// SPDX-License-Identifier: Apache-2.0
#include "header.hpp"

#include <string_view>

#include "fcs/keywords.hpp"

namespace fcs::detail {

namespace {

std::string_view as_text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// One 8-byte offset field. FCS 3.1 §3.1: ASCII, right-justified, space padded; a field may be
// all blanks when the offset is given in TEXT instead (files over 99,999,999 bytes).
std::uint64_t offset_field(std::string_view field, std::uint64_t at, const char* what, Context& ctx) {
  const std::string_view t = trim(field);
  if (t.empty()) return 0;
  // Some writers left-justify or pad with zeros; digits with blanks around are accepted as is.
  const auto v = parse_uint(t);
  if (!v) {
    ctx.fail(ErrorKind::invalid, "bad_header_offset",
             std::string("HEADER ") + what + " offset is not a number: '" + std::string(field) + "'", at);
  }
  return *v;
}

}  // namespace

Header parse_header(std::span<const std::byte> bytes, std::uint64_t base, Context& ctx) {
  const std::string_view text = as_text(bytes);
  if (text.size() < 6 || text.substr(0, 3) != "FCS") {
    ctx.fail(ErrorKind::invalid, "not_fcs",
             "not an FCS file: the first bytes are not \"FCS\" followed by a version", base);
  }
  if (text.size() < header_size) {
    ctx.fail(ErrorKind::invalid, "truncated_header",
             "file ends inside the 58-byte HEADER (" + std::to_string(text.size()) + " bytes)", base);
  }
  Header h;
  h.version_text = std::string(text.substr(0, 6));
  const std::string_view v = text.substr(3, 3);
  if (v == "2.0") h.version = Version::fcs2_0;
  else if (v == "3.0") h.version = Version::fcs3_0;
  else if (v == "3.1") h.version = Version::fcs3_1;
  else if (v == "3.2") h.version = Version::fcs3_2;
  else
    ctx.fail(ErrorKind::unsupported, "unknown_version",
             "unknown FCS version '" + h.version_text + "' (supported: FCS2.0, 3.0, 3.1, 3.2)", base);

  if (trim(text.substr(6, 4)) != "")
    ctx.info("header_spaces", "bytes 6-9 of the HEADER are not blanks", base + 6);

  h.text_begin = offset_field(text.substr(10, 8), base + 10, "TEXT begin", ctx);
  h.text_end = offset_field(text.substr(18, 8), base + 18, "TEXT end", ctx);
  h.data_begin = offset_field(text.substr(26, 8), base + 26, "DATA begin", ctx);
  h.data_end = offset_field(text.substr(34, 8), base + 34, "DATA end", ctx);
  h.analysis_begin = offset_field(text.substr(42, 8), base + 42, "ANALYSIS begin", ctx);
  h.analysis_end = offset_field(text.substr(50, 8), base + 50, "ANALYSIS end", ctx);
  return h;
}

}  // namespace fcs::detail
