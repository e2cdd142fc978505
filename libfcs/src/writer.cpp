// SPDX-License-Identifier: Apache-2.0
#include "fcs/writer.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>
#include <system_error>
#include <unordered_set>

#include "fcs/error.hpp"
#include "fcs/keywords.hpp"
#include "value_rules.hpp"

namespace fcs {

namespace {

// FCS 3.1 §3.1: the HEADER is "FCS3.1", four blanks and six 8-character offsets; TEXT follows it
// directly.
constexpr std::uint64_t header_size = 58;
// FCS 3.1 §3.1: an offset that needs more than 8 digits cannot be written in the HEADER.
constexpr std::uint64_t header_offset_max = 99'999'999;
// FCS 3.1 CRC field: a writer that does not compute the CRC writes eight ASCII zeros after the
// last segment.
constexpr std::string_view no_crc = "00000000";

[[noreturn]] void reject(std::string code, std::string message, std::string keyword = {}) {
  Issue issue;
  issue.code = std::move(code);
  issue.severity = Severity::error;
  issue.message = std::move(message);
  issue.keyword = std::move(keyword);
  throw Error(ErrorKind::argument, std::move(issue));
}

[[noreturn]] void io_failure(const std::filesystem::path& path, std::string message) {
  Issue issue;
  issue.code = "write_io";
  issue.severity = Severity::error;
  issue.message = std::move(message);
  throw Error(ErrorKind::io, std::move(issue), path.string());
}

std::string printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string(1, c);
  static constexpr char hex[] = "0123456789abcdef";
  return std::string("\\x") + hex[u >> 4] + hex[u & 0xf];
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// FCS 3.1 §3.2 required keywords: the writer produces these itself; a caller's copy would
// contradict them.
bool is_writer_owned(std::string_view name) {
  static constexpr std::array<std::string_view, 13> fixed = {
      "$BEGINANALYSIS", "$ENDANALYSIS", "$BEGINSTEXT", "$ENDSTEXT", "$BEGINDATA",
      "$ENDDATA",       "$NEXTDATA",    "$BYTEORD",    "$DATATYPE", "$MODE",
      "$PAR",           "$TOT",         "$SPILLOVER",
  };
  for (const std::string_view f : fixed) {
    if (iequals(name, f)) return true;
  }
  // $PnN, $PnS, $PnB, $PnE, $PnR, $PnG describe the written DATA. FCS 3.2's $PnDATATYPE is
  // refused too: a newer reader would let it override $DATATYPE F.
  if (name.size() < 4 || name[0] != '$' || (name[1] != 'P' && name[1] != 'p') || !is_digit(name[2])) {
    return false;
  }
  std::size_t i = 2;
  while (i < name.size() && is_digit(name[i])) ++i;
  const std::string_view suffix = name.substr(i);
  static constexpr std::array<std::string_view, 7> per_parameter = {"N", "S", "B", "E",
                                                                    "R", "G", "DATATYPE"};
  for (const std::string_view s : per_parameter) {
    if (iequals(suffix, s)) return true;
  }
  return false;
}

// Shortest text that parses back to exactly `v` (std::to_chars guarantees the round trip).
std::string format_shortest(double v) {
  std::array<char, 64> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), res.ptr);
}

// $PnR and $PnG in plain decimal when that is short (262144 and 1000000, not 2.62144e+05 or
// 1e+06): FCS 3.1 ($PnR) defines it as a number of channels, and readers that expect an
// integer there are common. Very large or small values keep the exponent form.
std::string format_decimal(double v) {
  const double mag = std::fabs(v);
  if (mag < 1e-4 || mag >= 1e16) return format_shortest(v);
  std::array<char, 64> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed);
  return std::string(buf.data(), res.ptr);
}

std::string parameter_keyword(std::size_t n, char suffix) {
  return "$P" + std::to_string(n) + suffix;
}

// FCS 3.1 ($PnN): names may not contain commas ($SPILLOVER and others list them with
// commas).
void check_channel_name(const std::string& name, std::size_t n) {
  if (name.empty()) {
    reject("write_channel_name", "channel " + std::to_string(n) + " has an empty name",
           parameter_keyword(n, 'N'));
  }
  // Readers trim blanks around $PnN, so such a name would not read back as written.
  if (trim(name).size() != name.size()) {
    reject("write_channel_name", "channel name '" + name + "' has surrounding blanks",
           parameter_keyword(n, 'N'));
  }
  if (name.find(',') != std::string::npos) {
    reject("write_channel_name", "channel name '" + name + "' contains a comma",
           parameter_keyword(n, 'N'));
  }
}

// FCS 3.1 §3.2: keyword names are printable ASCII (32-126). Surrounding blanks are refused as
// well, because readers trim them and the name would not read back as written.
void check_keyword_name(const std::string& name, char delimiter) {
  if (name.empty()) reject("write_keyword_name", "extra keyword with an empty name");
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) {
      reject("write_keyword_name",
             "keyword name contains the non-printable or non-ASCII byte " + printable(c), name);
    }
  }
  if (name.front() == ' ' || name.back() == ' ') {
    reject("write_keyword_name", "keyword name '" + name + "' has surrounding blanks", name);
  }
  // FCS 3.1 §3.2 would allow an escaped delimiter in a name, but readers that must tell escaped
  // delimiters from empty values written as doubled delimiters (flowCore's emptyValue, the
  // empty_keyword_value repair) take such a name as proof of the latter and misread the TEXT.
  if (name.find(delimiter) != std::string::npos) {
    reject("write_keyword_name",
           "keyword name '" + name + "' contains the delimiter '" + printable(delimiter) + "'", name);
  }
}

void check_request(const WriteRequest& request) {
  const auto delim = static_cast<unsigned char>(request.delimiter);
  // FCS 3.1 §3.2: the delimiter is an ASCII character from 1 to 126.
  if (delim == 0 || delim > 126) {
    reject("write_delimiter",
           "the delimiter must be an ASCII character 1-126, not " + printable(request.delimiter));
  }
  if (request.channels.empty()) reject("write_no_channels", "no channels to write");
  if (request.columns.size() != request.channels.size()) {
    reject("write_column_count", std::to_string(request.channels.size()) + " channels but " +
                                     std::to_string(request.columns.size()) + " columns");
  }
  const std::size_t rows = request.columns.front().size();

  std::unordered_set<std::string> names;
  for (std::size_t i = 0; i < request.channels.size(); ++i) {
    const WriteChannel& ch = request.channels[i];
    const std::size_t n = i + 1;
    check_channel_name(ch.name, n);
    if (!names.insert(ch.name).second) {
      reject("write_duplicate_channel", "channel name '" + ch.name + "' is used twice",
             parameter_keyword(n, 'N'));
    }
    if (request.columns[i].size() != rows) {
      reject("write_column_length", "column " + std::to_string(n) + " ('" + ch.name + "') has " +
                                        std::to_string(request.columns[i].size()) +
                                        " events, column 1 has " + std::to_string(rows));
    }
    if (!std::isfinite(ch.range) || ch.range <= 0) {
      reject("write_range", "range of channel '" + ch.name + "' must be a positive number",
             parameter_keyword(n, 'R'));
    }
    if (!std::isfinite(ch.gain) || ch.gain <= 0) {
      reject("write_gain", "gain of channel '" + ch.name + "' must be a positive number",
             parameter_keyword(n, 'G'));
    }
  }

  std::unordered_set<std::string> seen;
  for (const auto& [name, value] : request.keywords) {
    check_keyword_name(name, request.delimiter);
    if (is_writer_owned(name)) {
      reject("write_reserved_keyword", "keyword " + name + " is written by the writer itself",
             name);
    }
    // A reader following flowCore prefers SPILL and spillover to $SPILLOVER, so either would
    // silently replace the matrix the caller asked for.
    if (request.spillover && (iequals(name, "SPILL") || iequals(name, "spillover"))) {
      reject("write_reserved_keyword",
             "keyword " + name + " would shadow the $SPILLOVER written from the request", name);
    }
    std::string upper = name;
    for (char& c : upper) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    // FCS 3.1 §3.2: names are case-insensitive and may appear once.
    if (!seen.insert(upper).second) {
      reject("write_duplicate_keyword", "keyword " + name + " is given twice", name);
    }
  }

  if (request.spillover) {
    const Spillover& sp = *request.spillover;
    const std::size_t n = sp.channels.size();
    if (n == 0) reject("write_spillover", "spillover matrix has no channels", "$SPILLOVER");
    if (sp.values.size() != n * n) {
      reject("write_spillover",
             "spillover matrix over " + std::to_string(n) + " channels needs " +
                 std::to_string(n * n) + " values, has " + std::to_string(sp.values.size()),
             "$SPILLOVER");
    }
    std::unordered_set<std::string> sp_names;
    for (const std::string& name : sp.channels) {
      if (names.count(name) == 0) {
        reject("write_spillover", "spillover channel '" + name + "' is not a written channel",
               "$SPILLOVER");
      }
      if (!sp_names.insert(name).second) {
        reject("write_spillover", "spillover channel '" + name + "' is listed twice",
               "$SPILLOVER");
      }
    }
    for (const double v : sp.values) {
      if (!std::isfinite(v)) {
        reject("write_spillover", "spillover matrix holds a non-finite value", "$SPILLOVER");
      }
    }
  }
}

// Keyword/value text of a TEXT segment. FCS 3.1 §3.2: every keyword and value is followed by the
// delimiter, and a delimiter inside a keyword or value is written twice.
class TextBuilder {
 public:
  explicit TextBuilder(char delimiter) : delim_(delimiter) {}

  void add(std::string_view name, std::string_view value) {
    append(name, name);
    // FCS 3.1 §3.2: values may not be empty (two delimiters in a row always mean an escaped
    // delimiter), so an empty value is written as one blank.
    append(value.empty() ? std::string_view(" ") : value, name);
  }

  [[nodiscard]] const std::string& str() const noexcept { return text_; }

 private:
  void append(std::string_view token, std::string_view keyword) {
    // A token that starts with the delimiter cannot be read back: after the separator, a doubled
    // delimiter reads as an escaped one, so the separator would move to the end of the run.
    if (token.front() == delim_) {
      reject("write_delimiter_in_token",
             "keyword " + std::string(keyword) + " has a name or value starting with the delimiter '" +
                 printable(delim_) + "'; choose another WriteRequest::delimiter",
             std::string(keyword));
    }
    for (const char c : token) {
      text_ += c;
      if (c == delim_) text_ += c;
    }
    text_ += delim_;
  }

  char delim_;
  std::string text_;
};

std::string spillover_value(const Spillover& sp) {
  // FCS 3.1 $SPILLOVER: n, the n parameter names, then the n*n values row by row.
  std::string out = std::to_string(sp.channels.size());
  for (const std::string& name : sp.channels) {
    out += ',';
    out += name;
  }
  for (const double v : sp.values) {
    out += ',';
    out += format_shortest(v);
  }
  return out;
}

// Everything in TEXT after the offset keywords (which depend on the TEXT length).
std::string text_body(const WriteRequest& request, std::size_t rows) {
  TextBuilder tb(request.delimiter);
  // FCS 3.1 §3.2 required keywords. $BYTEORD in FCS 3.1 only names the endianness.
  tb.add("$BYTEORD", request.byte_order == ByteOrder::little ? "1,2,3,4" : "4,3,2,1");
  tb.add("$DATATYPE", "F");
  tb.add("$MODE", "L");
  tb.add("$NEXTDATA", "0");
  tb.add("$PAR", std::to_string(request.channels.size()));
  tb.add("$TOT", std::to_string(rows));
  for (std::size_t i = 0; i < request.channels.size(); ++i) {
    const WriteChannel& ch = request.channels[i];
    const std::size_t n = i + 1;
    tb.add(parameter_keyword(n, 'N'), ch.name);
    // An empty marker means no marker: $PnS is optional, and a blank one would read back as " ".
    if (ch.marker && !ch.marker->empty()) tb.add(parameter_keyword(n, 'S'), *ch.marker);
    tb.add(parameter_keyword(n, 'B'), "32");
    // FCS 3.1 ($PnE): floating-point data is linear, $PnE is 0,0.
    tb.add(parameter_keyword(n, 'E'), "0,0");
    tb.add(parameter_keyword(n, 'R'), format_decimal(ch.range));
    if (ch.gain != 1) tb.add(parameter_keyword(n, 'G'), format_decimal(ch.gain));
  }
  if (request.spillover) tb.add("$SPILLOVER", spillover_value(*request.spillover));
  for (const auto& [name, value] : request.keywords) tb.add(name, value);
  return tb.str();
}

std::string text_offsets(char delimiter, std::uint64_t data_begin, std::uint64_t data_end) {
  TextBuilder tb(delimiter);
  // No ANALYSIS and no supplemental TEXT: FCS 3.1 §3.2 still requires their keywords, as 0.
  tb.add("$BEGINANALYSIS", "0");
  tb.add("$ENDANALYSIS", "0");
  tb.add("$BEGINSTEXT", "0");
  tb.add("$ENDSTEXT", "0");
  tb.add("$BEGINDATA", std::to_string(data_begin));
  tb.add("$ENDDATA", std::to_string(data_end));
  return tb.str();
}

void put_offset(std::string& header, std::uint64_t value) {
  // FCS 3.1 §3.1: offsets are right-justified in 8-byte ASCII fields, blank-padded.
  const std::string digits = std::to_string(value);
  header.append(8 - digits.size(), ' ');
  header += digits;
}

std::uint32_t byteswap32(std::uint32_t v) noexcept {
  return (v >> 24) | ((v >> 8) & 0x0000ff00U) | ((v << 8) & 0x00ff0000U) | (v << 24);
}

void encode_events(const WriteRequest& request, std::size_t rows, std::byte* out) {
  const std::size_t cols = request.columns.size();
  const bool want_little = request.byte_order == ByteOrder::little;
  const bool swap = want_little != (std::endian::native == std::endian::little);
  // FCS 3.1 §3.3: list mode stores events one after the other, each with its $PAR values in
  // parameter order, so the column-major input is transposed here.
  for (std::size_t c = 0; c < cols; ++c) {
    const std::span<const float> col = request.columns[c];
    std::byte* dst = out + c * 4;
    const std::size_t stride = cols * 4;
    for (std::size_t r = 0; r < rows; ++r, dst += stride) {
      std::uint32_t bits = std::bit_cast<std::uint32_t>(col[r]);
      if (swap) bits = byteswap32(bits);
      std::memcpy(dst, &bits, 4);
    }
  }
}

// Delimiters tried by request_from_dataset, most conventional first.
constexpr std::string_view delimiter_candidates = "/|\\!#^~*@;:&%+=?<>`'\"";

// A delimiter that no keyword name holds and no value starts with (both required, see
// check_keyword_name and TextBuilder) and, if possible, that no value holds (nothing to escape).
char choose_delimiter(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  char fallback = 0;
  for (const char d : delimiter_candidates) {
    const auto holds = [d](const std::string& t) { return t.find(d) != std::string::npos; };
    const auto starts = [d](const std::string& t) { return !t.empty() && t.front() == d; };
    if (std::any_of(names.begin(), names.end(), holds) ||
        std::any_of(values.begin(), values.end(), starts)) {
      continue;
    }
    if (std::none_of(values.begin(), values.end(), holds)) return d;
    if (fallback == 0) fallback = d;
  }
  return fallback != 0 ? fallback : '/';
}

// Keywords a rewritten file must not carry over: the writer produces them from the new layout,
// or they describe the old file's layout or its spillover (replaced by `spillover`).
bool is_structural(std::string_view name) {
  if (is_writer_owned(name)) return true;
  static constexpr std::array<std::string_view, 5> dropped = {
      "SPILL", "spillover",
      // Non-standard offsets of TEXT itself that some instruments add (Beckman Navios).
      "$BEGINTEXT", "$ENDTEXT",
      // Read as the data set's already_transformed flag; the values are rewritten as read.
      "transformation",
  };
  for (const std::string_view d : dropped) {
    if (iequals(name, d)) return true;
  }
  // flowCore's read.FCS adds FILENAME and flowCore_* keywords ($PnRmax/$PnRmin, PnG scaling)
  // that describe its own reading, not the acquisition.
  if (iequals(name, "FILENAME")) return true;
  return name.size() >= 9 && iequals(name.substr(0, 9), "flowCore_");
}

}  // namespace

std::vector<std::byte> write_bytes(const WriteRequest& request) {
  check_request(request);
  const std::size_t rows = request.columns.front().size();
  const std::size_t cols = request.columns.size();
  if (rows > std::numeric_limits<std::uint64_t>::max() / 4 / cols) {
    reject("write_too_large", "too many events to address");
  }
  const std::uint64_t data_size = static_cast<std::uint64_t>(rows) * cols * 4;

  const std::string body = text_body(request, rows);
  // FCS 3.1 §3.2: $BEGINDATA/$ENDDATA sit inside TEXT, whose length depends on their digits.
  // Both only grow as the other grows, so this reaches a fixed point within a few rounds.
  std::uint64_t data_begin = 0;
  std::uint64_t data_end = 0;
  std::string text;
  for (;;) {
    text.assign(1, request.delimiter);
    text += text_offsets(request.delimiter, data_begin, data_end);
    text += body;
    const std::uint64_t text_end = header_size + text.size() - 1;
    // FCS 3.1 §3.2: an absent segment has offsets 0,0 (no events means no DATA bytes).
    const std::uint64_t begin = data_size == 0 ? 0 : text_end + 1;
    const std::uint64_t end = data_size == 0 ? 0 : begin + data_size - 1;
    if (begin == data_begin && end == data_end) break;
    data_begin = begin;
    data_end = end;
  }
  const std::uint64_t text_end = header_size + text.size() - 1;
  if (text_end > header_offset_max) {
    reject("write_too_large", "TEXT would end beyond byte 99,999,999, which the HEADER cannot address");
  }

  std::string header = "FCS3.1    ";
  put_offset(header, header_size);
  put_offset(header, text_end);
  // FCS 3.1 §3.1: a DATA segment beyond the HEADER's 8 digits is given as 0,0 there and found
  // through $BEGINDATA/$ENDDATA.
  const bool data_in_header = data_end <= header_offset_max;
  put_offset(header, data_in_header ? data_begin : 0);
  put_offset(header, data_in_header ? data_end : 0);
  put_offset(header, 0);
  put_offset(header, 0);

  const std::uint64_t total = header_size + text.size() + data_size + no_crc.size();
  if (total > std::numeric_limits<std::size_t>::max()) {
    reject("write_too_large", "the file would not fit in memory");
  }
  std::vector<std::byte> out(static_cast<std::size_t>(total));
  std::byte* p = out.data();
  std::memcpy(p, header.data(), header.size());
  p += header.size();
  std::memcpy(p, text.data(), text.size());
  p += text.size();
  encode_events(request, rows, p);
  p += data_size;
  std::memcpy(p, no_crc.data(), no_crc.size());
  return out;
}

void write_file(const std::filesystem::path& path, const WriteRequest& request) {
  const std::vector<std::byte> bytes = write_bytes(request);

  // Written under a temporary name and renamed, so a reader never sees a half-written file
  // and an existing file survives a failed write.
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  std::FILE* f = std::fopen(tmp.string().c_str(), "wb");
  if (f == nullptr) {
    const std::error_code ec(errno, std::generic_category());
    io_failure(path, "cannot create " + tmp.string() + ": " + ec.message());
  }
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const int write_errno = errno;
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed) {
    const std::error_code ec(written ? errno : write_errno, std::generic_category());
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    io_failure(path, "cannot write " + tmp.string() + ": " + ec.message());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    io_failure(path, "cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
  }
}

WriteRequest request_from_dataset(const Dataset& dataset, std::vector<std::vector<float>>& storage, Issues* notes) {
  auto note = [&](std::string code, std::string message, std::string keyword) {
    if (notes != nullptr)
      notes->push_back(Issue{std::move(code), Severity::warning, std::move(message), std::nullopt, std::move(keyword),
                             dataset.number});
  };
  // The values are written as read: decoded, scaled or not. A file whose values were linearized
  // says so the way flowCore does (transformation=applied, flowCore_$PnRmax/min), so that neither
  // flowmrd nor flowCore decodes, clips or divides them a second time when reading it back.
  const auto decoded = [&](const Channel& ch) {
    return detail::log_decoded(ch, dataset.transformation, dataset.already_transformed);
  };
  const auto scaled = [&](const Channel& ch) {
    return detail::gain_divided(ch, dataset.transformation, dataset.already_transformed);
  };
  // Only a decoded or gain-divided channel changes what a re-read would compute; clipping at $PnR
  // is idempotent, so plain float files are written without flowCore's markers.
  const bool mark_applied = std::any_of(dataset.channels.begin(), dataset.channels.end(),
                                        [&](const Channel& ch) { return decoded(ch) || scaled(ch); });
  const std::size_t n = dataset.channels.size();
  const EventMatrix& ev = dataset.events;
  storage.assign(n, {});
  if (ev.cols() == n) {
    for (std::size_t c = 0; c < n; ++c) {
      std::vector<float>& dst = storage[c];
      if (ev.type(c) == ColumnType::f32) {
        const std::span<const float> src = ev.f32(c);
        dst.assign(src.begin(), src.end());
      } else {
        const std::span<const double> src = ev.f64(c);
        dst.resize(src.size());
        for (std::size_t r = 0; r < src.size(); ++r) dst[r] = static_cast<float>(src[r]);
      }
    }
  } else if (!(ev.cols() == 0 && dataset.event_count == 0)) {
    reject("write_no_events",
           "data set " + std::to_string(dataset.number) + " has " + std::to_string(ev.cols()) +
               " event columns for " + std::to_string(n) + " channels (read with skip_events?)");
  }

  WriteRequest req;
  req.byte_order = dataset.byte_order;
  req.channels.reserve(n);
  req.columns.reserve(n);
  for (std::size_t c = 0; c < n; ++c) {
    const Channel& ch = dataset.channels[c];
    WriteChannel wc;
    wc.name = ch.name;
    // FCS 3.1 §3.2.20: $PnN may not hold commas ($SPILLOVER lists names with commas).
    if (wc.name.find(',') != std::string::npos) {
      std::replace(wc.name.begin(), wc.name.end(), ',', ';');
      note("renamed_channel", "channel name '" + ch.name + "' holds commas, which FCS 3.1 forbids in $PnN; written as '" +
                                  wc.name + "'", "$P" + std::to_string(ch.index) + "N");
    }
    if (ch.marker && !trim(*ch.marker).empty()) wc.marker = ch.marker;
    // A log-decoded channel spans up to 10^f1 x f2, beyond its stored $PnR.
    wc.range = decoded(ch) ? std::max(ch.range, std::ceil(ch.max_range)) : ch.range;
    // Some instruments write $PnG 0 for channels without an amplifier; that is no gain at all,
    // and FCS 3.1 ($PnG) makes an absent gain mean 1. A gain already divided out is written as 1.
    wc.gain = scaled(ch) ? 1 : (std::isfinite(ch.gain) && ch.gain > 0 ? ch.gain : 1);
    req.channels.push_back(std::move(wc));
    req.columns.emplace_back(storage[c]);
  }

  for (const Keyword& kw : dataset.keywords) {
    // A file flowCore wrote keeps its own transformation keywords (they still describe the values).
    const bool flowcore_kept = dataset.already_transformed &&
                               (iequals(kw.name, "transformation") ||
                                (kw.name.size() >= 9 && iequals(std::string_view(kw.name).substr(0, 9), "flowCore_")));
    if (is_structural(kw.name) && !flowcore_kept) continue;
    req.keywords.emplace_back(kw.name, kw.value);
  }
  if (mark_applied) {
    req.keywords.emplace_back("transformation", "applied");
    for (const Channel& ch : dataset.channels) {
      const std::string p = "flowCore_$P" + std::to_string(ch.index);
      req.keywords.emplace_back(p + "Rmax", format_shortest(ch.max_range));
      req.keywords.emplace_back(p + "Rmin", format_shortest(ch.min_range));
    }
  }
  // A matrix naming channels this data set does not have cannot compensate its events, and
  // FCS 3.1 ($SPILLOVER) requires it to name $PnN values, so it is not carried over.
  if (const Spillover* sp = dataset.spillover()) {
    const bool all_known = std::all_of(sp->channels.begin(), sp->channels.end(), [&](const std::string& name) {
      return dataset.find_channel(name) >= 0;
    });
    if (all_known) {
      req.spillover = *sp;
      req.spillover->source_keyword = "$SPILLOVER";
      for (std::string& name : req.spillover->channels) std::replace(name.begin(), name.end(), ',', ';');
    } else {
      note("spillover_dropped", "spillover matrix names channels this data set lacks; not written", sp->source_keyword);
    }
  }

  std::vector<std::string> names;
  std::vector<std::string> values;
  for (const WriteChannel& wc : req.channels) {
    values.push_back(wc.name);
    if (wc.marker) values.push_back(*wc.marker);
  }
  for (const auto& [name, value] : req.keywords) {
    names.push_back(name);
    values.push_back(value);
  }
  if (req.spillover) values.push_back(spillover_value(*req.spillover));
  req.delimiter = choose_delimiter(names, values);
  return req;
}

}  // namespace fcs
