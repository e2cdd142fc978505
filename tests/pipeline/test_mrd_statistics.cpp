// SPDX-License-Identifier: Apache-2.0
// Unit tests of MRD statistics: the exact Poisson (Garwood) interval against published table
// values and against an independent Poisson CDF, the category boundaries at LOD / LLOQ / the
// decision threshold, edge cases (zero denominator, invalid counts and options) and the wording.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "flowmrd/pipeline/mrd_statistics.hpp"

namespace {

using flowmrd::pipeline::compute_mrd;
using flowmrd::pipeline::describe;
using flowmrd::pipeline::format_count;
using flowmrd::pipeline::format_percent;
using flowmrd::pipeline::MrdOptions;
using flowmrd::pipeline::MrdStatus;
using flowmrd::pipeline::poisson_interval;

// P(X <= k) for X ~ Poisson(mu), by direct summation in log space (independent of Boost).
double poisson_cdf(std::uint64_t k, double mu) {
  double sum = 0.0;
  for (std::uint64_t i = 0; i <= k; ++i) {
    const double di = static_cast<double>(i);
    sum += std::exp(di * std::log(mu) - mu - std::lgamma(di + 1.0));
  }
  return sum;
}

struct Garwood {
  std::uint64_t k;
  double low;
  double high;
};

// Exact 95% Poisson limits as tabulated (e.g. Ulm K, Am J Epidemiol 1990;131:373; Garwood F,
// Biometrika 1936;28:437), 4-5 significant digits.
TEST(PoissonInterval, MatchesPublishedGarwoodTable) {
  const Garwood table[] = {
      {0, 0.0, 3.689},       {1, 0.0253, 5.572},    {2, 0.2422, 7.225},   {3, 0.6187, 8.767},
      {5, 1.6235, 11.668},   {10, 4.7954, 18.390},  {20, 12.217, 30.889}, {50, 37.111, 65.919},
      {100, 81.364, 121.627},
  };
  for (const Garwood& g : table) {
    const auto ci = poisson_interval(g.k, 0.95);
    EXPECT_NEAR(ci.low, g.low, 6e-4 * std::max(1.0, g.low)) << "k=" << g.k;
    EXPECT_NEAR(ci.high, g.high, 6e-4 * g.high) << "k=" << g.k;
  }
}

TEST(PoissonInterval, ZeroEventsHasClosedFormUpperAndZeroLower) {
  for (double conf : {0.9, 0.95, 0.99}) {
    const auto ci = poisson_interval(0, conf);
    EXPECT_EQ(ci.low, 0.0);
    EXPECT_NEAR(ci.high, -std::log((1.0 - conf) / 2.0), 1e-10) << conf;  // P(X = 0 | mu) = alpha/2
  }
}

TEST(PoissonInterval, BoundsSatisfyTheDefiningTailProbabilities) {
  for (double conf : {0.8, 0.95, 0.999}) {
    const double half = (1.0 - conf) / 2.0;
    for (std::uint64_t k : {1u, 4u, 19u, 20u, 49u, 50u, 333u}) {
      const auto ci = poisson_interval(k, conf);
      EXPECT_NEAR(poisson_cdf(k, ci.high), half, 1e-9) << "k=" << k << " conf=" << conf;        // P(X <= k | high)
      EXPECT_NEAR(1.0 - poisson_cdf(k - 1, ci.low), half, 1e-9) << "k=" << k << " conf=" << conf;  // P(X >= k | low)
      EXPECT_LT(ci.low, static_cast<double>(k));
      EXPECT_GT(ci.high, static_cast<double>(k));
    }
  }
}

TEST(PoissonInterval, RejectsConfidenceOutsideOpenUnitInterval) {
  EXPECT_THROW((void)poisson_interval(3, 0.0), std::invalid_argument);
  EXPECT_THROW((void)poisson_interval(3, 1.0), std::invalid_argument);
  EXPECT_THROW((void)poisson_interval(3, std::nan("")), std::invalid_argument);
}

TEST(ComputeMrd, PercentLodLloqCiAndSensitivity) {
  const auto r = compute_mrd(10, 100000);
  ASSERT_TRUE(r.percent && r.lod_percent && r.lloq_percent && r.ci_percent && r.sensitivity_one_in);
  EXPECT_DOUBLE_EQ(*r.percent, 0.01);
  EXPECT_DOUBLE_EQ(*r.lod_percent, 0.02);
  EXPECT_DOUBLE_EQ(*r.lloq_percent, 0.05);
  EXPECT_DOUBLE_EQ(*r.sensitivity_one_in, 5000.0);
  EXPECT_NEAR(r.ci_percent->low, 4.7954e-3, 1e-6);
  EXPECT_NEAR(r.ci_percent->high, 18.390e-3, 1e-5);
  EXPECT_EQ(r.blast_events, 10u);
  EXPECT_EQ(r.denominator_events, 100000u);
  EXPECT_EQ(r.status, MrdStatus::negative);
  EXPECT_TRUE(r.message.empty());
}

TEST(ComputeMrd, StatusAtTheLodAndLloqBoundaries) {
  const std::uint64_t d = 1000000;
  EXPECT_EQ(compute_mrd(0, d).status, MrdStatus::negative);
  EXPECT_EQ(compute_mrd(19, d).status, MrdStatus::negative);
  EXPECT_EQ(compute_mrd(20, d).status, MrdStatus::positive_below_lloq);
  EXPECT_EQ(compute_mrd(49, d).status, MrdStatus::positive_below_lloq);
  EXPECT_EQ(compute_mrd(50, d).status, MrdStatus::positive);
  EXPECT_EQ(compute_mrd(d, d).status, MrdStatus::positive);

  MrdOptions cog;  // a lab using 10 events for detection and 30 for quantification
  cog.lod_events = 10;
  cog.lloq_events = 30;
  EXPECT_EQ(compute_mrd(9, d, cog).status, MrdStatus::negative);
  EXPECT_EQ(compute_mrd(10, d, cog).status, MrdStatus::positive_below_lloq);
  EXPECT_EQ(compute_mrd(29, d, cog).status, MrdStatus::positive_below_lloq);
  EXPECT_EQ(compute_mrd(30, d, cog).status, MrdStatus::positive);

  MrdOptions same;  // LOD == LLOQ: no "not quantifiable" band
  same.lod_events = 20;
  same.lloq_events = 20;
  EXPECT_EQ(compute_mrd(19, d, same).status, MrdStatus::negative);
  EXPECT_EQ(compute_mrd(20, d, same).status, MrdStatus::positive);
}

TEST(ComputeMrd, InsufficientSensitivityOnlyWhenLodIsAboveTheThreshold) {
  MrdOptions o;
  o.decision_threshold_percent = 0.01;  // 10^-4
  // 200,000 cells: LOD = 20 / 200,000 = exactly 0.01%: not above -> a plain negative.
  EXPECT_EQ(compute_mrd(0, 200000, o).status, MrdStatus::negative);
  EXPECT_EQ(compute_mrd(19, 200000, o).status, MrdStatus::negative);
  // One cell fewer: LOD 0.0100005% > 0.01% -> insufficient sensitivity, never negative.
  EXPECT_EQ(compute_mrd(0, 199999, o).status, MrdStatus::insufficient_sensitivity);
  EXPECT_EQ(compute_mrd(19, 199999, o).status, MrdStatus::insufficient_sensitivity);
  // Positive results stay positive whatever the sensitivity.
  EXPECT_EQ(compute_mrd(20, 100000, o).status, MrdStatus::positive_below_lloq);
  EXPECT_EQ(compute_mrd(50, 100000, o).status, MrdStatus::positive);
  // Exactly-at-boundary for other decimal thresholds (4M cells at 10^-5 with 20 events; 0.1%).
  o.decision_threshold_percent = 0.0005;
  EXPECT_EQ(compute_mrd(0, 4000000, o).status, MrdStatus::negative);
  EXPECT_EQ(compute_mrd(0, 3999999, o).status, MrdStatus::insufficient_sensitivity);
  o.decision_threshold_percent = 0.1;
  EXPECT_EQ(compute_mrd(3, 20000, o).status, MrdStatus::negative);
  EXPECT_EQ(compute_mrd(3, 19999, o).status, MrdStatus::insufficient_sensitivity);
  // Without a threshold nothing is judged insufficient.
  EXPECT_EQ(compute_mrd(0, 1000).status, MrdStatus::negative);
}

TEST(ComputeMrd, ZeroDenominatorIsNotEvaluableWithoutNumbers) {
  const auto r = compute_mrd(0, 0);
  EXPECT_EQ(r.status, MrdStatus::not_evaluable);
  EXPECT_FALSE(r.percent);
  EXPECT_FALSE(r.lod_percent);
  EXPECT_FALSE(r.lloq_percent);
  EXPECT_FALSE(r.ci_percent);
  EXPECT_FALSE(r.sensitivity_one_in);
  EXPECT_FALSE(r.message.empty());
  EXPECT_EQ(describe(r), "MRD not evaluable: no denominator events.");
}

TEST(ComputeMrd, RejectsInvalidCountsAndOptions) {
  try {
    (void)compute_mrd(11, 10);
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("11"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("10"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)compute_mrd(1, 0), std::invalid_argument);
  MrdOptions o;
  o.lod_events = 0;
  EXPECT_THROW((void)compute_mrd(1, 10, o), std::invalid_argument);
  o = {};
  o.lloq_events = 19;
  EXPECT_THROW((void)compute_mrd(1, 10, o), std::invalid_argument);
  o = {};
  o.confidence = 1.5;
  EXPECT_THROW((void)compute_mrd(1, 10, o), std::invalid_argument);
  o = {};
  o.decision_threshold_percent = 0.0;
  EXPECT_THROW((void)compute_mrd(1, 10, o), std::invalid_argument);
  o.decision_threshold_percent = std::nan("");
  EXPECT_THROW((void)compute_mrd(1, 10, o), std::invalid_argument);
}

TEST(ComputeMrd, UpperBoundIsCappedAtHundredPercent) {
  const auto r = compute_mrd(100, 100);
  EXPECT_DOUBLE_EQ(*r.percent, 100.0);
  EXPECT_DOUBLE_EQ(r.ci_percent->high, 100.0);
  EXPECT_NEAR(r.ci_percent->low, 81.364, 1e-3);
}

TEST(ComputeMrd, LargeCountsAreFastAndSane) {
  const auto r = compute_mrd(2500000, 10000000);
  EXPECT_DOUBLE_EQ(*r.percent, 25.0);
  EXPECT_LT(r.ci_percent->low, 25.0);
  EXPECT_GT(r.ci_percent->high, 25.0);
  EXPECT_NEAR(r.ci_percent->high - r.ci_percent->low, 2 * 1.96 * std::sqrt(2500000.0) / 1e5, 1e-4);  // normal limit
}

TEST(ComputeMrd, ConfidenceLevelIsUsed) {
  MrdOptions o;
  o.confidence = 0.99;
  const auto wide = compute_mrd(30, 100000, o);
  const auto narrow = compute_mrd(30, 100000);
  EXPECT_LT(wide.ci_percent->low, narrow.ci_percent->low);
  EXPECT_GT(wide.ci_percent->high, narrow.ci_percent->high);
  EXPECT_EQ(wide.options.confidence, 0.99);
}

TEST(Format, PercentTwoSignificantDigitsTrimmed) {
  EXPECT_EQ(format_percent(0.0), "0");
  EXPECT_EQ(format_percent(0.012345), "0.012");
  EXPECT_EQ(format_percent(0.01), "0.01");
  EXPECT_EQ(format_percent(0.0000999), "0.0001");  // rounding up a digit keeps it readable
  EXPECT_EQ(format_percent(12.34), "12");
  EXPECT_EQ(format_percent(100.0), "100");
  EXPECT_EQ(format_percent(1.5), "1.5");
  EXPECT_EQ(format_percent(0.00204), "0.002");
  EXPECT_EQ(format_percent(0.012345, 3), "0.0123");
}

TEST(Format, CountThousandsSeparators) {
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1000), "1,000");
  EXPECT_EQ(format_count(200000), "200,000");
  EXPECT_EQ(format_count(1234567), "1,234,567");
}

TEST(Describe, PositiveQuantified) {
  EXPECT_EQ(describe(compute_mrd(123, 100000)),
            "MRD positive: 0.12% (95% CI 0.1-0.15%; 123 of 100,000 events); LOD 0.02%, LLOQ 0.05%; "
            "sensitivity 1 in 5,000.");
}

TEST(Describe, PositiveBelowLloq) {
  EXPECT_EQ(describe(compute_mrd(24, 200000)),
            "MRD positive, not quantifiable: 0.012% (95% CI 0.0077-0.018%; 24 of 200,000 events), below the "
            "LLOQ of 0.025% (LOD 0.01%); sensitivity 1 in 10,000.");
}

TEST(Describe, Negative) {
  EXPECT_EQ(describe(compute_mrd(0, 1000000)),
            "MRD negative (< LOD 0.002%): 0 of 1,000,000 events, fewer than the 20 needed (95% CI 0-0.00037%); "
            "sensitivity 1 in 50,000.");
}

TEST(Describe, InsufficientSensitivityNeverSaysNegative) {
  MrdOptions o;
  o.decision_threshold_percent = 0.01;
  const std::string s = describe(compute_mrd(3, 100000, o));
  EXPECT_EQ(s,
            "MRD not detected, insufficient sensitivity: the LOD of 0.02% is above the decision threshold of 0.01% "
            "(3 of 100,000 events, fewer than the 20 needed; 95% CI 0.00062-0.0088%); sensitivity 1 in 5,000.");
  EXPECT_EQ(s.find("negative"), std::string::npos);
}

TEST(Describe, ConfidenceLabelFollowsOptions) {
  MrdOptions o;
  o.confidence = 0.9;
  EXPECT_NE(describe(compute_mrd(60, 100000, o)).find("(90% CI "), std::string::npos);
  o.confidence = 0.999;
  EXPECT_NE(describe(compute_mrd(60, 100000, o)).find("(99.9% CI "), std::string::npos);
}

TEST(StatusName, StableIdentifiers) {
  using flowmrd::pipeline::to_string;
  EXPECT_EQ(to_string(MrdStatus::positive), "positive");
  EXPECT_EQ(to_string(MrdStatus::positive_below_lloq), "positive_below_lloq");
  EXPECT_EQ(to_string(MrdStatus::negative), "negative");
  EXPECT_EQ(to_string(MrdStatus::insufficient_sensitivity), "insufficient_sensitivity");
  EXPECT_EQ(to_string(MrdStatus::not_evaluable), "not_evaluable");
}

}  // namespace
