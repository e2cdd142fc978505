// SPDX-License-Identifier: Apache-2.0
// Marker -> channel resolution on synthetic data sets (written and read back through libfcs) and on
// real shared files, plus the automatic panel choice.
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fcs/reader.hpp"
#include "fcs/writer.hpp"
#include "flowmrd/panels/panel.hpp"
#include "flowmrd/panels/resolve.hpp"

namespace fs = std::filesystem;
using namespace flowmrd::panels;
using testing::HasSubstr;

namespace {

fs::path defs_dir() { return fs::path(FLOWMRD_SOURCE_DIR) / "panels" / "defs"; }

const Panel& shipped(const std::string& name) {
  static const std::vector<Panel> panels = load_panels(defs_dir());
  for (const Panel& p : panels) {
    if (p.name == name) return p;
  }
  throw std::runtime_error("no shipped panel " + name);
}

const std::vector<Panel>& all_shipped() {
  static const std::vector<Panel> panels = load_panels(defs_dir());
  return panels;
}

using Spec = std::vector<std::pair<std::string, std::optional<std::string>>>;  // $PnN, $PnS

// A real fcs::Dataset with these channels (3 events), built through the writer and the reader.
fcs::Dataset dataset(const Spec& spec, const std::string& cytometer = {}) {
  fcs::WriteRequest req;
  const std::vector<float> column{1.0F, 2.0F, 3.0F};
  for (const auto& [name, stain] : spec) {
    req.channels.push_back(fcs::WriteChannel{name, stain});
    req.columns.emplace_back(column);
  }
  if (!cytometer.empty()) req.keywords.emplace_back("$CYT", cytometer);
  const auto bytes = fcs::write_bytes(req);
  fcs::File file = fcs::read_bytes(bytes, {}, "synthetic.fcs");
  return std::move(file.datasets.at(0));
}

const Spec kScatter{{"FSC-A", std::nullopt}, {"FSC-H", std::nullopt}, {"SSC-A", std::nullopt}};

Spec with_scatter(Spec fl) {
  Spec out = kScatter;
  out.insert(out.end(), fl.begin(), fl.end());
  out.emplace_back("Time", std::nullopt);
  return out;
}

std::string name_of(const fcs::Dataset& ds, const Resolution& r, const std::string& marker) {
  const auto c = r.channel(marker);
  return c ? ds.channels[*c].name : std::string("<unresolved>");
}

Panel tiny_panel(const std::string& markers_toml) {
  return parse_panel("name = \"tiny\"\nversion = \"1\"\n" + markers_toml, "tiny.toml");
}

}  // namespace

TEST(TokenMatch, WholeTokensOnly) {
  for (const char* text : {"CD19", "cd19", "CD19 PE-Cy7", "CD19-PECy7", "PE-Cy7 CD19", "PE-Cy7-A (CD19)",
                           "CD19;PE-Cy7;780/60@561/A", "Nd142Di_CD19", "anti-CD19", " CD19 "}) {
    EXPECT_TRUE(token_match(text, "CD19")) << text;
  }
  for (const char* text : {"CD1", "CD190", "CD19a", "ACD19", "PECy7CD19", "CD 1 9x"}) {
    EXPECT_FALSE(token_match(text, "CD19")) << text;
  }
  EXPECT_FALSE(token_match("CD19 PE-Cy7", "CD1"));
  EXPECT_FALSE(token_match("CD45 V500", "CD4"));
  EXPECT_TRUE(token_match("CD4 V450", "CD4"));
  EXPECT_FALSE(token_match("CD11b APC", "CD11"));
  EXPECT_TRUE(token_match("cd11B-apc", "CD11b"));
  for (const char* text : {"HLA-DR", "HLADR", "HLA DR", "hla-dr BV421", "Anti-HLA-DR V450-A", "HLA_DR"}) {
    EXPECT_TRUE(token_match(text, "HLA-DR")) << text;
    EXPECT_TRUE(token_match(text, "HLADR")) << text;
  }
  EXPECT_FALSE(token_match("HLA-ABC", "HLA-DR"));
  EXPECT_TRUE(token_match("SYTO41", "SYTO 41"));
  EXPECT_FALSE(token_match("", "CD19"));
  EXPECT_FALSE(token_match("CD19", "--"));
}

TEST(GlobMatch, WildcardsAndCase) {
  EXPECT_TRUE(glob_match("FSC-A", "fsc-a"));
  EXPECT_TRUE(glob_match("FS INT*", "FS INT LIN"));
  EXPECT_TRUE(glob_match("Time", "TIME"));
  EXPECT_TRUE(glob_match("FL?-A", "FL3-A"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("FSC-A", "FSC-H"));
  EXPECT_FALSE(glob_match("FS INT*", "SS INT LIN"));
  EXPECT_FALSE(glob_match("Time", "Time2"));
  EXPECT_TRUE(glob_match("*a*b", "xxaxxb"));
}

TEST(Resolve, BLineageWithMixedSpellings) {
  const auto ds = dataset(with_scatter({{"FITC-A", "cd10-fitc"},
                                        {"PE-A", "PE CD20"},
                                        {"PerCP-Cy5-5-A", "CD34 PerCP-Cy5.5"},
                                        {"PE-Cy7-A", "CD19-PECy7"},
                                        {"APC-A", "APC-CD38"},
                                        {"APC-H7-A", "CD58"},
                                        {"V500-C-A", "CD45 V500-C"},
                                        {"V450-A", "Syto41"}}));
  const Resolution r = resolve(shipped("b-lineage-mrd"), ds, {.label = "tube1.fcs", .instrument = {}});
  EXPECT_TRUE(r.complete());
  EXPECT_TRUE(r.unresolved.empty());
  EXPECT_TRUE(r.issues.empty());
  EXPECT_EQ(r.panel, "b-lineage-mrd");
  EXPECT_EQ(name_of(ds, r, "CD19"), "PE-Cy7-A");
  EXPECT_EQ(name_of(ds, r, "CD10"), "FITC-A");
  EXPECT_EQ(name_of(ds, r, "CD20"), "PE-A");
  EXPECT_EQ(name_of(ds, r, "CD34"), "PerCP-Cy5-5-A");
  EXPECT_EQ(name_of(ds, r, "CD38"), "APC-A");
  EXPECT_EQ(name_of(ds, r, "CD58"), "APC-H7-A");
  EXPECT_EQ(name_of(ds, r, "CD45"), "V500-C-A");
  EXPECT_EQ(name_of(ds, r, "SYTO 41"), "V450-A");
  EXPECT_EQ(name_of(ds, r, "FSC-A"), "FSC-A");
  EXPECT_EQ(name_of(ds, r, "FSC-H"), "FSC-H");
  EXPECT_EQ(name_of(ds, r, "SSC-A"), "SSC-A");
  EXPECT_EQ(name_of(ds, r, "Time"), "Time");
  const auto map = r.channel_map();
  EXPECT_EQ(map.size(), 12U);
  EXPECT_EQ(map.at("CD19"), 6);  // 0-based: FSC-A FSC-H SSC-A FITC PE PerCP PE-Cy7
  for (const auto& m : r.markers) {
    EXPECT_EQ(m.source, m.role == MarkerRole::scatter || m.role == MarkerRole::time ? MatchSource::name
                                                                                    : MatchSource::stain)
        << m.marker;
  }
  EXPECT_EQ(r.markers.front().channel_stain, "CD19-PECy7");
}

TEST(Resolve, Cd4IsNotCd45AndCd1IsNotCd19) {
  const auto ds = dataset(with_scatter({{"FITC-A", "CD45 FITC"}, {"PB-A", "CD4 PB"}, {"PE-A", "CD19 PE"}}));
  const Panel p = tiny_panel(R"(
[[markers]]
name = "CD4"
role = "maturation"
[[markers]]
name = "CD45"
role = "backbone"
[[markers]]
name = "CD1"
role = "lineage"
required = false
[[markers]]
name = "CD19"
role = "lineage"
)");
  const Resolution r = resolve(p, ds);
  EXPECT_EQ(name_of(ds, r, "CD4"), "PB-A");
  EXPECT_EQ(name_of(ds, r, "CD45"), "FITC-A");
  EXPECT_EQ(name_of(ds, r, "CD19"), "PE-A");
  EXPECT_FALSE(r.channel("CD1"));
  ASSERT_EQ(r.issues.size(), 1U);
  EXPECT_EQ(r.issues[0].code, "optional_marker_missing");
  EXPECT_EQ(r.issues[0].severity, fcs::Severity::info);
  EXPECT_THAT(r.issues[0].message, HasSubstr("CD1 not found"));
}

TEST(Resolve, HlaDrSpellings) {
  const Panel p = tiny_panel("[[markers]]\nname = \"HLA-DR\"\nrole = \"maturation\"\n");
  for (const char* stain : {"HLA-DR", "HLADR", "HLA DR", "hla-dr BV421", "Anti-HLA-DR V450-A", "PerCP HLA-DR"}) {
    const auto ds = dataset({{"FITC-A", "CD45"}, {"V450-A", stain}});
    const Resolution r = resolve(p, ds);
    EXPECT_EQ(name_of(ds, r, "HLA-DR"), "V450-A") << stain;
  }
}

TEST(Resolve, FallsBackToPnNThenInstrumentMapping) {
  // No $PnS: markers written into $PnN (some software exports them so).
  const auto by_name = dataset({{"FSC-A", std::nullopt}, {"SSC-A", std::nullopt}, {"CD19", std::nullopt},
                                {"CD45-A", std::nullopt}});
  const Panel p = tiny_panel(R"(
[[markers]]
name = "CD19"
role = "lineage"
[[markers]]
name = "CD45"
role = "backbone"
[[markers]]
name = "SSC-A"
role = "scatter"
[[instruments]]
name = "lab-canto"
cytometer = "FACSCanto*"
channels = { CD19 = "pe-cy7-a", CD45 = "V500-A" }
[[instruments]]
name = "other"
channels = { CD19 = "APC-A", CD45 = "FITC-A" }
)");
  Resolution r = resolve(p, by_name);
  EXPECT_EQ(name_of(by_name, r, "CD19"), "CD19");
  EXPECT_EQ(r.markers[0].source, MatchSource::name);
  EXPECT_EQ(name_of(by_name, r, "CD45"), "CD45-A");
  EXPECT_TRUE(r.instrument.empty());

  // Detector names only: the mapping selected by $CYT applies.
  const Spec detectors{{"SSC-A", std::nullopt}, {"PE-Cy7-A", std::nullopt}, {"V500-A", std::nullopt},
                       {"APC-A", std::nullopt}, {"FITC-A", std::nullopt}};
  const auto canto = dataset(detectors, "FACSCanto II");
  r = resolve(p, canto, {.label = "canto.fcs", .instrument = {}});
  EXPECT_EQ(r.instrument, "lab-canto");
  EXPECT_EQ(name_of(canto, r, "CD19"), "PE-Cy7-A");
  EXPECT_EQ(r.markers[0].source, MatchSource::instrument);
  EXPECT_EQ(name_of(canto, r, "CD45"), "V500-A");

  // An explicit instrument wins over $CYT.
  r = resolve(p, canto, {.label = "canto.fcs", .instrument = "OTHER"});
  EXPECT_EQ(r.instrument, "other");
  EXPECT_EQ(name_of(canto, r, "CD19"), "APC-A");

  // $PnS beats the mapping when both name a channel.
  const auto stained = dataset({{"SSC-A", std::nullopt}, {"PE-Cy7-A", "CD45"}, {"V500-A", "CD19"}}, "FACSCanto II");
  r = resolve(p, stained);
  EXPECT_EQ(name_of(stained, r, "CD19"), "V500-A");
  EXPECT_EQ(r.markers[0].source, MatchSource::stain);

  // Unknown instrument name, and no mapping for an unknown cytometer.
  try {
    (void)resolve(p, canto, {.label = "canto.fcs", .instrument = "aria"});
    FAIL();
  } catch (const ResolveError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no instrument mapping 'aria' (it has: lab-canto, other)"));
  }
  const auto unknown = dataset(detectors, "LSRFortessa");
  EXPECT_THROW((void)resolve(p, unknown), ResolveError);

  // A mapping naming a channel the file lacks is reported, not guessed.
  const auto partial = dataset({{"SSC-A", std::nullopt}, {"PE-Cy7-A", std::nullopt}}, "FACSCanto II");
  const Resolution pr = try_resolve(p, partial);
  EXPECT_FALSE(pr.complete());
  ASSERT_EQ(pr.issues.size(), 1U);
  EXPECT_EQ(pr.issues[0].code, "instrument_channel_missing");
}

TEST(Resolve, AmbiguousRequiredMarkerNamesFileMarkerAndCandidates) {
  const auto ds = dataset(with_scatter({{"PE-Cy7-A", "CD19 PE-Cy7"}, {"APC-A", "CD19 APC"}, {"FITC-A", "CD45"},
                                        {"PE-A", "CD10"}, {"PerCP-A", "CD34"}, {"BV421-A", "CD20"},
                                        {"BV510-A", "CD38"}, {"BV605-A", "CD58"}}));
  try {
    (void)resolve(shipped("b-lineage-mrd"), ds, {.label = "/data/p1/d15.fcs", .instrument = {}});
    FAIL();
  } catch (const ResolveError& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.file(), "/data/p1/d15.fcs");
    EXPECT_THAT(what, testing::StartsWith("/data/p1/d15.fcs: panel b-lineage-mrd ("));
    EXPECT_THAT(what, HasSubstr("b-lineage-mrd.toml"));
    EXPECT_THAT(what, HasSubstr("required marker CD19 is ambiguous (candidates: PE-Cy7-A (CD19 PE-Cy7), APC-A (CD19 APC))"));
    ASSERT_EQ(e.unresolved().size(), 1U);
    EXPECT_TRUE(e.unresolved()[0].ambiguous);
    EXPECT_EQ(e.unresolved()[0].candidates.size(), 2U);
  }
}

TEST(Resolve, AreaChannelPreferredOverHeightAndWidth) {
  const auto ds = dataset({{"SSC-A", std::nullopt}, {"PE-Cy7-A", "CD19"}, {"PE-Cy7-H", "CD19"}, {"PE-Cy7-W", "CD19"}});
  const Panel p = tiny_panel("[[markers]]\nname = \"CD19\"\nrole = \"lineage\"\n");
  EXPECT_EQ(name_of(ds, resolve(p, ds), "CD19"), "PE-Cy7-A");
}

TEST(Resolve, MissingRequiredMarkersListedTogether) {
  const auto ds = dataset(with_scatter({{"PE-A", "CD19"}, {"FITC-A", "CD45"}}));
  try {
    (void)resolve(shipped("b-lineage-mrd"), ds, {.label = "tube.fcs", .instrument = {}});
    FAIL();
  } catch (const ResolveError& e) {
    const std::string what = e.what();
    EXPECT_THAT(what, HasSubstr("5 required markers not resolved:"));
    EXPECT_THAT(what, HasSubstr("\n  CD10 not found"));
    EXPECT_THAT(what, HasSubstr("\n  CD58 not found"));
    EXPECT_THAT(what, HasSubstr("channels in the file: FSC-A, FSC-H, SSC-A, PE-A (CD19), FITC-A (CD45), Time"));
    EXPECT_EQ(e.unresolved().size(), 5U);
  }
  const Resolution r = try_resolve(shipped("b-lineage-mrd"), ds);
  EXPECT_FALSE(r.complete());
  EXPECT_EQ(r.markers.size(), 6U);  // CD19, CD45, FSC-A, FSC-H, SSC-A, Time
}

TEST(Resolve, OptionalMarkersMayBeAbsentOrAmbiguous) {
  const Spec fl{{"FITC-A", "CD10"}, {"PE-A", "CD20"}, {"PerCP-A", "CD34"}, {"PE-Cy7-A", "CD19"},
                {"APC-A", "CD38"}, {"APC-H7-A", "CD58"}, {"V500-A", "CD45"}};
  Spec scatter_only = kScatter;
  scatter_only.erase(scatter_only.begin() + 1);  // no FSC-H
  scatter_only.insert(scatter_only.end(), fl.begin(), fl.end());
  const auto ds = dataset(scatter_only);  // no FSC-H, no Time, no SYTO 41
  const Resolution r = resolve(shipped("b-lineage-mrd"), ds);
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.unresolved.size(), 3U);
  EXPECT_EQ(r.issues.size(), 3U);

  Spec two_dyes = with_scatter(fl);
  two_dyes.emplace_back("V450-A", "SYTO 41");
  two_dyes.emplace_back("BV421-A", "DNA");
  const auto ds2 = dataset(two_dyes);
  const Resolution r2 = resolve(shipped("b-lineage-mrd"), ds2);
  ASSERT_EQ(r2.issues.size(), 1U);
  EXPECT_EQ(r2.issues[0].code, "optional_marker_ambiguous");
  EXPECT_EQ(r2.issues[0].severity, fcs::Severity::warning);
  EXPECT_THAT(r2.issues[0].message, HasSubstr("V450-A (SYTO 41), BV421-A (DNA)"));
}

TEST(Resolve, NaviosScatterAndSharedChannels) {
  const auto ds = dataset({{"FS INT LIN", "FS INT LIN"}, {"FS PEAK LIN", std::nullopt}, {"SS INT LIN", std::nullopt},
                           {"FL1 INT LOG", "CD10-FITC"}, {"FL2 INT LOG", "CD19/CD20-PE"}, {"TIME", std::nullopt}});
  const Panel p = tiny_panel(R"(
[[markers]]
name = "CD19"
role = "lineage"
[[markers]]
name = "CD20"
role = "maturation"
[[markers]]
name = "CD10"
role = "maturation"
)");
  const Resolution r = resolve(p, ds);
  EXPECT_EQ(name_of(ds, r, "CD19"), "FL2 INT LOG");
  EXPECT_EQ(name_of(ds, r, "CD20"), "FL2 INT LOG");
  ASSERT_EQ(r.issues.size(), 1U);
  EXPECT_EQ(r.issues[0].code, "shared_channel");

  const Resolution s = try_resolve(shipped("b-lineage-mrd"), ds);
  EXPECT_EQ(name_of(ds, s, "FSC-A"), "FS INT LIN");
  EXPECT_EQ(name_of(ds, s, "FSC-H"), "FS PEAK LIN");
  EXPECT_EQ(name_of(ds, s, "SSC-A"), "SS INT LIN");
  EXPECT_EQ(name_of(ds, s, "Time"), "TIME");
}

TEST(ChoosePanel, PicksTheTubeThatFits) {
  const auto& panels = all_shipped();
  const Spec b_tube{{"FITC-A", "CD58 FITC"}, {"PE-A", "CD10 PE"}, {"PerCP-A", "CD34 PerCP"}, {"PE-Cy7-A", "CD19 PE-Cy7"},
                    {"APC-A", "CD38 APC"},   {"APC-H7-A", "CD20 APC-H7"}, {"V500-A", "CD45 V500"}, {"V450-A", "SYTO 41"}};
  const auto b = dataset(with_scatter(b_tube));
  PanelChoice c = choose_panel(panels, b);
  EXPECT_EQ(panels[c.index].name, "b-lineage-mrd");
  EXPECT_EQ(c.resolution.panel, "b-lineage-mrd");
  EXPECT_EQ(c.resolution.markers.size(), 12U);

  const auto mm = dataset(with_scatter({{"FITC-A", "CD64"}, {"PE-A", "CD11b"}, {"PerCP-A", "CD14"}, {"PE-Cy7-A", "CD4"},
                                        {"APC-A", "HLA DR"}, {"APC-H7-A", "CD33"}, {"V500-A", "CD45"}, {"BV605-A", "CD19"},
                                        {"BV650-A", "CD34"}, {"BV711-A", "CD10"}}));
  c = choose_panel(panels, mm);
  EXPECT_EQ(panels[c.index].name, "myelomonocytic");

  // All twelve colours: the combined panel covers more than either sub-panel.
  Spec twelve = b_tube;
  twelve.pop_back();  // no DNA dye
  twelve.insert(twelve.end(), {{"BV605-A", "CD64"}, {"BV650-A", "CD11b"}, {"BV711-A", "CD14"},
                               {"BV786-A", "HLA-DR"}, {"BUV395-A", "CD33"}});
  const auto combined = dataset(with_scatter(twelve));
  c = choose_panel(panels, combined);
  EXPECT_EQ(panels[c.index].name, "combined-12color");
  // Same with CD4 added: the myelomonocytic tube fits too, but combined still covers more.
  twelve.emplace_back("BUV737-A", "CD4");
  c = choose_panel(panels, dataset(with_scatter(twelve)));
  EXPECT_EQ(panels[c.index].name, "combined-12color");
}

TEST(ChoosePanel, FailsListingWhatEachPanelMisses) {
  const auto ds = dataset(with_scatter({{"FITC-A", "CD3"}, {"PE-A", "CD19"}, {"APC-A", "CD45 APC"}, {"PB-A", "CD45 PB"}}));
  try {
    (void)choose_panel(all_shipped(), ds, {.label = "odd.fcs", .instrument = {}});
    FAIL();
  } catch (const ResolveError& e) {
    const std::string what = e.what();
    EXPECT_THAT(what, testing::StartsWith("odd.fcs: no panel fits this data set:"));
    EXPECT_THAT(what, HasSubstr("\n  b-lineage-mrd: missing CD10, CD34, CD20, CD38, CD58; ambiguous CD45 (APC-A (CD45 APC) | PB-A (CD45 PB))"));
    EXPECT_THAT(what, HasSubstr("\n  myelomonocytic: missing CD64, CD11b, CD14, CD4, HLA-DR, CD33, CD34, CD10; ambiguous CD45"));
    EXPECT_THAT(what, HasSubstr("\n  combined-12color: missing CD10"));
  }
  EXPECT_THROW((void)choose_panel(std::span<const Panel>{}, ds), ResolveError);
}

// ---- real files from the shared data set -------------------------------------------------------

namespace {
std::optional<fcs::Dataset> shared_dataset(const std::string& rel, int number = 1) {
  const fs::path path = fs::path(FLOWMRD_SHARED_DATA) / rel;
  if (!fs::exists(path)) return std::nullopt;
  fcs::ReadOptions options;
  options.skip_events = true;
  return fcs::read_dataset(path, number, options);
}
}  // namespace

TEST(ResolveRealFiles, FlowKitCompExample) {
  // LSRII: FSC-A FSC-W SSC-A ... PE-A(CD33) PerCP-Cy55-A(CD20) PE-Cy7-A(CD3) PacBlu-A(CD4) ... Time.
  const auto ds = shared_dataset("fcs/files/whitews__FlowKit/data/test_comp_example.fcs");
  if (!ds) GTEST_SKIP() << "shared data absent";
  const Panel p = tiny_panel(R"(
[[markers]]
name = "CD33"
role = "lineage"
[[markers]]
name = "CD20"
role = "maturation"
[[markers]]
name = "CD4"
role = "maturation"
[[markers]]
name = "CD3"
role = "lineage"
[[markers]]
name = "FSC-A"
role = "scatter"
[[markers]]
name = "SSC-A"
role = "scatter"
[[markers]]
name = "Time"
role = "time"
)");
  const Resolution r = resolve(p, *ds, {.label = "test_comp_example.fcs", .instrument = {}});
  EXPECT_EQ(name_of(*ds, r, "CD33"), "PE-A");
  EXPECT_EQ(name_of(*ds, r, "CD20"), "PerCP-Cy55-A");
  EXPECT_EQ(name_of(*ds, r, "CD4"), "PacBlu-A");
  EXPECT_EQ(name_of(*ds, r, "CD3"), "PE-Cy7-A");
  EXPECT_EQ(name_of(*ds, r, "Time"), "Time");

  // None of the shipped tubes fits an LSRII T-cell/signalling panel.
  try {
    (void)choose_panel(all_shipped(), *ds, {.label = "test_comp_example.fcs", .instrument = {}});
    FAIL();
  } catch (const ResolveError& e) {
    EXPECT_THAT(e.what(), HasSubstr("b-lineage-mrd: missing CD19, CD10, CD34, CD38, CD45, CD58"));
  }
}

TEST(ResolveRealFiles, FacsLyricMarrow) {
  // BD FACSLyric AML MRD marrow: $PnS like "CD19 APC-Cy7-A", "Anti-HLA-DR V450-A"; scatter without $PnS.
  const auto ds = shared_dataset("real-bm/aavhd__AML_MRD_ML/Sample_patient.fcs");
  if (!ds) GTEST_SKIP() << "shared data absent";
  const Resolution r = try_resolve(shipped("myelomonocytic"), *ds, {.label = "Sample_patient.fcs", .instrument = {}});
  EXPECT_EQ(name_of(*ds, r, "CD19"), "APC-Cy7-A");
  EXPECT_EQ(name_of(*ds, r, "HLA-DR"), "V450-A");
  EXPECT_EQ(name_of(*ds, r, "CD33"), "APC-A");
  EXPECT_EQ(name_of(*ds, r, "CD34"), "PerCP-Cy5.5-A");
  EXPECT_EQ(name_of(*ds, r, "CD45"), "V500-C-A");
  EXPECT_EQ(name_of(*ds, r, "FSC-A"), "FSC-A");
  EXPECT_EQ(name_of(*ds, r, "FSC-H"), "FSC-H");
  EXPECT_EQ(name_of(*ds, r, "SSC-A"), "SSC-A");
  EXPECT_EQ(name_of(*ds, r, "Time"), "Time");
  EXPECT_FALSE(r.complete());
  std::vector<std::string> missing;
  for (const auto& u : r.unresolved) missing.push_back(u.marker);
  EXPECT_THAT(missing, testing::ElementsAre("CD64", "CD11b", "CD14", "CD4", "CD10"));
}

TEST(ResolveRealFiles, NaviosLmd) {
  // Beckman Navios: FS INT LIN / SS INT LIN scatter, $PnS like "CD19-ECD", "CD45-PC7".
  std::optional<fcs::Dataset> ds;
  try {
    ds = shared_dataset("fcs/files/eyurtsev__fcsparser/fcsparser/tests/data/FlowCytometers/fake_bitmask_error/fcs1_cleaned.lmd");
  } catch (const fcs::Error& e) {
    GTEST_SKIP() << "not readable with default options: " << e.what();
  }
  if (!ds) GTEST_SKIP() << "shared data absent";
  const Resolution r = try_resolve(shipped("b-lineage-mrd"), *ds);
  EXPECT_EQ(name_of(*ds, r, "CD19"), "FL3 INT LOG");
  EXPECT_EQ(name_of(*ds, r, "CD45"), "FL5 INT LOG");
  EXPECT_EQ(name_of(*ds, r, "FSC-A"), "FS INT LIN");
  EXPECT_EQ(name_of(*ds, r, "SSC-A"), "SS INT LIN");
}
