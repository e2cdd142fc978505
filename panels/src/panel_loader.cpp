// SPDX-License-Identifier: Apache-2.0
// Panel files (TOML) -> validated Panel values. Every error names the file, the line (toml++
// source regions) and the field, so a lab editing a panel by hand sees exactly what to fix.
#include <algorithm>
#include <array>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include <toml++/toml.h>

#include "flowmrd/panels/panel.hpp"
#include "panel_text.hpp"

namespace flowmrd::panels {

namespace {

constexpr std::string_view kRoleList = "lineage, maturation, backbone, scatter, time, viability_dna";
// The transform names gating understands (TransformKind's text forms plus "linear").
constexpr std::array<std::string_view, 10> kTransforms{
    "linear", "identity", "flin",  "flog",   "fasinh",
    "logicle", "hyperlog", "biex", "arcsinh", "logicle-flowcore"};

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date/time";
    default: return "nothing";
  }
}

int line_of(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

// Reads one TOML document into a Panel, failing with file:line: field: reason.
class Reader {
 public:
  explicit Reader(std::string label) : label_(std::move(label)) {}

  [[noreturn]] void fail(int line, const std::string& field, const std::string& reason) const {
    throw PanelError(label_, line, field, reason);
  }
  [[noreturn]] void fail(const toml::node& node, const std::string& field,
                         const std::string& reason) const {
    fail(line_of(node), field, reason);
  }

  std::string string(const toml::node& node, const std::string& field, bool non_empty = true) const {
    const auto* s = node.as_string();
    if (s == nullptr) fail(node, field, "expected a string, found " + type_name(node));
    std::string value = s->get();
    if (non_empty && value.find_first_not_of(" \t") == std::string::npos) {
      fail(node, field, "must not be empty");
    }
    return value;
  }

  bool boolean(const toml::node& node, const std::string& field) const {
    const auto* b = node.as_boolean();
    if (b == nullptr) fail(node, field, "expected true or false, found " + type_name(node));
    return b->get();
  }

  double number(const toml::node& node, const std::string& field) const {
    if (!node.is_number()) fail(node, field, "expected a number, found " + type_name(node));
    return *node.value<double>();
  }

  std::vector<std::string> strings(const toml::node& node, const std::string& field) const {
    const auto* a = node.as_array();
    if (a == nullptr) fail(node, field, "expected an array of strings, found " + type_name(node));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < a->size(); ++i) {
      out.push_back(string((*a)[i], field + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

  const toml::table& table(const toml::node& node, const std::string& field) const {
    const auto* t = node.as_table();
    if (t == nullptr) fail(node, field, "expected a table, found " + type_name(node));
    return *t;
  }

  const toml::node& required_key(const toml::table& t, std::string_view key,
                                 const std::string& prefix) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) {
      fail(line_of(t), join(prefix, key), "missing (required)");
    }
    return *n;
  }

  static std::string join(const std::string& prefix, std::string_view key) {
    return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
  }

  // A transform table: transform = "NAME", optional estimate_w, numeric parameters.
  TransformDefault transform(const toml::table& t, const std::string& prefix) const {
    TransformDefault out;
    out.transform = string(required_key(t, "transform", prefix), join(prefix, "transform"));
    if (std::find(kTransforms.begin(), kTransforms.end(), out.transform) == kTransforms.end()) {
      std::string list;
      for (auto n : kTransforms) list += (list.empty() ? "" : ", ") + std::string(n);
      fail(*t.get("transform"), join(prefix, "transform"),
           "unknown transform '" + out.transform + "' (expected one of " + list + ")");
    }
    if (out.transform == "identity") out.transform = "linear";
    for (auto&& [key, node] : t) {
      const std::string k(key.str());
      const std::string field = join(prefix, k);
      if (k == "transform") continue;
      if (k == "estimate_w") {
        out.estimate_w = boolean(node, field);
        continue;
      }
      if (out.transform == "linear") fail(node, field, "the linear transform takes no parameters");
      if (out.transform == "logicle" && k != "T" && k != "W" && k != "M" && k != "A") {
        fail(node, field, "unknown logicle parameter '" + k + "' (expected T, W, M, A or estimate_w)");
      }
      out.params[k] = number(node, field);
    }
    if (out.estimate_w && out.transform != "logicle") {
      fail(*t.get("estimate_w"), join(prefix, "estimate_w"), "only a logicle transform has a W to estimate");
    }
    if (out.transform == "logicle") {
      const auto param = [&](const char* k) -> std::optional<double> {
        auto it = out.params.find(k);
        return it == out.params.end() ? std::nullopt : std::optional<double>(it->second);
      };
      const auto at = [&](const char* k) { return t.get(k) != nullptr ? line_of(*t.get(k)) : line_of(t); };
      if (!param("T") || *param("T") <= 0) fail(at("T"), join(prefix, "T"), "logicle needs T > 0");
      if (!param("M") || *param("M") <= 0) fail(at("M"), join(prefix, "M"), "logicle needs M > 0");
      if (out.estimate_w && param("W")) {
        fail(at("W"), join(prefix, "W"), "give either W or estimate_w = true, not both");
      }
      if (!out.estimate_w && !param("W")) {
        fail(line_of(t), join(prefix, "W"), "logicle needs W (or estimate_w = true)");
      }
      if (param("W") && (*param("W") < 0 || *param("W") > *param("M") / 2)) {
        fail(at("W"), join(prefix, "W"), "W must lie in [0, M/2]");
      }
      if (!param("A")) out.params["A"] = 0.0;
    }
    return out;
  }

  Marker marker(const toml::table& t, const std::string& prefix) const {
    Marker m;
    m.line = line_of(t);
    m.name = string(required_key(t, "name", prefix), join(prefix, "name"));
    const toml::node& role_node = required_key(t, "role", prefix);
    const std::string role = string(role_node, join(prefix, "role"));
    const auto parsed = marker_role_from_string(role);
    if (!parsed) {
      fail(role_node, join(prefix, "role"),
           "unknown role '" + role + "' (expected one of " + std::string(kRoleList) + ")");
    }
    m.role = *parsed;
    for (auto&& [key, node] : t) {
      const std::string k(key.str());
      const std::string field = join(prefix, k);
      if (k == "name" || k == "role") continue;
      if (k == "aliases") {
        m.aliases = strings(node, field);
      } else if (k == "required") {
        m.required = boolean(node, field);
      } else if (k == "channels") {
        m.channels = strings(node, field);
      } else if (k == "transform") {
        m.transform = transform(table(node, field), field);
      } else {
        fail(node, field, "unknown key '" + k + "' (expected name, aliases, role, required, channels, transform)");
      }
    }
    return m;
  }

  InstrumentMapping instrument(const toml::table& t, const std::string& prefix, const Panel& panel) const {
    InstrumentMapping im;
    im.line = line_of(t);
    im.name = string(required_key(t, "name", prefix), join(prefix, "name"));
    for (auto&& [key, node] : t) {
      const std::string k(key.str());
      const std::string field = join(prefix, k);
      if (k == "name") continue;
      if (k == "cytometer") {
        im.cytometer = string(node, field);
      } else if (k == "channels") {
        for (auto&& [mk, mv] : table(node, field)) {
          const std::string marker_name(mk.str());
          const std::string mfield = field + "." + marker_name;
          const Marker* m = panel.find_marker(marker_name);
          if (m == nullptr) fail(mv, mfield, "'" + marker_name + "' is not a marker of this panel");
          im.channels[m->name] = string(mv, mfield);
        }
      } else {
        fail(node, field, "unknown key '" + k + "' (expected name, cytometer, channels)");
      }
    }
    if (im.channels.empty()) fail(line_of(t), join(prefix, "channels"), "missing or empty (required)");
    return im;
  }

  Panel panel(const toml::table& root) const {
    Panel p;
    p.source = label_;
    p.name = string(required_key(root, "name", ""), "name");
    p.version = string(required_key(root, "version", ""), "version");
    if (const toml::node* d = root.get("description")) p.description = string(*d, "description", false);
    for (auto&& [key, node] : root) {
      const std::string k(key.str());
      if (k == "name" || k == "version" || k == "description" || k == "markers" || k == "instruments") continue;
      if (k == "transforms") {
        for (auto&& [kind_key, kind_node] : table(node, k)) {
          const std::string kind(kind_key.str());
          const std::string field = "transforms." + kind;
          ChannelKind ck{};
          if (kind == "fluorescence") ck = ChannelKind::fluorescence;
          else if (kind == "scatter") ck = ChannelKind::scatter;
          else if (kind == "time") ck = ChannelKind::time;
          else fail(kind_node, field, "unknown channel kind '" + kind + "' (expected fluorescence, scatter, time)");
          p.transforms[ck] = transform(table(kind_node, field), field);
        }
        continue;
      }
      fail(node, k, "unknown key '" + k + "' (expected name, version, description, transforms, markers, instruments)");
    }

    const toml::node& markers_node = required_key(root, "markers", "");
    const auto* markers = markers_node.as_array();
    if (markers == nullptr) fail(markers_node, "markers", "expected an array of tables ([[markers]]), found " + type_name(markers_node));
    if (markers->empty()) fail(markers_node, "markers", "a panel needs at least one marker");
    std::set<std::string> seen;  // compact names and aliases, to catch two markers claiming one name
    for (std::size_t i = 0; i < markers->size(); ++i) {
      const std::string prefix = "markers[" + std::to_string(i) + "]";
      Marker m = marker(table((*markers)[i], prefix), prefix);
      std::vector<std::pair<std::string, std::string>> names{{m.name, prefix + ".name"}};
      for (std::size_t a = 0; a < m.aliases.size(); ++a) {
        names.emplace_back(m.aliases[a], prefix + ".aliases[" + std::to_string(a) + "]");
      }
      for (const auto& [n, field] : names) {
        const std::string c = detail::compact(n);
        if (c.empty()) fail(m.line, field, "'" + n + "' has no letters or digits");
        if (!seen.insert(c).second) {
          // An alias equal to its own marker's name is harmless; anything else makes resolution ambiguous.
          if (&n != &names.front().first && c == detail::compact(m.name)) continue;
          fail(m.line, field, "'" + n + "' is already the name or alias of another marker");
        }
      }
      p.markers.push_back(std::move(m));
    }
    if (p.required_count() == 0) fail(markers_node, "markers", "a panel needs at least one required marker");

    if (const toml::node* inst = root.get("instruments")) {
      const auto* arr = inst->as_array();
      if (arr == nullptr) fail(*inst, "instruments", "expected an array of tables ([[instruments]]), found " + type_name(*inst));
      std::set<std::string> names;
      for (std::size_t i = 0; i < arr->size(); ++i) {
        const std::string prefix = "instruments[" + std::to_string(i) + "]";
        InstrumentMapping im = instrument(table((*arr)[i], prefix), prefix, p);
        if (!names.insert(detail::upper(im.name)).second) {
          fail(im.line, prefix + ".name", "instrument '" + im.name + "' is defined twice");
        }
        p.instruments.push_back(std::move(im));
      }
    }
    return p;
  }

 private:
  std::string label_;
};

}  // namespace

Panel parse_panel(std::string_view toml_text, const std::string& label) {
  toml::table root;
  try {
    root = toml::parse(toml_text, label);
  } catch (const toml::parse_error& e) {
    throw PanelError(label, static_cast<int>(e.source().begin.line), "",
                     "TOML syntax error: " + std::string(e.description()));
  }
  return Reader(label).panel(root);
}

Panel load_panel(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw PanelError(path.string(), 0, "", "cannot open the panel file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw PanelError(path.string(), 0, "", "cannot read the panel file");
  return parse_panel(text.str(), path.string());
}

std::vector<Panel> load_panels(const std::filesystem::path& directory) {
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) {
    throw PanelError(directory.string(), 0, "", "not a directory of panel files");
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.is_regular_file() && entry.path().extension() == ".toml") files.push_back(entry.path());
  }
  // Sorted so the order (and choose_panel's final tie-break) does not depend on the file system.
  std::sort(files.begin(), files.end());
  std::vector<Panel> panels;
  for (const auto& f : files) {
    Panel p = load_panel(f);
    for (const Panel& other : panels) {
      if (other.name == p.name) {
        throw PanelError(f.string(), 0, "name",
                         "panel name '" + p.name + "' is also used by " + other.source.string());
      }
    }
    panels.push_back(std::move(p));
  }
  return panels;
}

}  // namespace flowmrd::panels
