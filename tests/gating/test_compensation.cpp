// SPDX-License-Identifier: Apache-2.0
// Unit tests of flowmrd::gating::Compensation: validation and inversion, sources and their
// provenance, channel resolution, and the bulk `apply` kernel (float/double, row ranges, threads).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "fcs/dataset.hpp"
#include "fcs/sha256.hpp"
#include "compensation_test_support.hpp"
#include "flowmrd/gating/compensation.hpp"

namespace {

using flowmrd::gating::Compensation;
using flowmrd::gating::CompensationError;
using flowmrd::gating::CompensationSource;
using Kind = CompensationSource::Kind;

CompensationSource test_source() { return {Kind::csv, "test.csv", ""}; }

using compensation_test::error_of;

fcs::Dataset dataset_with(const std::vector<std::string>& names) {
  fcs::Dataset ds;
  int i = 1;
  for (const auto& n : names) {
    fcs::Channel c;
    c.index = i++;
    c.name = n;
    ds.channels.push_back(c);
  }
  return ds;
}

/// A diagonally dominant n x n spillover matrix with off-diagonal values in [0, 0.25).
std::vector<double> random_spill(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 0.25);
  std::vector<double> s(n * n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) s[i * n + j] = i == j ? 1.0 : u(rng);
  return s;
}

std::vector<std::string> names(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back("C" + std::to_string(i));
  return out;
}

/// n columns of `rows` values.
template <class T>
std::vector<std::vector<T>> random_columns(std::size_t n, std::size_t rows, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-500.0, 262144.0);
  std::vector<std::vector<T>> cols(n, std::vector<T>(rows));
  for (auto& c : cols)
    for (auto& v : c) v = static_cast<T>(u(rng));
  return cols;
}

template <class T>
std::vector<T*> pointers(std::vector<std::vector<T>>& cols) {
  std::vector<T*> p;
  for (auto& c : cols) p.push_back(c.data());
  return p;
}

}  // namespace

TEST(Compensation, KindNames) {
  EXPECT_EQ(flowmrd::gating::to_string(Kind::none), "none");
  EXPECT_EQ(flowmrd::gating::to_string(Kind::file_keyword), "file_keyword");
  EXPECT_EQ(flowmrd::gating::to_string(Kind::csv), "csv");
  EXPECT_EQ(flowmrd::gating::to_string(Kind::flowjo), "flowjo");
  EXPECT_EQ(flowmrd::gating::to_string(Kind::gatingml), "gatingml");
}

TEST(Compensation, IdentityLeavesValuesUnchanged) {
  const Compensation c({"A", "B", "C"}, {1, 0, 0, 0, 1, 0, 0, 0, 1}, test_source());
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) EXPECT_EQ(c.inverse(i, j), i == j ? 1.0 : 0.0);
  auto cols = random_columns<double>(3, 1000, 1);
  const auto before = cols;
  auto p = pointers(cols);
  c.apply(std::span<double* const>(p), 0, 1000);
  EXPECT_EQ(cols, before);
}

TEST(Compensation, TwoByTwoKnownInverse) {
  const double a = 0.15;
  const double b = 0.04;
  const Compensation c({"FITC-A", "PE-A"}, {1, a, b, 1}, test_source());
  const double det = 1 - a * b;
  EXPECT_NEAR(c.inverse(0, 0), 1 / det, 1e-15);
  EXPECT_NEAR(c.inverse(0, 1), -a / det, 1e-15);
  EXPECT_NEAR(c.inverse(1, 0), -b / det, 1e-15);
  EXPECT_NEAR(c.inverse(1, 1), 1 / det, 1e-15);
  EXPECT_EQ(c.spillover(0, 1), a);
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.channels(), (std::vector<std::string>{"FITC-A", "PE-A"}));

  // One FITC-only event and one PE-only event: observed = true x S, compensation recovers true.
  std::vector<double> fitc = {1000.0, 50.0 * b};
  std::vector<double> pe = {1000.0 * a, 50.0};
  std::vector<double*> cols = {fitc.data(), pe.data()};
  c.apply(std::span<double* const>(cols), 0, 2);
  EXPECT_NEAR(fitc[0], 1000.0, 1e-10);
  EXPECT_NEAR(pe[0], 0.0, 1e-10);
  EXPECT_NEAR(fitc[1], 0.0, 1e-12);
  EXPECT_NEAR(pe[1], 50.0, 1e-12);
}

TEST(Compensation, ThreeByThreeRoundTrip) {
  // S from Gating-ML compliance set 1 (gates1.xml, MySpill); its inverse checked by S x S^-1 = I.
  const std::vector<double> s = {1, 0.02, 0.06, 0.11, 1, 0.07, 0.09, 0.01, 1};
  const Compensation c({"FL1-H", "FL2-H", "FL3-H"}, s, test_source());
  for (std::size_t i = 0; i < 3; ++i) {
    for (std::size_t j = 0; j < 3; ++j) {
      double sum = 0;
      for (std::size_t k = 0; k < 3; ++k) sum += s[i * 3 + k] * c.inverse(k, j);
      EXPECT_NEAR(sum, i == j ? 1.0 : 0.0, 1e-15);
    }
  }
  // raw = truth x S for 100 events; compensation gives truth back.
  auto truth = random_columns<double>(3, 100, 7);
  std::vector<std::vector<double>> raw(3, std::vector<double>(100));
  for (std::size_t e = 0; e < 100; ++e)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t i = 0; i < 3; ++i) raw[j][e] += truth[i][e] * s[i * 3 + j];
  auto p = pointers(raw);
  c.apply(std::span<double* const>(p), 0, 100);
  for (std::size_t j = 0; j < 3; ++j)
    for (std::size_t e = 0; e < 100; ++e) EXPECT_NEAR(raw[j][e], truth[j][e], 1e-9 * (1 + std::fabs(truth[j][e])));
}

TEST(Compensation, SingularMatrixIsAnError) {
  const std::string msg = error_of([] { (void)Compensation({"FL1", "FL2"}, {1, 0.5, 1, 0.5}, test_source()); });
  EXPECT_NE(msg.find("singular"), std::string::npos) << msg;
  EXPECT_NE(msg.find("FL1, FL2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("test.csv"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rows FL1 and FL2 are equal"), std::string::npos) << msg;

  const std::string zero = error_of([] { (void)Compensation({"A", "B"}, {1, 0, 0, 0}, test_source()); });
  EXPECT_NE(zero.find("row B is all zero"), std::string::npos) << zero;
}

TEST(Compensation, IllConditionedMatrixIsAnError) {
  const std::string msg =
      error_of([] { (void)Compensation({"A", "B"}, {1, 1, 1, 1 + 1e-15}, test_source()); });
  EXPECT_NE(msg.find("ill-conditioned"), std::string::npos) << msg;
}

TEST(Compensation, MalformedMatricesAreErrors) {
  EXPECT_NE(error_of([] { (void)Compensation({"A", "B"}, {1, 0, 1}, test_source()); }).find("need 4 values"),
            std::string::npos);
  EXPECT_NE(error_of([] { (void)Compensation({}, {}, test_source()); }).find("no channels"), std::string::npos);
  EXPECT_NE(error_of([] { (void)Compensation({"A", "A"}, {1, 0, 0, 1}, test_source()); }).find("listed twice"),
            std::string::npos);
  EXPECT_NE(error_of([] { (void)Compensation({"A", ""}, {1, 0, 0, 1}, test_source()); }).find("empty"),
            std::string::npos);
  const std::string nan = error_of([] {
    (void)Compensation({"A", "B"}, {1, std::numeric_limits<double>::quiet_NaN(), 0, 1}, test_source());
  });
  EXPECT_NE(nan.find("row A, column B"), std::string::npos) << nan;
}

TEST(Compensation, FromSpilloverRecordsKeywordAndHash) {
  fcs::Spillover s;
  s.source_keyword = "SPILL";
  s.channels = {"FITC-A", "PE-A"};
  s.channel_indices = {3, 4};
  s.values = {1, 0.1, 0.025, 1};
  const Compensation c = Compensation::from_spillover(s);
  EXPECT_EQ(c.source().kind, Kind::file_keyword);
  EXPECT_EQ(c.source().origin, "SPILL");
  const std::string canonical = "2,FITC-A,PE-A,1,0.1,0.025,1";
  EXPECT_EQ(c.source().sha256,
            fcs::sha256_hex(std::as_bytes(std::span<const char>(canonical.data(), canonical.size()))));
  EXPECT_EQ(c.spillover(1, 0), 0.025);
}

TEST(Compensation, FromDatasetTakesThePreferredMatrix) {
  fcs::Dataset ds = dataset_with({"FSC-A", "FITC-A", "PE-A"});
  EXPECT_FALSE(Compensation::from_dataset(ds).has_value());
  fcs::Spillover first;
  first.source_keyword = "SPILL";
  first.channels = {"FITC-A", "PE-A"};
  first.values = {1, 0.2, 0, 1};
  fcs::Spillover second = first;
  second.source_keyword = "$SPILLOVER";
  second.values = {1, 0.3, 0, 1};
  ds.spillovers = {first, second};
  const auto c = Compensation::from_dataset(ds);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->source().origin, "SPILL");
  EXPECT_EQ(c->spillover(0, 1), 0.2);
}

TEST(Compensation, ResolveFindsColumns) {
  const fcs::Dataset ds = dataset_with({"FSC-A", "SSC-A", "PE-A", "FITC-A"});
  const Compensation c({"FITC-A", "PE-A"}, {1, 0.1, 0.1, 1}, test_source());
  EXPECT_EQ(c.resolve(ds), (std::vector<std::size_t>{3, 2}));
}

TEST(Compensation, ResolveListsEveryMissingChannel) {
  const fcs::Dataset ds = dataset_with({"FSC-A", "SSC-A", "FITC-A"});
  const Compensation c({"FITC-A", "PE-A", "APC-A"}, {1, 0, 0, 0, 1, 0, 0, 0, 1}, {Kind::file_keyword, "$SPILLOVER", ""});
  const std::string msg = error_of([&] { (void)c.resolve(ds); });
  EXPECT_NE(msg.find("2 channels the data set lacks: PE-A, APC-A"), std::string::npos) << msg;
  EXPECT_NE(msg.find("FSC-A, SSC-A, FITC-A"), std::string::npos) << msg;
  EXPECT_NE(msg.find("$SPILLOVER"), std::string::npos) << msg;
}

TEST(Compensation, ApplyChecksTheColumnCount) {
  const Compensation c({"A", "B"}, {1, 0.1, 0.1, 1}, test_source());
  std::vector<double> a(4);
  std::vector<double*> one = {a.data()};
  EXPECT_THROW(c.apply(std::span<double* const>(one), 0, 4), CompensationError);
}

TEST(Compensation, MatchesAPlainMatrixProduct) {
  // 12 channels (the benchmark's shape), an event count that is not a multiple of the block.
  const std::size_t n = 12;
  const std::size_t rows = 1000 + 29;
  const Compensation c(names(n), random_spill(n, 3), test_source());
  auto cols = random_columns<double>(n, rows, 5);
  std::vector<std::vector<double>> expect(n, std::vector<double>(rows));
  for (std::size_t e = 0; e < rows; ++e) {
    for (std::size_t j = 0; j < n; ++j) {
      double acc = 0;
      for (std::size_t i = 0; i < n; ++i) acc += cols[i][e] * c.inverse(i, j);
      expect[j][e] = acc;
    }
  }
  auto p = pointers(cols);
  c.apply(std::span<double* const>(p), 0, rows);
  // Same products summed in the same order: identical doubles.
  EXPECT_EQ(cols, expect);
}

TEST(Compensation, FloatAndDoubleApplyAgree) {
  const std::size_t n = 8;
  const std::size_t rows = 777;
  const Compensation c(names(n), random_spill(n, 11), test_source());
  auto f = random_columns<float>(n, rows, 13);
  std::vector<std::vector<double>> d(n, std::vector<double>(rows));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t e = 0; e < rows; ++e) d[i][e] = f[i][e];
  auto pf = pointers(f);
  auto pd = pointers(d);
  c.apply(std::span<float* const>(pf), 0, rows);
  c.apply(std::span<double* const>(pd), 0, rows);
  // The float path computes in double and rounds once when storing.
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t e = 0; e < rows; ++e) ASSERT_EQ(f[i][e], static_cast<float>(d[i][e])) << i << "," << e;
}

TEST(Compensation, DisjointRangesEqualTheWhole) {
  const std::size_t n = 6;
  const std::size_t rows = 10007;
  const Compensation c(names(n), random_spill(n, 17), test_source());
  auto whole = random_columns<float>(n, rows, 19);
  auto pieces = whole;
  auto threaded = whole;
  auto pw = pointers(whole);
  c.apply(std::span<float* const>(pw), 0, rows);

  auto pp = pointers(pieces);
  for (std::size_t first = 0; first < rows; first += 333) {
    c.apply(std::span<float* const>(pp), first, std::min<std::size_t>(333, rows - first));
  }
  EXPECT_EQ(pieces, whole);

  auto pt = pointers(threaded);
  const std::size_t split = 4099;  // not a block boundary
  std::thread t1([&] { c.apply(std::span<float* const>(pt), 0, split); });
  std::thread t2([&] { c.apply(std::span<float* const>(pt), split, rows - split); });
  t1.join();
  t2.join();
  EXPECT_EQ(threaded, whole);
}

TEST(Compensation, ZeroCoefficientsDoNotSpreadNaN) {
  // Block diagonal: channel C does not interact with A and B.
  const Compensation c({"A", "B", "C"}, {1, 0.1, 0, 0.2, 1, 0, 0, 0, 1}, test_source());
  std::vector<double> a = {100, 100};
  std::vector<double> b = {10, 10};
  std::vector<double> cc = {std::numeric_limits<double>::quiet_NaN(), 5};
  std::vector<double*> cols = {a.data(), b.data(), cc.data()};
  c.apply(std::span<double* const>(cols), 0, 2);
  EXPECT_FALSE(std::isnan(a[0]));
  EXPECT_FALSE(std::isnan(b[0]));
  EXPECT_TRUE(std::isnan(cc[0]));
  EXPECT_EQ(a[0], a[1]);
  EXPECT_EQ(cc[1], 5.0);
}

TEST(Compensation, EmptyRangeIsANoOp) {
  const Compensation c({"A", "B"}, {1, 0.1, 0.1, 1}, test_source());
  std::vector<float> a = {1, 2};
  std::vector<float> b = {3, 4};
  std::vector<float*> cols = {a.data(), b.data()};
  c.apply(std::span<float* const>(cols), 1, 0);
  EXPECT_EQ(a, (std::vector<float>{1, 2}));
}
