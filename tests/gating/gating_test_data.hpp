// SPDX-License-Identifier: Apache-2.0
// Small in-memory data sets for gating tests: written with the FCS writer and read back, so they
// are real fcs::Dataset objects with the usual conventions.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fcs/reader.hpp"
#include "fcs/writer.hpp"

namespace flowmrd::gating::testdata {

/// Channels named `names` with the given float32 columns (no truncation on read).
inline fcs::Dataset dataset(const std::vector<std::string>& names, const std::vector<std::vector<float>>& cols,
                            std::optional<fcs::Spillover> spill = std::nullopt) {
  fcs::WriteRequest req;
  for (const auto& n : names) req.channels.push_back({n, std::nullopt, 262144, 1});
  for (const auto& c : cols) req.columns.emplace_back(c);
  req.spillover = std::move(spill);
  fcs::ReadOptions o;
  o.truncate_max_range = false;
  auto f = fcs::read_bytes(fcs::write_bytes(req), o, "gating-test.fcs");
  return std::move(f.datasets.at(0));
}

/// Two channels X and Y holding the given points.
inline fcs::Dataset points(const std::vector<std::pair<float, float>>& pts) {
  std::vector<std::vector<float>> cols(2);
  for (const auto& [x, y] : pts) {
    cols[0].push_back(x);
    cols[1].push_back(y);
  }
  return dataset({"X", "Y"}, cols);
}

}  // namespace flowmrd::gating::testdata
