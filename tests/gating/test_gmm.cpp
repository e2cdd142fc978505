// SPDX-License-Identifier: Apache-2.0
// Unit tests of the Gaussian mixture model and its EM fit: densities against hand-computed values,
// Mahalanobis distances, marginals, classification, sampling moments, parameter recovery from data
// drawn with sample(), bit-identical results for any thread count, frozen components, min_weight
// dropping, argument validation, degenerate data and BIC model choice. A DISABLED_ timing test
// reports the speed of the batch kernels and of one EM iteration
// (--gtest_also_run_disabled_tests --gtest_filter=*Timing*).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "flowmrd/gating/gmm.hpp"

namespace {

using namespace flowmrd::gating;
using ::testing::HasSubstr;

const double kLog2Pi = std::log(2.0 * std::numbers::pi);

GmmComponent comp(double weight, std::vector<double> mean, std::vector<double> cov) {
  return GmmComponent{weight, std::move(mean), std::move(cov)};
}

// Runs f, expects std::invalid_argument whose message contains every fragment.
void expect_invalid(const std::function<void()>& f, std::initializer_list<const char*> fragments) {
  try {
    f();
    ADD_FAILURE() << "no exception thrown";
  } catch (const std::invalid_argument& e) {
    for (const char* frag : fragments) EXPECT_THAT(e.what(), HasSubstr(frag));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

// Three well-separated 2-D clusters with different shapes and weights.
GaussianMixture three_clusters() {
  return GaussianMixture({comp(0.5, {0.0, 0.0}, {1.0, 0.3, 0.3, 0.5}),
                          comp(0.3, {8.0, 1.0}, {0.4, -0.1, -0.1, 0.9}),
                          comp(0.2, {2.0, 9.0}, {0.6, 0.0, 0.0, 0.6})})  ;
}

// A 3-D mixture used for the batch tests.
GaussianMixture three_d() {
  return GaussianMixture({comp(1.0, {0.0, 1.0, 2.0}, {1.0, 0.2, 0.1, 0.2, 2.0, 0.3, 0.1, 0.3, 0.5}),
                          comp(2.0, {3.0, -1.0, 0.0}, {0.5, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.5}),
                          comp(1.5, {-2.0, 4.0, 1.0}, {2.0, -0.5, 0.0, -0.5, 1.0, 0.2, 0.0, 0.2, 1.5})});
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

bool same_fit(const GmmFit& a, const GmmFit& b) {
  if (a.model.size() != b.model.size() || a.iterations != b.iterations || a.converged != b.converged ||
      !same_bits(a.log_likelihood, b.log_likelihood) || !same_bits(a.bic, b.bic) || a.notes != b.notes)
    return false;
  for (std::size_t k = 0; k < a.model.size(); ++k) {
    const GmmComponent& x = a.model.component(k);
    const GmmComponent& y = b.model.component(k);
    if (!same_bits(x.weight, y.weight) || !same_bits(x.mean, y.mean) || !same_bits(x.covariance, y.covariance)) return false;
  }
  return true;
}

// Index of the fitted component whose mean is nearest to `mean`.
std::size_t nearest(const GaussianMixture& m, const std::vector<double>& mean) {
  std::size_t best = 0;
  double best_d = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < m.size(); ++k) {
    double s = 0.0;
    for (std::size_t j = 0; j < mean.size(); ++j) s += std::pow(m.component(k).mean[j] - mean[j], 2);
    if (s < best_d) {
      best_d = s;
      best = k;
    }
  }
  return best;
}

bool any_note_contains(const GmmFit& fit, const std::string& s) {
  return std::any_of(fit.notes.begin(), fit.notes.end(), [&](const std::string& n) { return n.find(s) != std::string::npos; });
}

// ------------------------------------------------------------------ construction

TEST(GaussianMixture, ConstructionRenormalisesWeightsAndKeepsParameters) {
  const GaussianMixture m({comp(1.0, {1.0}, {2.0}), comp(3.0, {-1.0}, {0.5})});
  EXPECT_EQ(m.dims(), 1u);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_FALSE(m.empty());
  EXPECT_DOUBLE_EQ(m.component(0).weight, 0.25);
  EXPECT_DOUBLE_EQ(m.component(1).weight, 0.75);
  EXPECT_EQ(m.component(1).mean, std::vector<double>{-1.0});
  EXPECT_EQ(m.component(0).covariance, std::vector<double>{2.0});
  EXPECT_THROW((void)m.component(2), std::out_of_range);
}

TEST(GaussianMixture, ConstructionRejectsInvalidComponentsNamingTheProblem) {
  const auto ok = comp(1.0, {0.0, 0.0}, {1.0, 0.0, 0.0, 1.0});
  using V = std::vector<GmmComponent>;
  expect_invalid([&] { GaussianMixture(V{ok, comp(1.0, {0.0}, {1.0})}); }, {"component 1", "mean has 1 values"});
  expect_invalid([&] { GaussianMixture(V{ok, comp(0.0, {0.0, 0.0}, {1.0, 0.0, 0.0, 1.0})}); }, {"component 1", "weight"});
  expect_invalid([&] { GaussianMixture(V{comp(-1.0, {0.0, 0.0}, {1.0, 0.0, 0.0, 1.0})}); }, {"component 0", "weight"});
  expect_invalid([&] { GaussianMixture(V{comp(std::nan(""), {0.0, 0.0}, {1.0, 0.0, 0.0, 1.0})}); }, {"weight"});
  expect_invalid([&] { GaussianMixture(V{ok, comp(1.0, {0.0, INFINITY}, {1.0, 0.0, 0.0, 1.0})}); },
                 {"component 1", "mean", "non-finite"});
  expect_invalid([&] { GaussianMixture(V{ok, comp(1.0, {0.0, 0.0}, {1.0, 0.0, 1.0})}); }, {"component 1", "covariance has 3"});
  expect_invalid([&] { GaussianMixture(V{comp(1.0, {0.0, 0.0}, {1.0, NAN, NAN, 1.0})}); }, {"covariance", "non-finite"});
  expect_invalid([&] { GaussianMixture(V{ok, comp(1.0, {0.0, 0.0}, {1.0, 0.5, 0.2, 1.0})}); },
                 {"component 1", "not symmetric"});
  expect_invalid([&] { GaussianMixture(V{ok, comp(1.0, {0.0, 0.0}, {1.0, 2.0, 2.0, 1.0})}); },
                 {"component 1", "not positive definite"});
  expect_invalid([&] { GaussianMixture(V{comp(1.0, {0.0}, {0.0})}); }, {"not positive definite"});
  expect_invalid([&] { GaussianMixture(V{comp(1.0, {}, {})}); }, {"component 0", "dims"});
}

TEST(GaussianMixture, ConstructionAcceptsRoundingAsymmetryAndSymmetrises) {
  const double eps = 1e-15;
  const GaussianMixture m({comp(1.0, {0.0, 0.0}, {2.0, 0.5 + eps, 0.5, 1.0})});
  const auto& c = m.component(0).covariance;
  EXPECT_EQ(c[1], c[2]);
}

TEST(GaussianMixture, EmptyMixture) {
  const GaussianMixture m;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.dims(), 0u);
  const GaussianMixture m2{std::vector<GmmComponent>{}};
  EXPECT_TRUE(m2.empty());
  const double x = 1.0;
  EXPECT_EQ(m.log_density(&x), -std::numeric_limits<double>::infinity());
  EXPECT_NO_THROW(m.log_densities({}, {}));
  std::vector<float> data{1.0f};
  std::vector<double> out(1);
  expect_invalid([&] { m.log_densities(data, out); }, {"empty"});
  EXPECT_TRUE(m.sample(0, 1).empty());
  expect_invalid([&] { (void)m.sample(3, 1); }, {"empty"});
}

// ------------------------------------------------------------------ densities

TEST(GaussianMixture, LogComponentDensity1DMatchesNormalPdf) {
  const GaussianMixture m({comp(1.0, {1.0}, {4.0})});
  const double x = 2.0;
  // N(2 | 1, 4): -0.5 log(2 pi 4) - 0.5 (2 - 1)^2 / 4
  const double expected = -0.5 * std::log(2.0 * std::numbers::pi * 4.0) - 0.125;
  EXPECT_NEAR(m.log_component_density(0, &x), expected, 1e-14);
  EXPECT_NEAR(m.log_density(&x), expected, 1e-14);
  EXPECT_THROW((void)m.log_component_density(1, &x), std::out_of_range);
}

TEST(GaussianMixture, LogComponentDensity2DCorrelated) {
  // cov [[2, 1], [1, 3]]: det 5, inverse [[3, -1], [-1, 2]] / 5; x - mean = (1, -1):
  // Mahalanobis^2 = (3 + 1 + 1 + 2) / 5 = 7 / 5.
  const GaussianMixture m({comp(1.0, {1.0, 2.0}, {2.0, 1.0, 1.0, 3.0})});
  const double x[2] = {2.0, 1.0};
  EXPECT_NEAR(m.mahalanobis2(0, x), 1.4, 1e-14);
  const double expected = -kLog2Pi - 0.5 * std::log(5.0) - 0.7;
  EXPECT_NEAR(m.log_component_density(0, x), expected, 1e-14);
  EXPECT_NEAR(m.log_density(x), expected, 1e-14);
}

TEST(GaussianMixture, Mahalanobis2ExactValues) {
  const GaussianMixture diag({comp(1.0, {1.0, -1.0}, {4.0, 0.0, 0.0, 16.0})});
  const double x[2] = {3.0, 3.0};  // (2/2)^2 + (4/4)^2
  EXPECT_EQ(diag.mahalanobis2(0, x), 2.0);
  const double at_mean[2] = {1.0, -1.0};
  EXPECT_EQ(diag.mahalanobis2(0, at_mean), 0.0);

  // cov [[2, 1], [1, 2]]: inverse [[2, -1], [-1, 2]] / 3.
  const GaussianMixture corr({comp(1.0, {0.0, 0.0}, {2.0, 1.0, 1.0, 2.0})});
  const double along[2] = {1.0, 1.0};    // (2 - 1 - 1 + 2) / 3
  const double across[2] = {1.0, -1.0};  // (2 + 1 + 1 + 2) / 3
  EXPECT_DOUBLE_EQ(corr.mahalanobis2(0, along), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(corr.mahalanobis2(0, across), 2.0);
  EXPECT_THROW((void)corr.mahalanobis2(1, along), std::out_of_range);
}

TEST(GaussianMixture, LogDensityIsLogSumOfWeightedComponents) {
  const GaussianMixture m({comp(0.3, {-1.0}, {0.25}), comp(0.7, {2.0}, {1.0})});
  auto pdf = [](double x, double mu, double var) {
    return std::exp(-0.5 * (x - mu) * (x - mu) / var) / std::sqrt(2.0 * std::numbers::pi * var);
  };
  for (double x : {-2.0, -1.0, 0.0, 0.5, 2.0, 3.5}) {
    const double expected = std::log(0.3 * pdf(x, -1.0, 0.25) + 0.7 * pdf(x, 2.0, 1.0));
    EXPECT_NEAR(m.log_density(&x), expected, 1e-12) << x;
  }
  // Far away every pdf underflows, the log-sum-exp stays finite: dominated by component 1.
  const double far = 1000.0;
  const double expected = std::log(0.7) - 0.5 * kLog2Pi - 0.5 * (far - 2.0) * (far - 2.0);
  EXPECT_TRUE(std::isfinite(m.log_density(&far)));
  EXPECT_NEAR(m.log_density(&far), expected, 1e-9 * std::abs(expected));
}

TEST(GaussianMixture, LogDensitiesMatchSinglePointToTheBit) {
  const GaussianMixture m = three_d();
  const std::size_t n = 20000 + 77;  // several chunks and a partial block
  const std::vector<float> data = m.sample(n, 5);
  std::vector<double> out(n);
  m.log_densities(data, out, 1);
  for (std::size_t i = 0; i < n; ++i) {
    const double x[3] = {data[i * 3], data[i * 3 + 1], data[i * 3 + 2]};
    ASSERT_TRUE(same_bits(out[i], m.log_density(x))) << i << ": " << out[i] << " vs " << m.log_density(x);
  }
}

TEST(GaussianMixture, LogDensitiesValidateSizes) {
  const GaussianMixture m = three_d();
  std::vector<float> data(10);
  std::vector<double> out(3);
  expect_invalid([&] { m.log_densities(data, out); }, {"log_densities", "not a multiple of dims 3"});
  data.resize(9);
  out.resize(2);
  expect_invalid([&] { m.log_densities(data, out); }, {"output has 2 values", "3 events"});
  out.resize(3);
  EXPECT_NO_THROW(m.log_densities(data, out));
  EXPECT_NO_THROW(m.log_densities({}, {}));
}

// ------------------------------------------------------------------ classify

TEST(GaussianMixture, ClassifyPicksTheRightComponentWithItsPosterior) {
  const GaussianMixture m({comp(0.4, {0.0, 0.0}, {1.0, 0.0, 0.0, 1.0}), comp(0.6, {4.0, 0.0}, {1.0, 0.5, 0.5, 2.0})});
  const std::vector<float> data{0.1f, -0.2f, 3.9f, 0.3f, 1.5f, 0.0f, 2.5f, 0.1f, -5.0f, 5.0f};
  std::vector<std::uint32_t> best(5);
  std::vector<double> post(5);
  m.classify(data, best, post);
  EXPECT_EQ(best, (std::vector<std::uint32_t>{0, 1, 0, 1, 0}));
  for (std::size_t i = 0; i < 5; ++i) {
    const double x[2] = {data[2 * i], data[2 * i + 1]};
    const double l0 = std::log(0.4) + m.log_component_density(0, x);
    const double l1 = std::log(0.6) + m.log_component_density(1, x);
    const double p_best = 1.0 / (1.0 + std::exp(best[i] == 0 ? l1 - l0 : l0 - l1));
    EXPECT_NEAR(post[i], p_best, 1e-12) << i;
    EXPECT_GE(post[i], 0.5);
  }
  // Either output may be skipped.
  std::vector<std::uint32_t> best_only(5);
  m.classify(data, best_only, {});
  EXPECT_EQ(best_only, best);
  std::vector<double> post_only(5);
  m.classify(data, {}, post_only);
  EXPECT_TRUE(same_bits(post_only, post));
  // The log density from the same pass is log_densities() to the bit, and its size is checked.
  std::vector<double> dens(5), dens_ref(5);
  m.classify(data, best_only, {}, 0, dens);
  m.log_densities(data, dens_ref);
  EXPECT_TRUE(same_bits(dens, dens_ref));
  EXPECT_EQ(best_only, best);
  std::vector<double> short_dens(4);
  expect_invalid([&] { m.classify(data, {}, {}, 0, short_dens); }, {"classify", "output has 4 values"});
}

TEST(GaussianMixture, ClassifyTiesGoToLowestIndex) {
  const GmmComponent c = comp(1.0, {0.0}, {1.0});
  const GaussianMixture m({c, c, c});
  const std::vector<float> data{0.3f, -1.0f};
  std::vector<std::uint32_t> best(2);
  std::vector<double> post(2);
  m.classify(data, best, post);
  EXPECT_EQ(best, (std::vector<std::uint32_t>{0, 0}));
  EXPECT_NEAR(post[0], 1.0 / 3.0, 1e-15);
}

TEST(GaussianMixture, ClassifyValidatesSizes) {
  const GaussianMixture m = three_d();
  std::vector<float> data(9);
  std::vector<std::uint32_t> best(2);
  std::vector<double> post(3);
  expect_invalid([&] { m.classify(data, best, post); }, {"classify", "output has 2 values"});
  best.resize(3);
  post.resize(4);
  expect_invalid([&] { m.classify(data, best, post); }, {"output has 4 values"});
  data.resize(8);
  expect_invalid([&] { m.classify(data, {}, {}); }, {"not a multiple"});
}

// ------------------------------------------------------------------ marginal

TEST(GaussianMixture, MarginalSelectsSubvectorsAndSubmatricesInOrder) {
  const GaussianMixture m({comp(1.0, {1.0, 2.0, 3.0}, {4.0, 1.0, 0.5, 1.0, 9.0, 2.0, 0.5, 2.0, 16.0}),
                           comp(3.0, {-1.0, 0.0, 1.0}, {1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0})});
  const std::size_t keep[] = {2, 0};
  const GaussianMixture g = m.marginal(keep);
  ASSERT_EQ(g.dims(), 2u);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_DOUBLE_EQ(g.component(0).weight, 0.25);
  EXPECT_DOUBLE_EQ(g.component(1).weight, 0.75);
  EXPECT_EQ(g.component(0).mean, (std::vector<double>{3.0, 1.0}));
  EXPECT_EQ(g.component(0).covariance, (std::vector<double>{16.0, 0.5, 0.5, 4.0}));
  EXPECT_EQ(g.component(1).mean, (std::vector<double>{1.0, -1.0}));
}

TEST(GaussianMixture, MarginalDensityOfA2DGaussianIsThe1DNormal) {
  const GaussianMixture m({comp(1.0, {1.0, -2.0}, {2.0, 1.2, 1.2, 3.0})});
  const std::size_t keep[] = {1};
  const GaussianMixture g = m.marginal(keep);
  for (double x : {-5.0, -2.0, 0.0, 1.7}) {
    const double expected = -0.5 * std::log(2.0 * std::numbers::pi * 3.0) - 0.5 * (x + 2.0) * (x + 2.0) / 3.0;
    EXPECT_NEAR(g.log_density(&x), expected, 1e-13) << x;
  }
}

TEST(GaussianMixture, MarginalValidatesIndices) {
  const GaussianMixture m = three_d();
  const std::size_t out_of_range[] = {0, 3};
  const std::size_t repeated[] = {1, 1};
  expect_invalid([&] { (void)m.marginal(out_of_range); }, {"index 3", "out of range"});
  expect_invalid([&] { (void)m.marginal(repeated); }, {"index 1", "repeated"});
  expect_invalid([&] { (void)m.marginal({}); }, {"no dimensions"});
}

// ------------------------------------------------------------------ sample

TEST(GaussianMixture, SampleIsDeterministicPerSeed) {
  const GaussianMixture m = three_clusters();
  const auto a = m.sample(1000, 42);
  const auto b = m.sample(1000, 42);
  const auto c = m.sample(1000, 43);
  EXPECT_EQ(a.size(), 2000u);
  EXPECT_TRUE(same_bits(a, b));
  EXPECT_FALSE(same_bits(a, c));
}

TEST(GaussianMixture, SampleHasTheRightMomentsAndProportions) {
  const GaussianMixture single({comp(1.0, {2.0, -1.0}, {1.5, 0.6, 0.6, 0.8})});
  const std::size_t n = 200000;
  const auto s = single.sample(n, 7);
  double m0 = 0, m1 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    m0 += s[2 * i];
    m1 += s[2 * i + 1];
  }
  m0 /= n;
  m1 /= n;
  double c00 = 0, c01 = 0, c11 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double a = s[2 * i] - m0, b = s[2 * i + 1] - m1;
    c00 += a * a;
    c01 += a * b;
    c11 += b * b;
  }
  EXPECT_NEAR(m0, 2.0, 0.01);
  EXPECT_NEAR(m1, -1.0, 0.01);
  EXPECT_NEAR(c00 / n, 1.5, 0.03);
  EXPECT_NEAR(c01 / n, 0.6, 0.02);
  EXPECT_NEAR(c11 / n, 0.8, 0.02);

  const GaussianMixture m = three_clusters();
  const auto t = m.sample(n, 9);
  std::vector<std::uint32_t> best(n);
  m.classify(t, best, {});
  std::vector<double> share(3, 0.0);
  for (auto k : best) share[k] += 1.0 / n;
  EXPECT_NEAR(share[0], 0.5, 0.006);
  EXPECT_NEAR(share[1], 0.3, 0.006);
  EXPECT_NEAR(share[2], 0.2, 0.006);
}

// ------------------------------------------------------------------ fit

TEST(FitGmm, RecoversKnownParameters) {
  const GaussianMixture truth = three_clusters();
  const std::size_t n = 30000;
  const auto data = truth.sample(n, 11);
  GmmFitOptions o;
  o.components = 3;
  o.seed = 3;
  const GmmFit fit = fit_gmm(data, 2, o);
  ASSERT_EQ(fit.model.size(), 3u);
  EXPECT_TRUE(fit.converged);
  EXPECT_LT(fit.iterations, o.max_iterations);
  EXPECT_GT(fit.iterations, 0u);
  for (std::size_t k = 0; k < 3; ++k) {
    const GmmComponent& t = truth.component(k);
    const GmmComponent& f = fit.model.component(nearest(fit.model, t.mean));
    EXPECT_NEAR(f.weight, t.weight, 0.01) << k;
    for (std::size_t j = 0; j < 2; ++j) EXPECT_NEAR(f.mean[j], t.mean[j], 0.04) << k << "," << j;
    for (std::size_t j = 0; j < 4; ++j) EXPECT_NEAR(f.covariance[j], t.covariance[j], 0.06) << k << "," << j;
  }
  // The reported log-likelihood belongs to the returned model.
  std::vector<double> ld(n);
  fit.model.log_densities(data, ld);
  double sum = 0.0;
  for (double v : ld) sum += v;
  EXPECT_NEAR(fit.log_likelihood, sum, 1e-9 * std::abs(sum));
  // BIC as documented: p = (K - 1) + K (d + d (d + 1) / 2).
  const double p = 2.0 + 3.0 * (2.0 + 3.0);
  EXPECT_NEAR(fit.bic, -2.0 * fit.log_likelihood + p * std::log(double(n)), 1e-9 * std::abs(fit.bic));
}

TEST(FitGmm, OneComponentIsTheSampleMeanAndCovariance) {
  const GaussianMixture truth({comp(1.0, {100.0, -3.0, 0.5}, {4.0, 1.0, 0.0, 1.0, 2.0, 0.3, 0.0, 0.3, 0.1})});
  const std::size_t n = 10001;
  const auto data = truth.sample(n, 2);
  GmmFitOptions o;
  o.regularization = 1e-3;
  const GmmFit fit = fit_gmm(data, 3, o);
  ASSERT_EQ(fit.model.size(), 1u);
  double mean[3] = {0, 0, 0};
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < 3; ++j) mean[j] += data[i * 3 + j];
  for (double& v : mean) v /= double(n);
  const GmmComponent& c = fit.model.component(0);
  for (std::size_t a = 0; a < 3; ++a) {
    EXPECT_NEAR(c.mean[a], mean[a], 1e-9 * (1.0 + std::abs(mean[a])));
    for (std::size_t b = 0; b < 3; ++b) {
      double s = 0.0;
      for (std::size_t i = 0; i < n; ++i) s += (data[i * 3 + a] - mean[a]) * (data[i * 3 + b] - mean[b]);
      const double expected = s / double(n) + (a == b ? 1e-3 : 0.0);
      EXPECT_NEAR(c.covariance[a * 3 + b], expected, 1e-9) << a << "," << b;
    }
  }
  EXPECT_TRUE(fit.converged);
  EXPECT_LE(fit.iterations, 3u);
  EXPECT_DOUBLE_EQ(c.weight, 1.0);
}

TEST(FitGmm, BitIdenticalForAnyThreadCount) {
  const GaussianMixture truth = three_d();
  const std::size_t n = 20005;  // three chunks, the last one partial
  const auto data = truth.sample(n, 21);
  GmmFitOptions o;
  o.components = 4;
  o.seed = 5;
  o.threads = 1;
  const GmmFit f1 = fit_gmm(data, 3, o);
  o.threads = 2;
  const GmmFit f2 = fit_gmm(data, 3, o);
  o.threads = 0;
  const GmmFit f0 = fit_gmm(data, 3, o);
  EXPECT_GT(f1.iterations, 1u);
  EXPECT_TRUE(same_fit(f1, f2));
  EXPECT_TRUE(same_fit(f1, f0));
  o.threads = 2;
  EXPECT_TRUE(same_fit(f2, fit_gmm(data, 3, o)));  // and repeatable

  // With init, frozen components and min_weight too.
  GmmFitOptions oi;
  oi.init = truth;
  oi.frozen = {false, true, false};
  oi.min_weight = 0.01;
  oi.threads = 1;
  const GmmFit g1 = fit_gmm(data, 3, oi);
  oi.threads = 2;
  EXPECT_TRUE(same_fit(g1, fit_gmm(data, 3, oi)));
}

TEST(GaussianMixture, BatchResultsBitIdenticalForAnyThreadCount) {
  const GaussianMixture m = three_d();
  const std::size_t n = 50000;
  const auto data = m.sample(n, 8);
  std::vector<double> l1(n), l2(n), l0(n), p1(n), p2(n), p0(n);
  std::vector<std::uint32_t> b1(n), b2(n), b0(n);
  m.log_densities(data, l1, 1);
  m.log_densities(data, l2, 2);
  m.log_densities(data, l0, 0);
  m.classify(data, b1, p1, 1);
  m.classify(data, b2, p2, 2);
  m.classify(data, b0, p0, 0);
  EXPECT_TRUE(same_bits(l1, l2));
  EXPECT_TRUE(same_bits(l1, l0));
  EXPECT_TRUE(same_bits(p1, p2));
  EXPECT_TRUE(same_bits(p1, p0));
  EXPECT_EQ(b1, b2);
  EXPECT_EQ(b1, b0);
}

TEST(FitGmm, DeterministicForASeed) {
  const auto data = three_clusters().sample(5000, 4);
  GmmFitOptions o;
  o.components = 3;
  o.seed = 99;
  EXPECT_TRUE(same_fit(fit_gmm(data, 2, o), fit_gmm(data, 2, o)));
}

TEST(FitGmm, FrozenComponentsKeepMeanAndCovariance) {
  const GaussianMixture truth = three_clusters();
  const auto data = truth.sample(20000, 13);
  // Start: component 0 frozen at a deliberately wrong shape; the others roughly placed.
  GaussianMixture init({comp(1.0, {0.2, 0.1}, {2.0, 0.0, 0.0, 2.0}), comp(1.0, {7.0, 0.0}, {1.0, 0.0, 0.0, 1.0}),
                        comp(1.0, {3.0, 8.0}, {1.0, 0.0, 0.0, 1.0})});
  GmmFitOptions o;
  o.init = init;
  o.frozen = {true, false, false};
  const GmmFit fit = fit_gmm(data, 2, o);
  ASSERT_EQ(fit.model.size(), 3u);
  const GmmComponent& f0 = fit.model.component(0);
  EXPECT_TRUE(same_bits(f0.mean, init.component(0).mean));
  EXPECT_TRUE(same_bits(f0.covariance, init.component(0).covariance));
  EXPECT_NE(f0.weight, init.component(0).weight);
  EXPECT_NEAR(f0.weight, 0.5, 0.02);
  // The free ones moved onto the true clusters.
  EXPECT_NEAR(fit.model.component(1).mean[0], 8.0, 0.05);
  EXPECT_NEAR(fit.model.component(2).mean[1], 9.0, 0.05);
  // BIC counts the frozen component's weight only: p = 2 + 2 * 5.
  EXPECT_NEAR(fit.bic, -2.0 * fit.log_likelihood + 12.0 * std::log(20000.0), 1e-9 * std::abs(fit.bic));
}

TEST(FitGmm, MinWeightDropsEmptyComponentsButNeverFrozenOnes) {
  const GaussianMixture truth({comp(0.6, {0.0, 0.0}, {1.0, 0.0, 0.0, 1.0}), comp(0.4, {6.0, 6.0}, {1.0, 0.0, 0.0, 1.0})});
  const auto data = truth.sample(10000, 17);
  const GaussianMixture init({comp(1.0, {0.5, 0.0}, {1.0, 0.0, 0.0, 1.0}), comp(1.0, {5.0, 5.0}, {1.0, 0.0, 0.0, 1.0}),
                              comp(1.0, {-40.0, 40.0}, {1.0, 0.0, 0.0, 1.0})});
  GmmFitOptions o;
  o.init = init;
  o.min_weight = 0.05;
  const GmmFit fit = fit_gmm(data, 2, o);
  EXPECT_EQ(fit.model.size(), 2u);
  EXPECT_TRUE(any_note_contains(fit, "dropped component 2")) << (fit.notes.empty() ? "" : fit.notes[0]);
  EXPECT_TRUE(any_note_contains(fit, "min_weight"));
  EXPECT_NEAR(fit.model.component(nearest(fit.model, {6.0, 6.0})).weight, 0.4, 0.015);

  o.frozen = {false, false, true};
  const GmmFit kept = fit_gmm(data, 2, o);
  ASSERT_EQ(kept.model.size(), 3u);
  EXPECT_LT(kept.model.component(2).weight, 1e-6);
  EXPECT_GT(kept.model.component(2).weight, 0.0);
  EXPECT_EQ(kept.model.component(2).mean, init.component(2).mean);

  // min_weight 0 keeps all, even a component that explains no event (unchanged, weight ~0).
  GmmFitOptions all;
  all.init = init;
  all.max_iterations = 3;
  const GmmFit none = fit_gmm(data, 2, all);
  ASSERT_EQ(none.model.size(), 3u);
  EXPECT_LT(none.model.component(2).weight, 1e-6);
  EXPECT_EQ(none.model.component(2).mean, init.component(2).mean);
  EXPECT_TRUE(any_note_contains(none, "explains no events"));
}

TEST(FitGmm, MaxIterationsZeroEvaluatesTheInitialModel) {
  const GaussianMixture truth = three_clusters();
  const auto data = truth.sample(3000, 1);
  GmmFitOptions o;
  o.init = truth;
  o.max_iterations = 0;
  const GmmFit fit = fit_gmm(data, 2, o);
  EXPECT_EQ(fit.iterations, 0u);
  EXPECT_FALSE(fit.converged);
  EXPECT_TRUE(same_bits(fit.model.component(1).mean, truth.component(1).mean));
  std::vector<double> ld(3000);
  truth.log_densities(data, ld);
  double sum = 0.0;
  for (double v : ld) sum += v;
  EXPECT_NEAR(fit.log_likelihood, sum, 1e-10 * std::abs(sum));

  o.max_iterations = 2;
  o.tolerance = 0.0;
  const GmmFit two = fit_gmm(data, 2, o);
  EXPECT_LE(two.iterations, 2u);
  EXPECT_GE(two.log_likelihood, fit.log_likelihood - 1e-6 * std::abs(sum));
}

TEST(FitGmm, InvalidArgumentsThrowNamingTheProblem) {
  const std::vector<float> data{0.f, 1.f, 2.f, 3.f, 4.f, 5.f};
  GmmFitOptions o;
  expect_invalid([&] { (void)fit_gmm(data, 0, o); }, {"fit_gmm", "dims"});
  expect_invalid([&] { (void)fit_gmm(data, 4, o); }, {"not a multiple of dims 4"});
  expect_invalid([&] { (void)fit_gmm({}, 2, o); }, {"no events"});
  {
    GmmFitOptions b;
    b.components = 0;
    expect_invalid([&] { (void)fit_gmm(data, 2, b); }, {"components"});
  }
  {
    GmmFitOptions b;
    b.tolerance = -1.0;
    expect_invalid([&] { (void)fit_gmm(data, 2, b); }, {"tolerance"});
    b.tolerance = NAN;
    expect_invalid([&] { (void)fit_gmm(data, 2, b); }, {"tolerance"});
  }
  {
    GmmFitOptions b;
    b.regularization = -1e-3;
    expect_invalid([&] { (void)fit_gmm(data, 2, b); }, {"regularization"});
    b.regularization = INFINITY;
    expect_invalid([&] { (void)fit_gmm(data, 2, b); }, {"regularization"});
  }
  {
    GmmFitOptions b;
    b.min_weight = 1.0;
    expect_invalid([&] { (void)fit_gmm(data, 2, b); }, {"min_weight"});
    b.min_weight = -0.1;
    expect_invalid([&] { (void)fit_gmm(data, 2, b); }, {"min_weight"});
  }
  {
    GmmFitOptions b;
    b.frozen = {true};
    expect_invalid([&] { (void)fit_gmm(data, 2, b); }, {"frozen", "init"});
  }
  {
    GmmFitOptions b;
    b.init = GaussianMixture({comp(1.0, {0.0}, {1.0})});
    expect_invalid([&] { (void)fit_gmm(data, 2, b); }, {"init has 1 dims", "data has 2"});
    b.init = three_clusters();
    b.frozen = {true, false};
    expect_invalid([&] { (void)fit_gmm(data, 2, b); }, {"frozen has 2 flags", "3 components"});
    b.init = GaussianMixture();
    b.frozen.clear();
    expect_invalid([&] { (void)fit_gmm(data, 2, b); }, {"init", "empty"});
  }
  {
    std::vector<float> bad = data;
    bad[3] = std::numeric_limits<float>::quiet_NaN();
    expect_invalid([&] { (void)fit_gmm(bad, 2, o); }, {"event 1, dimension 1", "not finite"});
  }
}

// ------------------------------------------------------------------ degenerate data

TEST(FitGmm, AllEventsIdenticalReducesKAndDoesNotThrow) {
  const std::vector<float> data(3 * 500, 2.5f);
  GmmFitOptions o;
  o.components = 3;
  GmmFit fit;
  ASSERT_NO_THROW(fit = fit_gmm(data, 3, o));
  ASSERT_EQ(fit.model.size(), 1u);
  EXPECT_TRUE(any_note_contains(fit, "reduced K from 3 to 1: only 1 distinct events"));
  EXPECT_TRUE(std::isfinite(fit.log_likelihood));
  const GmmComponent& c = fit.model.component(0);
  EXPECT_EQ(c.mean, (std::vector<double>{2.5, 2.5, 2.5}));
  EXPECT_DOUBLE_EQ(c.covariance[0], o.regularization);
  EXPECT_EQ(c.covariance[1], 0.0);
  EXPECT_TRUE(fit.converged);

  // Without regularisation the zero covariance gets a diagonal jitter and a note.
  o.regularization = 0.0;
  ASSERT_NO_THROW(fit = fit_gmm(data, 3, o));
  EXPECT_EQ(fit.model.size(), 1u);
  EXPECT_TRUE(any_note_contains(fit, "diagonal"));
  EXPECT_GT(fit.model.component(0).covariance[0], 0.0);
  EXPECT_TRUE(std::isfinite(fit.log_likelihood));
}

TEST(FitGmm, FewerEventsThanComponents) {
  const std::vector<float> data{0.f, 0.f, 1.f, 3.f, 1.f, 3.f};  // two distinct events of three
  GmmFitOptions o;
  o.components = 5;
  GmmFit fit;
  ASSERT_NO_THROW(fit = fit_gmm(data, 2, o));
  EXPECT_EQ(fit.model.size(), 2u);
  EXPECT_TRUE(any_note_contains(fit, "reduced K from 5 to 2"));
  EXPECT_TRUE(std::isfinite(fit.log_likelihood));
  EXPECT_NEAR(fit.model.component(nearest(fit.model, {1.0, 3.0})).weight, 2.0 / 3.0, 1e-6);

  const std::vector<float> one{4.f};
  ASSERT_NO_THROW(fit = fit_gmm(one, 1, o));
  EXPECT_EQ(fit.model.size(), 1u);
  EXPECT_EQ(fit.model.component(0).mean[0], 4.0);
}

TEST(FitGmm, ConstantDimensionIsRegularised) {
  const GaussianMixture truth({comp(0.5, {0.0}, {1.0}), comp(0.5, {5.0}, {1.0})});
  const auto x = truth.sample(4000, 23);
  std::vector<float> data;
  for (float v : x) {
    data.push_back(v);
    data.push_back(7.0f);
  }
  GmmFitOptions o;
  o.components = 2;
  GmmFit fit;
  ASSERT_NO_THROW(fit = fit_gmm(data, 2, o));
  ASSERT_EQ(fit.model.size(), 2u);
  EXPECT_TRUE(std::isfinite(fit.log_likelihood));
  for (const auto& c : fit.model.components()) {
    EXPECT_EQ(c.mean[1], 7.0);
    EXPECT_NEAR(c.covariance[3], o.regularization, 1e-12);
    EXPECT_NEAR(c.covariance[1], 0.0, 1e-12);
  }
  EXPECT_NEAR(fit.model.component(nearest(fit.model, {5.0, 7.0})).mean[0], 5.0, 0.1);

  o.regularization = 0.0;
  ASSERT_NO_THROW(fit = fit_gmm(data, 2, o));
  EXPECT_TRUE(any_note_contains(fit, "diagonal"));
  EXPECT_TRUE(std::isfinite(fit.log_likelihood));
}

// ------------------------------------------------------------------ model choice

TEST(FitGmm, BicPrefersTheTrueNumberOfComponents) {
  const auto data = three_clusters().sample(6000, 31);
  std::vector<double> bic;
  for (std::size_t k = 1; k <= 5; ++k) {
    GmmFitOptions o;
    o.components = k;
    bic.push_back(fit_gmm(data, 2, o).bic);
  }
  const auto best = std::min_element(bic.begin(), bic.end()) - bic.begin();
  EXPECT_EQ(best, 2) << bic[0] << " " << bic[1] << " " << bic[2] << " " << bic[3] << " " << bic[4];
}

// ------------------------------------------------------------------ timing (disabled)

// Process CPU time: on a loaded machine wall time says little; with threads = 1 CPU time is the
// per-core cost.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// A d-dimensional mixture of k components with means on a loose grid and mildly correlated
// covariances.
GaussianMixture synthetic(std::size_t d, std::size_t k) {
  std::vector<GmmComponent> comps;
  for (std::size_t c = 0; c < k; ++c) {
    GmmComponent g;
    g.weight = 1.0 + double(c % 3);
    for (std::size_t j = 0; j < d; ++j) g.mean.push_back(double((c * 7 + j * 3) % 11) * 1.5);
    g.covariance.assign(d * d, 0.0);
    for (std::size_t a = 0; a < d; ++a)
      for (std::size_t b = 0; b < d; ++b) g.covariance[a * d + b] = a == b ? 0.5 + 0.05 * double((a + c) % 5) : 0.1 / (1.0 + double(a + b));
    comps.push_back(std::move(g));
  }
  return GaussianMixture(std::move(comps));
}

TEST(GmmTiming, DISABLED_Timing) {
  {
    const GaussianMixture m = synthetic(10, 15);
    const std::size_t n = 1000000;
    const auto data = m.sample(n, 1);
    std::vector<double> out(n), post(n);
    std::vector<std::uint32_t> best(n);
    for (unsigned threads : {1u}) {
      double t_ld = 1e9, t_cl = 1e9;
      for (int rep = 0; rep < 3; ++rep) {
        double t0 = cpu_seconds();
        m.log_densities(data, out, threads);
        t_ld = std::min(t_ld, (cpu_seconds() - t0));
        t0 = cpu_seconds();
        m.classify(data, best, post, threads);
        t_cl = std::min(t_cl, (cpu_seconds() - t0));
      }
      std::printf("1e6 x 10 x 15, threads %u: log_densities %.1f ms, classify %.1f ms\n", threads, t_ld * 1e3, t_cl * 1e3);
    }
  }
  {
    const GaussianMixture m = synthetic(10, 12);
    const std::size_t n = 300000;
    const auto data = m.sample(n, 2);
    GmmFitOptions o;
    o.init = m;
    o.threads = 1;
    o.tolerance = 0.0;
    double t0best = 1e9, t1best = 1e9, t5best = 1e9;
    for (int rep = 0; rep < 3; ++rep) {
      o.max_iterations = 0;
      double t0 = cpu_seconds();
      (void)fit_gmm(data, 10, o);
      t0best = std::min(t0best, (cpu_seconds() - t0));
      o.max_iterations = 1;
      t0 = cpu_seconds();
      (void)fit_gmm(data, 10, o);
      t1best = std::min(t1best, (cpu_seconds() - t0));
      o.max_iterations = 5;
      t0 = cpu_seconds();
      (void)fit_gmm(data, 10, o);
      t5best = std::min(t5best, (cpu_seconds() - t0));
    }
    std::printf("3e5 x 10 x 12, 1 thread: E pass only %.1f ms, 1 iteration %.1f ms, 5 iterations %.1f ms (%.1f ms/it)\n",
                t0best * 1e3, t1best * 1e3, t5best * 1e3, (t5best - t0best) / 5 * 1e3);
    GmmFitOptions km;
    km.components = 12;
    km.threads = 1;
    km.max_iterations = 0;
    double t0 = cpu_seconds();
    (void)fit_gmm(data, 10, km);
    std::printf("3e5 x 10, k-means++ init K = 12 + one E pass, 1 thread: %.1f ms\n", (cpu_seconds() - t0) * 1e3);
  }
}

}  // namespace
