// SPDX-License-Identifier: Apache-2.0
/// @file simulator.hpp
/// The synthetic bone-marrow simulator: scenario + profile -> events, FCS 3.1 file and truth.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "fcs/writer.hpp"
#include "flowmrd/samples/profile.hpp"
#include "flowmrd/samples/scenario.hpp"
#include "flowmrd/samples/truth.hpp"

namespace flowmrd::samples {

/// Options that change what is kept besides the file contents.
struct SimulateOptions {
  /// Keep the uncompensated, noise-free true fluorescence in Simulation::true_fluorescence
  /// (for tests: compensating the written data must give it back, up to the electronic noise).
  bool keep_true_fluorescence = false;
};

/// One simulated sample.
struct Simulation {
  Profile profile;                          ///< The instrument used.
  std::vector<std::vector<float>> columns;  ///< One per profile channel: written values.
  /// When kept: one per fluorescence channel (profile order), noise-free true intensities.
  std::vector<std::vector<float>> true_fluorescence;
  std::vector<std::pair<std::string, std::string>> keywords;  ///< Extra TEXT keywords.
  Truth truth;                              ///< Labels, counts, MRD, flags.

  /// The fcs::WriteRequest for these events (spans into `columns`; keep `*this` alive).
  [[nodiscard]] fcs::WriteRequest write_request() const;
};

/// Draw the events of `scenario` on `profile`. Deterministic: the same inputs give the same
/// values (own uniform/normal/exponential draws over std::mt19937_64; only libm's last bits
/// may differ between platforms). Population counts are exact (docs/simulator.md).
[[nodiscard]] Simulation simulate(const Scenario& scenario, const Profile& profile,
                                  const SimulateOptions& options = {});

/// Load the scenario's profile (resolve_profile_path) and simulate.
/// @throws ScenarioError, ProfileError
[[nodiscard]] Simulation simulate(const Scenario& scenario, const SimulateOptions& options = {});

/// Write the FCS file and its truth file (truth_path_for) beside it.
/// @throws fcs::Error (FCS encoding or writing), std::runtime_error (truth file)
void write_simulation(const Simulation& simulation, const std::filesystem::path& fcs_path);

}  // namespace flowmrd::samples
