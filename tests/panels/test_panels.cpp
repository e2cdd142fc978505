// SPDX-License-Identifier: Apache-2.0
// Panel files: the shipped definitions load, and bad files fail naming file, line and field.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flowmrd/panels/panel.hpp"

namespace fs = std::filesystem;
using flowmrd::panels::ChannelKind;
using flowmrd::panels::load_panel;
using flowmrd::panels::load_panels;
using flowmrd::panels::MarkerRole;
using flowmrd::panels::Panel;
using flowmrd::panels::PanelError;
using flowmrd::panels::parse_panel;
using testing::HasSubstr;

namespace {

fs::path defs_dir() { return fs::path(FLOWMRD_SOURCE_DIR) / "panels" / "defs"; }

fs::path tmp_dir(const std::string& name) {
  fs::path d = fs::path(FLOWMRD_TEST_TMP) / "panels" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

fs::path write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// A valid minimal panel; tests append or substitute pieces to break it.
const std::string kHead = R"(name = "tiny"
version = "1"
)";
const std::string kMarkers = R"(
[[markers]]
name = "CD19"
role = "lineage"

[[markers]]
name = "FSC-A"
role = "scatter"
)";

// Expects parse_panel to fail with this line and field and a message containing `reason`.
void expect_error(const std::string& text, int line, const std::string& field, const std::string& reason) {
  try {
    (void)parse_panel(text, "bad.toml");
    FAIL() << "no error; expected " << field << ": " << reason;
  } catch (const PanelError& e) {
    EXPECT_EQ(e.file(), "bad.toml");
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_EQ(e.field(), field) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(reason));
    const std::string prefix = "bad.toml:" + std::to_string(line) + ": " + field + ": ";
    EXPECT_THAT(e.what(), testing::StartsWith(field.empty() ? "bad.toml:" : prefix));
  }
}

}  // namespace

TEST(PanelsShipped, AllLoadWithUniqueNames) {
  const auto panels = load_panels(defs_dir());
  ASSERT_EQ(panels.size(), 3U);
  // Sorted by file name.
  EXPECT_EQ(panels[0].name, "b-lineage-mrd");
  EXPECT_EQ(panels[1].name, "combined-12color");
  EXPECT_EQ(panels[2].name, "myelomonocytic");
  for (const Panel& p : panels) {
    EXPECT_FALSE(p.version.empty());
    EXPECT_FALSE(p.description.empty());
    EXPECT_EQ(p.source.parent_path(), defs_dir());
  }
}

TEST(PanelsShipped, BLineageTube) {
  const Panel p = load_panel(defs_dir() / "b-lineage-mrd.toml");
  for (const char* m : {"CD19", "CD10", "CD34", "CD20", "CD38", "CD45", "CD58", "FSC-A", "SSC-A"}) {
    const auto* marker = p.find_marker(m);
    ASSERT_NE(marker, nullptr) << m;
    EXPECT_TRUE(marker->required) << m;
  }
  EXPECT_EQ(p.find_marker("CD19")->role, MarkerRole::lineage);
  EXPECT_EQ(p.find_marker("CD45")->role, MarkerRole::backbone);
  const auto* syto = p.find_marker("syto41");  // found by compact, case-insensitive name
  ASSERT_NE(syto, nullptr);
  EXPECT_EQ(syto->name, "SYTO 41");
  EXPECT_EQ(syto->role, MarkerRole::viability_dna);
  EXPECT_FALSE(syto->required);
  EXPECT_EQ(p.find_marker("Time")->role, MarkerRole::time);
  EXPECT_EQ(p.find_marker("CD64"), nullptr);
  EXPECT_EQ(p.required_count(), 9U);

  const auto fl = p.transform_for(*p.find_marker("CD19"));
  EXPECT_EQ(fl.transform, "logicle");
  EXPECT_TRUE(fl.estimate_w);
  EXPECT_EQ(fl.params.at("T"), 262144.0);
  EXPECT_EQ(fl.params.at("M"), 4.5);
  EXPECT_EQ(fl.params.at("A"), 0.0);
  EXPECT_EQ(p.transform_for(*p.find_marker("FSC-A")).transform, "linear");
  EXPECT_EQ(p.transform_for(*p.find_marker("Time")).transform, "linear");
}

TEST(PanelsShipped, MyelomonocyticAndCombinedTubes) {
  const Panel mm = load_panel(defs_dir() / "myelomonocytic.toml");
  for (const char* m : {"CD64", "CD11b", "CD14", "CD4", "HLA-DR", "CD33", "CD45", "CD19", "CD34", "CD10"}) {
    ASSERT_NE(mm.find_marker(m), nullptr) << m;
  }
  EXPECT_EQ(mm.find_marker("HLADR"), mm.find_marker("HLA-DR"));
  EXPECT_EQ(mm.find_marker("CD19")->role, MarkerRole::backbone);

  const Panel c = load_panel(defs_dir() / "combined-12color.toml");
  int fluorescence_required = 0;
  for (const auto& m : c.markers) {
    if (m.kind() == ChannelKind::fluorescence && m.required) ++fluorescence_required;
  }
  EXPECT_EQ(fluorescence_required, 12);
  EXPECT_EQ(c.find_marker("CD4"), nullptr);
}

TEST(PanelsShipped, BuiltInDefaultsWhenFileGivesNone) {
  const Panel p = parse_panel(kHead + kMarkers, "tiny.toml");
  EXPECT_EQ(p.source, fs::path("tiny.toml"));
  EXPECT_EQ(p.transform_for(*p.find_marker("CD19")), flowmrd::panels::default_transform(ChannelKind::fluorescence));
  EXPECT_EQ(p.transform_for(*p.find_marker("FSC-A")).transform, "linear");
  EXPECT_TRUE(p.find_marker("CD19")->required);  // required is the default
}

TEST(PanelsShipped, MarkerTransformOverridesAndInstruments) {
  const Panel p = parse_panel(kHead + R"(
[[markers]]
name = "CD19"
role = "lineage"
transform = { transform = "arcsinh", a = 0, b = 0.0066667, c = 0 }

[[markers]]
name = "CD45"
role = "backbone"
transform = { transform = "logicle", T = 262144, W = 0.5, M = 4.5 }

[[instruments]]
name = "canto"
cytometer = "FACSCanto*"
[instruments.channels]
cd19 = "PE-Cy7-A"
)",
                              "x.toml");
  const auto t19 = p.transform_for(*p.find_marker("CD19"));
  EXPECT_EQ(t19.transform, "arcsinh");
  EXPECT_DOUBLE_EQ(t19.params.at("b"), 0.0066667);
  const auto t45 = p.transform_for(*p.find_marker("CD45"));
  EXPECT_FALSE(t45.estimate_w);
  EXPECT_EQ(t45.params.at("W"), 0.5);
  EXPECT_EQ(t45.params.at("A"), 0.0);  // filled in
  ASSERT_EQ(p.instruments.size(), 1U);
  EXPECT_EQ(p.instruments[0].cytometer, "FACSCanto*");
  EXPECT_EQ(p.instruments[0].channels.at("CD19"), "PE-Cy7-A");  // canonical marker name
  EXPECT_EQ(p.instruments[0].line, 14);
  EXPECT_EQ(p.markers[1].line, 9);
}

TEST(PanelErrors, UnknownRoleNamesLineFieldAndChoices) {
  expect_error(kHead + kMarkers + R"(
[[markers]]
name = "CD10"
role = "lineag"
)",
               14, "markers[2].role", "unknown role 'lineag' (expected one of lineage, maturation, backbone, scatter, time, viability_dna)");
}

TEST(PanelErrors, MissingAndMistypedFields) {
  expect_error("version = \"1\"\n" + kMarkers, 1, "name", "missing (required)");
  expect_error(kHead, 1, "markers", "missing (required)");
  expect_error(kHead + "markers = []\n", 3, "markers", "at least one marker");
  expect_error(kHead + "\n[[markers]]\nrole = \"lineage\"\n", 4, "markers[0].name", "missing (required)");
  expect_error(kHead + "\n[[markers]]\nname = \"CD19\"\nrole = \"lineage\"\nrequired = \"yes\"\n", 7,
               "markers[0].required", "expected true or false, found a string");
  expect_error(kHead + "\n[[markers]]\nname = \"CD19\"\nrole = \"lineage\"\naliases = \"B4\"\n", 7,
               "markers[0].aliases", "expected an array of strings");
  expect_error(kHead + "\n[[markers]]\nname = \"CD19\"\nrole = \"lineage\"\naliases = [\"B4\", 3]\n", 7,
               "markers[0].aliases[1]", "expected a string, found an integer");
  expect_error("name = \"\"\nversion = \"1\"\n" + kMarkers, 1, "name", "must not be empty");
  expect_error(kHead + "\n[[markers]]\nname = \"Time\"\nrole = \"time\"\nrequired = false\n", 4, "markers",
               "at least one required marker");
}

TEST(PanelErrors, UnknownKeysAreRejected) {
  expect_error(kHead + "colour = 8\n" + kMarkers, 3, "colour", "unknown key 'colour'");
  expect_error(kHead + "\n[[markers]]\nname = \"CD19\"\nrole = \"lineage\"\nrequird = false\n", 7,
               "markers[0].requird", "unknown key 'requird'");
}

TEST(PanelErrors, DuplicateNamesAndAliases) {
  expect_error(kHead + kMarkers + "\n[[markers]]\nname = \"cd-19\"\nrole = \"lineage\"\n", 12, "markers[2].name",
               "already the name or alias of another marker");
  expect_error(kHead + kMarkers + "\n[[markers]]\nname = \"CD10\"\naliases = [\"CD19\"]\nrole = \"maturation\"\n", 12,
               "markers[2].aliases[0]", "already the name or alias");
}

TEST(PanelErrors, Transforms) {
  const std::string t = "\n[transforms.fluorescence]\n";
  expect_error(kHead + t + "transform = \"logicle\"\nT = 262144\nM = 4.5\n" + kMarkers, 4, "transforms.fluorescence.W",
               "logicle needs W (or estimate_w = true)");
  expect_error(kHead + t + "transform = \"logicle\"\nT = 262144\nM = 4.5\nW = 3\n" + kMarkers, 8,
               "transforms.fluorescence.W", "W must lie in [0, M/2]");
  expect_error(kHead + t + "transform = \"logicle\"\nT = 262144\nM = 4.5\nW = 0.5\nestimate_w = true\n" + kMarkers, 8,
               "transforms.fluorescence.W", "either W or estimate_w");
  expect_error(kHead + t + "transform = \"logicle\"\nT = -1\nM = 4.5\nestimate_w = true\n" + kMarkers, 6,
               "transforms.fluorescence.T", "T > 0");
  expect_error(kHead + t + "transform = \"logicle\"\nT = 1\nM = 4.5\nQ = 1\nestimate_w = true\n" + kMarkers, 8,
               "transforms.fluorescence.Q", "unknown logicle parameter 'Q'");
  expect_error(kHead + t + "transform = \"logarithm\"\n" + kMarkers, 5, "transforms.fluorescence.transform",
               "unknown transform 'logarithm'");
  expect_error(kHead + t + "transform = \"linear\"\nestimate_w = true\n" + kMarkers, 6,
               "transforms.fluorescence.estimate_w", "only a logicle transform");
  expect_error(kHead + "\n[transforms.infrared]\ntransform = \"linear\"\n" + kMarkers, 4, "transforms.infrared",
               "unknown channel kind 'infrared'");
  expect_error(kHead + "\n[[markers]]\nname = \"CD19\"\nrole = \"lineage\"\ntransform = { transform = \"logicle\", T = \"x\", M = 4.5, estimate_w = true }\n",
               7, "markers[0].transform.T", "expected a number, found a string");
}

TEST(PanelErrors, Instruments) {
  expect_error(kHead + kMarkers + "\n[[instruments]]\nname = \"canto\"\n[instruments.channels]\nCD20 = \"PE-A\"\n", 15,
               "instruments[0].channels.CD20", "'CD20' is not a marker of this panel");
  expect_error(kHead + kMarkers + "\n[[instruments]]\nname = \"canto\"\n", 12, "instruments[0].channels",
               "missing or empty");
  expect_error(kHead + kMarkers +
                   "\n[[instruments]]\nname = \"canto\"\nchannels = { CD19 = \"A\" }\n"
                   "\n[[instruments]]\nname = \"CANTO\"\nchannels = { CD19 = \"B\" }\n",
               16, "instruments[1].name", "defined twice");
}

TEST(PanelErrors, TomlSyntaxErrorHasLine) {
  try {
    (void)parse_panel(kHead + "[[markers]\nname = \"CD19\"\n", "syntax.toml");
    FAIL();
  } catch (const PanelError& e) {
    EXPECT_EQ(e.line(), 3) << e.what();
    EXPECT_THAT(e.what(), testing::StartsWith("syntax.toml:3: TOML syntax error"));
  }
}

TEST(PanelErrors, FilesOnDisk) {
  const fs::path dir = tmp_dir("bad_files");
  const fs::path bad = write(dir / "b-lineage-mrd.toml", kHead + kMarkers + R"(
[[markers]]
name = "CD10"
role = "lineag"
)");
  try {
    (void)load_panel(bad);
    FAIL();
  } catch (const PanelError& e) {
    EXPECT_EQ(e.file(), bad.string());
    EXPECT_THAT(e.what(), HasSubstr("b-lineage-mrd.toml:14: markers[2].role: unknown role 'lineag'"));
  }
  // A directory with that file fails on it too.
  EXPECT_THROW((void)load_panels(dir), PanelError);

  EXPECT_THROW((void)load_panel(dir / "absent.toml"), PanelError);
  EXPECT_THROW((void)load_panels(dir / "absent"), PanelError);

  // Two files declaring one panel name.
  const fs::path dup = tmp_dir("dup_names");
  write(dup / "a.toml", kHead + kMarkers);
  write(dup / "b.toml", kHead + kMarkers);
  write(dup / "notes.txt", "ignored");
  try {
    (void)load_panels(dup);
    FAIL();
  } catch (const PanelError& e) {
    EXPECT_THAT(e.what(), HasSubstr("b.toml"));
    EXPECT_THAT(e.what(), HasSubstr("panel name 'tiny' is also used by"));
  }
  fs::remove(dup / "b.toml");
  EXPECT_EQ(load_panels(dup).size(), 1U);
}

// FLOWMRD_DATA points the loader at an installed data root laid out like the repository.
TEST(PanelsDataDir, EnvironmentOverridesSourceTree) {
  const std::filesystem::path root = std::filesystem::path(FLOWMRD_TEST_TMP) / "data-root";
  ::setenv("FLOWMRD_DATA", root.c_str(), 1);
  const std::filesystem::path dir = flowmrd::panels::source_panels_dir();
  ::unsetenv("FLOWMRD_DATA");
  EXPECT_EQ(dir, root / "panels" / "defs");
  EXPECT_EQ(flowmrd::panels::source_panels_dir().filename(), "defs");
  EXPECT_TRUE(std::filesystem::exists(flowmrd::panels::source_panels_dir()));
}
