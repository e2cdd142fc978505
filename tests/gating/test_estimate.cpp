// SPDX-License-Identifier: Apache-2.0
// Parameter estimation never throws: real columns give sensible values, degenerate ones defaults + notes.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "fcs/reader.hpp"
#include "flowmrd/gating/estimate.hpp"

using namespace flowmrd::gating;

namespace {
bool has_note(const Estimate& e, const std::string& code) {
  for (const auto& n : e.notes)
    if (n.code == code) return true;
  return false;
}
double param(const Estimate& e, const std::string& k) { return e.spec.params.at(k); }
}  // namespace

TEST(EstimateLogicle, FromNegativeTail) {
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 100.0f);
  std::vector<float> v(100000);
  for (auto& x : v) x = noise(rng);
  const Estimate e = estimate_logicle(v, 262144, 4.5);
  EXPECT_EQ(e.spec.kind, TransformKind::logicle);
  // 5th percentile of |N(0,100)| negatives is about -196: W = (4.5 - log10(262144/196)) / 2 ~ 0.68.
  EXPECT_NEAR(param(e, "W"), (4.5 - std::log10(262144.0 / 196.0)) / 2, 0.03);
  EXPECT_EQ(param(e, "T"), 262144);
  EXPECT_EQ(param(e, "M"), 4.5);
  EXPECT_TRUE(e.notes.empty());
}

TEST(EstimateLogicle, DegenerateColumnsGiveDefaults) {
  const std::vector<float> empty;
  EXPECT_TRUE(has_note(estimate_logicle(empty, 262144), "empty_column"));
  const std::vector<float> zeros(1000, 0.0f);
  const Estimate z = estimate_logicle(zeros, 262144);
  EXPECT_TRUE(has_note(z, "constant_column"));
  EXPECT_EQ(param(z, "W"), 0);
  const std::vector<float> positive = {1, 2, 3, 400, 5000};
  EXPECT_TRUE(has_note(estimate_logicle(positive, 262144), "logicle_no_negatives"));
  const std::vector<float> tiny_negative = {-0.001f, 10, 20, 30};
  const Estimate c = estimate_logicle(tiny_negative, 262144);
  EXPECT_TRUE(has_note(c, "logicle_w_clamped"));  // flowCore: "w is negative"
  EXPECT_EQ(param(c, "W"), 0);
  const std::vector<float> nan_only = {NAN, NAN};
  EXPECT_TRUE(has_note(estimate_logicle(nan_only, 0), "logicle_top_from_data"));
}

TEST(EstimateLogicle, HugeNegativeTailClampsToHalfM) {
  const std::vector<float> v = {-3000000, -2500000, 10, 20};  // W would be 2.78
  const Estimate e = estimate_logicle(v, 262144, 4.5);
  EXPECT_EQ(param(e, "W"), 2.25);
  EXPECT_TRUE(has_note(e, "logicle_w_clamped"));
}

TEST(EstimateArcsinh, CofactorFromNoise) {
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0f, 80.0f);
  std::vector<float> v(200000);
  for (auto& x : v) x = noise(rng);
  const Estimate e = estimate_arcsinh(v);
  EXPECT_EQ(e.spec.kind, TransformKind::arcsinh);
  EXPECT_NEAR(1.0 / param(e, "b"), 80.0, 4.0);
}

TEST(EstimateArcsinh, Defaults) {
  const std::vector<float> counts = {0, 1, 3, 7, 20, 150};
  EXPECT_NEAR(1.0 / param(estimate_arcsinh(counts), "b"), 5.0, 1e-12);
  const std::vector<float> fluor = {0, 100, 3000, 70000};
  EXPECT_NEAR(1.0 / param(estimate_arcsinh(fluor), "b"), 150.0, 1e-9);
  EXPECT_TRUE(has_note(estimate_arcsinh(std::vector<float>{}), "empty_column"));
}

// Every channel of every shared real file: no exception, finite parameters inside the spec's domain.
TEST(EstimateOnRealFiles, NeverThrows) {
  const std::filesystem::path root = std::filesystem::path(FLOWMRD_SHARED_DATA) / "fcs" / "files";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "shared data not found at " << root;
  int files = 0, channels = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    fcs::File f;
    try {
      f = fcs::read_file(entry.path());
    } catch (const fcs::Error&) {
      continue;  // not readable FCS (the golden tests cover which)
    }
    ++files;
    for (const fcs::Dataset& ds : f.datasets) {
      for (std::size_t j = 0; j < ds.channels.size(); ++j) {
        std::vector<float> col(ds.events.rows());
        for (std::size_t i = 0; i < col.size(); ++i) col[i] = static_cast<float>(ds.events.value(i, j));
        const Estimate l = estimate_logicle(col, ds.channels[j].range);
        const double w = param(l, "W"), m = param(l, "M"), t = param(l, "T");
        EXPECT_TRUE(std::isfinite(w) && w >= 0 && w <= m / 2) << entry.path() << " " << ds.channels[j].name;
        EXPECT_TRUE(std::isfinite(t) && t > 0) << entry.path() << " " << ds.channels[j].name;
        const Estimate a = estimate_arcsinh(col);
        EXPECT_TRUE(std::isfinite(param(a, "b")) && param(a, "b") > 0);
        ++channels;
      }
    }
  }
  EXPECT_GT(files, 100);
  RecordProperty("channels", channels);
}
