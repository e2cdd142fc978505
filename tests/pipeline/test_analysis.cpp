// SPDX-License-Identifier: Apache-2.0
// The MRD analysis end to end on simulated tubes (with the shipped default reference): normal
// regenerating marrow stays negative, classic aberrant blasts are found at the right level with
// high event-level agreement, CD19-negative escape and lineage switch are flagged, results do not
// depend on the thread count, and too few events or a missing lineage give clear outcomes.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "flowmrd/panels/panel.hpp"
#include "flowmrd/pipeline/analysis.hpp"
#include "flowmrd/samples/simulator.hpp"

namespace fs = std::filesystem;
using namespace flowmrd;
using namespace flowmrd::pipeline;

namespace {

fs::path tmp_dir() {
  const fs::path dir = fs::path(FLOWMRD_TEST_TMP) / "analysis";
  fs::create_directories(dir);
  return dir;
}

const std::vector<panels::Panel>& shipped_panels() {
  static const std::vector<panels::Panel> p = panels::load_panels(panels::source_panels_dir());
  return p;
}

const NormalReference& reference() {
  static const NormalReference r = load_reference(default_reference_path());
  return r;
}

struct Simulated {
  std::string path;
  samples::Truth truth;
};

/// Simulate `toml` (a scenario text) into the test directory.
Simulated simulate(const std::string& name, const std::string& toml) {
  const auto scenario = samples::parse_scenario(toml, name + ".toml", samples::shipped_profiles_dir());
  auto sim = samples::simulate(scenario);
  const fs::path out = tmp_dir() / (name + ".fcs");
  samples::write_simulation(sim, out);
  return Simulated{out.string(), std::move(sim.truth)};
}

AnalysisResult run(const std::vector<std::string>& paths, unsigned threads = 0) {
  std::vector<Tube> tubes;
  for (const auto& p : paths) tubes.push_back(load_tube(p, shipped_panels()));
  AnalysisOptions o;
  o.threads = threads;
  return analyze(std::move(tubes), reference(), o);
}

const Flag& flag(const AnalysisResult& r, const std::string& id) {
  for (const auto& f : r.flags) {
    if (f.id == id) return f;
  }
  throw std::runtime_error("no flag " + id);
}

double f1_of_blasts(const AnalysisResult& r, const samples::Truth& truth) {
  const auto& ta = r.tubes.front();
  double tp = 0, fp = 0, fn = 0;
  for (std::size_t i = 0; i < truth.labels.size(); ++i) {
    const bool t = samples::is_blast(static_cast<samples::Population>(truth.labels[i]));
    const bool m = ta.leukemic.test(i);
    tp += (t && m) ? 1 : 0;
    fp += (!t && m) ? 1 : 0;
    fn += (t && !m) ? 1 : 0;
  }
  return tp == 0 ? 0.0 : 2 * tp / (2 * tp + fp + fn);
}

}  // namespace

TEST(Analysis, RegeneratingMarrowWithManyHematogonesIsNegative) {
  const auto s = simulate("regen", R"(profile = "bd-fortessa-12c-combined"
events = 150000
seed = 91001
mrd = 0
[fractions]
hematogone = 0.15
monocyte = 0.12
)");
  const auto r = run({s.path});
  EXPECT_EQ(r.mrd.status, MrdStatus::negative) << describe(r.mrd);
  EXPECT_FALSE(flag(r, "cd19_negative").raised) << flag(r, "cd19_negative").explanation;
  EXPECT_FALSE(flag(r, "lineage_switch").raised) << flag(r, "lineage_switch").explanation;
  // The denominator is the nucleated viable single cells.
  const double d = static_cast<double>(r.mrd.denominator_events);
  EXPECT_NEAR(d, static_cast<double>(s.truth.denominator), 0.03 * static_cast<double>(s.truth.denominator));
}

TEST(Analysis, ClassicAberrantBlastsAreQuantified) {
  const auto s = simulate("classic", R"(profile = "bd-canto-8c-bcell"
events = 200000
seed = 91002
mrd_percent = 0.5
[fractions]
hematogone = 0.08
[blast]
cd10 = 0.4
cd38 = -1.0
cd58 = 0.5
cd45 = -0.5
)");
  const auto r = run({s.path});
  ASSERT_EQ(r.mrd.status, MrdStatus::positive) << describe(r.mrd);
  EXPECT_NEAR(*r.mrd.percent, s.truth.mrd_percent, 0.15 * s.truth.mrd_percent);
  EXPECT_GE(f1_of_blasts(r, s.truth), 0.9);
  ASSERT_FALSE(r.phenotypes.empty());
  const auto& ab = r.phenotypes.front().aberrancies;
  const bool cd38_under = std::any_of(ab.begin(), ab.end(), [](const Aberrancy& a) {
    return a.marker == "CD38" && a.direction == "under";
  });
  EXPECT_TRUE(cd38_under);
}

TEST(Analysis, Cd19NegativeEscapeIsFlagged) {
  const auto s = simulate("cd19neg", R"(profile = "bd-fortessa-12c-combined"
events = 100000
seed = 91003
mrd_percent = 1.0
[blast]
cd10 = -0.3
cd38 = -0.8
cd58 = 0.4
cd19_negative_fraction = 0.8
)");
  const auto r = run({s.path});
  const auto& f = flag(r, "cd19_negative");
  EXPECT_TRUE(f.raised) << f.explanation;
  ASSERT_TRUE(f.percent_of_blasts.has_value());
  EXPECT_NEAR(*f.percent_of_blasts, 80.0, 15.0);
  EXPECT_NEAR(*r.mrd.percent, s.truth.mrd_percent, 0.2 * s.truth.mrd_percent);
}

TEST(Analysis, LineageSwitchIsFlaggedAndReactiveMonocytesAreNot) {
  const auto s = simulate("switch", R"(profile = "bd-fortessa-12c-combined"
events = 100000
seed = 91004
mrd_percent = 3.0
[blast]
cd10 = -2.5
lineage_switch_fraction = 0.9
)");
  const auto r = run({s.path});
  const auto& f = flag(r, "lineage_switch");
  EXPECT_TRUE(f.raised) << f.explanation;
  ASSERT_TRUE(f.percent_nucleated.has_value());
  EXPECT_NEAR(*f.percent_nucleated, 2.7, 0.6);
}

TEST(Analysis, ResultsDoNotDependOnThreads) {
  const auto s = simulate("threads", R"(profile = "bd-fortessa-12c-combined"
events = 60000
seed = 91005
mrd_percent = 0.3
[blast]
cd38 = -1.0
cd45 = -0.4
)");
  const auto a = run({s.path}, 1);
  const auto b = run({s.path}, 2);
  EXPECT_EQ(a.tubes.front().assignment, b.tubes.front().assignment);
  EXPECT_EQ(a.mrd.blast_events, b.mrd.blast_events);
  EXPECT_EQ(a.mrd.denominator_events, b.mrd.denominator_events);
  EXPECT_EQ(a.notes, b.notes);
}

TEST(Analysis, TooFewEventsIsNotEvaluable) {
  const auto s = simulate("tiny", R"(profile = "bd-canto-8c-bcell"
events = 600
seed = 91006
mrd = 0
)");
  const auto r = run({s.path});
  EXPECT_EQ(r.mrd.status, MrdStatus::not_evaluable);
  EXPECT_TRUE(flag(r, "low_cellularity").raised);
  EXPECT_EQ(r.tubes.front().assignment.size(), 600U);
}

TEST(Analysis, TwoTubesReadEachCompartmentFromItsTube) {
  const auto b = simulate("two-b", R"(profile = "bd-canto-8c-bcell"
events = 100000
seed = 91007
mrd_percent = 2.0
[blast]
cd10 = -2.5
lineage_switch_fraction = 0.9
)");
  const auto m = simulate("two-m", R"(profile = "bd-fortessa-10c-myelomonocytic"
events = 100000
seed = 91008
mrd_percent = 2.0
[blast]
cd10 = -2.5
lineage_switch_fraction = 0.9
)");
  const auto r = run({b.path, m.path});
  EXPECT_EQ(r.coverage.b_lineage_tube, "two-b.fcs");
  EXPECT_EQ(r.coverage.lineage_switch_tube, "two-m.fcs");
  EXPECT_TRUE(flag(r, "lineage_switch").raised) << flag(r, "lineage_switch").explanation;
}

TEST(Analysis, LoadTubeNamesTheFileAndReason) {
  const fs::path bad = tmp_dir() / "not-fcs.fcs";
  {
    std::FILE* f = std::fopen(bad.c_str(), "wb");
    std::fputs("hello, this is not an FCS file at all, but long enough to have a header", f);
    std::fclose(f);
  }
  try {
    (void)load_tube(bad.string(), shipped_panels());
    FAIL() << "expected AnalysisError";
  } catch (const AnalysisError& e) {
    EXPECT_EQ(e.kind(), AnalysisErrorKind::input_invalid);
    EXPECT_NE(std::string(e.what()).find("not-fcs.fcs"), std::string::npos) << e.what();
  }
}
