// SPDX-License-Identifier: Apache-2.0
// Protocol loader and validator: shipped files load; bad files (written to the test temp dir)
// fail with the file, the line and the field named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "flowmrd/panels/protocol.hpp"

namespace {

namespace fs = std::filesystem;
using flowmrd::panels::load_protocol;
using flowmrd::panels::load_protocols;
using flowmrd::panels::ProtocolError;

const fs::path kShipped = fs::path(FLOWMRD_SOURCE_DIR) / "panels" / "protocols";

fs::path write_temp(const std::string& name, const std::string& text) {
  const fs::path dir = fs::path(FLOWMRD_TEST_TMP) / "protocol_loader";
  fs::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Header lines 1-9 are shared, so the line numbers below count from there.
const std::string kHead = R"toml(name = "Bad"
version = "1"
source = "test"

[[timepoint]]
id = "eoi"
tissue = "BM"
day = 33
method = "FCM"
)toml";

struct Failure {
  std::string file;
  std::size_t line = 0;
  std::string field;
  std::string what;
};

Failure load_failure(const std::string& name, const std::string& text) {
  const auto path = write_temp(name, text);
  try {
    (void)load_protocol(path);
  } catch (const ProtocolError& e) {
    return {e.file(), e.line(), e.field(), e.what()};
  }
  ADD_FAILURE() << name << " loaded but should have failed";
  return {};
}

std::string rule(const std::string& conditions) {
  return "\n[[rule]]\nid = \"r\"\ntext = \"t\"\nassign = \"HR\"\n" + conditions + "\n";
}

TEST(ProtocolLoader, ShippedProtocolsLoad) {
  const auto all = load_protocols(kShipped);
  ASSERT_EQ(all.size(), 10u);
  std::set<std::string> names;
  for (const auto& p : all) {
    names.insert(p.name);
    EXPECT_FALSE(p.version.empty()) << p.name;
    EXPECT_FALSE(p.source.empty()) << p.name;
    EXPECT_FALSE(p.rules.empty()) << p.name;
  }
  const std::set<std::string> expected = {"Interfant-99", "Interfant-06", "Interfant-21", "MLL-Baby",
                                          "ALL-Baby-2021", "JPLSG MLL-10", "COG AALL0631",
                                          "AIEOP-BFM ALL 2009", "COG AALL08B1", "St Jude Total XVI"};
  EXPECT_EQ(names, expected);
  for (const char* f : {"interfant-99.toml", "interfant-06.toml", "interfant-21.toml", "mll-baby.toml",
                        "all-baby-2021.toml", "jplsg-mll-10.toml", "cog-aall0631.toml", "aieop-bfm-all-2009.toml",
                        "cog-aall08b1.toml", "st-jude-total-xvi.toml"}) {
    EXPECT_TRUE(fs::exists(kShipped / f)) << f;
  }
}

TEST(ProtocolLoader, ShippedInterfant21Content) {
  const auto p = load_protocol(kShipped / "interfant-21.toml");
  ASSERT_NE(p.find_timepoint("blin1"), nullptr);
  const auto* r = p.find_rule("hr-mrd-blin1");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(flowmrd::panels::to_string(r->when), "mrd_percent@blin1 > 0.01");
  EXPECT_EQ(r->outcome, flowmrd::panels::Outcome::assign);
  EXPECT_EQ(r->result, "HR");
  EXPECT_EQ(flowmrd::panels::to_string(p.find_rule("hr-mrd-eoi")->when), "mrd_percent@eoi >= 1");
}

TEST(ProtocolLoader, UnknownInput) {
  const auto f = load_failure("unknown_input.toml",
                              kHead + rule("all = [ { input = \"mrd_precent\", timepoint = \"eoi\", op = \">=\", value = 1.0 } ]"));
  EXPECT_NE(f.file.find("unknown_input.toml"), std::string::npos);
  EXPECT_EQ(f.line, 15u);
  EXPECT_EQ(f.field, "rule[0].all[0].input");
  EXPECT_NE(f.what.find("unknown input 'mrd_precent'"), std::string::npos) << f.what;
  EXPECT_NE(f.what.find("unknown_input.toml:15: rule[0].all[0].input"), std::string::npos) << f.what;
}

TEST(ProtocolLoader, UnknownOp) {
  const auto f = load_failure("unknown_op.toml",
                              kHead + rule("all = [\n  { input = \"mrd_percent\", timepoint = \"eoi\", op = \"=>\", value = 1.0 },\n]"));
  EXPECT_EQ(f.line, 16u);
  EXPECT_EQ(f.field, "rule[0].all[0].op");
  EXPECT_NE(f.what.find("unknown op '=>'"), std::string::npos) << f.what;
}

TEST(ProtocolLoader, MissingValue) {
  const auto f = load_failure("missing_value.toml",
                              kHead + rule("all = [\n  { input = \"age_days\", op = \"<\" },\n]"));
  EXPECT_EQ(f.line, 16u);
  EXPECT_EQ(f.field, "rule[0].all[0].value");
  EXPECT_NE(f.what.find("missing"), std::string::npos) << f.what;
}

TEST(ProtocolLoader, UndefinedTimepoint) {
  const auto f = load_failure("undefined_timepoint.toml",
                              kHead + rule("all = [\n  { input = \"mrd_percent\", timepoint = \"d15\", op = \"<\", value = 0.1 },\n]"));
  EXPECT_EQ(f.line, 16u);
  EXPECT_EQ(f.field, "rule[0].all[0].timepoint");
  EXPECT_NE(f.what.find("timepoint 'd15' is not defined"), std::string::npos) << f.what;
}

TEST(ProtocolLoader, TimepointRequiredForMrd) {
  const auto f = load_failure("no_timepoint.toml",
                              kHead + rule("all = [\n  { input = \"mrd_percent\", op = \"<\", value = 0.1 },\n]"));
  EXPECT_EQ(f.line, 16u);
  EXPECT_EQ(f.field, "rule[0].all[0].timepoint");
}

TEST(ProtocolLoader, TimepointForbiddenForClinicalInput) {
  const auto f = load_failure("clinical_timepoint.toml",
                              kHead + rule("all = [\n  { input = \"wbc\", timepoint = \"eoi\", op = \">=\", value = 300 },\n]"));
  EXPECT_EQ(f.field, "rule[0].all[0].timepoint");
  EXPECT_NE(f.what.find("clinical input"), std::string::npos) << f.what;
}

TEST(ProtocolLoader, WrongValueTypes) {
  auto f = load_failure("string_number.toml",
                        kHead + rule("all = [\n  { input = \"wbc\", op = \">=\", value = \"300\" },\n]"));
  EXPECT_EQ(f.line, 16u);
  EXPECT_EQ(f.field, "rule[0].all[0].value");
  EXPECT_NE(f.what.find("must be a number"), std::string::npos) << f.what;

  f = load_failure("bad_kmt2a.toml", kHead + rule("all = [\n  { input = \"kmt2a\", op = \"==\", value = \"MLL\" },\n]"));
  EXPECT_EQ(f.field, "rule[0].all[0].value");
  EXPECT_NE(f.what.find("rearranged"), std::string::npos) << f.what;

  f = load_failure("text_lt.toml", kHead + rule("all = [\n  { input = \"cns\", op = \"<\", value = \"positive\" },\n]"));
  EXPECT_EQ(f.field, "rule[0].all[0].op");

  f = load_failure("bad_fusion.toml",
                   kHead + rule("all = [\n  { input = \"kmt2a_fusion\", op = \"==\", value = \"AFF1\" },\n]"));
  EXPECT_EQ(f.field, "rule[0].all[0].value");

  f = load_failure("bool_flag.toml",
                   kHead + rule("all = [\n  { input = \"cd19_negative\", timepoint = \"eoi\", op = \"==\", value = 1 },\n]"));
  EXPECT_EQ(f.field, "rule[0].all[0].value");
}

TEST(ProtocolLoader, NestedGroupFieldPath) {
  const auto f = load_failure("nested.toml", kHead + rule(R"toml(all = [
  { input = "kmt2a", op = "==", value = "rearranged" },
  { any = [
      { input = "wbc", op = ">=", value = 300 },
      { input = "day8_blasts", op = ">=", value = 1000 },
  ] },
])toml"));
  EXPECT_EQ(f.line, 19u);
  EXPECT_EQ(f.field, "rule[0].all[1].any[1].input");
}

TEST(ProtocolLoader, RuleStructureErrors) {
  auto f = load_failure("no_outcome.toml", kHead + "\n[[rule]]\nid = \"x\"\ntext = \"t\"\notherwise = true\n");
  EXPECT_EQ(f.line, 11u);
  EXPECT_EQ(f.field, "rule[0]");
  EXPECT_NE(f.what.find("exactly one of assign"), std::string::npos) << f.what;

  f = load_failure("no_condition.toml", kHead + "\n[[rule]]\nid = \"x\"\ntext = \"t\"\nassign = \"HR\"\n");
  EXPECT_EQ(f.field, "rule[0]");
  EXPECT_NE(f.what.find("exactly one of all, any, otherwise"), std::string::npos) << f.what;

  f = load_failure("dup_id.toml", kHead + rule("otherwise = true") + rule("otherwise = true"));
  EXPECT_EQ(f.field, "rule[1].id");
  EXPECT_NE(f.what.find("duplicate rule id"), std::string::npos) << f.what;

  f = load_failure("typo_key.toml", kHead + rule("otherwise = true\nunverifed = true"));
  EXPECT_EQ(f.line, 16u);
  EXPECT_EQ(f.field, "rule[0].unverifed");
  EXPECT_NE(f.what.find("unknown key"), std::string::npos) << f.what;

  f = load_failure("empty_all.toml", kHead + rule("all = []"));
  EXPECT_EQ(f.field, "rule[0].all");

  f = load_failure("note_with_condition.toml",
                   kHead + "\n[[rule]]\nid = \"x\"\ntext = \"t\"\nthreshold_unknown = \"no number\"\notherwise = true\n");
  EXPECT_EQ(f.field, "rule[0]");
}

TEST(ProtocolLoader, HeaderAndTimepointErrors) {
  auto f = load_failure("no_name.toml", "version = \"1\"\nsource = \"s\"\n" + rule("otherwise = true"));
  EXPECT_EQ(f.field, "name");

  f = load_failure("no_rules.toml", kHead);
  EXPECT_EQ(f.field, "rule");

  f = load_failure("bad_tissue.toml", "name = \"B\"\nversion = \"1\"\nsource = \"s\"\n[[timepoint]]\nid = \"d8\"\n"
                                      "tissue = \"blood\"\nmethod = \"FCM\"\n" + rule("otherwise = true"));
  EXPECT_EQ(f.line, 6u);
  EXPECT_EQ(f.field, "timepoint[0].tissue");

  f = load_failure("dup_timepoint.toml", kHead + "[[timepoint]]\nid = \"eoi\"\ntissue = \"PB\"\nmethod = \"FCM\"\n" +
                                             rule("otherwise = true"));
  EXPECT_EQ(f.field, "timepoint[1].id");
}

TEST(ProtocolLoader, SyntaxErrorHasLine) {
  const auto f = load_failure("syntax.toml", kHead + "\n[[rule]]\nid = \"x\ntext = \"t\"\n");
  EXPECT_EQ(f.line, 12u);
  EXPECT_NE(f.what.find("TOML syntax error"), std::string::npos) << f.what;
}

TEST(ProtocolLoader, MissingFileAndDuplicateNames) {
  EXPECT_THROW((void)load_protocol(fs::path(FLOWMRD_TEST_TMP) / "does-not-exist.toml"), ProtocolError);

  const fs::path dir = fs::path(FLOWMRD_TEST_TMP) / "protocol_dups";
  fs::create_directories(dir);
  for (const char* n : {"a.toml", "b.toml"}) {
    std::ofstream(dir / n) << "name = \"Same\"\nversion = \"1\"\nsource = \"s\"\n" << rule("otherwise = true");
  }
  try {
    (void)load_protocols(dir);
    ADD_FAILURE() << "duplicate names accepted";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.file()).find("b.toml"), std::string::npos);
    EXPECT_EQ(e.field(), "name");
  }
}

}  // namespace
