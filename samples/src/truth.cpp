// SPDX-License-Identifier: Apache-2.0
// The truth file (schema flowmrd.truth/1, docs/simulator.md "Truth files").
#include "flowmrd/samples/truth.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace flowmrd::samples {

namespace {

constexpr std::string_view label_digits = "0123456789abcdefghijklmnopqrstuvwxyz";

}  // namespace

void finalize_truth(Truth& truth) {
  truth.counts.fill(0);
  for (const auto code : truth.labels) {
    if (code >= population_count) throw std::runtime_error("truth: label code out of range");
    ++truth.counts[code];
  }
  truth.events = truth.labels.size();
  truth.denominator = 0;
  truth.blasts = 0;
  for (const auto p : all_populations()) {
    const auto n = truth.counts[static_cast<std::size_t>(p)];
    if (in_denominator(p)) truth.denominator += n;
    if (is_blast(p)) truth.blasts += n;
  }
  truth.mrd_percent = truth.denominator == 0
                          ? 0.0
                          : 100.0 * static_cast<double>(truth.blasts) / static_cast<double>(truth.denominator);
  // CD19-negative B blasts only: monocytic blasts are CD19-negative too, but they raise the
  // separate lineage-switch flag.
  truth.cd19_negative = truth.counts[static_cast<std::size_t>(Population::blast_b_cd19neg)] > 0;
  truth.lineage_switch = truth.counts[static_cast<std::size_t>(Population::blast_monocytic)] > 0;
}

std::string truth_to_json(const Truth& truth) {
  nlohmann::ordered_json j;
  j["schema"] = "flowmrd.truth/1";
  j["scenario"] = truth.scenario;
  j["profile"] = truth.profile;
  j["seed"] = truth.seed;
  j["events"] = truth.events;
  j["denominator"] = truth.denominator;
  j["denominator_definition"] = "nucleated viable single cells: all events except debris, doublet, dead";
  j["blasts"] = truth.blasts;
  j["mrd_percent"] = truth.mrd_percent;
  j["flags"] = {{"cd19_negative", truth.cd19_negative}, {"lineage_switch", truth.lineage_switch}};
  nlohmann::ordered_json counts = nlohmann::ordered_json::object();
  nlohmann::ordered_json codes = nlohmann::ordered_json::object();
  for (const auto p : all_populations()) {
    const auto i = static_cast<std::size_t>(p);
    counts[std::string{population_name(p)}] = truth.counts[i];
    codes[std::string(1, label_digits[i])] = population_name(p);
  }
  j["counts"] = counts;
  j["label_codes"] = codes;
  std::string labels;
  labels.reserve(truth.labels.size());
  for (const auto code : truth.labels) labels.push_back(label_digits[code]);
  j["event_labels"] = labels;
  return j.dump(1) + "\n";
}

Truth truth_from_json(const std::string& text) {
  const auto j = nlohmann::json::parse(text);
  if (j.value("schema", "") != "flowmrd.truth/1") throw std::runtime_error("truth: not a flowmrd.truth/1 document");
  Truth t;
  t.scenario = j.at("scenario").get<std::string>();
  t.profile = j.at("profile").get<std::string>();
  t.seed = j.at("seed").get<std::uint64_t>();
  const auto labels = j.at("event_labels").get<std::string>();
  t.labels.reserve(labels.size());
  for (const char c : labels) {
    const auto pos = label_digits.find(c);
    if (pos == std::string_view::npos || pos >= population_count) throw std::runtime_error("truth: bad label");
    t.labels.push_back(static_cast<std::uint8_t>(pos));
  }
  finalize_truth(t);
  return t;
}

std::filesystem::path truth_path_for(const std::filesystem::path& fcs_path) {
  std::filesystem::path p = fcs_path;
  p.replace_extension(".truth.json");
  return p;
}

}  // namespace flowmrd::samples
