// SPDX-License-Identifier: Apache-2.0
// DATA layouts: $DATATYPE I (8-64 bits, mixed widths, masking), F, D, A; every byte order;
// FCS 3.2 $PnDATATYPE; $PnE decoding and $PnG scaling; multiple data sets.
#include <gtest/gtest.h>

#include <cmath>

#include "fcs/reader.hpp"
#include "fcs_builder.hpp"

using fcs_test::basic;

namespace {
fcs::File read(const std::vector<std::byte>& b, fcs::ReadOptions o = {}) { return fcs::read_bytes(b, o, "t.fcs"); }
fcs::ReadOptions no_trunc() {
  fcs::ReadOptions o;
  o.truncate_max_range = false;
  return o;
}
}  // namespace

TEST(Layout, IntegerWidthsAndByteOrders) {
  struct Case {
    int bits;
    std::string byteord;
  };
  const Case cases[] = {{8, "1,2,3,4"}, {16, "1,2"}, {16, "2,1"}, {16, "4,3,2,1"},
                        {32, "1,2,3,4"}, {32, "4,3,2,1"}, {64, "1,2,3,4"}, {64, "4,3,2,1"}};
  for (const Case& c : cases) {
    const bool be = c.byteord == "2,1" || c.byteord == "4,3,2,1";
    auto b = basic('I', c.bits, 2, 3, c.byteord, c.bits == 64 ? "18446744073709551615" : std::to_string(std::ldexp(1.0, c.bits)));
    for (std::uint64_t v : {1ull, 200ull, 77ull, 3ull, 0ull, 128ull}) {
      if (c.bits == 8) b.put<std::uint8_t>(static_cast<std::uint8_t>(v), be);
      if (c.bits == 16) b.put<std::uint16_t>(static_cast<std::uint16_t>(v), be);
      if (c.bits == 32) b.put<std::uint32_t>(static_cast<std::uint32_t>(v), be);
      if (c.bits == 64) b.put<std::uint64_t>(v, be);
    }
    const fcs::File f = read(b.build(), no_trunc());
    const auto& m = f.datasets[0].events;
    ASSERT_EQ(m.rows(), 3u) << c.bits << " " << c.byteord;
    EXPECT_EQ(m.value(0, 0), 1);
    EXPECT_EQ(m.value(0, 1), 200);
    EXPECT_EQ(m.value(1, 0), 77);
    EXPECT_EQ(m.value(2, 1), 128) << c.bits << " " << c.byteord;
  }
}

TEST(Layout, WideIntegersUseDouble) {
  auto b = basic('I', 32, 1, 1, "1,2,3,4", "4294967296");
  b.put<std::uint32_t>(16777217u, false);  // 2^24 + 1: not exact in float
  const fcs::File f = read(b.build());
  EXPECT_EQ(f.datasets[0].events.type(0), fcs::ColumnType::f64);
  EXPECT_EQ(f.datasets[0].events.value(0, 0), 16777217.0);
}

TEST(Layout, MixedWidthsPerParameter) {
  // FCS 3.0 allows a different $PnB per integer parameter (Stratedigm writes 16 and 32).
  auto b = basic('I', 16, 3, 2, "1,2,3,4", "65536");
  b.keywords.emplace_back("$P2B", "32");
  std::erase_if(b.keywords, [&](const auto& kv) { return kv.first == "$P2B" && kv.second == "16"; });
  for (int e = 0; e < 2; ++e) {
    b.put<std::uint16_t>(static_cast<std::uint16_t>(10 + e), false);
    b.put<std::uint32_t>(static_cast<std::uint32_t>(70000 + e), false);
    b.put<std::uint16_t>(static_cast<std::uint16_t>(30 + e), false);
  }
  for (auto& kv : b.keywords)
    if (kv.first == "$P2R") kv.second = "131072";
  const fcs::File f = read(b.build());
  const auto& m = f.datasets[0].events;
  EXPECT_EQ(m.value(1, 0), 11);
  EXPECT_EQ(m.value(1, 1), 70001);
  EXPECT_EQ(m.value(1, 2), 31);
}

TEST(Layout, IntegersMaskedToRange) {
  // Bits above those $PnR needs are flags on some instruments; flowCore masks them off.
  auto b = basic('I', 16, 1, 2, "1,2,3,4", "1024");
  b.put<std::uint16_t>(0xFC00 | 5, false).put<std::uint16_t>(1023, false);
  const fcs::File f = read(b.build());
  EXPECT_EQ(f.datasets[0].events.value(0, 0), 5);
  EXPECT_EQ(f.datasets[0].events.value(1, 0), 1023);
}

TEST(Layout, FloatAndDoubleBothOrders) {
  for (bool be : {false, true}) {
    auto fb = basic('F', 32, 1, 2, be ? "4,3,2,1" : "1,2,3,4", "262144");
    fb.put<float>(-3.5f, be).put<float>(1e5f, be);
    const fcs::File f = read(fb.build());
    EXPECT_EQ(f.datasets[0].events.value(0, 0), -3.5);
    EXPECT_EQ(f.datasets[0].events.value(1, 0), 1e5);
    auto db = basic('D', 64, 1, 2, be ? "4,3,2,1" : "1,2,3,4", "262144");
    db.put<double>(-0.125, be).put<double>(12345.678, be);
    const fcs::File d = read(db.build());
    EXPECT_EQ(d.datasets[0].events.type(0), fcs::ColumnType::f64);
    EXPECT_EQ(d.datasets[0].events.value(1, 0), 12345.678);
  }
}

TEST(Layout, TruncationAtMaxRange) {
  auto b = basic('F', 32, 1, 2, "1,2,3,4", "1024");
  b.put<float>(5000.0f, false).put<float>(-10.0f, false);
  const fcs::File f = read(b.build());
  EXPECT_EQ(f.datasets[0].events.value(0, 0), 1024.0);  // clipped at $PnR, as flowCore does
  EXPECT_EQ(f.datasets[0].events.value(1, 0), -10.0);   // negatives are kept
  bool reported = false;
  for (const auto& i : f.datasets[0].issues) reported |= i.code == "truncated_at_range" && i.severity == fcs::Severity::info;
  EXPECT_TRUE(reported);
  const fcs::File g = read(b.build(), no_trunc());
  EXPECT_EQ(g.datasets[0].events.value(0, 0), 5000.0);
}

TEST(Layout, AsciiFixedWidthAndDelimited) {
  auto fixed = basic('A', 4, 2, 2, "1,2,3,4", "10000");
  fixed.put_bytes("  12 345   7   8");
  const fcs::File f = read(fixed.build());
  EXPECT_EQ(f.datasets[0].events.value(0, 0), 12);
  EXPECT_EQ(f.datasets[0].events.value(0, 1), 345);
  EXPECT_EQ(f.datasets[0].events.value(1, 1), 8);

  auto delim = basic('A', 4, 2, 2, "1,2,3,4", "10000");
  for (auto& kv : delim.keywords)
    if (kv.first == "$P1B" || kv.first == "$P2B") kv.second = "*";
  delim.put_bytes("12,345\n7 8\n");
  const fcs::File d = read(delim.build());
  EXPECT_EQ(d.datasets[0].events.value(0, 1), 345);
  EXPECT_EQ(d.datasets[0].events.value(1, 0), 7);
}

TEST(Layout, Fcs32PerParameterDatatype) {
  auto b = basic('I', 16, 2, 1, "1,2,3,4", "65536");
  b.version = "FCS3.2";
  b.kw("$P2DATATYPE", "F");
  for (auto& kv : b.keywords)
    if (kv.first == "$P2B") kv.second = "32";
  b.put<std::uint16_t>(300, false).put<float>(2.5f, false);
  const fcs::File f = read(b.build());
  EXPECT_EQ(f.datasets[0].channels[1].type, fcs::DataType::float32);
  EXPECT_EQ(f.datasets[0].events.value(0, 0), 300);
  EXPECT_EQ(f.datasets[0].events.value(0, 1), 2.5);
}

TEST(Layout, LogDecodingAndRanges) {
  // $PnE 4,1 on a 10-bit channel: 10^(4 x / 1024).
  auto b = basic('I', 16, 1, 3, "1,2,3,4", "1024");
  for (auto& kv : b.keywords)
    if (kv.first == "$P1E") kv.second = "4,1";
  b.put<std::uint16_t>(0, false).put<std::uint16_t>(512, false).put<std::uint16_t>(1023, false);
  const fcs::File f = read(b.build());
  const auto& ds = f.datasets[0];
  EXPECT_DOUBLE_EQ(ds.events.value(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(ds.events.value(1, 0), 100.0);
  EXPECT_NEAR(ds.events.value(2, 0), std::pow(10.0, 4.0 * 1023 / 1024), 1e-9);
  EXPECT_DOUBLE_EQ(ds.channels[0].max_range, 10000.0);

  fcs::ReadOptions raw;
  raw.transformation = fcs::Transformation::raw;
  const fcs::File r = read(b.build(), raw);
  EXPECT_EQ(r.datasets[0].events.value(1, 0), 512);
}

TEST(Layout, GainScaling) {
  auto b = basic('F', 32, 1, 1, "1,2,3,4", "262144");
  b.kw("$P1G", "4");
  b.put<float>(100.0f, false);
  fcs::ReadOptions png;
  png.transformation = fcs::Transformation::linearize_with_png_scaling;
  EXPECT_EQ(read(b.build(), png).datasets[0].events.value(0, 0), 25.0);
  EXPECT_EQ(read(b.build()).datasets[0].events.value(0, 0), 100.0);
}

TEST(Layout, MultipleDatasetsViaNextdata) {
  auto first = basic('I', 16, 1, 1, "1,2", "1024");
  first.version = "FCS2.0";
  first.put<std::uint16_t>(11, false);
  auto second = basic('I', 32, 1, 1, "1,2,3,4", "1048576");
  second.version = "FCS3.0";
  second.put<std::uint32_t>(22, false);
  const auto second_bytes = second.build();
  // $NEXTDATA must point past the first data set; build once to learn its length.
  std::vector<std::byte> one;
  for (int pass = 0; pass < 3; ++pass) {
    for (auto& kv : first.keywords)
      if (kv.first == "$NEXTDATA") kv.second = std::to_string(one.size());
    one = first.build();
  }
  one.insert(one.end(), second_bytes.begin(), second_bytes.end());
  const fcs::File f = read(one);
  ASSERT_EQ(f.dataset_count, 2);
  ASSERT_EQ(f.datasets.size(), 2u);
  EXPECT_EQ(f.datasets[0].events.value(0, 0), 11);
  EXPECT_EQ(f.datasets[1].events.value(0, 0), 22);
  EXPECT_EQ(f.datasets[1].version, fcs::Version::fcs3_0);

  fcs::ReadOptions only2;
  only2.dataset = 2;
  const fcs::File g = read(one, only2);
  ASSERT_EQ(g.datasets.size(), 1u);
  EXPECT_EQ(g.datasets[0].number, 2);

  only2.dataset = 3;
  try {
    (void)read(one, only2);
    FAIL();
  } catch (const fcs::Error& e) {
    EXPECT_EQ(e.kind(), fcs::ErrorKind::argument);
  }
}

TEST(Layout, UnsupportedByteOrder) {
  auto b = basic('I', 32, 1, 1, "3,4,1,2", "1024");
  b.put<std::uint32_t>(1, false);
  try {
    (void)read(b.build());
    FAIL();
  } catch (const fcs::Error& e) {
    EXPECT_EQ(e.kind(), fcs::ErrorKind::unsupported);
    EXPECT_EQ(e.issue().keyword, "$BYTEORD");
  }
}
