// SPDX-License-Identifier: Apache-2.0
// flowmrd: command-line entry point. Parses options (CLI11), runs one subcommand and turns every
// failure into a `flowmrd: error: ...` line on stderr and a documented exit code
// (exit_codes.hpp, docs/exit-codes.md).
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include <CLI/CLI.hpp>

#include "cmd_analyze.hpp"
#include "cmd_batch.hpp"
#include "cmd_db.hpp"
#include "cmd_export.hpp"
#include "cmd_gate.hpp"
#include "cmd_info.hpp"
#include "cmd_qa.hpp"
#include "cmd_reference.hpp"
#include "cmd_report.hpp"
#include "cmd_simulate.hpp"
#include "cmd_transform.hpp"
#include "command_error.hpp"
#include "exit_codes.hpp"

namespace {

using flowmrd::cli::CommandError;
using flowmrd::cli::ExitCode;
using flowmrd::cli::to_int;

constexpr const char* exit_code_footer =
    "Exit codes: 0 ok, 1 internal error, 2 usage error, 3 input unreadable or invalid,\n"
    "4 unsupported FCS feature, 5 output could not be written, 6 analysis failed (docs/exit-codes.md).";

// CLI::PositiveNumber prints its double range in full on failure; data set numbers deserve a
// plain message.
CLI::Validator data_set_number() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        int n = 0;
        if (!CLI::detail::lexical_cast(value, n) || n < 1) {
          return "expected a data set number (1, 2, ...), got '" + value + "'";
        }
        return {};
      },
      "");
}

void add_info_command(CLI::App& app, flowmrd::cli::InfoOptions& options) {
  CLI::App* info = app.add_subcommand("info", "Show what an FCS file holds: data sets, channels, "
                                               "spillover matrices, issues and repairs");
  // No ExistingFile check: a missing input is an input error (exit 3), not a usage error.
  info->add_option("FILE", options.file, "FCS file to describe")->required();
  info->add_option("--dataset", options.dataset, "Show only data set N (1-based); default: all")
      ->type_name("N")
      ->check(data_set_number());
  info->add_flag("--json", options.json, "Print one JSON object (schema flowmrd.info/1, docs/cli.md)");
  info->add_flag("--stats", options.stats,
                 "Read the events and add per-channel min, max, mean, negative and off-scale counts");
  info->add_flag("--strict", options.strict, "Apply no repairs: any defect of the file is an error");
}

void add_export_command(CLI::App& app, flowmrd::cli::ExportOptions& options) {
  CLI::App* exp = app.add_subcommand(
      "export", "Write the events of one data set as CSV (default), TSV or FCS 3.1; values as "
                "flowCore read.FCS gives them by default");
  exp->add_option("FILE", options.file, "FCS file to read")->required();
  exp->add_option("--dataset", options.dataset, "Data set to export (1-based)")
      ->type_name("N")
      ->check(data_set_number())
      ->capture_default_str();
  CLI::Option* raw = exp->add_flag("--raw", options.raw,
                                   "Stored values: no $PnE log decoding (transformation raw)");
  CLI::Option* png = exp->add_flag("--png-scaling", options.png_scaling,
                                   "Also divide linear channels by $PnG "
                                   "(transformation linearize-with-PnG-scaling)");
  raw->excludes(png);
  png->excludes(raw);
  exp->add_flag("--no-truncate", options.no_truncate,
                "Keep values above $PnR instead of clipping them (truncate_max_range=FALSE)");
  exp->add_flag("--strict", options.strict, "Apply no repairs: any defect of the file is an error");
  exp->add_option("--format", options.format, "Output format: csv, tsv or fcs (FCS 3.1, float32)")
      ->check(CLI::IsMember({"csv", "tsv", "fcs"}))
      ->capture_default_str();
  exp->add_option("-o,--output", options.output,
                  "Output file; '-' or none is standard output (fcs needs -o)");
  exp->add_flag("--compensate", options.compensate,
                "Compensate with the file's own spillover matrix (SPILL, spillover, $SPILLOVER, then $COMP, $DFC)");
  exp->add_option("--spillover", options.spillover_file,
                  "Compensate with this matrix file instead (CSV with channel-name header, FlowJo .mtx, "
                  "Gating-ML spectrumMatrix)")
      ->type_name("FILE");
  exp->add_option("--transform", options.transforms,
                  "Transform a channel ($PnN or $PnS) or ALL channels not named, repeatable: "
                  "CHANNEL=NAME:K=V,... e.g. ALL=logicle:T=262144,W=0.5,M=4.5,A=0 (docs/transforms.md)")
      ->type_name("CHANNEL=SPEC")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

void add_transform_command(CLI::App& app, flowmrd::cli::TransformOptions& options) {
  CLI::App* tr = app.add_subcommand(
      "transform", "Apply a scale transform (or its inverse) to numbers read from standard input, one "
                   "result per line (docs/transforms.md)");
  tr->add_option("NAME", options.name,
                 "flin, flog, fasinh, logicle, hyperlog, biex, arcsinh, logicle-flowcore (or identity)")
      ->required();
  tr->add_option("--param", options.params,
                 "Parameter KEY=VALUE, repeatable: T, W, M, A (Gating-ML); negative, width, positive, max "
                 "(biex); a, b, c (arcsinh); w, t, m, a (logicle-flowcore). Missing keys take the defaults")
      ->type_name("KEY=VALUE")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  tr->add_flag("--inverse", options.inverse, "Apply the inverse transform");
}

void add_simulate_command(CLI::App& app, flowmrd::cli::SimulateOptions& options) {
  CLI::App* sim = app.add_subcommand(
      "simulate", "Draw a synthetic bone-marrow sample from a scenario file and write it as FCS 3.1, "
                  "with OUT.truth.json (population of each event, counts, MRD %) beside it "
                  "(docs/simulator.md)");
  // No ExistingFile check: a missing scenario is an input error (exit 3), not a usage error.
  sim->add_option("SCENARIO", options.scenario, "Scenario TOML file")->required();
  sim->add_option("-o,--output", options.output, "Output FCS file")->required()->type_name("OUT.fcs");
  sim->add_option("--seed", options.seed, "Random seed (replaces the scenario's seed)")->type_name("N");
  sim->add_option("--events", options.events, "Number of events (replaces the scenario's count)")
      ->type_name("N");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"flowmrd: flow-cytometry MRD analysis for B-cell precursor ALL", "flowmrd"};
  // Set before adding subcommands: they copy the parent's failure message at creation.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string{"flowmrd: error: "} + e.what() +
           "\nRun 'flowmrd --help' or 'flowmrd COMMAND --help' for usage.\n";
  });
  app.set_version_flag("--version", std::string{"flowmrd "} + FLOWMRD_VERSION);
  app.footer(exit_code_footer);
  app.require_subcommand(1);

  flowmrd::cli::InfoOptions info_options;
  flowmrd::cli::ExportOptions export_options;
  flowmrd::cli::TransformOptions transform_options;
  flowmrd::cli::SimulateOptions simulate_options;
  add_info_command(app, info_options);
  add_export_command(app, export_options);
  add_transform_command(app, transform_options);
  add_simulate_command(app, simulate_options);
  const auto run_gate = flowmrd::cli::add_gate_command(app);
  const auto run_qa = flowmrd::cli::add_qa_command(app);
  const auto run_analyze = flowmrd::cli::add_analyze_command(app);
  const auto run_reference = flowmrd::cli::add_reference_command(app);
  const auto run_batch = flowmrd::cli::add_batch_command(app);
  const auto run_db = flowmrd::cli::add_db_command(app);
  const auto run_report = flowmrd::cli::add_report_command(app);

  flowmrd::cli::remember_command_line(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive here too, with exit code 0.
    return app.exit(e) == 0 ? to_int(ExitCode::ok) : to_int(ExitCode::usage);
  }

  try {
    if (app.got_subcommand("info")) return flowmrd::cli::run_info(info_options);
    if (app.got_subcommand("export")) return flowmrd::cli::run_export(export_options);
    if (app.got_subcommand("transform")) return flowmrd::cli::run_transform(transform_options);
    if (app.got_subcommand("simulate")) return flowmrd::cli::run_simulate(simulate_options);
    if (app.got_subcommand("gate")) return run_gate();
    if (app.got_subcommand("qa")) return run_qa();
    if (app.got_subcommand("analyze")) return run_analyze();
    if (app.got_subcommand("reference")) return run_reference();
    if (app.got_subcommand("batch")) return run_batch();
    if (app.got_subcommand("db")) return run_db();
    if (app.got_subcommand("report")) return run_report();
    std::cerr << "flowmrd: error: no command given\n";
    return to_int(ExitCode::usage);
  } catch (const CommandError& e) {
    for (const auto& note : e.notes()) std::cerr << "flowmrd: warning: " << note << '\n';
    std::cerr << "flowmrd: error: " << e.what() << '\n';
    return to_int(e.code());
  } catch (const std::bad_alloc&) {
    std::cerr << "flowmrd: error: out of memory\n";
    return to_int(ExitCode::internal_error);
  } catch (const std::exception& e) {
    std::cerr << "flowmrd: error: internal error: " << e.what() << '\n';
    return to_int(ExitCode::internal_error);
  } catch (...) {
    std::cerr << "flowmrd: error: internal error: unknown exception\n";
    return to_int(ExitCode::internal_error);
  }
}
