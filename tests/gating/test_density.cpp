// SPDX-License-Identifier: Apache-2.0
// Unit tests of density-based gate finding on synthetic mixtures drawn with a fixed-seed
// std::mt19937_64 and a hand-written Box-Muller transform (std::normal_distribution is
// implementation-defined, so its numbers could change between standard libraries):
// 1D valleys, peaks and tail cuts against the analytic answers, 2D contours around one of two
// clusters, the fraction-keeping level, and degenerate inputs (empty, NaN, constant, one bin).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <random>
#include <stdexcept>
#include <vector>

#include "flowmrd/gating/density.hpp"
#include "flowmrd/gating/evaluate.hpp"
#include "gating_test_data.hpp"

namespace {

using namespace flowmrd::gating;

// Standard normal deviates by Box-Muller from 53-bit uniforms: identical on every platform.
class Normal {
 public:
  explicit Normal(std::uint64_t seed) : eng_(seed) {}
  double operator()() {
    if (have_spare_) {
      have_spare_ = false;
      return spare_;
    }
    double u1 = 0.0;
    do {
      u1 = uniform();
    } while (u1 <= 0.0);
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * std::numbers::pi * u2);
    have_spare_ = true;
    return r * std::cos(2.0 * std::numbers::pi * u2);
  }
  double uniform() { return static_cast<double>(eng_() >> 11) * 0x1.0p-53; }

 private:
  std::mt19937_64 eng_;
  double spare_ = 0.0;
  bool have_spare_ = false;
};

struct Component {
  double weight, mean, sd;
};

double normal_pdf(double x, double mean, double sd) {
  const double z = (x - mean) / sd;
  return std::exp(-0.5 * z * z) / (sd * std::sqrt(2.0 * std::numbers::pi));
}

// n values from a mixture, in component order (component k fills a contiguous block).
std::vector<float> draw_mixture(const std::vector<Component>& mix, std::size_t n, std::uint64_t seed) {
  Normal rnd(seed);
  std::vector<float> v;
  v.reserve(n);
  for (const Component& c : mix) {
    const auto k = static_cast<std::size_t>(std::llround(c.weight * static_cast<double>(n)));
    for (std::size_t i = 0; i < k; ++i) v.push_back(static_cast<float>(c.mean + c.sd * rnd()));
  }
  return v;
}

// The mixture density's minimum between a and b, by a fine grid search (1e-5 resolution).
double true_minimum(const std::vector<Component>& mix, double a, double b) {
  double best_x = a, best = std::numeric_limits<double>::infinity();
  for (double x = a; x <= b; x += 1e-5) {
    double d = 0.0;
    for (const Component& c : mix) d += c.weight * normal_pdf(x, c.mean, c.sd);
    if (d < best) {
      best = d;
      best_x = x;
    }
  }
  return best_x;
}

double integral(const Density1D& d) {
  double s = 0.0;
  for (double v : d.density) s += v;
  return s * d.step;
}

bool has_note(const std::vector<DensityNote>& notes, const std::string& code) {
  for (const auto& n : notes) {
    if (n.code == code) return true;
  }
  return false;
}

// ------------------------------------------------------------------------------------ 1D

TEST(Kde1D, BimodalValleyWithinFivePercentOfTheTrueMinimum) {
  const std::vector<std::vector<Component>> cases = {
      {{0.6, 1.0, 0.4}, {0.4, 3.0, 0.5}},
      {{0.9, 0.0, 0.5}, {0.1, 3.0, 0.5}},     // a small population beside a big one
      {{0.5, 2.0, 0.6}, {0.5, 4.5, 0.3}},     // unequal widths
  };
  std::uint64_t seed = 11;
  for (const auto& mix : cases) {
    const std::vector<float> v = draw_mixture(mix, 200000, seed++);
    const Density1D d = kde_1d(v);
    const std::vector<Peak> peaks = find_peaks(d);
    ASSERT_EQ(peaks.size(), 2u) << "mixture means " << mix[0].mean << ", " << mix[1].mean;
    EXPECT_NEAR(peaks[0].position, mix[0].mean, 0.2 * mix[0].sd);  // a KDE mode is a noisy estimator
    EXPECT_NEAR(peaks[1].position, mix[1].mean, 0.2 * mix[1].sd);
    const Cut1D cut = find_valley(d);
    ASSERT_TRUE(cut.found) << cut.note;
    const double truth = true_minimum(mix, mix[0].mean, mix[1].mean);
    EXPECT_NEAR(cut.position, truth, 0.05 * (mix[1].mean - mix[0].mean)) << "true minimum " << truth;
    EXPECT_GT(cut.depth, 0.5);
    ASSERT_TRUE(cut.left && cut.right);
    EXPECT_LT(cut.left->position, cut.position);
    EXPECT_GT(cut.right->position, cut.position);
  }
}

TEST(Kde1D, ValleyBetweenGivenPositions) {
  const std::vector<Component> mix = {{0.4, 0.0, 0.3}, {0.3, 2.0, 0.3}, {0.3, 4.0, 0.3}};
  const Density1D d = kde_1d(draw_mixture(mix, 150000, 5));
  EXPECT_EQ(find_peaks(d).size(), 3u);
  const Cut1D second = find_valley(d, 4.0, 2.0);  // order does not matter
  ASSERT_TRUE(second.found) << second.note;
  EXPECT_NEAR(second.position, true_minimum(mix, 2.0, 4.0), 0.1);
  const Cut1D none = find_valley(d, 4.0, 4.0 + d.step / 2);  // no grid point strictly inside
  EXPECT_FALSE(none.found);
  const Cut1D monotone = find_valley(d, 4.2, 6.0);  // falling flank only
  EXPECT_FALSE(monotone.found);
  EXPECT_NE(monotone.note.find("does not dip"), std::string::npos) << monotone.note;
}

TEST(Kde1D, MaskRestrictsTheEvents) {
  const std::vector<Component> mix = {{0.4, 1.0, 0.4}, {0.3, 3.0, 0.4}, {0.3, 6.0, 0.4}};
  const std::vector<float> v = draw_mixture(mix, 100000, 3);
  Mask m(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) m.set(i, i < 70000);  // the first two components
  const Density1D d = kde_1d(v, &m);
  EXPECT_EQ(d.tally.used, 70000u);
  EXPECT_LT(d.grid_max(), 5.5);
  const std::vector<Peak> peaks = find_peaks(d);
  ASSERT_EQ(peaks.size(), 2u);
  EXPECT_NEAR(peaks[1].position, 3.0, 0.05);
  Mask wrong(v.size() - 1);
  EXPECT_THROW((void)kde_1d(v, &wrong), std::invalid_argument);
}

TEST(Kde1D, BandwidthRulesOnAStandardNormal) {
  const std::vector<float> v = draw_mixture({{1.0, 0.0, 1.0}}, 100000, 7);
  const Density1D silverman = kde_1d(v);
  EXPECT_NEAR(silverman.bandwidth, 0.9 * std::pow(1e5, -0.2), 0.03 * 0.09);
  Kde1DOptions o;
  o.rule = BandwidthRule::scott;
  EXPECT_NEAR(kde_1d(v, nullptr, o).bandwidth / silverman.bandwidth, 1.06 / 0.9, 1e-12);
  o.rule = BandwidthRule::silverman;
  o.adjust = 2.0;
  EXPECT_NEAR(kde_1d(v, nullptr, o).bandwidth, 2.0 * silverman.bandwidth, 1e-12);
  o.bandwidth = 0.25;
  EXPECT_EQ(kde_1d(v, nullptr, o).bandwidth, 0.25);
  // The estimate integrates to 1 and matches the smoothed normal N(0, 1 + h^2) at its centre.
  EXPECT_NEAR(integral(silverman), 1.0, 1e-3);
  const std::vector<Peak> peaks = find_peaks(silverman);
  ASSERT_EQ(peaks.size(), 1u);
  EXPECT_NEAR(peaks[0].height, normal_pdf(0.0, 0.0, std::sqrt(1.0 + silverman.bandwidth * silverman.bandwidth)), 0.01);
  EXPECT_NEAR(peaks[0].prominence, peaks[0].height, 1e-12);  // the only peak: prominent all the way down
}

TEST(Kde1D, RobustSpreadIgnoresAFarOutlierCluster) {
  // 5% far outliers inflate the SD (about 4.4) but barely move the IQR: bandwidth stays IQR-based.
  // Quartiles of 0.95 N(0,1) + 0.05 N(20,0.5): Phi^-1(0.25/0.95) = -0.6336, Phi^-1(0.75/0.95) = 0.8044,
  // IQR 1.4380, robust spread 1.4380 / 1.349 = 1.0660.
  std::vector<float> v = draw_mixture({{0.95, 0.0, 1.0}, {0.05, 20.0, 0.5}}, 100000, 9);
  const Density1D d = kde_1d(v);
  const double iqr_based = 0.9 * 1.0660 * std::pow(1e5, -0.2);
  EXPECT_NEAR(d.bandwidth, iqr_based, 0.03 * iqr_based);
  EXPECT_EQ(find_peaks(d).size(), 2u);
}

TEST(Kde1D, TailCutOfANormal) {
  const std::vector<float> v = draw_mixture({{1.0, 0.0, 1.0}}, 200000, 21);
  const Density1D d = kde_1d(v);
  const double sd = std::sqrt(1.0 + d.bandwidth * d.bandwidth);
  for (double f : {0.1, 0.5, 0.02}) {
    TailCutOptions o;
    o.fraction = f;
    o.side = Side::right;
    const Cut1D right = tail_cut(d, o);
    ASSERT_TRUE(right.found) << right.note;
    EXPECT_NEAR(right.position, sd * std::sqrt(-2.0 * std::log(f)), 0.04) << "fraction " << f;
    EXPECT_TRUE(right.left.has_value());
    o.side = Side::left;
    const Cut1D left = tail_cut(d, o);
    ASSERT_TRUE(left.found) << left.note;
    EXPECT_NEAR(left.position, -sd * std::sqrt(-2.0 * std::log(f)), 0.04) << "fraction " << f;
    EXPECT_TRUE(left.right.has_value());
  }
}

TEST(Kde1D, TailCutStartsAtTheNearestPeak) {
  const std::vector<Component> mix = {{0.7, 0.0, 0.5}, {0.3, 4.0, 0.5}};
  const Density1D d = kde_1d(draw_mixture(mix, 200000, 4));
  TailCutOptions o;
  o.fraction = 0.1;
  o.near = 3.5;
  const Cut1D cut = tail_cut(d, o);
  ASSERT_TRUE(cut.found) << cut.note;
  const double sd = std::sqrt(0.25 + d.bandwidth * d.bandwidth);
  EXPECT_NEAR(cut.position, 4.0 + sd * std::sqrt(-2.0 * std::log(0.1)), 0.05);
  ASSERT_TRUE(cut.left);
  EXPECT_NEAR(cut.left->position, 4.0, 0.05);
  // Default: the highest peak (at 0); its right tail falls before the second population.
  o.near.reset();
  const Cut1D big = tail_cut(d, o);
  ASSERT_TRUE(big.found);
  EXPECT_NEAR(big.position, std::sqrt(0.25 + d.bandwidth * d.bandwidth) * std::sqrt(-2.0 * std::log(0.1)), 0.05);
}

TEST(Kde1D, TailCutNotFoundWhenTheGridEndsFirst) {
  Kde1DOptions k;
  k.min = -1.0;
  k.max = 1.0;
  const Density1D d = kde_1d(draw_mixture({{1.0, 0.0, 1.0}}, 50000, 2), nullptr, k);
  EXPECT_EQ(d.grid_min, -1.0);
  EXPECT_NEAR(d.grid_max(), 1.0, 1e-12);
  EXPECT_GT(d.tally.out_of_range, 10000u);
  const Cut1D cut = tail_cut(d);
  EXPECT_FALSE(cut.found);
  EXPECT_NE(cut.note.find("grid end"), std::string::npos) << cut.note;
  TailCutOptions bad;
  bad.fraction = 1.0;
  EXPECT_THROW((void)tail_cut(d, bad), std::invalid_argument);
}

TEST(Kde1D, EmptyInputGivesAZeroDensityAndNotes) {
  const std::vector<float> none;
  const Density1D d = kde_1d(none);
  EXPECT_EQ(d.tally.used, 0u);
  EXPECT_TRUE(has_note(d.notes, "no_events"));
  EXPECT_EQ(d.size(), 512u);
  for (double v : d.density) EXPECT_EQ(v, 0.0);
  EXPECT_TRUE(find_peaks(d).empty());
  EXPECT_FALSE(find_valley(d).found);
  EXPECT_FALSE(tail_cut(d).found);
}

TEST(Kde1D, NanValuesAreSkippedAndCounted) {
  std::vector<float> v = draw_mixture({{0.5, 1.0, 0.3}, {0.5, 3.0, 0.3}}, 20000, 8);
  const Density1D clean = kde_1d(v);
  std::vector<float> dirty = v;
  dirty.insert(dirty.begin() + 100, std::numeric_limits<float>::quiet_NaN());
  dirty.push_back(std::numeric_limits<float>::infinity());
  dirty.push_back(-std::numeric_limits<float>::infinity());
  const Density1D d = kde_1d(dirty);
  EXPECT_EQ(d.tally.non_finite, 3u);
  EXPECT_EQ(d.tally.used, v.size());
  EXPECT_EQ(d.density, clean.density);  // identical estimate: the NaNs had no influence
  const std::vector<float> all_nan(100, std::numeric_limits<float>::quiet_NaN());
  const Density1D n = kde_1d(all_nan);
  EXPECT_EQ(n.tally.non_finite, 100u);
  EXPECT_TRUE(has_note(n.notes, "no_events"));
}

TEST(Kde1D, ConstantValuesGiveOnePeakAtTheConstant) {
  const std::vector<float> v(1000, 2.5f);
  const Density1D d = kde_1d(v);
  EXPECT_TRUE(has_note(d.notes, "constant_values"));
  EXPECT_GT(d.bandwidth, 0.0);
  EXPECT_NEAR(integral(d), 1.0, 1e-3);
  const std::vector<Peak> peaks = find_peaks(d);
  ASSERT_EQ(peaks.size(), 1u);
  EXPECT_NEAR(peaks[0].position, 2.5, d.step);
  const Cut1D valley = find_valley(d);
  EXPECT_FALSE(valley.found);
  EXPECT_NE(valley.note.find("fewer than two peaks"), std::string::npos);
  const std::vector<float> zeros(10, 0.0f);  // constant zero: the last fallback bandwidth
  const Density1D z = kde_1d(zeros);
  EXPECT_GT(z.bandwidth, 0.0);
  EXPECT_EQ(find_peaks(z).size(), 1u);
}

TEST(Kde1D, AllValuesInOneBinConserveMass) {
  Normal rnd(1);
  std::vector<float> v(5000);
  for (float& x : v) x = static_cast<float>(5.0 + 0.001 * rnd.uniform());
  Kde1DOptions o;
  o.min = 0.0;
  o.max = 10.0;
  const Density1D d = kde_1d(v, nullptr, o);
  EXPECT_TRUE(has_note(d.notes, "bandwidth_below_grid_step"));
  EXPECT_NEAR(integral(d), 1.0, 1e-9);
  const std::vector<Peak> peaks = find_peaks(d);
  ASSERT_EQ(peaks.size(), 1u);
  EXPECT_NEAR(peaks[0].position, 5.0, d.step);
}

TEST(Kde1D, InvalidOptionsThrow) {
  const std::vector<float> v = {1.0f, 2.0f};
  Kde1DOptions o;
  o.grid_points = 8;
  EXPECT_THROW((void)kde_1d(v, nullptr, o), std::invalid_argument);
  o = {};
  o.min = 3.0;
  o.max = 3.0;
  EXPECT_THROW((void)kde_1d(v, nullptr, o), std::invalid_argument);
  o = {};
  o.bandwidth = -1.0;
  EXPECT_THROW((void)kde_1d(v, nullptr, o), std::invalid_argument);
  o = {};
  o.adjust = 0.0;
  EXPECT_THROW((void)kde_1d(v, nullptr, o), std::invalid_argument);
  PeakOptions p;
  p.min_relative_prominence = 1.5;
  EXPECT_THROW((void)find_peaks(kde_1d(v), p), std::invalid_argument);
}

TEST(Kde1D, Deterministic) {
  const std::vector<float> v = draw_mixture({{0.5, 1.0, 0.3}, {0.5, 3.0, 0.3}}, 30000, 12);
  const Density1D a = kde_1d(v), b = kde_1d(v);
  EXPECT_EQ(a.density, b.density);
  EXPECT_EQ(a.bandwidth, b.bandwidth);
  EXPECT_EQ(find_valley(a).position, find_valley(b).position);
}

TEST(Peaks, ProminenceOfTheSmallerPeakIsItsRiseAboveTheValley) {
  const Density1D d = kde_1d(draw_mixture({{0.7, 0.0, 0.5}, {0.3, 3.0, 0.5}}, 200000, 6));
  const std::vector<Peak> peaks = find_peaks(d);
  ASSERT_EQ(peaks.size(), 2u);
  const Cut1D v = find_valley(d);
  ASSERT_TRUE(v.found);
  EXPECT_NEAR(peaks[1].prominence, peaks[1].height - v.density, 0.01 * peaks[1].height);
  EXPECT_NEAR(peaks[0].prominence, peaks[0].height, 1e-12);
  // Raising the prominence bar above the small peak's leaves one peak.
  PeakOptions strict;
  strict.min_relative_prominence = 0.99 * peaks[1].prominence / peaks[0].height + 0.02;
  EXPECT_EQ(find_peaks(d, strict).size(), 1u);
}

// ------------------------------------------------------------------------------------ 2D

struct Cloud {
  std::vector<float> x, y;
  std::size_t a_count = 0;  // events [0, a_count) are cluster A, the rest cluster B
};

Cloud two_clusters(std::uint64_t seed) {
  Normal rnd(seed);
  Cloud c;
  c.a_count = 60000;
  for (std::size_t i = 0; i < 100000; ++i) {
    const bool a = i < c.a_count;
    c.x.push_back(static_cast<float>((a ? 1.0 : 3.0) + 0.3 * rnd()));
    c.y.push_back(static_cast<float>((a ? 1.0 : 2.5) + (a ? 0.3 : 0.4) * rnd()));
  }
  return c;
}

Density2DOptions square(double lo, double hi) {
  Density2DOptions o;
  o.x = {lo, hi};
  o.y = {lo, hi};
  return o;
}

Mask first_n(std::size_t size, std::size_t n) {
  Mask m(size);
  for (std::size_t i = 0; i < n; ++i) m.set(i);
  return m;
}

TEST(Density2D, ContourAroundTheSeedKeepsClusterAAndExcludesB) {
  const Cloud c = two_clusters(42);
  const Density2D d = density_2d(c.x, c.y, nullptr, square(0.0, 4.0));
  EXPECT_EQ(d.tally.used + d.tally.out_of_range, c.x.size());
  ContourOptions o;
  o.seed = Point{0.8, 1.2};
  o.level = 0.02;
  const Contour k = density_contour(d, o);
  ASSERT_TRUE(k.found) << k.note;
  EXPECT_GE(k.polygon.size(), 3u);
  EXPECT_LT(k.polygon.size(), k.raw_vertices);  // simplified
  EXPECT_NEAR(k.anchor.x, 1.0, 0.05);
  EXPECT_NEAR(k.anchor.y, 1.0, 0.05);
  EXPECT_FALSE(k.touches_edge);
  const Mask a = first_n(c.x.size(), c.a_count);
  const Mask b = ~a;
  const InsideCount in_a = count_inside(c.x, c.y, &a, k.polygon);
  const InsideCount in_b = count_inside(c.x, c.y, &b, k.polygon);
  EXPECT_GE(in_a.fraction(), 0.95) << in_a.inside << " of " << in_a.total;
  EXPECT_LT(in_b.fraction(), 0.01) << in_b.inside << " of " << in_b.total;
  // The grid-level share agrees with the event-level one.
  const InsideCount all = count_inside(c.x, c.y, nullptr, k.polygon);
  EXPECT_NEAR(k.grid_fraction, all.fraction(), 0.01);
  EXPECT_NEAR(grid_fraction_inside(d, k.polygon), k.grid_fraction, 1e-15);
}

TEST(Density2D, WithoutSeedTheHighestPeakOrTheRegionsPeakIsUsed) {
  const Cloud c = two_clusters(43);
  const Density2D d = density_2d(c.x, c.y, nullptr, square(0.0, 4.0));
  const Contour top = density_contour(d);
  ASSERT_TRUE(top.found);
  EXPECT_NEAR(top.anchor.x, 1.0, 0.06);  // cluster A: more events and tighter
  ContourOptions o;
  o.region = Region{{2.0, 4.0}, {1.5, 4.0}};
  o.level = 0.05;
  const Contour kb = density_contour(d, o);
  ASSERT_TRUE(kb.found) << kb.note;
  EXPECT_NEAR(kb.anchor.x, 3.0, 0.06);
  EXPECT_NEAR(kb.anchor.y, 2.5, 0.06);
  const Mask a = first_n(c.x.size(), c.a_count);
  const Mask b = ~a;
  EXPECT_GE(count_inside(c.x, c.y, &b, kb.polygon).fraction(), 0.93);
  EXPECT_LT(count_inside(c.x, c.y, &a, kb.polygon).fraction(), 0.01);
  o.region = Region{{10.0, 11.0}, {10.0, 11.0}};
  const Contour none = density_contour(d, o);
  EXPECT_FALSE(none.found);
  EXPECT_FALSE(none.note.empty());
}

TEST(Density2D, ContourForFractionKeepsTheRequestedShare) {
  const Cloud c = two_clusters(44);
  const Mask a = first_n(c.x.size(), c.a_count);
  const Density2D d = density_2d(c.x, c.y, &a, square(0.0, 4.0));
  EXPECT_EQ(d.tally.used + d.tally.out_of_range, c.a_count);
  for (double f : {0.5, 0.9, 0.99}) {
    const Contour k = contour_for_fraction(d, f);
    ASSERT_TRUE(k.found) << k.note;
    EXPECT_NEAR(count_inside(c.x, c.y, &a, k.polygon).fraction(), f, 0.02) << "fraction " << f;
    EXPECT_GT(k.level, 0.0);
    EXPECT_LT(k.level, 1.0);
  }
  // For a 2D normal the region holding a share f has level 1 - f of the peak.
  EXPECT_NEAR(contour_for_fraction(d, 0.5).level, 0.5, 0.05);
  EXPECT_THROW((void)contour_for_fraction(d, 0.0), std::invalid_argument);
}

TEST(Density2D, ToPolygonGate) {
  const Cloud c = two_clusters(45);
  const Density2D d = density_2d(c.x, c.y, nullptr, square(0.0, 4.0));
  ContourOptions o;
  o.seed = Point{1.0, 1.0};
  const Contour k = density_contour(d, o);
  Dimension dx, dy;
  dx.channel = "CD19";
  dy.channel = "SSC-A";
  const PolygonGate g = to_polygon_gate(k, dx, dy);
  EXPECT_EQ(g.x.channel, "CD19");
  EXPECT_EQ(g.vertices, k.polygon);
  EXPECT_THROW((void)to_polygon_gate(Contour{}, dx, dy), std::invalid_argument);
}

TEST(Density2D, PolygonGateEvaluationAgreesWithCountInside) {
  const Cloud c = two_clusters(49);
  const Density2D d = density_2d(c.x, c.y, nullptr, square(0.0, 4.0));
  ContourOptions o;
  o.seed = Point{3.0, 2.5};
  o.level = 0.2;
  const Contour k = density_contour(d, o);
  ASSERT_TRUE(k.found) << k.note;
  std::vector<std::pair<float, float>> pts;
  for (std::size_t i = 0; i < c.x.size(); ++i) pts.emplace_back(c.x[i], c.y[i]);
  Dimension dx, dy;
  dx.channel = "X";
  dy.channel = "Y";
  GatingStrategy s;
  s.populations.push_back({"b", "b", std::nullopt, to_polygon_gate(k, dx, dy)});
  const GatingResult r = apply_gates(s, testdata::points(pts));
  const InsideCount n = count_inside(c.x, c.y, nullptr, k.polygon);
  EXPECT_EQ(r.count("b").events, n.inside);
  EXPECT_GT(n.inside, 20000u);
}

TEST(Density2D, EmptyNanAndOutOfRangeInputs) {
  const std::vector<float> none;
  const Density2D e = density_2d(none, none, nullptr, square(0.0, 1.0));
  EXPECT_TRUE(has_note(e.notes, "no_events"));
  EXPECT_FALSE(density_contour(e).found);
  EXPECT_FALSE(contour_for_fraction(e, 0.9).found);

  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {0.5f, nan, 0.5f, 2.0f, 0.25f};
  const std::vector<float> y = {0.5f, 0.5f, nan, 0.5f, 0.75f};
  const Density2D d = density_2d(x, y, nullptr, square(0.0, 1.0));
  EXPECT_EQ(d.tally.used, 2u);
  EXPECT_EQ(d.tally.non_finite, 2u);
  EXPECT_EQ(d.tally.out_of_range, 1u);
  double total = 0.0;
  for (double v : d.counts) total += v;
  EXPECT_EQ(total, 2.0);
  const InsideCount in = count_inside(x, y, nullptr, {{0, 0}, {1, 0}, {1, 1}, {0, 1}});
  EXPECT_EQ(in.total, 3u);  // finite pairs
  EXPECT_EQ(in.inside, 2u);

  const std::vector<float> x2 = {0.5f, 0.5f};
  const std::vector<float> y2 = {0.5f};
  EXPECT_THROW((void)density_2d(x2, y2, nullptr, square(0.0, 1.0)), std::invalid_argument);
  EXPECT_THROW((void)density_2d(x, y, nullptr, square(1.0, 1.0)), std::invalid_argument);
  EXPECT_THROW((void)count_inside(x, y, nullptr, {{0, 0}, {1, 0}}), std::invalid_argument);
}

TEST(Density2D, AllEventsInOneCellStillGiveAPolygon) {
  const std::vector<float> x(1000, 0.52f), y(1000, 0.33f);
  for (double sigma : {0.0, 2.0}) {
    Density2DOptions o = square(0.0, 1.0);
    o.bins_x = o.bins_y = 64;
    o.sigma_bins = sigma;
    const Density2D d = density_2d(x, y, nullptr, o);
    for (int up : {1, 4}) {
      ContourOptions c;
      c.upsample = up;
      c.level = 0.5;
      const Contour k = density_contour(d, c);
      ASSERT_TRUE(k.found) << k.note;
      EXPECT_GE(k.polygon.size(), 3u);
      EXPECT_NEAR(k.anchor.x, (std::floor(0.52 * 64) + 0.5) / 64, 1e-12);
      if (sigma == 0.0 && up == 4) continue;  // a bilinear spike: its half-height contour is smaller than the cell
      // Without smoothing and upsampling the region is the cell itself (its square is the polygon).
      EXPECT_EQ(count_inside(x, y, nullptr, k.polygon).inside, 1000u) << "sigma " << sigma << " upsample " << up;
      EXPECT_DOUBLE_EQ(k.grid_fraction, 1.0);
    }
  }
}

TEST(Density2D, SeedOutsideTheGridOrInEmptySpace) {
  const Cloud c = two_clusters(46);
  const Density2D d = density_2d(c.x, c.y, nullptr, square(0.0, 4.0));
  ContourOptions o;
  o.seed = Point{-1.0, 2.0};
  const Contour out = density_contour(d, o);
  EXPECT_FALSE(out.found);
  EXPECT_NE(out.note.find("outside the grid"), std::string::npos) << out.note;
  // Far corner: no density at all around it.
  Density2DOptions wide = square(0.0, 40.0);
  const Density2D w = density_2d(c.x, c.y, nullptr, wide);
  o.seed = Point{39.0, 39.0};
  const Contour empty = density_contour(w, o);
  EXPECT_FALSE(empty.found);
  EXPECT_NE(empty.note.find("no density"), std::string::npos) << empty.note;
  o.level = 1.0;
  EXPECT_THROW((void)density_contour(d, o), std::invalid_argument);
  o.level = 0.5;
  o.upsample = 16;
  o.seed = Point{1.0, 1.0};
  Density2DOptions coarse = square(0.0, 4.0);
  coarse.bins_x = coarse.bins_y = 128;
  EXPECT_TRUE(density_contour(density_2d(c.x, c.y, nullptr, coarse), o).found);
  Density2DOptions fine = square(0.0, 4.0);
  fine.bins_x = 512;  // 512 x 16 pixels: above the 4096 limit
  EXPECT_THROW((void)density_contour(density_2d(c.x, c.y, nullptr, fine), o), std::invalid_argument);
}

TEST(Density2D, ClusterAtTheBorderIsFlagged) {
  const Cloud c = two_clusters(47);
  Density2DOptions o;
  o.x = {1.0, 4.0};  // cuts cluster A through its centre
  o.y = {0.0, 4.0};
  const Density2D d = density_2d(c.x, c.y, nullptr, o);
  ContourOptions k;
  k.seed = Point{1.1, 1.0};
  const Contour con = density_contour(d, k);
  ASSERT_TRUE(con.found);
  EXPECT_TRUE(con.touches_edge);
  EXPECT_NE(con.note.find("border"), std::string::npos);
}

TEST(Density2D, MaskAndDeterminism) {
  const Cloud c = two_clusters(48);
  const Mask b = ~first_n(c.x.size(), c.a_count);
  const Density2D d1 = density_2d(c.x, c.y, &b, square(0.0, 4.0));
  const Density2D d2 = density_2d(c.x, c.y, &b, square(0.0, 4.0));
  EXPECT_EQ(d1.tally.used + d1.tally.out_of_range, c.x.size() - c.a_count);
  EXPECT_EQ(d1.smoothed, d2.smoothed);
  const Contour k1 = density_contour(d1), k2 = density_contour(d2);
  ASSERT_TRUE(k1.found);
  EXPECT_EQ(k1.polygon, k2.polygon);
  EXPECT_NEAR(k1.anchor.x, 3.0, 0.06);
}

}  // namespace
