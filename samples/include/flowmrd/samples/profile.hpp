// SPDX-License-Identifier: Apache-2.0
/// @file profile.hpp
/// Instrument profiles: the channels a simulated cytometer writes ($PnN, $PnS, $PnR), its byte
/// order, electronic noise and spillover matrix (docs/simulator.md, samples/profiles/*.toml).
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fcs/dataset.hpp"
#include "fcs/spillover.hpp"

namespace flowmrd::samples {

/// What a channel measures.
enum class ChannelKind {
  fsc_a,         ///< Forward scatter area.
  fsc_h,         ///< Forward scatter height (doublets fall below the FSC-A = FSC-H diagonal).
  ssc_a,         ///< Side scatter area.
  ssc_h,         ///< Side scatter height.
  time,          ///< Acquisition time, in units of $TIMESTEP.
  fluorescence,  ///< A stained marker (or nucleic-acid dye) detector.
};

/// One channel of a profile.
struct ProfileChannel {
  std::string name;    ///< $PnN, e.g. "PE-Cy7-A".
  std::string stain;   ///< $PnS, e.g. "CD19 PE-Cy7"; empty for none.
  ChannelKind kind = ChannelKind::fluorescence;
  std::string marker;  ///< Canonical marker key for fluorescence ("CD19", "HLA-DR", "SYTO41").
  double range = 262144;  ///< $PnR.
};

/// A simulated instrument.
struct Profile {
  std::string name;       ///< Profile id (file stem), e.g. "bd-canto-8c-bcell".
  std::string cytometer;  ///< $CYT.
  std::string source;     ///< The file it was loaded from ("<memory>" for strings).
  fcs::ByteOrder byte_order = fcs::ByteOrder::little;
  double electronic_noise = 60;  ///< SD of the additive Gaussian detector noise (linear units).
  /// Photon-counting (shot) noise: variance added per unit of detected signal, so a detector's
  /// noise SD is sqrt(electronic_noise^2 + photon_noise x signal). This is what makes bright
  /// dyes spread into the detectors they spill into after compensation. 0 turns it off.
  double photon_noise = 0;
  double timestep = 0.01;        ///< $TIMESTEP in seconds.
  double event_rate = 5000;      ///< Mean events per second at the nominal flow rate.
  std::vector<ProfileChannel> channels;
  /// Spillover over the fluorescence channels in profile order: observed = true x S,
  /// row i = the spill of dye i into each detector; the diagonal is 1.
  fcs::Spillover spillover;

  /// Index of the channel with $PnN `name`, or -1.
  [[nodiscard]] int find_channel(std::string_view name) const noexcept;
  /// Canonical markers of the fluorescence channels, in channel order.
  [[nodiscard]] std::vector<std::string> markers() const;
};

/// A profile file that could not be loaded: the message names file, line and field.
class ProfileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Parse a profile from TOML text. `label` names the input in errors.
/// @throws ProfileError
[[nodiscard]] Profile parse_profile(std::string_view toml_text, const std::string& label = "<memory>");

/// Load a profile file.
/// @throws ProfileError (also when the file cannot be read)
[[nodiscard]] Profile load_profile(const std::filesystem::path& path);

/// The directory holding the shipped profiles: $FLOWMRD_DATA/samples/profiles when FLOWMRD_DATA is
/// set, else samples/profiles in the source tree.
[[nodiscard]] std::filesystem::path shipped_profiles_dir();

/// Resolve a profile reference from a scenario: a path (absolute, or relative to `base_dir`), or
/// the name of a shipped profile ("bd-canto-8c-bcell" -> shipped_profiles_dir()/bd-canto-8c-bcell.toml).
[[nodiscard]] std::filesystem::path resolve_profile_path(const std::string& reference,
                                                         const std::filesystem::path& base_dir);

}  // namespace flowmrd::samples
