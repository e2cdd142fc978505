// SPDX-License-Identifier: Apache-2.0
// `flowmrd gate`: read a gating strategy (Gating-ML 2.0 or a FlowJo workspace sample), read the
// FCS file the way that source expects, apply the gates, print the counts and optionally write
// membership files, a per-event CSV and a JSON summary.
#include "cmd_gate.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command_error.hpp"
#include "exit_codes.hpp"
#include "fcs/reader.hpp"
#include "fcs/sha256.hpp"
#include "flowmrd/gating/evaluate.hpp"
#include "flowmrd/gating/flowjo.hpp"
#include "flowmrd/gating/gatingml.hpp"
#include "json_issue.hpp"
#include "number_format.hpp"
#include "output_sink.hpp"
#include "read_input.hpp"
#include "text_table.hpp"

namespace flowmrd::cli {

namespace {

namespace fs = std::filesystem;
using namespace flowmrd::gating;

struct GateOptionsCli {
  std::string gatingml;
  std::string flowjo;
  std::string sample;
  std::string fcs_file;
  int dataset = 1;
  std::string membership_dir;
  std::string json_out;
  std::string events_out;
  unsigned threads = 0;
  bool fast = false;
};

// The strategy to apply and where it came from.
struct Source {
  std::string kind;  // "gatingml" or "flowjo"
  std::string path;
  std::optional<WorkspaceSample> sample;  // FlowJo only
  GatingStrategy strategy;
  fcs::ReadOptions read;
};

void write_membership(const GatingResult& r, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw CommandError(ExitCode::output_failed, dir + ": cannot create directory: " + ec.message());
  for (std::size_t i = 0; i < r.counts().size(); ++i) {
    // Ids become file names: refuse those that would escape the directory.
    const std::string& id = r.counts()[i].id;
    if (id.find('/') != std::string::npos || id == "." || id == "..") {
      throw CommandError(ExitCode::output_failed, "population id '" + id + "' cannot be a file name");
    }
    OutputSink sink((fs::path(dir) / (id + ".txt")).string());
    const Mask& m = r.mask(i);
    for (std::size_t e = 0; e < m.size(); ++e) {
      char* p = sink.reserve(2);
      p[0] = m.test(e) ? '1' : '0';
      p[1] = '\n';
      sink.commit(p + 2);
    }
    sink.finish();
  }
}

// One row per event, one 0/1 column per population headed by its path: a labels CSV that
// `flowmrd qa` reads back.
void write_events(const GatingResult& r, const std::string& path) {
  OutputSink sink(path);
  for (std::size_t i = 0; i < r.counts().size(); ++i) {
    if (i) sink.write(',');
    sink.write_field(r.counts()[i].path);
  }
  sink.write('\n');
  const std::size_t k = r.counts().size();
  for (std::size_t e = 0; e < r.events(); ++e) {
    char* p = sink.reserve(2 * k + 1);
    for (std::size_t i = 0; i < k; ++i) {
      *p++ = r.mask(i).test(e) ? '1' : '0';
      *p++ = i + 1 < k ? ',' : '\n';
    }
    if (k == 0) *p++ = '\n';
    sink.commit(p);
  }
  sink.finish();
}

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

int run(const GateOptionsCli& o) {
  Source src;
  std::optional<Workspace> ws;
  try {
    if (!o.gatingml.empty()) {
      src.kind = "gatingml";
      src.path = o.gatingml;
      src.strategy = read_gatingml(o.gatingml);
      src.read = gatingml_read_options();
    } else {
      src.kind = "flowjo";
      src.path = o.flowjo;
      ws = read_flowjo_workspace(o.flowjo);
      src.read = flowjo_read_options();
    }
  } catch (const GatingError& e) {
    throw CommandError(ExitCode::input_invalid, e.what());
  } catch (const std::exception& e) {
    throw CommandError(ExitCode::input_invalid, src.path + ": " + e.what());
  }
  src.read.dataset = o.dataset;
  const fcs::File file = read_input(o.fcs_file, src.read);
  const fcs::Dataset& ds = dataset_numbered(file, o.dataset);
  for (const auto& issue : ds.issues) {
    if (is_warning(issue)) std::cerr << "flowmrd: warning: " << issue_line(o.fcs_file, issue) << '\n';
  }
  if (ws) {
    src.sample = pick_workspace_sample(*ws, o.flowjo, o.sample, o.fcs_file, ds);
    src.strategy = src.sample->strategy;
  }

  GateOptions go;
  go.threads = o.threads;
  go.precision = o.fast ? Precision::fast : Precision::exact;
  GatingResult result;
  try {
    result = apply_gates(src.strategy, ds, go);
  } catch (const std::exception& e) {
    throw CommandError(ExitCode::input_invalid, o.fcs_file + ": " + e.what());
  }
  std::vector<FlowJoCountRow> flowjo_rows;
  if (src.sample) flowjo_rows = compare_flowjo_counts(*src.sample, result);

  // Text table on standard output.
  std::vector<std::string> header = {"population", "gate", "events", "% parent", "% total"};
  std::vector<TextTable::Align> align = {TextTable::Align::left, TextTable::Align::left, TextTable::Align::right,
                                         TextTable::Align::right, TextTable::Align::right};
  if (src.sample) {
    header.insert(header.end(), {"FlowJo", "difference"});
    align.insert(align.end(), {TextTable::Align::right, TextTable::Align::right});
  }
  TextTable table(header, align);
  for (std::size_t i = 0; i < result.counts().size(); ++i) {
    const auto& c = result.counts()[i];
    std::vector<std::string> row = {c.path, gate_kind_name(src.strategy.populations[i].gate), std::to_string(c.events),
                                    percent(c.percent_of_parent), percent(c.percent_of_total)};
    if (src.sample) {
      const auto& f = flowjo_rows.at(i);
      row.push_back(f.flowjo ? std::to_string(*f.flowjo) : "-");
      row.push_back(f.flowjo ? std::to_string(f.difference) : "-");
    }
    table.add_row(row);
  }
  std::cout << o.fcs_file << ": " << result.events() << " events, " << result.counts().size() << " populations ("
            << src.kind << " " << src.path << (src.sample ? ", sample " + src.sample->name : std::string{}) << ")\n";
  std::string text;
  table.render(text, "  ");
  std::cout << text;

  if (!o.membership_dir.empty()) write_membership(result, o.membership_dir);
  if (!o.events_out.empty()) write_events(result, o.events_out);
  if (!o.json_out.empty()) {
    nlohmann::ordered_json j;
    j["schema"] = "flowmrd.gating/1";
    j["fcs_file"] = o.fcs_file;
    j["fcs_sha256"] = file_sha256(o.fcs_file);
    j["dataset"] = o.dataset;
    j["source"] = {{"kind", src.kind}, {"path", src.path}};
    if (src.sample) j["source"]["sample"] = src.sample->name;
    j["precision"] = o.fast ? "fast" : "exact";
    j["events"] = result.events();
    if (!o.events_out.empty()) {
      // Relative to the JSON's folder when possible, so the pair can be moved together.
      std::error_code ec;
      const fs::path rel = fs::relative(fs::absolute(o.events_out), fs::absolute(o.json_out).parent_path(), ec);
      j["events_file"] = ec || rel.empty() ? fs::absolute(o.events_out).string() : rel.string();
    }
    auto& pops = j["populations"] = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < result.counts().size(); ++i) {
      const auto& c = result.counts()[i];
      nlohmann::ordered_json p;
      p["id"] = c.id;
      p["name"] = c.name;
      p["path"] = c.path;
      p["parent"] = c.parent ? nlohmann::ordered_json(*c.parent) : nlohmann::ordered_json(nullptr);
      p["gate"] = gate_kind_name(src.strategy.populations[i].gate);
      p["events"] = c.events;
      p["percent_of_parent"] = c.percent_of_parent;
      p["percent_of_total"] = c.percent_of_total;
      if (src.sample) {
        const auto& f = flowjo_rows.at(i);
        p["flowjo_events"] = f.flowjo ? nlohmann::ordered_json(*f.flowjo) : nlohmann::ordered_json(nullptr);
        p["difference"] = f.difference;
        p["within_tolerance"] = f.within_tolerance;
        if (!f.explanation.empty()) p["explanation"] = f.explanation;
      }
      pops.push_back(std::move(p));
    }
    OutputSink sink(o.json_out);
    sink.write(j.dump(2));
    sink.write('\n');
    sink.finish();
  }
  return to_int(ExitCode::ok);
}

}  // namespace

std::function<int()> add_gate_command(CLI::App& app) {
  auto o = std::make_shared<GateOptionsCli>();
  CLI::App* cmd = app.add_subcommand(
      "gate", "Apply a Gating-ML 2.0 file or a FlowJo workspace's gates to an FCS file: counts per population, "
              "membership files, JSON (docs/gating.md)");
  auto* gml = cmd->add_option("--gatingml", o->gatingml, "Gating-ML 2.0 file")->type_name("FILE");
  auto* fj = cmd->add_option("--flowjo", o->flowjo, "FlowJo 10 workspace (.wsp)")->type_name("FILE");
  gml->excludes(fj);
  fj->excludes(gml);
  cmd->add_option("--sample", o->sample,
                  "Workspace sample (name, id or file name); default: the one sample, or the sample matching the "
                  "FCS file's name or $FIL")
      ->type_name("NAME")
      ->needs(fj);
  cmd->add_option("FCS_FILE", o->fcs_file, "FCS file to gate")->required();
  cmd->add_option("--dataset", o->dataset, "Data set to gate (1-based)")->type_name("N")->check(CLI::PositiveNumber);
  cmd->add_option("--membership", o->membership_dir,
                  "Write DIR/<population id>.txt: one 0/1 line per event in file order")
      ->type_name("DIR");
  cmd->add_option("--events", o->events_out,
                  "Write a CSV with one row per event and one 0/1 column per population (header: paths)")
      ->type_name("FILE.csv");
  cmd->add_option("--json", o->json_out, "Write counts and provenance as JSON (schema flowmrd.gating/1)")
      ->type_name("OUT");
  cmd->add_option("--threads", o->threads, "Worker threads (0 = all cores); results are identical for any value")
      ->type_name("N");
  cmd->add_flag("--fast", o->fast,
                "Table-based logicle/hyperlog/biex (error < 1e-6 transformed units) instead of the exact functions");
  return [o, cmd]() -> int {
    if (o->gatingml.empty() && o->flowjo.empty()) {
      throw CommandError(ExitCode::usage, "gate: give --gatingml FILE or --flowjo FILE");
    }
    (void)cmd;
    return run(*o);
  };
}

}  // namespace flowmrd::cli
