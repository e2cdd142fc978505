// SPDX-License-Identifier: Apache-2.0
#include "cmd_simulate.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>

#include "command_error.hpp"
#include "exit_codes.hpp"
#include "fcs/error.hpp"
#include "flowmrd/samples/simulator.hpp"

namespace flowmrd::cli {

int run_simulate(const SimulateOptions& options) {
  samples::Scenario scenario;
  samples::Simulation simulation;
  try {
    scenario = samples::load_scenario(options.scenario);
    if (options.seed) scenario.seed = *options.seed;
    if (options.events) {
      if (*options.events == 0 || *options.events > 50'000'000) {
        throw CommandError(ExitCode::usage, "--events must be between 1 and 50000000");
      }
      scenario.events = *options.events;
    }
    simulation = samples::simulate(scenario);
  } catch (const samples::ScenarioError& e) {
    throw CommandError(ExitCode::input_invalid, e.what());
  } catch (const samples::ProfileError& e) {
    throw CommandError(ExitCode::input_invalid, e.what());
  }

  const std::filesystem::path out{options.output};
  try {
    samples::write_simulation(simulation, out);
  } catch (const fcs::Error& e) {
    // The scenario was fine; it is the output that failed. The writer's message already starts
    // with the path.
    std::string_view reason = e.what();
    const std::string prefix = options.output + ": ";
    if (reason.starts_with(prefix)) reason.remove_prefix(prefix.size());
    throw CommandError(ExitCode::output_failed, prefix + "cannot write FCS: " + std::string{reason});
  } catch (const std::filesystem::filesystem_error& e) {
    throw CommandError(ExitCode::output_failed, options.output + ": cannot write FCS: " + e.code().message());
  } catch (const std::runtime_error& e) {
    throw CommandError(ExitCode::output_failed, e.what());
  }

  const auto& t = simulation.truth;
  char mrd[64];
  std::snprintf(mrd, sizeof mrd, "%.6g", t.mrd_percent);
  std::cout << options.output << ": " << t.events << " events (scenario " << scenario.name << ", profile "
            << simulation.profile.name << ", seed " << scenario.seed << "); denominator " << t.denominator
            << ", blasts " << t.blasts << ", MRD " << mrd << "%"
            << (t.cd19_negative ? ", CD19-negative blasts" : "") << (t.lineage_switch ? ", lineage switch" : "")
            << "; truth: " << samples::truth_path_for(out).string() << '\n';
  if (!std::cout) throw CommandError(ExitCode::output_failed, "<stdout>: write failed");
  return to_int(ExitCode::ok);
}

}  // namespace flowmrd::cli
