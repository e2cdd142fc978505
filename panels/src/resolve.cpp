// SPDX-License-Identifier: Apache-2.0
// Marker -> channel resolution by name. Markers are matched as whole tokens because panels are
// full of prefixes of each other (CD4/CD45, CD1/CD19, CD11/CD11b): a substring match would
// silently gate the wrong channel.
#include "flowmrd/panels/resolve.hpp"

#include <algorithm>
#include <utility>

#include "panel_text.hpp"

namespace flowmrd::panels {

std::string_view to_string(MatchSource source) noexcept {
  switch (source) {
    case MatchSource::stain: return "stain";
    case MatchSource::name: return "name";
    case MatchSource::instrument: return "instrument";
  }
  return "unknown";
}

bool token_match(std::string_view text, std::string_view marker) {
  const std::string want = detail::compact(marker);
  if (want.empty()) return false;
  const std::vector<std::string> toks = detail::tokens(text);
  // A run of consecutive tokens must spell the marker exactly, so "HLA DR"/"HLA-DR"/"HLADR" all
  // match HLA-DR while "CD45" never matches CD4.
  for (std::size_t i = 0; i < toks.size(); ++i) {
    std::string run;
    for (std::size_t j = i; j < toks.size() && run.size() < want.size(); ++j) {
      run += toks[j];
      if (run == want) return true;
    }
  }
  return false;
}

bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  const auto up = [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; };
  // Iterative matcher with single-star backtracking: linear in practice, no recursion.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || up(pattern[p]) == up(text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool Resolution::complete() const noexcept {
  return std::none_of(unresolved.begin(), unresolved.end(), [](const Unresolved& u) { return u.required; });
}

std::optional<int> Resolution::channel(std::string_view marker) const noexcept {
  for (const ResolvedMarker& m : markers) {
    if (m.marker == marker) return m.channel;
  }
  return std::nullopt;
}

std::map<std::string, int> Resolution::channel_map() const {
  std::map<std::string, int> out;
  for (const ResolvedMarker& m : markers) out[m.marker] = m.channel;
  return out;
}

ResolveError::ResolveError(std::string file, const std::string& message, std::vector<Unresolved> unresolved)
    : std::runtime_error(message), file_(std::move(file)), unresolved_(std::move(unresolved)) {}

namespace {

std::string describe(const fcs::Channel& c) {
  std::string out = c.name;
  if (c.marker && !c.marker->empty()) out += " (" + *c.marker + ")";
  return out;
}

std::string label_of(const ResolveOptions& options) {
  return options.label.empty() ? std::string("<data set>") : options.label;
}

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

bool is_height_or_width(std::string_view name) {
  if (name.size() < 2) return false;
  const char sep = name[name.size() - 2];
  const char last = name.back();
  return (sep == '-' || sep == '_' || sep == ' ') &&
         (last == 'H' || last == 'h' || last == 'W' || last == 'w');
}

// Several channels carrying one marker is often the area/height/width trio of one detector
// (DIVA can copy $PnS to all three). Prefer the area channel then; otherwise it is ambiguous.
std::vector<int> prefer_area(const fcs::Dataset& ds, std::vector<int> candidates) {
  if (candidates.size() < 2) return candidates;
  std::vector<int> areas;
  for (int c : candidates) {
    if (!is_height_or_width(ds.channels[c].name)) areas.push_back(c);
  }
  return areas.empty() ? candidates : areas;
}

std::vector<std::string> marker_names(const Marker& m) {
  std::vector<std::string> out{m.name};
  out.insert(out.end(), m.aliases.begin(), m.aliases.end());
  return out;
}

// Channels whose $PnS (or $PnN) holds the marker or one of its aliases as a whole token.
std::vector<int> token_candidates(const fcs::Dataset& ds, const Marker& m, bool stain) {
  std::vector<int> out;
  const auto names = marker_names(m);
  for (std::size_t i = 0; i < ds.channels.size(); ++i) {
    const fcs::Channel& c = ds.channels[i];
    if (stain && !c.marker) continue;
    const std::string& text = stain ? *c.marker : c.name;
    if (text.empty()) continue;
    if (std::any_of(names.begin(), names.end(), [&](const std::string& n) { return token_match(text, n); })) {
      out.push_back(static_cast<int>(i));
    }
  }
  return out;
}

// Channels whose $PnN matches the first of the marker's patterns that matches anything.
std::vector<int> pattern_candidates(const fcs::Dataset& ds, const std::vector<std::string>& patterns) {
  for (const std::string& p : patterns) {
    std::vector<int> out;
    for (std::size_t i = 0; i < ds.channels.size(); ++i) {
      if (glob_match(p, ds.channels[i].name)) out.push_back(static_cast<int>(i));
    }
    if (!out.empty()) return out;
  }
  return {};
}

const InstrumentMapping* pick_instrument(const Panel& panel, const fcs::Dataset& ds, const ResolveOptions& options) {
  if (!options.instrument.empty()) {
    for (const InstrumentMapping& im : panel.instruments) {
      if (detail::upper(im.name) == detail::upper(options.instrument)) return &im;
    }
    std::vector<std::string> known;
    for (const InstrumentMapping& im : panel.instruments) known.push_back(im.name);
    throw ResolveError(options.label,
                       label_of(options) + ": panel " + panel.name + " (" + panel.source.string() +
                           ") has no instrument mapping '" + options.instrument + "' (it has: " +
                           (known.empty() ? std::string("none") : join(known)) + ")");
  }
  const std::string cyt = ds.cytometer().value_or("");
  if (cyt.empty()) return nullptr;
  for (const InstrumentMapping& im : panel.instruments) {
    if (!im.cytometer.empty() && glob_match(im.cytometer, cyt)) return &im;
  }
  return nullptr;
}

fcs::Issue make_issue(std::string code, fcs::Severity severity, std::string message, std::string keyword = {}) {
  fcs::Issue i;
  i.code = std::move(code);
  i.severity = severity;
  i.message = std::move(message);
  i.keyword = std::move(keyword);
  return i;
}

std::string unresolved_text(const Unresolved& u) {
  if (u.ambiguous) return u.marker + " is ambiguous (candidates: " + join(u.candidates) + ")";
  return u.marker + " not found" + (u.candidates.empty() ? std::string() : " (" + join(u.candidates) + ")");
}

}  // namespace

Resolution try_resolve(const Panel& panel, const fcs::Dataset& ds, const ResolveOptions& options) {
  Resolution r;
  r.panel = panel.name;
  r.label = options.label;
  const InstrumentMapping* im = pick_instrument(panel, ds, options);
  if (im != nullptr) r.instrument = im->name;

  for (const Marker& m : panel.markers) {
    std::vector<int> found;
    MatchSource source = MatchSource::stain;
    std::vector<int> ambiguous;  // the first stage that found several channels
    const auto stage = [&](std::vector<int> cands, MatchSource src) {
      if (!found.empty()) return;
      cands = prefer_area(ds, std::move(cands));
      if (cands.size() == 1) {
        found = cands;
        source = src;
      } else if (cands.size() > 1 && ambiguous.empty()) {
        ambiguous = std::move(cands);
      }
    };
    if (m.kind() == ChannelKind::fluorescence) {
      stage(token_candidates(ds, m, true), MatchSource::stain);
      // $PnN is consulted only when no $PnS names the marker: a stain match is the lab's own label.
      if (found.empty() && ambiguous.empty()) {
        stage(pattern_candidates(ds, m.channels), MatchSource::name);
        stage(token_candidates(ds, m, false), MatchSource::name);
      }
    } else {
      // Scatter and time have no stain; they are found by their $PnN patterns (or their names).
      stage(pattern_candidates(ds, m.channels.empty() ? marker_names(m) : m.channels), MatchSource::name);
    }
    // The explicit mapping settles what names could not (nothing found, or several candidates).
    if (found.empty() && im != nullptr) {
      if (auto it = im->channels.find(m.name); it != im->channels.end()) {
        std::vector<int> mapped;
        for (std::size_t i = 0; i < ds.channels.size(); ++i) {
          if (detail::upper(ds.channels[i].name) == detail::upper(it->second)) mapped.push_back(static_cast<int>(i));
        }
        if (mapped.size() == 1) {
          found = mapped;
          source = MatchSource::instrument;
        } else {
          r.issues.push_back(make_issue("instrument_channel_missing", fcs::Severity::warning,
                                        "instrument mapping '" + im->name + "' maps " + m.name + " to channel '" +
                                            it->second + "', which this data set does not have"));
        }
      }
    }

    if (found.size() == 1) {
      const fcs::Channel& c = ds.channels[found.front()];
      r.markers.push_back(ResolvedMarker{m.name, m.role, found.front(), c.name, c.marker.value_or(""), source});
      continue;
    }
    Unresolved u;
    u.marker = m.name;
    u.required = m.required;
    u.ambiguous = !ambiguous.empty();
    for (int c : ambiguous) u.candidates.push_back(describe(ds.channels[c]));
    if (!u.required) {
      r.issues.push_back(make_issue(u.ambiguous ? "optional_marker_ambiguous" : "optional_marker_missing",
                                    u.ambiguous ? fcs::Severity::warning : fcs::Severity::info,
                                    "optional marker " + unresolved_text(u)));
    }
    r.unresolved.push_back(std::move(u));
  }

  // Two markers on one channel is legitimate only for a dump channel; say so rather than guess.
  for (std::size_t i = 0; i < r.markers.size(); ++i) {
    for (std::size_t j = i + 1; j < r.markers.size(); ++j) {
      if (r.markers[i].channel == r.markers[j].channel) {
        r.issues.push_back(make_issue("shared_channel", fcs::Severity::warning,
                                      r.markers[i].marker + " and " + r.markers[j].marker +
                                          " both resolved to channel " + r.markers[i].channel_name));
      }
    }
  }
  return r;
}

Resolution resolve(const Panel& panel, const fcs::Dataset& ds, const ResolveOptions& options) {
  Resolution r = try_resolve(panel, ds, options);
  std::vector<Unresolved> failed;
  for (const Unresolved& u : r.unresolved) {
    if (u.required) failed.push_back(u);
  }
  if (failed.empty()) return r;
  std::string msg = label_of(options) + ": panel " + panel.name + " (" + panel.source.string() + "): ";
  if (failed.size() == 1) {
    msg += "required marker " + unresolved_text(failed.front());
  } else {
    msg += std::to_string(failed.size()) + " required markers not resolved:";
    for (const Unresolved& u : failed) msg += "\n  " + unresolved_text(u);
  }
  std::vector<std::string> chans;
  for (const fcs::Channel& c : ds.channels) chans.push_back(describe(c));
  msg += "\n  channels in the file: " + join(chans);
  throw ResolveError(options.label, msg, std::move(failed));
}

PanelChoice choose_panel(std::span<const Panel> panels, const fcs::Dataset& ds, const ResolveOptions& options) {
  if (panels.empty()) throw ResolveError(options.label, label_of(options) + ": no panels to choose from");
  std::optional<PanelChoice> best;
  std::vector<std::string> reasons;
  for (std::size_t i = 0; i < panels.size(); ++i) {
    // An explicit instrument only applies to panels that define it.
    ResolveOptions o = options;
    if (!o.instrument.empty() &&
        std::none_of(panels[i].instruments.begin(), panels[i].instruments.end(),
                     [&](const InstrumentMapping& im) { return detail::upper(im.name) == detail::upper(o.instrument); })) {
      o.instrument.clear();
    }
    Resolution r = try_resolve(panels[i], ds, o);
    if (!r.complete()) {
      std::vector<std::string> missing, amb;
      for (const Unresolved& u : r.unresolved) {
        if (!u.required) continue;
        if (u.ambiguous) amb.push_back(u.marker + " (" + join(u.candidates, " | ") + ")");
        else missing.push_back(u.marker);
      }
      std::string line = panels[i].name + ":";
      if (!missing.empty()) line += " missing " + join(missing);
      if (!amb.empty()) line += std::string(missing.empty() ? "" : ";") + " ambiguous " + join(amb, "; ");
      reasons.push_back(line);
      continue;
    }
    const auto better = [&](const PanelChoice& cur) {
      if (r.markers.size() != cur.resolution.markers.size()) return r.markers.size() > cur.resolution.markers.size();
      return panels[i].required_count() > panels[cur.index].required_count();
    };
    if (!best || better(*best)) best = PanelChoice{i, std::move(r)};
  }
  if (best) return std::move(*best);
  throw ResolveError(options.label, label_of(options) + ": no panel fits this data set:\n  " + join(reasons, "\n  "));
}

}  // namespace flowmrd::panels
