// SPDX-License-Identifier: Apache-2.0
// TEXT segment: any delimiter, doubled-delimiter escapes, empty values, supplemental TEXT.
#include <gtest/gtest.h>

#include "fcs/reader.hpp"
#include "fcs_builder.hpp"

using fcs_test::basic;

namespace {
fcs::File read(const std::vector<std::byte>& b, fcs::ReadOptions o = {}) { return fcs::read_bytes(b, o, "t.fcs"); }

bool has_issue(const fcs::Dataset& ds, const std::string& code) {
  for (const auto& i : ds.issues)
    if (i.code == code) return true;
  return false;
}

fcs_test::FcsBuilder one_event(char delim) {
  auto b = basic('I', 16, 1, 1, "1,2,3,4");
  b.delim = delim;
  b.put<std::uint16_t>(5, false);
  return b;
}
}  // namespace

TEST(Text, AnyDelimiter) {
  for (char d : {'/', '|', '\\', '\x0c', '*', '\x1e'}) {
    auto b = one_event(d);
    b.kw("$CYT", "Cytometer");
    const fcs::File f = read(b.build());
    EXPECT_EQ(f.datasets[0].cytometer(), "Cytometer") << int(d);
  }
}

TEST(Text, DoubledDelimiterIsAnEscape) {
  auto b = one_event('/');
  b.kw("$DATE", "01/02/2020").kw("$P1S", "CD19/CD10");
  const fcs::File f = read(b.build());
  const auto& ds = f.datasets[0];
  EXPECT_EQ(ds.date(), "01/02/2020");
  EXPECT_EQ(ds.channels[0].marker, "CD19/CD10");
  EXPECT_FALSE(has_issue(ds, "empty_keyword_value"));
}

TEST(Text, EmptyValuesAsFlowCoreReadsThem) {
  // "/$INST//$OP/x/": not an escape (the result would be a keyword "$INST/$OP").
  auto b = one_event('/');
  b.escape = false;
  b.kw("$INST", "").kw("$OP", "someone");
  const fcs::File f = read(b.build());
  const auto& ds = f.datasets[0];
  EXPECT_EQ(ds.keywords.get("$INST"), "");
  EXPECT_EQ(ds.keywords.get("$OP"), "someone");
  EXPECT_TRUE(has_issue(ds, "empty_keyword_value"));

  fcs::ReadOptions strict;
  strict.strict = true;
  EXPECT_THROW((void)read(b.build(), strict), fcs::Error);
}

TEST(Text, MissingFinalDelimiter) {
  auto b = one_event('/');
  b.kw("$CYT", "last");
  b.final_delimiter = false;
  const fcs::File f = read(b.build());
  EXPECT_EQ(f.datasets[0].cytometer(), "last");
  EXPECT_TRUE(has_issue(f.datasets[0], "missing_final_delimiter"));
}

TEST(Text, KeywordLookupIgnoresCase) {
  auto b = one_event('/');
  b.kw("$cyt", "lower");
  const fcs::File f = read(b.build());
  EXPECT_EQ(f.datasets[0].cytometer(), "lower");
}

TEST(Text, DuplicateKeywordKeepsFirst) {
  auto b = one_event('/');
  b.kw("$CYT", "first").kw("$CYT", "second");
  const fcs::File f = read(b.build());
  EXPECT_EQ(f.datasets[0].cytometer(), "first");
  EXPECT_TRUE(has_issue(f.datasets[0], "duplicate_keyword"));
}

TEST(Text, KeywordOrderIsKept) {
  auto b = one_event('/');
  b.kw("ZZZ", "1").kw("AAA", "2");
  const fcs::File f = read(b.build());
  const auto& items = f.datasets[0].keywords.items();
  ASSERT_GE(items.size(), 2u);
  EXPECT_EQ(items[items.size() - 2].name, "ZZZ");
  EXPECT_EQ(items.back().name, "AAA");
}

TEST(Text, NonAsciiBytesKept) {
  auto b = one_event('/');
  b.kw("CREATOR", std::string("CELLQuest\xaa 3.3"));
  const fcs::File f = read(b.build());
  EXPECT_EQ(f.datasets[0].keywords.get("CREATOR"), std::string("CELLQuest\xaa 3.3"));
}
