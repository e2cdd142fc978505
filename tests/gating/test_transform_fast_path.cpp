// SPDX-License-Identifier: Apache-2.0
// The bulk fast path (table + interpolation for logicle, hyperlog and biex) against the exact path
// on 10^6 inputs per parameter set: log-spaced magnitudes of both signs from 1e-6 to far beyond T,
// plus uniform values near zero. Bound: 1e-6 in transformed units on top of float32's own
// rounding of the output (half a unit in the last place of the exact value), see
// docs/transforms.md. Also: special values, and identical results whatever the span length (the
// vectorised and scalar loops must agree bit for bit).
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "flowmrd/gating/transform.hpp"

namespace {

using flowmrd::gating::Transform;
using flowmrd::gating::TransformKind;
using flowmrd::gating::TransformSpec;

constexpr double fast_path_bound = 1e-6;

/// Parameter sets: the reference ones and the corners of the allowed region.
const std::vector<std::string> specs = {
    "logicle:T=262144,W=0.5,M=4.5,A=0",
    "logicle:T=262144,W=0,M=4.5,A=0",
    "logicle:T=10000,W=1,M=4,A=0",
    "logicle:T=1048576,W=0.75,M=6,A=1",
    "logicle:T=262144,W=1,M=4.5,A=-1",
    "logicle:T=4194304,W=1.5,M=6.5,A=0.5",
    "logicle:T=262144,W=2.25,M=4.5,A=0",
    "logicle:T=262144,W=5,M=10,A=0",
    "logicle:T=1,W=0.5,M=4.5,A=0",
    "logicle-flowcore:w=0.5,t=262144,m=4.5,a=0",
    "hyperlog:T=262144,W=0.5,M=4.5,A=0",
    "hyperlog:T=100000,W=1,M=4,A=0.5",
    "hyperlog:T=262144,W=0.01,M=4.5,A=0",
    "biex:negative=0,width=-10,positive=4.418539922,max=262144",
    "biex:negative=0.5,width=-30,positive=5.4,max=1048576",
    "biex:negative=1,width=-100,positive=4.5,max=262144",
    "biex:negative=0,width=-1,positive=4.418539922,max=262144",
};

/// 10^6 inputs: 400,000 log-spaced magnitudes per sign from 1e-6 to 1e4 T (so far negatives and
/// values far beyond the top of scale), and 200,000 uniform in [-T/100, T/100].
std::vector<double> inputs_for(double top) {
  std::vector<double> x;
  x.reserve(1'000'000);
  const int per_sign = 400'000;
  const double lo = std::log(1e-6);
  const double hi = std::log(1e4 * top);
  for (int i = 0; i < per_sign; ++i) {
    const double v = std::exp(lo + (hi - lo) * i / (per_sign - 1));
    x.push_back(v);
    x.push_back(-v);
  }
  std::mt19937_64 rng(20240601);
  std::uniform_real_distribution<double> near_zero(-top / 100, top / 100);
  while (x.size() < 1'000'000) x.push_back(near_zero(rng));
  return x;
}

double top_of(const TransformSpec& spec) {
  for (const char* key : {"T", "t", "max"}) {
    if (const auto it = spec.params.find(key); it != spec.params.end()) return it->second;
  }
  return 262144;
}

/// Half a unit in the last place of float32 at `value`: what rounding the output costs anyway.
double half_ulp(double value) {
  const auto f = static_cast<float>(std::abs(value));
  return 0.5 * (std::nextafter(f, std::numeric_limits<float>::infinity()) - f);
}

struct Worst {
  double error = 0;        ///< largest |fast - exact| - half_ulp(exact)
  double total = 0;        ///< largest |fast - exact|
  double x = 0;
};

template <typename In>
Worst compare(const Transform& t, const std::vector<double>& xs) {
  std::vector<In> in(xs.begin(), xs.end());
  // The exact value of the input the fast path actually sees (float inputs are rounded first).
  const std::vector<double> as_double(in.begin(), in.end());
  std::vector<double> exact(xs.size());
  t.apply_exact(as_double, exact);
  std::vector<float> fast(xs.size());
  t.apply(std::span<const In>(in), std::span<float>(fast));
  Worst w;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double total = std::abs(static_cast<double>(fast[i]) - exact[i]);
    const double beyond_rounding = total - half_ulp(exact[i]);
    if (beyond_rounding > w.error) {
      w.error = beyond_rounding;
      w.x = as_double[i];
    }
    w.total = std::max(w.total, total);
  }
  return w;
}

TEST(TransformFastPath, WithinBoundOfExactOnAMillionInputs) {
  for (const std::string& text : specs) {
    const Transform t(TransformSpec::parse(text));
    const std::vector<double> xs = inputs_for(top_of(t.spec()));
    const Worst from_float = compare<float>(t, xs);
    const Worst from_double = compare<double>(t, xs);
    EXPECT_LE(from_float.error, fast_path_bound) << text << " float input x=" << from_float.x;
    EXPECT_LE(from_double.error, fast_path_bound) << text << " double input x=" << from_double.x;
    // Where float32 resolves 1e-6 (outputs below 8), the total error itself is within the bound.
    if (t.spec().kind != TransformKind::biex) {
      EXPECT_LE(from_double.total, fast_path_bound) << text;
    }
    std::cout << "  " << std::left << std::setw(60) << text << std::setprecision(3)
              << " beyond float rounding " << std::max(from_float.error, from_double.error) << ", total "
              << std::max(from_float.total, from_double.total) << '\n';
  }
}

TEST(TransformFastPath, SpecialValues) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  constexpr float fmax = std::numeric_limits<float>::max();
  constexpr float denormal = std::numeric_limits<float>::denorm_min();
  for (const std::string& text : specs) {
    const Transform t(TransformSpec::parse(text));
    const bool biex = t.spec().kind == TransformKind::biex;
    const std::vector<float> in{0.0f, -0.0f, denormal, -denormal, fmax, -fmax, inf, -inf,
                                std::numeric_limits<float>::quiet_NaN()};
    std::vector<float> out(in.size());
    t.apply(std::span<const float>(in), std::span<float>(out));
    for (std::size_t i = 0; i + 1 < in.size(); ++i) {
      const double exact = t.apply(static_cast<double>(in[i]));
      if (std::isinf(exact)) {
        EXPECT_EQ(out[i], static_cast<float>(exact)) << text << " x=" << in[i];
      } else {
        EXPECT_LE(std::abs(out[i] - exact), fast_path_bound + half_ulp(exact)) << text << " x=" << in[i];
      }
    }
    EXPECT_TRUE(std::isnan(out.back())) << text;
    if (biex) {
      EXPECT_EQ(out[6], 4096.0f) << text;
      EXPECT_EQ(out[7], 0.0f) << text;
    } else {
      EXPECT_EQ(out[6], inf) << text;
      EXPECT_EQ(out[7], -inf) << text;
    }
    // Double inputs beyond float's range.
    const std::vector<double> big{1e300, -1e300, 1e-300, -1e-300};
    std::vector<float> big_out(big.size());
    t.apply(std::span<const double>(big), std::span<float>(big_out));
    for (std::size_t i = 0; i < big.size(); ++i) {
      const double exact = t.apply(big[i]);
      EXPECT_LE(std::abs(big_out[i] - exact), fast_path_bound + half_ulp(exact)) << text << " x=" << big[i];
    }
  }
}

TEST(TransformFastPath, SameBitsWhateverTheSpanLength) {
  // Long spans go through the vector loop where the CPU has one, the tail and short spans through
  // the scalar loop: results must not depend on which.
  std::vector<float> in;
  for (int i = -3000; i <= 3000; ++i) in.push_back(static_cast<float>(i) * std::abs(static_cast<float>(i)) * 0.37f);
  std::vector<double> din(in.begin(), in.end());
  for (const std::string& text : specs) {
    const Transform t(TransformSpec::parse(text));
    std::vector<float> whole(in.size()), pieces(in.size()), whole_d(in.size()), pieces_d(in.size());
    t.apply(std::span<const float>(in), std::span<float>(whole));
    t.apply(std::span<const double>(din), std::span<float>(whole_d));
    for (std::size_t i = 0; i < in.size(); i += 3) {
      const std::size_t n = std::min<std::size_t>(3, in.size() - i);
      t.apply(std::span<const float>(in).subspan(i, n), std::span<float>(pieces).subspan(i, n));
      t.apply(std::span<const double>(din).subspan(i, n), std::span<float>(pieces_d).subspan(i, n));
    }
    EXPECT_EQ(0, std::memcmp(whole.data(), pieces.data(), whole.size() * sizeof(float))) << text;
    EXPECT_EQ(0, std::memcmp(whole_d.data(), pieces_d.data(), whole_d.size() * sizeof(float))) << text;
    EXPECT_EQ(whole, whole_d) << text;  // a float input is the same value as a double
  }
}

TEST(TransformFastPath, ScalesBeyondFloatRangeUseTheExactPath) {
  // A table indexed by float32 exponents cannot serve T = 1e300; the bulk call still works.
  for (const char* text : {"logicle:T=1e300", "logicle:T=1e-300", "biex:max=1e300"}) {
    const Transform t(TransformSpec::parse(text));
    const double top = top_of(t.spec());
    const std::vector<double> xs{-top, -1e-3 * top, 0, 1e-6 * top, 0.5 * top, top, 10 * top};
    std::vector<float> out(xs.size());
    t.apply(std::span<const double>(xs), std::span<float>(out));
    for (std::size_t i = 0; i < xs.size(); ++i) {
      EXPECT_EQ(out[i], static_cast<float>(t.apply(xs[i]))) << text << " x=" << xs[i];
    }
  }
}

TEST(TransformFastPath, SimpleTransformsAreTheExactFormulaRounded) {
  for (const char* text : {"flin:T=1000,A=100", "flog", "fasinh:T=262144,M=4,A=1", "arcsinh:a=1,b=0.2,c=0"}) {
    const Transform t(TransformSpec::parse(text));
    std::vector<double> xs;
    for (int i = 1; i < 2000; ++i) xs.push_back(std::pow(1.01, i) * (i % 3 == 0 ? -1 : 1));
    std::vector<float> out(xs.size());
    t.apply(std::span<const double>(xs), std::span<float>(out));
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double exact = t.apply(xs[i]);
      if (std::isnan(exact)) {
        EXPECT_TRUE(std::isnan(out[i]));
      } else {
        EXPECT_EQ(out[i], static_cast<float>(exact)) << text << " x=" << xs[i];
      }
    }
  }
}

}  // namespace
