// SPDX-License-Identifier: Apache-2.0
// Labels CSV import: formats, header detection, column kinds, unlabeled values and errors.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flowmrd/gating/labels.hpp"

namespace fg = flowmrd::gating;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

// Event indices of a mask, for readable expectations.
std::vector<std::size_t> members(const fg::Mask& m) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < m.size(); ++i)
    if (m.test(i)) out.push_back(i);
  return out;
}

fg::Labels parse(const std::string& text, fg::LabelsOptions options = {}) {
  return fg::parse_labels_csv(text, "t.csv", options);
}

std::string error_of(const std::string& text, fg::LabelsOptions options = {}) {
  try {
    (void)parse(text, options);
  } catch (const fg::LabelsError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(Labels, FlowCapIntegerColumnWithoutHeader) {
  const auto l = parse("1\n2\n0\n1\n3\n");
  EXPECT_FALSE(l.has_header);
  EXPECT_EQ(l.events, 5U);
  ASSERT_THAT(l.names, ElementsAre("1", "2", "3"));  // 0 = ungated, not a population
  EXPECT_THAT(members(*l.find("1")), ElementsAre(0, 3));
  EXPECT_THAT(members(*l.find("2")), ElementsAre(1));
  EXPECT_THAT(members(*l.find("3")), ElementsAre(4));
  EXPECT_EQ(l.find("0"), nullptr);
  EXPECT_EQ(l.columns.at(0).kind, fg::LabelsColumn::Kind::label);
}

TEST(Labels, SingleZeroOneColumnWithoutHeaderIsFlowCapLabel) {
  // Gating-ML expected results: one 0/1 per line, no header -> population "1".
  const auto l = parse("0\n1\n1\n0\n");
  ASSERT_THAT(l.names, ElementsAre("1"));
  EXPECT_THAT(members(l.masks[0]), ElementsAre(1, 2));
}

TEST(Labels, QuotedLabelColumnWithHeader) {
  const auto l = parse("\"population\"\n\"T cells\"\n\"B, precursor\"\n\"T cells\"\n\"\"\n");
  EXPECT_TRUE(l.has_header);
  EXPECT_EQ(l.events, 4U);
  ASSERT_THAT(l.names, ElementsAre("T cells", "B, precursor"));
  EXPECT_THAT(members(*l.find("T cells")), ElementsAre(0, 2));
  EXPECT_THAT(members(*l.find("B, precursor")), ElementsAre(1));
}

TEST(Labels, IndicatorColumnsWithHeaderOfPaths) {
  const auto l = parse("Lymphocytes,Lymphocytes/CD19+\n1,0\n1,1\n0,0\n");
  EXPECT_TRUE(l.has_header);
  ASSERT_THAT(l.names, ElementsAre("Lymphocytes", "Lymphocytes/CD19+"));
  EXPECT_THAT(members(l.masks[0]), ElementsAre(0, 1));
  EXPECT_THAT(members(l.masks[1]), ElementsAre(1));
  EXPECT_EQ(l.columns[1].kind, fg::LabelsColumn::Kind::indicator);
}

TEST(Labels, MixedPopulationAndBlastColumns) {
  // flowmrd analyze: a label column plus a 0/1 column; "blast" named twice, consistently.
  const auto l = parse("population,blast\nmature B,0\nblast,1\n,0\nblast,1\n");
  ASSERT_THAT(l.names, ElementsAre("mature B", "blast"));
  EXPECT_THAT(members(*l.find("blast")), ElementsAre(1, 3));
  EXPECT_EQ(l.columns[0].kind, fg::LabelsColumn::Kind::label);
  EXPECT_EQ(l.columns[1].kind, fg::LabelsColumn::Kind::indicator);
}

TEST(Labels, SamePopulationNamedInconsistentlyIsAnError) {
  EXPECT_THAT(error_of("population,blast\nblast,1\nblast,0\n"),
              HasSubstr("t.csv:3: population 'blast' is named by column 1 and column 2"));
}

TEST(Labels, CrlfBomAndTrailingBlankLines) {
  const auto l = parse("\xEF\xBB\xBF" "a,b\r\n1,0\r\n0,1\r\n\r\n\r\n");
  EXPECT_EQ(l.events, 2U);
  ASSERT_THAT(l.names, ElementsAre("a", "b"));
  EXPECT_THAT(members(l.masks[1]), ElementsAre(1));
}

TEST(Labels, OldMacLineEnds) {
  const auto l = parse("2\r1\r2");
  EXPECT_EQ(l.events, 3U);
  EXPECT_THAT(members(*l.find("2")), ElementsAre(0, 2));
}

TEST(Labels, QuotedFieldsWithQuotesAndLineBreaks) {
  const auto l = parse("label,x\n\"say \"\"hi\"\"\",1\n\"two\nlines\",0\n\"say \"\"hi\"\"\",1\n");
  ASSERT_THAT(l.names, ElementsAre("say \"hi\"", "two\nlines", "x"));
  EXPECT_THAT(members(l.masks[0]), ElementsAre(0, 2));
  EXPECT_THAT(members(l.masks[1]), ElementsAre(1));
}

TEST(Labels, RWriteCsvRowNamesAreIgnored) {
  const auto l = parse("\"\",\"x\"\n\"1\",\"CD4\"\n\"2\",\"CD8\"\n\"3\",NA\n\"4\",\"CD4\"\n");
  EXPECT_TRUE(l.has_header);
  EXPECT_EQ(l.columns[0].kind, fg::LabelsColumn::Kind::row_index);
  ASSERT_THAT(l.names, ElementsAre("CD4", "CD8"));  // NA = no population
  EXPECT_THAT(members(l.masks[0]), ElementsAre(0, 3));
}

TEST(Labels, IntegralFloatsAreNormalised) {
  // pandas writes integer labels as floats once a value is missing.
  const auto l = parse("label\n2.0\n\n1.0\n2\n0.0\n");
  EXPECT_TRUE(l.has_header);
  EXPECT_EQ(l.events, 5U);
  ASSERT_THAT(l.names, ElementsAre("2", "1"));
  EXPECT_THAT(members(*l.find("2")), ElementsAre(0, 3));
}

TEST(Labels, TrueFalseIndicators) {
  const auto l = parse("blast\nTRUE\nFALSE\ntrue\n");
  ASSERT_THAT(l.names, ElementsAre("blast"));
  EXPECT_THAT(members(l.masks[0]), ElementsAre(0, 2));
}

TEST(Labels, TabSeparated) {
  const auto l = parse("a\tb\n1\t0\n1\t1\n");
  ASSERT_THAT(l.names, ElementsAre("a", "b"));
  EXPECT_THAT(members(l.masks[0]), ElementsAre(0, 1));
}

TEST(Labels, AmbiguousTextHeaderSettledByEventCount) {
  // "x" above text labels: a header when there is one row more than events...
  auto l = parse("x\nA\nB\nA\n", {std::nullopt, 3});
  EXPECT_TRUE(l.has_header);
  ASSERT_THAT(l.names, ElementsAre("A", "B"));
  // ...and a label when the rows equal the events.
  l = parse("x\nA\nB\nA\n", {std::nullopt, 4});
  EXPECT_FALSE(l.has_header);
  ASSERT_THAT(l.names, ElementsAre("x", "A", "B"));
}

TEST(Labels, AmbiguousTextHeaderWithoutEventCount) {
  // A first value that occurs again in its column is a label, not a column name.
  EXPECT_FALSE(parse("A\nB\nA\n").has_header);
  EXPECT_TRUE(parse("label\nA\nB\nA\n").has_header);
}

TEST(Labels, ForcedHeaderOption) {
  const auto l = parse("7\n1\n7\n", {false, std::nullopt});
  EXPECT_EQ(l.events, 3U);
  const auto h = parse("7\n1\n7\n", {true, std::nullopt});
  EXPECT_EQ(h.events, 2U);
  EXPECT_THAT(h.names, ElementsAre("1", "7"));
}

TEST(Labels, HeaderOnlyFileHasNoEvents) {
  const auto l = parse("blast,CD19+\n", {std::nullopt, 0});
  EXPECT_EQ(l.events, 0U);
  EXPECT_THAT(l.names, ElementsAre("blast", "CD19+"));
  EXPECT_EQ(l.masks[0].size(), 0U);
}

TEST(Labels, HeaderlessIndicatorColumnsAreNumbered) {
  const auto l = parse("1,0\n0,1\n1,1\n");
  EXPECT_FALSE(l.has_header);
  EXPECT_THAT(l.names, ElementsAre("column 1", "column 2"));
  EXPECT_THAT(members(l.masks[1]), ElementsAre(1, 2));
}

TEST(Labels, Errors) {
  EXPECT_THAT(error_of("a,b\n1,0\n1\n"), HasSubstr("t.csv:3: 1 field(s), expected 2 (as in line 1)"));
  EXPECT_THAT(error_of("a\n\"open\n1\n"), HasSubstr("t.csv:2: quoted field is never closed"));
  EXPECT_THAT(error_of("a\n\"x\"y\n"), HasSubstr("t.csv:2: unexpected character 'y' after a closing quote"));
  EXPECT_THAT(error_of(""), HasSubstr("t.csv: the file holds no rows"));
  EXPECT_THAT(error_of("\n\n"), HasSubstr("t.csv: the file holds no rows"));
  EXPECT_THAT(error_of("a\n1\n0\n", {std::nullopt, 3}),
              HasSubstr("t.csv: 2 row(s) of labels after the header line, but the data set has 3 events"));
  EXPECT_THAT(error_of("\"\",b\n1,0\n0,1\n"), HasSubstr("column 1 holds 0/1 values but its header is empty"));
}

TEST(Labels, ErrorLinesCountQuotedLineBreaks) {
  EXPECT_THAT(error_of("a,b\n\"x\ny\",1\n1\n"), HasSubstr("t.csv:4: 1 field(s)"));
}

TEST(Labels, ReadFileAndMissingFile) {
  const std::filesystem::path dir = FLOWMRD_TEST_TMP;
  std::filesystem::create_directories(dir);
  const auto path = dir / "labels_read.csv";
  {
    std::ofstream out(path, std::ios::binary);
    out << "blast\n0\n1\n";
  }
  const auto l = fg::read_labels_csv(path, 2);
  EXPECT_THAT(members(*l.find("blast")), ElementsAre(1));
  try {
    (void)fg::read_labels_csv(dir / "absent.csv");
    FAIL() << "no error";
  } catch (const fg::LabelsError& e) {
    EXPECT_THAT(e.what(), HasSubstr("absent.csv: cannot open the labels file"));
  }
}

TEST(Labels, GatingMlExpectedResultsFile) {
  const std::filesystem::path file =
      std::filesystem::path(FLOWMRD_SHARED_DATA) / "gatingml2/ExpectedResults/set_1/Results_Range1.txt";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "shared data absent";
  const auto l = fg::read_labels_csv(file, 13367);
  EXPECT_FALSE(l.has_header);
  ASSERT_THAT(l.names, ElementsAre("1"));
  // Count the 1 lines independently of the parser.
  std::ifstream in(file);
  std::string line;
  std::size_t ones = 0;
  while (std::getline(in, line)) ones += line.starts_with("1") ? 1 : 0;
  EXPECT_GT(ones, 0U);
  EXPECT_EQ(l.masks[0].count(), ones);
}
