// SPDX-License-Identifier: Apache-2.0
// Spillover matrices from $SPILLOVER, SPILL, spillover, $COMP and $DFCiTOj.
#include <gtest/gtest.h>

#include "fcs/reader.hpp"
#include "fcs_builder.hpp"

using fcs_test::basic;

namespace {
fcs::Dataset read_with(const std::vector<std::pair<std::string, std::string>>& extra, bool strict = false) {
  auto b = basic('F', 32, 3, 1, "1,2,3,4", "1024");
  for (const auto& kv : extra) b.kw(kv.first, kv.second);
  b.put<float>(1, false).put<float>(2, false).put<float>(3, false);
  fcs::ReadOptions o;
  o.strict = strict;
  return std::move(fcs::read_bytes(b.build(), o, "s.fcs").datasets.at(0));
}
bool has_issue(const fcs::Dataset& ds, const std::string& code) {
  for (const auto& i : ds.issues)
    if (i.code == code) return true;
  return false;
}
}  // namespace

TEST(Spillover, NamedByPnN) {
  const auto ds = read_with({{"$SPILLOVER", "2,P2,P3,1,0.1,0.05,1"}});
  ASSERT_NE(ds.spillover(), nullptr);
  const auto& s = *ds.spillover();
  EXPECT_EQ(s.source_keyword, "$SPILLOVER");
  EXPECT_EQ(s.channels, (std::vector<std::string>{"P2", "P3"}));
  EXPECT_EQ(s.channel_indices, (std::vector<int>{2, 3}));
  EXPECT_DOUBLE_EQ(s.at(0, 1), 0.1);
  EXPECT_DOUBLE_EQ(s.at(1, 0), 0.05);
}

TEST(Spillover, PreferenceFollowsFlowCore) {
  const auto ds = read_with({{"$SPILLOVER", "1,P1,1"}, {"SPILL", "1,P2,1"}});
  ASSERT_EQ(ds.spillovers.size(), 2u);
  EXPECT_EQ(ds.spillover()->source_keyword, "SPILL");
}

TEST(Spillover, NavioNamesChannelsByIndex) {
  const auto ds = read_with({{"$SPILLOVER", "2,1,3,1,0.2,0,1"}});
  ASSERT_NE(ds.spillover(), nullptr);
  EXPECT_EQ(ds.spillover()->channels, (std::vector<std::string>{"P1", "P3"}));
  EXPECT_TRUE(has_issue(ds, "spillover_channel_index"));
}

TEST(Spillover, SizeRepair) {
  // Says 3 channels but lists 2 names and 4 values.
  const auto ds = read_with({{"$SPILLOVER", "3,P1,P2,1,0.5,0,1"}});
  ASSERT_NE(ds.spillover(), nullptr);
  EXPECT_EQ(ds.spillover()->size(), 2u);
  EXPECT_TRUE(has_issue(ds, "spillover_size"));
}

TEST(Spillover, MalformedIsSkippedWithIssue) {
  const auto ds = read_with({{"$SPILLOVER", "2,P1,P2,1,x,0,1"}});
  EXPECT_EQ(ds.spillover(), nullptr);
  EXPECT_TRUE(has_issue(ds, "bad_spillover"));
}

TEST(Spillover, Fcs3Comp) {
  const auto ds = read_with({{"$COMP", "2,1,0.1,0.2,1"}});
  ASSERT_NE(ds.spillover(), nullptr);
  EXPECT_EQ(ds.spillover()->source_keyword, "$COMP");
  EXPECT_EQ(ds.spillover()->channels, (std::vector<std::string>{"P1", "P2"}));
}

TEST(Spillover, Fcs2Dfc) {
  const auto ds = read_with({{"$DFC1TO2", "12.5"}, {"$DFC2TO1", "3"}});
  ASSERT_NE(ds.spillover(), nullptr);
  const auto& s = *ds.spillover();
  EXPECT_EQ(s.source_keyword, "$DFC");
  EXPECT_DOUBLE_EQ(s.at(0, 1), 0.125);
  EXPECT_DOUBLE_EQ(s.at(1, 0), 0.03);
  EXPECT_DOUBLE_EQ(s.at(0, 0), 1.0);
}
