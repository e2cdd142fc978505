// SPDX-License-Identifier: Apache-2.0
// The result JSON (schema flowmrd.result/1, docs/result-format.md) and reading phenotypes back
// from it. nlohmann::ordered_json keeps keys in insertion order, which is what makes the key
// order fixed; every double passes through one of two helpers so no NaN or Inf can leak out
// (they become null) and so rounding is the same everywhere.
#include "flowmrd/pipeline/result_json.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "flowmrd/gating/compensation.hpp"

namespace flowmrd::pipeline {

namespace {

using Json = nlohmann::ordered_json;

// A reported statistic: 10 significant digits. Rounding through the decimal text (rather than
// writing the double as is) keeps values such as 200 / 200000 * 100 = 0.10000000000000002 as the
// 0.1 a reader expects, and 10 digits are far beyond any measurement's precision.
Json stat(double v) {
  if (!std::isfinite(v)) return nullptr;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  double r = std::strtod(buf, nullptr);
  if (r == 0.0) r = 0.0;  // no "-0.0"
  return r;
}

Json stat(const std::optional<double>& v) { return v ? stat(*v) : Json(nullptr); }

// A model parameter: full precision (nlohmann writes the shortest text that reads back to the
// same double), so a phenotype read back with --diagnosis is the one written.
Json exact(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v == 0.0 ? 0.0 : v;
}

Json text_or_null(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

Json string_array(const std::vector<std::string>& v) {
  Json a = Json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

std::string file_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// ---------------------------------------------------------------------------------------------
// mrd

Json phenotype_json(const BlastPhenotype& p) {
  Json j;
  j["population"] = p.population;
  j["tube"] = p.tube;
  j["events"] = p.events;
  j["counterpart"] = text_or_null(p.counterpart);
  Json medians = Json::array();
  for (const MarkerMedian& m : p.medians) {
    Json mj;
    mj["marker"] = m.marker;
    mj["model"] = stat(m.model);
    mj["linear"] = stat(m.linear);
    mj["normal_model"] = stat(m.normal_model);
    medians.push_back(std::move(mj));
  }
  j["medians"] = std::move(medians);
  Json aberrancies = Json::array();
  for (const Aberrancy& a : p.aberrancies) {
    Json aj;
    aj["marker"] = a.marker;
    aj["direction"] = a.direction;
    aj["shift"] = stat(a.shift);
    aj["text"] = a.text;
    aberrancies.push_back(std::move(aj));
  }
  j["aberrancies"] = std::move(aberrancies);
  Json model;
  model["dimensions"] = string_array(p.dimensions);
  model["mean"] = Json::array();
  for (const double v : p.mean) model["mean"].push_back(exact(v));
  model["covariance"] = Json::array();
  for (const double v : p.covariance) model["covariance"].push_back(exact(v));
  j["model"] = std::move(model);
  return j;
}

Json mrd_json(const AnalysisResult& r) {
  const MrdResult& m = r.mrd;
  Json j;
  j["status"] = to_string(m.status);
  j["blast_events"] = m.blast_events;
  j["denominator_events"] = m.denominator_events;
  j["denominator"] = "nucleated viable single cells";
  j["percent"] = stat(m.percent);
  j["lod_percent"] = stat(m.lod_percent);
  j["lloq_percent"] = stat(m.lloq_percent);
  if (m.ci_percent) {
    j["ci95_percent"] = Json::array({stat(m.ci_percent->low), stat(m.ci_percent->high)});
  } else {
    j["ci95_percent"] = nullptr;
  }
  j["confidence"] = stat(m.options.confidence);
  j["sensitivity_one_in"] = stat(m.sensitivity_one_in);
  j["lod_events"] = m.options.lod_events;
  j["lloq_events"] = m.options.lloq_events;
  j["decision_threshold_percent"] = stat(m.options.decision_threshold_percent);
  j["sentence"] = describe(m);
  j["message"] = text_or_null(m.message);
  Json components = Json::array();
  for (const MrdComponent& c : r.components) {
    Json cj;
    cj["population"] = c.population;
    cj["tube"] = c.tube;
    cj["events"] = c.events;
    cj["denominator_events"] = c.denominator;
    cj["percent"] = stat(c.percent);
    components.push_back(std::move(cj));
  }
  j["components"] = std::move(components);
  Json phenotypes = Json::array();
  for (const BlastPhenotype& p : r.phenotypes) phenotypes.push_back(phenotype_json(p));
  j["phenotypes"] = std::move(phenotypes);
  return j;
}

// ---------------------------------------------------------------------------------------------
// flags, populations, coverage

Json flags_json(const std::vector<Flag>& flags) {
  Json a = Json::array();
  for (const Flag& f : flags) {
    Json j;
    j["id"] = f.id;
    j["raised"] = f.raised;
    j["events"] = f.events;
    j["percent_nucleated"] = stat(f.percent_nucleated);
    j["percent_of_blasts"] = stat(f.percent_of_blasts);
    j["tube"] = text_or_null(f.tube);
    j["explanation"] = f.explanation;
    a.push_back(std::move(j));
  }
  return a;
}

Json populations_json(const std::vector<PopulationCount>& pops) {
  Json a = Json::array();
  for (const PopulationCount& p : pops) {
    Json j;
    j["id"] = p.id;
    j["name"] = p.name;
    j["parent"] = text_or_null(p.parent);
    j["tube"] = p.tube;
    j["events"] = p.events;
    j["percent_parent"] = stat(p.percent_parent);
    j["percent_nucleated"] = stat(p.percent_nucleated);
    a.push_back(std::move(j));
  }
  return a;
}

Json coverage_json(const Coverage& c) {
  const auto one = [](bool evaluated, const std::string& tube) {
    Json j;
    j["evaluated"] = evaluated;
    j["tube"] = text_or_null(tube);
    return j;
  };
  Json j;
  j["b_lineage"] = one(c.b_lineage, c.b_lineage_tube);
  j["cd19_negative"] = one(c.cd19_negative, c.cd19_negative_tube);
  j["lineage_switch"] = one(c.lineage_switch, c.lineage_switch_tube);
  j["notes"] = string_array(c.notes);
  return j;
}

// ---------------------------------------------------------------------------------------------
// protocol

Json rule_json(const RuleRef& r) {
  Json j;
  j["id"] = r.id;
  j["text"] = r.text;
  j["condition"] = r.condition;
  j["unverified"] = r.unverified;
  return j;
}

template <typename T>
Json per_timepoint(const std::map<std::string, T>& m, Json (*convert)(const T&)) {
  Json j = Json::object();
  for (const auto& [tp, v] : m) j[tp] = convert(v);  // std::map: sorted, so deterministic
  return j;
}

Json protocol_inputs_json(const ProtocolInputs& in) {
  Json j;
  j["mrd_percent"] = per_timepoint<double>(in.mrd_percent, [](const double& v) { return stat(v); });
  j["mrd_negative"] = per_timepoint<bool>(in.mrd_negative, [](const bool& v) { return Json(v); });
  j["cd19_negative"] = per_timepoint<bool>(in.cd19_negative, [](const bool& v) { return Json(v); });
  j["lineage_switch"] = per_timepoint<bool>(in.lineage_switch, [](const bool& v) { return Json(v); });
  j["age_days"] = stat(in.age_days);
  j["wbc"] = stat(in.wbc);
  j["kmt2a"] = in.kmt2a ? Json(*in.kmt2a) : Json(nullptr);
  j["kmt2a_fusion"] = in.kmt2a_fusion ? Json(*in.kmt2a_fusion) : Json(nullptr);
  j["cns"] = in.cns ? Json(*in.cns) : Json(nullptr);
  j["day8_pb_blasts_per_ul"] = stat(in.day8_pb_blasts_per_ul);
  return j;
}

Json protocol_json(const ResultContext& c) {
  Json j;
  if (!c.evaluation) {
    j["status"] = "not requested";
    return j;
  }
  const Evaluation& e = *c.evaluation;
  j["name"] = e.protocol;
  j["version"] = e.version;
  j["timepoint"] = text_or_null(c.timepoint);
  j["status"] = to_string(e.status);
  j["risk_group"] = e.status == RiskStatus::assigned ? Json(e.risk_group) : Json(nullptr);
  j["rule"] = e.rule ? rule_json(*e.rule) : Json(nullptr);
  j["message"] = e.message;
  j["missing"] = string_array(e.missing);
  Json alerts = Json::array();
  for (const AlertResult& a : e.alerts) {
    Json aj;
    aj["rule"] = rule_json(a.rule);
    aj["alert"] = text_or_null(a.alert);
    aj["evaluable"] = a.evaluable;
    aj["missing"] = string_array(a.missing);
    alerts.push_back(std::move(aj));
  }
  j["alerts"] = std::move(alerts);
  Json notes = Json::array();
  for (const RuleRef& n : e.notes) notes.push_back(rule_json(n));
  j["notes"] = std::move(notes);
  j["decision_threshold_percent"] = stat(c.decision_threshold_percent);
  j["inputs"] = protocol_inputs_json(c.protocol_inputs);
  return j;
}

// ---------------------------------------------------------------------------------------------
// provenance

Json compensation_json(const std::optional<gating::CompensationSource>& c) {
  Json j;
  if (!c || c->kind == gating::CompensationSource::Kind::none) {
    j["kind"] = "none";
    j["origin"] = nullptr;
    j["sha256"] = nullptr;
    return j;
  }
  j["kind"] = gating::to_string(c->kind);
  // An external matrix file is recorded by name only: its directory is machine-specific.
  j["origin"] = c->kind == gating::CompensationSource::Kind::file_keyword ? c->origin : file_name(c->origin);
  j["sha256"] = text_or_null(c->sha256);
  return j;
}

Json issue_json(const fcs::Issue& i) {
  Json j;
  j["severity"] = std::string{fcs::to_string(i.severity)};
  j["code"] = i.code;
  j["keyword"] = text_or_null(i.keyword);
  j["message"] = i.message;
  return j;
}

Json axis_label(const std::optional<GateAxis>& a) {
  if (!a) return nullptr;
  Json j;
  j["label"] = a->label;
  j["scale"] = a->scale;
  return j;
}

Json input_json(const TubeAnalysis& ta) {
  const Tube& t = ta.tube;
  Json j;
  j["path"] = t.path;
  j["file"] = t.label;
  j["sha256"] = t.sha256;
  j["events"] = t.events;
  j["cytometer"] = text_or_null(t.cytometer);
  Json keywords = Json::object();
  for (const auto& [k, v] : t.keywords) keywords[k] = v;
  j["keywords"] = std::move(keywords);
  Json panel;
  panel["name"] = t.panel.name;
  panel["version"] = t.panel.version;
  panel["file"] = t.panel.source.filename().string();
  panel["instrument"] = text_or_null(t.resolution.instrument);
  j["panel"] = std::move(panel);
  Json markers = Json::object();
  for (const panels::ResolvedMarker& m : t.resolution.markers) {
    Json mj;
    mj["channel"] = m.channel_name;
    mj["stain"] = text_or_null(m.channel_stain);
    mj["role"] = std::string{panels::to_string(m.role)};
    mj["matched_by"] = std::string{panels::to_string(m.source)};
    markers[m.marker] = std::move(mj);
  }
  j["markers"] = std::move(markers);
  Json unresolved = Json::array();
  for (const panels::Unresolved& u : t.resolution.unresolved) unresolved.push_back(u.marker);
  j["markers_missing"] = std::move(unresolved);
  j["compensation"] = compensation_json(t.compensation);
  Json issues = Json::array();
  for (const fcs::Issue& i : t.issues) issues.push_back(issue_json(i));
  for (const fcs::Issue& i : t.resolution.issues) issues.push_back(issue_json(i));
  j["issues"] = std::move(issues);
  Json gates = Json::array();
  for (const PlacedGate& g : ta.gates) {
    Json gj;
    gj["population"] = g.population;
    gj["parent"] = text_or_null(g.parent);
    gj["kind"] = gating::gate_kind_name(g.gate);
    gj["x"] = axis_label(g.x);
    gj["y"] = axis_label(g.y);
    gj["inverted"] = g.inverted;
    gj["method"] = g.method;
    gj["note"] = text_or_null(g.note);
    gates.push_back(std::move(gj));
  }
  j["gates"] = std::move(gates);
  Json anomalies = Json::array();
  for (const TimeAnomaly& a : ta.pregate.anomalies) {
    Json aj;
    aj["kind"] = a.kind;
    aj["start"] = stat(a.start);
    aj["end"] = stat(a.end);
    aj["events"] = a.events;
    aj["rate_factor"] = stat(a.rate_factor);
    aj["excluded"] = a.excluded;
    aj["message"] = a.message;
    anomalies.push_back(std::move(aj));
  }
  j["qc_anomalies"] = std::move(anomalies);
  // Only what loading the file noted (e.g. no spillover matrix): the pre-gating and analysis
  // notes of the tube are the result's own "notes", not repeated here.
  j["notes"] = string_array(t.notes);
  return j;
}

Json provenance_json(const AnalysisResult& r, const ResultContext& c) {
  Json j;
  j["software_version"] = c.software_version;
  Json inputs = Json::array();
  for (const TubeAnalysis& ta : r.tubes) inputs.push_back(input_json(ta));
  j["inputs"] = std::move(inputs);
  Json ref;
  ref["name"] = r.reference_name;
  ref["version"] = text_or_null(r.reference_version);
  ref["sha256"] = text_or_null(r.reference_sha256);
  ref["source"] = c.reference_option.empty() ? std::string{"default"} : c.reference_option;
  j["reference"] = std::move(ref);
  Json diag = nullptr;
  if (c.diagnosis) {
    diag = Json::object();
    diag["path"] = c.diagnosis->path;
    diag["kind"] = c.diagnosis->kind;
    diag["sha256"] = c.diagnosis->sha256;
    diag["populations"] = string_array(c.diagnosis->populations);
  }
  j["diagnosis"] = std::move(diag);
  Json scale;
  scale["name"] = "asinh";
  scale["cofactor"] = stat(kModelCofactor);
  scale["formula"] = "asinh(x / 150) / ln(10)";
  scale["applies_to"] = "fluorescence and scatter in the reference models and phenotypes (model values)";
  j["model_scale"] = std::move(scale);
  Json o;
  o["panel"] = text_or_null(c.panel_option);
  o["protocol"] = text_or_null(c.protocol_option);
  o["timepoint"] = text_or_null(c.timepoint);
  o["reference"] = text_or_null(c.reference_option);
  o["diagnosis"] = c.diagnosis ? Json(c.diagnosis->path) : Json(nullptr);
  Json clinical = Json::object();
  for (const auto& [k, v] : c.clinical) clinical[k] = v;
  o["clinical"] = std::move(clinical);
  o["lod_events"] = c.analysis.mrd.lod_events;
  o["lloq_events"] = c.analysis.mrd.lloq_events;
  o["confidence"] = stat(c.analysis.mrd.confidence);
  o["decision_threshold_percent"] = stat(c.analysis.mrd.decision_threshold_percent);
  o["outlier_quantile"] = stat(c.analysis.outlier_quantile);
  o["min_events"] = c.analysis.min_events;
  o["sensitivity_goal_percent"] = stat(c.analysis.sensitivity_goal_percent);
  o["events_file"] = text_or_null(c.events_file);
  Json previous = Json::array();
  for (const PreviousResult& pr : c.previous) {
    Json pj;
    pj["path"] = pr.path;
    pj["sha256"] = pr.sha256;
    pj["timepoint"] = pr.timepoint;
    previous.push_back(std::move(pj));
  }
  o["previous"] = std::move(previous);
  j["options"] = std::move(o);
  return j;
}

}  // namespace

std::string result_to_json(const AnalysisResult& r, const ResultContext& c) {
  Json j;
  j["schema"] = kResultSchema;
  j["timepoint"] = text_or_null(c.timepoint);
  j["patient_id"] = text_or_null(c.patient_id);
  j["sample_id"] = text_or_null(c.sample_id);
  // qa (docs/qa.md) reads the per-event CSV through these two top-level fields.
  j["events_file"] = text_or_null(c.events_file);
  j["fcs_sha256"] = r.tubes.empty() ? Json(nullptr) : text_or_null(r.tubes.front().tube.sha256);
  j["mrd"] = mrd_json(r);
  j["flags"] = flags_json(r.flags);
  j["populations"] = populations_json(r.populations);
  j["coverage"] = coverage_json(r.coverage);
  j["protocol"] = protocol_json(c);
  j["provenance"] = provenance_json(r, c);
  j["notes"] = string_array(r.notes);
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

// ---------------------------------------------------------------------------------------------
// Reading phenotypes back

namespace {

using JsonIn = nlohmann::json;

// Errors are "LABEL: FIELD: reason" with FIELD a dotted path, so a user can find the place.
[[noreturn]] void fail(const std::string& label, const std::string& field, const std::string& reason) {
  throw std::runtime_error(label + ": " + field + ": " + reason);
}

std::string join(const std::string& path, const char* key) { return path.empty() ? std::string{key} : path + "." + key; }

const JsonIn& member(const JsonIn& obj, const char* key, const std::string& label, const std::string& path) {
  const auto it = obj.find(key);
  if (it == obj.end()) fail(label, join(path, key), "missing");
  return *it;
}

std::string get_string(const JsonIn& obj, const char* key, const std::string& label, const std::string& path,
                       bool required) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) fail(label, join(path, key), "missing");
    return {};
  }
  if (!it->is_string()) fail(label, join(path, key), "expected a string");
  return it->get<std::string>();
}

double get_number(const JsonIn& v, const std::string& label, const std::string& path) {
  if (!v.is_number()) fail(label, path, "expected a number");
  const double d = v.get<double>();
  if (!std::isfinite(d)) fail(label, path, "not a finite number");
  return d;
}

std::vector<double> get_numbers(const JsonIn& obj, const char* key, const std::string& label, const std::string& path) {
  const JsonIn& a = member(obj, key, label, path);
  const std::string p = join(path, key);
  if (!a.is_array()) fail(label, p, "expected an array of numbers");
  std::vector<double> out;
  out.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) out.push_back(get_number(a[i], label, p + "[" + std::to_string(i) + "]"));
  return out;
}

BlastPhenotype read_phenotype(const JsonIn& pj, const std::string& label, const std::string& path) {
  if (!pj.is_object()) fail(label, path, "expected an object");
  BlastPhenotype p;
  p.population = get_string(pj, "population", label, path, true);
  if (p.population.empty()) fail(label, path + ".population", "empty");
  p.tube = get_string(pj, "tube", label, path, false);
  p.counterpart = get_string(pj, "counterpart", label, path, false);
  if (const auto it = pj.find("events"); it != pj.end() && !it->is_null()) {
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0)) {
      fail(label, path + ".events", "expected a non-negative integer");
    }
    p.events = it->get<std::uint64_t>();
  }
  if (const auto it = pj.find("medians"); it != pj.end() && !it->is_null()) {
    if (!it->is_array()) fail(label, path + ".medians", "expected an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const std::string mp = path + ".medians[" + std::to_string(i) + "]";
      const JsonIn& mj = (*it)[i];
      if (!mj.is_object()) fail(label, mp, "expected an object");
      MarkerMedian m;
      m.marker = get_string(mj, "marker", label, mp, true);
      m.model = get_number(member(mj, "model", label, mp), label, mp + ".model");
      if (const auto l = mj.find("linear"); l != mj.end() && !l->is_null()) m.linear = get_number(*l, label, mp + ".linear");
      if (const auto n = mj.find("normal_model"); n != mj.end() && !n->is_null()) {
        m.normal_model = get_number(*n, label, mp + ".normal_model");
      }
      p.medians.push_back(std::move(m));
    }
  }
  if (const auto it = pj.find("aberrancies"); it != pj.end() && !it->is_null()) {
    if (!it->is_array()) fail(label, path + ".aberrancies", "expected an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const std::string ap = path + ".aberrancies[" + std::to_string(i) + "]";
      const JsonIn& aj = (*it)[i];
      if (!aj.is_object()) fail(label, ap, "expected an object");
      Aberrancy a;
      a.marker = get_string(aj, "marker", label, ap, true);
      a.direction = get_string(aj, "direction", label, ap, true);
      if (a.direction != "over" && a.direction != "under") {
        fail(label, ap + ".direction", "expected \"over\" or \"under\", got \"" + a.direction + "\"");
      }
      a.shift = get_number(member(aj, "shift", label, ap), label, ap + ".shift");
      a.text = get_string(aj, "text", label, ap, false);
      p.aberrancies.push_back(std::move(a));
    }
  }
  // The Gaussian summary is what seeds the LAIP-guided search: it must be complete and
  // consistent, otherwise the follow-up would silently search with a wrong phenotype.
  const JsonIn& model = member(pj, "model", label, path);
  const std::string mp = path + ".model";
  if (!model.is_object()) fail(label, mp, "expected an object");
  const JsonIn& dims = member(model, "dimensions", label, mp);
  if (!dims.is_array()) fail(label, mp + ".dimensions", "expected an array of marker names");
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (!dims[i].is_string() || dims[i].get<std::string>().empty()) {
      fail(label, mp + ".dimensions[" + std::to_string(i) + "]", "expected a marker name");
    }
    p.dimensions.push_back(dims[i].get<std::string>());
  }
  p.mean = get_numbers(model, "mean", label, mp);
  p.covariance = get_numbers(model, "covariance", label, mp);
  const std::size_t n = p.dimensions.size();
  const auto numbers = [](std::size_t k) { return std::to_string(k) + (k == 1 ? " number" : " numbers"); };
  if (p.mean.size() != n) {
    fail(label, mp + ".mean", "expected " + numbers(n) + " (one per dimension), got " + std::to_string(p.mean.size()));
  }
  if (p.covariance.size() != n * n) {
    fail(label, mp + ".covariance",
         "expected " + numbers(n * n) + " (" + std::to_string(n) + " x " + std::to_string(n) + ", row-major), got " +
             std::to_string(p.covariance.size()));
  }
  return p;
}

// A parsed result document of schema flowmrd.result/1.
JsonIn parse_result(const std::string& text, const std::string& label) {
  JsonIn j;
  try {
    j = JsonIn::parse(text);
  } catch (const JsonIn::parse_error& e) {
    throw std::runtime_error(label + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) fail(label, "(document)", "expected a JSON object (a flowmrd result)");
  const std::string schema = get_string(j, "schema", label, "", false);
  if (schema.empty()) fail(label, "schema", "missing: not a flowmrd result (expected \"" + std::string{kResultSchema} + "\")");
  if (schema != kResultSchema) {
    fail(label, "schema", "\"" + schema + "\" is not a flowmrd analysis result (expected \"" +
                              std::string{kResultSchema} + "\")");
  }
  return j;
}

// Whether the statuses carry a usable MRD number for a protocol (see add_timepoint_inputs).
bool decidable(const std::string& status) {
  return status == "positive" || status == "positive_below_lloq" || status == "negative";
}

}  // namespace

void add_timepoint_inputs(const AnalysisResult& r, const std::string& timepoint, ProtocolInputs& in) {
  const std::string status = to_string(r.mrd.status);
  if (decidable(status) && r.mrd.percent) {
    in.mrd_percent[timepoint] = *r.mrd.percent;
    in.mrd_negative[timepoint] = r.mrd.status == MrdStatus::negative;
  }
  const auto raised = [&](const std::string& id) {
    for (const Flag& f : r.flags) {
      if (f.id == id) return f.raised;
    }
    return false;
  };
  if (r.coverage.cd19_negative) in.cd19_negative[timepoint] = raised("cd19_negative");
  if (r.coverage.lineage_switch) in.lineage_switch[timepoint] = raised("lineage_switch");
}

std::string add_timepoint_inputs_from_result_json(const std::string& text, const std::string& label,
                                                  ProtocolInputs& in) {
  const JsonIn j = parse_result(text, label);
  const std::string timepoint = get_string(j, "timepoint", label, "", false);
  if (timepoint.empty()) {
    fail(label, "timepoint", "missing: the result was analysed without --timepoint, so it is not known which "
                             "protocol timepoint it measures");
  }
  const JsonIn& mrd = member(j, "mrd", label, "");
  if (!mrd.is_object()) fail(label, "mrd", "expected an object");
  const std::string status = get_string(mrd, "status", label, "mrd", true);
  if (decidable(status)) {
    in.mrd_percent[timepoint] = get_number(member(mrd, "percent", label, "mrd"), label, "mrd.percent");
    in.mrd_negative[timepoint] = status == "negative";
  }
  const JsonIn& coverage = member(j, "coverage", label, "");
  const JsonIn& flags = member(j, "flags", label, "");
  if (!coverage.is_object()) fail(label, "coverage", "expected an object");
  if (!flags.is_array()) fail(label, "flags", "expected an array");
  for (const char* id : {"cd19_negative", "lineage_switch"}) {
    const JsonIn& part = member(coverage, id, label, "coverage");
    const std::string path = std::string{"coverage."} + id;
    if (!part.is_object()) fail(label, path, "expected an object");
    const JsonIn& evaluated = member(part, "evaluated", label, path);
    if (!evaluated.is_boolean()) fail(label, path + ".evaluated", "expected true or false");
    if (!evaluated.get<bool>()) continue;
    bool raised = false;
    for (std::size_t i = 0; i < flags.size(); ++i) {
      const JsonIn& f = flags[i];
      const std::string fp = "flags[" + std::to_string(i) + "]";
      if (!f.is_object()) fail(label, fp, "expected an object");
      if (get_string(f, "id", label, fp, true) != id) continue;
      const JsonIn& r = member(f, "raised", label, fp);
      if (!r.is_boolean()) fail(label, fp + ".raised", "expected true or false");
      raised = r.get<bool>();
    }
    (std::string{id} == "cd19_negative" ? in.cd19_negative : in.lineage_switch)[timepoint] = raised;
  }
  return timepoint;
}

std::vector<BlastPhenotype> phenotypes_from_result_json(const std::string& text, const std::string& label) {
  const JsonIn j = parse_result(text, label);
  const JsonIn& mrd = member(j, "mrd", label, "");
  if (!mrd.is_object()) fail(label, "mrd", "expected an object");
  const JsonIn& phen = member(mrd, "phenotypes", label, "mrd");
  if (!phen.is_array()) fail(label, "mrd.phenotypes", "expected an array");
  std::vector<BlastPhenotype> out;
  for (std::size_t i = 0; i < phen.size(); ++i) {
    out.push_back(read_phenotype(phen[i], label, "mrd.phenotypes[" + std::to_string(i) + "]"));
  }
  return out;
}

}  // namespace flowmrd::pipeline
