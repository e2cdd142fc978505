// SPDX-License-Identifier: Apache-2.0
// Agreement with the reference values in ${FLOWMRD_SHARED_DATA}/transforms (FlowKit 1.2.3 /
// FlowUtils 1.1.0, which agree with R flowCore's Gating-ML implementations to 2.3e-16; format in
// that folder's README): within 1e-9 (relative, absolute below 1) for the Gating-ML transforms,
// within 0.01 channel for FlowJo's biex table. Skipped when the shared data is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flowmrd/gating/transform.hpp"

namespace {

namespace fs = std::filesystem;
using flowmrd::gating::Transform;
using flowmrd::gating::TransformKind;
using flowmrd::gating::TransformSpec;
using flowmrd::gating::transform_kind_from_string;

struct Reference {
  std::string file;
  TransformSpec spec;
  std::vector<double> x;
  std::vector<double> y;
};

fs::path reference_dir() { return fs::path(FLOWMRD_SHARED_DATA) / "transforms"; }

std::vector<Reference> load_references() {
  std::vector<Reference> out;
  const fs::path dir = reference_dir();
  if (!fs::is_directory(dir)) return out;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& path : files) {
    std::ifstream in(path);
    const nlohmann::json j = nlohmann::json::parse(in);
    Reference r;
    r.file = path.filename().string();
    r.spec.kind = transform_kind_from_string(j.at("transform").get<std::string>());
    for (const auto& [key, value] : j.at("params").items()) r.spec.params[key] = value.get<double>();
    r.x = j.at("x").get<std::vector<double>>();
    r.y = j.at("y").get<std::vector<double>>();
    out.push_back(std::move(r));
  }
  return out;
}

const std::vector<Reference>& references() {
  static const std::vector<Reference> refs = load_references();
  return refs;
}

/// Error measure of the reference comparison: channels for biex, else relative above 1 and
/// absolute below.
double error_of(TransformKind kind, double got, double want) {
  const double d = std::abs(got - want);
  return kind == TransformKind::biex ? d : d / std::max(1.0, std::abs(want));
}

double tolerance_of(TransformKind kind) { return kind == TransformKind::biex ? 0.01 : 1e-9; }

class TransformReference : public ::testing::Test {
 protected:
  void SetUp() override {
    if (references().empty()) GTEST_SKIP() << "no reference values in " << reference_dir();
  }
};

TEST_F(TransformReference, EveryTransformIsCovered) {
  std::set<TransformKind> kinds;
  for (const Reference& r : references()) kinds.insert(r.spec.kind);
  for (const TransformKind k : {TransformKind::flin, TransformKind::flog, TransformKind::fasinh, TransformKind::logicle,
                                TransformKind::hyperlog, TransformKind::biex}) {
    EXPECT_TRUE(kinds.count(k)) << "no reference file for " << to_string(k);
  }
}

TEST_F(TransformReference, ExactPathAgreesWithEveryValue) {
  for (const Reference& r : references()) {
    const Transform t(r.spec);
    const TransformKind kind = t.spec().kind;
    double worst = 0;
    std::vector<double> bulk(r.x.size());
    t.apply_exact(r.x, bulk);
    for (std::size_t i = 0; i < r.x.size(); ++i) {
      const double got = t.apply(r.x[i]);
      const double err = error_of(kind, got, r.y[i]);
      worst = std::max(worst, err);
      EXPECT_LE(err, tolerance_of(kind)) << r.file << " x=" << std::setprecision(17) << r.x[i] << " got " << got
                                         << " want " << r.y[i];
      EXPECT_EQ(bulk[i], got) << r.file << " x=" << r.x[i];
    }
    std::cout << "  " << std::left << std::setw(66) << r.file << " max error " << std::setprecision(3) << worst
              << (kind == TransformKind::biex ? " channel\n" : "\n");
    RecordProperty(r.file, std::to_string(worst));
  }
}

TEST_F(TransformReference, InverseOfReferenceValuesGivesTheInputs) {
  for (const Reference& r : references()) {
    const Transform t(r.spec);
    if (t.spec().kind == TransformKind::biex) continue;  // a clipped table: see BiexInverse
    const double floor = 1e-6 * t.spec().params.at("T");
    for (std::size_t i = 0; i < r.x.size(); ++i) {
      const double back = t.inverse(r.y[i]);
      EXPECT_NEAR(back, r.x[i], 1e-9 * std::max(std::abs(r.x[i]), floor)) << r.file << " y=" << r.y[i];
    }
  }
}

TEST_F(TransformReference, BiexInverseWithinTheTable) {
  // FlowJo's table is linear between channels; inside it, our inverse of the table's channel
  // lands within the data-value span of 0.01 channel of the input.
  for (const Reference& r : references()) {
    const Transform t(r.spec);
    if (t.spec().kind != TransformKind::biex) continue;
    for (std::size_t i = 0; i < r.x.size(); ++i) {
      if (r.y[i] <= 0 || r.y[i] >= 4096) continue;
      const double lo = t.inverse(r.y[i] - 0.01);
      const double hi = t.inverse(r.y[i] + 0.01);
      EXPECT_LE(lo, r.x[i]) << r.file << " x=" << r.x[i];
      EXPECT_GE(hi, r.x[i]) << r.file << " x=" << r.x[i];
    }
  }
}

TEST_F(TransformReference, FastPathAgreesWithEveryValue) {
  // The fast path rounds to float32; its own error is below 1e-6 (docs/transforms.md).
  for (const Reference& r : references()) {
    const Transform t(r.spec);
    const TransformKind kind = t.spec().kind;
    if (kind == TransformKind::flog) continue;  // direct formula, covered by the exact path
    std::vector<float> out(r.x.size());
    t.apply(std::span<const double>(r.x), std::span<float>(out));
    for (std::size_t i = 0; i < r.x.size(); ++i) {
      const double want = r.y[i];
      const double rounding = 0.5 * std::abs(std::nextafter(static_cast<float>(want), 0.0f) - static_cast<float>(want));
      const double bound = kind == TransformKind::biex ? 0.01 : 1e-6 + 2 * rounding;
      EXPECT_NEAR(out[i], want, bound) << r.file << " x=" << r.x[i];
    }
  }
}

TEST_F(TransformReference, LogicleFlowCoreIsMTimesTheReference) {
  // flowCore's logicleTransform(w, t, m, a) = m * Gating-ML logicle (README of the reference data).
  for (const Reference& r : references()) {
    if (r.spec.kind != TransformKind::logicle) continue;
    TransformSpec fc;
    fc.kind = TransformKind::logicle_flowcore;
    fc.params = {{"t", r.spec.params.at("T")}, {"w", r.spec.params.at("W")}, {"m", r.spec.params.at("M")},
                 {"a", r.spec.params.at("A")}};
    const Transform t(fc);
    const double m = r.spec.params.at("M");
    for (std::size_t i = 0; i < r.x.size(); ++i) {
      EXPECT_LE(std::abs(t.apply(r.x[i]) - m * r.y[i]) / std::max(1.0, std::abs(m * r.y[i])), 1e-9)
          << r.file << " x=" << r.x[i];
    }
  }
}

}  // namespace
