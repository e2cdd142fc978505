// SPDX-License-Identifier: Apache-2.0
/// @file resolve.hpp
/// Marker -> channel resolution: which channel of an FCS data set carries each marker of a panel,
/// found by name ($PnS, then $PnN, then the panel's per-instrument mapping), never by position.
/// Also the automatic choice of a panel for a data set. Rules: docs/panel-format.md.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fcs/dataset.hpp"
#include "fcs/issue.hpp"
#include "flowmrd/panels/panel.hpp"

namespace flowmrd::panels {

/// Where a marker's channel was found.
enum class MatchSource {
  stain,       ///< A whole-token match in $PnS (e.g. "CD19 PE-Cy7").
  name,        ///< A $PnN pattern of the marker or a whole-token match in $PnN.
  instrument,  ///< The panel's explicit per-instrument mapping.
};

/// Text names: "stain", "name", "instrument".
[[nodiscard]] std::string_view to_string(MatchSource source) noexcept;

/// One marker found in a data set.
struct ResolvedMarker {
  std::string marker;          ///< The panel's canonical marker name.
  MarkerRole role = MarkerRole::lineage;
  int channel = -1;            ///< 0-based index into `fcs::Dataset::channels`.
  std::string channel_name;    ///< That channel's $PnN.
  std::string channel_stain;   ///< That channel's $PnS ("" when absent).
  MatchSource source = MatchSource::stain;
};

/// A marker that could not be resolved, with the channels that were candidates.
struct Unresolved {
  std::string marker;
  bool required = true;
  bool ambiguous = false;                ///< Several candidates (otherwise none).
  std::vector<std::string> candidates;   ///< "PE-Cy7-A (CD19 PE-Cy7)" style descriptions.
};

/// Options of a resolution.
struct ResolveOptions {
  std::string label;       ///< Names the data set (the FCS path) in messages.
  std::string instrument;  ///< Use this per-instrument mapping (by name); empty = match $CYT.
};

/// The outcome of resolving a panel against a data set.
struct Resolution {
  std::string panel;                       ///< Panel name.
  std::string label;                       ///< The data set's label (ResolveOptions::label).
  std::string instrument;                  ///< The instrument mapping used, "" when none applied.
  std::vector<ResolvedMarker> markers;     ///< Resolved markers, in panel order.
  std::vector<Unresolved> unresolved;      ///< Markers not resolved, in panel order.
  fcs::Issues issues;                      ///< Findings: optional marker missing, shared channel, ...

  /// True when every required marker resolved.
  [[nodiscard]] bool complete() const noexcept;
  /// Channel index (0-based) of a marker by canonical name, or std::nullopt.
  [[nodiscard]] std::optional<int> channel(std::string_view marker) const noexcept;
  /// Marker name -> channel index (0-based) of every resolved marker.
  [[nodiscard]] std::map<std::string, int> channel_map() const;
};

/// A required marker missing or ambiguous, or no panel fitting a data set. `what()` names the
/// data set, the panel file, the marker(s) and the candidate channels.
class ResolveError : public std::runtime_error {
 public:
  ResolveError(std::string file, const std::string& message, std::vector<Unresolved> unresolved = {});
  /// The data set's label (FCS path).
  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  /// The markers at fault (empty for a panel-choice failure, whose message lists each panel).
  [[nodiscard]] const std::vector<Unresolved>& unresolved() const noexcept { return unresolved_; }

 private:
  std::string file_;
  std::vector<Unresolved> unresolved_;
};

/// Resolve without throwing: required markers that fail are listed in `unresolved`.
[[nodiscard]] Resolution try_resolve(const Panel& panel, const fcs::Dataset& dataset,
                                     const ResolveOptions& options = {});

/// Resolve every marker of `panel` in `dataset`. Optional markers that are missing or ambiguous
/// become issues. @throws ResolveError when a required marker is missing or ambiguous, or when
/// `options.instrument` names no mapping of the panel.
[[nodiscard]] Resolution resolve(const Panel& panel, const fcs::Dataset& dataset,
                                 const ResolveOptions& options = {});

/// The panel chosen for a data set and its resolution.
struct PanelChoice {
  std::size_t index = 0;  ///< Index into the panels given.
  Resolution resolution;
};

/// Pick the panel whose required markers all resolve; among several, the one resolving most
/// markers (so a combined 12-colour panel wins over its sub-panels when all its markers are
/// present), then the one with more required markers, then the first given. An
/// `options.instrument` that a panel does not define is ignored for that panel.
/// @throws ResolveError listing, per panel, the markers missing or ambiguous.
[[nodiscard]] PanelChoice choose_panel(std::span<const Panel> panels, const fcs::Dataset& dataset,
                                       const ResolveOptions& options = {});

/// Whether `marker` (a name or alias) occurs as a whole token sequence in `text`, ignoring case and
/// the separators space - _ / ; , : . ( ) [ ] + (so "HLA-DR" matches "Anti-HLA DR V450-A" and
/// "CD4" does not match "CD45 FITC"). Exposed for tests and the CLI's diagnostics.
[[nodiscard]] bool token_match(std::string_view text, std::string_view marker);

/// Case-insensitive match with `*` (any run) and `?` (one character) wildcards.
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view text) noexcept;

}  // namespace flowmrd::panels
