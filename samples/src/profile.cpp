// SPDX-License-Identifier: Apache-2.0
// Instrument profile loading (samples/profiles/*.toml, docs/simulator.md "Profile files").
#include "flowmrd/samples/profile.hpp"

#include <fstream>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "flowmrd/samples/populations.hpp"
#include "toml_util.hpp"

namespace flowmrd::samples {

namespace {

using Reader = detail::TomlReader<ProfileError>;

std::optional<ChannelKind> kind_from_string(std::string_view s) {
  if (s == "fsc_a") return ChannelKind::fsc_a;
  if (s == "fsc_h") return ChannelKind::fsc_h;
  if (s == "ssc_a") return ChannelKind::ssc_a;
  if (s == "ssc_h") return ChannelKind::ssc_h;
  if (s == "time") return ChannelKind::time;
  if (s == "fluorescence") return ChannelKind::fluorescence;
  return std::nullopt;
}

}  // namespace

int Profile::find_channel(std::string_view channel_name) const noexcept {
  for (std::size_t i = 0; i < channels.size(); ++i) {
    if (channels[i].name == channel_name) return static_cast<int>(i);
  }
  return -1;
}

std::vector<std::string> Profile::markers() const {
  std::vector<std::string> out;
  for (const auto& c : channels) {
    if (c.kind == ChannelKind::fluorescence) out.push_back(c.marker);
  }
  return out;
}

Profile parse_profile(std::string_view toml_text, const std::string& label) {
  const Reader r(label);
  const toml::table root = r.parse(toml_text);
  r.check_keys(root, "", {"name", "cytometer", "byte_order", "electronic_noise", "photon_noise", "timestep", "event_rate",
                          "channel", "spill"});
  Profile p;
  p.source = label;
  p.name = r.get_string(root, "", "name").value_or("");
  if (p.name.empty()) r.fail(nullptr, "name", "missing (the profile id, e.g. \"bd-canto-8c-bcell\")");
  p.cytometer = r.get_string(root, "", "cytometer").value_or("flowmrd simulator");
  if (auto bo = r.get_string(root, "", "byte_order")) {
    if (*bo == "little") {
      p.byte_order = fcs::ByteOrder::little;
    } else if (*bo == "big") {
      p.byte_order = fcs::ByteOrder::big;
    } else {
      r.fail(root.get("byte_order"), "byte_order", "expected \"little\" or \"big\", got \"" + *bo + "\"");
    }
  }
  p.electronic_noise = r.get_number_in(root, "", "electronic_noise", 0, 10000).value_or(p.electronic_noise);
  p.photon_noise = r.get_number_in(root, "", "photon_noise", 0, 1000).value_or(p.photon_noise);
  p.timestep = r.get_number_in(root, "", "timestep", 1e-6, 10).value_or(p.timestep);
  p.event_rate = r.get_number_in(root, "", "event_rate", 1, 1e6).value_or(p.event_rate);

  const toml::node* chans = root.get("channel");
  if (chans == nullptr || !chans->is_array_of_tables()) {
    r.fail(chans, "channel", "expected an array of tables ([[channel]] entries)");
  }
  std::size_t i = 0;
  for (const auto& node : *chans->as_array()) {
    const auto& t = *node.as_table();
    const std::string where = "channel[" + std::to_string(i++) + "]";
    r.check_keys(t, where, {"name", "stain", "kind", "marker", "range"});
    ProfileChannel c;
    c.name = r.get_string(t, where, "name").value_or("");
    if (c.name.empty()) r.fail(&node, where + ".name", "missing");
    if (c.name.find(',') != std::string::npos) r.fail(t.get("name"), where + ".name", "must not contain ','");
    if (p.find_channel(c.name) >= 0) r.fail(t.get("name"), where + ".name", "duplicate channel \"" + c.name + "\"");
    const std::string kind = r.get_string(t, where, "kind").value_or("fluorescence");
    const auto k = kind_from_string(kind);
    if (!k) {
      r.fail(t.get("kind"), where + ".kind",
             "expected fsc_a, fsc_h, ssc_a, ssc_h, time or fluorescence, got \"" + kind + "\"");
    }
    c.kind = *k;
    c.stain = r.get_string(t, where, "stain").value_or("");
    if (c.kind == ChannelKind::fluorescence) {
      const auto m = r.get_string(t, where, "marker");
      if (!m) r.fail(&node, where + ".marker", "missing (fluorescence channels name their marker)");
      const auto canon = canonical_marker(*m);
      if (!canon) {
        std::string known;
        for (auto km : known_markers()) known += (known.empty() ? "" : ", ") + std::string{km};
        r.fail(t.get("marker"), where + ".marker", "unknown marker \"" + *m + "\" (known: " + known + ")");
      }
      c.marker = std::string{*canon};
      for (const auto& other : p.channels) {
        if (other.kind == ChannelKind::fluorescence && other.marker == c.marker) {
          r.fail(t.get("marker"), where + ".marker", "marker " + c.marker + " already on " + other.name);
        }
      }
      if (c.stain.empty()) c.stain = c.marker;
    } else if (t.get("marker") != nullptr) {
      r.fail(t.get("marker"), where + ".marker", "only fluorescence channels carry a marker");
    }
    c.range = r.get_number_in(t, where, "range", 2, 1e9).value_or(c.range);
    p.channels.push_back(std::move(c));
  }

  // Spillover over the fluorescence channels: identity plus the listed spills.
  p.spillover.source_keyword = "$SPILLOVER";
  for (const auto& c : p.channels) {
    if (c.kind == ChannelKind::fluorescence) {
      p.spillover.channels.push_back(c.name);
      p.spillover.channel_indices.push_back(p.find_channel(c.name) + 1);
    }
  }
  const std::size_t n = p.spillover.channels.size();
  p.spillover.values.assign(n * n, 0.0);
  for (std::size_t d = 0; d < n; ++d) p.spillover.values[d * n + d] = 1.0;
  auto fl_index = [&](const std::string& name) -> int {
    for (std::size_t j = 0; j < n; ++j) {
      if (p.spillover.channels[j] == name) return static_cast<int>(j);
    }
    return -1;
  };
  if (const toml::node* spills = root.get("spill")) {
    if (!spills->is_array_of_tables()) r.fail(spills, "spill", "expected [[spill]] entries");
    std::size_t s = 0;
    for (const auto& node : *spills->as_array()) {
      const auto& t = *node.as_table();
      const std::string where = "spill[" + std::to_string(s++) + "]";
      r.check_keys(t, where, {"from", "into", "value"});
      const auto from = r.get_string(t, where, "from");
      const auto into = r.get_string(t, where, "into");
      const auto value = r.get_number_in(t, where, "value", 0, 2);
      if (!from || !into || !value) r.fail(&node, where, "needs from, into and value");
      const int fi = fl_index(*from);
      const int ii = fl_index(*into);
      if (fi < 0) r.fail(t.get("from"), where + ".from", "\"" + *from + "\" is not a fluorescence channel");
      if (ii < 0) r.fail(t.get("into"), where + ".into", "\"" + *into + "\" is not a fluorescence channel");
      if (fi == ii) r.fail(t.get("into"), where + ".into", "a channel does not spill into itself");
      p.spillover.values[static_cast<std::size_t>(fi) * n + static_cast<std::size_t>(ii)] = *value;
    }
  }
  return p;
}

Profile load_profile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ProfileError(path.string() + ": cannot open profile file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_profile(ss.str(), path.string());
}

std::filesystem::path shipped_profiles_dir() {
  // FLOWMRD_DATA: a data root laid out like the repository (see panels::source_panels_dir).
  if (const char* root = std::getenv("FLOWMRD_DATA"); root != nullptr && *root != '\0')
    return std::filesystem::path(root) / "samples" / "profiles";
  return std::filesystem::path{FLOWMRD_SAMPLES_SOURCE_DIR} / "profiles";
}

std::filesystem::path resolve_profile_path(const std::string& reference, const std::filesystem::path& base_dir) {
  const std::filesystem::path ref{reference};
  const bool looks_like_path = ref.has_parent_path() || ref.extension() == ".toml";
  if (looks_like_path) {
    if (ref.is_absolute() || base_dir.empty()) return ref;
    return base_dir / ref;
  }
  return shipped_profiles_dir() / (reference + ".toml");
}

}  // namespace flowmrd::samples
