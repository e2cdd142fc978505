// SPDX-License-Identifier: Apache-2.0
// Compensation::from_file: every supported external matrix format from small files written here,
// the error messages, and the real matrices of the shared corpus (Gating-ML compliance suite,
// FlowKit's FlowJo workspaces and CSV exports) when ${FLOWMRD_SHARED_DATA} is present.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fcs/sha256.hpp"
#include "compensation_test_support.hpp"
#include "flowmrd/gating/compensation.hpp"

#ifndef FLOWMRD_TEST_TMP
#define FLOWMRD_TEST_TMP "/tmp/flowmrd-test"
#endif
#ifndef FLOWMRD_SHARED_DATA
#define FLOWMRD_SHARED_DATA ""
#endif

namespace {

namespace fs = std::filesystem;
using flowmrd::gating::Compensation;
using flowmrd::gating::CompensationError;
using Kind = flowmrd::gating::CompensationSource::Kind;

fs::path tmp_dir() {
  fs::path d = fs::path(FLOWMRD_TEST_TMP) / "matrix_files";
  fs::create_directories(d);
  return d;
}

fs::path write(const std::string& name, const std::string& content) {
  const fs::path p = tmp_dir() / name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

fs::path shared() {
  const char* env = std::getenv("FLOWMRD_SHARED_DATA");
  return fs::path(env != nullptr && *env != '\0' ? env : FLOWMRD_SHARED_DATA);
}

std::string sha_of(const std::string& content) {
  return fcs::sha256_hex(std::as_bytes(std::span<const char>(content.data(), content.size())));
}

using compensation_test::error_of;

std::string from_file_error(const fs::path& p, const std::string& id = {}) {
  return error_of([&] { (void)Compensation::from_file(p, id); });
}

/// The 2x2 matrix most tests write: FITC-A spills 0.1 into PE-A, PE-A 0.05 into FITC-A.
void expect_fitc_pe(const Compensation& c) {
  ASSERT_EQ(c.channels(), (std::vector<std::string>{"FITC-A", "PE-A"}));
  EXPECT_DOUBLE_EQ(c.spillover(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(c.spillover(0, 1), 0.1);
  EXPECT_DOUBLE_EQ(c.spillover(1, 0), 0.05);
  EXPECT_DOUBLE_EQ(c.spillover(1, 1), 1.0);
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Delimited text

TEST(MatrixFiles, CsvWithHeader) {
  const std::string text = "FITC-A,PE-A\n1,0.1\n0.05,1\n";
  const fs::path p = write("plain.csv", text);
  const Compensation c = Compensation::from_file(p);
  expect_fitc_pe(c);
  EXPECT_EQ(c.source().kind, Kind::csv);
  EXPECT_EQ(c.source().origin, p.string());
  EXPECT_EQ(c.source().sha256, sha_of(text));
}

TEST(MatrixFiles, CsvWithRowNamesAndCornerCell) {
  // As R's write.csv writes a matrix with dimnames: quoted, with an empty corner cell.
  expect_fitc_pe(Compensation::from_file(
      write("rnames.csv", "\"\",\"FITC-A\",\"PE-A\"\n\"FITC-A\",1,0.1\n\"PE-A\",0.05,1\n")));
  expect_fitc_pe(Compensation::from_file(write("rnames2.csv", "FITC-A,PE-A\nFITC-A,1,0.1\nPE-A,0.05,1\n")));
  expect_fitc_pe(Compensation::from_file(write("rnames3.csv", "Channel,FITC-A,PE-A\nFITC-A,1,0.1\nPE-A,0.05,1\n")));
}

TEST(MatrixFiles, RowNamesMustMatchTheHeader) {
  const fs::path p = write("rmismatch.csv", "FITC-A,PE-A\nPE-A,1,0.1\nFITC-A,0.05,1\n");
  const std::string msg = from_file_error(p);
  EXPECT_NE(msg.find(p.string() + ":2:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("row name 'PE-A' differs from header column 1 'FITC-A'"), std::string::npos) << msg;
}

TEST(MatrixFiles, TabSemicolonDecimalCommaAndCrLf) {
  expect_fitc_pe(Compensation::from_file(write("m.tsv", "FITC-A\tPE-A\r\n1\t0.1\r\n0.05\t1\r\n")));
  expect_fitc_pe(Compensation::from_file(write("semi.csv", "FITC-A;PE-A\n1;0,1\n0,05;1\n")));
  expect_fitc_pe(Compensation::from_file(write("semi2.csv", "FITC-A;PE-A\n1;0.1\n0.05;1\n")));
}

TEST(MatrixFiles, HashHeaderBlankLinesBomAndNamesWithSpaces) {
  // FlowKit's den_comp.csv layout: "# " before the header; names with blanks.
  const Compensation c = Compensation::from_file(
      write("hash.csv", "\xEF\xBB\xBF# TNFa FITC FLR-A,CD8 PerCP-Cy55 FLR-A\n1.000000,0.014139\n0.000000,1.000000\n\n\n"));
  EXPECT_EQ(c.channels(), (std::vector<std::string>{"TNFa FITC FLR-A", "CD8 PerCP-Cy55 FLR-A"}));
  EXPECT_DOUBLE_EQ(c.spillover(0, 1), 0.014139);
  EXPECT_EQ(c.source().kind, Kind::csv);
}

TEST(MatrixFiles, CommentLinesKeepCsvKind) {
  const Compensation c = Compensation::from_file(write("comment.csv", "# exported by hand\nFITC-A,PE-A\n1,0.1\n0.05,1\n"));
  expect_fitc_pe(c);
  EXPECT_EQ(c.source().kind, Kind::csv);
}

TEST(MatrixFiles, PercentDiagonalIsDividedBy100) {
  expect_fitc_pe(Compensation::from_file(write("pct.csv", "FITC-A,PE-A\n100,10\n5,100\n")));
  // A diagonal that is not all 100 is read as written.
  const Compensation c = Compensation::from_file(write("notpct.csv", "A,B\n100,10\n5,1\n"));
  EXPECT_DOUBLE_EQ(c.spillover(0, 0), 100.0);
}

TEST(MatrixFiles, CytobankLongNamesAndFlowJoAngleBrackets) {
  expect_fitc_pe(Compensation::from_file(write("cyto.csv", "FITC-A :: CD19,PE-A::CD10\n1,0.1\n0.05,1\n")));
  expect_fitc_pe(Compensation::from_file(write("angle.txt", "<FITC-A>\t<PE-A>\n1\t0.1\n0.05\t1\n")));
}

TEST(MatrixFiles, FlowJoClassicTextMatrix) {
  // FlowJo's text matrix (FlowJo for Mac manual, "Compensation Matrix File"): a title line, a
  // prefix<TAB>suffix line, the tab-separated channel names, then the rows; lines end in CR.
  const std::string text =
      "HRH 960814\r<\t>\rFluor\tPhyEry\tCy5PE\r1.0000\t0.1803\t0.0404\r0.0091\t1.0000\t0.2595\r"
      "0.0045\t0.0473\t1.0000\r";
  const fs::path p = write("classic.txt", text);
  const Compensation c = Compensation::from_file(p);
  EXPECT_EQ(c.source().kind, Kind::flowjo);
  EXPECT_EQ(c.source().sha256, sha_of(text));
  EXPECT_EQ(c.channels(), (std::vector<std::string>{"Fluor", "PhyEry", "Cy5PE"}));
  EXPECT_DOUBLE_EQ(c.spillover(0, 1), 0.1803);
  EXPECT_DOUBLE_EQ(c.spillover(1, 0), 0.0091);
  EXPECT_DOUBLE_EQ(c.spillover(2, 1), 0.0473);
}

TEST(MatrixFiles, FlowJoTextMtxWithTitle) {
  // FlowJo 9: title line, header, rows; a .mtx file is FlowJo's whatever its layout.
  const Compensation c = Compensation::from_file(write("v9.mtx", "My matrix\nFITC-A\tPE-A\n1\t0.1\n0.05\t1\n"));
  expect_fitc_pe(c);
  EXPECT_EQ(c.source().kind, Kind::flowjo);
  const Compensation d = Compensation::from_file(write("noheader.mtx", "FITC-A\tPE-A\n1\t0.1\n0.05\t1\n"));
  EXPECT_EQ(d.source().kind, Kind::flowjo);
}

TEST(MatrixFiles, TextErrorsNameFileLineAndReason) {
  {
    const fs::path p = write("bad_value.csv", "A,B\n1,0.1\n0.2,x\n");
    const std::string msg = from_file_error(p);
    EXPECT_NE(msg.find(p.string() + ":3:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("0.2,x"), std::string::npos) << msg;
  }
  {
    const fs::path p = write("short.csv", "A,B,C\n1,0.1,0\n0.2,1,0\n");
    const std::string msg = from_file_error(p);
    EXPECT_NE(msg.find("needs 3 rows, found 2"), std::string::npos) << msg;
  }
  {
    const fs::path p = write("long.csv", "A,B\n1,0.1\n0.2,1\n0,0\n");
    const std::string msg = from_file_error(p);
    EXPECT_NE(msg.find(p.string() + ":4:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("needs 2 rows, found 3"), std::string::npos) << msg;
  }
  {
    const fs::path p = write("ragged.csv", "A,B\n1,0.1\n0.2,1,5\n");
    const std::string msg = from_file_error(p);
    EXPECT_NE(msg.find(p.string() + ":3: row has 3 fields"), std::string::npos) << msg;
  }
  {
    const fs::path p = write("hdr.csv", "A,B,C\n1,0.1\n0.2,1\n");
    const std::string msg = from_file_error(p);
    EXPECT_NE(msg.find(p.string() + ":1: the header names 3 channels but the rows hold 2 values"), std::string::npos)
        << msg;
  }
  {
    const fs::path p = write("noheader.csv", "1,0.1\n0.2,1\n");
    EXPECT_NE(from_file_error(p).find("no header row"), std::string::npos);
  }
  EXPECT_NE(from_file_error(write("empty.csv", "  \n\n")).find("empty"), std::string::npos);
  EXPECT_NE(from_file_error(write("words.csv", "hello world\nnothing here\n")).find("no row of numbers"),
            std::string::npos);
  EXPECT_NE(from_file_error(tmp_dir() / "does-not-exist.csv").find("cannot open"), std::string::npos);
  // An id picks among the matrices of an XML file; a text file has one.
  EXPECT_NE(from_file_error(write("id.csv", "A,B\n1,0\n0,1\n"), "x").find("single matrix"), std::string::npos);
  // The matrix itself is validated like any other.
  const std::string sing = from_file_error(write("singular.csv", "A,B\n1,1\n1,1\n"));
  EXPECT_NE(sing.find("singular"), std::string::npos) << sing;
  EXPECT_NE(sing.find("CSV file"), std::string::npos) << sing;
}

// ------------------------------------------------------------------------------------------------
// FlowJo XML

namespace {
/// FlowJo 10's exported .mtx (and a workspace's <Matrices>): prefixed names without namespace
/// declarations, as FlowJo and tools imitating it write them.
std::string flowjo_matrix(const std::string& id, const std::string& name, double fitc_into_pe) {
  return "  <transforms:spilloverMatrix spectral=\"0\" prefix=\"Comp-\" name=\"" + name +
         "\" editable=\"0\" transforms:id=\"" + id +
         "\" suffix=\"\">\n"
         "    <data-type:parameters>\n"
         "      <data-type:parameter data-type:name=\"FITC-A\" userProvidedCompInfix=\"Comp-FITC-A\"/>\n"
         "      <data-type:parameter data-type:name=\"PE-A\" userProvidedCompInfix=\"Comp-PE-A\"/>\n"
         "    </data-type:parameters>\n"
         "    <transforms:spillover data-type:parameter=\"PE-A\">\n"
         "      <transforms:coefficient data-type:parameter=\"PE-A\" transforms:value=\"1\"/>\n"
         "      <transforms:coefficient data-type:parameter=\"FITC-A\" transforms:value=\"0.05\"/>\n"
         "    </transforms:spillover>\n"
         "    <transforms:spillover data-type:parameter=\"FITC-A\">\n"
         "      <transforms:coefficient data-type:parameter=\"FITC-A\" transforms:value=\"1\"/>\n"
         "      <transforms:coefficient data-type:parameter=\"PE-A\" transforms:value=\"" +
         std::to_string(fitc_into_pe) +
         "\"/>\n"
         "    </transforms:spillover>\n"
         "  </transforms:spilloverMatrix>\n";
}
}  // namespace

TEST(MatrixFiles, FlowJo10MtxXml) {
  const std::string text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gating:gatingML>\n" +
                           flowjo_matrix("", "My comp", 0.1) + "</gating:gatingML>\n";
  const Compensation c = Compensation::from_file(write("fj10.mtx", text));
  expect_fitc_pe(c);  // rows given out of order, coefficients by name
  EXPECT_EQ(c.source().kind, Kind::flowjo);
  EXPECT_EQ(c.source().sha256, sha_of(text));
}

TEST(MatrixFiles, WorkspaceWithSeveralMatricesNeedsAnId) {
  const std::string text = "<?xml version=\"1.0\"?>\n<Workspace>\n<Matrices>\n" + flowjo_matrix("id-1", "First", 0.1) +
                           flowjo_matrix("id-2", "Second", 0.2) + "</Matrices>\n<SampleList>\n" +
                           flowjo_matrix("id-1", "First", 0.1) + "</SampleList>\n</Workspace>\n";
  const fs::path p = write("two.wsp", text);
  const std::string msg = from_file_error(p);
  EXPECT_NE(msg.find("2 different compensation matrices"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'id-1' (First)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'id-2' (Second)"), std::string::npos) << msg;
  expect_fitc_pe(Compensation::from_file(p, "id-1"));
  EXPECT_DOUBLE_EQ(Compensation::from_file(p, "Second").spillover(0, 1), 0.2);
  EXPECT_NE(from_file_error(p, "nope").find("no compensation matrix with id or name 'nope'"), std::string::npos);
}

TEST(MatrixFiles, FlowJoWindowsCompensationMatrixXml) {
  // FlowJo for Windows 7.x "Version 5.3" matrix file (FlowJo manual, "Compensation Matrix File").
  const std::string text =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE CompensationMatrix>\n"
      "<CompensationMatrix name=\"compensation2.mtx\" prefix=\"Comp-\" suffix=\"\" version=\"Version 5.3\">\n"
      "<Channel name=\"FITC-A\">\n<ChannelValue name=\"FITC-A\" value=\"1.00000\" />\n"
      "<ChannelValue name=\"PE-A\" value=\"0.10000\" />\n</Channel>\n"
      "<Channel name=\"PE-A\">\n<ChannelValue name=\"FITC-A\" value=\"0.05000\" />\n"
      "<ChannelValue name=\"PE-A\" value=\"1.00000\" />\n</Channel>\n</CompensationMatrix>\n";
  const Compensation c = Compensation::from_file(write("win.mtx", text));
  expect_fitc_pe(c);
  EXPECT_EQ(c.source().kind, Kind::flowjo);
}

TEST(MatrixFiles, XmlErrorsNameLineAndElement) {
  {
    const fs::path p = write("broken.xml", "<?xml version=\"1.0\"?>\n<a>\n<b>\n</a>\n");
    const std::string msg = from_file_error(p);
    EXPECT_NE(msg.find("not well-formed XML"), std::string::npos) << msg;
    EXPECT_NE(msg.find(p.string() + ":"), std::string::npos) << msg;
  }
  {
    std::string m = flowjo_matrix("x", "x", 0.1);
    m.replace(m.find("transforms:value=\"0.05\""), 23, "transforms:value=\"abc\"");
    const fs::path p = write("badvalue.mtx", "<gating:gatingML>\n" + m + "</gating:gatingML>\n");
    const std::string msg = from_file_error(p);
    EXPECT_NE(msg.find(p.string() + ":9: <transforms:coefficient>: attribute 'value' = 'abc' is not a number"),
              std::string::npos)
        << msg;
  }
  {
    std::string m = flowjo_matrix("x", "x", 0.1);
    m.erase(m.find("      <transforms:coefficient data-type:parameter=\"FITC-A\" transforms:value=\"0.05\"/>\n"),
            std::string("      <transforms:coefficient data-type:parameter=\"FITC-A\" transforms:value=\"0.05\"/>\n").size());
    const std::string msg = from_file_error(write("missing.mtx", "<gating:gatingML>\n" + m + "</gating:gatingML>\n"));
    EXPECT_NE(msg.find("row 'PE-A' has no coefficient for channel 'FITC-A'"), std::string::npos) << msg;
  }
  EXPECT_NE(from_file_error(write("nomatrix.xml", "<?xml version=\"1.0\"?>\n<root><x/></root>\n")).find("no Gating-ML"),
            std::string::npos);
}

// ------------------------------------------------------------------------------------------------
// Gating-ML 2.0 spectrumMatrix

namespace {
const char* const kGmlHead =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<gating:Gating-ML xmlns:gating=\"http://www.isac-net.org/std/Gating-ML/v2.0/gating\"\n"
    "  xmlns:transforms=\"http://www.isac-net.org/std/Gating-ML/v2.0/transformations\"\n"
    "  xmlns:data-type=\"http://www.isac-net.org/std/Gating-ML/v2.0/datatypes\">\n";

std::string spectrum_matrix(const std::string& id, const std::string& extra_attr, const std::vector<double>& v) {
  std::string s = "  <transforms:spectrumMatrix transforms:id=\"" + id + "\"" + extra_attr +
                  ">\n    <transforms:fluorochromes>\n"
                  "      <data-type:fcs-dimension data-type:name=\"FITC\"/>\n"
                  "      <data-type:fcs-dimension data-type:name=\"PE\"/>\n    </transforms:fluorochromes>\n"
                  "    <transforms:detectors>\n      <data-type:fcs-dimension data-type:name=\"FITC-A\"/>\n"
                  "      <data-type:fcs-dimension data-type:name=\"PE-A\"/>\n    </transforms:detectors>\n";
  for (int r = 0; r < 2; ++r) {
    s += "    <transforms:spectrum>\n";
    for (int c = 0; c < 2; ++c) {
      s += "      <transforms:coefficient transforms:value=\"" + std::to_string(v[static_cast<std::size_t>(r * 2 + c)]) +
           "\"/>\n";
    }
    s += "    </transforms:spectrum>\n";
  }
  return s + "  </transforms:spectrumMatrix>\n";
}
}  // namespace

TEST(MatrixFiles, GatingMlSpectrumMatrix) {
  const std::string text = std::string(kGmlHead) + spectrum_matrix("Comp1", "", {1, 0.1, 0.05, 1}) +
                           spectrum_matrix("Comp2", "", {1, 0.3, 0, 1}) + "</gating:Gating-ML>\n";
  const fs::path p = write("two.xml", text);
  const Compensation c = Compensation::from_file(p, "Comp1");
  expect_fitc_pe(c);  // the detectors are the channels
  EXPECT_EQ(c.source().kind, Kind::gatingml);
  EXPECT_EQ(c.source().sha256, sha_of(text));
  EXPECT_DOUBLE_EQ(Compensation::from_file(p, "Comp2").spillover(0, 1), 0.3);
  EXPECT_NE(from_file_error(p).find("2 different compensation matrices"), std::string::npos);
}

TEST(MatrixFiles, GatingMlMatrixInvertedAlready) {
  // The file holds S^-1 of S = [[1, 0.1], [0.05, 1]].
  const double det = 1 - 0.1 * 0.05;
  const std::vector<double> inv = {1 / det, -0.1 / det, -0.05 / det, 1 / det};
  std::string m = spectrum_matrix("Inv", " transforms:matrix-inverted-already=\"true\"", inv);
  const Compensation c =
      Compensation::from_file(write("inv.xml", std::string(kGmlHead) + m + "</gating:Gating-ML>\n"));
  EXPECT_NEAR(c.spillover(0, 1), 0.1, 1e-6);  // std::to_string kept 6 decimals
  EXPECT_NEAR(c.spillover(1, 0), 0.05, 1e-6);
}

TEST(MatrixFiles, GatingMlNonSquareIsAnError) {
  std::string m = spectrum_matrix("U", "", {1, 0.1, 0.05, 1});
  m.insert(m.find("    </transforms:detectors>"), "      <data-type:fcs-dimension data-type:name=\"APC-A\"/>\n");
  const std::string msg = from_file_error(write("unmix.xml", std::string(kGmlHead) + m + "</gating:Gating-ML>\n"));
  EXPECT_NE(msg.find("2 fluorochromes over 3 detectors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("<transforms:spectrumMatrix>"), std::string::npos) << msg;
}

// ------------------------------------------------------------------------------------------------
// Real files of the shared corpus

TEST(MatrixFilesShared, GatingMlComplianceSuiteSpectrumMatrix) {
  const fs::path p = shared() / "gatingml2" / "Gating-MLFiles" / "gates1.xml";
  if (!fs::exists(p)) GTEST_SKIP() << p << " not present";
  const Compensation c = Compensation::from_file(p);  // the file holds one matrix, MySpill
  EXPECT_EQ(c.source().kind, Kind::gatingml);
  EXPECT_EQ(c.channels(), (std::vector<std::string>{"FL1-H", "FL2-H", "FL3-H"}));
  const std::vector<double> expect = {1, 0.02, 0.06, 0.11, 1, 0.07, 0.09, 0.01, 1};
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) EXPECT_DOUBLE_EQ(c.spillover(i, j), expect[i * 3 + j]);
  EXPECT_EQ(Compensation::from_file(p, "MySpill").spillover(1, 0), 0.11);
}

TEST(MatrixFilesShared, FlowKitWorkspaceCsvAndGatingMlAgree) {
  const fs::path dir = shared() / "flowjo" / "whitews__FlowKit" / "data" / "8_color_data_set";
  if (!fs::exists(dir / "8_color_ICS.wsp")) GTEST_SKIP() << dir << " not present";
  // The same matrix three ways: the FlowJo workspace, its Gating-ML export and FlowKit's CSV
  // (rounded to 6 decimals).
  const Compensation wsp = Compensation::from_file(dir / "8_color_ICS.wsp");
  const Compensation gml = Compensation::from_file(dir / "8_color_ICS.xml", "Acquisition-defined");
  const Compensation csv = Compensation::from_file(dir / "den_comp.csv");
  EXPECT_EQ(wsp.source().kind, Kind::flowjo);
  EXPECT_EQ(gml.source().kind, Kind::gatingml);
  EXPECT_EQ(csv.source().kind, Kind::csv);
  ASSERT_EQ(wsp.size(), 8u);
  EXPECT_EQ(wsp.channels(), gml.channels());
  EXPECT_EQ(wsp.channels(), csv.channels());
  EXPECT_EQ(wsp.channels().front(), "TNFa FITC FLR-A");
  for (std::size_t i = 0; i < 8; ++i) {
    for (std::size_t j = 0; j < 8; ++j) {
      EXPECT_EQ(wsp.spillover(i, j), gml.spillover(i, j)) << i << "," << j;
      EXPECT_NEAR(wsp.spillover(i, j), csv.spillover(i, j), 5e-7) << i << "," << j;
    }
  }
  // The null-channel variant lacks TNFa FITC FLR-A.
  const Compensation null7 = Compensation::from_file(dir / "den_comp_null_channel.csv");
  EXPECT_EQ(null7.size(), 7u);
  EXPECT_EQ(null7.channels().front(), "CD8 PerCP-Cy55 FLR-A");
}

TEST(MatrixFilesShared, FacsPyWorkspaceWithElevenMatrices) {
  const fs::path p = shared() / "flowjo" / "rgb-lab__FACSPy" / "FACSPy" / "_resources" / "test_suite_dataset" /
                     "test_suite.wsp";
  if (!fs::exists(p)) GTEST_SKIP() << p << " not present";
  const std::string msg = from_file_error(p);
  EXPECT_NE(msg.find("11 different compensation matrices"), std::string::npos) << msg;
  EXPECT_NE(msg.find("20230302_Recompensation"), std::string::npos) << msg;
  const Compensation by_name = Compensation::from_file(p, "20230302_Recompensation");
  const Compensation by_id = Compensation::from_file(p, "1721fcc4-da7d-4b53-92ee-a617c74bcd58");
  EXPECT_EQ(by_name.channels(), by_id.channels());
  EXPECT_GT(by_name.size(), 2u);
  for (std::size_t i = 0; i < by_name.size(); ++i) EXPECT_EQ(by_name.spillover(i, i), 1.0);
}
