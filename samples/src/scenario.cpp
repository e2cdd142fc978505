// SPDX-License-Identifier: Apache-2.0
// Scenario loading (samples/scenarios/*.toml, docs/simulator.md "Scenario files").
#include "flowmrd/samples/scenario.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <limits>
#include <sstream>

#include "flowmrd/samples/populations.hpp"
#include "toml_util.hpp"

namespace flowmrd::samples {

namespace {

using Reader = detail::TomlReader<ScenarioError>;

/// Populations whose share the [fractions] table sets (the normal nucleated ones).
bool is_fraction_population(Population p) { return in_denominator(p) && !is_blast(p); }

/// Keywords the FCS writer owns (layout, channels, spillover): a scenario may not set them.
bool is_structural_keyword(std::string_view key) {
  std::string k;
  for (char c : key) k.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  static constexpr std::array<std::string_view, 13> owned = {
      "$BEGINANALYSIS", "$ENDANALYSIS", "$BEGINDATA", "$ENDDATA", "$BEGINSTEXT", "$ENDSTEXT", "$BYTEORD",
      "$DATATYPE",      "$MODE",        "$NEXTDATA",  "$PAR",     "$TOT",        "$SPILLOVER"};
  if (std::find(owned.begin(), owned.end(), k) != owned.end()) return true;
  // $PnN, $PnS, $PnB, $PnE, $PnR, $PnG, ...
  return k.size() > 2 && k[0] == '$' && k[1] == 'P' && std::isdigit(static_cast<unsigned char>(k[2])) != 0;
}

}  // namespace

std::map<std::string, double> default_fractions() {
  // A regenerating paediatric marrow: many hematogones, granulocytic series dominant.
  return {{"granulocyte", 0.50},      {"eosinophil", 0.03},       {"monocyte", 0.05},
          {"myeloid_precursor", 0.02}, {"lymphocyte_t_nk", 0.15}, {"mature_b", 0.04},
          {"hematogone", 0.05},       {"plasma_cell", 0.005},     {"erythroid", 0.105}};
}

Scenario parse_scenario(std::string_view toml_text, const std::string& label,
                        const std::filesystem::path& base_dir) {
  const Reader r(label);
  const toml::table root = r.parse(toml_text);
  r.check_keys(root, "", {"name", "description", "profile", "events", "seed", "mrd", "mrd_percent", "debris",
                          "doublets", "dead", "fractions", "blast", "flow_anomaly", "keywords"});
  Scenario s;
  s.source = label;
  s.base_dir = base_dir;
  s.name = r.get_string(root, "", "name").value_or(std::filesystem::path{label}.stem().string());
  s.description = r.get_string(root, "", "description").value_or("");
  const auto profile = r.get_string(root, "", "profile");
  if (!profile || profile->empty()) {
    r.fail(nullptr, "profile", "missing (a shipped profile name such as \"bd-canto-8c-bcell\" or a path)");
  }
  s.profile = *profile;
  s.events = r.get_count(root, "", "events", 1, 50'000'000).value_or(s.events);
  s.seed = r.get_count(root, "", "seed", 0, std::numeric_limits<std::int64_t>::max()).value_or(s.seed);
  const auto mrd = r.get_number_in(root, "", "mrd", 0, 1);
  const auto mrd_pct = r.get_number_in(root, "", "mrd_percent", 0, 100);
  if (mrd && mrd_pct) r.fail(root.get("mrd_percent"), "mrd_percent", "give either mrd or mrd_percent, not both");
  s.mrd = mrd ? *mrd : (mrd_pct ? *mrd_pct / 100.0 : 0.0);
  s.debris = r.get_number_in(root, "", "debris", 0, 0.9).value_or(s.debris);
  s.doublets = r.get_number_in(root, "", "doublets", 0, 0.9).value_or(s.doublets);
  s.dead = r.get_number_in(root, "", "dead", 0, 0.9).value_or(s.dead);
  if (s.debris + s.doublets + s.dead >= 0.95) {
    r.fail(root.get("dead"), "debris+doublets+dead", "leave at least 5% of events as nucleated single cells");
  }

  s.fractions = default_fractions();
  if (const toml::table* f = r.get_table(root, "", "fractions")) {
    for (const auto& [key, node] : *f) {
      const auto p = population_from_name(key.str());
      if (!p || !is_fraction_population(*p)) {
        r.fail(&node, "fractions." + std::string{key.str()},
               "not a normal nucleated population (granulocyte, eosinophil, monocyte, myeloid_precursor, "
               "lymphocyte_t_nk, mature_b, hematogone, plasma_cell, erythroid)");
      }
      s.fractions[std::string{key.str()}] = *r.get_number_in(*f, "fractions", key.str(), 0, 1000);
    }
    double sum = 0;
    for (const auto& [k, v] : s.fractions) sum += v;
    if (!(sum > 0)) r.fail(f, "fractions", "all fractions are zero");
  }

  if (const toml::table* b = r.get_table(root, "", "blast")) {
    r.check_keys(*b, "blast", {"cd10", "cd38", "cd58", "cd45", "cd20", "cd34", "spread", "cd19_negative_fraction",
                               "lineage_switch_fraction"});
    auto shift = [&](std::string_view key, double& out) {
      out = r.get_number_in(*b, "blast", key, -4, 4).value_or(out);
    };
    shift("cd10", s.blast.cd10);
    shift("cd38", s.blast.cd38);
    shift("cd58", s.blast.cd58);
    shift("cd45", s.blast.cd45);
    shift("cd20", s.blast.cd20);
    shift("cd34", s.blast.cd34);
    s.blast.spread = r.get_number_in(*b, "blast", "spread", 0.01, 1).value_or(s.blast.spread);
    s.cd19_negative_fraction = r.get_number_in(*b, "blast", "cd19_negative_fraction", 0, 1).value_or(0);
    s.lineage_switch_fraction = r.get_number_in(*b, "blast", "lineage_switch_fraction", 0, 1).value_or(0);
    if (s.cd19_negative_fraction + s.lineage_switch_fraction > 1 + 1e-12) {
      r.fail(b->get("lineage_switch_fraction"), "blast",
             "cd19_negative_fraction + lineage_switch_fraction exceeds 1");
    }
  }

  if (const toml::table* a = r.get_table(root, "", "flow_anomaly")) {
    r.check_keys(*a, "flow_anomaly", {"start", "end", "rate_factor"});
    FlowAnomaly fa;
    fa.start = r.get_number_in(*a, "flow_anomaly", "start", 0, 1).value_or(fa.start);
    fa.end = r.get_number_in(*a, "flow_anomaly", "end", 0, 1).value_or(fa.end);
    fa.rate_factor = r.get_number_in(*a, "flow_anomaly", "rate_factor", 0.001, 1000).value_or(fa.rate_factor);
    if (!(fa.end > fa.start)) r.fail(a->get("end"), "flow_anomaly.end", "must be greater than start");
    s.flow_anomaly = fa;
  }

  if (const toml::table* k = r.get_table(root, "", "keywords")) {
    for (const auto& [key, node] : *k) {
      if (is_structural_keyword(key.str())) {
        r.fail(&node, "keywords." + std::string{key.str()}, "the FCS writer sets this keyword itself");
      }
      const auto v = r.get_string(*k, "keywords", key.str());
      s.keywords[std::string{key.str()}] = *v;
    }
  }
  return s;
}

Scenario load_scenario(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScenarioError(path.string() + ": cannot open scenario file");
  std::ostringstream ss;
  ss << in.rdbuf();
  Scenario s = parse_scenario(ss.str(), path.string(), path.parent_path());
  return s;
}

}  // namespace flowmrd::samples
