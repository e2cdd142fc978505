// SPDX-License-Identifier: Apache-2.0
// Scenario and profile files: defaults, every field, and errors that name file, line and field.
#include <algorithm>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "flowmrd/samples/profile.hpp"
#include "flowmrd/samples/scenario.hpp"

namespace fs = std::filesystem;
using namespace flowmrd::samples;

namespace {

/// The message of the ScenarioError `text` raises ("" when it parses).
std::string scenario_error(const std::string& text) {
  try {
    (void)parse_scenario(text, "s.toml");
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return {};
}

std::string profile_error(const std::string& text) {
  try {
    (void)parse_profile(text, "p.toml");
  } catch (const ProfileError& e) {
    return e.what();
  }
  return {};
}

const char* minimal_profile = R"(name = "tiny"
[[channel]]
name = "FSC-A"
kind = "fsc_a"
[[channel]]
name = "FITC-A"
stain = "CD19 FITC"
marker = "cd19"
[[channel]]
name = "PE-A"
marker = "HLA DR"
)";

}  // namespace

TEST(Scenario, MinimalTakesDefaults) {
  const Scenario s = parse_scenario("profile = \"bd-canto-8c-bcell\"\n", "dir/normal.toml");
  EXPECT_EQ(s.name, "normal");
  EXPECT_EQ(s.profile, "bd-canto-8c-bcell");
  EXPECT_EQ(s.events, 100000u);
  EXPECT_EQ(s.mrd, 0.0);
  EXPECT_EQ(s.fractions, default_fractions());
  EXPECT_FALSE(s.flow_anomaly.has_value());
}

TEST(Scenario, EveryField) {
  const Scenario s = parse_scenario(R"(name = "p1-d33"
description = "end of induction"
profile = "profiles/x.toml"
events = 5000
seed = 77
mrd_percent = 0.5
debris = 0.1
doublets = 0.02
dead = 0.04
[fractions]
hematogone = 0.2
granulocyte = 0.3
[blast]
cd10 = -2.5
cd38 = -0.8
cd58 = 0.5
cd45 = -0.4
cd20 = 0.7
cd34 = 0.3
spread = 0.2
cd19_negative_fraction = 0.25
lineage_switch_fraction = 0.5
[flow_anomaly]
start = 0.4
end = 0.5
rate_factor = 0.1
[keywords]
PATIENT = "P1"
)", "x.toml", "/base");
  EXPECT_EQ(s.name, "p1-d33");
  EXPECT_EQ(s.description, "end of induction");
  EXPECT_EQ(s.events, 5000u);
  EXPECT_EQ(s.seed, 77u);
  EXPECT_DOUBLE_EQ(s.mrd, 0.005);
  EXPECT_DOUBLE_EQ(s.debris, 0.1);
  EXPECT_DOUBLE_EQ(s.doublets, 0.02);
  EXPECT_DOUBLE_EQ(s.dead, 0.04);
  EXPECT_DOUBLE_EQ(s.fractions.at("hematogone"), 0.2);
  EXPECT_DOUBLE_EQ(s.fractions.at("granulocyte"), 0.3);
  EXPECT_DOUBLE_EQ(s.fractions.at("monocyte"), default_fractions().at("monocyte"));
  EXPECT_DOUBLE_EQ(s.blast.cd10, -2.5);
  EXPECT_DOUBLE_EQ(s.blast.cd38, -0.8);
  EXPECT_DOUBLE_EQ(s.blast.cd58, 0.5);
  EXPECT_DOUBLE_EQ(s.blast.cd45, -0.4);
  EXPECT_DOUBLE_EQ(s.blast.cd20, 0.7);
  EXPECT_DOUBLE_EQ(s.blast.cd34, 0.3);
  EXPECT_DOUBLE_EQ(s.blast.spread, 0.2);
  EXPECT_DOUBLE_EQ(s.cd19_negative_fraction, 0.25);
  EXPECT_DOUBLE_EQ(s.lineage_switch_fraction, 0.5);
  ASSERT_TRUE(s.flow_anomaly.has_value());
  EXPECT_DOUBLE_EQ(s.flow_anomaly->start, 0.4);
  EXPECT_DOUBLE_EQ(s.flow_anomaly->end, 0.5);
  EXPECT_DOUBLE_EQ(s.flow_anomaly->rate_factor, 0.1);
  EXPECT_EQ(s.keywords.at("PATIENT"), "P1");
  EXPECT_EQ(s.base_dir, fs::path("/base"));
  EXPECT_EQ(resolve_profile_path(s.profile, s.base_dir), fs::path("/base/profiles/x.toml"));
  EXPECT_EQ(resolve_profile_path("bd-canto-8c-bcell", s.base_dir),
            shipped_profiles_dir() / "bd-canto-8c-bcell.toml");
}

TEST(Scenario, ErrorsNameFileLineAndField) {
  std::string e = scenario_error("profile = \"x\"\nevnts = 10\n");
  EXPECT_NE(e.find("s.toml:2: evnts: unknown field"), std::string::npos) << e;
}

TEST(Scenario, TypeAndRangeErrors) {
  std::string e = scenario_error("profile = \"x\"\n\nevents = \"many\"\n");
  EXPECT_NE(e.find("s.toml:3: events: expected an integer"), std::string::npos) << e;
  e = scenario_error("profile = \"x\"\nmrd = 1.5\n");
  EXPECT_NE(e.find("s.toml:2: mrd: value 1.5 is outside [0, 1]"), std::string::npos) << e;
  e = scenario_error("profile = \"x\"\nmrd = 0.1\nmrd_percent = 1\n");
  EXPECT_NE(e.find("s.toml:3: mrd_percent"), std::string::npos) << e;
  e = scenario_error("profile = \"x\"\n[fractions]\nblast_b = 0.1\n");
  EXPECT_NE(e.find("s.toml:3: fractions.blast_b: not a normal nucleated population"), std::string::npos) << e;
  e = scenario_error("profile = \"x\"\n[blast]\ncd19_negative_fraction = 0.7\nlineage_switch_fraction = 0.6\n");
  EXPECT_NE(e.find("s.toml:4: blast: cd19_negative_fraction + lineage_switch_fraction exceeds 1"),
            std::string::npos) << e;
  e = scenario_error("profile = \"x\"\n[blast]\ncd11 = 1\n");
  EXPECT_NE(e.find("s.toml:3: blast.cd11: unknown field"), std::string::npos) << e;
  e = scenario_error("profile = \"x\"\n[flow_anomaly]\nstart = 0.5\nend = 0.2\n");
  EXPECT_NE(e.find("s.toml:4: flow_anomaly.end: must be greater than start"), std::string::npos) << e;
  e = scenario_error("events = 10\n");
  EXPECT_NE(e.find("s.toml: profile: missing"), std::string::npos) << e;
  e = scenario_error("profile = \"x\"\nevents = = 3\n");
  EXPECT_NE(e.find("s.toml:2: TOML syntax"), std::string::npos) << e;
  e = scenario_error("profile = \"x\"\n[keywords]\n\"$P3N\" = \"X\"\n");
  EXPECT_NE(e.find("s.toml:3: keywords.$P3N: the FCS writer sets this keyword itself"), std::string::npos) << e;
  e = scenario_error("profile = \"x\"\n[keywords]\n\"$tot\" = \"5\"\n");
  EXPECT_NE(e.find("keywords.$tot"), std::string::npos) << e;
  e = scenario_error("profile = \"x\"\nevents = 0\n");
  EXPECT_NE(e.find("s.toml:2: events: value 0 is outside"), std::string::npos) << e;
}

TEST(Scenario, MissingFileNamesPath) {
  try {
    (void)load_scenario("/nonexistent/dir/s.toml");
    FAIL() << "no error";
  } catch (const ScenarioError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/s.toml: cannot open"), std::string::npos);
  }
}

TEST(Profile, ParsesChannelsAndSpillover) {
  std::string text = minimal_profile;
  text += "[[spill]]\nfrom = \"FITC-A\"\ninto = \"PE-A\"\nvalue = 0.2\n";
  const Profile p = parse_profile(text, "p.toml");
  ASSERT_EQ(p.channels.size(), 3u);
  EXPECT_EQ(p.channels[1].marker, "CD19");
  EXPECT_EQ(p.channels[1].stain, "CD19 FITC");
  EXPECT_EQ(p.channels[2].marker, "HLA-DR");
  EXPECT_EQ(p.channels[2].stain, "HLA-DR");  // defaults to the marker
  EXPECT_EQ(p.markers(), (std::vector<std::string>{"CD19", "HLA-DR"}));
  ASSERT_EQ(p.spillover.size(), 2u);
  EXPECT_EQ(p.spillover.channels, (std::vector<std::string>{"FITC-A", "PE-A"}));
  EXPECT_EQ(p.spillover.channel_indices, (std::vector<int>{2, 3}));
  EXPECT_DOUBLE_EQ(p.spillover.at(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(p.spillover.at(0, 1), 0.2);
  EXPECT_DOUBLE_EQ(p.spillover.at(1, 0), 0.0);
}

TEST(Profile, ErrorsNameLineAndField) {
  std::string e = profile_error(std::string{minimal_profile} + "[[channel]]\nname = \"APC-A\"\nmarker = \"CD999\"\n");
  EXPECT_NE(e.find("p.toml:14: channel[3].marker: unknown marker \"CD999\""), std::string::npos) << e;
  e = profile_error(std::string{minimal_profile} + "[[spill]]\nfrom = \"FITC-A\"\ninto = \"FSC-A\"\nvalue = 0.1\n");
  EXPECT_NE(e.find("p.toml:14: spill[0].into: \"FSC-A\" is not a fluorescence channel"), std::string::npos) << e;
  e = profile_error(std::string{minimal_profile} + "[[channel]]\nname = \"PE-A\"\nmarker = \"CD10\"\n");
  EXPECT_NE(e.find("channel[3].name: duplicate channel \"PE-A\""), std::string::npos) << e;
  e = profile_error(std::string{minimal_profile} + "byte_order = \"middle\"\n");
  EXPECT_NE(e.find("byte_order"), std::string::npos) << e;
  e = profile_error("name = \"x\"\n[[channel]]\nname = \"A\"\nkind = \"fsc\"\n");
  EXPECT_NE(e.find("p.toml:4: channel[0].kind: expected fsc_a"), std::string::npos) << e;
}

TEST(Profile, ShippedProfilesLoad) {
  const Profile canto = load_profile(shipped_profiles_dir() / "bd-canto-8c-bcell.toml");
  EXPECT_EQ(canto.markers(), (std::vector<std::string>{"SYTO41", "CD45", "CD58", "CD20", "CD34", "CD19", "CD10",
                                                      "CD38"}));
  EXPECT_EQ(canto.byte_order, fcs::ByteOrder::little);
  const Profile fortessa = load_profile(shipped_profiles_dir() / "bd-fortessa-12c-combined.toml");
  auto m = fortessa.markers();
  std::sort(m.begin(), m.end());
  EXPECT_EQ(m, (std::vector<std::string>{"CD10", "CD11b", "CD14", "CD19", "CD20", "CD33", "CD34", "CD38", "CD45",
                                         "CD58", "CD64", "HLA-DR"}));
  EXPECT_EQ(fortessa.byte_order, fcs::ByteOrder::big);
}

TEST(Scenario, ShippedScenariosAndTheirProfilesLoad) {
  int n = 0;
  for (const auto* sub : {"scenarios", "demo/scenarios"}) {
    const fs::path dir = fs::path(FLOWMRD_SOURCE_DIR) / "samples" / sub;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".toml") continue;
      SCOPED_TRACE(entry.path().string());
      const Scenario s = load_scenario(entry.path());
      EXPECT_NO_THROW((void)load_profile(resolve_profile_path(s.profile, s.base_dir)));
      ++n;
    }
  }
  EXPECT_GT(n, 0);
}
