// SPDX-License-Identifier: Apache-2.0
// Protocol data model helpers: names of inputs/operators and condition rendering.
#include "flowmrd/panels/protocol.hpp"

#include <array>
#include <sstream>
#include <utility>

namespace flowmrd::panels {

namespace {

struct InputInfo {
  Input input;
  std::string_view name;
  ValueType type;
  bool per_timepoint;
};

constexpr std::array<InputInfo, 10> kInputs{{
    {Input::mrd_percent, "mrd_percent", ValueType::number, true},
    {Input::mrd_negative, "mrd_negative", ValueType::boolean, true},
    {Input::cd19_negative, "cd19_negative", ValueType::boolean, true},
    {Input::lineage_switch, "lineage_switch", ValueType::boolean, true},
    {Input::age_days, "age_days", ValueType::number, false},
    {Input::wbc, "wbc", ValueType::number, false},
    {Input::kmt2a, "kmt2a", ValueType::text, false},
    {Input::kmt2a_fusion, "kmt2a_fusion", ValueType::text, false},
    {Input::cns, "cns", ValueType::text, false},
    {Input::day8_pb_blasts_per_ul, "day8_pb_blasts_per_ul", ValueType::number, false},
}};

constexpr std::array<std::pair<Op, std::string_view>, 6> kOps{{
    {Op::lt, "<"}, {Op::le, "<="}, {Op::gt, ">"}, {Op::ge, ">="}, {Op::eq, "=="}, {Op::ne, "!="},
}};

const InputInfo& info(Input input) noexcept {
  for (const auto& i : kInputs) {
    if (i.input == input) return i;
  }
  return kInputs[0];  // unreachable: every enumerator is in the table
}

std::string render_value(const Value& v) {
  if (const auto* d = std::get_if<double>(&v)) {
    std::ostringstream os;
    os << *d;
    return os.str();
  }
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return std::get<std::string>(v);
}

}  // namespace

ProtocolError::ProtocolError(std::string file, std::size_t line, std::string field, const std::string& reason)
    : std::runtime_error(file + ":" + std::to_string(line) + ": " + (field.empty() ? std::string{} : field + ": ") +
                         reason),
      file_(std::move(file)),
      line_(line),
      field_(std::move(field)) {}

std::string_view to_string(Input input) noexcept { return info(input).name; }

std::string_view to_string(Op op) noexcept {
  for (const auto& [o, s] : kOps) {
    if (o == op) return s;
  }
  return "?";
}

std::string_view to_string(Tissue tissue) noexcept {
  return tissue == Tissue::bone_marrow ? "BM" : "PB";
}

std::optional<Input> parse_input(std::string_view name) noexcept {
  for (const auto& i : kInputs) {
    if (i.name == name) return i.input;
  }
  return std::nullopt;
}

std::optional<Op> parse_op(std::string_view op) noexcept {
  for (const auto& [o, s] : kOps) {
    if (s == op) return o;
  }
  return std::nullopt;
}

ValueType value_type(Input input) noexcept { return info(input).type; }

bool needs_timepoint(Input input) noexcept { return info(input).per_timepoint; }

std::string to_string(const Condition& c) {
  if (c.kind == Condition::Kind::leaf) {
    std::string s{to_string(c.input)};
    if (!c.timepoint.empty()) s += "@" + c.timepoint;
    s += " ";
    s += to_string(c.op);
    s += " ";
    s += render_value(c.value);
    return s;
  }
  if (c.kind == Condition::Kind::all && c.children.empty()) return "otherwise";
  // A one-element group reads better as its only condition.
  if (c.children.size() == 1) return to_string(c.children.front());
  std::string s = c.kind == Condition::Kind::all ? "all(" : "any(";
  for (std::size_t i = 0; i < c.children.size(); ++i) {
    if (i != 0) s += ", ";
    s += to_string(c.children[i]);
  }
  return s + ")";
}

const Timepoint* Protocol::find_timepoint(std::string_view id) const noexcept {
  for (const auto& t : timepoints) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

const Rule* Protocol::find_rule(std::string_view id) const noexcept {
  for (const auto& r : rules) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

}  // namespace flowmrd::panels
