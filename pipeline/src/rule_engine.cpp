// SPDX-License-Identifier: Apache-2.0
// Protocol rule evaluation with three-valued (Kleene) logic, so that a missing manifest field
// yields "not evaluable: missing X" only when that field could change the result.
#include "flowmrd/pipeline/rule_engine.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace flowmrd::pipeline {

namespace {

using panels::Condition;
using panels::Input;
using panels::Op;

enum class Tri { no, yes, unknown };

struct Truth {
  Tri value = Tri::no;
  std::vector<std::string> missing;  // only filled when value == unknown
};

template <typename T>
bool compare(const T& lhs, Op op, const T& rhs) {
  switch (op) {
    case Op::lt: return lhs < rhs;
    case Op::le: return lhs <= rhs;
    case Op::gt: return lhs > rhs;
    case Op::ge: return lhs >= rhs;
    case Op::eq: return lhs == rhs;
    case Op::ne: return lhs != rhs;
  }
  return false;
}

std::string missing_name(const Condition& c) {
  std::string s{panels::to_string(c.input)};
  if (!c.timepoint.empty()) s += "@" + c.timepoint;
  return s;
}

template <typename T>
std::optional<T> per_timepoint(const std::map<std::string, T>& m, const std::string& tp) {
  const auto it = m.find(tp);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

Truth leaf(const Condition& c, const ProtocolInputs& in) {
  std::optional<panels::Value> actual;
  switch (c.input) {
    case Input::mrd_percent:
      if (auto v = per_timepoint(in.mrd_percent, c.timepoint)) actual = *v;
      break;
    case Input::mrd_negative:
      if (auto v = per_timepoint(in.mrd_negative, c.timepoint)) actual = *v;
      break;
    case Input::cd19_negative:
      if (auto v = per_timepoint(in.cd19_negative, c.timepoint)) actual = *v;
      break;
    case Input::lineage_switch:
      if (auto v = per_timepoint(in.lineage_switch, c.timepoint)) actual = *v;
      break;
    case Input::age_days:
      if (in.age_days) actual = *in.age_days;
      break;
    case Input::wbc:
      if (in.wbc) actual = *in.wbc;
      break;
    case Input::kmt2a:
      if (in.kmt2a) actual = *in.kmt2a;
      break;
    case Input::kmt2a_fusion:
      if (in.kmt2a_fusion) actual = *in.kmt2a_fusion;
      break;
    case Input::cns:
      if (in.cns) actual = *in.cns;
      break;
    case Input::day8_pb_blasts_per_ul:
      if (in.day8_pb_blasts_per_ul) actual = *in.day8_pb_blasts_per_ul;
      break;
  }
  if (!actual) return {Tri::unknown, {missing_name(c)}};
  bool result = false;
  // The loader guarantees the constant's type matches the input's type.
  if (const auto* d = std::get_if<double>(&*actual)) {
    result = compare(*d, c.op, std::get<double>(c.value));
  } else if (const auto* b = std::get_if<bool>(&*actual)) {
    result = compare(*b, c.op, std::get<bool>(c.value));
  } else {
    result = compare(std::get<std::string>(*actual), c.op, std::get<std::string>(c.value));
  }
  return {result ? Tri::yes : Tri::no, {}};
}

Truth eval(const Condition& c, const ProtocolInputs& in) {
  if (c.kind == Condition::Kind::leaf) return leaf(c, in);
  const bool all = c.kind == Condition::Kind::all;
  // all(): one false decides; any(): one true decides. Otherwise unknown children make it unknown.
  const Tri decisive = all ? Tri::no : Tri::yes;
  Truth out{all ? Tri::yes : Tri::no, {}};
  for (const auto& child : c.children) {
    auto t = eval(child, in);
    if (t.value == decisive) return {decisive, {}};
    if (t.value == Tri::unknown) {
      out.value = Tri::unknown;
      for (auto& m : t.missing) {
        if (std::find(out.missing.begin(), out.missing.end(), m) == out.missing.end()) out.missing.push_back(std::move(m));
      }
    }
  }
  return out;
}

RuleRef ref(const panels::Rule& r) {
  return {r.id, r.text, r.outcome == panels::Outcome::note ? std::string{} : panels::to_string(r.when), r.unverified};
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

void check_inputs(const ProtocolInputs& in) {
  auto finite = [](const char* name, double v) {
    if (!std::isfinite(v)) throw std::invalid_argument(std::string("protocol input ") + name + " is not a finite number");
  };
  for (const auto& [tp, v] : in.mrd_percent) finite(("mrd_percent@" + tp).c_str(), v);
  if (in.age_days) finite("age_days", *in.age_days);
  if (in.wbc) finite("wbc", *in.wbc);
  if (in.day8_pb_blasts_per_ul) finite("day8_pb_blasts_per_ul", *in.day8_pb_blasts_per_ul);
  if (in.kmt2a && *in.kmt2a != "rearranged" && *in.kmt2a != "germline" && *in.kmt2a != "unknown") {
    throw std::invalid_argument("protocol input kmt2a must be rearranged, germline or unknown, got '" + *in.kmt2a + "'");
  }
  if (in.cns && *in.cns != "positive" && *in.cns != "negative") {
    throw std::invalid_argument("protocol input cns must be positive or negative, got '" + *in.cns + "'");
  }
}

}  // namespace

std::string to_string(RiskStatus status) {
  switch (status) {
    case RiskStatus::assigned: return "assigned";
    case RiskStatus::undetermined: return "undetermined";
    case RiskStatus::not_evaluable: return "not evaluable";
    case RiskStatus::no_rule_matched: return "no rule matched";
  }
  return "?";
}

Evaluation evaluate(const panels::Protocol& protocol, const ProtocolInputs& inputs) {
  check_inputs(inputs);
  Evaluation ev;
  ev.protocol = protocol.name;
  ev.version = protocol.version;
  ev.status = RiskStatus::no_rule_matched;
  ev.message = "no rule matched";

  bool decided = false;
  std::vector<AlertResult> unevaluable_alerts;
  for (const auto& r : protocol.rules) {
    switch (r.outcome) {
      case panels::Outcome::note:
        ev.notes.push_back(ref(r));
        break;
      case panels::Outcome::alert: {
        auto t = eval(r.when, inputs);
        if (t.value == Tri::yes) {
          ev.alerts.push_back({ref(r), r.result, true, {}});
        } else if (t.value == Tri::unknown) {
          unevaluable_alerts.push_back({ref(r), {}, false, std::move(t.missing)});
        }
        break;
      }
      case panels::Outcome::assign:
      case panels::Outcome::undetermined: {
        if (decided) break;
        auto t = eval(r.when, inputs);
        if (t.value == Tri::no) break;
        decided = true;
        ev.rule = ref(r);
        if (t.value == Tri::unknown) {
          ev.status = RiskStatus::not_evaluable;
          ev.missing = std::move(t.missing);
          ev.message = "not evaluable: missing " + join(ev.missing) + " (rule " + r.id + ": " + r.text + ")";
        } else if (r.outcome == panels::Outcome::assign) {
          ev.status = RiskStatus::assigned;
          ev.risk_group = r.result;
          ev.message = r.result + " (rule " + r.id + ": " + r.text + ")";
        } else {
          ev.status = RiskStatus::undetermined;
          ev.message = "undetermined: " + r.result + " (rule " + r.id + ": " + r.text + ")";
        }
        break;
      }
    }
  }
  for (auto& a : unevaluable_alerts) ev.alerts.push_back(std::move(a));
  return ev;
}

}  // namespace flowmrd::pipeline
