// SPDX-License-Identifier: Apache-2.0
// `flowmrd reference build` and `flowmrd reference show`. Building loads every normal tube the
// way `analyze` does (same panels, same compensation) so the reference describes exactly what
// the analysis will compare against; the fitting is pipeline::build_reference.
#include "cmd_reference.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cmd_analyze.hpp"
#include "command_error.hpp"
#include "exit_codes.hpp"
#include "flowmrd/pipeline/analysis.hpp"
#include "flowmrd/pipeline/reference.hpp"
#include "text_table.hpp"

namespace flowmrd::cli {

namespace {

namespace fs = std::filesystem;
namespace fp = flowmrd::pipeline;

struct BuildOptions {
  std::vector<std::string> inputs;
  std::string output;
  std::string name = "custom";
  std::string version;
  std::string description;
  std::string panel;
  unsigned threads = 0;
};

struct ShowOptions {
  std::string file;
};

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Every model: compartment, dimensions, how much data it rests on, and each component with its
// label, weight and mean (model scale, about decades) so a reviewer can see what "normal" is.
void print_reference(const fp::NormalReference& r, const std::string& file) {
  std::string out;
  out += "reference:   " + r.name + (r.version.empty() ? "" : " v" + r.version) + "\n";
  if (!file.empty()) out += "file:        " + file + "\n";
  if (!r.sha256.empty()) out += "sha256:      " + r.sha256 + "\n";
  if (!r.description.empty()) out += "description: " + r.description + "\n";
  if (!r.created_by.empty()) out += "built by:    " + r.created_by + "\n";
  out += "sources:     " + std::to_string(r.sources.size()) + "\n";
  for (const std::string& s : r.sources) out += "  " + s + "\n";
  out += "models:      " + std::to_string(r.models.size()) + "\n";
  for (const fp::ReferenceModel& m : r.models) {
    std::string dims;
    for (const std::string& d : m.dimensions) dims += (dims.empty() ? "" : ", ") + d;
    out += "\n  " + fp::to_string(m.compartment) + " over " + dims + "\n";
    out += "    " + fp::format_count(m.events) + " events from " + std::to_string(m.files) + " file(s), " +
           std::to_string(m.mixture.size()) + " component(s); means in the model scale\n";
    std::vector<std::string> header = {"#", "label", "weight"};
    std::vector<TextTable::Align> align = {TextTable::Align::right, TextTable::Align::left, TextTable::Align::right};
    for (const std::string& d : m.dimensions) {
      header.push_back(d);
      align.push_back(TextTable::Align::right);
    }
    TextTable table(header, align);
    for (std::size_t k = 0; k < m.mixture.size(); ++k) {
      const auto& c = m.mixture.component(k);
      std::vector<std::string> row = {std::to_string(k + 1), k < m.component_labels.size() ? m.component_labels[k] : "-",
                                      fixed(c.weight, 3)};
      for (const double v : c.mean) row.push_back(fixed(v, 2));
      table.add_row(std::move(row));
    }
    table.render(out, "    ");
  }
  std::cout << out;
  std::cout.flush();
  if (!std::cout) throw CommandError(ExitCode::output_failed, "<stdout>: write failed");
}

int run_build(const BuildOptions& o) {
  const std::vector<panels::Panel> panel_list = panels_for_option(o.panel);
  for (const std::string& in : o.inputs) {
    std::error_code ec;
    if (fs::equivalent(in, o.output, ec)) throw CommandError(ExitCode::usage, o.output + ": would overwrite the input " + in);
  }
  std::vector<fp::Tube> tubes;
  tubes.reserve(o.inputs.size());
  for (const std::string& path : o.inputs) tubes.push_back(load_tube_or_fail(path, panel_list, o.threads));

  fp::ReferenceBuildOptions bo;
  bo.name = o.name;
  bo.version = o.version;
  bo.description = o.description;
  bo.created_by = std::string{"flowmrd "} + FLOWMRD_VERSION;
  bo.threads = o.threads;
  fp::NormalReference reference;
  try {
    reference = fp::build_reference(tubes, bo);
  } catch (const fp::AnalysisError& e) {
    throw analysis_error(e);
  }
  write_atomically(o.output, fp::reference_to_json(reference));
  if (o.output != "-") {
    // Show it as `reference show` would, with the hash of the file just written.
    try {
      reference = fp::load_reference(o.output);
    } catch (const fp::ReferenceError& e) {
      throw CommandError(ExitCode::internal_error, std::string{"the reference just written does not read back: "} + e.what());
    }
    print_reference(reference, o.output);
  }
  return to_int(ExitCode::ok);
}

int run_show(const ShowOptions& o) {
  const fs::path path = o.file.empty() ? fp::default_reference_path() : fs::path(o.file);
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw CommandError(ExitCode::input_invalid, path.string() + ": is a directory");
  if (!fs::exists(path, ec)) {
    throw CommandError(ExitCode::input_invalid,
                       path.string() + (o.file.empty() ? ": the default reference is missing (set FLOWMRD_DATA or build "
                                                         "one with 'flowmrd reference build')"
                                                       : ": no such file"));
  }
  fp::NormalReference reference;
  try {
    reference = fp::load_reference(path);
  } catch (const fp::ReferenceError& e) {
    throw CommandError(ExitCode::input_invalid, e.what());
  }
  print_reference(reference, path.string());
  return to_int(ExitCode::ok);
}

}  // namespace

std::function<int()> add_reference_command(CLI::App& app) {
  auto build = std::make_shared<BuildOptions>();
  auto show = std::make_shared<ShowOptions>();
  CLI::App* cmd = app.add_subcommand(
      "reference", "Build or show a normal-marrow reference: the model of normal maturation blasts are compared with");
  cmd->require_subcommand(1);

  CLI::App* b = cmd->add_subcommand("build", "Build a reference from FCS files of normal or regenerating marrow (no "
                                             "leukemia) and write it as JSON (schema flowmrd.reference/1)");
  b->add_option("NORMAL", build->inputs, "FCS files of normal or regenerating marrow")->required()->type_name("NORMAL.fcs");
  b->add_option("-o,--output", build->output, "Output reference JSON ('-' = standard output)")
      ->required()
      ->type_name("OUT.json");
  b->add_option("--name", build->name, "Reference name, recorded in every result")->capture_default_str();
  b->add_option("--version", build->version, "Reference version, recorded in every result")->type_name("V");
  b->add_option("--description", build->description, "Free text")->type_name("TEXT");
  b->add_option("--panel", build->panel, "Panel name or file; default: the best-fitting shipped panel per file")
      ->type_name("NAME|FILE");
  b->add_option("--threads", build->threads, "Worker threads (0 = all cores); results are identical for any value")
      ->type_name("N");

  CLI::App* s = cmd->add_subcommand("show", "Summarise a reference: models, dimensions, components, events, files");
  s->add_option("FILE", show->file, "Reference JSON; default: the shipped default reference");

  return [cmd, b, s, build, show]() -> int {
    if (cmd->got_subcommand(b)) return run_build(*build);
    if (cmd->got_subcommand(s)) return run_show(*show);
    throw CommandError(ExitCode::usage, "reference: give 'build' or 'show'");
  };
}

}  // namespace flowmrd::cli
