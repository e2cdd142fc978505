// SPDX-License-Identifier: Apache-2.0
// Scale transforms: names, parameter text, validation messages, the definitions' defining
// properties, and round trips transform -> inverse (and back) over wide ranges, large negatives
// included, for parameter sets at the edges of what Gating-ML 2.0 allows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "flowmrd/gating/transform.hpp"

namespace {

using flowmrd::gating::fratio;
using flowmrd::gating::Transform;
using flowmrd::gating::TransformError;
using flowmrd::gating::TransformKind;
using flowmrd::gating::TransformSpec;
using flowmrd::gating::transform_kind_from_string;
using ::testing::HasSubstr;

constexpr double inf = std::numeric_limits<double>::infinity();

Transform make(const std::string& text) { return Transform(TransformSpec::parse(text)); }

/// The message of the TransformError that constructing `text` throws ("" if none).
std::string construction_error(const std::string& text) {
  try {
    (void)make(text);
  } catch (const TransformError& e) {
    return e.what();
  }
  return "";
}

/// The size of the data a scale is made for: T (flowCore t, biex max); 1/|b| for arcsinh.
double data_scale(const TransformSpec& spec) {
  for (const char* key : {"T", "t", "max"}) {
    if (const auto it = spec.params.find(key); it != spec.params.end()) return it->second;
  }
  if (const auto it = spec.params.find("b"); it != spec.params.end()) return 1 / std::abs(it->second);
  return 1;
}

/// Data values from -10^15 to 10^15: zero, and both signs log-spaced, 40 per decade.
std::vector<double> wide_inputs() {
  std::vector<double> xs{0.0};
  for (int i = -6 * 40; i <= 15 * 40; ++i) {
    const double v = std::pow(10.0, i / 40.0);
    xs.push_back(v);
    xs.push_back(-v);
  }
  return xs;
}

// ---- names -------------------------------------------------------------------------------------

TEST(TransformNames, RoundTripEveryKind) {
  for (const TransformKind kind : {TransformKind::identity, TransformKind::flin, TransformKind::flog,
                                   TransformKind::fasinh, TransformKind::logicle, TransformKind::hyperlog,
                                   TransformKind::biex, TransformKind::arcsinh, TransformKind::logicle_flowcore}) {
    EXPECT_EQ(transform_kind_from_string(to_string(kind)), kind) << to_string(kind);
  }
  EXPECT_EQ(to_string(TransformKind::logicle_flowcore), "logicle-flowcore");
}

TEST(TransformNames, CaseInsensitiveAndLinearIsIdentity) {
  EXPECT_EQ(transform_kind_from_string("LOGICLE"), TransformKind::logicle);
  EXPECT_EQ(transform_kind_from_string("Logicle-FlowCore"), TransformKind::logicle_flowcore);
  EXPECT_EQ(transform_kind_from_string("linear"), TransformKind::identity);
  EXPECT_EQ(transform_kind_from_string("Linear"), TransformKind::identity);
}

TEST(TransformNames, UnknownNameListsTheKnownOnes) {
  try {
    (void)transform_kind_from_string("logicel");
    FAIL() << "no exception";
  } catch (const TransformError& e) {
    EXPECT_THAT(e.what(), HasSubstr("'logicel'"));
    EXPECT_THAT(e.what(), HasSubstr("logicle-flowcore"));
  }
  EXPECT_THROW((void)transform_kind_from_string(""), TransformError);
}

// ---- TransformSpec text ------------------------------------------------------------------------

TEST(TransformSpecText, BareNameTakesTheDocumentedDefaults) {
  EXPECT_EQ(TransformSpec::parse("logicle").to_string(), "logicle:T=262144,W=0.5,M=4.5,A=0");
  EXPECT_EQ(TransformSpec::parse("hyperlog").to_string(), "hyperlog:T=262144,W=0.5,M=4.5,A=0");
  EXPECT_EQ(TransformSpec::parse("fasinh").to_string(), "fasinh:T=262144,M=4.5,A=0");
  EXPECT_EQ(TransformSpec::parse("flin").to_string(), "flin:T=262144,A=0");
  EXPECT_EQ(TransformSpec::parse("flog").to_string(), "flog:T=262144,M=4.5");
  EXPECT_EQ(TransformSpec::parse("arcsinh").to_string(), "arcsinh:a=1,b=1,c=0");
  EXPECT_EQ(TransformSpec::parse("logicle-flowcore").to_string(), "logicle-flowcore:w=0.5,t=262144,m=4.5,a=0");
  EXPECT_EQ(TransformSpec::parse("biex").to_string(), "biex:negative=0,width=-10,positive=4.418539922,max=262144");
  EXPECT_EQ(TransformSpec::parse("identity").to_string(), "identity");
  EXPECT_EQ(TransformSpec::parse("linear").to_string(), "identity");
}

TEST(TransformSpecText, PartialParametersCanonicalOrderAndRoundTrip) {
  const TransformSpec s = TransformSpec::parse("logicle:A=1, W=0.75 ,T=1048576,M=6");
  EXPECT_EQ(s.kind, TransformKind::logicle);
  EXPECT_EQ(s.to_string(), "logicle:T=1048576,W=0.75,M=6,A=1");
  EXPECT_EQ(TransformSpec::parse(s.to_string()), s);
  EXPECT_EQ(TransformSpec::parse("logicle:W=1").params.at("T"), 262144);
  // Shortest round-trip numbers, exactly the doubles given.
  const TransformSpec t = TransformSpec::parse("arcsinh:b=0.1,a=-3e-7");
  EXPECT_EQ(t.params.at("b"), 0.1);
  EXPECT_EQ(t.params.at("a"), -3e-7);
  EXPECT_EQ(TransformSpec::parse(t.to_string()), t);
}

TEST(TransformSpecText, KeysMatchCaseInsensitivelyAndBecomeCanonical) {
  EXPECT_EQ(TransformSpec::parse("logicle:t=10000,w=1").to_string(), "logicle:T=10000,W=1,M=4.5,A=0");
  EXPECT_EQ(TransformSpec::parse("logicle-flowcore:T=10000,M=4").to_string(),
            "logicle-flowcore:w=0.5,t=10000,m=4,a=0");
  EXPECT_EQ(TransformSpec::parse("biex:Width=-100,NEGATIVE=1").params.at("width"), -100);
  EXPECT_EQ(TransformSpec::parse("flin:T=+5").params.at("T"), 5);
}

TEST(TransformSpecText, Errors) {
  const auto message = [](const std::string& text) -> std::string {
    try {
      (void)TransformSpec::parse(text);
    } catch (const TransformError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_THAT(message("logicle:X=1"), HasSubstr("logicle: unknown parameter 'X' (expected T, W, M, A)"));
  EXPECT_THAT(message("logicle:W=1,w=2"), HasSubstr("'W' given twice"));
  EXPECT_THAT(message("logicle:W"), HasSubstr("has no value"));
  EXPECT_THAT(message("logicle:W=abc"), HasSubstr("W must be a finite number, got 'abc'"));
  EXPECT_THAT(message("logicle:W=1x"), HasSubstr("W must be a finite number"));
  EXPECT_THAT(message("logicle:W=inf"), HasSubstr("W must be a finite number"));
  EXPECT_THAT(message("logicle:W=nan"), HasSubstr("W must be a finite number"));
  EXPECT_THAT(message("logicle:W="), HasSubstr("W must be a finite number"));
  EXPECT_THAT(message("identity:T=1"), HasSubstr("identity: unknown parameter 'T' (expected none)"));
  EXPECT_THAT(message("nope:T=1"), HasSubstr("unknown transform 'nope'"));
}

TEST(TransformSpecText, TransformCompletesAHandBuiltSpec) {
  TransformSpec s;
  s.kind = TransformKind::logicle;
  s.params["w"] = 1;  // a key in the wrong case is canonicalised
  const Transform t(s);
  EXPECT_EQ(t.spec().to_string(), "logicle:T=262144,W=1,M=4.5,A=0");
  s.params["Q"] = 1;
  EXPECT_THROW((void)Transform(s), TransformError);
}

// ---- validation: every message names the transform, the parameter and the constraint ----------

struct InvalidCase {
  std::string spec;
  std::string message;
};

TEST(TransformValidation, EveryConstraintHasAClearMessage) {
  const std::vector<InvalidCase> cases = {
      {"flin:T=0", "flin: T must be > 0 (T=0)"},
      {"flin:A=-1", "flin: A must be >= 0 (A=-1)"},
      {"flin:T=10,A=11", "flin: A must be <= T (A=11, T=10)"},
      {"flog:T=-5", "flog: T must be > 0 (T=-5)"},
      {"flog:M=0", "flog: M must be > 0 (M=0)"},
      {"fasinh:T=0", "fasinh: T must be > 0"},
      {"fasinh:M=-1", "fasinh: M must be > 0"},
      {"fasinh:A=-0.5", "fasinh: A must be >= 0"},
      {"fasinh:M=4,A=5", "fasinh: A must be <= M (A=5, M=4)"},
      {"fasinh:M=400", "fasinh: sinh(M ln 10) / T must be a finite positive number"},
      {"logicle:T=0", "logicle: T must be > 0 (T=0)"},
      {"logicle:M=0", "logicle: M must be > 0 (M=0)"},
      {"logicle:W=-0.1", "logicle: W must be >= 0 (W=-0.1)"},
      {"logicle:W=3,M=4.5", "logicle: W must be <= M/2 (W=3, M=4.5)"},
      {"logicle:W=0.5,A=-0.6", "logicle: A must be >= -W (A=-0.6, W=0.5)"},
      {"logicle:W=1,M=4.5,A=2.6", "logicle: A must be <= M - 2W (A=2.6, M=4.5, W=1)"},
      {"logicle:M=300,A=100", "logicle: parameters beyond what double precision can represent"},
      {"logicle-flowcore:w=3,m=4.5", "logicle-flowcore: w must be <= m/2 (w=3, m=4.5)"},
      {"logicle-flowcore:t=-1", "logicle-flowcore: t must be > 0 (t=-1)"},
      {"logicle-flowcore:a=-1", "logicle-flowcore: a must be >= -w (a=-1, w=0.5)"},
      {"hyperlog:W=0", "hyperlog: W must be > 0 (W=0)"},
      {"hyperlog:W=2.5,M=4.5", "hyperlog: W must be <= M/2"},
      {"hyperlog:A=-1", "hyperlog: A must be >= -W"},
      {"hyperlog:T=0", "hyperlog: T must be > 0"},
      {"arcsinh:b=0", "arcsinh: b must be non-zero (b=0)"},
      {"biex:negative=-1", "biex: negative (extra negative decades) must be >= 0 (negative=-1)"},
      {"biex:width=10", "biex: width (FlowJo width basis) must be <= -1, e.g. -10 or -100 (width=10)"},
      {"biex:width=-0.5", "biex: width (FlowJo width basis) must be <= -1"},
      {"biex:positive=0.4,width=-10", "biex: positive must be > log10(-width)/2 (positive=0.4, width=-10)"},
      {"biex:max=0", "biex: max must be > 0 (max=0)"},
  };
  for (const InvalidCase& c : cases) {
    EXPECT_THAT(construction_error(c.spec), HasSubstr(c.message)) << c.spec;
  }
}

TEST(TransformValidation, BoundaryValuesAreAccepted) {
  for (const char* ok : {"logicle:W=0", "logicle:W=2.25,M=4.5,A=0", "logicle:W=1,A=-1", "logicle:W=1,M=4.5,A=2.5",
                         "hyperlog:W=2.25,M=4.5", "hyperlog:W=0.5,A=-0.5", "fasinh:M=4.5,A=4.5", "flin:T=10,A=10",
                         "biex:width=-1", "biex:width=-1000,negative=3", "arcsinh:b=-2"}) {
    EXPECT_NO_THROW((void)make(ok)) << ok;
  }
}

// ---- the definitions ---------------------------------------------------------------------------

TEST(TransformDefinitions, Identity) {
  const Transform t;
  EXPECT_EQ(t.spec().kind, TransformKind::identity);
  EXPECT_EQ(t.apply(-3.5), -3.5);
  EXPECT_EQ(t.inverse(7.25), 7.25);
  std::vector<float> in{1.5f, -2.0f}, out(2);
  t.apply(std::span<const float>(in), std::span<float>(out));
  EXPECT_EQ(out, in);
}

TEST(TransformDefinitions, ClosedForms) {
  const Transform flin = make("flin:T=1000,A=100");
  EXPECT_DOUBLE_EQ(flin.apply(-100), 0);
  EXPECT_DOUBLE_EQ(flin.apply(1000), 1);
  const Transform flog = make("flog:T=10000,M=4");
  EXPECT_DOUBLE_EQ(flog.apply(10000), 1);
  EXPECT_DOUBLE_EQ(flog.apply(1), 0);
  EXPECT_EQ(flog.apply(0), -inf);            // the logarithm's limit
  EXPECT_TRUE(std::isnan(flog.apply(-1)));   // flog is defined for x > 0 only
  const Transform fasinh = make("fasinh:T=262144,M=4.5,A=1");
  EXPECT_NEAR(fasinh.apply(262144), 1, 1e-15);
  EXPECT_NEAR(fasinh.apply(0), 1 / 5.5, 1e-15);
  const Transform arcsinh = make("arcsinh:a=0.5,b=0.2,c=-1");
  EXPECT_DOUBLE_EQ(arcsinh.apply(10), std::asinh(0.5 + 0.2 * 10) - 1);
  EXPECT_DOUBLE_EQ(fratio(10, 4, 2, 1, 2), 2 * (10 - 1) / (4 - 2.0));
}

TEST(TransformDefinitions, LogicleScaleLandmarks) {
  // Gating-ML 2.0: logicle(T) = 1, logicle(0) = x1 = (W + A) / (M + A), odd about zero.
  const Transform t = make("logicle:T=262144,W=0.5,M=4.5,A=0.25");
  EXPECT_NEAR(t.apply(262144), 1, 1e-15);
  EXPECT_NEAR(t.apply(0), 0.75 / 4.75, 1e-16);
  for (const double x : {0.001, 3.0, 150.0, 9e4, 5e7}) {
    EXPECT_NEAR(t.apply(-x), 2 * t.apply(0) - t.apply(x), 1e-15) << x;
  }
  // With A > 0 the bottom of scale, y = 0, is a negative data value.
  EXPECT_LT(t.inverse(0), 0);
}

TEST(TransformDefinitions, FasinhEqualsLogicleWithZeroWidth) {
  // Gating-ML 2.0: fasinh(T, M, A) is logicle(T, 0, M, A).
  const Transform f = make("fasinh:T=262144,M=4.5,A=1");
  const Transform l = make("logicle:T=262144,W=0,M=4.5,A=1");
  for (const double x : wide_inputs()) {
    const double y = f.apply(x);
    EXPECT_NEAR(l.apply(x), y, 1e-14 * std::max(1.0, std::abs(y))) << x;
  }
}

TEST(TransformDefinitions, LogicleFlowCoreIsMTimesGatingMl) {
  const Transform gml = make("logicle:T=10000,W=1,M=4,A=0.5");
  const Transform fc = make("logicle-flowcore:t=10000,w=1,m=4,a=0.5");
  for (const double x : {-5000.0, -10.0, 0.0, 1.0, 700.0, 10000.0, 1e6}) {
    EXPECT_NEAR(fc.apply(x), 4 * gml.apply(x), 1e-14) << x;
    EXPECT_NEAR(fc.inverse(fc.apply(x)), x, 1e-9 * std::max(1.0, std::abs(x))) << x;
  }
}

TEST(TransformDefinitions, HyperlogScaleLandmarks) {
  const Transform t = make("hyperlog:T=100000,W=1,M=4,A=0.5");
  EXPECT_NEAR(t.apply(100000), 1, 1e-15);
  EXPECT_NEAR(t.apply(0), 1.5 / 4.5, 1e-16);
  EXPECT_NEAR(t.apply(-250), 2 * t.apply(0) - t.apply(250), 1e-15);
}

TEST(TransformDefinitions, BiexChannelsAreClippedAtBothEnds) {
  const Transform t = make("biex:negative=0,width=-10,positive=4.418539922,max=262144");
  EXPECT_EQ(t.apply(1e9), 4096);
  EXPECT_EQ(t.apply(inf), 4096);
  EXPECT_EQ(t.apply(-1e9), 0);
  EXPECT_EQ(t.apply(-inf), 0);
  EXPECT_TRUE(std::isnan(t.apply(std::nan(""))));
  // FlowJo's table puts data zero on an integer channel (here 463).
  EXPECT_NEAR(t.apply(0), 463, 1e-9);
  // The inverse is the curve itself and extends past the clipped ends.
  EXPECT_GT(t.inverse(4200), t.inverse(4096));
  EXPECT_LT(t.inverse(-10), t.inverse(0));
}

TEST(TransformDefinitions, NonFiniteInputs) {
  for (const char* spec : {"logicle", "logicle:W=0", "hyperlog", "logicle-flowcore"}) {
    const Transform t = make(spec);
    EXPECT_EQ(t.apply(inf), inf) << spec;
    EXPECT_EQ(t.apply(-inf), -inf) << spec;
    EXPECT_TRUE(std::isnan(t.apply(std::nan("")))) << spec;
    EXPECT_TRUE(std::isnan(t.inverse(std::nan("")))) << spec;
  }
}

// ---- round trips -------------------------------------------------------------------------------

/// Parameter sets at the corners of the allowed region, plus common and reference ones.
const std::vector<std::string>& round_trip_specs() {
  static const std::vector<std::string> specs = {
      "logicle",
      "logicle:W=0",                       // pure asinh
      "logicle:W=2.25,M=4.5",              // W = M/2, the widest linear region
      "logicle:W=1,A=-1",                  // A = -W: bottom of scale at zero
      "logicle:W=1,M=4.5,A=2.5",           // A = M - 2W
      "logicle:W=0,M=4.5,A=4.5",           // W = 0 with A = M
      "logicle:T=10000,W=1,M=4,A=0",
      "logicle:T=4194304,W=1.5,M=6.5,A=0.5",
      "logicle:T=262144,W=5,M=10,A=0",     // very wide W: the series region is limited by rate
      "logicle:T=1,W=0.5,M=4.5,A=0",       // tiny T
      "logicle:T=1e12,W=0.1,M=14,A=1",     // huge T and many decades
      "logicle:T=262144,W=0.001,M=4.5,A=0",
      "logicle:T=1e-300,W=0.5,M=4.5,A=0",  // B scales with T: any T a double holds
      "logicle:T=1e300,W=0.5,M=4.5,A=0",
      "hyperlog:T=1e-300,W=2,M=4,A=0",
      "logicle-flowcore",
      "logicle-flowcore:w=1,t=10000,m=4,a=0.5",
      "hyperlog",
      "hyperlog:T=100000,W=1,M=4,A=0.5",
      "hyperlog:W=0.01",
      "hyperlog:W=2.25,M=4.5",
      "hyperlog:W=0.5,A=-0.5",
      "hyperlog:W=1,M=4.5,A=2.5",
      "fasinh",
      "fasinh:T=1048576,M=5,A=0.5",
      "fasinh:M=4.5,A=4.5",
      "arcsinh",
      "arcsinh:a=0.3,b=0.002,c=1",
      "flin:T=1000,A=100",
      "biex",
      "biex:negative=1,width=-100,positive=4.5,max=262144",
      "biex:negative=0.5,width=-30,positive=5.4,max=1048576",
      "biex:width=-1",
      "biex:negative=3,width=-1000,positive=4.5,max=262144",
  };
  return specs;
}

TEST(TransformRoundTrip, TransformThenInverse) {
  for (const std::string& spec : round_trip_specs()) {
    const Transform t = make(spec);
    const bool biex = t.spec().kind == TransformKind::biex;
    // "Relative, absolute near zero": relative to |x|, but never finer than 1e-6 of the scale's
    // data range.
    const double floor = 1e-6 * data_scale(t.spec());
    double worst = 0;
    for (const double x : wide_inputs()) {
      const double y = t.apply(x);
      if (biex && (y <= 0 || y >= 4096)) continue;  // clipped: no inverse
      const double back = t.inverse(y);
      const double tolerance = 1e-9 * std::max(std::abs(x), floor);
      worst = std::max(worst, std::abs(back - x) / std::max(std::abs(x), floor));
      ASSERT_NEAR(back, x, tolerance) << spec << " x=" << x << " y=" << y;
    }
    RecordProperty(spec + " max relative error x->y->x", std::to_string(worst));
  }
}

TEST(TransformRoundTrip, InverseThenTransform) {
  for (const std::string& spec : round_trip_specs()) {
    const Transform t = make(spec);
    const TransformKind kind = t.spec().kind;
    // Display positions from the image of -10^15 to that of 10^15 (biex: the 4096 channels).
    double lo = t.apply(-1e15);
    double hi = t.apply(1e15);
    if (kind == TransformKind::flin) {
      lo = -10;
      hi = 10;
    }
    if (kind == TransformKind::arcsinh) {
      lo = t.apply(-1e12);
      hi = t.apply(1e12);
    }
    const int n = 20000;
    for (int i = 0; i <= n; ++i) {
      const double y = lo + (hi - lo) * i / n;
      const double x = t.inverse(y);
      ASSERT_NEAR(t.apply(x), y, 1e-9 * std::max(1.0, std::abs(y))) << spec << " y=" << y << " x=" << x;
    }
  }
}

TEST(TransformRoundTrip, FlogOnPositives) {
  const Transform t = make("flog:T=262144,M=4.5");
  for (int i = -6 * 40; i <= 15 * 40; ++i) {
    const double x = std::pow(10.0, i / 40.0);
    ASSERT_NEAR(t.inverse(t.apply(x)), x, 1e-12 * x) << x;
  }
}

// ---- bulk API ----------------------------------------------------------------------------------

TEST(TransformBulk, SizesMustMatch) {
  const Transform t = make("logicle");
  std::vector<float> in(3), out(2);
  std::vector<double> din(3), dout(2);
  EXPECT_THROW(t.apply(std::span<const float>(in), std::span<float>(out)), std::invalid_argument);
  EXPECT_THROW(t.apply(std::span<const double>(din), std::span<float>(out)), std::invalid_argument);
  EXPECT_THROW(t.apply_exact(std::span<const double>(din), std::span<double>(dout)), std::invalid_argument);
  const Transform f = make("flin");
  EXPECT_THROW(f.apply(std::span<const float>(in), std::span<float>(out)), std::invalid_argument);
}

TEST(TransformBulk, InPlaceEqualsOutOfPlace) {
  for (const char* spec : {"logicle", "biex", "fasinh", "flin"}) {
    const Transform t = make(spec);
    std::vector<float> v;
    for (int i = -500; i <= 500; ++i) v.push_back(static_cast<float>(i * std::abs(i) * 3.7));
    std::vector<float> out(v.size());
    t.apply(std::span<const float>(v), std::span<float>(out));
    t.apply(std::span<const float>(v), std::span<float>(v));
    EXPECT_EQ(v, out) << spec;
  }
}

TEST(TransformBulk, ExactBulkEqualsScalar) {
  for (const std::string& spec : round_trip_specs()) {
    const Transform t = make(spec);
    const std::vector<double> xs = wide_inputs();
    std::vector<double> out(xs.size());
    t.apply_exact(xs, out);
    for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(out[i], t.apply(xs[i])) << spec << " x=" << xs[i];
  }
}

TEST(TransformBulk, SharedAcrossThreadsGivesIdenticalResults) {
  const Transform t = make("logicle:T=262144,W=0.75,M=4.5,A=0");
  const Transform copy = t;  // copies share the precomputed table
  std::vector<float> in;
  for (int i = 0; i < 200000; ++i) in.push_back(static_cast<float>((i % 2 ? -1 : 1) * std::pow(1.0001, i)));
  std::vector<float> reference(in.size());
  t.apply(std::span<const float>(in), std::span<float>(reference));
  std::vector<std::vector<float>> results(4, std::vector<float>(in.size()));
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < results.size(); ++k) {
    threads.emplace_back([&, k] {
      const Transform& use = k % 2 ? copy : t;
      for (int r = 0; r < 3; ++r) use.apply(std::span<const float>(in), std::span<float>(results[k]));
    });
  }
  for (std::thread& th : threads) th.join();
  for (const auto& r : results) EXPECT_EQ(r, reference);
}

}  // namespace
