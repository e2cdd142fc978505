// SPDX-License-Identifier: Apache-2.0
#include "flowmrd/panels/panel.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "panel_text.hpp"

namespace flowmrd::panels {

namespace detail {

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool is_separator(char c) noexcept {
  switch (c) {
    case ' ': case '\t': case '-': case '_': case '/': case ';': case ',': case ':':
    case '.': case '(': case ')': case '[': case ']': case '+':
      return true;
    default:
      return false;
  }
}

std::vector<std::string> tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  for (char c : text) {
    if (is_separator(c)) {
      if (!current.empty()) out.push_back(upper(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) out.push_back(upper(current));
  return out;
}

std::string compact(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (!is_separator(c)) out.push_back(c);
  }
  return upper(out);
}

}  // namespace detail

namespace {
constexpr std::array<std::pair<MarkerRole, std::string_view>, 6> kRoleNames{{
    {MarkerRole::lineage, "lineage"},
    {MarkerRole::maturation, "maturation"},
    {MarkerRole::backbone, "backbone"},
    {MarkerRole::scatter, "scatter"},
    {MarkerRole::time, "time"},
    {MarkerRole::viability_dna, "viability_dna"},
}};
}  // namespace

std::string_view to_string(MarkerRole role) noexcept {
  for (const auto& [r, n] : kRoleNames) {
    if (r == role) return n;
  }
  return "unknown";
}

std::optional<MarkerRole> marker_role_from_string(std::string_view name) noexcept {
  for (const auto& [r, n] : kRoleNames) {
    if (n == name) return r;
  }
  return std::nullopt;
}

std::string_view to_string(ChannelKind kind) noexcept {
  switch (kind) {
    case ChannelKind::fluorescence: return "fluorescence";
    case ChannelKind::scatter: return "scatter";
    case ChannelKind::time: return "time";
  }
  return "unknown";
}

ChannelKind channel_kind(MarkerRole role) noexcept {
  switch (role) {
    case MarkerRole::scatter: return ChannelKind::scatter;
    case MarkerRole::time: return ChannelKind::time;
    default: return ChannelKind::fluorescence;
  }
}

TransformDefault default_transform(ChannelKind kind) {
  TransformDefault t;
  if (kind == ChannelKind::fluorescence) {
    // Logicle with W estimated per channel: compensated fluorescence has a negative spread around
    // zero that a fixed W would either clip or over-widen (Parks et al. 2006).
    t.transform = "logicle";
    t.params = {{"T", 262144.0}, {"M", 4.5}, {"A", 0.0}};
    t.estimate_w = true;
  }
  return t;
}

const Marker* Panel::find_marker(std::string_view wanted) const noexcept {
  const std::string key = detail::compact(wanted);
  for (const Marker& m : markers) {
    if (detail::compact(m.name) == key) return &m;
    for (const std::string& a : m.aliases) {
      if (detail::compact(a) == key) return &m;
    }
  }
  return nullptr;
}

TransformDefault Panel::transform_for(const Marker& marker) const {
  if (marker.transform) return *marker.transform;
  if (auto it = transforms.find(marker.kind()); it != transforms.end()) return it->second;
  return default_transform(marker.kind());
}

std::size_t Panel::required_count() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(markers.begin(), markers.end(), [](const Marker& m) { return m.required; }));
}

namespace {
std::string format_panel_error(const std::string& file, int line, const std::string& field,
                               const std::string& reason) {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!field.empty()) out += field + ": ";
  out += reason;
  return out;
}
}  // namespace

PanelError::PanelError(std::string file, int line, std::string field, const std::string& reason)
    : std::runtime_error(format_panel_error(file, line, field, reason)),
      file_(std::move(file)),
      line_(line),
      field_(std::move(field)) {}

std::filesystem::path source_panels_dir() {
  // FLOWMRD_DATA names a data root laid out like the repository (panels/defs, panels/protocols,
  // samples/profiles), e.g. an installed share directory; the source tree is the default.
  if (const char* root = std::getenv("FLOWMRD_DATA"); root != nullptr && *root != '\0')
    return std::filesystem::path(root) / "panels" / "defs";
  return std::filesystem::path(FLOWMRD_PANELS_SOURCE_DIR) / "defs";
}

}  // namespace flowmrd::panels
