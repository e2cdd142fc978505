// SPDX-License-Identifier: Apache-2.0
#include "fcs/spillover.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "fcs/channel.hpp"
#include "fcs/keywords.hpp"

namespace fcs {

namespace {

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ',') {
      out.emplace_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  return out;
}

int channel_by_name(const std::vector<Channel>& channels, std::string_view name) {
  for (const Channel& c : channels)
    if (c.name == name) return c.index;
  for (const Channel& c : channels)
    if (iequals(c.name, name)) return c.index;
  return 0;
}

void add_issue(Issues& issues, int dataset, Severity sev, std::string code, std::string message,
               const Keyword& kw) {
  issues.push_back(Issue{std::move(code), sev, std::move(message), kw.offset, kw.name, dataset});
}

// "$SPILLOVER"-style value: n, n channel names, n*n values row by row (FCS 3.1 §3.2.20).
std::optional<Spillover> parse_named(const Keyword& kw, const std::vector<Channel>& channels,
                                     bool allow_index_names, bool allow_size_repair, Issues& issues,
                                     int dataset) {
  const std::vector<std::string> f = split_commas(kw.value);
  const auto n_opt = f.empty() ? std::nullopt : parse_uint(f[0]);
  if (!n_opt || *n_opt == 0 || *n_opt > 4096) {
    add_issue(issues, dataset, Severity::warning, "bad_spillover",
              "spillover matrix ignored: the first field is not a channel count", kw);
    return std::nullopt;
  }
  std::size_t n = *n_opt;
  const std::size_t fields = f.size() - 1;
  if (fields != n + n * n) {
    // Some writers (Miltenyi MACSQuant) state n but list a different number of channels. The
    // true size m solves m + m^2 = fields; repaired only when that m is a whole number.
    const double m_real = (-1.0 + std::sqrt(1.0 + 4.0 * static_cast<double>(fields))) / 2.0;
    const auto m = static_cast<std::size_t>(std::llround(m_real));
    bool numeric = m > 0 && m + m * m == fields;
    for (std::size_t k = 1 + m; numeric && k < f.size(); ++k) numeric = parse_double(f[k]).has_value();
    if (allow_size_repair && numeric) {
      add_issue(issues, dataset, Severity::warning, "spillover_size",
                "spillover matrix says " + std::to_string(n) + " channels but holds " + std::to_string(m) +
                    " names and " + std::to_string(m * m) + " values; read as " + std::to_string(m) + "x" +
                    std::to_string(m),
                kw);
      n = m;
    } else {
      add_issue(issues, dataset, Severity::warning, allow_size_repair ? "bad_spillover" : "spillover_size",
                "spillover matrix ignored: " + std::to_string(n) + " channels need " + std::to_string(n + n * n) +
                    " fields after the count, found " + std::to_string(fields),
                kw);
      return std::nullopt;
    }
  }
  Spillover s;
  s.source_keyword = kw.name;
  bool by_index = false;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& name = f[1 + i];
    int idx = channel_by_name(channels, name);
    if (idx == 0 && !channels.empty()) {
      // Beckman Navios names spillover channels by their 1-based parameter number.
      if (auto num = parse_uint(name); num && *num >= 1 && *num <= channels.size() && allow_index_names) {
        idx = static_cast<int>(*num);
        by_index = true;
      }
    }
    s.channels.push_back(idx != 0 ? channels[static_cast<std::size_t>(idx - 1)].name : name);
    s.channel_indices.push_back(idx);
  }
  if (by_index) {
    add_issue(issues, dataset, Severity::warning, "spillover_channel_index",
              "spillover matrix names channels by parameter number; mapped to $PnN", kw);
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (s.channel_indices[i] == 0 && !channels.empty()) {
      add_issue(issues, dataset, Severity::warning, "spillover_unknown_channel",
                "spillover matrix names channel '" + s.channels[i] + "' which is not a $PnN of this data set", kw);
    }
  }
  s.values.reserve(n * n);
  for (std::size_t k = 0; k < n * n; ++k) {
    const auto v = parse_double(f[1 + n + k]);
    if (!v) {
      add_issue(issues, dataset, Severity::warning, "bad_spillover",
                "spillover matrix ignored: value '" + f[1 + n + k] + "' is not a number", kw);
      return std::nullopt;
    }
    s.values.push_back(*v);
  }
  return s;
}

}  // namespace

std::vector<Spillover> parse_spillovers(const Keywords& kw, const std::vector<Channel>& channels,
                                        bool allow_index_names, bool allow_size_repair, Issues& issues,
                                        int dataset) {
  std::vector<Spillover> out;
  // Exact (case-sensitive) names, in the order flowCore's spillover() looks for them.
  for (const char* name : {"SPILL", "spillover", "$SPILLOVER"}) {
    for (const Keyword& k : kw) {
      if (k.name != name) continue;
      if (auto s = parse_named(k, channels, allow_index_names, allow_size_repair, issues, dataset))
        out.push_back(std::move(*s));
    }
  }
  // FCS 3.0 $COMP: n followed by n*n values over the first n parameters.
  if (const Keyword* k = kw.find("$COMP")) {
    const auto f = split_commas(k->value);
    const auto n = f.empty() ? std::nullopt : parse_uint(f[0]);
    if (n && *n > 0 && *n <= channels.size() && f.size() == 1 + *n * *n) {
      Spillover s;
      s.source_keyword = "$COMP";
      for (std::size_t i = 0; i < *n; ++i) {
        s.channels.push_back(channels[i].name);
        s.channel_indices.push_back(channels[i].index);
      }
      bool ok = true;
      for (std::size_t i = 1; i < f.size() && ok; ++i) {
        if (auto v = parse_double(f[i])) s.values.push_back(*v);
        else ok = false;
      }
      if (ok) out.push_back(std::move(s));
      else add_issue(issues, dataset, Severity::warning, "bad_spillover", "$COMP ignored: a value is not a number", *k);
    } else {
      add_issue(issues, dataset, Severity::warning, "bad_spillover", "$COMP ignored: not 'n' followed by n*n values", *k);
    }
  }
  // FCS 2.0 $DFCiTOj: percent of dye i's signal seen in channel j.
  {
    Spillover s;
    s.source_keyword = "$DFC";
    std::vector<std::pair<std::pair<int, int>, double>> entries;
    int max_idx = 0;
    for (const Keyword& k : kw) {
      if (k.name.size() < 8 || !iequals(std::string_view(k.name).substr(0, 4), "$DFC")) continue;
      const std::string_view rest = std::string_view(k.name).substr(4);
      const auto to = rest.find_first_of("Tt");
      if (to == std::string_view::npos || to + 1 >= rest.size() || (rest[to + 1] != 'O' && rest[to + 1] != 'o')) continue;
      const auto i = parse_uint(rest.substr(0, to));
      const auto j = parse_uint(rest.substr(to + 2));
      const auto v = parse_double(k.value);
      if (!i || !j || !v || *i == 0 || *j == 0 || *i > channels.size() || *j > channels.size()) continue;
      entries.push_back({{static_cast<int>(*i), static_cast<int>(*j)}, *v / 100.0});
      max_idx = std::max({max_idx, static_cast<int>(*i), static_cast<int>(*j)});
    }
    if (!entries.empty()) {
      const auto n = static_cast<std::size_t>(max_idx);
      for (std::size_t i = 0; i < n; ++i) {
        s.channels.push_back(channels[i].name);
        s.channel_indices.push_back(channels[i].index);
      }
      s.values.assign(n * n, 0.0);
      for (std::size_t i = 0; i < n; ++i) s.values[i * n + i] = 1.0;
      for (const auto& [ij, v] : entries)
        if (ij.first != ij.second) s.values[static_cast<std::size_t>(ij.first - 1) * n + static_cast<std::size_t>(ij.second - 1)] = v;
      out.push_back(std::move(s));
    }
  }
  return out;
}

const Spillover* preferred_spillover(const std::vector<Spillover>& all) noexcept {
  return all.empty() ? nullptr : &all.front();
}

}  // namespace fcs
