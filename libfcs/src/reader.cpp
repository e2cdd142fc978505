// SPDX-License-Identifier: Apache-2.0
// The reader: HEADER -> TEXT -> channels and layout -> DATA, for each data set of the
// $NEXTDATA chain. Each stage checks offsets and sizes against the bytes available before use.
#include "fcs/reader.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "byte_source.hpp"
#include "channels.hpp"
#include "context.hpp"
#include "decode.hpp"
#include "header.hpp"
#include "text.hpp"
#include "value_rules.hpp"

namespace fcs {

std::string to_string(Version v) {
  switch (v) {
    case Version::fcs2_0: return "FCS2.0";
    case Version::fcs3_0: return "FCS3.0";
    case Version::fcs3_1: return "FCS3.1";
    case Version::fcs3_2: return "FCS3.2";
  }
  return "FCS?";
}

int Dataset::find_channel(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < channels.size(); ++i)
    if (channels[i].name == name) return static_cast<int>(i);
  return -1;
}

namespace detail {
namespace {

using Bytes = std::span<const std::byte>;

// The TEXT-level facts of one data set, gathered before any DATA is touched.
struct Parsed {
  Dataset ds;
  Header header;
  std::uint64_t next = 0;  // absolute offset of the next data set, 0 = none
};

// A segment given relative to the data set start, made absolute and checked against the file.
Segment absolute(std::uint64_t base, std::uint64_t begin, std::uint64_t end) {
  if (begin == 0 && end == 0) return {};
  return Segment{base + begin, base + end};
}

// Where a keyword sits in the file, for issue locations (nullopt when it is absent).
std::optional<std::uint64_t> keyword_offset(const Keywords& kw, std::string_view name) {
  const Keyword* k = kw.find(name);
  return k ? std::optional<std::uint64_t>(k->offset) : std::nullopt;
}

bool inside(const Segment& s, std::uint64_t file_size) {
  return !s.empty() && s.end < file_size;
}

Parsed parse_text_level(Bytes file, std::uint64_t base, int number, Context& ctx) {
  Parsed p;
  Dataset& ds = p.ds;
  ds.number = number;
  ds.offset = base;
  p.header = parse_header(file.subspan(base), base, ctx);
  ds.version = p.header.version;

  // Primary TEXT.
  Segment text = absolute(base, p.header.text_begin, p.header.text_end);
  if (text.empty() || p.header.text_begin < header_size) {
    ctx.fail(ErrorKind::invalid, "bad_text_offsets",
             "HEADER gives no valid TEXT segment (begin " + std::to_string(p.header.text_begin) + ", end " +
                 std::to_string(p.header.text_end) + ")",
             base + 10);
  }
  if (text.end >= file.size()) {
    ctx.fail(ErrorKind::invalid, "truncated_text",
             "TEXT segment ends at byte " + std::to_string(text.end) + " but the file has only " +
                 std::to_string(file.size()) + " bytes",
             base + 18);
  }
  ds.text = text;
  parse_text(file.subspan(text.begin, text.size()), text.begin, false, ds.keywords, ctx);

  // Supplemental TEXT (FCS 3.0+), offsets relative to the data set start.
  const auto sb = ds.keywords.get_uint("$BEGINSTEXT").value_or(0);
  const auto se = ds.keywords.get_uint("$ENDSTEXT").value_or(0);
  if (sb != 0 || se != 0) {
    Segment st = absolute(base, sb, se);
    if (inside(st, file.size()) && !(st.begin <= text.end && text.begin <= st.end)) {
      ds.supplemental_text = st;
      parse_text(file.subspan(st.begin, st.size()), st.begin, true, ds.keywords, ctx);
    } else if (!(st.begin == text.begin && st.end == text.end)) {
      ctx.warn("bad_supplemental_text",
               "supplemental TEXT offsets " + std::to_string(sb) + "-" + std::to_string(se) +
                   " are outside the file or overlap TEXT; ignored",
               keyword_offset(ds.keywords, ds.keywords.contains("$BEGINSTEXT") ? "$BEGINSTEXT" : "$ENDSTEXT"),
               "$BEGINSTEXT");
    }
  }

  // $NEXTDATA: the offset of the next data set, relative to this one's start.
  if (auto nd = ds.keywords.get_uint("$NEXTDATA"); nd && *nd != 0) {
    const std::uint64_t next = base + *nd;
    if (next + header_size <= file.size() && *nd >= header_size) {
      p.next = next;
    } else {
      const Keyword* k = ds.keywords.find("$NEXTDATA");
      if (!ctx.allowed(&Repairs::bad_nextdata))
        ctx.fail(ErrorKind::invalid, "bad_nextdata",
                 "$NEXTDATA = " + k->value + " points outside the file", k->offset, "$NEXTDATA");
      ctx.warn("bad_nextdata", "$NEXTDATA = " + k->value + " points outside the file; chain ends here",
               k->offset, "$NEXTDATA");
    }
  } else if (ds.keywords.find("$NEXTDATA") && !ds.keywords.get_uint("$NEXTDATA")) {
    ctx.warn("bad_nextdata", "$NEXTDATA is not a number; chain ends here",
             ds.keywords.find("$NEXTDATA")->offset, "$NEXTDATA");
  }
  return p;
}

char read_datatype(const Keywords& kw, Context& ctx) {
  const Keyword* k = kw.find("$DATATYPE");
  if (k) {
    const std::string v(trim(k->value));
    if (v.size() == 1) {
      const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(v[0])));
      if (c == 'I' || c == 'F' || c == 'D' || c == 'A') return c;
    }
    ctx.fail(ErrorKind::unsupported, "bad_datatype", "unknown $DATATYPE '" + k->value + "'", k->offset,
             "$DATATYPE");
  }
  if (!ctx.allowed(&Repairs::missing_datatype))
    ctx.fail(ErrorKind::invalid, "missing_datatype", "required keyword $DATATYPE is missing", std::nullopt,
             "$DATATYPE");
  // Most writers that omit it store integers; a 32-bit $P1B suggests float.
  const auto b1 = kw.get_uint("$P1B").value_or(16);
  const char guess = b1 == 32 ? 'F' : 'I';
  ctx.warn("missing_datatype", std::string("$DATATYPE missing; assumed '") + guess + "' from $P1B",
           std::nullopt, "$DATATYPE");
  return guess;
}

ByteOrder read_byte_order(const Keywords& kw, Context& ctx) {
  const Keyword* k = kw.find("$BYTEORD");
  if (!k) {
    if (!ctx.allowed(&Repairs::missing_byteord))
      ctx.fail(ErrorKind::invalid, "missing_byteord", "required keyword $BYTEORD is missing", std::nullopt, "$BYTEORD");
    ctx.warn("missing_byteord", "$BYTEORD missing; little-endian assumed", std::nullopt, "$BYTEORD");
    return ByteOrder::little;
  }
  std::string v;
  for (char c : k->value)
    if (c != ' ') v += c;
  if (v == "1,2,3,4" || v == "1,2" || v == "1" || v == "1,2,3,4,5,6,7,8") return ByteOrder::little;
  if (v == "4,3,2,1" || v == "2,1" || v == "8,7,6,5,4,3,2,1") return ByteOrder::big;
  ctx.fail(ErrorKind::unsupported, "bad_byteord",
           "$BYTEORD '" + k->value + "' is not supported (only 1,2,3,4 / 4,3,2,1 / 1,2 / 2,1)", k->offset,
           "$BYTEORD");
}

// Choose the DATA segment from HEADER and TEXT offsets. FCS 3.1 §3.1: HEADER fields may be 0
// (or blank) when the offsets only fit in TEXT; FCS 2.0 has no $BEGINDATA/$ENDDATA.
Segment choose_data_segment(const Parsed& p, std::uint64_t file_size, std::uint64_t expected, Context& ctx) {
  const Dataset& ds = p.ds;
  const std::uint64_t base = ds.offset;
  const std::uint64_t hb = p.header.data_begin, he = p.header.data_end;
  const Segment from_header = absolute(base, hb, he);
  if (ds.version == Version::fcs2_0) {
    if (from_header.empty() && expected > 0)
      ctx.fail(ErrorKind::invalid, "missing_data_offsets", "HEADER gives no DATA segment", base + 26);
    return from_header;
  }

  const Keyword* kb = ds.keywords.find("$BEGINDATA");
  const Keyword* ke = ds.keywords.find("$ENDDATA");
  const auto b = kb ? parse_uint(kb->value) : std::nullopt;
  const auto e = ke ? parse_uint(ke->value) : std::nullopt;
  if (!b || !e) {
    if (from_header.empty()) {
      if (expected == 0) return {};
      ctx.fail(ErrorKind::invalid, "missing_data_offsets",
               "neither HEADER nor $BEGINDATA/$ENDDATA give the DATA segment", base + 26);
    }
    if (!ctx.allowed(&Repairs::missing_data_keywords))
      ctx.fail(ErrorKind::invalid, "missing_data_keywords", "required keywords $BEGINDATA/$ENDDATA are missing or not numbers",
               std::nullopt, "$BEGINDATA");
    ctx.warn("missing_data_keywords", "$BEGINDATA/$ENDDATA missing or not numbers; HEADER offsets used", std::nullopt,
             "$BEGINDATA");
    return from_header;
  }
  const Segment from_text = absolute(base, *b, *e);
  // HEADER 0 (or blank) means "see TEXT"; 99999999 is what writers put when the offset is larger.
  if (hb == 0 || he == 0 || he == 99'999'999) return from_text;
  if (from_text.begin == from_header.begin && from_text.end == from_header.end) return from_header;

  // HEADER and TEXT disagree. The right pair lies inside the file, outside TEXT, and spans
  // $TOT x event width (writers are often one byte long at the end).
  auto fits = [&](const Segment& s) {
    const bool in_file = !s.empty() && s.begin < file_size && s.end <= file_size;
    const bool clear_of_text = s.begin > ds.text.end || s.end < ds.text.begin;
    const bool right_size = expected == 0 || s.size() == expected || s.size() == expected + 1;
    return in_file && clear_of_text && right_size;
  };
  const bool h_ok = fits(from_header);
  const bool t_ok = fits(from_text);
  const std::string detail = "HEADER says " + std::to_string(hb) + "-" + std::to_string(he) + ", TEXT says " +
                             std::to_string(*b) + "-" + std::to_string(*e);
  if (!ctx.allowed(&Repairs::data_offset_mismatch))
    ctx.fail(ErrorKind::invalid, "data_offset_mismatch", "HEADER and TEXT disagree on the DATA segment: " + detail,
             kb->offset, "$BEGINDATA");
  const bool use_header = h_ok || !t_ok;  // flowCore's ignore.text.offset=TRUE trusts HEADER
  ctx.warn("data_offset_mismatch",
           "HEADER and TEXT disagree on the DATA segment (" + detail + "); " + (use_header ? "HEADER" : "TEXT") +
               " used" + ((use_header ? h_ok : t_ok) ? ": it spans $TOT x event width outside TEXT" : ""),
           kb->offset, "$BEGINDATA");
  return use_header ? from_header : from_text;
}

// Everything from channels to events for one data set.
void read_data_level(Bytes file, Parsed& p, const ReadOptions& options, const MappedFile* mapped, Context& ctx) {
  Dataset& ds = p.ds;
  const Keywords& kw = ds.keywords;

  if (const Keyword* m = kw.find("$MODE")) {
    const std::string v(trim(m->value));
    ds.mode = v.empty() ? 'L' : static_cast<char>(std::toupper(static_cast<unsigned char>(v[0])));
  }
  if (auto t = kw.get_trimmed("transformation"); t && (iequals(*t, "applied") || iequals(*t, "custom")))
    ds.already_transformed = true;

  ds.datatype = read_datatype(kw, ctx);
  ds.byte_order = read_byte_order(kw, ctx);
  ds.channels = read_channels(kw, ds.datatype, ds.version, ctx);

  std::uint64_t width = event_width(ds.channels);
  const auto tot_kw = kw.get_uint("$TOT");

  // Expected DATA length, for choosing between conflicting offsets.
  const std::uint64_t expected =
      (tot_kw && width) ? (*tot_kw > UINT64_MAX / width ? UINT64_MAX : *tot_kw * width) : 0;
  Segment data = choose_data_segment(p, file.size(), expected, ctx);
  if (!data.empty() && data.end >= file.size()) {
    if (data.begin >= file.size() || !ctx.allowed(&Repairs::data_end_past_eof)) {
      ctx.fail(ErrorKind::invalid, "truncated_data",
               "DATA segment " + std::to_string(data.begin) + "-" + std::to_string(data.end) +
                   " extends past the end of the file (" + std::to_string(file.size()) + " bytes): file truncated",
               data.begin);
    }
    // Reading what is there is safe: the length check below still demands $TOT x width bytes.
    ctx.warn("data_end_past_eof",
             "DATA end offset " + std::to_string(data.end) + " is past the end of the file (" +
                 std::to_string(file.size()) + " bytes); read up to the end",
             data.end);
    data.end = file.size() - 1;
  }
  if (!data.empty() && data.begin <= ds.text.end && data.end >= ds.text.begin) {
    ctx.fail(ErrorKind::invalid, "data_overlaps_text", "DATA segment overlaps TEXT", data.begin);
  }
  ds.data = data;

  if (ds.mode != 'L') {
    const bool list_fits = width != 0 && tot_kw && data.size() >= *tot_kw * width && data.size() <= *tot_kw * width + 1;
    if (!list_fits)
      ctx.fail(ErrorKind::unsupported, "unsupported_mode",
               std::string("$MODE ") + ds.mode + " (histogram data) is not supported; only list mode (L) is",
               kw.find("$MODE")->offset, "$MODE");
    if (!ctx.allowed(&Repairs::mode_as_list))
      ctx.fail(ErrorKind::unsupported, "mode_as_list",
               std::string("$MODE ") + ds.mode + " is not list mode (repair mode_as_list is off)",
               kw.find("$MODE")->offset, "$MODE");
    ctx.warn("mode_as_list",
             std::string("$MODE ") + ds.mode + " read as list mode: the DATA length is exactly $TOT x event width",
             kw.find("$MODE")->offset, "$MODE");
  }

  // Non-byte widths: real files store them in whole bytes (e.g. Beckman 10-bit values in 16-bit
  // words). When the rounded-up width matches the DATA length, that is how they are read.
  for (const Channel& c : ds.channels) {
    if (c.type == DataType::integer && c.bits % 8 != 0) {
      if (!ctx.allowed(&Repairs::bit_width_from_data_length))
        ctx.fail(ErrorKind::unsupported, "bit_width_from_data_length",
                 "$P" + std::to_string(c.index) + "B = " + std::to_string(c.bits) + " is not a whole number of bytes",
                 kw.find("$P" + std::to_string(c.index) + "B")->offset, "$P" + std::to_string(c.index) + "B");
      ctx.warn("bit_width_from_data_length",
               "$P" + std::to_string(c.index) + "B = " + std::to_string(c.bits) + " read as " +
                   std::to_string(c.storage_bits) + "-bit words",
               kw.find("$P" + std::to_string(c.index) + "B")->offset, "$P" + std::to_string(c.index) + "B");
    }
  }

  // Event count.
  std::uint64_t events = 0;
  if (tot_kw) {
    events = *tot_kw;
  } else if (width != 0) {
    events = data.size() / width;
    if (ds.version == Version::fcs2_0) {
      ctx.info("tot_from_data_length", "$TOT absent (optional in FCS 2.0); events counted from the DATA length",
               std::nullopt, "$TOT");
    } else {
      if (!ctx.allowed(&Repairs::missing_tot))
        ctx.fail(ErrorKind::invalid, "missing_tot", "required keyword $TOT is missing", std::nullopt, "$TOT");
      ctx.warn("missing_tot", "$TOT missing; " + std::to_string(events) + " events counted from the DATA length",
               std::nullopt, "$TOT");
    }
  } else {
    ctx.fail(ErrorKind::invalid, "missing_tot", "$TOT is missing and delimited ASCII DATA cannot be counted",
             std::nullopt, "$TOT");
  }

  if (width != 0) {
    const std::uint64_t need = events > UINT64_MAX / width ? UINT64_MAX : events * width;
    if (data.size() < need) {
      ctx.fail(ErrorKind::invalid, "short_data",
               "DATA segment holds " + std::to_string(data.size()) + " bytes but $TOT = " + std::to_string(events) +
                   " events x " + std::to_string(width) + " bytes need " + std::to_string(need),
               data.empty() ? std::optional<std::uint64_t>{} : std::optional<std::uint64_t>(data.begin), "$TOT");
    }
    if (data.size() > need) {
      const std::uint64_t extra = data.size() - need;
      if (!ctx.allowed(&Repairs::data_segment_longer))
        ctx.fail(ErrorKind::invalid, "data_segment_longer",
                 "DATA segment is " + std::to_string(extra) + " byte(s) longer than $TOT x event width", data.end);
      ctx.warn("data_segment_longer",
               extra == 1 ? "DATA end offset points one byte past the data; last byte ignored"
                          : "DATA segment is " + std::to_string(extra) + " bytes longer than $TOT x event width; surplus ignored",
               data.end);
    }
  }

  ds.event_count = events;
  ds.transformation = options.transformation;
  ds.truncated = options.truncate_max_range && values_transformed(options.transformation, ds.already_transformed);
  assign_masks(ds.channels);
  if (options.skip_events) {
    assign_value_ranges(ds.channels, {}, kw, options, ds.already_transformed);
    return;
  }

  const std::uint64_t bytes_out = events * ds.channels.size() * sizeof(double);
  if (ds.channels.size() != 0 && bytes_out / ds.channels.size() / sizeof(double) != events)
    ctx.fail(ErrorKind::invalid, "too_many_events", "event count overflows", std::nullopt, "$TOT");
  if (bytes_out > options.max_event_bytes)
    ctx.fail(ErrorKind::argument, "too_many_events",
             "events would need " + std::to_string(bytes_out) + " bytes, over the reader's limit of " +
                 std::to_string(options.max_event_bytes),
             std::nullopt, "$TOT");

  const DecodePlan plan = make_plan(ds.channels, ds.byte_order, options, ds.already_transformed);
  const Bytes bytes = data.empty() ? Bytes{} : file.subspan(data.begin, data.size());
  std::vector<double> minima;
  if (ds.datatype == 'A') {
    ds.events = decode_ascii(bytes, events, ds.channels, plan, data.begin, ctx);
    minima = column_minima(ds.events);
  } else {
    ReleaseFn release;
    if (mapped != nullptr) {
      const std::uint64_t start = data.begin;
      release = [mapped, start](std::size_t off, std::size_t len) { mapped->release(start + off, len); };
    }
    std::vector<std::uint64_t> seen;
    std::vector<double> peak;
    ds.events = decode_binary(bytes, events, plan, release, seen, peak, minima);
    for (std::size_t j = 0; j < ds.channels.size(); ++j) {
      const ColumnPlan& c = plan.columns[j];
      if (c.clip && peak[j] > c.clip_max) {
        // Not a defect of the file (instruments saturate), but the values depend on it.
        ctx.info("truncated_at_range",
                 "values of channel " + ds.channels[j].name + " above $P" + std::to_string(ds.channels[j].index) +
                     "R were set to it (largest stored value " + std::to_string(peak[j]) + ")",
                 std::nullopt, "$P" + std::to_string(ds.channels[j].index) + "R");
      }
    }
    for (std::size_t j = 0; j < ds.channels.size(); ++j) {
      const Channel& c = ds.channels[j];
      if (c.type != DataType::integer || (seen[j] & ~c.mask) == 0) continue;
      const std::string key = "$P" + std::to_string(c.index) + "R";
      if (!ctx.allowed(&Repairs::mask_integer_to_range))
        ctx.fail(ErrorKind::invalid, "mask_integer_to_range",
                 "channel " + c.name + " holds values above what " + key + " allows", std::nullopt, key);
      ctx.warn("mask_integer_to_range",
               "channel " + c.name + " holds values with bits above " + key + " = " + kw.get(key).value_or("?") +
                   "; masked to the low " + std::to_string(std::popcount(c.mask)) + " bits as flowCore does",
               std::nullopt, key);
    }
  }
  assign_value_ranges(ds.channels, minima, kw, options, ds.already_transformed);
}

void finish_spillover(Dataset& ds, const ReadOptions& options, Context& ctx) {
  const bool strict = options.strict;
  const std::size_t before = ds.issues.size();
  ds.spillovers = parse_spillovers(ds.keywords, ds.channels, !strict && options.repairs.spillover_channel_index,
                                   !strict && options.repairs.spillover_size, ds.issues, ds.number);
  // Strict mode fails on any defect, a malformed matrix included.
  if (strict) {
    for (std::size_t i = before; i < ds.issues.size(); ++i) {
      const Issue& is = ds.issues[i];
      if (is.severity == Severity::warning)
        ctx.fail(ErrorKind::invalid, is.code, is.message, is.byte_offset, is.keyword);
    }
  }
}

File read_impl(Bytes file, const ReadOptions& options, std::string label, const MappedFile* mapped) {
  File out;
  out.label = label;
  out.size = file.size();
  if (options.dataset && *options.dataset < 1) {
    throw Error(ErrorKind::argument,
                Issue{"bad_dataset", Severity::error, "data set numbers start at 1", {}, {}, 0}, label);
  }

  // Pass 1: the $NEXTDATA chain, TEXT only.
  std::vector<Parsed> chain;
  std::uint64_t base = 0;
  for (int number = 1;; ++number) {
    Issues issues;
    Context ctx(options, issues, number);
    try {
      Parsed p = parse_text_level(file, base, number, ctx);
      p.ds.issues = std::move(issues);
      const std::uint64_t next = p.next;
      chain.push_back(std::move(p));
      if (next == 0) break;
      // Guard against loops and overlaps: a following data set starts after this one's TEXT.
      const Dataset& cur = chain.back().ds;
      if (next <= base || next <= cur.text.end) {
        Context c2(options, chain.back().ds.issues, number);
        if (!c2.allowed(&Repairs::bad_nextdata))
          c2.fail(ErrorKind::invalid, "bad_nextdata", "$NEXTDATA points backwards or into this data set",
                  cur.keywords.find("$NEXTDATA")->offset, "$NEXTDATA");
        c2.warn("bad_nextdata", "$NEXTDATA points backwards or into this data set; chain ends here",
                cur.keywords.find("$NEXTDATA")->offset, "$NEXTDATA");
        break;
      }
      base = next;
    } catch (Error& e) {
      if (number == 1) {
        e.set_context(label, std::move(issues));
        throw;
      }
      // A broken later data set does not hide the earlier ones.
      out.issues.push_back(e.issue());
      break;
    }
  }
  out.dataset_count = static_cast<int>(chain.size());
  if (options.dataset && *options.dataset > out.dataset_count) {
    throw Error(ErrorKind::argument,
                Issue{"bad_dataset", Severity::error,
                      "data set " + std::to_string(*options.dataset) + " requested but the file has " +
                          std::to_string(out.dataset_count),
                      {}, {}, 0},
                label);
  }

  // Pass 2: DATA for the data sets asked for.
  std::optional<Error> first_error;
  for (Parsed& p : chain) {
    if (options.dataset && p.ds.number != *options.dataset) continue;
    Context ctx(options, p.ds.issues, p.ds.number);
    try {
      read_data_level(file, p, options, mapped, ctx);
      finish_spillover(p.ds, options, ctx);
      out.datasets.push_back(std::move(p.ds));
    } catch (Error& e) {
      e.set_context(label, p.ds.issues);
      if (options.dataset) throw;
      out.issues.push_back(e.issue());
      if (!first_error) first_error = e;
    }
  }
  if (out.datasets.empty() && first_error) throw *first_error;
  return out;
}

}  // namespace
}  // namespace detail

File read_bytes(std::span<const std::byte> bytes, const ReadOptions& options, std::string label) {
  return detail::read_impl(bytes, options, std::move(label), nullptr);
}

File read_file(const std::filesystem::path& path, const ReadOptions& options) {
  detail::MappedFile mapped(path);
  return detail::read_impl(mapped.bytes(), options, path.string(), &mapped);
}

Dataset read_dataset(const std::filesystem::path& path, int dataset, const ReadOptions& options) {
  ReadOptions o = options;
  o.dataset = dataset;
  File f = read_file(path, o);
  return std::move(f.datasets.front());
}

}  // namespace fcs
