// SPDX-License-Identifier: Apache-2.0
// Each named repair: applied and reported by default, refused in strict mode, and off when its
// switch is off.
#include <gtest/gtest.h>

#include "fcs/reader.hpp"
#include "fcs_builder.hpp"

using fcs_test::basic;

namespace {
fcs::File read(const std::vector<std::byte>& b, fcs::ReadOptions o = {}) { return fcs::read_bytes(b, o, "t.fcs"); }

const fcs::Issue* find_issue(const fcs::Dataset& ds, const std::string& code) {
  for (const auto& i : ds.issues)
    if (i.code == code) return &i;
  return nullptr;
}

fcs::ReadOptions strict() {
  fcs::ReadOptions o;
  o.strict = true;
  return o;
}

// Default read applies the repair and reports it; strict mode fails with the same code.
void expect_repair(const std::vector<std::byte>& bytes, const std::string& code) {
  const fcs::File f = read(bytes);
  ASSERT_FALSE(f.datasets.empty());
  const fcs::Issue* i = find_issue(f.datasets[0], code);
  ASSERT_NE(i, nullptr) << "repair " << code << " not reported";
  EXPECT_EQ(i->severity, fcs::Severity::warning);
  EXPECT_EQ(i->dataset, 1);
  try {
    (void)read(bytes, strict());
    FAIL() << "strict mode accepted a file needing " << code;
  } catch (const fcs::Error& e) {
    EXPECT_EQ(e.issue().code, code);
  }
}

fcs_test::FcsBuilder two_events() {
  auto b = basic('I', 16, 1, 2, "1,2,3,4", "1024");
  b.put<std::uint16_t>(3, false).put<std::uint16_t>(4, false);
  return b;
}
}  // namespace

TEST(Repairs, DataEndOneBytePast) {
  auto b = two_events();
  b.put_bytes("X");  // DATA segment one byte longer than $TOT x width
  expect_repair(b.build(), "data_segment_longer");
  EXPECT_EQ(read(b.build()).datasets[0].events.value(1, 0), 4);
}

TEST(Repairs, HeaderAndTextDisagree) {
  auto b = two_events();
  b.header_data_end_adjust = 2;  // HEADER end beyond the data, TEXT right
  b.put_bytes("  ");             // so both stay inside the file
  const auto bytes = b.build();
  expect_repair(bytes, "data_offset_mismatch");
}

TEST(Repairs, MissingTotInFcs3) {
  auto b = two_events();
  std::erase_if(b.keywords, [](const auto& kv) { return kv.first == "$TOT"; });
  expect_repair(b.build(), "missing_tot");
  EXPECT_EQ(read(b.build()).datasets[0].event_count, 2u);
}

TEST(Repairs, MissingTotInFcs2IsNotADefect) {
  auto b = two_events();
  b.version = "FCS2.0";
  std::erase_if(b.keywords, [](const auto& kv) { return kv.first == "$TOT"; });
  const fcs::File f = read(b.build(), strict());
  EXPECT_EQ(f.datasets[0].event_count, 2u);
}

TEST(Repairs, TenBitValuesInSixteenBitWords) {
  auto b = two_events();
  for (auto& kv : b.keywords)
    if (kv.first == "$P1B") kv.second = "10";
  expect_repair(b.build(), "bit_width_from_data_length");
  EXPECT_EQ(read(b.build()).datasets[0].events.value(0, 0), 3);
}

TEST(Repairs, ModeUReadAsListWhenLengthFits) {
  auto b = two_events();
  for (auto& kv : b.keywords)
    if (kv.first == "$MODE") kv.second = "U";
  expect_repair(b.build(), "mode_as_list");
}

TEST(Repairs, MissingDatatype) {
  auto b = two_events();
  std::erase_if(b.keywords, [](const auto& kv) { return kv.first == "$DATATYPE"; });
  expect_repair(b.build(), "missing_datatype");
}

TEST(Repairs, KeywordBlanks) {
  auto b = two_events();
  b.kw(" $CYT ", "x");
  expect_repair(b.build(), "keyword_case_and_blanks");
}

TEST(Repairs, SwitchOffMeansError) {
  auto b = two_events();
  b.put_bytes("X");
  fcs::ReadOptions o;
  o.repairs.data_segment_longer = false;
  EXPECT_THROW((void)read(b.build(), o), fcs::Error);
}

TEST(Repairs, ShortDataIsAnError) {
  auto b = two_events();
  b.data.pop_back();
  try {
    (void)read(b.build());
    FAIL();
  } catch (const fcs::Error& e) {
    EXPECT_EQ(e.kind(), fcs::ErrorKind::invalid);
    EXPECT_EQ(e.issue().code, "short_data");
    EXPECT_NE(std::string(e.what()).find("t.fcs"), std::string::npos);
  }
}
