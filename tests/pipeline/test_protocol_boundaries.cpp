// SPDX-License-Identifier: Apache-2.0
// Boundary tests of every shipped protocol rule: each numeric threshold is probed exactly at the
// value, one ulp below and one ulp above, and with the input absent; categorical rules get their
// own cases. A coverage test fails when a shipped rule or threshold has no case here, so adding a
// rule to panels/protocols/ without a test breaks the build.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "flowmrd/panels/protocol.hpp"
#include "flowmrd/pipeline/rule_engine.hpp"

namespace {

using flowmrd::panels::Condition;
using flowmrd::panels::Outcome;
using flowmrd::panels::Protocol;
using flowmrd::pipeline::Evaluation;
using flowmrd::pipeline::ProtocolInputs;
using flowmrd::pipeline::RiskStatus;

const std::string kDir = std::string(FLOWMRD_SOURCE_DIR) + "/panels/protocols/";

const Protocol& protocol(const std::string& file) {
  static std::map<std::string, Protocol> cache;
  auto it = cache.find(file);
  if (it == cache.end()) it = cache.emplace(file, flowmrd::panels::load_protocol(kDir + file)).first;
  return it->second;
}

/// Expected risk outcome.
struct Expect {
  RiskStatus status;
  std::string group;  // assigned only
  std::string rule;   // deciding or blocking rule; empty for no_rule_matched
};
Expect assigned(std::string group, std::string rule) { return {RiskStatus::assigned, std::move(group), std::move(rule)}; }
Expect undetermined(std::string rule) { return {RiskStatus::undetermined, {}, std::move(rule)}; }
Expect not_evaluable(std::string rule) { return {RiskStatus::not_evaluable, {}, std::move(rule)}; }
Expect no_match() { return {RiskStatus::no_rule_matched, {}, {}}; }

// "mrd_percent@eoi", "age_days", ...
void set_input(ProtocolInputs& in, const std::string& name, double v) {
  const auto at = name.find('@');
  if (at != std::string::npos) {
    ASSERT_EQ(name.substr(0, at), "mrd_percent");
    in.mrd_percent[name.substr(at + 1)] = v;
  } else if (name == "age_days") {
    in.age_days = v;
  } else if (name == "wbc") {
    in.wbc = v;
  } else if (name == "day8_pb_blasts_per_ul") {
    in.day8_pb_blasts_per_ul = v;
  } else {
    FAIL() << "unknown numeric input " << name;
  }
}

void erase_input(ProtocolInputs& in, const std::string& name) {
  const auto at = name.find('@');
  if (at != std::string::npos) {
    in.mrd_percent.erase(name.substr(at + 1));
  } else if (name == "age_days") {
    in.age_days.reset();
  } else if (name == "wbc") {
    in.wbc.reset();
  } else if (name == "day8_pb_blasts_per_ul") {
    in.day8_pb_blasts_per_ul.reset();
  }
}

void check(const Evaluation& ev, const Expect& e, const std::string& where) {
  EXPECT_EQ(ev.status, e.status) << where << ": " << ev.message;
  if (e.status == RiskStatus::assigned) {
    EXPECT_EQ(ev.risk_group, e.group) << where << ": " << ev.message;
  }
  if (e.rule.empty()) {
    EXPECT_FALSE(ev.rule.has_value()) << where << ": " << ev.message;
  } else {
    ASSERT_TRUE(ev.rule.has_value()) << where << ": " << ev.message;
    EXPECT_EQ(ev.rule->id, e.rule) << where << ": " << ev.message;
  }
}

bool fired(const Evaluation& ev, const std::string& id) {
  return std::any_of(ev.alerts.begin(), ev.alerts.end(),
                     [&](const auto& a) { return a.evaluable && a.rule.id == id; });
}
bool alert_not_evaluable(const Evaluation& ev, const std::string& id, const std::string& input) {
  return std::any_of(ev.alerts.begin(), ev.alerts.end(), [&](const auto& a) {
    return !a.evaluable && a.rule.id == id && std::find(a.missing.begin(), a.missing.end(), input) != a.missing.end();
  });
}

/// A numeric threshold of a risk rule, probed below / at / above and absent.
struct RiskCase {
  std::string file;
  std::vector<std::string> covers;  // rules whose threshold this is; the first holds the leaf
  std::string input;                // "mrd_percent@eoi", "age_days", ...
  double threshold;
  std::function<void(ProtocolInputs&)> base;
  Expect below, at, above, missing;
};

/// A numeric threshold of alert rules: which of `covers` fire below / at / above.
struct AlertCase {
  std::string file;
  std::vector<std::string> covers;
  std::string input;
  double threshold;
  std::function<void(ProtocolInputs&)> base;
  std::vector<std::string> below, at, above;
};

/// A categorical situation (KMT2A, CNS, fusion, flags, otherwise).
struct CategoricalCase {
  std::string file;
  std::vector<std::string> covers;
  std::function<void(ProtocolInputs&)> inputs;
  Expect expect;
  std::vector<std::string> alerts_fired;
  std::vector<std::string> alerts_not_evaluable;  // rule ids
};

void kmt2a_r(ProtocolInputs& in) { in.kmt2a = "rearranged"; }
void kmt2a_g(ProtocolInputs& in) { in.kmt2a = "germline"; }

const std::vector<RiskCase>& risk_cases() {
  static const std::vector<RiskCase> cases = {
      // Interfant-99
      {"interfant-99.toml", {"hr-ppr", "good-response"}, "day8_pb_blasts_per_ul", 1000, [](auto&) {},
       assigned("good response", "good-response"), assigned("HR", "hr-ppr"), assigned("HR", "hr-ppr"),
       not_evaluable("hr-ppr")},
      // Interfant-06: age < 183 days (exclusive), WBC >= 300 and PPR >= 1000 (inclusive)
      {"interfant-06.toml", {"hr"}, "age_days", 183, [](auto& in) { kmt2a_r(in); in.wbc = 400; },
       assigned("HR", "hr"), assigned("IR", "ir-kmt2a-r"), assigned("IR", "ir-kmt2a-r"), not_evaluable("hr")},
      {"interfant-06.toml", {"hr"}, "wbc", 300, [](auto& in) { kmt2a_r(in); in.age_days = 100; in.day8_pb_blasts_per_ul = 500; },
       assigned("IR", "ir-kmt2a-r"), assigned("HR", "hr"), assigned("HR", "hr"), not_evaluable("hr")},
      {"interfant-06.toml", {"hr"}, "day8_pb_blasts_per_ul", 1000, [](auto& in) { kmt2a_r(in); in.age_days = 100; in.wbc = 100; },
       assigned("IR", "ir-kmt2a-r"), assigned("HR", "hr"), assigned("HR", "hr"), not_evaluable("hr")},
      // Interfant-21
      {"interfant-21.toml", {"hr-clinical"}, "age_days", 183,
       [](auto& in) { in.wbc = 400; in.mrd_percent["eoi"] = 0.001; in.mrd_percent["blin1"] = 0.0; },
       assigned("HR", "hr-clinical"), assigned("IR", "ir"), assigned("IR", "ir"), not_evaluable("hr-clinical")},
      {"interfant-21.toml", {"hr-clinical"}, "wbc", 300,
       [](auto& in) { in.age_days = 100; in.day8_pb_blasts_per_ul = 100; in.mrd_percent["eoi"] = 0.001; in.mrd_percent["blin1"] = 0.0; },
       assigned("IR", "ir"), assigned("HR", "hr-clinical"), assigned("HR", "hr-clinical"), not_evaluable("hr-clinical")},
      {"interfant-21.toml", {"hr-clinical"}, "day8_pb_blasts_per_ul", 1000,
       [](auto& in) { in.age_days = 100; in.wbc = 100; in.mrd_percent["eoi"] = 0.001; in.mrd_percent["blin1"] = 0.0; },
       assigned("IR", "ir"), assigned("HR", "hr-clinical"), assigned("HR", "hr-clinical"), not_evaluable("hr-clinical")},
      {"interfant-21.toml", {"hr-mrd-eoi"}, "mrd_percent@eoi", 1.0,
       [](auto& in) { in.age_days = 200; in.mrd_percent["blin1"] = 0.0; },
       assigned("IR", "ir"), assigned("HR", "hr-mrd-eoi"), assigned("HR", "hr-mrd-eoi"), not_evaluable("hr-mrd-eoi")},
      {"interfant-21.toml", {"hr-mrd-blin1"}, "mrd_percent@blin1", 0.01,
       [](auto& in) { in.age_days = 200; in.mrd_percent["eoi"] = 0.5; },
       assigned("IR", "ir"), assigned("IR", "ir"), assigned("HR", "hr-mrd-blin1"), not_evaluable("hr-mrd-blin1")},
      // ALL-Baby-2021: < 0.1 LR, > 0.1 HR, exactly 0.1 assigned to neither
      {"all-baby-2021.toml", {"hr-lr-mrd-d36", "lr", "lr-mrd-exactly-0.1"}, "mrd_percent@d36", 0.1, kmt2a_g,
       assigned("LR", "lr"), undetermined("lr-mrd-exactly-0.1"), assigned("HR", "hr-lr-mrd-d36"),
       not_evaluable("hr-lr-mrd-d36")},
      // JPLSG MLL-10: age < 180 days HR, >= 180 IR
      {"jplsg-mll-10.toml", {"hr", "ir"}, "age_days", 180, [](auto& in) { kmt2a_r(in); in.cns = "negative"; },
       assigned("HR", "hr"), assigned("IR", "ir"), assigned("IR", "ir"), not_evaluable("hr")},
      // COG AALL0631: age < 90 days HR, >= 90 IR
      {"cog-aall0631.toml", {"hr", "ir"}, "age_days", 90, kmt2a_r,
       assigned("HR", "hr"), assigned("IR", "ir"), assigned("IR", "ir"), not_evaluable("hr")},
      // AIEOP-BFM ALL 2009 day 15: < 0.1 SR, 0.1-<10 MR, >= 10 HR
      {"aieop-bfm-all-2009.toml", {"hr-d15", "mr-d15"}, "mrd_percent@d15", 10.0, [](auto&) {},
       assigned("MR", "mr-d15"), assigned("HR", "hr-d15"), assigned("HR", "hr-d15"), not_evaluable("hr-d15")},
      {"aieop-bfm-all-2009.toml", {"sr-d15", "mr-d15"}, "mrd_percent@d15", 0.1, [](auto&) {},
       assigned("SR eligible", "sr-d15"), assigned("MR", "mr-d15"), assigned("MR", "mr-d15"), not_evaluable("hr-d15")},
      // St Jude Total XVI
      {"st-jude-total-xvi.toml", {"hr-d42"}, "mrd_percent@d42", 1.0, [](auto& in) { in.mrd_percent["d15"] = 0.5; },
       undetermined("other"), assigned("HR", "hr-d42"), assigned("HR", "hr-d42"), not_evaluable("hr-d42")},
      {"st-jude-total-xvi.toml", {"lr-mrd"}, "mrd_percent@d42", 0.01, [](auto& in) { in.mrd_percent["d15"] = 0.5; },
       assigned("LR", "lr-mrd"), undetermined("other"), undetermined("other"), not_evaluable("hr-d42")},
      {"st-jude-total-xvi.toml", {"lr-mrd"}, "mrd_percent@d15", 1.0, [](auto& in) { in.mrd_percent["d42"] = 0.001; },
       assigned("LR", "lr-mrd"), undetermined("other"), undetermined("other"), not_evaluable("lr-mrd")},
  };
  return cases;
}

const std::vector<AlertCase>& alert_cases() {
  static const std::vector<AlertCase> cases = {
      {"jplsg-mll-10.toml", {"mrd-eoc-adverse"}, "mrd_percent@eoc", 0.01, kmt2a_g,
       {}, {"mrd-eoc-adverse"}, {"mrd-eoc-adverse"}},
      {"cog-aall08b1.toml", {"d29-positive", "d29-negative"}, "mrd_percent@d29", 0.01, [](auto&) {},
       {"d29-negative"}, {"d29-positive"}, {"d29-positive"}},
      {"cog-aall08b1.toml", {"d8-ge-1", "d8-0.01-to-1"}, "mrd_percent@d8", 1.0, [](auto&) {},
       {"d8-0.01-to-1"}, {"d8-ge-1"}, {"d8-ge-1"}},
      {"cog-aall08b1.toml", {"d8-0.01-to-1", "d8-lt-0.01"}, "mrd_percent@d8", 0.01, [](auto&) {},
       {"d8-lt-0.01"}, {"d8-0.01-to-1"}, {"d8-0.01-to-1"}},
  };
  return cases;
}

const std::vector<CategoricalCase>& categorical_cases() {
  static const std::vector<CategoricalCase> cases = {
      // Interfant-06
      {"interfant-06.toml", {"ir-kmt2a-unknown"}, [](auto& in) { in.kmt2a = "unknown"; },
       assigned("IR", "ir-kmt2a-unknown"), {}, {}},
      // Germline: decided without age/WBC, because the HR rule is already false on kmt2a.
      {"interfant-06.toml", {"lr"}, kmt2a_g, assigned("LR", "lr"), {}, {}},
      {"interfant-06.toml", {"hr"}, [](auto&) {}, not_evaluable("hr"), {}, {}},
      {"interfant-06.toml", {"ir-kmt2a-r"}, [](auto& in) { kmt2a_r(in); in.age_days = 400; },
       assigned("IR", "ir-kmt2a-r"), {}, {}},
      // Interfant-21 flags and the catch-all
      {"interfant-21.toml", {"ir", "cd19-negative-dx"},
       [](auto& in) { in.age_days = 200; in.mrd_percent["eoi"] = 0.0; in.mrd_percent["blin1"] = 0.0;
                      in.cd19_negative["dx"] = true; in.cd19_negative["blin1"] = false; in.lineage_switch["blin1"] = false; },
       assigned("IR", "ir"), {"cd19-negative-dx"}, {}},
      {"interfant-21.toml", {"cd19-negative-blin1", "lineage-switch-blin1"},
       [](auto& in) { in.age_days = 200; in.mrd_percent["eoi"] = 0.0; in.mrd_percent["blin1"] = 0.0;
                      in.cd19_negative["dx"] = false; in.cd19_negative["blin1"] = true; in.lineage_switch["blin1"] = true; },
       assigned("IR", "ir"), {"cd19-negative-blin1", "lineage-switch-blin1"}, {}},
      {"interfant-21.toml", {"cd19-negative-dx", "cd19-negative-blin1", "lineage-switch-blin1"},
       [](auto& in) { in.age_days = 200; in.mrd_percent["eoi"] = 0.0; in.mrd_percent["blin1"] = 0.0; },
       assigned("IR", "ir"), {}, {"cd19-negative-dx", "cd19-negative-blin1", "lineage-switch-blin1"}},
      // MLL-Baby
      {"mll-baby.toml", {"hr-t4-11"}, [](auto& in) { kmt2a_r(in); in.kmt2a_fusion = "KMT2A::AFF1"; },
       assigned("HR", "hr-t4-11"), {}, {}},
      {"mll-baby.toml", {"hr-t4-11"}, kmt2a_r, not_evaluable("hr-t4-11"), {}, {}},
      {"mll-baby.toml", {"hr-ir-not-mrd-negative-d36"},
       [](auto& in) { kmt2a_r(in); in.kmt2a_fusion = "KMT2A::MLLT3"; in.mrd_negative["d36"] = false; },
       assigned("HR", "hr-ir-not-mrd-negative-d36"), {}, {}},
      {"mll-baby.toml", {"hr-ir-not-mrd-negative-d36"},
       [](auto& in) { kmt2a_r(in); in.kmt2a_fusion = "KMT2A::MLLT3"; },
       not_evaluable("hr-ir-not-mrd-negative-d36"), {}, {}},
      {"mll-baby.toml", {"ir"},
       [](auto& in) { kmt2a_r(in); in.kmt2a_fusion = "KMT2A::MLLT3"; in.mrd_negative["d36"] = true; },
       assigned("IR", "ir"), {}, {}},
      {"mll-baby.toml", {}, kmt2a_g, no_match(), {}, {}},
      // ALL-Baby-2021
      {"all-baby-2021.toml", {"hr-kmt2a-r-cns"}, [](auto& in) { kmt2a_r(in); in.cns = "positive"; },
       assigned("HR", "hr-kmt2a-r-cns"), {}, {}},
      {"all-baby-2021.toml", {"ir-kmt2a-r"}, [](auto& in) { kmt2a_r(in); in.cns = "negative"; in.mrd_percent["d36"] = 5.0; },
       assigned("IR", "ir-kmt2a-r"), {}, {}},
      {"all-baby-2021.toml", {"hr-kmt2a-r-cns"}, kmt2a_r, not_evaluable("hr-kmt2a-r-cns"), {}, {}},
      // JPLSG MLL-10
      {"jplsg-mll-10.toml", {"hr"}, [](auto& in) { kmt2a_r(in); in.age_days = 400; in.cns = "positive"; },
       assigned("HR", "hr"), {}, {}},
      {"jplsg-mll-10.toml", {"hr"}, [](auto& in) { kmt2a_r(in); in.age_days = 400; }, not_evaluable("hr"), {}, {}},
      {"jplsg-mll-10.toml", {"lr"}, [](auto& in) { kmt2a_g(in); in.cns = "positive"; }, assigned("LR", "lr"), {},
       {"mrd-eoc-adverse"}},
      // COG AALL0631
      {"cog-aall0631.toml", {"lr"}, kmt2a_g, assigned("LR", "lr"), {}, {}},
      {"cog-aall0631.toml", {"hr"}, [](auto& in) { in.age_days = 30; }, not_evaluable("hr"), {}, {}},
      // St Jude: catch-all
      {"st-jude-total-xvi.toml", {"other"}, [](auto& in) { in.mrd_percent["d15"] = 5.0; in.mrd_percent["d42"] = 0.5; },
       undetermined("other"), {}, {}},
  };
  return cases;
}

std::string name_of(const Condition& c) {
  std::string s{flowmrd::panels::to_string(c.input)};
  return c.timepoint.empty() ? s : s + "@" + c.timepoint;
}

void numeric_leaves(const Condition& c, std::vector<const Condition*>& out) {
  if (c.kind == Condition::Kind::leaf) {
    if (flowmrd::panels::value_type(c.input) == flowmrd::panels::ValueType::number) out.push_back(&c);
    return;
  }
  for (const auto& ch : c.children) numeric_leaves(ch, out);
}

TEST(ProtocolBoundaries, RiskThresholdsBelowAtAboveAndMissing) {
  int checks = 0;
  for (const auto& c : risk_cases()) {
    const auto& p = protocol(c.file);
    const std::string where = c.file + " " + c.covers.front() + " " + c.input;
    // The threshold in the test must be the one in the file.
    const auto* rule = p.find_rule(c.covers.front());
    ASSERT_NE(rule, nullptr) << where;
    std::vector<const Condition*> leaves;
    numeric_leaves(rule->when, leaves);
    EXPECT_TRUE(std::any_of(leaves.begin(), leaves.end(), [&](const Condition* l) {
      return name_of(*l) == c.input && std::get<double>(l->value) == c.threshold;
    })) << where << ": the file's threshold differs from the test's";

    const double inf = std::numeric_limits<double>::infinity();
    const std::pair<double, const Expect*> probes[] = {{std::nextafter(c.threshold, -inf), &c.below},
                                                       {c.threshold, &c.at},
                                                       {std::nextafter(c.threshold, inf), &c.above}};
    const char* labels[] = {"below", "at", "above"};
    for (int i = 0; i < 3; ++i) {
      ProtocolInputs in;
      c.base(in);
      set_input(in, c.input, probes[i].first);
      check(flowmrd::pipeline::evaluate(p, in), *probes[i].second, where + " " + labels[i]);
      ++checks;
    }
    ProtocolInputs in;
    c.base(in);
    erase_input(in, c.input);
    const auto ev = flowmrd::pipeline::evaluate(p, in);
    check(ev, c.missing, where + " missing");
    EXPECT_NE(std::find(ev.missing.begin(), ev.missing.end(), c.input), ev.missing.end()) << where << ": " << ev.message;
    EXPECT_NE(ev.message.find("not evaluable: missing " + c.input), std::string::npos) << ev.message;
    ++checks;
  }
  EXPECT_EQ(checks, static_cast<int>(risk_cases().size()) * 4);
}

TEST(ProtocolBoundaries, AlertThresholdsBelowAtAboveAndMissing) {
  for (const auto& c : alert_cases()) {
    const auto& p = protocol(c.file);
    const std::string where = c.file + " " + c.input;
    const double inf = std::numeric_limits<double>::infinity();
    const std::pair<double, const std::vector<std::string>*> probes[] = {
        {std::nextafter(c.threshold, -inf), &c.below}, {c.threshold, &c.at}, {std::nextafter(c.threshold, inf), &c.above}};
    const char* labels[] = {"below", "at", "above"};
    for (int i = 0; i < 3; ++i) {
      ProtocolInputs in;
      c.base(in);
      set_input(in, c.input, probes[i].first);
      const auto ev = flowmrd::pipeline::evaluate(p, in);
      for (const auto& id : c.covers) {
        const bool expected = std::find(probes[i].second->begin(), probes[i].second->end(), id) != probes[i].second->end();
        EXPECT_EQ(fired(ev, id), expected) << where << " " << labels[i] << " rule " << id;
      }
    }
    ProtocolInputs in;
    c.base(in);
    erase_input(in, c.input);
    const auto ev = flowmrd::pipeline::evaluate(p, in);
    for (const auto& id : c.covers) EXPECT_TRUE(alert_not_evaluable(ev, id, c.input)) << where << " missing, rule " << id;
  }
}

TEST(ProtocolBoundaries, CategoricalRules) {
  for (const auto& c : categorical_cases()) {
    const auto& p = protocol(c.file);
    ProtocolInputs in;
    c.inputs(in);
    const auto ev = flowmrd::pipeline::evaluate(p, in);
    const std::string where = c.file + " " + (c.covers.empty() ? std::string("-") : c.covers.front());
    check(ev, c.expect, where);
    for (const auto& id : c.alerts_fired) EXPECT_TRUE(fired(ev, id)) << where << " alert " << id;
    for (const auto& id : c.alerts_not_evaluable) {
      EXPECT_TRUE(std::any_of(ev.alerts.begin(), ev.alerts.end(), [&](const auto& a) { return !a.evaluable && a.rule.id == id; }))
          << where << " alert " << id;
    }
  }
}

// Every shipped rule has a case, and every numeric threshold has a below/at/above case.
TEST(ProtocolBoundaries, EveryShippedRuleIsCovered) {
  const auto all = flowmrd::panels::load_protocols(kDir);
  ASSERT_EQ(all.size(), 10u);
  std::map<std::string, std::string> file_of;  // protocol name -> file
  for (const auto& c : risk_cases()) file_of[protocol(c.file).name] = c.file;
  for (const auto& c : alert_cases()) file_of[protocol(c.file).name] = c.file;
  for (const auto& c : categorical_cases()) file_of[protocol(c.file).name] = c.file;

  for (const auto& p : all) {
    ASSERT_TRUE(file_of.count(p.name)) << p.name << " has no test case";
    const auto& file = file_of[p.name];
    for (const auto& r : p.rules) {
      if (r.outcome == Outcome::note) continue;
      auto covers = [&](const auto& cases) {
        return std::any_of(cases.begin(), cases.end(), [&](const auto& c) {
          return c.file == file && std::find(c.covers.begin(), c.covers.end(), r.id) != c.covers.end();
        });
      };
      EXPECT_TRUE(covers(risk_cases()) || covers(alert_cases()) || covers(categorical_cases()))
          << p.name << " rule " << r.id << " has no test case";
      std::vector<const Condition*> leaves;
      numeric_leaves(r.when, leaves);
      for (const auto* l : leaves) {
        const double v = std::get<double>(l->value);
        auto probes = [&](const auto& cases) {
          return std::any_of(cases.begin(), cases.end(), [&](const auto& c) {
            return c.file == file && c.input == name_of(*l) && c.threshold == v &&
                   std::find(c.covers.begin(), c.covers.end(), r.id) != c.covers.end();
          });
        };
        EXPECT_TRUE(probes(risk_cases()) || probes(alert_cases()))
            << p.name << " rule " << r.id << ": threshold " << name_of(*l) << " " << v << " has no boundary case";
      }
    }
  }
}

}  // namespace
