// SPDX-License-Identifier: Apache-2.0
// The normal-marrow reference: JSON round trip, errors that name the field, the model choice by
// markers, the shipped default, and building a reference from simulated normal marrow.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "flowmrd/panels/panel.hpp"
#include "flowmrd/pipeline/analysis.hpp"
#include "flowmrd/pipeline/reference.hpp"
#include "flowmrd/samples/simulator.hpp"

namespace fs = std::filesystem;
using namespace flowmrd;
using namespace flowmrd::pipeline;

namespace {

NormalReference small_reference() {
  NormalReference r;
  r.name = "t";
  r.version = "1";
  ReferenceModel m;
  m.compartment = Compartment::b_lineage;
  m.dimensions = {"CD19", "CD10", "SSC-A"};
  m.mixture = gating::GaussianMixture({gating::GmmComponent{0.25, {1, 2, 2}, {0.04, 0, 0, 0, 0.04, 0, 0, 0, 0.04}},
                                       gating::GmmComponent{0.75, {1, 0.2, 2.1}, {0.05, 0.01, 0, 0.01, 0.05, 0, 0, 0, 0.03}}});
  m.component_labels = {"hematogone", "mature_b"};
  m.events = 1234;
  m.files = 2;
  r.models.push_back(m);
  ReferenceModel w = m;
  w.compartment = Compartment::b_lineage;
  w.dimensions = {"CD19", "CD10", "CD34"};
  w.events = 99;
  r.models.push_back(w);
  return r;
}

}  // namespace

TEST(Reference, JsonRoundTripIsByteIdentical) {
  const auto r = small_reference();
  const std::string a = reference_to_json(r);
  const auto back = reference_from_json(a, "mem");
  EXPECT_EQ(reference_to_json(back), a);
  ASSERT_EQ(back.models.size(), 2U);
  EXPECT_EQ(back.models[0].component_labels[1], "mature_b");
  EXPECT_DOUBLE_EQ(back.models[0].mixture.component(0).weight, 0.25);
}

TEST(Reference, ErrorsNameTheFileAndField) {
  auto expect_error = [](const std::string& text, const std::string& needle) {
    try {
      (void)reference_from_json(text, "ref.json");
      FAIL() << "expected ReferenceError for " << text;
    } catch (const ReferenceError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("ref.json"), std::string::npos) << what;
      EXPECT_NE(what.find(needle), std::string::npos) << what;
    }
  };
  expect_error("{", "not valid JSON");
  expect_error(R"({"schema":"other"})", "schema");
  expect_error(R"({"schema":"flowmrd.reference/1"})", "models");
  expect_error(R"({"schema":"flowmrd.reference/1","models":[{"compartment":"liver","dimensions":[],"components":[]}]})",
               "compartment");
  expect_error(R"({"schema":"flowmrd.reference/1","models":[{"compartment":"b_lineage","dimensions":["CD19"],
               "components":[{"weight":1,"mean":[1,2],"covariance":[1]}]}]})",
               "sizes");
}

TEST(Reference, BestModelCoversMostMarkers) {
  const auto r = small_reference();
  const auto* m = r.best_model(Compartment::b_lineage, {"CD19", "CD10", "SSC-A", "CD20"});
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->dimensions.back(), "SSC-A");
  const auto* tie = r.best_model(Compartment::b_lineage, {"CD19", "CD10"}, 2);
  ASSERT_NE(tie, nullptr);
  EXPECT_EQ(tie->events, 1234U);  // equal cover: more events wins
  EXPECT_EQ(r.best_model(Compartment::myelomonocytic, {"CD19", "CD10", "CD34"}), nullptr);
  EXPECT_EQ(r.best_model(Compartment::b_lineage, {"CD19"}, 3), nullptr);
}

TEST(Reference, ShippedDefaultLoadsWithEveryCompartment) {
  const auto r = load_reference(default_reference_path());
  EXPECT_EQ(r.sha256.size(), 64U);
  bool b = false, w = false, m = false;
  for (const auto& model : r.models) {
    b = b || model.compartment == Compartment::b_lineage;
    w = w || model.compartment == Compartment::cd19neg_window;
    m = m || model.compartment == Compartment::myelomonocytic;
    EXPECT_EQ(model.component_labels.size(), model.mixture.size());
  }
  EXPECT_TRUE(b && w && m);
}

TEST(Reference, BuildFromSimulatedNormalMarrow) {
  const fs::path dir = fs::path(FLOWMRD_TEST_TMP) / "reference";
  fs::create_directories(dir);
  const auto panels = panels::load_panels(panels::source_panels_dir());
  std::vector<Tube> tubes;
  for (int i = 0; i < 2; ++i) {
    auto s = samples::parse_scenario(R"(profile = "bd-fortessa-12c-combined"
events = 60000
mrd = 0
[fractions]
hematogone = 0.1
)", "normal.toml", samples::shipped_profiles_dir());
    s.seed = 5000 + static_cast<std::uint64_t>(i);
    const auto sim = samples::simulate(s);
    const fs::path p = dir / ("normal-" + std::to_string(i) + ".fcs");
    samples::write_simulation(sim, p);
    tubes.push_back(load_tube(p.string(), panels));
  }
  ReferenceBuildOptions o;
  o.name = "test";
  const auto ref = build_reference(tubes, o);
  const auto* b = ref.best_model(Compartment::b_lineage, {"CD19", "CD10", "CD34", "CD20", "CD38", "CD45", "CD58", "SSC-A"});
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->files, 2U);
  // Hematogones and mature B cells are both represented.
  const auto& labels = b->component_labels;
  EXPECT_NE(std::find(labels.begin(), labels.end(), "hematogone"), labels.end());
  EXPECT_NE(std::find(labels.begin(), labels.end(), "mature_b"), labels.end());
  EXPECT_NE(ref.best_model(Compartment::myelomonocytic, {"CD64", "CD33", "CD14", "CD11b", "HLA-DR", "CD45", "SSC-A"}),
            nullptr);
  // Deterministic.
  EXPECT_EQ(reference_to_json(build_reference(tubes, o)), reference_to_json(ref));
}
