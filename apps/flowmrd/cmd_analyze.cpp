// SPDX-License-Identifier: Apache-2.0
// `flowmrd analyze`: parse the options, load panels / protocol / reference / diagnosis, load the
// tubes, run pipeline::analyze, evaluate the protocol for the timepoint, and write the summary,
// the result JSON, the plots and the per-event CSV. The analysis itself lives in
// flowmrd_pipeline; this file only decides what to run and how failures are reported.
#include "cmd_analyze.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "exit_codes.hpp"
#include "fcs/sha256.hpp"
#include "flowmrd/panels/protocol.hpp"
#include "flowmrd/pipeline/analysis_plots.hpp"
#include "flowmrd/pipeline/reference.hpp"
#include "flowmrd/pipeline/result_json.hpp"
#include "flowmrd/pipeline/rule_engine.hpp"
#include "flowmrd/pipeline/text_escape.hpp"
#include "json_issue.hpp"
#include "output_sink.hpp"
#include "read_input.hpp"
#include "text_table.hpp"

namespace flowmrd::cli {

namespace fs = std::filesystem;
namespace fp = flowmrd::pipeline;
namespace pn = flowmrd::panels;

namespace {

struct AnalyzeOptions {
  std::vector<std::string> tubes;
  std::string panel;
  std::string protocol;
  std::string timepoint;
  std::string diagnosis;
  std::vector<std::string> clinical;
  std::vector<std::string> previous;
  std::string json_out;
  std::string plots_dir;
  std::string events_out;
  std::string reference;
  std::uint64_t lod_events = 20;
  std::uint64_t lloq_events = 50;
  unsigned threads = 0;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// An option value that names a file rather than a shipped item: it has a directory part or a
// .toml extension, or such a file exists.
bool names_file(const std::string& v) {
  std::error_code ec;
  return v.find('/') != std::string::npos || lower(fs::path(v).extension().string()) == ".toml" ||
         fs::is_regular_file(v, ec);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Protocol

pn::Protocol load_protocol_option(const std::string& option) {
  try {
    if (names_file(option)) return pn::load_protocol(option);
    // Shipped protocols live beside the panel definitions (panels/protocols next to panels/defs).
    const fs::path dir = pn::source_panels_dir().parent_path() / "protocols";
    std::vector<pn::Protocol> all = pn::load_protocols(dir);
    std::vector<std::string> known;
    for (pn::Protocol& p : all) {
      const std::string stem = fs::path(p.file).stem().string();
      if (lower(p.name) == lower(option) || lower(stem) == lower(option)) return std::move(p);
      known.push_back(stem + " (" + p.name + ")");
    }
    throw CommandError(ExitCode::usage, "--protocol '" + option + "': no such protocol; shipped protocols: " +
                                            join(known) + "; or give a protocol file");
  } catch (const pn::ProtocolError& e) {
    throw CommandError(ExitCode::input_invalid, e.what());
  }
}

// The decision threshold of a timepoint: the lowest MRD % any deciding or alerting rule of the
// protocol compares this timepoint's MRD with. A negative result is only "negative" when its
// LOD reaches this threshold (docs/mrd-statistics.md, "insufficient sensitivity").
static void collect_thresholds(const pn::Condition& c, const std::string& timepoint, std::vector<double>& out) {
  if (c.kind == pn::Condition::Kind::leaf) {
    if (c.input == pn::Input::mrd_percent && c.timepoint == timepoint) {
      if (const auto* v = std::get_if<double>(&c.value); v != nullptr && *v > 0.0) out.push_back(*v);
    }
    return;
  }
  for (const pn::Condition& child : c.children) collect_thresholds(child, timepoint, out);
}

std::optional<double> decision_threshold(const pn::Protocol& p, const std::string& timepoint) {
  std::vector<double> values;
  for (const pn::Rule& r : p.rules) {
    if (r.outcome != pn::Outcome::note) collect_thresholds(r.when, timepoint, values);
  }
  if (values.empty()) return std::nullopt;
  return *std::min_element(values.begin(), values.end());
}

namespace {

std::string timepoint_list(const pn::Protocol& p) {
  std::vector<std::string> ids;
  for (const pn::Timepoint& t : p.timepoints) {
    std::string s = t.id + " (" + std::string{pn::to_string(t.tissue)};
    if (t.day) s += " day " + std::to_string(*t.day);
    if (!t.method.empty()) s += ", " + t.method;
    s += ")";
    ids.push_back(std::move(s));
  }
  return join(ids);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Clinical inputs

static const std::vector<std::string>& clinical_keys() {
  static const std::vector<std::string> keys = {"age_days", "wbc", "kmt2a", "kmt2a_fusion", "cns",
                                                "day8_pb_blasts_per_ul"};
  return keys;
}

static double clinical_number(const std::string& key, const std::string& value) {
  double v = 0.0;
  const char* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, v);
  if (ec != std::errc{} || ptr != end || !std::isfinite(v) || v < 0.0) {
    throw CommandError(ExitCode::usage,
                       "--clinical " + key + "=" + value + ": expected a non-negative number");
  }
  return v;
}

// Parse --clinical KEY=VALUE into the protocol inputs; the pairs as given are kept for the
// provenance record.
std::vector<std::pair<std::string, std::string>> parse_clinical(const std::vector<std::string>& items,
                                                                fp::ProtocolInputs& in) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::set<std::string> seen;
  for (const std::string& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw CommandError(ExitCode::usage, "--clinical '" + item + "': expected KEY=VALUE (keys: " +
                                              join(clinical_keys()) + ")");
    }
    const std::string key = item.substr(0, eq);
    const std::string value = item.substr(eq + 1);
    if (std::find(clinical_keys().begin(), clinical_keys().end(), key) == clinical_keys().end()) {
      throw CommandError(ExitCode::usage,
                         "--clinical: unknown key '" + key + "' (valid keys: " + join(clinical_keys()) + ")");
    }
    if (!seen.insert(key).second) throw CommandError(ExitCode::usage, "--clinical: " + key + " given twice");
    if (value.empty()) throw CommandError(ExitCode::usage, "--clinical " + key + "=: empty value");
    if (key == "age_days") in.age_days = clinical_number(key, value);
    if (key == "wbc") in.wbc = clinical_number(key, value);
    if (key == "day8_pb_blasts_per_ul") in.day8_pb_blasts_per_ul = clinical_number(key, value);
    if (key == "kmt2a") {
      if (value != "rearranged" && value != "germline" && value != "unknown") {
        throw CommandError(ExitCode::usage,
                           "--clinical kmt2a=" + value + ": expected rearranged, germline or unknown");
      }
      in.kmt2a = value;
    }
    if (key == "cns") {
      if (value != "positive" && value != "negative") {
        throw CommandError(ExitCode::usage, "--clinical cns=" + value + ": expected positive or negative");
      }
      in.cns = value;
    }
    if (key == "kmt2a_fusion") in.kmt2a_fusion = value;
    pairs.emplace_back(key, value);
  }
  return pairs;
}

// ---------------------------------------------------------------------------------------------
// Reference and diagnosis

fp::NormalReference load_reference_option(const std::string& option) {
  const fs::path path = option.empty() ? fp::default_reference_path() : fs::path(option);
  std::error_code ec;
  if (option.empty() && !fs::exists(path, ec)) {
    throw CommandError(ExitCode::input_invalid,
                       path.string() + ": the default normal-marrow reference is missing (set FLOWMRD_DATA to the "
                                       "data root, pass --reference FILE, or build one with 'flowmrd reference "
                                       "build')");
  }
  try {
    return fp::load_reference(path);
  } catch (const fp::ReferenceError& e) {
    throw CommandError(ExitCode::input_invalid, e.what());
  }
}

namespace {

std::string sha256_of(const std::string& bytes) {
  return fcs::sha256_hex(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
}

struct Diagnosis {
  fp::DiagnosisSource source;
  std::vector<fp::BlastPhenotype> phenotypes;
};

// The diagnosis sample's blast phenotype(s): from a result JSON written by an earlier
// `flowmrd analyze`, or by analysing the diagnosis FCS file now with the same panel and
// reference. A diagnosis without any blast population cannot guide the search, which is an
// error rather than a silent unguided analysis.
Diagnosis load_diagnosis(const AnalyzeOptions& o, const std::vector<pn::Panel>& panel_list,
                         const fp::NormalReference& reference, const fp::AnalysisOptions& base) {
  Diagnosis d;
  d.source.path = o.diagnosis;
  // The kind is decided from the first bytes: an FCS file is never read twice.
  const std::string start = read_text(o.diagnosis, 64);
  std::string_view head = start;
  if (head.starts_with("\xEF\xBB\xBF")) head.remove_prefix(3);
  while (!head.empty() && std::isspace(static_cast<unsigned char>(head.front())) != 0) head.remove_prefix(1);
  if (start.starts_with("FCS")) {
    d.source.kind = "fcs";
    fp::Tube tube = load_tube_or_fail(o.diagnosis, panel_list, o.threads);
    d.source.sha256 = tube.sha256;
    fp::AnalysisOptions options = base;
    options.mrd.decision_threshold_percent.reset();
    options.diagnosis.clear();
    std::vector<fp::Tube> tubes;
    tubes.push_back(std::move(tube));
    try {
      d.phenotypes = fp::analyze(std::move(tubes), reference, options).phenotypes;
    } catch (const fp::AnalysisError& e) {
      throw analysis_error(e);
    }
  } else if (head.starts_with("{")) {
    d.source.kind = "result";
    const std::string text = read_text(o.diagnosis);
    d.source.sha256 = sha256_of(text);
    try {
      d.phenotypes = fp::phenotypes_from_result_json(text, o.diagnosis);
    } catch (const std::runtime_error& e) {
      throw CommandError(ExitCode::input_invalid, e.what());
    }
  } else {
    throw CommandError(ExitCode::input_invalid,
                       o.diagnosis + ": --diagnosis expects the diagnosis FCS file or its flowmrd result JSON "
                                     "(flowmrd.result/1); this is neither");
  }
  if (d.phenotypes.empty()) {
    throw CommandError(ExitCode::input_invalid,
                       o.diagnosis + ": no blast population was found at diagnosis, so there is no phenotype to "
                                     "guide the follow-up; run without --diagnosis");
  }
  for (const auto& p : d.phenotypes) d.source.populations.push_back(p.population);
  return d;
}

// ---------------------------------------------------------------------------------------------
// Outputs

// header `population,blast`, one row per event of the first tube in file order. The text is
// assembled from per-population precomputed rows so a million events cost one pass of memcpy.
void write_events(const fp::TubeAnalysis& ta, const std::string& path) {
  const std::size_t n = ta.tube.frame.rows();
  if (ta.assignment.size() != n || ta.leukemic.size() != n) {
    throw CommandError(ExitCode::analysis_failed,
                       ta.tube.path + ": the analysis gave no per-event assignment (" +
                           std::to_string(ta.assignment.size()) + " of " + std::to_string(n) +
                           " events): --events cannot be written");
  }
  std::vector<std::string> rows[2];
  std::size_t longest = 0;
  for (const std::string& name : ta.terminal_names) {
    const std::string field = fp::csv_field(name);  // a name with a comma stays one field
    rows[0].push_back(field + ",0\n");
    rows[1].push_back(field + ",1\n");
    longest = std::max(longest, field.size() + 3);
  }
  std::string text = "population,blast\n";
  text.reserve(text.size() + n * longest);
  const auto& words = ta.leukemic.words();
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = ta.assignment[i];
    if (k >= ta.terminal_names.size()) {
      throw CommandError(ExitCode::analysis_failed,
                         ta.tube.path + ": event " + std::to_string(i + 1) + " is assigned to population #" +
                             std::to_string(k) + ", but there are " + std::to_string(ta.terminal_names.size()));
    }
    const bool blast = ((words[i >> 6] >> (i & 63)) & 1U) != 0;
    text += rows[blast ? 1 : 0][k];
  }
  write_atomically(path, text);
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

void print_summary(const fp::AnalysisResult& r, const fp::ResultContext& c) {
  std::string out;
  for (const fp::TubeAnalysis& ta : r.tubes) {
    out += ta.tube.path + ": " + fp::format_count(ta.tube.events) + " events, panel " + ta.tube.panel.name +
           (ta.tube.panel.version.empty() ? "" : " v" + ta.tube.panel.version) +
           (ta.tube.cytometer.empty() ? "" : ", " + ta.tube.cytometer) + "\n";
  }
  out += "reference: " + r.reference_name + (r.reference_version.empty() ? "" : " v" + r.reference_version) + "\n";
  if (c.diagnosis) out += "diagnosis phenotype from " + c.diagnosis->path + " (" + join(c.diagnosis->populations) + ")\n";
  out += "\n" + fp::describe(r.mrd) + "\n";
  for (const fp::MrdComponent& m : r.components) {
    out += "  " + m.population + " (" + m.tube + "): " + fp::format_count(m.events) + " events, " +
           fp::format_percent(m.percent, 2) + "%\n";
  }
  for (const fp::BlastPhenotype& p : r.phenotypes) {
    if (p.aberrancies.empty()) continue;
    out += "  " + p.population + " phenotype:";
    for (const fp::Aberrancy& a : p.aberrancies) out += (&a == &p.aberrancies.front() ? " " : "; ") + a.text;
    out += "\n";
  }

  out += "\nflags:\n";
  if (r.flags.empty()) out += "  none\n";
  for (const fp::Flag& f : r.flags) {
    // The explanation already gives the counts in words; the JSON has them as numbers.
    out += std::string{"  "} + (f.raised ? "RAISED " : "-      ") + f.id + ": " + f.explanation + "\n";
  }
  for (const std::string& note : r.coverage.notes) out += "  note: " + note + "\n";

  out += "\npopulations:\n";
  const bool several = r.tubes.size() > 1;
  using A = TextTable::Align;
  std::vector<std::string> header = {"population", "name", "parent", "events", "% parent", "% nucleated"};
  std::vector<A> align = {A::left, A::left, A::left, A::right, A::right, A::right};
  if (several) {
    header.insert(header.begin() + 1, "tube");
    align.insert(align.begin() + 1, A::left);
  }
  TextTable table(header, align);
  for (const fp::PopulationCount& p : r.populations) {
    std::vector<std::string> row = {p.id, p.name, p.parent.empty() ? "-" : p.parent, std::to_string(p.events),
                                    fixed(p.percent_parent, 2),
                                    p.percent_nucleated ? fixed(*p.percent_nucleated, 4) : std::string{"-"}};
    if (several) row.insert(row.begin() + 1, p.tube);
    table.add_row(std::move(row));
  }
  table.render(out, "  ");

  out += "\nprotocol: ";
  if (!c.evaluation) {
    out += "not requested (--protocol NAME --timepoint ID)\n";
  } else {
    const fp::Evaluation& e = *c.evaluation;
    out += e.protocol + (e.version.empty() ? "" : " v" + e.version) + ", timepoint " + c.timepoint;
    if (c.decision_threshold_percent) {
      out += " (decision threshold " + fp::format_percent(*c.decision_threshold_percent, 2) + "%)";
    }
    out += "\n  " + e.message + "\n";
    for (const fp::AlertResult& a : e.alerts) {
      out += a.evaluable ? "  ALERT: " + a.alert + " (rule " + a.rule.id + ")\n"
                         : "  alert " + a.rule.id + " not evaluable: missing " + join(a.missing) + "\n";
    }
  }
  if (!r.notes.empty()) {
    out += "\nnotes:\n";
    for (const std::string& n : r.notes) out += "  " + n + "\n";
  }
  std::cout << out;
}

// ---------------------------------------------------------------------------------------------

std::string relative_to_json(const std::string& file, const std::string& json_out) {
  if (json_out.empty() || json_out == "-") return file;
  std::error_code ec;
  const fs::path rel = fs::relative(fs::absolute(file, ec), fs::absolute(json_out, ec).parent_path(), ec);
  return ec || rel.empty() ? file : rel.generic_string();
}

int run(const AnalyzeOptions& o) {
  if (o.lod_events < 1) throw CommandError(ExitCode::usage, "--lod-events must be at least 1");
  if (o.lloq_events < o.lod_events) {
    throw CommandError(ExitCode::usage, "--lloq-events (" + std::to_string(o.lloq_events) +
                                            ") must be at least --lod-events (" + std::to_string(o.lod_events) + ")");
  }
  // Standard output carries the summary or the JSON; a million CSV rows or PNGs do not belong there.
  if (o.events_out == "-") throw CommandError(ExitCode::usage, "--events needs a file name ('-' is not supported)");
  if (o.plots_dir == "-") throw CommandError(ExitCode::usage, "--plots needs a directory ('-' is not supported)");
  // Outputs that would overwrite an input are refused before any work is done.
  for (const std::string* out : {&o.json_out, &o.events_out}) {
    if (out->empty() || *out == "-") continue;
    for (const std::string& t : o.tubes) {
      std::error_code ec;
      if (fs::equivalent(*out, t, ec)) throw CommandError(ExitCode::usage, *out + ": would overwrite the input " + t);
    }
  }

  fp::ResultContext ctx;
  ctx.software_version = FLOWMRD_VERSION;
  ctx.timepoint = o.timepoint;
  ctx.panel_option = o.panel;
  ctx.protocol_option = o.protocol;
  ctx.reference_option = o.reference;

  // Protocol first: a wrong timepoint is a usage error that should not cost an analysis.
  std::optional<pn::Protocol> protocol;
  fp::ProtocolInputs clinical_inputs;
  ctx.clinical = parse_clinical(o.clinical, clinical_inputs);
  if (!o.protocol.empty()) {
    protocol = load_protocol_option(o.protocol);
    if (o.timepoint.empty()) {
      throw CommandError(ExitCode::usage, "--protocol " + o.protocol + " needs --timepoint ID: which timepoint of " +
                                              protocol->name + " is this sample? (timepoints: " +
                                              timepoint_list(*protocol) + ")");
    }
    const pn::Timepoint* tp = protocol->find_timepoint(o.timepoint);
    if (tp == nullptr) {
      throw CommandError(ExitCode::usage, "--timepoint " + o.timepoint + ": not a timepoint of " + protocol->name +
                                              " (timepoints: " + timepoint_list(*protocol) + ")");
    }
    if (!tp->method.empty() && lower(tp->method) != "fcm") {
      std::cerr << "flowmrd: warning: timepoint " << tp->id << " of " << protocol->name << " is measured by "
                << tp->method << ", not flow cytometry; the flow MRD is recorded for it as given\n";
    }
    ctx.decision_threshold_percent = decision_threshold(*protocol, o.timepoint);
  } else if (!o.clinical.empty() || !o.previous.empty()) {
    std::cerr << "flowmrd: warning: --clinical and --previous are only used by a protocol (--protocol); they are "
                 "recorded in the result\n";
  }
  // Earlier timepoints of the same patient: their measurements join this one's, so rules about
  // them (e.g. Interfant-21's end-of-induction MRD) can be decided.
  for (const std::string& path : o.previous) {
    fp::PreviousResult pr;
    pr.path = path;
    const std::string text = read_text(path);
    pr.sha256 = sha256_of(text);
    try {
      pr.timepoint = fp::add_timepoint_inputs_from_result_json(text, path, clinical_inputs);
    } catch (const std::runtime_error& e) {
      throw CommandError(ExitCode::input_invalid, e.what());
    }
    if (!o.timepoint.empty() && pr.timepoint == o.timepoint) {
      throw CommandError(ExitCode::usage, "--previous " + path + ": measures timepoint " + pr.timepoint +
                                              ", the timepoint of this analysis");
    }
    for (const fp::PreviousResult& other : ctx.previous) {
      if (other.timepoint == pr.timepoint) {
        throw CommandError(ExitCode::usage, "--previous: " + other.path + " and " + path +
                                                " both measure timepoint " + pr.timepoint);
      }
    }
    if (protocol && protocol->find_timepoint(pr.timepoint) == nullptr) {
      std::cerr << "flowmrd: warning: --previous " << path << ": timepoint " << pr.timepoint << " is not one of "
                << protocol->name << "'s; its measurements are ignored by the rules\n";
    }
    ctx.previous.push_back(std::move(pr));
  }

  const std::vector<pn::Panel> panel_list = panels_for_option(o.panel);
  const fp::NormalReference reference = load_reference_option(o.reference);

  fp::AnalysisOptions options;
  options.threads = o.threads;
  options.mrd.lod_events = o.lod_events;
  options.mrd.lloq_events = o.lloq_events;
  options.mrd.decision_threshold_percent = ctx.decision_threshold_percent;

  if (!o.diagnosis.empty()) {
    Diagnosis d = load_diagnosis(o, panel_list, reference, options);
    ctx.diagnosis = std::move(d.source);
    options.diagnosis = std::move(d.phenotypes);
  }

  std::vector<fp::Tube> tubes;
  for (const std::string& path : o.tubes) tubes.push_back(load_tube_or_fail(path, panel_list, o.threads));

  fp::AnalysisResult result;
  try {
    result = fp::analyze(std::move(tubes), reference, options);
  } catch (const fp::AnalysisError& e) {
    throw analysis_error(e);
  }
  ctx.analysis = options;

  if (protocol) {
    ctx.protocol_inputs = clinical_inputs;
    fp::add_timepoint_inputs(result, o.timepoint, ctx.protocol_inputs);
    try {
      ctx.evaluation = fp::evaluate(*protocol, ctx.protocol_inputs);
    } catch (const std::invalid_argument& e) {
      throw CommandError(ExitCode::usage, std::string{"--clinical: "} + e.what());
    }
  } else {
    ctx.protocol_inputs = clinical_inputs;
  }

  // The files the JSON refers to are written before it.
  if (!o.events_out.empty()) {
    if (result.tubes.empty()) throw CommandError(ExitCode::analysis_failed, "no tube was analysed: --events is empty");
    write_events(result.tubes.front(), o.events_out);
    ctx.events_file = relative_to_json(o.events_out, o.json_out);
  }
  std::vector<fp::PlotFile> plots;
  if (!o.plots_dir.empty()) {
    try {
      plots = fp::write_analysis_plots(result, o.plots_dir);
    } catch (const std::runtime_error& e) {
      throw CommandError(ExitCode::output_failed, e.what());
    }
  }
  const bool json_to_stdout = o.json_out == "-";
  if (!json_to_stdout) print_summary(result, ctx);
  if (!o.json_out.empty()) write_atomically(o.json_out, fp::result_to_json(result, ctx));
  if (!json_to_stdout) {
    if (!o.json_out.empty()) std::cout << "\nresult: " << o.json_out << "\n";
    if (!o.events_out.empty()) std::cout << "events: " << o.events_out << "\n";
    if (!o.plots_dir.empty()) std::cout << "plots: " << plots.size() << " in " << o.plots_dir << "\n";
  }
  std::cout.flush();
  if (!std::cout) throw CommandError(ExitCode::output_failed, "<stdout>: write failed");
  return to_int(ExitCode::ok);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Shared with `flowmrd reference`

std::vector<pn::Panel> panels_for_option(const std::string& option) {
  try {
    if (!option.empty() && names_file(option)) return {pn::load_panel(option)};
    std::vector<pn::Panel> all = pn::load_panels(pn::source_panels_dir());
    if (option.empty()) {
      if (all.empty()) {
        throw CommandError(ExitCode::input_invalid,
                           pn::source_panels_dir().string() + ": no panel definitions (*.toml) found");
      }
      return all;
    }
    std::vector<std::string> known;
    for (pn::Panel& p : all) {
      const std::string stem = p.source.stem().string();
      if (lower(p.name) == lower(option) || lower(stem) == lower(option)) return {std::move(p)};
      known.push_back(p.name);
    }
    throw CommandError(ExitCode::usage,
                       "--panel '" + option + "': no such panel; shipped panels: " + join(known) + "; or give a panel file");
  } catch (const pn::PanelError& e) {
    throw CommandError(ExitCode::input_invalid, e.what());
  }
}

CommandError analysis_error(const fp::AnalysisError& e) {
  // A tube that is not FCS or holds nothing, and one whose markers fit no panel, are both
  // inputs the analysis cannot take (3); a readable tube the analysis fails on is 6.
  const ExitCode code = e.kind() == fp::AnalysisErrorKind::analysis_failed ? ExitCode::analysis_failed
                                                                            : ExitCode::input_invalid;
  std::string message = e.what();
  if (!e.file().empty() && !message.starts_with(e.file())) message = e.file() + ": " + message;
  return CommandError(code, message);
}

fp::Tube load_tube_or_fail(const std::string& path, const std::vector<pn::Panel>& panel_list, unsigned threads) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw CommandError(ExitCode::input_invalid, path + ": is a directory");
  if (!fs::exists(path, ec)) throw CommandError(ExitCode::input_invalid, path + ": no such file");
  fp::LoadOptions lo;
  lo.threads = threads;
  fp::Tube tube;
  try {
    tube = fp::load_tube(path, panel_list, lo);
  } catch (const fp::AnalysisError& e) {
    throw analysis_error(e);
  }
  for (const fcs::Issue& issue : tube.issues) {
    if (is_warning(issue)) std::cerr << "flowmrd: warning: " << issue_line(path, issue) << '\n';
  }
  for (const fcs::Issue& issue : tube.resolution.issues) {
    if (is_warning(issue)) std::cerr << "flowmrd: warning: " << issue_line(path, issue) << '\n';
  }
  return tube;
}

void write_atomically(const std::string& path, std::string_view text) {
  if (path == "-") {
    std::cout.write(text.data(), static_cast<std::streamsize>(text.size()));
    std::cout.flush();
    if (!std::cout) throw CommandError(ExitCode::output_failed, "<stdout>: write failed");
    return;
  }
  // Only a plain file (or a new one) is replaced by rename: a device (/dev/stdout, /dev/full),
  // a FIFO or a symlink is written in place, as the user named it, never replaced.
  std::error_code status_ec;
  const auto type = fs::symlink_status(path, status_ec).type();
  if (type != fs::file_type::not_found && type != fs::file_type::regular) {
    OutputSink sink(path);
    sink.write(text);
    sink.finish();
    return;
  }
  // The temporary file sits beside the target so the rename stays on one file system; the
  // process id keeps two concurrent runs from sharing it.
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    throw CommandError(ExitCode::output_failed, path + ": cannot open for writing: " + std::strerror(errno));
  }
  errno = 0;
  const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int write_errno = errno;
  const bool closed = std::fclose(f) == 0;
  const int close_errno = errno;
  if (!wrote || !closed) {
    std::remove(tmp.c_str());
    const int err = !wrote ? write_errno : close_errno;
    throw CommandError(ExitCode::output_failed,
                       path + ": write failed" + (err != 0 ? std::string{": "} + std::strerror(err) : std::string{}));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw CommandError(ExitCode::output_failed, path + ": cannot write: " + ec.message());
  }
}

std::function<int()> add_analyze_command(CLI::App& app) {
  auto o = std::make_shared<AnalyzeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "analyze", "Automated MRD analysis of one timepoint (one or more tubes of one sample): MRD %, CD19-negative "
                 "and lineage-switch flags, populations, protocol result; JSON, plots, per-event CSV "
                 "(docs/result-format.md)");
  // No ExistingFile checks: a missing input is an input error (exit 3), not a usage error.
  cmd->add_option("TUBE", o->tubes, "FCS file(s) of the timepoint (tubes of the same sample)")
      ->required()
      ->type_name("TUBE.fcs");
  cmd->add_option("--panel", o->panel,
                  "Panel name (shipped: b-lineage-mrd, myelomonocytic, combined-12color) or panel file; default: "
                  "the best-fitting shipped panel per tube")
      ->type_name("NAME|FILE");
  cmd->add_option("--protocol", o->protocol, "Treatment protocol name (e.g. interfant-21) or protocol file")
      ->type_name("NAME|FILE");
  cmd->add_option("--timepoint", o->timepoint, "Protocol timepoint of this sample (e.g. eoi, blin1)")
      ->type_name("ID");
  cmd->add_option("--diagnosis", o->diagnosis,
                  "Diagnosis sample (FCS, analysed first) or its result JSON: its blast phenotype guides the search")
      ->type_name("DX.fcs|DX_RESULT.json");
  cmd->add_option("--clinical", o->clinical,
                  "Clinical input for the protocol, repeatable: age_days, wbc, kmt2a, kmt2a_fusion, cns, "
                  "day8_pb_blasts_per_ul")
      ->type_name("KEY=VALUE")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--previous", o->previous,
                  "Result JSON of an earlier timepoint of the same patient (analysed with --timepoint), repeatable: "
                  "its MRD and flags are given to the protocol")
      ->type_name("RESULT.json")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--json", o->json_out, "Write the result JSON (schema flowmrd.result/1); '-' = standard output")
      ->type_name("OUT");
  cmd->add_option("--plots", o->plots_dir, "Write the gating plots (PNG) into this directory")->type_name("DIR");
  cmd->add_option("--events", o->events_out,
                  "Write one CSV row per event of the first tube: population,blast")
      ->type_name("FILE.csv");
  cmd->add_option("--reference", o->reference, "Normal-marrow reference JSON; default: the shipped one")
      ->type_name("FILE");
  cmd->add_option("--lod-events", o->lod_events, "Clustered events needed to detect MRD (LOD)")
      ->type_name("N")
      ->capture_default_str();
  cmd->add_option("--lloq-events", o->lloq_events, "Events needed to quantify MRD (LLOQ)")
      ->type_name("N")
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "Worker threads (0 = all cores); results are identical for any value")
      ->type_name("N");
  return [o]() -> int { return run(*o); };
}

}  // namespace flowmrd::cli
