// SPDX-License-Identifier: Apache-2.0
// Event-level agreement (popcounts over the mask words) and population name matching.
#include "flowmrd/gating/qa.hpp"

#include <bit>
#include <cstdint>
#include <map>
#include <optional>

namespace flowmrd::gating {

Agreement compare_masks(const Mask& reference, const Mask& test) {
  if (reference.size() != test.size()) {
    throw std::invalid_argument("cannot compare populations over different events: the reference has " +
                                std::to_string(reference.size()) + " events, the test " +
                                std::to_string(test.size()));
  }
  Agreement a;
  const auto& rw = reference.words();
  const auto& tw = test.words();
  for (std::size_t i = 0; i < rw.size(); ++i) {
    a.reference_events += static_cast<std::size_t>(std::popcount(rw[i]));
    a.test_events += static_cast<std::size_t>(std::popcount(tw[i]));
    a.both += static_cast<std::size_t>(std::popcount(rw[i] & tw[i]));
  }
  a.reference_only = a.reference_events - a.both;
  a.test_only = a.test_events - a.both;
  a.difference_events = static_cast<long long>(a.test_events) - static_cast<long long>(a.reference_events);
  if (a.reference_events > 0)
    a.difference_percent = 100.0 * static_cast<double>(a.difference_events) / static_cast<double>(a.reference_events);
  if (a.reference_events == 0 && a.test_events == 0) {
    // Both gatings agree that the population is empty: perfect agreement, not 0/0.
    a.precision = a.recall = a.f1 = 1.0;
    return a;
  }
  const auto both = static_cast<double>(a.both);
  if (a.test_events > 0) a.precision = both / static_cast<double>(a.test_events);
  if (a.reference_events > 0) a.recall = both / static_cast<double>(a.reference_events);
  // 2PR/(P+R) written without the ratios, so it is defined whenever either side is non-empty.
  a.f1 = 2.0 * both / static_cast<double>(a.reference_events + a.test_events);
  return a;
}

std::string last_path_component(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

namespace {

std::string describe(const PopulationName& p) {
  return p.path.empty() || p.path == p.name ? "'" + p.name + "'" : "'" + p.name + "' (" + p.path + ")";
}

std::string list(const std::vector<PopulationName>& side, const std::vector<std::size_t>& indices) {
  std::string out;
  for (const std::size_t i : indices) out += (out.empty() ? "" : ", ") + describe(side[i]);
  return out;
}

// The one population of `side` whose name or path is `key`. Path matches win over name matches
// (a path is the more specific of the two).
std::size_t resolve_explicit(const std::vector<PopulationName>& side, const std::string& key, const char* which) {
  std::vector<std::size_t> by_path, by_name;
  for (std::size_t i = 0; i < side.size(); ++i) {
    if (side[i].path == key) by_path.push_back(i);
    else if (side[i].name == key) by_name.push_back(i);
  }
  const auto& found = by_path.empty() ? by_name : by_path;
  if (found.size() == 1) return found.front();
  if (found.empty()) {
    std::vector<std::size_t> all(side.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    throw MatchError(std::string{"--map: no "} + which + " population is named '" + key + "'; " + which +
                     " populations: " + (all.empty() ? std::string{"none"} : list(side, all)));
  }
  throw MatchError(std::string{"--map: '"} + key + "' names several " + which + " populations: " + list(side, found) +
                   "; give the full path");
}

template <class Pred>
std::vector<std::size_t> candidates(const std::vector<PopulationName>& test, const std::vector<bool>& taken,
                                    Pred pred) {
  std::vector<std::size_t> out;
  for (std::size_t t = 0; t < test.size(); ++t) {
    if (!taken[t] && pred(test[t])) out.push_back(t);
  }
  return out;
}

struct Found {
  std::vector<std::size_t> candidates;
  const char* rule = "";
};

Found find_candidates(const PopulationName& r, const std::vector<PopulationName>& test,
                      const std::vector<bool>& taken) {
  auto by_name = candidates(test, taken, [&](const PopulationName& t) { return t.name == r.name; });
  if (by_name.size() > 1) {
    std::vector<std::size_t> refined;
    for (const std::size_t t : by_name) {
      if (test[t].path == r.path) refined.push_back(t);
    }
    if (refined.size() == 1) return {refined, "path"};
  }
  if (!by_name.empty()) return {by_name, "name"};
  auto by_path = candidates(test, taken, [&](const PopulationName& t) { return t.path == r.path; });
  if (!by_path.empty()) return {by_path, "path"};
  const std::string last = last_path_component(r.path.empty() ? r.name : r.path);
  auto by_last = candidates(test, taken, [&](const PopulationName& t) {
    return last_path_component(t.path.empty() ? t.name : t.path) == last;
  });
  return {by_last, "last component"};
}

}  // namespace

PopulationMatching match_populations(const std::vector<PopulationName>& reference,
                                     const std::vector<PopulationName>& test,
                                     const std::vector<std::pair<std::string, std::string>>& explicit_map) {
  std::vector<std::optional<PopulationPair>> by_reference(reference.size());
  std::vector<bool> test_taken(test.size(), false);
  for (const auto& [ref_key, test_key] : explicit_map) {
    const std::size_t r = resolve_explicit(reference, ref_key, "reference");
    const std::size_t t = resolve_explicit(test, test_key, "test");
    if (by_reference[r]) {
      throw MatchError("--map: reference population " + describe(reference[r]) + " is mapped twice");
    }
    if (test_taken[t]) throw MatchError("--map: test population " + describe(test[t]) + " is mapped twice");
    by_reference[r] = PopulationPair{r, t, "map"};
    test_taken[t] = true;
  }
  const std::vector<bool> explicitly_taken = test_taken;
  std::map<std::size_t, std::size_t> claimed_by;  // test index -> reference index (automatic rules)
  for (std::size_t r = 0; r < reference.size(); ++r) {
    if (by_reference[r]) continue;
    const Found found = find_candidates(reference[r], test, explicitly_taken);
    if (found.candidates.empty()) continue;
    if (found.candidates.size() > 1) {
      throw MatchError("reference population " + describe(reference[r]) + " matches several test populations by " +
                       found.rule + ": " + list(test, found.candidates) + "; pair them with --map REF=TEST");
    }
    const std::size_t t = found.candidates.front();
    if (const auto it = claimed_by.find(t); it != claimed_by.end()) {
      throw MatchError("test population " + describe(test[t]) + " matches both reference populations " +
                       describe(reference[it->second]) + " and " + describe(reference[r]) +
                       "; pair them with --map REF=TEST");
    }
    claimed_by.emplace(t, r);
    by_reference[r] = PopulationPair{r, t, found.rule};
    test_taken[t] = true;
  }
  PopulationMatching out;
  for (std::size_t r = 0; r < reference.size(); ++r) {
    if (by_reference[r]) out.pairs.push_back(*by_reference[r]);
    else out.unmatched_reference.push_back(r);
  }
  for (std::size_t t = 0; t < test.size(); ++t) {
    if (!test_taken[t]) out.unmatched_test.push_back(t);
  }
  return out;
}

}  // namespace flowmrd::gating
