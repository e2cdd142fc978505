// SPDX-License-Identifier: Apache-2.0
// Loader and validator for protocol files. Strict on purpose: a protocol decides risk groups, so
// a typo ("mrd_precent", "=>", a timepoint that is not defined) must stop loading with the file,
// line and field named, never be ignored.
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

#include "flowmrd/panels/protocol.hpp"

namespace flowmrd::panels {

namespace {

class Parser {
 public:
  explicit Parser(std::string label) : file_(std::move(label)) {}

  Protocol parse(const toml::table& root) {
    Protocol p;
    p.file = file_;
    check_keys(root, "", {"name", "version", "source", "timepoint", "rule"});
    p.name = required_string(root, "name", "", root_line(root));
    p.version = required_string(root, "version", "", root_line(root));
    p.source = required_string(root, "source", "", root_line(root));

    if (const auto* node = root.get("timepoint")) {
      const auto* arr = node->as_array();
      if (arr == nullptr) fail(line_of(*node), "timepoint", "must be an array of tables ([[timepoint]])");
      std::size_t i = 0;
      for (const auto& el : *arr) {
        const std::string field = "timepoint[" + std::to_string(i++) + "]";
        const auto* t = el.as_table();
        if (t == nullptr) fail(line_of(el), field, "must be a table");
        p.timepoints.push_back(parse_timepoint(*t, field));
        if (std::count_if(p.timepoints.begin(), p.timepoints.end(),
                          [&](const Timepoint& x) { return x.id == p.timepoints.back().id; }) > 1) {
          fail(line_of(el), field + ".id", "duplicate timepoint id '" + p.timepoints.back().id + "'");
        }
      }
    }
    timepoints_ = &p.timepoints;

    const auto* rules = root.get("rule");
    if (rules == nullptr) fail(root_line(root), "rule", "missing: a protocol needs at least one [[rule]]");
    const auto* arr = rules->as_array();
    if (arr == nullptr || arr->empty()) fail(line_of(*rules), "rule", "must be a non-empty array of tables ([[rule]])");
    std::size_t i = 0;
    for (const auto& el : *arr) {
      const std::string field = "rule[" + std::to_string(i++) + "]";
      const auto* t = el.as_table();
      if (t == nullptr) fail(line_of(el), field, "must be a table");
      p.rules.push_back(parse_rule(*t, field));
      if (std::count_if(p.rules.begin(), p.rules.end(), [&](const Rule& r) { return r.id == p.rules.back().id; }) > 1) {
        fail(line_of(el), field + ".id", "duplicate rule id '" + p.rules.back().id + "'");
      }
    }
    return p;
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& field, const std::string& reason) const {
    throw ProtocolError(file_, line, field, reason);
  }

  static std::size_t line_of(const toml::node& n) { return static_cast<std::size_t>(n.source().begin.line); }
  static std::size_t root_line(const toml::table& t) {
    const auto l = line_of(t);
    return l == 0 ? 1 : l;
  }
  static std::string join(const std::string& prefix, std::string_view key) {
    return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
  }

  // Unknown keys are errors: a misspelt optional key ("unverifed") would otherwise vanish silently.
  void check_keys(const toml::table& t, const std::string& prefix, std::initializer_list<std::string_view> allowed) const {
    for (const auto& [k, v] : t) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(line_of(v), join(prefix, k.str()), "unknown key (expected one of: " + list + ")");
      }
    }
  }

  std::string required_string(const toml::table& t, std::string_view key, const std::string& prefix,
                              std::size_t parent_line) const {
    const auto* n = t.get(key);
    if (n == nullptr) fail(parent_line, join(prefix, key), "missing (required)");
    return string_value(*n, join(prefix, key));
  }

  std::string string_value(const toml::node& n, const std::string& field) const {
    const auto* s = n.as_string();
    if (s == nullptr) fail(line_of(n), field, "must be a string");
    if (s->get().empty()) fail(line_of(n), field, "must not be empty");
    return s->get();
  }

  Timepoint parse_timepoint(const toml::table& t, const std::string& field) const {
    check_keys(t, field, {"id", "tissue", "day", "method", "description"});
    Timepoint tp;
    const auto line = line_of(t);
    tp.id = required_string(t, "id", field, line);
    const auto tissue = required_string(t, "tissue", field, line);
    if (tissue == "BM") {
      tp.tissue = Tissue::bone_marrow;
    } else if (tissue == "PB") {
      tp.tissue = Tissue::peripheral_blood;
    } else {
      fail(line_of(*t.get("tissue")), field + ".tissue", "must be \"BM\" or \"PB\", got \"" + tissue + "\"");
    }
    if (const auto* d = t.get("day")) {
      const auto* i = d->as_integer();
      if (i == nullptr || i->get() < 0 || i->get() > 10000) fail(line_of(*d), field + ".day", "must be a day number >= 0");
      tp.day = static_cast<int>(i->get());
    }
    tp.method = required_string(t, "method", field, line);
    if (const auto* d = t.get("description")) tp.description = string_value(*d, field + ".description");
    return tp;
  }

  Rule parse_rule(const toml::table& t, const std::string& field) const {
    check_keys(t, field, {"id", "text", "assign", "alert", "undetermined", "threshold_unknown", "all", "any",
                          "otherwise", "unverified", "comment"});
    Rule r;
    r.line = line_of(t);
    r.id = required_string(t, "id", field, r.line);
    r.text = required_string(t, "text", field, r.line);

    int outcomes = 0;
    for (auto [key, oc] : {std::pair<std::string_view, Outcome>{"assign", Outcome::assign},
                           {"alert", Outcome::alert},
                           {"undetermined", Outcome::undetermined},
                           {"threshold_unknown", Outcome::note}}) {
      if (const auto* n = t.get(key)) {
        ++outcomes;
        r.outcome = oc;
        r.result = string_value(*n, join(field, key));
      }
    }
    if (outcomes != 1) {
      fail(r.line, field, "needs exactly one of assign, alert, undetermined, threshold_unknown (found " +
                              std::to_string(outcomes) + ")");
    }

    int conds = 0;
    if (const auto* n = t.get("all")) {
      ++conds;
      r.when = parse_group(*n, Condition::Kind::all, join(field, "all"));
    }
    if (const auto* n = t.get("any")) {
      ++conds;
      r.when = parse_group(*n, Condition::Kind::any, join(field, "any"));
    }
    if (const auto* n = t.get("otherwise")) {
      ++conds;
      const auto* b = n->as_boolean();
      if (b == nullptr || !b->get()) fail(line_of(*n), join(field, "otherwise"), "must be true when present");
      r.when = Condition{};
      r.when.kind = Condition::Kind::all;  // empty all: always true
      r.when.line = line_of(*n);
    }
    if (r.outcome == Outcome::note) {
      // A criterion without a number cannot be evaluated; conditions would pretend otherwise.
      if (conds != 0) fail(r.line, field, "a threshold_unknown rule must not have all/any/otherwise");
      r.when = Condition{};
      r.when.kind = Condition::Kind::any;  // empty any: never true
    } else if (conds != 1) {
      fail(r.line, field, "needs exactly one of all, any, otherwise (found " + std::to_string(conds) + ")");
    }

    if (const auto* n = t.get("unverified")) {
      const auto* b = n->as_boolean();
      if (b == nullptr) fail(line_of(*n), join(field, "unverified"), "must be true or false");
      r.unverified = b->get();
    }
    if (const auto* n = t.get("comment")) r.comment = string_value(*n, join(field, "comment"));
    return r;
  }

  Condition parse_group(const toml::node& n, Condition::Kind kind, const std::string& field) const {
    const auto* arr = n.as_array();
    if (arr == nullptr) fail(line_of(n), field, "must be an array of conditions");
    Condition c;
    c.kind = kind;
    c.line = line_of(n);
    if (arr->empty()) fail(line_of(n), field, "must not be empty (use otherwise = true for a catch-all rule)");
    std::size_t i = 0;
    for (const auto& el : *arr) {
      c.children.push_back(parse_condition(el, field + "[" + std::to_string(i++) + "]"));
    }
    return c;
  }

  Condition parse_condition(const toml::node& n, const std::string& field) const {
    const auto* t = n.as_table();
    if (t == nullptr) fail(line_of(n), field, "must be a table { input = ..., op = ..., value = ... } or { all/any = [...] }");
    if (t->contains("all") || t->contains("any")) {
      check_keys(*t, field, {"all", "any"});
      if (t->size() != 1) fail(line_of(n), field, "a nested group has exactly one key, all or any");
      const bool all = t->contains("all");
      return parse_group(*t->get(all ? "all" : "any"), all ? Condition::Kind::all : Condition::Kind::any,
                         join(field, all ? "all" : "any"));
    }
    check_keys(*t, field, {"input", "timepoint", "op", "value"});
    Condition c;
    c.kind = Condition::Kind::leaf;
    c.line = line_of(n);

    const auto input_name = required_string(*t, "input", field, c.line);
    const auto input = parse_input(input_name);
    if (!input) fail(line_of(*t->get("input")), join(field, "input"), "unknown input '" + input_name + "'");
    c.input = *input;

    const auto op_name = required_string(*t, "op", field, c.line);
    const auto op = parse_op(op_name);
    if (!op) {
      fail(line_of(*t->get("op")), join(field, "op"), "unknown op '" + op_name + "' (expected <, <=, >, >=, ==, !=)");
    }
    c.op = *op;

    if (const auto* tp = t->get("timepoint")) {
      c.timepoint = string_value(*tp, join(field, "timepoint"));
      if (!needs_timepoint(c.input)) {
        fail(line_of(*tp), join(field, "timepoint"),
             "input '" + input_name + "' is a clinical input and takes no timepoint");
      }
      if (std::none_of(timepoints_->begin(), timepoints_->end(), [&](const Timepoint& x) { return x.id == c.timepoint; })) {
        fail(line_of(*tp), join(field, "timepoint"), "timepoint '" + c.timepoint + "' is not defined in [[timepoint]]");
      }
    } else if (needs_timepoint(c.input)) {
      fail(c.line, join(field, "timepoint"), "missing: input '" + input_name + "' is measured per timepoint");
    }

    const auto* v = t->get("value");
    if (v == nullptr) fail(c.line, join(field, "value"), "missing (required)");
    const auto vfield = join(field, "value");
    switch (value_type(c.input)) {
      case ValueType::number: {
        double d = 0.0;
        if (const auto* i = v->as_integer()) {
          d = static_cast<double>(i->get());
        } else if (const auto* f = v->as_floating_point()) {
          d = f->get();
        } else {
          fail(line_of(*v), vfield, "must be a number for input '" + input_name + "'");
        }
        if (!std::isfinite(d)) fail(line_of(*v), vfield, "must be finite");
        c.value = d;
        break;
      }
      case ValueType::boolean: {
        const auto* b = v->as_boolean();
        if (b == nullptr) fail(line_of(*v), vfield, "must be true or false for input '" + input_name + "'");
        c.value = b->get();
        break;
      }
      case ValueType::text: {
        const auto s = string_value(*v, vfield);
        if (c.input == Input::kmt2a && s != "rearranged" && s != "germline" && s != "unknown") {
          fail(line_of(*v), vfield, "kmt2a must be \"rearranged\", \"germline\" or \"unknown\", got \"" + s + "\"");
        }
        if (c.input == Input::cns && s != "positive" && s != "negative") {
          fail(line_of(*v), vfield, "cns must be \"positive\" or \"negative\", got \"" + s + "\"");
        }
        if (c.input == Input::kmt2a_fusion && s.rfind("KMT2A::", 0) != 0) {
          fail(line_of(*v), vfield, "kmt2a_fusion is written \"KMT2A::PARTNER\", got \"" + s + "\"");
        }
        c.value = s;
        break;
      }
    }
    if (value_type(c.input) != ValueType::number && c.op != Op::eq && c.op != Op::ne) {
      fail(line_of(*t->get("op")), join(field, "op"), "input '" + input_name + "' only takes == or !=");
    }
    return c;
  }

  std::string file_;
  const std::vector<Timepoint>* timepoints_ = nullptr;
};

Protocol parse_text(std::string_view text, const std::string& label) {
  toml::table root;
  try {
    root = toml::parse(text, label);
  } catch (const toml::parse_error& e) {
    throw ProtocolError(label, static_cast<std::size_t>(e.source().begin.line), "",
                        "TOML syntax error: " + std::string(e.description()));
  }
  return Parser(label).parse(root);
}

}  // namespace

Protocol load_protocol(const std::filesystem::path& path) {
  const auto label = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ProtocolError(label, 0, "", "cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_text(ss.str(), label);
}

Protocol load_protocol_string(std::string_view toml_text, const std::string& label) {
  return parse_text(toml_text, label);
}

std::vector<Protocol> load_protocols(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".toml") files.push_back(it->path());
  }
  if (ec) throw ProtocolError(dir.string(), 0, "", "cannot read directory: " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<Protocol> out;
  std::set<std::string> names;
  for (const auto& f : files) {
    out.push_back(load_protocol(f));
    if (!names.insert(out.back().name).second) {
      throw ProtocolError(f.string(), 1, "name", "protocol name '" + out.back().name + "' is declared by two files");
    }
  }
  return out;
}

}  // namespace flowmrd::panels
