// SPDX-License-Identifier: Apache-2.0
// Event-level agreement and population name matching.
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flowmrd/gating/qa.hpp"

namespace fg = flowmrd::gating;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

fg::Mask mask_of(std::size_t size, const std::vector<std::size_t>& members) {
  fg::Mask m(size);
  for (const std::size_t i : members) m.set(i);
  return m;
}

std::string match_error(const std::vector<fg::PopulationName>& ref, const std::vector<fg::PopulationName>& test,
                        const std::vector<std::pair<std::string, std::string>>& map = {}) {
  try {
    (void)fg::match_populations(ref, test, map);
  } catch (const fg::MatchError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(CompareMasks, HandComputedCase) {
  // 10 events; reference {0,1,2,3}, test {2,3,4}: TP 2, FN 2, FP 1.
  const auto a = fg::compare_masks(mask_of(10, {0, 1, 2, 3}), mask_of(10, {2, 3, 4}));
  EXPECT_EQ(a.reference_events, 4U);
  EXPECT_EQ(a.test_events, 3U);
  EXPECT_EQ(a.both, 2U);
  EXPECT_EQ(a.reference_only, 2U);
  EXPECT_EQ(a.test_only, 1U);
  EXPECT_EQ(a.difference_events, -1);
  EXPECT_DOUBLE_EQ(a.difference_percent, -25.0);
  EXPECT_DOUBLE_EQ(a.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(a.recall, 0.5);
  EXPECT_DOUBLE_EQ(a.f1, 2.0 * (2.0 / 3.0) * 0.5 / (2.0 / 3.0 + 0.5));  // = 4/7
}

TEST(CompareMasks, AcrossWordBoundaries) {
  // Events in the second and third 64-bit words, and the last partial word.
  const std::size_t n = 150;
  const auto a = fg::compare_masks(mask_of(n, {63, 64, 127, 128, 149}), mask_of(n, {64, 128, 149, 100}));
  EXPECT_EQ(a.both, 3U);
  EXPECT_EQ(a.reference_only, 2U);
  EXPECT_EQ(a.test_only, 1U);
  EXPECT_DOUBLE_EQ(a.f1, 6.0 / 9.0);
}

TEST(CompareMasks, IdenticalMasks) {
  const auto m = mask_of(70, {1, 5, 69});
  const auto a = fg::compare_masks(m, m);
  EXPECT_EQ(a.difference_events, 0);
  EXPECT_DOUBLE_EQ(a.precision, 1.0);
  EXPECT_DOUBLE_EQ(a.recall, 1.0);
  EXPECT_DOUBLE_EQ(a.f1, 1.0);
}

TEST(CompareMasks, BothEmptyIsPerfectAgreement) {
  const auto a = fg::compare_masks(fg::Mask(20), fg::Mask(20));
  EXPECT_EQ(a.reference_events, 0U);
  EXPECT_DOUBLE_EQ(a.precision, 1.0);
  EXPECT_DOUBLE_EQ(a.recall, 1.0);
  EXPECT_DOUBLE_EQ(a.f1, 1.0);
  EXPECT_DOUBLE_EQ(a.difference_percent, 0.0);
  // Zero events at all.
  EXPECT_DOUBLE_EQ(fg::compare_masks(fg::Mask(0), fg::Mask(0)).f1, 1.0);
}

TEST(CompareMasks, OneSideEmpty) {
  const auto empty_test = fg::compare_masks(mask_of(8, {1, 2}), fg::Mask(8));
  EXPECT_DOUBLE_EQ(empty_test.precision, 0.0);
  EXPECT_DOUBLE_EQ(empty_test.recall, 0.0);
  EXPECT_DOUBLE_EQ(empty_test.f1, 0.0);
  EXPECT_DOUBLE_EQ(empty_test.difference_percent, -100.0);
  const auto empty_ref = fg::compare_masks(fg::Mask(8), mask_of(8, {3}));
  EXPECT_DOUBLE_EQ(empty_ref.precision, 0.0);
  EXPECT_DOUBLE_EQ(empty_ref.recall, 0.0);
  EXPECT_EQ(empty_ref.difference_events, 1);
  EXPECT_DOUBLE_EQ(empty_ref.difference_percent, 0.0);  // undefined: reported as 0
}

TEST(CompareMasks, SizeMismatchThrows) {
  try {
    (void)fg::compare_masks(fg::Mask(10), fg::Mask(11));
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("reference has 10 events, the test 11"));
  }
}

TEST(MatchPopulations, LastPathComponent) {
  EXPECT_EQ(fg::last_path_component("A/B/C+"), "C+");
  EXPECT_EQ(fg::last_path_component("C+"), "C+");
}

TEST(MatchPopulations, RulesInOrder) {
  const std::vector<fg::PopulationName> ref = {
      {"Lymphocytes", "Lymphocytes"},
      {"CD19+", "Lymphocytes/CD19+"},
      {"Range1", "Range1"},
      {"blasts", "Lymphocytes/CD19+/blasts"},
      {"unpaired", "unpaired"}};
  const std::vector<fg::PopulationName> test = {
      {"Range1", "Range1"},                                      // by name
      {"Lymphocytes/CD19+", "Lymphocytes/CD19+"},                // by path
      {"gate/blasts", "gate/blasts"},                            // by last component
      {"Lymphocytes", "Lymphocytes"},
      {"extra", "extra"}};
  const auto m = fg::match_populations(ref, test);
  ASSERT_EQ(m.pairs.size(), 4U);
  EXPECT_EQ(m.pairs[0].test, 3U);
  EXPECT_EQ(m.pairs[0].rule, "name");
  EXPECT_EQ(m.pairs[1].test, 1U);
  EXPECT_EQ(m.pairs[1].rule, "path");
  EXPECT_EQ(m.pairs[2].test, 0U);
  EXPECT_EQ(m.pairs[3].test, 2U);
  EXPECT_EQ(m.pairs[3].rule, "last component");
  EXPECT_THAT(m.unmatched_reference, ElementsAre(4));
  EXPECT_THAT(m.unmatched_test, ElementsAre(4));
}

TEST(MatchPopulations, DuplicateNamesResolvedByPath) {
  const std::vector<fg::PopulationName> ref = {{"CD4+", "A/CD4+"}, {"CD4+", "B/CD4+"}};
  const std::vector<fg::PopulationName> test = {{"CD4+", "B/CD4+"}, {"CD4+", "A/CD4+"}};
  const auto m = fg::match_populations(ref, test);
  ASSERT_EQ(m.pairs.size(), 2U);
  EXPECT_EQ(m.pairs[0].test, 1U);
  EXPECT_EQ(m.pairs[1].test, 0U);
}

TEST(MatchPopulations, AmbiguityIsAnErrorListingCandidates) {
  const std::vector<fg::PopulationName> ref = {{"CD4+", "CD4+"}};
  const std::vector<fg::PopulationName> test = {{"CD4+", "A/CD4+"}, {"CD4+", "B/CD4+"}};
  EXPECT_THAT(match_error(ref, test), HasSubstr("matches several test populations by name: 'CD4+' (A/CD4+), "
                                                "'CD4+' (B/CD4+)"));
  // One test population claimed by two reference populations.
  const std::vector<fg::PopulationName> ref2 = {{"CD4+", "A/CD4+"}, {"CD4+", "B/CD4+"}};
  const std::vector<fg::PopulationName> test2 = {{"CD4+", "CD4+"}};
  EXPECT_THAT(match_error(ref2, test2), HasSubstr("test population 'CD4+' matches both reference populations"));
}

TEST(MatchPopulations, ExplicitMapWinsAndResolvesConflicts) {
  const std::vector<fg::PopulationName> ref = {{"CD4+", "A/CD4+"}, {"CD4+", "B/CD4+"}, {"blast", "blast"}};
  const std::vector<fg::PopulationName> test = {{"CD4+", "CD4+"}, {"leukemic", "leukemic"}};
  const auto m = fg::match_populations(ref, test, {{"A/CD4+", "CD4+"}, {"blast", "leukemic"}});
  ASSERT_EQ(m.pairs.size(), 2U);
  EXPECT_EQ(m.pairs[0].reference, 0U);
  EXPECT_EQ(m.pairs[0].rule, "map");
  EXPECT_EQ(m.pairs[1].reference, 2U);
  EXPECT_EQ(m.pairs[1].test, 1U);
  EXPECT_THAT(m.unmatched_reference, ElementsAre(1));  // B/CD4+: its only candidate is taken
  EXPECT_TRUE(m.unmatched_test.empty());
}

TEST(MatchPopulations, ExplicitMapErrors) {
  const std::vector<fg::PopulationName> ref = {{"CD4+", "A/CD4+"}, {"CD4+", "B/CD4+"}};
  const std::vector<fg::PopulationName> test = {{"x", "x"}};
  EXPECT_THAT(match_error(ref, test, {{"nope", "x"}}),
              HasSubstr("--map: no reference population is named 'nope'; reference populations: 'CD4+' (A/CD4+)"));
  EXPECT_THAT(match_error(ref, test, {{"CD4+", "x"}}), HasSubstr("--map: 'CD4+' names several reference populations"));
  EXPECT_THAT(match_error(ref, test, {{"A/CD4+", "x"}, {"B/CD4+", "x"}}),
              HasSubstr("test population 'x' is mapped twice"));
}
