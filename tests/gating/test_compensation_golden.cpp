// SPDX-License-Identifier: Apache-2.0
// Golden agreement with flowCore 2.10.0 `compensate()`: every data set of the shared corpus whose
// golden JSON (${FLOWMRD_SHARED_DATA}/fcs/golden/files/<file>.json, schema in fcs/README.md) has a
// `compensated` variant. Each data set is read with fcs::read_file (default options), compensated
// with Compensation::from_dataset (the matrix flowCore chose: golden `spill_keyword`), applied to
// double copies of the columns, and compared with flowCore's values: per-channel min/max/sum/sum
// of squares over all events and every sampled row, within relative 1e-6 (absolute 1e-6 near
// zero).
//
// Where flowCore's `compensate()` failed (the variant carries an "error"), the outcome we must
// reach is listed in kFlowCoreFailures below with the reason; a failure not listed there fails
// the test. A summary (data sets compared, largest errors, the documented differences) is printed
// when the program ends.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fcs/reader.hpp"
#include "flowmrd/gating/compensation.hpp"

#ifndef FLOWMRD_SHARED_DATA
#define FLOWMRD_SHARED_DATA ""
#endif

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using flowmrd::gating::Compensation;
using flowmrd::gating::CompensationError;

constexpr double kRelTol = 1e-6;
constexpr double kAbsTol = 1e-6;

fs::path corpus_dir() {
  const char* env = std::getenv("FLOWMRD_SHARED_DATA");
  return fs::path(env != nullptr && *env != '\0' ? env : FLOWMRD_SHARED_DATA) / "fcs";
}

// ------------------------------------------------------------------------------------------------
// Where flowCore failed: what we do instead, and why.

enum class Outcome {
  compensates,       ///< We compensate (flowCore could not): checked by round trip and identity rows.
  missing_channels,  ///< We fail too: the matrix names channels the data set lacks.
  singular,          ///< We fail too, for a different reason: the matrix cannot be inverted.
};

struct FlowCoreFailure {
  const char* file;  ///< "files/..." as in the golden JSON
  int dataset;
  Outcome outcome;
  const char* why;
};

constexpr FlowCoreFailure kFlowCoreFailures[] = {
    {"files/cytoflow__cytoflow/cytoflow/tests/data/instruments/Accuri - C6.fcs", 1, Outcome::compensates,
     "$SPILLOVER names channels by parameter number (3..12); libfcs maps them to $PnN (repair "
     "spillover_channel_index), flowCore keeps \"3\", \"4\", ... and compensate() finds no such channels"},
    {"files/bioc__flowPloidyData/inst/extdata/188-15.LMD", 2, Outcome::singular,
     "$SPILLOVER names parameters 7, 8 by number (flowCore fails on the names); mapped to FL3-H, FL3-A, the "
     "matrix is all ones: singular, so we refuse it"},
    {"files/bioc__flowTime/inst/extdata/ss_example/A01.fcs", 1, Outcome::missing_channels,
     "written by flowCore: $SPILLOVER names X3..X12 (R make.names of index names), no such $PnN"},
    {"files/cytoflow__cytoflow/docs/examples-basic/data/microbial_diversity/Sample_1.fcs", 1,
     Outcome::missing_channels, "SPILL over 24 channels of the sorter's full configuration; the file has 4 of them"},
};

const FlowCoreFailure* known_failure(const std::string& file, int dataset) {
  for (const auto& f : kFlowCoreFailures)
    if (file == f.file && dataset == f.dataset) return &f;
  return nullptr;
}

// ------------------------------------------------------------------------------------------------
// Cases and the summary

struct Case {
  std::string file;  ///< "files/..." relative to the corpus directory
  int dataset = 1;
};

std::vector<Case> load_cases() {
  std::vector<Case> out;
  const fs::path golden = corpus_dir() / "golden";
  std::error_code ec;
  if (!fs::is_directory(golden / "files", ec)) return out;
  std::vector<fs::path> jsons;
  for (const auto& e : fs::recursive_directory_iterator(golden / "files", ec))
    if (e.is_regular_file() && e.path().extension() == ".json") jsons.push_back(e.path());
  std::sort(jsons.begin(), jsons.end());
  for (const fs::path& p : jsons) {
    std::ifstream in(p, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("\"compensated\"") == std::string::npos) continue;  // cheap filter before parsing
    const json j = json::parse(text);
    for (const auto& ds : j.at("datasets")) {
      if (ds.contains("variants") && ds["variants"].is_object() && ds["variants"].contains("compensated")) {
        out.push_back({j.at("file").get<std::string>(), ds.at("dataset").get<int>()});
      }
    }
  }
  return out;
}

struct Summary {
  int compared = 0;           ///< data sets compared with flowCore's values
  int passed = 0;
  int documented = 0;         ///< flowCore failed, outcome as documented
  std::size_t values = 0;     ///< stats and row values compared
  double max_rel = 0;         ///< largest relative error where |value| >= 1
  double max_abs_small = 0;   ///< largest absolute error where |value| < 1
  std::string max_rel_where;
  std::vector<std::string> notes;
};

Summary& summary() {
  static Summary s;
  return s;
}

class SummaryEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    const Summary& s = summary();
    if (s.compared == 0 && s.documented == 0) return;
    std::printf("\n==== compensation golden summary: %d data set(s) compared with flowCore compensate(), %d pass; "
                "%zu values; max relative error %.3g (|x| >= 1%s%s), max absolute error %.3g (|x| < 1); "
                "%d documented difference(s) ====\n",
                s.compared, s.passed, s.values, s.max_rel, s.max_rel_where.empty() ? "" : ", ",
                s.max_rel_where.c_str(), s.max_abs_small, s.documented);
    for (const auto& n : s.notes) std::printf("  %s\n", n.c_str());
  }
};
[[maybe_unused]] const auto* const kSummaryEnv = ::testing::AddGlobalTestEnvironment(new SummaryEnvironment);

// ------------------------------------------------------------------------------------------------
// Numbers

/// A golden number: JSON number or "NaN" / "Inf" / "-Inf".
double golden_number(const json& v) {
  if (v.is_number()) return v.get<double>();
  const std::string s = v.get<std::string>();
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  throw std::runtime_error("unexpected golden value '" + s + "'");
}

/// Whether `ours` agrees with flowCore's `theirs`; records the error in the summary.
bool agrees(double ours, double theirs, const std::string& where) {
  if (std::isnan(ours) || std::isnan(theirs)) return std::isnan(ours) && std::isnan(theirs);
  if (std::isinf(ours) || std::isinf(theirs)) return ours == theirs;
  Summary& s = summary();
  ++s.values;
  const double diff = std::fabs(ours - theirs);
  const double mag = std::max(std::fabs(ours), std::fabs(theirs));
  if (mag >= 1.0) {
    const double rel = diff / mag;
    if (rel > s.max_rel) {
      s.max_rel = rel;
      s.max_rel_where = where;
    }
  } else {
    s.max_abs_small = std::max(s.max_abs_small, diff);
  }
  return diff <= kRelTol * mag || diff <= kAbsTol;
}

struct Stats {
  double min = 0;
  double max = 0;
  double sum = 0;
  double sumsq = 0;
};

/// min/max (NaN if any value is NaN, as the golden file) and Neumaier-compensated long double sums.
Stats stats_of(const std::vector<double>& v) {
  Stats st;
  st.min = std::numeric_limits<double>::infinity();
  st.max = -std::numeric_limits<double>::infinity();
  long double sum = 0;
  long double sum_c = 0;
  long double sq = 0;
  long double sq_c = 0;
  const auto neumaier = [](long double& s, long double& c, long double x) {
    const long double t = s + x;
    c += std::fabs(s) >= std::fabs(x) ? (s - t) + x : (x - t) + s;
    s = t;
  };
  bool nan = false;
  for (const double x : v) {
    if (std::isnan(x)) nan = true;
    st.min = std::min(st.min, x);
    st.max = std::max(st.max, x);
    neumaier(sum, sum_c, x);
    neumaier(sq, sq_c, static_cast<long double>(x) * x);
  }
  if (nan) st.min = st.max = std::numeric_limits<double>::quiet_NaN();
  st.sum = static_cast<double>(sum + sum_c);
  st.sumsq = static_cast<double>(sq + sq_c);
  return st;
}

std::vector<std::vector<double>> columns_of(const fcs::Dataset& ds) {
  std::vector<std::vector<double>> cols;
  for (std::size_t c = 0; c < ds.events.cols(); ++c) cols.push_back(ds.events.column_as_double(c));
  return cols;
}

/// Compensates double copies of the data set's columns; returns them (all channels).
std::vector<std::vector<double>> compensated_columns(const fcs::Dataset& ds, const Compensation& comp) {
  auto cols = columns_of(ds);
  const std::vector<std::size_t> idx = comp.resolve(ds);
  std::vector<double*> ptrs;
  for (const std::size_t i : idx) ptrs.push_back(cols[i].data());
  comp.apply(std::span<double* const>(ptrs), 0, ds.events.rows());
  return cols;
}

std::string test_name(const Case& c) {
  std::string s = c.file.substr(c.file.find('/') + 1);
  for (char& ch : s)
    if (std::isalnum(static_cast<unsigned char>(ch)) == 0) ch = '_';
  return s + "_ds" + std::to_string(c.dataset);
}

const fcs::Dataset* find_dataset(const fcs::File& f, int number) {
  for (const auto& ds : f.datasets)
    if (ds.number == number) return &ds;
  return nullptr;
}

// ------------------------------------------------------------------------------------------------
// The test

class CompensationGolden : public ::testing::TestWithParam<Case> {};

TEST(CompensationGoldenCorpus, Present) {
  if (!fs::is_directory(corpus_dir() / "golden")) GTEST_SKIP() << "no shared corpus at " << corpus_dir();
  EXPECT_GE(load_cases().size(), 20u) << "expected the shared corpus to hold the compensated golden variants";
}

/// Checks where flowCore failed: the outcome listed in kFlowCoreFailures.
void check_flowcore_failure(const Case& c, const fcs::Dataset& ds, const json& variant, const json& golden_ds) {
  const FlowCoreFailure* known = known_failure(c.file, c.dataset);
  ASSERT_NE(known, nullptr) << "flowCore failed to compensate " << c.file << " [" << c.dataset
                            << "] and kFlowCoreFailures does not say what we do instead: "
                            << variant.at("error").get<std::string>();
  std::optional<Compensation> comp;
  std::string error;
  std::vector<std::vector<double>> cols;
  try {
    comp = Compensation::from_dataset(ds);
    ASSERT_TRUE(comp.has_value()) << "no spillover matrix read";
    cols = compensated_columns(ds, *comp);
  } catch (const CompensationError& e) {
    error = e.what();
  }
  switch (known->outcome) {
    case Outcome::compensates: {
      ASSERT_TRUE(error.empty()) << error;
      EXPECT_EQ(comp->source().origin, variant.at("spill_keyword").get<std::string>());
      // Round trip: raw = compensated x S (within rounding), and channels whose row and column
      // of S are those of the identity are unchanged bit for bit.
      const auto raw = columns_of(ds);
      const auto idx = comp->resolve(ds);
      const std::size_t n = comp->size();
      double worst = 0;
      for (std::size_t e = 0; e < ds.events.rows(); ++e) {
        for (std::size_t j = 0; j < n; ++j) {
          double back = 0;
          for (std::size_t i = 0; i < n; ++i) back += cols[idx[i]][e] * comp->spillover(i, j);
          const double r = raw[idx[j]][e];
          worst = std::max(worst, std::fabs(back - r) / std::max(1.0, std::fabs(r)));
        }
      }
      EXPECT_LT(worst, 1e-9);
      int identity_rows = 0;
      for (std::size_t i = 0; i < n; ++i) {
        bool identity = true;
        for (std::size_t j = 0; j < n; ++j) {
          const double want = i == j ? 1.0 : 0.0;
          identity = identity && comp->spillover(i, j) == want && comp->spillover(j, i) == want;
        }
        if (!identity) continue;
        ++identity_rows;
        EXPECT_EQ(cols[idx[i]], raw[idx[i]]) << comp->channels()[i];
      }
      // And where every row is an identity row the compensated data equal flowCore's linearize
      // variant, which the golden file does hold.
      if (identity_rows == static_cast<int>(n)) {
        const json& lin = golden_ds.at("variants").at("linearize").at("stats");
        for (std::size_t ch = 0; ch < cols.size(); ++ch) {
          const Stats st = stats_of(cols[ch]);
          EXPECT_TRUE(agrees(st.sum, golden_number(lin.at(ch).at("sum")), "")) << ds.channels[ch].name;
        }
      }
      summary().notes.push_back("documented: " + c.file + " [" + std::to_string(c.dataset) +
                                "]: flowCore failed, we compensate (" + std::to_string(identity_rows) + " of " +
                                std::to_string(n) + " rows identity) -- " + known->why);
      break;
    }
    case Outcome::missing_channels: {
      ASSERT_FALSE(error.empty()) << "expected a missing-channel error";
      EXPECT_NE(error.find("the data set lacks"), std::string::npos) << error;
      // flowCore's message ends with the channels it could not find; we must name each of them.
      const std::string fc = variant.at("error").get<std::string>();
      std::stringstream list(fc.substr(fc.rfind('\n') + 1));
      std::string name;
      while (std::getline(list, name, ',')) {
        while (!name.empty() && name.front() == ' ') name.erase(0, 1);
        EXPECT_NE(error.find(name), std::string::npos) << "'" << name << "' missing from: " << error;
      }
      summary().notes.push_back("documented: " + c.file + " [" + std::to_string(c.dataset) +
                                "]: both fail (missing channels) -- " + known->why);
      break;
    }
    case Outcome::singular: {
      ASSERT_FALSE(error.empty()) << "expected a singular-matrix error";
      EXPECT_NE(error.find("singular"), std::string::npos) << error;
      summary().notes.push_back("documented: " + c.file + " [" + std::to_string(c.dataset) +
                                "]: both fail (we: singular matrix) -- " + known->why);
      break;
    }
  }
  if (!::testing::Test::HasFailure()) ++summary().documented;
}

TEST_P(CompensationGolden, AgreesWithFlowCore) {
  const Case& c = GetParam();
  const fs::path fcs_path = corpus_dir() / c.file;
  const fs::path json_path = corpus_dir() / "golden" / (c.file + ".json");
  if (!fs::exists(fcs_path)) GTEST_SKIP() << fcs_path << " not present";
  std::ifstream in(json_path, std::ios::binary);
  const json golden = json::parse(in);
  const json* gds = nullptr;
  for (const auto& d : golden.at("datasets"))
    if (d.at("dataset").get<int>() == c.dataset) gds = &d;
  ASSERT_NE(gds, nullptr);
  const json& variant = gds->at("variants").at("compensated");

  const fcs::File file = fcs::read_file(fcs_path);
  const fcs::Dataset* ds = find_dataset(file, c.dataset);
  ASSERT_NE(ds, nullptr) << "data set " << c.dataset << " not read";

  if (variant.contains("error") && !variant.at("error").is_null()) {
    check_flowcore_failure(c, *ds, variant, *gds);
    return;
  }
  ASSERT_EQ(known_failure(c.file, c.dataset), nullptr) << "listed in kFlowCoreFailures but flowCore succeeded";

  const auto comp = Compensation::from_dataset(*ds);
  ASSERT_TRUE(comp.has_value()) << "no spillover matrix read";
  EXPECT_EQ(comp->source().origin, variant.at("spill_keyword").get<std::string>());
  EXPECT_EQ(comp->source().sha256.size(), 64u);
  const auto cols = compensated_columns(*ds, *comp);

  const json& gch = gds->at("channels");
  ASSERT_EQ(gch.size(), cols.size());
  for (std::size_t ch = 0; ch < cols.size(); ++ch) EXPECT_EQ(ds->channels[ch].name, gch.at(ch).at("name"));

  int mismatches = 0;
  const auto check = [&](double ours, const json& theirs, const std::string& where) {
    const double t = golden_number(theirs);
    if (!agrees(ours, t, c.file + " " + where) && ++mismatches <= 20) {
      ADD_FAILURE() << where << ": ours " << ours << ", flowCore " << t;
    }
  };
  const json& stats = variant.at("stats");
  ASSERT_EQ(stats.size(), cols.size());
  for (std::size_t ch = 0; ch < cols.size(); ++ch) {
    const Stats st = stats_of(cols[ch]);
    const std::string name = ds->channels[ch].name;
    check(st.min, stats[ch].at("min"), name + " min");
    check(st.max, stats[ch].at("max"), name + " max");
    check(st.sum, stats[ch].at("sum"), name + " sum");
    check(st.sumsq, stats[ch].at("sumsq"), name + " sumsq");
  }
  const json& rows = variant.at("rows");
  const json& index = rows.at("index");
  const json& values = rows.at("values");
  ASSERT_EQ(index.size(), values.size());
  for (std::size_t r = 0; r < index.size(); ++r) {
    const auto e = index[r].get<std::size_t>();
    ASSERT_LT(e, ds->events.rows());
    for (std::size_t ch = 0; ch < cols.size(); ++ch) {
      check(cols[ch][e], values[r].at(ch), ds->channels[ch].name + " row " + std::to_string(e));
    }
  }
  ++summary().compared;
  if (mismatches == 0) ++summary().passed;
}

INSTANTIATE_TEST_SUITE_P(Corpus, CompensationGolden, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<Case>& p) { return test_name(p.param); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CompensationGolden);

}  // namespace
