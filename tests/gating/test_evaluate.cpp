// SPDX-License-Identifier: Apache-2.0
// apply_gates end to end: parents, compensation ("FCS" and named), transforms, ratio dimensions,
// counts and shares, medians, thread-count independence, errors naming the missing channel.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "flowmrd/gating/evaluate.hpp"
#include "gating_test_data.hpp"

using namespace flowmrd::gating;

namespace {

Dimension dim(const std::string& ch, const std::string& comp = kUncompensated, const std::string& tr = {}) {
  Dimension d;
  d.channel = ch;
  d.compensation = comp;
  d.transform = tr;
  return d;
}

// FL1 spills 10% into FL2; true FL2 signal is 0 for the first half of the events.
fcs::Dataset spill_dataset(std::size_t n) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(1000.0f, 10000.0f);  // raw FL2 >= 100 everywhere
  std::vector<std::vector<float>> cols(3, std::vector<float>(n));
  for (std::size_t i = 0; i < n; ++i) {
    const float fl1 = u(rng);
    const float fl2 = i < n / 2 ? 0.0f : u(rng);
    cols[0][i] = static_cast<float>(i);
    cols[1][i] = fl1;
    cols[2][i] = fl2 + 0.1f * fl1;
  }
  fcs::Spillover sp;
  sp.source_keyword = "$SPILLOVER";
  sp.channels = {"FL1-A", "FL2-A"};
  sp.channel_indices = {2, 3};
  sp.values = {1.0, 0.1, 0.0, 1.0};
  return testdata::dataset({"Time", "FL1-A", "FL2-A"}, cols, sp);
}

}  // namespace

TEST(ApplyGates, FileCompensationRemovesSpillover) {
  const auto ds = spill_dataset(10000);
  GatingStrategy s;
  // FL2 < 50: only the events with no true FL2 signal once compensated.
  s.populations.push_back({"comp", "comp", std::nullopt, RectangleGate{{dim("FL2-A", kFileCompensation)}, {Interval{std::nullopt, 50.0}}}});
  s.populations.push_back({"raw", "raw", std::nullopt, RectangleGate{{dim("FL2-A")}, {Interval{std::nullopt, 50.0}}}});
  const auto r = apply_gates(s, ds);
  EXPECT_EQ(r.count("comp").events, 5000u);
  EXPECT_EQ(r.count("raw").events, 0u);
  EXPECT_DOUBLE_EQ(r.count("comp").percent_of_total, 50.0);
}

TEST(ApplyGates, NamedCompensationAndFluorochromeNames) {
  const auto ds = spill_dataset(2000);
  GatingStrategy s;
  s.compensations.emplace("M", Compensation({"FL1-A", "FL2-A"}, {1.0, 0.1, 0.0, 1.0}, {}));
  s.fluorochromes["M"] = {"FITC", "PE"};
  s.populations.push_back({"byDetector", "d", std::nullopt, RectangleGate{{dim("FL2-A", "M")}, {Interval{std::nullopt, 50.0}}}});
  s.populations.push_back({"byFluor", "f", std::nullopt, RectangleGate{{dim("PE", "M")}, {Interval{std::nullopt, 50.0}}}});
  // A channel outside the matrix is used as it is.
  s.populations.push_back({"time", "t", std::nullopt, RectangleGate{{dim("Time", "M")}, {Interval{0.0, 100.0}}}});
  const auto r = apply_gates(s, ds);
  EXPECT_EQ(r.count("byDetector").events, 1000u);
  EXPECT_EQ(r.mask("byFluor"), r.mask("byDetector"));
  EXPECT_EQ(r.count("time").events, 100u);
}

TEST(ApplyGates, FileCompensationWithoutMatrixIsUncompensatedWithANote) {
  const auto ds = testdata::points({{0.5f, 2}, {3, 2}});
  GatingStrategy s;
  s.populations.push_back({"G", "G", std::nullopt, RectangleGate{{dim("X", kFileCompensation)}, {Interval{0.0, 1.0}}}});
  const auto r = apply_gates(s, ds);
  EXPECT_EQ(r.count("G").events, 1u);
  ASSERT_EQ(r.notes().size(), 1u);
  EXPECT_NE(r.notes()[0].find("uncompensated"), std::string::npos) << r.notes()[0];
}

TEST(ApplyGates, MissingChannelIsAClearError) {
  const auto ds = testdata::points({{1, 2}});
  GatingStrategy s;
  s.populations.push_back({"G", "G", std::nullopt, RectangleGate{{dim("CD19")}, {Interval{0.0, 1.0}}}});
  try {
    (void)apply_gates(s, ds);
    FAIL() << "no error";
  } catch (const GatingError& e) {
    EXPECT_NE(std::string(e.what()).find("population 'G'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("channel 'CD19' is not in the data set (channels: X, Y)"), std::string::npos)
        << e.what();
  }
}

TEST(ApplyGates, TransformAndRatioBoundsClampValues) {
  const auto ds = testdata::points({{10, 1}, {100000, 1}, {-5, 1}});
  GatingStrategy s;
  s.transforms["lin"] = TransformSpec::parse("flin:T=1000,A=0");  // x / 1000
  s.transform_bounds["lin"] = Bounds{0.0, 1.0};
  // Clamped to [0, 1]: 100000 -> 1 and -5 -> 0; the range [0, 1) keeps -5 but not 100000.
  s.populations.push_back({"G", "G", std::nullopt, RectangleGate{{dim("X", kUncompensated, "lin")}, {Interval{0.0, 1.0}}}});
  Dimension ratio;
  ratio.ratio = RatioDimension{"R", "X", "Y", 1.0, 0.0, 0.0, Bounds{std::nullopt, 50.0}};
  s.populations.push_back({"Q", "Q", std::nullopt, RectangleGate{{ratio}, {Interval{50.0, std::nullopt}}}});
  const auto r = apply_gates(s, ds);
  EXPECT_TRUE(r.mask("G").test(0));
  EXPECT_FALSE(r.mask("G").test(1));
  EXPECT_TRUE(r.mask("G").test(2));
  EXPECT_EQ(r.count("Q").events, 1u);  // 100000 clamped to exactly 50
  s.transform_bounds["lin"] = Bounds{2.0, 1.0};
  EXPECT_THROW((void)apply_gates(s, ds), GatingError);
}

TEST(ApplyGates, TransformedAndRatioDimensions) {
  const auto ds = testdata::points({{10, 1}, {100, 1}, {1000, 1}, {100, 10}});
  GatingStrategy s;
  s.transforms["log"] = TransformSpec::parse("flog:T=10000,M=4");  // 1 + log10(x / T) / M
  // flog(100) = 1 + (-2) / 4 = 0.5: [0.5, 0.75) holds 100 (0.5) but not 1000 (0.75).
  s.populations.push_back({"L", "L", std::nullopt, RectangleGate{{dim("X", kUncompensated, "log")}, {Interval{0.5, 0.75}}}});
  Dimension ratio;
  ratio.ratio = RatioDimension{"R", "X", "Y", 2.0, 0.0, 0.0, {}};  // 2 X / Y
  s.populations.push_back({"Q", "Q", std::nullopt, RectangleGate{{ratio}, {Interval{100.0, 300.0}}}});
  const auto r = apply_gates(s, ds);
  EXPECT_EQ(r.count("L").events, 2u);
  EXPECT_TRUE(r.mask("L").test(1));
  EXPECT_TRUE(r.mask("L").test(3));
  EXPECT_EQ(r.count("Q").events, 1u);  // 2 * 100 / 1 = 200
  EXPECT_TRUE(r.mask("Q").test(1));
  const auto v = dimension_values(s, ratio, ds);
  EXPECT_DOUBLE_EQ(v[0], 20.0);
  EXPECT_DOUBLE_EQ(v[3], 20.0);
}

TEST(ApplyGates, CountsSharesAndParents) {
  std::vector<std::pair<float, float>> pts;
  for (int i = 0; i < 100; ++i) pts.emplace_back(static_cast<float>(i), static_cast<float>(i % 10));
  const auto ds = testdata::points(pts);
  GatingStrategy s;
  s.populations.push_back({"P", "Parent", std::nullopt, RectangleGate{{dim("X")}, {Interval{0.0, 50.0}}}});
  s.populations.push_back({"C", "Child", "P", RectangleGate{{dim("Y")}, {Interval{0.0, 5.0}}}});
  const auto r = apply_gates(s, ds);
  EXPECT_EQ(r.events(), 100u);
  EXPECT_EQ(r.count("P").events, 50u);
  EXPECT_EQ(r.count("C").events, 25u);
  EXPECT_DOUBLE_EQ(r.count("C").percent_of_parent, 50.0);
  EXPECT_DOUBLE_EQ(r.count("C").percent_of_total, 25.0);
  EXPECT_EQ(r.count("C").path, "Parent/Child");
  EXPECT_THROW((void)r.mask("nope"), GatingError);
  const auto x = dimension_values(s, dim("X"), ds);
  EXPECT_EQ(median(x, r.mask("C")), 22.0);  // X of C: 0-4, 10-14, ..., 40-44: the 13th of 25
  EXPECT_EQ(median(x, Mask(100)), std::nullopt);
}

TEST(ApplyGates, SameMasksAtAnyThreadCountAndChunkEdges) {
  // More than two chunks, an odd tail, and a polygon + ellipse + boolean tree.
  const std::size_t n = 65536 * 2 + 777;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<std::pair<float, float>> pts(n);
  for (auto& p : pts) p = {u(rng), u(rng)};
  const auto ds = testdata::points(pts);
  GatingStrategy s;
  s.populations.push_back({"poly", "poly", std::nullopt, PolygonGate{dim("X"), dim("Y"), {{-0.9, -0.9}, {0.9, -0.5}, {0.2, 0.9}, {-0.5, 0.1}}}});
  s.populations.push_back({"ell", "ell", "poly", EllipsoidGate{{dim("X"), dim("Y")}, {0, 0}, {0.2, 0.05, 0.05, 0.1}, 1}});
  s.populations.push_back({"or", "or", std::nullopt, BooleanGate{BooleanGate::Op::or_, {{"ell", false}, {"poly", true}}}});
  GateOptions one;
  one.threads = 1;
  GateOptions two;
  two.threads = 2;
  const auto a = apply_gates(s, ds, one);
  const auto b = apply_gates(s, ds, two);
  const auto c = apply_gates(s, ds);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(a.mask(i), b.mask(i));
    EXPECT_EQ(a.mask(i), c.mask(i));
  }
  // Brute-force reference for the polygon on every event near the chunk edges.
  for (std::size_t i : {std::size_t{0}, std::size_t{65535}, std::size_t{65536}, std::size_t{131071}, std::size_t{131072}, n - 1}) {
    EXPECT_EQ(a.mask("or").test(i), a.mask("ell").test(i) || !a.mask("poly").test(i)) << i;
  }
  EXPECT_GT(a.count("poly").events, n / 10);
  EXPECT_LT(a.count("poly").events, n);
  // Tail bits stay clear.
  EXPECT_EQ(a.mask("or").words().back() >> (n % 64), 0u);
}

TEST(ApplyGates, FastPrecisionAgreesOffTheBoundary) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-500.0f, 200000.0f);
  std::vector<std::pair<float, float>> pts(20000);
  for (auto& p : pts) p = {u(rng), u(rng)};
  const auto ds = testdata::points(pts);
  GatingStrategy s;
  s.transforms["L"] = TransformSpec::parse("logicle:T=262144,W=0.5,M=4.5,A=0");
  s.populations.push_back({"G", "G", std::nullopt,
                           PolygonGate{dim("X", kUncompensated, "L"), dim("Y", kUncompensated, "L"),
                                       {{0.2, 0.2}, {0.9, 0.3}, {0.8, 0.95}, {0.3, 0.7}}}});
  GateOptions fast;
  fast.precision = Precision::fast;
  const auto exact = apply_gates(s, ds);
  const auto approx = apply_gates(s, ds, fast);
  const auto diff = (exact.mask("G") | approx.mask("G")).count() - (exact.mask("G") & approx.mask("G")).count();
  EXPECT_LE(diff, 1u);  // at most an event within 1e-6 of an edge
  EXPECT_GT(exact.count("G").events, 1000u);
}
