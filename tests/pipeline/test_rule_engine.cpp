// SPDX-License-Identifier: Apache-2.0
// Unit tests of the rule engine on small inline protocols: first-match order, three-valued logic
// for missing inputs, alerts accumulating, undetermined and note rules, input validation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "flowmrd/panels/protocol.hpp"
#include "flowmrd/pipeline/rule_engine.hpp"

namespace {

using flowmrd::panels::load_protocol_string;
using flowmrd::pipeline::evaluate;
using flowmrd::pipeline::ProtocolInputs;
using flowmrd::pipeline::RiskStatus;

constexpr const char* kProtocol = R"toml(
name = "Test"
version = "7"
source = "unit test"

[[timepoint]]
id = "eoi"
tissue = "BM"
day = 33
method = "FCM"

[[rule]]
id = "hr-mrd"
text = "MRD >= 1% at EOI -> HR"
assign = "HR"
all = [ { input = "mrd_percent", timepoint = "eoi", op = ">=", value = 1.0 } ]

[[rule]]
id = "hr-clinical"
text = "KMT2A-r and (age < 183 or WBC >= 300)"
assign = "HR"
all = [
  { input = "kmt2a", op = "==", value = "rearranged" },
  { any = [
      { input = "age_days", op = "<", value = 183 },
      { input = "wbc", op = ">=", value = 300 },
  ] },
]

[[rule]]
id = "gap"
text = "MRD exactly 0.5%"
undetermined = "no group for 0.5"
all = [ { input = "mrd_percent", timepoint = "eoi", op = "==", value = 0.5 } ]

[[rule]]
id = "sr"
text = "otherwise SR"
assign = "SR"
otherwise = true

[[rule]]
id = "alert-cd19"
text = "CD19-negative at EOI"
alert = "CD19 escape"
all = [ { input = "cd19_negative", timepoint = "eoi", op = "==", value = true } ]

[[rule]]
id = "alert-ls"
text = "Lineage switch at EOI"
alert = "lineage switch"
any = [ { input = "lineage_switch", timepoint = "eoi", op = "==", value = true } ]

[[rule]]
id = "unknown-number"
text = "insufficient response"
threshold_unknown = "source gives no number"
)toml";

const flowmrd::panels::Protocol& proto() {
  static const auto p = load_protocol_string(kProtocol, "test.toml");
  return p;
}

TEST(RuleEngine, FirstMatchingRuleWins) {
  ProtocolInputs in;
  in.mrd_percent["eoi"] = 2.0;
  in.kmt2a = "rearranged";
  in.age_days = 30;
  const auto ev = evaluate(proto(), in);
  EXPECT_EQ(ev.status, RiskStatus::assigned);
  EXPECT_EQ(ev.risk_group, "HR");
  ASSERT_TRUE(ev.rule);
  EXPECT_EQ(ev.rule->id, "hr-mrd");
  EXPECT_EQ(ev.rule->text, "MRD >= 1% at EOI -> HR");
  EXPECT_EQ(ev.rule->condition, "mrd_percent@eoi >= 1");
  EXPECT_EQ(ev.protocol, "Test");
  EXPECT_EQ(ev.version, "7");
  EXPECT_EQ(ev.message, "HR (rule hr-mrd: MRD >= 1% at EOI -> HR)");
}

TEST(RuleEngine, MissingInputBlocksLaterRules) {
  ProtocolInputs in;  // no MRD: the first rule cannot be decided, so SR must not be reached
  in.kmt2a = "germline";
  const auto ev = evaluate(proto(), in);
  EXPECT_EQ(ev.status, RiskStatus::not_evaluable);
  ASSERT_TRUE(ev.rule);
  EXPECT_EQ(ev.rule->id, "hr-mrd");
  ASSERT_EQ(ev.missing.size(), 1u);
  EXPECT_EQ(ev.missing[0], "mrd_percent@eoi");
  EXPECT_EQ(ev.message.rfind("not evaluable: missing mrd_percent@eoi", 0), 0u) << ev.message;
}

TEST(RuleEngine, MissingInputIrrelevantWhenShortCircuited) {
  ProtocolInputs in;
  in.mrd_percent["eoi"] = 0.1;
  in.kmt2a = "germline";  // all() is false whatever age and WBC are
  auto ev = evaluate(proto(), in);
  EXPECT_EQ(ev.status, RiskStatus::assigned);
  EXPECT_EQ(ev.risk_group, "SR");

  in.kmt2a = "rearranged";
  in.wbc = 400;  // any() is true whatever age is
  ev = evaluate(proto(), in);
  EXPECT_EQ(ev.risk_group, "HR");
  EXPECT_EQ(ev.rule->id, "hr-clinical");
}

TEST(RuleEngine, MissingInputsListedWhenTheyMatter) {
  ProtocolInputs in;
  in.mrd_percent["eoi"] = 0.1;
  in.kmt2a = "rearranged";
  auto ev = evaluate(proto(), in);
  EXPECT_EQ(ev.status, RiskStatus::not_evaluable);
  EXPECT_EQ(ev.rule->id, "hr-clinical");
  ASSERT_EQ(ev.missing.size(), 2u);
  EXPECT_EQ(ev.missing[0], "age_days");
  EXPECT_EQ(ev.missing[1], "wbc");

  in.age_days = 400;  // any(false, unknown) is still unknown
  ev = evaluate(proto(), in);
  EXPECT_EQ(ev.status, RiskStatus::not_evaluable);
  ASSERT_EQ(ev.missing.size(), 1u);
  EXPECT_EQ(ev.missing[0], "wbc");
}

TEST(RuleEngine, UndeterminedRule) {
  ProtocolInputs in;
  in.mrd_percent["eoi"] = 0.5;
  in.kmt2a = "germline";
  const auto ev = evaluate(proto(), in);
  EXPECT_EQ(ev.status, RiskStatus::undetermined);
  EXPECT_TRUE(ev.risk_group.empty());
  EXPECT_EQ(ev.rule->id, "gap");
  EXPECT_NE(ev.message.find("no group for 0.5"), std::string::npos);
}

TEST(RuleEngine, AlertsAccumulateAndReportMissing) {
  ProtocolInputs in;
  in.mrd_percent["eoi"] = 2.0;
  in.cd19_negative["eoi"] = true;
  auto ev = evaluate(proto(), in);
  ASSERT_EQ(ev.alerts.size(), 2u);
  EXPECT_TRUE(ev.alerts[0].evaluable);
  EXPECT_EQ(ev.alerts[0].rule.id, "alert-cd19");
  EXPECT_EQ(ev.alerts[0].alert, "CD19 escape");
  EXPECT_FALSE(ev.alerts[1].evaluable);
  EXPECT_EQ(ev.alerts[1].rule.id, "alert-ls");
  ASSERT_EQ(ev.alerts[1].missing.size(), 1u);
  EXPECT_EQ(ev.alerts[1].missing[0], "lineage_switch@eoi");

  in.lineage_switch["eoi"] = true;
  ev = evaluate(proto(), in);
  ASSERT_EQ(ev.alerts.size(), 2u);
  EXPECT_TRUE(ev.alerts[0].evaluable && ev.alerts[1].evaluable);
  // Alerts do not depend on the risk walk.
  EXPECT_EQ(ev.risk_group, "HR");

  in.cd19_negative["eoi"] = false;
  in.lineage_switch["eoi"] = false;
  ev = evaluate(proto(), in);
  EXPECT_TRUE(ev.alerts.empty());
}

TEST(RuleEngine, NotesAreReportedNeverFired) {
  ProtocolInputs in;
  in.mrd_percent["eoi"] = 0.0;
  in.kmt2a = "germline";
  const auto ev = evaluate(proto(), in);
  ASSERT_EQ(ev.notes.size(), 1u);
  EXPECT_EQ(ev.notes[0].id, "unknown-number");
}

TEST(RuleEngine, NoRuleMatched) {
  const auto p = load_protocol_string(R"toml(
name = "N"
version = "1"
source = "s"
[[rule]]
id = "lr"
text = "germline"
assign = "LR"
all = [ { input = "kmt2a", op = "==", value = "germline" } ]
)toml");
  ProtocolInputs in;
  in.kmt2a = "rearranged";
  const auto ev = evaluate(p, in);
  EXPECT_EQ(ev.status, RiskStatus::no_rule_matched);
  EXPECT_FALSE(ev.rule);
  EXPECT_EQ(to_string(ev.status), "no rule matched");
}

TEST(RuleEngine, KmtFusionAndMrdNegative) {
  const auto p = load_protocol_string(R"toml(
name = "F"
version = "1"
source = "s"
[[timepoint]]
id = "d36"
tissue = "BM"
method = "FCM"
[[rule]]
id = "aff1"
text = "t(4;11)"
assign = "HR"
all = [ { input = "kmt2a_fusion", op = "==", value = "KMT2A::AFF1" } ]
[[rule]]
id = "pos"
text = "not MRD-negative"
assign = "HR"
all = [ { input = "mrd_negative", timepoint = "d36", op = "!=", value = true } ]
[[rule]]
id = "ir"
text = "else"
assign = "IR"
otherwise = true
)toml");
  ProtocolInputs in;
  in.kmt2a_fusion = "KMT2A::MLLT1";
  in.mrd_negative["d36"] = true;
  EXPECT_EQ(evaluate(p, in).risk_group, "IR");
  in.mrd_negative["d36"] = false;
  EXPECT_EQ(evaluate(p, in).rule->id, "pos");
  in.kmt2a_fusion = "KMT2A::AFF1";
  EXPECT_EQ(evaluate(p, in).rule->id, "aff1");
}

TEST(RuleEngine, RejectsImpossibleInputs) {
  ProtocolInputs in;
  in.kmt2a = "yes";
  EXPECT_THROW((void)evaluate(proto(), in), std::invalid_argument);
  in.kmt2a.reset();
  in.cns = "CNS3";
  EXPECT_THROW((void)evaluate(proto(), in), std::invalid_argument);
  in.cns.reset();
  in.mrd_percent["eoi"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW((void)evaluate(proto(), in), std::invalid_argument);
}

TEST(RuleEngine, ConditionRendering) {
  const auto* r = proto().find_rule("hr-clinical");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(flowmrd::panels::to_string(r->when), "all(kmt2a == rearranged, any(age_days < 183, wbc >= 300))");
  EXPECT_EQ(flowmrd::panels::to_string(proto().find_rule("sr")->when), "otherwise");
}

}  // namespace
