// SPDX-License-Identifier: Apache-2.0
// `flowmrd qa`: load a reference and a test gating of one FCS file (each a FlowJo workspace, a
// Gating-ML file, a labels CSV or a flowmrd result), pair their populations by name, and report
// per population the counts, event-level precision/recall/F1 and the MRD comparison; optionally
// as JSON, as a self-contained HTML page with plots of the disagreeing events, and as a CSV of
// the disagreeing events. The comparison itself lives in gating/qa and pipeline/qa_report.
#include "cmd_qa.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "command_error.hpp"
#include "exit_codes.hpp"
#include "fcs/reader.hpp"
#include "fcs/sha256.hpp"
#include "flowmrd/gating/evaluate.hpp"
#include "flowmrd/gating/flowjo.hpp"
#include "flowmrd/gating/gatingml.hpp"
#include "flowmrd/gating/labels.hpp"
#include "flowmrd/gating/qa.hpp"
#include "flowmrd/pipeline/plot.hpp"
#include "flowmrd/pipeline/qa_report.hpp"
#include "json_issue.hpp"
#include "output_sink.hpp"
#include "read_input.hpp"
#include "text_table.hpp"

namespace flowmrd::cli {

namespace {

namespace fs = std::filesystem;
namespace fg = flowmrd::gating;
namespace fp = flowmrd::pipeline;

struct QaOptions {
  std::string reference;
  std::string test;
  std::string fcs_file;
  std::string sample;
  int dataset = 1;
  std::vector<std::string> maps;
  std::vector<std::string> mrd;
  std::string denominator;
  double threshold = 0.01;
  std::string axes;
  std::string json_out;
  std::string html_out;
  std::string disagreements_out;
  unsigned threads = 0;
};

enum class Kind { flowjo, gatingml, labels, result };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::flowjo: return "flowjo";
    case Kind::gatingml: return "gatingml";
    case Kind::labels: return "labels";
    case Kind::result: return "flowmrd-result";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Kind detection from content

// Local name of the XML root element (prefix dropped), skipping the declaration, processing
// instructions, comments and the DOCTYPE; empty when not found in `xml`.
std::string xml_root_name(std::string_view xml) {
  std::size_t pos = 0;
  while ((pos = xml.find('<', pos)) != std::string_view::npos) {
    const std::string_view rest = xml.substr(pos);
    if (rest.starts_with("<?")) {
      pos = xml.find("?>", pos);
    } else if (rest.starts_with("<!--")) {
      pos = xml.find("-->", pos);
    } else if (rest.starts_with("<!")) {
      pos = xml.find('>', pos);
    } else {
      std::size_t end = 1;
      while (end < rest.size() && rest[end] != '>' && rest[end] != '/' && !std::isspace(static_cast<unsigned char>(rest[end])))
        ++end;
      std::string name{rest.substr(1, end - 1)};
      if (const auto colon = name.find(':'); colon != std::string::npos) name.erase(0, colon + 1);
      return name;
    }
    if (pos == std::string_view::npos) break;
  }
  return {};
}

Kind detect_kind(const std::string& path) {
  std::string head = read_text(path, 65536);
  std::string_view v = head;
  if (v.starts_with("\xEF\xBB\xBF")) v.remove_prefix(3);
  if (v.size() >= 6 && v.starts_with("FCS") && std::isdigit(static_cast<unsigned char>(v[3])) != 0) {
    throw CommandError(ExitCode::input_invalid,
                       path + ": this is an FCS file, not a gating (expected a FlowJo workspace, a Gating-ML file, a "
                              "labels CSV or a flowmrd result JSON)");
  }
  if (v.find('\0') != std::string_view::npos) {
    throw CommandError(ExitCode::input_invalid, path + ": binary content: not a FlowJo workspace, Gating-ML file, "
                                                       "labels CSV or flowmrd result JSON");
  }
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front())) != 0) v.remove_prefix(1);
  if (v.starts_with("<")) {
    const std::string root = xml_root_name(v);
    // FlowJo's reader explains FACSDiva exports (<bdfacs>) itself.
    if (root == "Workspace" || root == "bdfacs") return Kind::flowjo;
    if (root == "Gating-ML") return Kind::gatingml;
    throw CommandError(ExitCode::input_invalid,
                       path + ": XML whose root element is <" + root +
                           ">: neither a FlowJo workspace (<Workspace>) nor Gating-ML 2.0 (<gating:Gating-ML>)");
  }
  if (v.starts_with("{")) return Kind::result;
  return Kind::labels;
}

// ---------------------------------------------------------------------------------------------
// One side of the comparison

struct Side {
  std::string path;
  Kind kind = Kind::labels;
  std::string sample;                       // FlowJo sample name
  std::vector<fg::PopulationName> names;
  std::vector<fg::Mask> masks;
  std::optional<fg::GatingStrategy> strategy;  // gate-based sides
  const fcs::Dataset* dataset = nullptr;       // the read this side's coordinates come from
};

// FCS reads by option set ("gatingml", "flowjo", "default"): a strategy's coordinates depend on
// how the file is read, so each kind gets the read its source expects; each is done once.
class FcsReads {
 public:
  explicit FcsReads(const QaOptions& o) : o_(o) {}

  const fcs::Dataset& get(const std::string& key) {
    auto it = files_.find(key);
    if (it == files_.end()) {
      fcs::ReadOptions ro = key == "gatingml" ? fg::gatingml_read_options()
                            : key == "flowjo" ? fg::flowjo_read_options()
                                              : fcs::ReadOptions{};
      ro.dataset = o_.dataset;
      auto file = std::make_unique<fcs::File>(read_input(o_.fcs_file, ro));
      const fcs::Dataset& ds = dataset_numbered(*file, o_.dataset);
      if (files_.empty()) {
        for (const auto& issue : ds.issues)
          if (is_warning(issue)) std::cerr << "flowmrd: warning: " << issue_line(o_.fcs_file, issue) << '\n';
      }
      it = files_.emplace(key, std::move(file)).first;
    }
    return dataset_numbered(*it->second, o_.dataset);
  }
  // Any read (the event count is the same for all).
  const fcs::Dataset& any() { return files_.empty() ? get("default") : dataset_numbered(*files_.begin()->second, o_.dataset); }

 private:
  const QaOptions& o_;
  std::map<std::string, std::unique_ptr<fcs::File>> files_;
};


void load_strategy_side(Side& side, const fg::GatingStrategy& strategy, const fcs::Dataset& ds, const QaOptions& o) {
  fg::GateOptions go;
  go.threads = o.threads;
  fg::GatingResult result;
  try {
    result = fg::apply_gates(strategy, ds, go);
  } catch (const std::exception& e) {
    throw CommandError(ExitCode::input_invalid, side.path + ": cannot be applied to " + o.fcs_file + ": " + e.what());
  }
  for (std::size_t i = 0; i < result.counts().size(); ++i) {
    side.names.push_back({result.counts()[i].name, result.counts()[i].path});
    side.masks.push_back(result.mask(i));
  }
  side.strategy = strategy;
  side.dataset = &ds;
}

void load_labels_side(Side& side, const fs::path& csv, FcsReads& reads,
                      const std::map<std::string, std::string>& name_of_path = {}) {
  fg::Labels labels;
  try {
    labels = fg::read_labels_csv(csv, static_cast<std::size_t>(reads.any().event_count));
  } catch (const fg::LabelsError& e) {
    throw CommandError(ExitCode::input_invalid, e.what());
  }
  for (std::size_t i = 0; i < labels.names.size(); ++i) {
    const auto it = name_of_path.find(labels.names[i]);
    side.names.push_back({it != name_of_path.end() ? it->second : labels.names[i], labels.names[i]});
    side.masks.push_back(std::move(labels.masks[i]));
  }
}

// A flowmrd result: JSON with "schema": "flowmrd.*" and "events_file" (relative to the JSON's
// folder); the events file is a labels CSV. Its "populations" (path -> name) refine the names.
void load_result_side(Side& side, FcsReads& reads, const QaOptions& o) {
  nlohmann::json j;
  try {
    std::ifstream in(side.path, std::ios::binary);
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw CommandError(ExitCode::input_invalid, side.path + ": not valid JSON: " + e.what());
  }
  const auto schema = j.is_object() && j.contains("schema") && j["schema"].is_string() ? j["schema"].get<std::string>()
                                                                                       : std::string{};
  if (!schema.starts_with("flowmrd.")) {
    throw CommandError(ExitCode::input_invalid,
                       side.path + ": JSON without a flowmrd \"schema\" (\"flowmrd.*\"): not a flowmrd result");
  }
  if (!j.contains("events_file") || !j["events_file"].is_string()) {
    throw CommandError(ExitCode::input_invalid,
                       side.path + ": flowmrd result (" + schema +
                           ") without \"events_file\": write it with the per-event CSV (e.g. flowmrd gate --json OUT "
                           "--events FILE.csv)");
  }
  fs::path events = j["events_file"].get<std::string>();
  if (events.is_relative()) events = fs::path(side.path).parent_path() / events;
  if (j.contains("fcs_sha256") && j["fcs_sha256"].is_string() && j["fcs_sha256"].get<std::string>() != file_sha256(o.fcs_file)) {
    std::cerr << "flowmrd: warning: " << side.path << ": computed from a file other than " << o.fcs_file
              << " (SHA-256 differs)\n";
  }
  std::map<std::string, std::string> name_of_path;
  if (j.contains("populations") && j["populations"].is_array()) {
    for (const auto& p : j["populations"]) {
      if (p.is_object() && p.contains("path") && p["path"].is_string() && p.contains("name") && p["name"].is_string())
        name_of_path[p["path"].get<std::string>()] = p["name"].get<std::string>();
    }
  }
  load_labels_side(side, events, reads, name_of_path);
}

Side load_side(const std::string& path, FcsReads& reads, const QaOptions& o) {
  Side side;
  side.path = path;
  side.kind = detect_kind(path);
  switch (side.kind) {
    case Kind::gatingml: {
      fg::GatingStrategy strategy;
      try {
        strategy = fg::read_gatingml(path);
      } catch (const std::exception& e) {
        throw CommandError(ExitCode::input_invalid, e.what());
      }
      load_strategy_side(side, strategy, reads.get("gatingml"), o);
      break;
    }
    case Kind::flowjo: {
      fg::Workspace ws;
      try {
        ws = fg::read_flowjo_workspace(path);
      } catch (const std::exception& e) {
        throw CommandError(ExitCode::input_invalid, e.what());
      }
      const fcs::Dataset& ds = reads.get("flowjo");
      const fg::WorkspaceSample& sample = pick_workspace_sample(ws, path, o.sample, o.fcs_file, ds);
      side.sample = sample.name;
      if (sample.event_count && *sample.event_count != ds.event_count) {
        std::cerr << "flowmrd: warning: " << path << ": sample '" << sample.name << "' has " << *sample.event_count
                  << " events in the workspace, " << o.fcs_file << " has " << ds.event_count << '\n';
      }
      load_strategy_side(side, sample.strategy, ds, o);
      break;
    }
    case Kind::labels: load_labels_side(side, path, reads); break;
    case Kind::result: load_result_side(side, reads, o); break;
  }
  return side;
}

// ---------------------------------------------------------------------------------------------
// Options

std::vector<std::pair<std::string, std::string>> parse_maps(const std::vector<std::string>& maps) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& m : maps) {
    const auto eq = m.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == m.size()) {
      throw CommandError(ExitCode::usage, "--map '" + m + "': expected REF=TEST (reference and test population names)");
    }
    out.emplace_back(m.substr(0, eq), m.substr(eq + 1));
  }
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool looks_like_mrd(const fg::PopulationName& p) {
  const std::string n = lower(fg::last_path_component(p.path.empty() ? p.name : p.path)) + " " + lower(p.name);
  return n.find("blast") != std::string::npos || n.find("mrd") != std::string::npos;
}

bool is_named(const fg::PopulationName& p, const std::string& key) { return p.name == key || p.path == key; }

// ---------------------------------------------------------------------------------------------
// Plot coordinates

// An axis source: a gate dimension of a side's strategy, or a raw channel.
struct AxisSource {
  std::string label;
  const Side* side = nullptr;  // with `dimension`
  std::optional<fg::Dimension> dimension;
  std::string channel;  // raw channel otherwise
};

std::string channel_label(const fcs::Channel& c) {
  return c.marker && !c.marker->empty() && *c.marker != c.name ? c.name + " (" + *c.marker + ")" : c.name;
}

// --axes names: $PnN first, then $PnS.
AxisSource channel_axis(const fcs::Dataset& ds, const std::string& key) {
  for (const auto& c : ds.channels)
    if (c.name == key) return {channel_label(c), nullptr, std::nullopt, c.name};
  for (const auto& c : ds.channels)
    if (c.marker && *c.marker == key) return {channel_label(c), nullptr, std::nullopt, c.name};
  std::string known;
  for (const auto& c : ds.channels) known += (known.empty() ? "" : ", ") + c.name;
  throw CommandError(ExitCode::usage, "--axes: no channel '" + key + "' ($PnN or $PnS); channels: " + known);
}

std::pair<AxisSource, AxisSource> default_axes(const fcs::Dataset& ds) {
  for (const auto& [x, y] : {std::pair{"FSC-A", "SSC-A"}, std::pair{"FSC-H", "SSC-H"}}) {
    if (ds.find_channel(x) >= 0 && ds.find_channel(y) >= 0) return {channel_axis(ds, x), channel_axis(ds, y)};
  }
  if (ds.channels.empty()) throw CommandError(ExitCode::input_invalid, "the FCS data set has no channels to plot");
  const auto& first = ds.channels.front();
  const auto& second = ds.channels.size() > 1 ? ds.channels[1] : first;
  return {channel_axis(ds, first.name), channel_axis(ds, second.name)};
}

// The gate that defines population `index` of `side`, walking up to the parent for gates
// without dimensions (boolean); nullptr when none.
const fg::Population* drawable_population(const Side& side, std::size_t index) {
  if (!side.strategy) return nullptr;
  const fg::Population* p = &side.strategy->populations.at(index);
  for (std::size_t guard = 0; p != nullptr && guard < side.strategy->populations.size(); ++guard) {
    if (!fg::gate_dimensions(p->gate).empty()) return p;
    p = p->parent ? side.strategy->find(*p->parent) : nullptr;
  }
  return nullptr;
}

struct PlotPlan {
  AxisSource x, y;
  const fg::Population* gate = nullptr;  // drawn when set
  const Side* gate_side = nullptr;
  std::optional<std::size_t> parent_index;  // background = parent population on gate_side
};

PlotPlan plan_plot(const Side& ref, std::size_t ref_index, const Side& test, std::size_t test_index,
                   const fcs::Dataset& plot_ds, const std::optional<std::pair<AxisSource, AxisSource>>& forced) {
  PlotPlan plan;
  const Side* side = &ref;
  std::size_t index = ref_index;
  const fg::Population* pop = drawable_population(ref, ref_index);
  if (pop == nullptr && !ref.strategy) {
    // Not a gate in the reference (labels): the test's gate, when it has one, shows the geometry.
    pop = drawable_population(test, test_index);
    side = &test;
    index = test_index;
  }
  if (pop != nullptr) {
    plan.gate = pop;
    plan.gate_side = side;
    const auto& own = side->strategy->populations.at(index);
    if (own.parent) plan.parent_index = side->strategy->index_of(*own.parent);
  }
  if (forced) {
    plan.x = forced->first;
    plan.y = forced->second;
    return plan;
  }
  const auto fallback = default_axes(plot_ds);
  if (pop == nullptr) {
    plan.x = fallback.first;
    plan.y = fallback.second;
    return plan;
  }
  const std::vector<fg::Dimension> dims = fg::gate_dimensions(pop->gate);
  plan.x = {dims[0].label(), side, dims[0], {}};
  if (dims.size() > 1) {
    plan.y = {dims[1].label(), side, dims[1], {}};
  } else {
    // A range gate: its dimension against a scatter channel other than its own.
    plan.y = dims[0].channel == fallback.second.channel ? fallback.first : fallback.second;
  }
  return plan;
}

class Coordinates {
 public:
  Coordinates(const fcs::Dataset& plot_ds, unsigned threads) : plot_ds_(plot_ds), threads_(threads) {}

  const std::vector<double>& values(const AxisSource& a) {
    const std::string key = a.dimension ? a.side->path + "\n" + a.label : "\n" + a.channel;
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    std::vector<double> v;
    if (a.dimension) {
      fg::GateOptions go;
      go.threads = threads_;
      try {
        v = fg::dimension_values(*a.side->strategy, *a.dimension, *a.side->dataset, go);
      } catch (const std::exception& e) {
        throw CommandError(ExitCode::input_invalid, a.side->path + ": dimension " + a.label + ": " + e.what());
      }
    } else {
      v = plot_ds_.events.column_as_double(static_cast<std::size_t>(plot_ds_.find_channel(a.channel)));
    }
    return cache_.emplace(key, std::move(v)).first->second;
  }

 private:
  const fcs::Dataset& plot_ds_;
  unsigned threads_;
  std::map<std::string, std::vector<double>> cache_;
};

// ---------------------------------------------------------------------------------------------
// Output

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

void print_table(const fp::QaReport& report) {
  const auto source = [](const fp::QaSource& s) {
    return s.kind + " " + s.path + (s.sample.empty() ? "" : " (sample " + s.sample + ")");
  };
  std::cout << report.fcs_file << ": " << report.events << " events\n  reference: " << source(report.reference)
            << "\n  test:      " << source(report.test) << "\n";
  using A = TextTable::Align;
  TextTable table({"population", "test", "reference", "test events", "difference", "diff %", "precision", "recall",
                   "F1", "MRD % ref", "MRD % test", "MRD call"},
                  {A::left, A::left, A::right, A::right, A::right, A::right, A::right, A::right, A::right, A::right,
                   A::right, A::left});
  for (const fp::QaPopulation& p : report.populations) {
    const auto& a = p.agreement;
    std::vector<std::string> row = {p.reference_path,
                                    p.test_name,
                                    std::to_string(a.reference_events),
                                    std::to_string(a.test_events),
                                    (a.difference_events > 0 ? "+" : "") + std::to_string(a.difference_events),
                                    fixed(a.difference_percent, 2),
                                    fixed(a.precision, 4),
                                    fixed(a.recall, 4),
                                    fixed(a.f1, 4)};
    if (p.mrd) {
      row.push_back(fixed(p.mrd->reference_percent, 4));
      row.push_back(fixed(p.mrd->test_percent, 4));
      row.push_back(std::string{p.mrd->reference_positive ? "pos" : "neg"} + "/" +
                    (p.mrd->test_positive ? "pos" : "neg") + (p.mrd->calls_agree ? " agree" : " DISAGREE"));
    }
    table.add_row(row);
  }
  std::string text;
  table.render(text, "  ");
  std::cout << text;
  const auto list = [](const char* title, const std::vector<std::string>& v) {
    if (v.empty()) return;
    std::cout << "  " << title << " (" << v.size() << "): ";
    for (std::size_t i = 0; i < v.size(); ++i) std::cout << (i ? ", " : "") << v[i];
    std::cout << '\n';
  };
  list("reference only, not compared", report.unmatched_reference);
  list("test only, not compared", report.unmatched_test);
}

void write_text(const std::string& path, const std::string& text) {
  OutputSink sink(path);
  sink.write(text);
  sink.finish();
}

// ---------------------------------------------------------------------------------------------

int run(const QaOptions& o) {
  if (!(o.threshold >= 0.0 && o.threshold <= 100.0)) {
    throw CommandError(ExitCode::usage, "--threshold must be a percentage between 0 and 100");
  }
  const auto explicit_map = parse_maps(o.maps);
  std::optional<std::pair<std::string, std::string>> axes_names;
  if (!o.axes.empty()) {
    const auto comma = o.axes.find(',');
    if (comma == std::string::npos || comma == 0 || comma + 1 == o.axes.size()) {
      throw CommandError(ExitCode::usage, "--axes '" + o.axes + "': expected X,Y (channel names)");
    }
    axes_names = std::pair{o.axes.substr(0, comma), o.axes.substr(comma + 1)};
  }

  FcsReads reads(o);
  // Detect both kinds before reading anything heavy, so a bad file fails fast.
  (void)detect_kind(o.reference);
  (void)detect_kind(o.test);
  const Side ref = load_side(o.reference, reads, o);
  const Side test = load_side(o.test, reads, o);
  const std::size_t events = ref.masks.empty() ? static_cast<std::size_t>(reads.any().event_count) : ref.masks.front().size();

  fg::PopulationMatching matching;
  try {
    matching = fg::match_populations(ref.names, test.names, explicit_map);
  } catch (const fg::MatchError& e) {
    throw CommandError(ExitCode::usage, e.what());
  }
  const auto list_names = [](const std::vector<fg::PopulationName>& v) {
    std::string out;
    for (const auto& p : v) out += (out.empty() ? "" : ", ") + p.path;
    return out.empty() ? std::string{"none"} : out;
  };
  if (matching.pairs.empty()) {
    throw CommandError(ExitCode::input_invalid,
                       "no population of the reference matches one of the test by name or path (reference: " +
                           list_names(ref.names) + "; test: " + list_names(test.names) +
                           "); pair them with --map REF=TEST");
  }

  // MRD populations and denominator.
  std::vector<bool> is_mrd(matching.pairs.size(), false);
  for (const std::string& m : o.mrd) {
    bool found = false;
    for (std::size_t i = 0; i < matching.pairs.size(); ++i) {
      if (is_named(ref.names[matching.pairs[i].reference], m) || is_named(test.names[matching.pairs[i].test], m)) {
        is_mrd[i] = found = true;
      }
    }
    if (!found) {
      throw CommandError(ExitCode::usage, "--mrd '" + m + "': not a compared population (reference: " +
                                              list_names(ref.names) + ")");
    }
  }
  if (o.mrd.empty()) {
    for (std::size_t i = 0; i < matching.pairs.size(); ++i)
      is_mrd[i] = looks_like_mrd(ref.names[matching.pairs[i].reference]) || looks_like_mrd(test.names[matching.pairs[i].test]);
  }
  std::size_t ref_denominator = events, test_denominator = events;
  if (!o.denominator.empty()) {
    std::optional<std::size_t> r;
    for (std::size_t i = 0; i < ref.names.size() && !r; ++i)
      if (is_named(ref.names[i], o.denominator)) r = i;
    if (!r) {
      throw CommandError(ExitCode::usage, "--denominator '" + o.denominator + "': no reference population of that name (" +
                                              list_names(ref.names) + ")");
    }
    ref_denominator = test_denominator = ref.masks[*r].count();
    for (const auto& pair : matching.pairs)
      if (pair.reference == *r) test_denominator = test.masks[pair.test].count();
  }

  fp::QaReport report;
  report.software_version = FLOWMRD_VERSION;
  report.fcs_file = o.fcs_file;
  report.events = events;
  report.reference = {o.reference, kind_name(ref.kind), ref.sample};
  report.test = {o.test, kind_name(test.kind), test.sample};
  report.threshold_percent = o.threshold;
  report.denominator = o.denominator.empty() ? "all events" : o.denominator;
  for (const std::size_t r : matching.unmatched_reference) report.unmatched_reference.push_back(ref.names[r].path);
  for (const std::size_t t : matching.unmatched_test) report.unmatched_test.push_back(test.names[t].path);

  const bool need_coordinates = !o.html_out.empty() || !o.disagreements_out.empty();
  // Raw channels come from the reference's own read when it has one, else the default read.
  const fcs::Dataset& plot_ds = ref.dataset != nullptr ? *ref.dataset : test.dataset != nullptr ? *test.dataset : reads.any();
  std::optional<std::pair<AxisSource, AxisSource>> forced;
  if (axes_names) forced = std::pair{channel_axis(plot_ds, axes_names->first), channel_axis(plot_ds, axes_names->second)};
  Coordinates coordinates(plot_ds, o.threads);
  std::vector<fp::DisagreementSet> disagreements;

  for (std::size_t i = 0; i < matching.pairs.size(); ++i) {
    const auto& pair = matching.pairs[i];
    fp::QaPopulation p;
    p.name = ref.names[pair.reference].name;
    p.reference_path = ref.names[pair.reference].path;
    p.test_name = test.names[pair.test].path;
    p.match = pair.rule;
    const fg::Mask& rm = ref.masks[pair.reference];
    const fg::Mask& tm = test.masks[pair.test];
    p.agreement = fg::compare_masks(rm, tm);
    if (is_mrd[i]) {
      p.mrd = fp::compare_mrd(p.agreement.reference_events, ref_denominator, p.agreement.test_events, test_denominator,
                              o.threshold);
    }
    if (need_coordinates) {
      const PlotPlan plan = plan_plot(ref, pair.reference, test, pair.test, plot_ds, forced);
      p.x_axis = plan.x.label;
      p.y_axis = plan.y.label;
      const std::vector<double>& xs = coordinates.values(plan.x);
      const std::vector<double>& ys = coordinates.values(plan.y);
      if (!o.disagreements_out.empty()) {
        disagreements.push_back({p.reference_path, &rm, &tm, p.x_axis, p.y_axis, xs, ys});
      }
      if (!o.html_out.empty()) {
        const fg::Mask* background = nullptr;
        if (plan.parent_index) background = &plan.gate_side->masks.at(*plan.parent_index);
        fp::DisagreementPlot dp;
        dp.title = p.reference_path;
        dp.x = fp::axis_for(p.x_axis, xs, background);
        dp.y = fp::axis_for(p.y_axis, ys, background);
        dp.background = background;
        dp.reference = &rm;
        dp.test = &tm;
        if (plan.gate != nullptr && plan.x.dimension && plan.y.dimension) {
          dp.gate = fp::gate_shape(plan.gate->gate, *plan.x.dimension, *plan.y.dimension);
        } else if (plan.gate != nullptr && plan.x.dimension) {
          dp.gate = fp::gate_shape(plan.gate->gate, *plan.x.dimension, fg::Dimension{});
        }
        if (dp.gate) {
          dp.gate_label = plan.gate->name;
          fp::include_shape_in_axes(dp.x, dp.y, *dp.gate);
        }
        try {
          p.plot_png = fp::render_disagreement_plot(xs, ys, dp);
        } catch (const std::invalid_argument& e) {
          // A degenerate gate (e.g. a singular ellipse) must not lose the report: plot without it.
          std::cerr << "flowmrd: warning: " << p.reference_path << ": plot without the gate outline: " << e.what()
                    << '\n';
          dp.gate.reset();
          p.plot_png = fp::render_disagreement_plot(xs, ys, dp);
        }
      }
    }
    report.populations.push_back(std::move(p));
  }

  print_table(report);
  if (!o.json_out.empty()) write_text(o.json_out, fp::qa_json(report));
  if (!o.html_out.empty()) write_text(o.html_out, fp::qa_html(report));
  if (!o.disagreements_out.empty()) {
    std::ostringstream csv;
    fp::write_disagreements_csv(csv, disagreements);
    write_text(o.disagreements_out, csv.str());
  }
  return to_int(ExitCode::ok);
}

}  // namespace

std::function<int()> add_qa_command(CLI::App& app) {
  auto o = std::make_shared<QaOptions>();
  CLI::App* cmd = app.add_subcommand(
      "qa", "Compare a reference gating with a test gating of the same FCS file: counts, event-level precision/"
            "recall/F1 and MRD calls per population; JSON, HTML with plots, disagreeing events (docs/qa.md)");
  // No ExistingFile checks: a missing input is an input error (exit 3), not a usage error.
  cmd->add_option("--reference", o->reference,
                  "Reference gating: FlowJo workspace, Gating-ML 2.0 file, labels CSV or flowmrd result JSON")
      ->type_name("REF")
      ->required();
  cmd->add_option("--test", o->test, "Test gating (same kinds as --reference)")->type_name("TEST")->required();
  cmd->add_option("FCS_FILE", o->fcs_file, "The FCS file both gatings describe")->required();
  cmd->add_option("--dataset", o->dataset, "Data set of the FCS file (1-based)")->type_name("N")->check(CLI::PositiveNumber);
  cmd->add_option("--sample", o->sample,
                  "FlowJo workspace sample (name, id or file name); default: the sample matching the FCS file's name "
                  "or $FIL, or the only sample")
      ->type_name("NAME");
  cmd->add_option("--map", o->maps, "Pair a reference population with a test population, repeatable")
      ->type_name("REF=TEST")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--mrd", o->mrd,
                  "Population whose MRD % is compared, repeatable; default: names containing 'blast' or 'MRD'")
      ->type_name("NAME")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--denominator", o->denominator, "Reference population the MRD % is relative to; default: all events")
      ->type_name("NAME");
  cmd->add_option("--threshold", o->threshold, "MRD positivity threshold, % (positive when MRD % >= threshold)")
      ->type_name("PERCENT")
      ->capture_default_str();
  cmd->add_option("--axes", o->axes, "Plot coordinates for every population: two channels ($PnN or $PnS)")
      ->type_name("X,Y");
  cmd->add_option("--json", o->json_out, "Write the comparison as JSON (schema flowmrd.qa/1)")->type_name("OUT");
  cmd->add_option("--html", o->html_out, "Write a self-contained HTML report with plots of the disagreeing events")
      ->type_name("OUT");
  cmd->add_option("--disagreements", o->disagreements_out,
                  "Write the disagreeing events as CSV (event, population, reference, test, coordinates)")
      ->type_name("FILE.csv");
  cmd->add_option("--threads", o->threads, "Worker threads for gating (0 = all cores)")->type_name("N");
  return [o]() -> int { return run(*o); };
}

}  // namespace flowmrd::cli
