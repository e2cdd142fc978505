// SPDX-License-Identifier: Apache-2.0
// The batch manifest parser (pipeline/include/flowmrd/pipeline/manifest.hpp, docs/manifest.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "flowmrd/pipeline/manifest.hpp"

namespace fp = flowmrd::pipeline;
namespace fs = std::filesystem;

namespace {

const fs::path kPath = fs::path("/data/lab") / "samples.csv";

fp::Manifest parse(const std::string& text) { return fp::parse_manifest(text, kPath); }

std::string error_of(const std::string& text) {
  try {
    (void)parse(text);
  } catch (const fp::ManifestError& e) {
    return e.what();
  }
  return "(no error)";
}

const fp::ManifestSample& only_sample(const fp::Manifest& m) {
  EXPECT_EQ(m.samples.size(), 1U);
  return m.samples.at(0);
}

std::string clinical(const fp::ManifestSample& s, const std::string& key) {
  for (const auto& [k, v] : s.clinical) {
    if (k == key) return v;
  }
  return "(absent)";
}

}  // namespace

// ---- ids ----------------------------------------------------------------------------------------

TEST(ManifestId, SafeIds) {
  EXPECT_TRUE(fp::is_safe_id("P1"));
  EXPECT_TRUE(fp::is_safe_id("P1-D15_a.b"));
  EXPECT_TRUE(fp::is_safe_id(std::string(64, 'a')));
  EXPECT_FALSE(fp::is_safe_id(std::string(65, 'a')));
  EXPECT_FALSE(fp::is_safe_id(""));
  EXPECT_FALSE(fp::is_safe_id(".hidden"));
  EXPECT_FALSE(fp::is_safe_id(".."));
  EXPECT_FALSE(fp::is_safe_id("a/b"));
  EXPECT_FALSE(fp::is_safe_id("a b"));
  EXPECT_FALSE(fp::is_safe_id("a\\b"));
  EXPECT_FALSE(fp::is_safe_id("p\xc3\xa9"));
}

// ---- CSV ----------------------------------------------------------------------------------------

TEST(ManifestCsv, MinimalAndDefaults) {
  const auto m = parse("patient,timepoint,file\nP1,diagnosis,p1.fcs\n");
  const auto& s = only_sample(m);
  EXPECT_EQ(s.patient, "P1");
  EXPECT_EQ(s.sample, "diagnosis");  // defaults to the timepoint label
  EXPECT_EQ(s.timepoint, "diagnosis");
  EXPECT_EQ(s.protocol_timepoint, "");
  EXPECT_EQ(s.date, "");
  EXPECT_EQ(s.line, 2U);
  EXPECT_TRUE(s.diagnosis);
  EXPECT_EQ(s.error, "");
  ASSERT_EQ(s.tubes.size(), 1U);
  EXPECT_EQ(s.tubes[0].file, "p1.fcs");
  EXPECT_EQ(s.tubes[0].label, "p1.fcs");  // the file name when no tube column
  EXPECT_EQ(s.tubes[0].path, fs::path("/data/lab/p1.fcs"));
  EXPECT_EQ(s.tubes[0].line, 2U);
  EXPECT_TRUE(m.warnings.empty());
  ASSERT_EQ(m.columns.size(), 3U);
  EXPECT_EQ(m.path, kPath);
}

TEST(ManifestCsv, QuotedFieldsWithCommasAndEscapedQuotes) {
  const auto m = parse(
      "patient,timepoint,tube,file\n"
      "P1,day15,\"B-lineage, 8 colour \"\"A\"\"\",\"dir, with comma/p1.fcs\"\n");
  const auto& s = only_sample(m);
  EXPECT_EQ(s.error, "");
  ASSERT_EQ(s.tubes.size(), 1U);
  EXPECT_EQ(s.tubes[0].label, "B-lineage, 8 colour \"A\"");
  EXPECT_EQ(s.tubes[0].file, "dir, with comma/p1.fcs");
}

TEST(ManifestCsv, QuotedFieldSpanningLinesKeepsLineNumbers) {
  const auto m = parse(
      "patient,timepoint,file,comment\n"
      "P1,dx,a.fcs,\"first line\nsecond line\"\n"
      "P1,d15,b.fcs,x\n");
  ASSERT_EQ(m.samples.size(), 2U);
  EXPECT_EQ(m.samples[0].extra.at(0).second, "first line\nsecond line");
  EXPECT_EQ(m.samples[0].line, 2U);
  EXPECT_EQ(m.samples[1].line, 4U);
}

TEST(ManifestCsv, BomCrlfCommentsAndBlankLines) {
  const auto m = parse(
      "\xEF\xBB\xBF# a comment before the header\r\n"
      "Patient , TIMEPOINT,File\r\n"
      "\r\n"
      "# P9,dx,\"unterminated comment quote\r\n"
      "P1,dx,a.fcs\r\n"
      ",,\r\n"
      "   \r\n"
      "P1,day15,b.fcs");  // no final line break
  ASSERT_EQ(m.samples.size(), 2U);
  EXPECT_EQ(m.samples[0].patient, "P1");
  EXPECT_EQ(m.samples[0].line, 5U);
  EXPECT_EQ(m.samples[0].tubes.at(0).file, "a.fcs");  // no stray '\r'
  EXPECT_EQ(m.samples[1].line, 8U);
  EXPECT_EQ(m.samples[1].tubes.at(0).file, "b.fcs");
  EXPECT_EQ(m.columns.at(0), "Patient");  // trimmed, as written
}

TEST(ManifestCsv, FieldsAreTrimmed) {
  const auto m = parse("patient,timepoint,file\n  P1 , dx ,  a.fcs  \n");
  const auto& s = only_sample(m);
  EXPECT_EQ(s.patient, "P1");
  EXPECT_EQ(s.timepoint, "dx");
  EXPECT_EQ(s.tubes.at(0).file, "a.fcs");
  EXPECT_EQ(s.error, "");
}

TEST(ManifestCsv, UnterminatedQuoteIsAFileError) {
  EXPECT_EQ(error_of("patient,timepoint,file\nP1,dx,\"a.fcs\n"),
            "/data/lab/samples.csv:2: a quoted field is never closed (missing '\"')");
}

TEST(ManifestCsv, StrayQuotesAreFileErrors) {
  EXPECT_NE(error_of("patient,timepoint,file\nP1,dx,a\"b.fcs\n").find("samples.csv:2: a quote inside an unquoted"),
            std::string::npos);
  EXPECT_NE(error_of("patient,timepoint,file\nP1,dx,\"a\"b.fcs\n").find("samples.csv:2: unexpected character 'b'"),
            std::string::npos);
}

// ---- header -------------------------------------------------------------------------------------

TEST(ManifestHeader, EmptyFileHasNoHeader) {
  EXPECT_NE(error_of("").find("no header row"), std::string::npos);
  EXPECT_NE(error_of("# only a comment\n\n").find("no header row"), std::string::npos);
  EXPECT_NE(error_of("\xEF\xBB\xBF").find("no header row"), std::string::npos);
}

TEST(ManifestHeader, MissingRequiredColumn) {
  const std::string e = error_of("patient,file\nP1,a.fcs\n");
  EXPECT_NE(e.find("/data/lab/samples.csv:1: required column timepoint missing"), std::string::npos) << e;
  const std::string e2 = error_of("sample\nS\n");
  EXPECT_NE(e2.find("required columns patient, timepoint, file missing"), std::string::npos) << e2;
}

TEST(ManifestHeader, DuplicateColumn) {
  const std::string e = error_of("patient,timepoint,file,Wbc,WBC\nP1,dx,a.fcs,1,2\n");
  EXPECT_NE(e.find("samples.csv:1: column 'WBC' appears twice (columns 4 and 5)"), std::string::npos) << e;
  EXPECT_NE(error_of("patient,timepoint,file,x,x\n").find("appears twice"), std::string::npos);
}

TEST(ManifestHeader, UnknownColumnsWarnOnceAndAreKept) {
  const auto m = parse(
      "patient,timepoint,file,Operator,truth,comment,cytometer\n"
      "P1,dx,a.fcs,ann,t.json,first,Canto\n"
      "P1,dx,b.fcs,bob,u.json,second,Lyric\n");
  ASSERT_EQ(m.warnings.size(), 1U);
  EXPECT_EQ(m.warnings[0],
            "/data/lab/samples.csv:1: unknown columns 'Operator', 'cytometer' (kept with the sample, not used by the "
            "analysis)");
  const auto& s = only_sample(m);
  ASSERT_EQ(s.extra.size(), 4U);  // the first row's values, column order
  EXPECT_EQ(s.extra[0], (std::pair<std::string, std::string>{"Operator", "ann"}));
  EXPECT_EQ(s.extra[1], (std::pair<std::string, std::string>{"truth", "t.json"}));
  EXPECT_EQ(s.extra[2], (std::pair<std::string, std::string>{"comment", "first"}));
  EXPECT_EQ(s.extra[3], (std::pair<std::string, std::string>{"cytometer", "Canto"}));
  EXPECT_EQ(s.tubes.size(), 2U);
}

TEST(ManifestHeader, TruthAndCommentAreKnownExtras) {
  const auto m = parse("patient,timepoint,file,TRUTH,comment\nP1,dx,a.fcs,t.json,\n");
  EXPECT_TRUE(m.warnings.empty());
  EXPECT_EQ(only_sample(m).extra.size(), 2U);
}

TEST(ManifestHeader, ColumnsInAnyOrder) {
  const auto m = parse("file,wbc,timepoint,patient\na.fcs,12,dx,P1\n");
  const auto& s = only_sample(m);
  EXPECT_EQ(s.patient, "P1");
  EXPECT_EQ(s.timepoint, "dx");
  EXPECT_EQ(clinical(s, "wbc"), "12");
}

// ---- rows ---------------------------------------------------------------------------------------

TEST(ManifestRow, MoreFieldsThanHeaderIsARowError) {
  const auto m = parse("patient,timepoint,file\nP1,dx,a.fcs,extra\nP2,dx,b.fcs\n");
  ASSERT_EQ(m.samples.size(), 2U);
  EXPECT_EQ(m.samples[0].error,
            "/data/lab/samples.csv:2: row has 4 fields but the header has 3 columns (quote a value that contains a "
            "comma)");
  EXPECT_EQ(m.samples[1].error, "");
}

TEST(ManifestRow, TrailingEmptyFieldsAreNotAnError) {
  const auto m = parse("patient,timepoint,file\nP1,dx,a.fcs,,\n");
  EXPECT_EQ(only_sample(m).error, "");
}

TEST(ManifestRow, FewerFieldsMeansEmptyCells) {
  const auto m = parse("patient,timepoint,file,wbc,cns\nP1,dx,a.fcs\n");
  const auto& s = only_sample(m);
  EXPECT_EQ(s.error, "");
  EXPECT_TRUE(s.clinical.empty());
  const auto m2 = parse("patient,timepoint,wbc,file\nP1,dx,3\n");
  EXPECT_EQ(only_sample(m2).error, "/data/lab/samples.csv:2: column file is empty");
}

TEST(ManifestRow, InvalidIds) {
  const auto m = parse(
      "patient,sample,timepoint,file\n"
      "P 1,S1,dx,a.fcs\n"
      "P2,../x,dx,a.fcs\n"
      ",S3,dx,a.fcs\n"
      "P4,,day 15,a.fcs\n"
      "P5,.S,dx,a.fcs\n");
  ASSERT_EQ(m.samples.size(), 5U);
  EXPECT_EQ(m.samples[0].error,
            "/data/lab/samples.csv:2: column patient: 'P 1' is not a valid id (1-64 characters of A-Z a-z 0-9 . _ -, "
            "not starting with '.')");
  EXPECT_NE(m.samples[1].error.find("samples.csv:3: column sample: '../x' is not a valid id"), std::string::npos);
  EXPECT_EQ(m.samples[2].error, "/data/lab/samples.csv:4: column patient is empty");
  EXPECT_NE(
      m.samples[3].error.find("samples.csv:5: column sample is empty and the timepoint 'day 15' is not a valid id"),
      std::string::npos)
      << m.samples[3].error;
  EXPECT_NE(m.samples[4].error.find("'.S' is not a valid id"), std::string::npos);
}

TEST(ManifestRow, EmptyTimepoint) {
  const auto m = parse("patient,sample,timepoint,file\nP1,S1,,a.fcs\n");
  EXPECT_EQ(only_sample(m).error, "/data/lab/samples.csv:2: column timepoint is empty");
}

TEST(ManifestRow, Dates) {
  const auto m = parse(
      "patient,timepoint,date,file\n"
      "P1,dx,2024-02-29,a.fcs\n"
      "P2,dx,2023-02-29,a.fcs\n"
      "P3,dx,2026-13-01,a.fcs\n"
      "P4,dx,02/03/2026,a.fcs\n"
      "P5,dx,2026-3-2,a.fcs\n"
      "P6,dx,2026-04-31,a.fcs\n");
  ASSERT_EQ(m.samples.size(), 6U);
  EXPECT_EQ(m.samples[0].error, "");
  EXPECT_EQ(m.samples[0].date, "2024-02-29");
  EXPECT_EQ(m.samples[1].error,
            "/data/lab/samples.csv:3: column date: '2023-02-29' is not a date (expected YYYY-MM-DD, e.g. 2026-03-02)");
  for (std::size_t k = 2; k < 6; ++k) {
    EXPECT_NE(m.samples[k].error.find("is not a date"), std::string::npos) << k;
    EXPECT_EQ(m.samples[k].date, "");
  }
}

TEST(ManifestRow, ClinicalValues) {
  const auto m = parse(
      "patient,timepoint,file,age_days,wbc,kmt2a,kmt2a_fusion,cns,day8_pb_blasts_per_ul\n"
      "P1,dx,a.fcs,122,412.5,Rearranged,KMT2A::AFF1,NEGATIVE,2300\n");
  const auto& s = only_sample(m);
  EXPECT_EQ(s.error, "");
  ASSERT_EQ(s.clinical.size(), 6U);
  EXPECT_EQ(s.clinical[0], (std::pair<std::string, std::string>{"age_days", "122"}));
  EXPECT_EQ(s.clinical[1], (std::pair<std::string, std::string>{"wbc", "412.5"}));
  EXPECT_EQ(s.clinical[2], (std::pair<std::string, std::string>{"kmt2a", "rearranged"}));  // normalised
  EXPECT_EQ(s.clinical[3], (std::pair<std::string, std::string>{"kmt2a_fusion", "KMT2A::AFF1"}));
  EXPECT_EQ(s.clinical[4], (std::pair<std::string, std::string>{"cns", "negative"}));
  EXPECT_EQ(s.clinical[5], (std::pair<std::string, std::string>{"day8_pb_blasts_per_ul", "2300"}));
}

TEST(ManifestRow, ClinicalOnlyNonEmptyCellsInColumnOrder) {
  const auto m = parse("patient,timepoint,file,cns,age_days,wbc\nP1,dx,a.fcs,positive,,7\n");
  const auto& s = only_sample(m);
  ASSERT_EQ(s.clinical.size(), 2U);
  EXPECT_EQ(s.clinical[0].first, "cns");
  EXPECT_EQ(s.clinical[1].first, "wbc");
}

TEST(ManifestRow, InvalidClinicalValues) {
  const auto m = parse(
      "patient,timepoint,file,age_days,wbc,kmt2a,cns,day8_pb_blasts_per_ul\n"
      "P1,dx,a.fcs,,abc,,,\n"
      "P2,dx,a.fcs,-3,,,,\n"
      "P3,dx,a.fcs,,,yes,,\n"
      "P4,dx,a.fcs,,,,pos,\n"
      "P5,dx,a.fcs,,,,,inf\n"
      "P6,dx,a.fcs,,12abc,,,\n"
      "P7,dx,a.fcs,1e2,,unknown,,\n");
  ASSERT_EQ(m.samples.size(), 7U);
  EXPECT_EQ(m.samples[0].error, "/data/lab/samples.csv:2: column wbc: 'abc' is not a non-negative number");
  EXPECT_EQ(m.samples[1].error, "/data/lab/samples.csv:3: column age_days: '-3' is not a non-negative number");
  EXPECT_EQ(m.samples[2].error,
            "/data/lab/samples.csv:4: column kmt2a: 'yes' is not one of rearranged, germline, unknown");
  EXPECT_EQ(m.samples[3].error, "/data/lab/samples.csv:5: column cns: 'pos' is not one of positive, negative");
  EXPECT_NE(m.samples[4].error.find("column day8_pb_blasts_per_ul: 'inf'"), std::string::npos);
  EXPECT_NE(m.samples[5].error.find("column wbc: '12abc'"), std::string::npos);
  EXPECT_EQ(m.samples[6].error, "");
  EXPECT_EQ(clinical(m.samples[6], "age_days"), "1e2");
}

TEST(ManifestRow, EmptyFileCell) {
  const auto m = parse("patient,timepoint,file\nP1,dx,\n");
  EXPECT_EQ(only_sample(m).error, "/data/lab/samples.csv:2: column file is empty");
  EXPECT_TRUE(only_sample(m).tubes.empty());
}

TEST(ManifestRow, RowErrorsDoNotStopOtherSamples) {
  const auto m = parse("patient,timepoint,file,wbc\nP1,dx,a.fcs,x\nP1,day15,b.fcs,3\n");
  ASSERT_EQ(m.samples.size(), 2U);
  EXPECT_FALSE(m.samples[0].error.empty());
  EXPECT_EQ(m.samples[1].error, "");
  EXPECT_EQ(clinical(m.samples[1], "wbc"), "3");
}

// ---- grouping -----------------------------------------------------------------------------------

TEST(ManifestGrouping, TwoTubesOneSample) {
  const auto m = parse(
      "patient,sample,timepoint,tube,file,panel,protocol,wbc\n"
      "P1,P1-D15,day15,B-lineage,t1.fcs,,interfant-21,\n"
      "P1,P1-D15,day15,myeloid,t2.fcs,,,412\n");
  const auto& s = only_sample(m);
  EXPECT_EQ(s.error, "");
  ASSERT_EQ(s.tubes.size(), 2U);
  EXPECT_EQ(s.tubes[0].label, "B-lineage");
  EXPECT_EQ(s.tubes[1].label, "myeloid");
  EXPECT_EQ(s.tubes[1].line, 3U);
  // An empty cell agrees with anything; values are taken from whichever row gives them.
  EXPECT_EQ(s.protocol, "interfant-21");
  EXPECT_EQ(clinical(s, "wbc"), "412");
  ASSERT_EQ(m.patients.size(), 1U);
  EXPECT_EQ(m.patients[0].samples.size(), 1U);
}

TEST(ManifestGrouping, SampleDefaultsToTimepoint) {
  const auto m = parse("patient,timepoint,file\nP1,day15,a.fcs\nP1,day15,b.fcs\nP2,day15,c.fcs\n");
  ASSERT_EQ(m.samples.size(), 2U);
  EXPECT_EQ(m.samples[0].sample, "day15");
  EXPECT_EQ(m.samples[0].tubes.size(), 2U);
  EXPECT_EQ(m.samples[1].patient, "P2");
}

TEST(ManifestGrouping, ConflictingValues) {
  const auto m = parse(
      "patient,sample,timepoint,file,protocol,wbc\n"
      "P1,S,day15,a.fcs,interfant-21,12\n"
      "P1,S,day15,b.fcs,aieop-bfm-all-2009,12\n");
  EXPECT_EQ(only_sample(m).error,
            "/data/lab/samples.csv:3: sample P1/S: column protocol is 'aieop-bfm-all-2009' here but 'interfant-21' on "
            "line 2");
}

TEST(ManifestGrouping, ConflictingTimepointAndClinical) {
  const auto m = parse(
      "patient,sample,timepoint,file,wbc\n"
      "P1,S,day15,a.fcs,\n"
      "P1,S,day15,b.fcs,12\n"
      "P1,S,day33,c.fcs,13\n");
  // The first conflict found is reported (line 4: the timepoint).
  EXPECT_EQ(only_sample(m).error,
            "/data/lab/samples.csv:4: sample P1/S: column timepoint is 'day33' here but 'day15' on line 2");
  const auto m2 = parse(
      "patient,sample,timepoint,file,wbc\n"
      "P1,S,day15,a.fcs,\n"
      "P1,S,day15,b.fcs,12\n"
      "P1,S,day15,c.fcs,13\n");
  EXPECT_EQ(only_sample(m2).error,
            "/data/lab/samples.csv:4: sample P1/S: column wbc is '13' here but '12' on line 3");
}

TEST(ManifestGrouping, SameFileTwice) {
  const auto m = parse(
      "patient,sample,timepoint,file\n"
      "P1,S,dx,a.fcs\n"
      "P1,S,dx,./a.fcs\n");
  EXPECT_EQ(only_sample(m).error,
            "/data/lab/samples.csv:3: sample P1/S: file './a.fcs' is listed twice (also on line 2)");
  // The same file in two samples is allowed (not this parser's business).
  const auto m2 = parse("patient,sample,timepoint,file\nP1,A,dx,a.fcs\nP1,B,day15,a.fcs\n");
  EXPECT_EQ(m2.samples[1].error, "");
}

// ---- diagnosis, patients, order -----------------------------------------------------------------

TEST(ManifestDiagnosis, Detection) {
  const auto m = parse(
      "patient,sample,timepoint,protocol_timepoint,file\n"
      "P1,A,Diagnosis,,a.fcs\n"
      "P2,A,initial,DX,a.fcs\n"
      "P3,A,DX,,a.fcs\n"
      "P4,A,day15,d15,a.fcs\n");
  ASSERT_EQ(m.samples.size(), 4U);
  EXPECT_TRUE(m.samples[0].diagnosis);
  EXPECT_TRUE(m.samples[1].diagnosis);
  EXPECT_TRUE(m.samples[2].diagnosis);
  EXPECT_FALSE(m.samples[3].diagnosis);
  EXPECT_EQ(m.samples[1].protocol_timepoint, "DX");  // copied as written
}

TEST(ManifestDiagnosis, SecondDiagnosisIsAnError) {
  const auto m = parse(
      "patient,sample,timepoint,file\n"
      "P1,A,diagnosis,a.fcs\n"
      "P1,B,day15,b.fcs\n"
      "P1,C,dx,c.fcs\n");
  ASSERT_EQ(m.samples.size(), 3U);
  EXPECT_TRUE(m.samples[0].diagnosis);
  EXPECT_EQ(m.samples[0].error, "");
  EXPECT_FALSE(m.samples[2].diagnosis);
  EXPECT_EQ(m.samples[2].error, "/data/lab/samples.csv:4: patient P1 already has a diagnosis sample (line 2)");
}

TEST(ManifestPatients, OrderOfFirstAppearance) {
  const auto m = parse(
      "patient,timepoint,file\n"
      "P2,dx,a.fcs\n"
      "P1,dx,b.fcs\n"
      "P2,day15,c.fcs\n");
  ASSERT_EQ(m.patients.size(), 2U);
  EXPECT_EQ(m.patients[0].id, "P2");
  EXPECT_EQ(m.patients[1].id, "P1");
  EXPECT_EQ(m.patients[0].samples, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(m.patients[1].samples, (std::vector<std::size_t>{1}));
}

TEST(ManifestPatients, SortedByDateDiagnosisFirst) {
  const auto m = parse(
      "patient,sample,timepoint,date,file\n"
      "P1,D33,day33,2026-04-03,a.fcs\n"
      "P1,DX,diagnosis,2026-03-05,b.fcs\n"  // later date than D15 but still first
      "P1,D15,day15,2026-03-02,c.fcs\n"
      "P1,B1,blin1,2026-05-09,d.fcs\n"
      "P1,D15b,day15,2026-03-02,e.fcs\n");  // same date: stable
  ASSERT_EQ(m.patients.size(), 1U);
  EXPECT_EQ(m.patients[0].samples, (std::vector<std::size_t>{1, 2, 4, 0, 3}));
  // Samples themselves stay in manifest order.
  EXPECT_EQ(m.samples[0].sample, "D33");
}

TEST(ManifestPatients, ManifestOrderWhenADateIsMissing) {
  const auto m = parse(
      "patient,sample,timepoint,date,file\n"
      "P1,D33,day33,2026-04-03,a.fcs\n"
      "P1,D15,day15,,c.fcs\n"
      "P1,DX,dx,2026-03-02,b.fcs\n");
  EXPECT_EQ(m.patients[0].samples, (std::vector<std::size_t>{2, 0, 1}));
}

// ---- paths --------------------------------------------------------------------------------------

TEST(ManifestPaths, RelativeAndAbsolute) {
  const auto m = parse(
      "patient,sample,timepoint,file\n"
      "P1,A,dx,sub/a.fcs\n"
      "P1,A,dx,/abs/b.fcs\n"
      "P1,A,dx,../up/c.fcs\n");
  const auto& s = only_sample(m);
  ASSERT_EQ(s.tubes.size(), 3U);
  EXPECT_EQ(s.tubes[0].path, fs::path("/data/lab/sub/a.fcs"));
  EXPECT_EQ(s.tubes[1].path, fs::path("/abs/b.fcs"));
  EXPECT_EQ(s.tubes[2].path, fs::path("/data/lab/../up/c.fcs"));
  EXPECT_EQ(s.tubes[0].label, "a.fcs");
}

TEST(ManifestPaths, ManifestWithoutFolder) {
  const auto m = fp::parse_manifest("patient,timepoint,file\nP1,dx,a.fcs\n", "m.csv");
  EXPECT_EQ(only_sample(m).tubes.at(0).path, fs::path("a.fcs"));
  EXPECT_EQ(only_sample(m).error, "");
}

TEST(ManifestLoad, FromFileAndMissingFile) {
  const fs::path dir = fs::temp_directory_path() / ("flowmrd-manifest-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "m.csv";
  {
    std::ofstream out(file, std::ios::binary);
    out << "patient,timepoint,file\r\nP1,dx,a.fcs\r\n";
  }
  const auto m = fp::load_manifest(file);
  EXPECT_EQ(only_sample(m).tubes.at(0).path, dir / "a.fcs");
  EXPECT_THROW((void)fp::load_manifest(dir / "absent.csv"), fp::ManifestError);
  EXPECT_THROW((void)fp::load_manifest(dir), fp::ManifestError);
  fs::remove_all(dir);
}

TEST(ManifestDemo, ShippedDemoManifestParses) {
  const fs::path demo = fs::path(FLOWMRD_SOURCE_DIR) / "samples" / "demo" / "manifest.csv";
  if (!fs::exists(demo)) GTEST_SKIP() << "no " << demo;
  const auto m = fp::load_manifest(demo);
  EXPECT_TRUE(m.warnings.empty());
  for (const auto& s : m.samples) EXPECT_EQ(s.error, "") << s.patient << "/" << s.sample;
  EXPECT_EQ(m.samples.size(), 7U);
  EXPECT_EQ(m.patients.size(), 3U);
}
