// SPDX-License-Identifier: Apache-2.0
/// @file panel.hpp
/// Panel definitions: the markers of one tube (with aliases, roles and whether each is required),
/// the default scale transform per channel kind, and optional per-instrument channel mappings.
/// Panels are data (`panels/defs/*.toml`, see docs/panel-format.md); this header holds their
/// in-memory form and the loader that validates them.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace flowmrd::panels {

/// What a marker is for in the analysis.
enum class MarkerRole {
  lineage,        ///< Defines a lineage (CD19 for B cells, CD33/CD64 for myeloid/monocytic cells).
  maturation,     ///< Places cells along a maturation path (CD10, CD20, CD38, CD58, CD11b, CD14, ...).
  backbone,       ///< Shared between tubes to align them (CD45, CD34, ...).
  scatter,        ///< A light-scatter channel (FSC-A, FSC-H, SSC-A).
  time,           ///< The acquisition time channel.
  viability_dna,  ///< A viability or nucleic-acid dye (SYTO 41, DAPI, 7-AAD): the MRD denominator.
};

/// Text names: "lineage", "maturation", "backbone", "scatter", "time", "viability_dna".
[[nodiscard]] std::string_view to_string(MarkerRole role) noexcept;
/// Parse a role name (exact, lower case); std::nullopt when unknown.
[[nodiscard]] std::optional<MarkerRole> marker_role_from_string(std::string_view name) noexcept;

/// The kind of channel a marker lives on; transform defaults are given per kind.
enum class ChannelKind { fluorescence, scatter, time };

/// Text names: "fluorescence", "scatter", "time".
[[nodiscard]] std::string_view to_string(ChannelKind kind) noexcept;
/// The channel kind of a role: scatter -> scatter, time -> time, everything else -> fluorescence.
[[nodiscard]] ChannelKind channel_kind(MarkerRole role) noexcept;

/// A default scale transform, kept as data so `panels` need not depend on `gating`: the pipeline
/// turns it into a `gating::TransformSpec` (same names and parameter keys, e.g. "logicle" with
/// T, W, M, A) and, when `estimate_w` is set, estimates W from the data instead of using `params["W"]`.
struct TransformDefault {
  std::string transform = "linear";     ///< "linear", "logicle", "arcsinh", ... (gating's names).
  std::map<std::string, double> params; ///< Parameters by key as gating documents them (T, W, M, A, ...).
  bool estimate_w = false;              ///< Logicle only: estimate W per channel from the negative tail.
  friend bool operator==(const TransformDefault&, const TransformDefault&) = default;
};

/// One marker of a panel.
struct Marker {
  std::string name;                  ///< Canonical name, e.g. "CD19", "HLA-DR", "FSC-A", "Time".
  std::vector<std::string> aliases;  ///< Other names matched like `name` (e.g. "HLADR", "SYTO41").
  MarkerRole role = MarkerRole::lineage;
  bool required = true;              ///< A required marker missing from a file is an error.
  /// $PnN patterns (case-insensitive, `*` and `?` wildcards) tried before token matching; for
  /// scatter and time markers the only way they are found (e.g. "FSC-A", "FS INT*", "HDR-T").
  std::vector<std::string> channels;
  std::optional<TransformDefault> transform;  ///< Overrides the panel's default for its kind.
  int line = 0;                      ///< Line of the marker's table in the panel file (0 if unknown).

  /// The channel kind implied by the role.
  [[nodiscard]] ChannelKind kind() const noexcept { return channel_kind(role); }
};

/// An explicit marker -> channel mapping for one instrument, used when $PnS/$PnN do not name the
/// marker (e.g. a cytometer that writes no $PnS).
struct InstrumentMapping {
  std::string name;       ///< Instrument name, selectable explicitly (e.g. "lab-canto-2").
  std::string cytometer;  ///< Pattern matched against $CYT (case-insensitive, `*`/`?`); may be empty.
  std::map<std::string, std::string> channels;  ///< Marker name -> $PnN (exact, case-insensitive).
  int line = 0;           ///< Line of the mapping's table in the panel file.
};

/// A panel: one tube's markers and defaults.
struct Panel {
  std::string name;         ///< Identifier, e.g. "b-lineage-mrd".
  std::string version;      ///< The file's version string (recorded in results for provenance).
  std::string description;  ///< Free text.
  std::filesystem::path source;  ///< The file it was loaded from (or the label given to parse_panel).
  std::vector<Marker> markers;   ///< In file order.
  /// Default transform per channel kind; kinds absent here fall back to `default_transform`.
  std::map<ChannelKind, TransformDefault> transforms;
  std::vector<InstrumentMapping> instruments;

  /// The marker whose name or alias equals `name` (case-insensitive, ignoring spaces, '-' and '_').
  [[nodiscard]] const Marker* find_marker(std::string_view name) const noexcept;
  /// The transform for a marker: its own override, else the panel's default for its kind, else
  /// the built-in default (`default_transform`).
  [[nodiscard]] TransformDefault transform_for(const Marker& marker) const;
  /// Number of required markers.
  [[nodiscard]] std::size_t required_count() const noexcept;
};

/// The built-in defaults: scatter and time linear; fluorescence logicle with T = 262144, M = 4.5,
/// A = 0 and W estimated from the data.
[[nodiscard]] TransformDefault default_transform(ChannelKind kind);

/// A panel file that cannot be read or is invalid. `what()` is "FILE:LINE: FIELD: reason", e.g.
/// "b-lineage-mrd.toml:14: markers[3].role: unknown role 'lineag' (expected one of ...)".
class PanelError : public std::runtime_error {
 public:
  /// @param file   the path or label of the panel file.
  /// @param line   1-based line, 0 when unknown (the "LINE:" part is then omitted).
  /// @param field  dotted field path, e.g. "markers[3].role"; may be empty.
  /// @param reason what is wrong.
  PanelError(std::string file, int line, std::string field, const std::string& reason);

  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] int line() const noexcept { return line_; }
  [[nodiscard]] const std::string& field() const noexcept { return field_; }

 private:
  std::string file_;
  int line_;
  std::string field_;
};

/// Parse and validate a panel from TOML text. `label` names the input in errors and becomes
/// `Panel::source`. @throws PanelError
[[nodiscard]] Panel parse_panel(std::string_view toml_text, const std::string& label);

/// Load and validate one panel file. @throws PanelError (also when the file cannot be read)
[[nodiscard]] Panel load_panel(const std::filesystem::path& path);

/// Load every `*.toml` in a directory (not recursive), sorted by file name. Panel names must be
/// unique. @throws PanelError
[[nodiscard]] std::vector<Panel> load_panels(const std::filesystem::path& directory);

/// The shipped panel definitions: $FLOWMRD_DATA/panels/defs when FLOWMRD_DATA is set, else the
/// source tree's panels/defs.
[[nodiscard]] std::filesystem::path source_panels_dir();

}  // namespace flowmrd::panels
