// SPDX-License-Identifier: Apache-2.0
// The FCS 3.1 writer: byte layout, round trips through the reader, rejection of bad requests,
// write_file, and request_from_dataset (also over the shared real files when present).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "fcs/fcs.hpp"
#include "fcs_builder.hpp"

namespace {

namespace fs = std::filesystem;

// A request together with the column storage its spans point into. Not copyable: a copy's
// spans would still point into the original.
struct OwnedRequest {
  std::vector<std::vector<float>> columns;
  fcs::WriteRequest request;

  OwnedRequest() = default;
  OwnedRequest(OwnedRequest&&) = default;
  OwnedRequest& operator=(OwnedRequest&&) = default;
  OwnedRequest(const OwnedRequest&) = delete;
  OwnedRequest& operator=(const OwnedRequest&) = delete;

  void add_channel(fcs::WriteChannel channel, std::vector<float> values) {
    request.channels.push_back(std::move(channel));
    columns.push_back(std::move(values));
    refresh_spans();
  }
  void refresh_spans() {
    request.columns.clear();
    for (const auto& c : columns) request.columns.emplace_back(c);
  }
};

// Deterministic float bit patterns: special values first, then a mix of plain measurement-like
// values and arbitrary bit patterns (every finite float and the infinities, never NaN, whose
// payload a reader may legitimately canonicalise).
std::vector<float> make_values(std::size_t n, std::uint32_t seed) {
  static const float specials[] = {0.0f,
                                   -0.0f,
                                   1.0f,
                                   -1.0f,
                                   std::numeric_limits<float>::denorm_min(),
                                   std::numeric_limits<float>::min(),
                                   std::numeric_limits<float>::max(),
                                   -std::numeric_limits<float>::max(),
                                   std::numeric_limits<float>::infinity(),
                                   -std::numeric_limits<float>::infinity(),
                                   262143.0f,
                                   262144.5f,
                                   1e30f,
                                   -123.456f};
  std::vector<float> out;
  out.reserve(n);
  std::uint64_t state = 0x9e3779b97f4a7c15ULL ^ (std::uint64_t{seed} * 0x100000001b3ULL);
  auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<std::uint32_t>(state >> 32);
  };
  for (std::size_t i = 0; i < n; ++i) {
    if (i < std::size(specials)) {
      out.push_back(specials[(i + seed) % std::size(specials)]);
      continue;
    }
    const std::uint32_t r = next();
    if (r % 4 == 0) {
      float f = std::bit_cast<float>(next());
      if (std::isnan(f)) f = 0.5f;
      out.push_back(f);
    } else {
      out.push_back(static_cast<float>(r % 300000) - 1000.0f + static_cast<float>(r % 7) / 8.0f);
    }
  }
  return out;
}

// Channels with markers, fractional ranges and gains, extra keywords and (from two channels
// on) a spillover matrix.
OwnedRequest make_request(std::size_t channels, std::size_t events, fcs::ByteOrder order) {
  OwnedRequest o;
  for (std::size_t i = 0; i < channels; ++i) {
    fcs::WriteChannel ch;
    ch.name = "FL" + std::to_string(i + 1) + "-A";
    if (i % 2 == 0) ch.marker = "CD" + std::to_string(i + 3) + " PE-Cy7";
    if (i == 1) ch.range = 1023.5;
    if (i == 2) ch.gain = 2.5;
    if (i == 3) ch.gain = 0.1;
    o.add_channel(std::move(ch), make_values(events, static_cast<std::uint32_t>(i)));
  }
  o.request.byte_order = order;
  o.request.keywords = {{"$CYT", "Test cytometer"},
                        {"$DATE", "20-NOV-2025"},
                        {"CUSTOM KEY", "value with spaces"},
                        {"$P1V", "450"},
                        {"$TIMESTEP", "0.01"}};
  if (channels >= 2) {
    fcs::Spillover sp;
    const std::size_t n = std::min<std::size_t>(channels, 10);
    for (std::size_t i = 0; i < n; ++i) sp.channels.push_back(o.request.channels[i].name);
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t c = 0; c < n; ++c) {
        sp.values.push_back(r == c ? 1.0 : 1.0 / static_cast<double>(3 + r * n + c));
      }
    }
    o.request.spillover = sp;
  }
  return o;
}

fcs::ReadOptions no_truncation() {
  fcs::ReadOptions o;
  o.truncate_max_range = false;
  return o;
}

fcs::ReadOptions strict_no_truncation() {
  fcs::ReadOptions o = no_truncation();
  o.strict = true;
  return o;
}

std::string issues_text(const fcs::Issues& issues) {
  std::string out;
  for (const auto& i : issues) out += "\n  " + i.to_string();
  return out;
}

std::vector<std::uint32_t> column_bits(const fcs::EventMatrix& m, std::size_t col) {
  std::vector<std::uint32_t> out;
  out.reserve(m.rows());
  if (m.type(col) == fcs::ColumnType::f32) {
    for (const float f : m.f32(col)) out.push_back(std::bit_cast<std::uint32_t>(f));
  } else {
    for (const double d : m.f64(col)) out.push_back(std::bit_cast<std::uint32_t>(static_cast<float>(d)));
  }
  return out;
}

std::vector<std::uint32_t> bits_of(std::span<const float> values) {
  std::vector<std::uint32_t> out;
  out.reserve(values.size());
  for (const float f : values) out.push_back(std::bit_cast<std::uint32_t>(f));
  return out;
}

fcs::File read_back(const std::vector<std::byte>& bytes, const fcs::ReadOptions& options) {
  return fcs::read_bytes(bytes, options, "<written>");
}

// Everything the request said, as the reader sees it.
void expect_matches(const fcs::WriteRequest& req, const fcs::Dataset& ds) {
  SCOPED_TRACE("issues:" + issues_text(ds.issues));
  EXPECT_EQ(ds.version, fcs::Version::fcs3_1);
  EXPECT_EQ(ds.datatype, 'F');
  EXPECT_EQ(ds.mode, 'L');
  EXPECT_EQ(ds.byte_order, req.byte_order);
  for (const auto& issue : ds.issues) EXPECT_EQ(issue.severity, fcs::Severity::info) << issue.to_string();

  ASSERT_EQ(ds.channels.size(), req.channels.size());
  const std::size_t rows = req.columns.front().size();
  EXPECT_EQ(ds.event_count, rows);
  ASSERT_EQ(ds.events.rows(), rows);
  ASSERT_EQ(ds.events.cols(), req.channels.size());
  for (std::size_t i = 0; i < req.channels.size(); ++i) {
    SCOPED_TRACE("channel " + std::to_string(i + 1));
    const fcs::WriteChannel& w = req.channels[i];
    const fcs::Channel& c = ds.channels[i];
    EXPECT_EQ(c.index, static_cast<int>(i + 1));
    EXPECT_EQ(c.name, w.name);
    if (w.marker && !w.marker->empty()) {
      EXPECT_EQ(c.marker, w.marker);
    } else {
      EXPECT_FALSE(c.marker.has_value());
    }
    EXPECT_EQ(c.type, fcs::DataType::float32);
    EXPECT_EQ(c.bits, 32);
    EXPECT_EQ(c.range, w.range);
    EXPECT_EQ(c.gain, w.gain);
    EXPECT_EQ(c.log_decades, 0);
    EXPECT_EQ(ds.keywords.contains("$P" + std::to_string(i + 1) + "G"), w.gain != 1);
    EXPECT_TRUE(column_bits(ds.events, i) == bits_of(req.columns[i])) << "values differ";
  }

  for (const auto& [name, value] : req.keywords) {
    const fcs::Keyword* k = ds.keywords.find(name);
    ASSERT_NE(k, nullptr) << name;
    EXPECT_EQ(k->name, name);
    EXPECT_EQ(k->value, value.empty() ? std::string(" ") : value) << name;
  }
  EXPECT_EQ(ds.tot(), rows);
  EXPECT_EQ(ds.keywords.get_uint("$PAR"), req.channels.size());
  EXPECT_EQ(ds.keywords.get_uint("$NEXTDATA"), 0U);

  if (req.spillover) {
    const fcs::Spillover* sp = ds.spillover();
    ASSERT_NE(sp, nullptr);
    EXPECT_EQ(sp->source_keyword, "$SPILLOVER");
    EXPECT_EQ(sp->channels, req.spillover->channels);
    EXPECT_EQ(sp->values, req.spillover->values);  // exact: shortest round-trip printing
    ASSERT_EQ(sp->channel_indices.size(), sp->channels.size());
    for (std::size_t i = 0; i < sp->channels.size(); ++i) {
      EXPECT_EQ(ds.find_channel(sp->channels[i]) + 1, sp->channel_indices[i]);
    }
  } else {
    EXPECT_TRUE(ds.spillovers.empty());
  }
}

void expect_round_trip(const fcs::WriteRequest& req) {
  const std::vector<std::byte> bytes = fcs::write_bytes(req);
  for (const fcs::ReadOptions& options : {no_truncation(), strict_no_truncation()}) {
    SCOPED_TRACE(options.strict ? "strict" : "default repairs");
    const fcs::File f = read_back(bytes, options);
    EXPECT_TRUE(f.issues.empty()) << issues_text(f.issues);
    ASSERT_EQ(f.dataset_count, 1);
    ASSERT_EQ(f.datasets.size(), 1U);
    expect_matches(req, f.datasets.front());
  }
}

std::string_view as_text(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::uint64_t header_field(const std::vector<std::byte>& bytes, int field) {
  const std::string_view t = as_text(bytes).substr(10 + 8 * static_cast<std::size_t>(field), 8);
  return fcs::parse_uint(t).value();
}

// The issue code of the argument error write_bytes raises, or "" when it does not throw.
std::string rejection(const fcs::WriteRequest& req) {
  try {
    (void)fcs::write_bytes(req);
  } catch (const fcs::Error& e) {
    EXPECT_EQ(e.kind(), fcs::ErrorKind::argument) << e.what();
    EXPECT_EQ(e.issue().severity, fcs::Severity::error);
    return e.issue().code;
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Round trips over sizes and byte orders.

using Shape = std::tuple<fcs::ByteOrder, std::size_t /*events*/, std::size_t /*channels*/>;

class WriterRoundTrip : public ::testing::TestWithParam<Shape> {};

TEST_P(WriterRoundTrip, ReadsBackIdentical) {
  const auto [order, events, channels] = GetParam();
  const OwnedRequest o = make_request(channels, events, order);
  expect_round_trip(o.request);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, WriterRoundTrip,
    ::testing::Combine(::testing::Values(fcs::ByteOrder::little, fcs::ByteOrder::big),
                       ::testing::Values(std::size_t{0}, std::size_t{1}, std::size_t{100'000}),
                       ::testing::Values(std::size_t{1}, std::size_t{50})),
    [](const ::testing::TestParamInfo<Shape>& p) {
      return std::string(std::get<0>(p.param) == fcs::ByteOrder::little ? "little" : "big") + "_" +
             std::to_string(std::get<1>(p.param)) + "events_" + std::to_string(std::get<2>(p.param)) +
             "channels";
    });

TEST(Writer, DelimiterInsideValuesIsEscaped) {
  OwnedRequest o;
  fcs::WriteChannel a;
  a.name = "FL1/A";
  a.marker = "CD3/CD28/";
  o.add_channel(a, {1.0f, 2.0f});
  fcs::WriteChannel b;
  b.name = "SSC-A";
  b.marker = "a//b";
  o.add_channel(b, {3.0f, 4.0f});
  o.request.keywords = {{"PATH", "C:/data/run 1/"}, {"DOUBLE", "x//y"}, {"LAST", "ends with /"}};
  fcs::Spillover sp;
  sp.channels = {"FL1/A", "SSC-A"};
  sp.values = {1, 0.2, 0.05, 1};
  o.request.spillover = sp;

  const std::vector<std::byte> bytes = fcs::write_bytes(o.request);
  EXPECT_NE(as_text(bytes).find("/PATH/C://data//run 1///"), std::string_view::npos);
  EXPECT_NE(as_text(bytes).find("/$P1N/FL1//A/"), std::string_view::npos);
  expect_round_trip(o.request);
}

TEST(Writer, OtherDelimiters) {
  for (const char d : {'|', '\\', '\x0c', '*'}) {
    SCOPED_TRACE(std::string("delimiter ") + d);
    OwnedRequest o = make_request(3, 10, fcs::ByteOrder::big);
    o.request.delimiter = d;
    o.request.keywords.emplace_back("WITH", std::string("a") + d + "b/c" + d);
    const std::vector<std::byte> bytes = fcs::write_bytes(o.request);
    EXPECT_EQ(static_cast<char>(bytes[58]), d);
    EXPECT_EQ(static_cast<char>(bytes[header_field(bytes, 1)]), d);
    expect_round_trip(o.request);
  }
}

TEST(Writer, NonAsciiValuesKeptAsBytes) {
  OwnedRequest o = make_request(2, 5, fcs::ByteOrder::little);
  o.request.channels[0].marker = "CD45 \xce\xbc\xe2\x80\x93PerCP";  // UTF-8: "µ–"
  o.request.keywords.emplace_back("$OP", "J\xc3\xb6rg \xe6\x97\xa5\xe6\x9c\xac");
  o.request.keywords.emplace_back("RAW", std::string("\xff\x80\x01 latin1 \xe9", 13));
  expect_round_trip(o.request);
}

TEST(Writer, EmptyValueWrittenAsOneBlank) {
  OwnedRequest o = make_request(1, 3, fcs::ByteOrder::little);
  o.request.keywords.emplace_back("EMPTY", "");
  o.request.channels[0].marker = "";  // empty marker: no $P1S at all
  const std::vector<std::byte> bytes = fcs::write_bytes(o.request);
  EXPECT_NE(as_text(bytes).find("/EMPTY/ /"), std::string_view::npos);
  EXPECT_EQ(as_text(bytes).find("$P1S"), std::string_view::npos);
  expect_round_trip(o.request);
}

// ---------------------------------------------------------------------------------------------
// Byte layout.

TEST(Writer, HeaderTextAndDataLayout) {
  for (const auto order : {fcs::ByteOrder::little, fcs::ByteOrder::big}) {
    OwnedRequest o;
    fcs::WriteChannel a;
    a.name = "A";
    o.add_channel(a, {1.0f, -2.0f});
    fcs::WriteChannel b;
    b.name = "B";
    o.add_channel(b, {0.5f, 3.0f});
    o.request.byte_order = order;
    const std::vector<std::byte> bytes = fcs::write_bytes(o.request);
    const std::string_view t = as_text(bytes);

    ASSERT_GE(bytes.size(), 58U);
    EXPECT_EQ(t.substr(0, 10), "FCS3.1    ");
    EXPECT_EQ(t.substr(10, 8), "      58");  // right-justified, blank padded
    const std::uint64_t text_end = header_field(bytes, 1);
    const std::uint64_t data_begin = header_field(bytes, 2);
    const std::uint64_t data_end = header_field(bytes, 3);
    EXPECT_EQ(header_field(bytes, 4), 0U);
    EXPECT_EQ(header_field(bytes, 5), 0U);
    EXPECT_EQ(data_begin, text_end + 1);
    EXPECT_EQ(data_end - data_begin + 1, 2U * 2U * 4U);
    // TEXT starts and ends with the delimiter.
    EXPECT_EQ(t[58], '/');
    EXPECT_EQ(t[text_end], '/');
    const std::string_view text = t.substr(58, text_end - 58 + 1);
    EXPECT_NE(text.find("/$BEGINDATA/" + std::to_string(data_begin) + "/"), std::string_view::npos);
    EXPECT_NE(text.find("/$ENDDATA/" + std::to_string(data_end) + "/"), std::string_view::npos);
    for (const char* kw : {"/$BEGINANALYSIS/0/", "/$ENDANALYSIS/0/", "/$BEGINSTEXT/0/", "/$ENDSTEXT/0/",
                           "/$NEXTDATA/0/", "/$DATATYPE/F/", "/$MODE/L/", "/$PAR/2/", "/$TOT/2/",
                           "/$P1N/A/", "/$P1B/32/", "/$P1E/0,0/", "/$P1R/262144/", "/$P2N/B/"}) {
      EXPECT_NE(text.find(kw), std::string_view::npos) << kw;
    }
    EXPECT_NE(text.find(order == fcs::ByteOrder::little ? "/$BYTEORD/1,2,3,4/" : "/$BYTEORD/4,3,2,1/"),
              std::string_view::npos);
    EXPECT_EQ(text.find("$P1G"), std::string_view::npos);
    EXPECT_EQ(text.find("$SPILLOVER"), std::string_view::npos);

    // DATA: events in order, each with its values in parameter order.
    const float expected[] = {1.0f, 0.5f, -2.0f, 3.0f};
    for (std::size_t i = 0; i < 4; ++i) {
      std::uint32_t bits = 0;
      for (std::size_t k = 0; k < 4; ++k) {
        const std::size_t byte = order == fcs::ByteOrder::little ? 3 - k : k;
        bits = (bits << 8) | std::to_integer<std::uint32_t>(bytes[data_begin + 4 * i + byte]);
      }
      EXPECT_EQ(bits, std::bit_cast<std::uint32_t>(expected[i])) << "value " << i;
    }
    // No CRC computed: eight ASCII zeros after the last segment.
    EXPECT_EQ(bytes.size(), data_end + 1 + 8);
    EXPECT_EQ(t.substr(data_end + 1), "00000000");
  }
}

TEST(Writer, NoEventsMeansNoDataSegment) {
  const OwnedRequest o = make_request(4, 0, fcs::ByteOrder::little);
  const std::vector<std::byte> bytes = fcs::write_bytes(o.request);
  EXPECT_EQ(header_field(bytes, 2), 0U);
  EXPECT_EQ(header_field(bytes, 3), 0U);
  EXPECT_NE(as_text(bytes).find("/$BEGINDATA/0/$ENDDATA/0/"), std::string_view::npos);
  EXPECT_NE(as_text(bytes).find("/$TOT/0/"), std::string_view::npos);
  EXPECT_EQ(bytes.size(), header_field(bytes, 1) + 1 + 8);
}

TEST(Writer, SpilloverFormat) {
  OwnedRequest o;
  for (const char* name : {"FITC-A", "PE-A", "APC-A"}) {
    fcs::WriteChannel c;
    c.name = name;
    o.add_channel(c, {1.0f});
  }
  fcs::Spillover sp;
  sp.channels = {"PE-A", "FITC-A"};  // any subset, any order
  sp.values = {1.0, 0.1, 1.0 / 3.0, 1.0};
  o.request.spillover = sp;
  const std::vector<std::byte> bytes = fcs::write_bytes(o.request);
  EXPECT_NE(as_text(bytes).find("/$SPILLOVER/2,PE-A,FITC-A,1,0.1,0.3333333333333333,1/"),
            std::string_view::npos);
  expect_round_trip(o.request);
}

TEST(Writer, RangeAndGainFormatting) {
  OwnedRequest o;
  fcs::WriteChannel a;
  a.name = "A";
  a.range = 1024;
  a.gain = 0.5;
  o.add_channel(a, {1.0f});
  fcs::WriteChannel b;
  b.name = "B";
  b.range = 4096.25;
  b.gain = 1e-30;
  o.add_channel(b, {1.0f});
  const std::vector<std::byte> bytes = fcs::write_bytes(o.request);
  const std::string_view t = as_text(bytes);
  EXPECT_NE(t.find("/$P1R/1024/"), std::string_view::npos);
  EXPECT_NE(t.find("/$P1G/0.5/"), std::string_view::npos);
  EXPECT_NE(t.find("/$P2R/4096.25/"), std::string_view::npos);
  EXPECT_NE(t.find("/$P2G/1e-30/"), std::string_view::npos);
  expect_round_trip(o.request);
}

// $BEGINDATA/$ENDDATA are part of TEXT: whenever their digit count changes, TEXT grows and
// moves DATA. Every TEXT length around the 999/1000 and 9999/10000 boundaries must agree.
TEST(Writer, DataOffsetsStableAcrossDigitBoundaries) {
  for (const std::size_t base : {std::size_t{700}, std::size_t{9700}}) {
    for (std::size_t pad = base; pad < base + 400; pad += 3) {
      OwnedRequest o = make_request(1, 3, fcs::ByteOrder::little);
      o.request.keywords = {{"PAD", std::string(pad, 'x')}};
      const std::vector<std::byte> bytes = fcs::write_bytes(o.request);
      const std::uint64_t text_end = header_field(bytes, 1);
      const std::uint64_t data_begin = header_field(bytes, 2);
      const std::uint64_t data_end = header_field(bytes, 3);
      ASSERT_EQ(data_begin, text_end + 1) << pad;
      ASSERT_EQ(data_end, data_begin + 11) << pad;
      const std::string_view text = as_text(bytes).substr(58, text_end - 57);
      ASSERT_NE(text.find("/$BEGINDATA/" + std::to_string(data_begin) + "/$ENDDATA/" +
                          std::to_string(data_end) + "/"),
                std::string_view::npos)
          << pad;
    }
  }
  OwnedRequest o = make_request(1, 3, fcs::ByteOrder::little);
  o.request.keywords = {{"PAD", std::string(941, 'x')}};
  expect_round_trip(o.request);
}

// FCS 3.1 §3.1: DATA beyond byte 99,999,999 is located by $BEGINDATA/$ENDDATA, with 0 in HEADER.
TEST(Writer, LargeDataOffsetsOnlyInText) {
  constexpr std::size_t events = 2'000'000;
  constexpr std::size_t channels = 13;  // 104,000,000 bytes of DATA
  const std::vector<float> shared = make_values(events, 7);
  fcs::WriteRequest req;
  for (std::size_t i = 0; i < channels; ++i) {
    fcs::WriteChannel c;
    c.name = "P" + std::to_string(i + 1);
    req.channels.push_back(c);
    req.columns.emplace_back(shared);
  }
  req.byte_order = fcs::ByteOrder::big;
  const std::vector<std::byte> bytes = fcs::write_bytes(req);
  EXPECT_EQ(as_text(bytes).substr(26, 16), "       0       0");
  const std::uint64_t text_end = header_field(bytes, 1);
  const std::uint64_t data_end = text_end + events * channels * 4;
  EXPECT_NE(as_text(bytes).substr(0, text_end + 1)
                .find("/$BEGINDATA/" + std::to_string(text_end + 1) + "/$ENDDATA/" + std::to_string(data_end) + "/"),
            std::string_view::npos);

  const fcs::File f = read_back(bytes, strict_no_truncation());
  ASSERT_EQ(f.datasets.size(), 1U);
  const fcs::Dataset& ds = f.datasets.front();
  EXPECT_EQ(ds.data.begin, text_end + 1);
  EXPECT_EQ(ds.data.end, data_end);
  ASSERT_EQ(ds.events.rows(), events);
  const std::vector<std::uint32_t> want = bits_of(shared);
  EXPECT_TRUE(column_bits(ds.events, 0) == want);
  EXPECT_TRUE(column_bits(ds.events, channels - 1) == want);
}

// ---------------------------------------------------------------------------------------------
// Rejections.

TEST(WriterRejects, InconsistentColumns) {
  {
    OwnedRequest o = make_request(3, 10, fcs::ByteOrder::little);
    o.request.columns.pop_back();
    EXPECT_EQ(rejection(o.request), "write_column_count");
  }
  {
    OwnedRequest o = make_request(3, 10, fcs::ByteOrder::little);
    o.columns[2].pop_back();
    o.refresh_spans();
    EXPECT_EQ(rejection(o.request), "write_column_length");
  }
  {
    fcs::WriteRequest empty;
    EXPECT_EQ(rejection(empty), "write_no_channels");
  }
}

TEST(WriterRejects, BadChannelNames) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "write_channel_name"},
      {"FL1,A", "write_channel_name"},
      {" FL1", "write_channel_name"},
      {"FL1 ", "write_channel_name"},
      {"FL2-A", "write_duplicate_channel"},
  };
  for (const auto& [name, code] : cases) {
    OwnedRequest o = make_request(3, 2, fcs::ByteOrder::little);
    o.request.channels[0].name = name;
    o.request.spillover.reset();
    EXPECT_EQ(rejection(o.request), code) << "'" << name << "'";
  }
}

TEST(WriterRejects, BadRangesAndGains) {
  for (const double bad : {0.0, -1.0, std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::quiet_NaN()}) {
    OwnedRequest o = make_request(2, 2, fcs::ByteOrder::little);
    o.request.channels[1].range = bad;
    EXPECT_EQ(rejection(o.request), "write_range") << bad;
    OwnedRequest g = make_request(2, 2, fcs::ByteOrder::little);
    g.request.channels[0].gain = bad;
    EXPECT_EQ(rejection(g.request), "write_gain") << bad;
  }
}

TEST(WriterRejects, KeywordsTheWriterOwns) {
  for (const char* name :
       {"$BEGINDATA", "$ENDDATA", "$BEGINANALYSIS", "$ENDANALYSIS", "$BEGINSTEXT", "$ENDSTEXT", "$NEXTDATA",
        "$TOT", "$PAR", "$DATATYPE", "$BYTEORD", "$MODE", "$SPILLOVER", "$tot", "$p1n", "$P1S", "$P2B", "$P12E",
        "$P1R", "$P3G", "$P1DATATYPE", "$p7datatype"}) {
    OwnedRequest o = make_request(2, 2, fcs::ByteOrder::little);
    o.request.keywords.emplace_back(name, "1");
    EXPECT_EQ(rejection(o.request), "write_reserved_keyword") << name;
  }
  // Per-parameter keywords that do not describe DATA, and look-alikes, are the caller's.
  for (const char* name : {"$P9V", "$P2D", "$P1DISPLAY", "$PROJ", "$P", "$PnN", "P1N", "$PLATEID", "SPILL"}) {
    OwnedRequest o = make_request(2, 2, fcs::ByteOrder::little);
    o.request.spillover.reset();
    o.request.keywords.emplace_back(name, "1");
    EXPECT_EQ(rejection(o.request), "") << name;
  }
}

TEST(WriterRejects, SpillKeywordsThatWouldShadowTheSpillover) {
  for (const char* name : {"SPILL", "spillover", "Spill"}) {
    OwnedRequest o = make_request(2, 2, fcs::ByteOrder::little);
    ASSERT_TRUE(o.request.spillover);
    o.request.keywords.emplace_back(name, "2,FL1-A,FL2-A,1,0,0,1");
    EXPECT_EQ(rejection(o.request), "write_reserved_keyword") << name;
  }
}

TEST(WriterRejects, BadKeywordNames) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "write_keyword_name"},
      {" LEAD", "write_keyword_name"},
      {"TRAIL ", "write_keyword_name"},
      {"TAB\tKEY", "write_keyword_name"},
      {"N\xc3\xa4me", "write_keyword_name"},
      {"A/B", "write_keyword_name"},
      {"$CYT", "write_duplicate_keyword"},
      {"$cyt", "write_duplicate_keyword"},
  };
  for (const auto& [name, code] : cases) {
    OwnedRequest o = make_request(2, 2, fcs::ByteOrder::little);
    o.request.keywords.emplace_back(name, "v");
    EXPECT_EQ(rejection(o.request), code) << "'" << name << "'";
  }
}

TEST(WriterRejects, TokensStartingWithTheDelimiter) {
  {
    OwnedRequest o = make_request(2, 2, fcs::ByteOrder::little);
    o.request.keywords.emplace_back("PATH", "/data/run");
    EXPECT_EQ(rejection(o.request), "write_delimiter_in_token");
    o.request.delimiter = '|';
    EXPECT_EQ(rejection(o.request), "");
  }
  {
    OwnedRequest o = make_request(2, 2, fcs::ByteOrder::little);
    o.request.channels[1].marker = "/CD4";
    EXPECT_EQ(rejection(o.request), "write_delimiter_in_token");
  }
}

TEST(WriterRejects, BadDelimiters) {
  for (const char d : {'\0', '\x7f', '\x80', '\xff'}) {
    OwnedRequest o = make_request(2, 2, fcs::ByteOrder::little);
    o.request.delimiter = d;
    EXPECT_EQ(rejection(o.request), "write_delimiter") << static_cast<int>(static_cast<unsigned char>(d));
  }
}

TEST(WriterRejects, BadSpillover) {
  {
    OwnedRequest o = make_request(3, 2, fcs::ByteOrder::little);
    o.request.spillover->channels[1] = "nope";
    EXPECT_EQ(rejection(o.request), "write_spillover");
  }
  {
    OwnedRequest o = make_request(3, 2, fcs::ByteOrder::little);
    o.request.spillover->values.pop_back();
    EXPECT_EQ(rejection(o.request), "write_spillover");
  }
  {
    OwnedRequest o = make_request(3, 2, fcs::ByteOrder::little);
    o.request.spillover->channels[1] = o.request.spillover->channels[0];
    EXPECT_EQ(rejection(o.request), "write_spillover");
  }
  {
    OwnedRequest o = make_request(3, 2, fcs::ByteOrder::little);
    o.request.spillover->values[1] = std::numeric_limits<double>::quiet_NaN();
    EXPECT_EQ(rejection(o.request), "write_spillover");
  }
  {
    OwnedRequest o = make_request(3, 2, fcs::ByteOrder::little);
    o.request.spillover = fcs::Spillover{};
    EXPECT_EQ(rejection(o.request), "write_spillover");
  }
}

// ---------------------------------------------------------------------------------------------
// Files.

fs::path test_dir(const std::string& name) {
  const fs::path dir = fs::path(FLOWMRD_TEST_TMP) / "writer" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(WriterFile, WriteFileThenReadFile) {
  const fs::path dir = test_dir("roundtrip");
  const fs::path path = dir / "sample.fcs";
  OwnedRequest o = make_request(5, 1000, fcs::ByteOrder::big);
  fcs::write_file(path, o.request);
  EXPECT_FALSE(fs::exists(dir / "sample.fcs.tmp"));

  std::ifstream in(path, std::ios::binary);
  const std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<std::byte> expected = fcs::write_bytes(o.request);
  ASSERT_EQ(raw.size(), expected.size());
  EXPECT_EQ(std::memcmp(raw.data(), expected.data(), raw.size()), 0);

  const fcs::File f = fcs::read_file(path, no_truncation());
  EXPECT_EQ(f.label, path.string());
  ASSERT_EQ(f.datasets.size(), 1U);
  expect_matches(o.request, f.datasets.front());

  // Overwriting replaces the file as a whole.
  OwnedRequest smaller = make_request(2, 3, fcs::ByteOrder::little);
  fcs::write_file(path, smaller.request);
  const fcs::Dataset ds = fcs::read_dataset(path, 1, no_truncation());
  expect_matches(smaller.request, ds);
  EXPECT_FALSE(fs::exists(dir / "sample.fcs.tmp"));
}

TEST(WriterFile, IoErrorNamesThePath) {
  const fs::path dir = test_dir("io_error");
  const fs::path path = dir / "missing-folder" / "x.fcs";
  OwnedRequest o = make_request(1, 1, fcs::ByteOrder::little);
  try {
    fcs::write_file(path, o.request);
    FAIL() << "no error";
  } catch (const fcs::Error& e) {
    EXPECT_EQ(e.kind(), fcs::ErrorKind::io);
    EXPECT_EQ(e.file(), path.string());
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(WriterFile, BadRequestLeavesNoFile) {
  const fs::path dir = test_dir("bad_request");
  const fs::path path = dir / "x.fcs";
  OwnedRequest o = make_request(2, 1, fcs::ByteOrder::little);
  o.request.keywords.emplace_back("$TOT", "5");
  EXPECT_THROW(fcs::write_file(path, o.request), fcs::Error);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(dir / "x.fcs.tmp"));
}

// ---------------------------------------------------------------------------------------------
// request_from_dataset.

TEST(RequestFromDataset, RewritesWhatWasRead) {
  OwnedRequest o = make_request(6, 500, fcs::ByteOrder::big);
  o.request.keywords.emplace_back("$FIL", "sample.fcs");
  const std::vector<std::byte> first = fcs::write_bytes(o.request);
  const fcs::File f = read_back(first, no_truncation());
  ASSERT_EQ(f.datasets.size(), 1U);

  std::vector<std::vector<float>> storage;
  const fcs::WriteRequest req = fcs::request_from_dataset(f.datasets.front(), storage);
  EXPECT_EQ(req.byte_order, fcs::ByteOrder::big);
  EXPECT_EQ(req.delimiter, '/');
  EXPECT_EQ(req.keywords, o.request.keywords);
  ASSERT_EQ(req.channels.size(), o.request.channels.size());
  for (std::size_t i = 0; i < req.channels.size(); ++i) {
    EXPECT_EQ(req.channels[i].name, o.request.channels[i].name);
    EXPECT_EQ(req.channels[i].marker, o.request.channels[i].marker);
    EXPECT_EQ(req.channels[i].range, o.request.channels[i].range);
    EXPECT_EQ(req.channels[i].gain, o.request.channels[i].gain);
    EXPECT_EQ(req.columns[i].data(), storage[i].data());
  }
  ASSERT_TRUE(req.spillover);
  EXPECT_EQ(req.spillover->channels, o.request.spillover->channels);
  EXPECT_EQ(req.spillover->values, o.request.spillover->values);
  // The same request again: the same bytes.
  EXPECT_TRUE(fcs::write_bytes(req) == first);
}

fcs::Channel make_channel(int index, std::string name, double range, double gain) {
  fcs::Channel c;
  c.index = index;
  c.name = std::move(name);
  c.range = range;
  c.gain = gain;
  return c;
}

TEST(RequestFromDataset, ConvertsDoubleColumnsAndDropsStructuralKeywords) {
  fcs::Dataset ds;
  ds.byte_order = fcs::ByteOrder::little;
  ds.channels.push_back(make_channel(1, "FSC-A", 1024, 1));
  ds.channels.push_back(make_channel(2, "CD19", 262144, 0));  // $PnG 0 read as is
  ds.channels[0].marker = "  ";
  ds.channels[1].marker = "CD19 PE";
  ds.event_count = 3;
  ds.events = fcs::EventMatrix(3, {fcs::ColumnType::f64, fcs::ColumnType::f32});
  const double d[] = {0.1, 1e300, -2.5};
  std::copy(std::begin(d), std::end(d), ds.events.f64(0).begin());
  const float f[] = {1.5f, 2.5f, 3.5f};
  std::copy(std::begin(f), std::end(f), ds.events.f32(1).begin());
  for (const char* name :
       {"$BEGINANALYSIS", "$ENDANALYSIS", "$BEGINSTEXT", "$ENDSTEXT", "$BEGINDATA", "$ENDDATA", "$NEXTDATA",
        "$TOT", "$PAR", "$BYTEORD", "$DATATYPE", "$MODE", "$P1N", "$P1S", "$P1B", "$P1E", "$P1R", "$P1G",
        "$P2DATATYPE", "$SPILLOVER", "SPILL", "spillover", "$BEGINTEXT", "$ENDTEXT", "flowCore_$P1Rmax",
        "FLOWCORE_$P2Rmin", "transformation", "FILENAME"}) {
    ds.keywords.add(fcs::Keyword{name, "1", 0, false});
  }
  ds.keywords.add(fcs::Keyword{"$CYT", "FACSCanto", 0, false});
  ds.keywords.add(fcs::Keyword{"$P1V", "300", 0, false});
  ds.keywords.add(fcs::Keyword{"$BEGINDATETIME", "2025-11-20T10:00:00", 0, false});
  ds.keywords.add(fcs::Keyword{"PATH", "/data/runs", 0, true});
  ds.keywords.add(fcs::Keyword{"NOTE", "", 0, false});
  fcs::Spillover sp;
  sp.source_keyword = "SPILL";
  sp.channels = {"FSC-A", "CD19"};
  sp.channel_indices = {1, 2};
  sp.values = {1, 0.5, 0, 1};
  ds.spillovers.push_back(sp);

  std::vector<std::vector<float>> storage;
  const fcs::WriteRequest req = fcs::request_from_dataset(ds, storage);
  ASSERT_EQ(req.columns.size(), 2U);
  const std::vector<float> want0 = {0.1f, std::numeric_limits<float>::infinity(), -2.5f};
  EXPECT_TRUE(bits_of(req.columns[0]) == bits_of(want0));
  EXPECT_TRUE(bits_of(req.columns[1]) == bits_of(f));
  EXPECT_FALSE(req.channels[0].marker.has_value());
  EXPECT_EQ(req.channels[1].marker, "CD19 PE");
  EXPECT_EQ(req.channels[0].range, 1024);
  EXPECT_EQ(req.channels[1].gain, 1);

  const std::vector<std::pair<std::string, std::string>> kept = {
      {"$CYT", "FACSCanto"}, {"$P1V", "300"}, {"$BEGINDATETIME", "2025-11-20T10:00:00"}, {"PATH", "/data/runs"},
      {"NOTE", ""}};
  EXPECT_EQ(req.keywords, kept);
  ASSERT_TRUE(req.spillover);
  EXPECT_EQ(req.spillover->source_keyword, "$SPILLOVER");
  EXPECT_EQ(req.spillover->values, sp.values);
  // "/data/runs" starts with '/', so another delimiter is chosen.
  EXPECT_NE(req.delimiter, '/');

  const std::vector<std::byte> bytes = fcs::write_bytes(req);
  const fcs::File back = read_back(bytes, strict_no_truncation());
  ASSERT_EQ(back.datasets.size(), 1U);
  expect_matches(req, back.datasets.front());
}

TEST(RequestFromDataset, DropsSpilloverOverUnknownChannels) {
  fcs::Dataset ds;
  ds.channels.push_back(make_channel(1, "FL1-A", 1024, 1));
  ds.channels.push_back(make_channel(2, "FL2-A", 1024, 1));
  ds.events = fcs::EventMatrix(0, {fcs::ColumnType::f32, fcs::ColumnType::f32});
  fcs::Spillover sp;
  sp.source_keyword = "SPILL";
  sp.channels = {"FL1-A", "X3"};
  sp.channel_indices = {1, 0};
  sp.values = {1, 0.5, 0, 1};
  ds.spillovers.push_back(sp);
  std::vector<std::vector<float>> storage;
  const fcs::WriteRequest req = fcs::request_from_dataset(ds, storage);
  EXPECT_FALSE(req.spillover.has_value());
  EXPECT_EQ(rejection(req), "");
}

TEST(RequestFromDataset, RefusesDatasetWithoutEvents) {
  const OwnedRequest o = make_request(3, 10, fcs::ByteOrder::little);
  fcs::ReadOptions options = no_truncation();
  options.skip_events = true;
  const fcs::File f = read_back(fcs::write_bytes(o.request), options);
  ASSERT_EQ(f.datasets.size(), 1U);
  std::vector<std::vector<float>> storage;
  try {
    (void)fcs::request_from_dataset(f.datasets.front(), storage);
    FAIL() << "no error";
  } catch (const fcs::Error& e) {
    EXPECT_EQ(e.kind(), fcs::ErrorKind::argument);
  }
}

// Every shared real file: read, rewrite as FCS 3.1 float32, read again; names, markers, ranges,
// kept keywords, spillover and (float-converted) values must survive.
TEST(RequestFromDataset, SharedRealFilesSurviveRewrite) {
  const fs::path root = fs::path(FLOWMRD_SHARED_DATA) / "fcs" / "files";
  if (!fs::is_directory(root)) GTEST_SKIP() << "no shared data at " << root;
  std::size_t rewritten = 0;
  std::size_t refused = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    fcs::File original;
    try {
      original = fcs::read_file(entry.path());
    } catch (const fcs::Error&) {
      continue;  // not FCS, or a file the reader refuses: nothing to rewrite
    }
    for (const fcs::Dataset& ds : original.datasets) {
      SCOPED_TRACE(entry.path().string() + " data set " + std::to_string(ds.number));
      std::vector<std::vector<float>> storage;
      fcs::WriteRequest req;
      std::vector<std::byte> bytes;
      try {
        req = fcs::request_from_dataset(ds, storage);
        bytes = fcs::write_bytes(req);
      } catch (const fcs::Error& e) {
        ADD_FAILURE() << e.what();
        ++refused;
        continue;
      }
      const fcs::File back = read_back(bytes, strict_no_truncation());
      ASSERT_EQ(back.datasets.size(), 1U);
      const fcs::Dataset& rd = back.datasets.front();
      expect_matches(req, rd);
      ASSERT_EQ(rd.channels.size(), ds.channels.size());
      for (std::size_t c = 0; c < ds.channels.size(); ++c) {
        // FCS 3.1 forbids commas in $PnN; older files (CyTOF "Cd(110,111,112,114)") have them, and
        // request_from_dataset writes them as ';' (reported in its notes).
        std::string want_name = ds.channels[c].name;
        std::replace(want_name.begin(), want_name.end(), ',', ';');
        EXPECT_EQ(rd.channels[c].name, want_name);
        std::vector<std::uint32_t> want;
        want.reserve(ds.events.rows());
        for (std::size_t r = 0; r < ds.events.rows(); ++r) {
          want.push_back(std::bit_cast<std::uint32_t>(static_cast<float>(ds.events.value(r, c))));
        }
        EXPECT_TRUE(column_bits(rd.events, c) == want) << "channel " << ds.channels[c].name;
      }
      const fcs::Spillover* sp = ds.spillover();
      if (sp != nullptr && std::all_of(sp->channel_indices.begin(), sp->channel_indices.end(),
                                       [](int i) { return i > 0; })) {
        ASSERT_NE(rd.spillover(), nullptr);
        EXPECT_EQ(rd.spillover()->channels, sp->channels);
        EXPECT_EQ(rd.spillover()->values, sp->values);
      } else {
        EXPECT_EQ(rd.spillover(), nullptr);
      }
      ++rewritten;
    }
  }
  EXPECT_GT(rewritten, 0U);
  std::printf("rewrote %zu data sets, %zu refused\n", rewritten, refused);
  EXPECT_EQ(refused, 0U);
}

}  // namespace

// A data set whose values were log-decoded (or gain-divided) is written with flowCore's
// transformation=applied marker, so reading the file back gives the same values, not a second
// decoding or a clip at the old $PnR.
TEST(RequestFromDataset, DecodedValuesReadBackUnchanged) {
  auto b = fcs_test::basic('I', 16, 2, 3, "1,2,3,4", "1024");
  for (auto& kv : b.keywords)
    if (kv.first == "$P2E") kv.second = "4,0";
  for (int v : {10, 1023, 512, 0, 7, 800}) b.put<std::uint16_t>(static_cast<std::uint16_t>(v), false);
  const fcs::File f = fcs::read_bytes(b.build(), {}, "log.fcs");
  const fcs::Dataset& ds = f.datasets.at(0);
  ASSERT_GT(ds.events.value(0, 1), 1000.0);  // 10^(4*1023/1024)
  std::vector<std::vector<float>> storage;
  fcs::Issues notes;
  const fcs::WriteRequest req = fcs::request_from_dataset(ds, storage, &notes);
  EXPECT_TRUE(notes.empty());
  const fcs::File back = fcs::read_bytes(fcs::write_bytes(req), {}, "back.fcs");
  const fcs::Dataset& rd = back.datasets.at(0);
  EXPECT_TRUE(rd.already_transformed);
  for (std::size_t r = 0; r < 3; ++r)
    for (std::size_t c = 0; c < 2; ++c)
      EXPECT_EQ(rd.events.value(r, c), static_cast<double>(static_cast<float>(ds.events.value(r, c))));
  EXPECT_GE(rd.channels[1].range, 10000.0);
}

TEST(RequestFromDataset, CommasInNamesAreReplacedAndReported) {
  auto b = fcs_test::basic('F', 32, 1, 1, "1,2,3,4", "1024");
  for (auto& kv : b.keywords)
    if (kv.first == "$P1N") kv.second = "Cd(110,111)";
  b.put<float>(1.0f, false);
  const fcs::File f = fcs::read_bytes(b.build(), {}, "comma.fcs");
  std::vector<std::vector<float>> storage;
  fcs::Issues notes;
  const fcs::WriteRequest req = fcs::request_from_dataset(f.datasets.at(0), storage, &notes);
  ASSERT_EQ(notes.size(), 1U);
  EXPECT_EQ(notes[0].code, "renamed_channel");
  EXPECT_EQ(req.channels[0].name, "Cd(110;111)");
}
