// SPDX-License-Identifier: Apache-2.0
// FlowJo workspace import: every workspace of ../shared/data/flowjo (tree sizes and gate kinds
// against an independent count of the XML), the 8-colour workspace against its Gating-ML export,
// the transform mapping (including FlowJo's own biex table), ellipses, boolean nodes, stored
// counts that are not results, and the errors for what is not supported.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>

#include "flowmrd/gating/flowjo.hpp"
#include "flowmrd/gating/gatingml.hpp"
#include "gating_test_data.hpp"

#ifndef FLOWMRD_SHARED_DATA
#define FLOWMRD_SHARED_DATA ""
#endif
#ifndef FLOWMRD_TEST_TMP
#define FLOWMRD_TEST_TMP "."
#endif

using namespace flowmrd::gating;
namespace fs = std::filesystem;

namespace {

fs::path flowjo_dir() {
  const char* env = std::getenv("FLOWMRD_SHARED_DATA");
  return fs::path(env != nullptr && *env != '\0' ? env : FLOWMRD_SHARED_DATA) / "flowjo";
}

// --- synthetic workspaces ---------------------------------------------------------------------

constexpr const char* kHead =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Workspace version=\"20.0\" flowJoVersion=\"10.8.1\" "
    "xmlns:gating=\"http://www.isac-net.org/std/Gating-ML/v2.0/gating\" "
    "xmlns:transforms=\"http://www.isac-net.org/std/Gating-ML/v2.0/transformations\" "
    "xmlns:data-type=\"http://www.isac-net.org/std/Gating-ML/v2.0/datatypes\">\n"
    "<SampleList>\n<Sample>\n<DataSet uri=\"file:/C:/data/My%20File.fcs\" sampleID=\"7\"/>\n";

std::string linear(const std::string& ch) {
  return "<transforms:linear transforms:minRange=\"0\" transforms:maxRange=\"262144\" gain=\"1\">"
         "<data-type:parameter data-type:name=\"" + ch + "\"/></transforms:linear>\n";
}

/// A one-sample workspace: `extra` goes before <Transformations> (spillover matrices),
/// `transforms` inside it, `tree` inside the SampleNode's <Subpopulations>.
std::string workspace(const std::string& transforms, const std::string& tree, const std::string& extra = {},
                      const std::string& sample_count = "10") {
  return std::string(kHead) + extra + "<Transformations>\n" + transforms + "</Transformations>\n<Keywords/>\n" +
         "<SampleNode name=\"sample one\" count=\"" + sample_count + "\" sampleID=\"7\">\n<Subpopulations>\n" + tree +
         "</Subpopulations>\n</SampleNode>\n</Sample>\n</SampleList>\n</Workspace>\n";
}

fs::path write_temp(const std::string& name, const std::string& text) {
  const fs::path dir = fs::path(FLOWMRD_TEST_TMP) / "flowjo";
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

std::string rect(const std::string& id, const std::string& dims, const std::string& events_inside = "1") {
  return "<Gate gating:id=\"" + id + "\"><gating:RectangleGate eventsInside=\"" + events_inside + "\">" + dims +
         "</gating:RectangleGate></Gate>";
}

std::string dim(const std::string& ch, const std::string& bounds) {
  return "<gating:dimension " + bounds + "><data-type:fcs-dimension data-type:name=\"" + ch + "\"/></gating:dimension>";
}

std::string population(const std::string& name, const std::string& count, const std::string& gate,
                       const std::string& children = {}) {
  return "<Population name=\"" + name + "\" count=\"" + count + "\">" + gate +
         (children.empty() ? "" : "<Subpopulations>" + children + "</Subpopulations>") + "</Population>\n";
}

/// The GatingError message of reading `text`, or "" when it reads.
std::string error_of(const std::string& name, const std::string& text) {
  try {
    (void)read_flowjo_workspace(write_temp(name, text));
  } catch (const GatingError& e) {
    return e.what();
  }
  return {};
}

}  // namespace

// --- the shared workspaces --------------------------------------------------------------------

namespace {

/// Per workspace: samples, and over all samples the rectangle, polygon, ellipse and boolean
/// populations (counted from the XML by an independent script, see docs/flowjo.md).
struct Expected {
  const char* workspace;
  std::size_t samples, rectangles, polygons, ellipses, booleans;
};

constexpr Expected kWorkspaces[] = {
    {"rgb-lab__FACSPy/FACSPy/_resources/test_suite_dataset/test_suite.wsp", 6, 9, 24, 3, 0},
    {"whitews__FlowKit/data/8_color_data_set/8_color_ICS.wsp", 3, 27, 15, 0, 0},
    {"whitews__FlowKit/data/8_color_data_set/8_color_ICS_boolean_gate_testing.wsp", 3, 30, 15, 0, 15},
    {"whitews__FlowKit/data/8_color_data_set/8_color_ICS_dot_gate_name.wsp", 3, 27, 15, 0, 0},
    {"whitews__FlowKit/data/8_color_data_set/8_color_ICS_sample_without_gates.wsp", 3, 2, 6, 0, 0},
    {"whitews__FlowKit/data/8_color_data_set/8_color_ICS_simple.wsp", 3, 3, 9, 0, 0},
    {"whitews__FlowKit/data/8_color_data_set/8_color_ICS_with_ellipse.wsp", 3, 27, 15, 3, 0},
    {"whitews__FlowKit/data/8_color_data_set/reused_quad_gate_with_child.wsp", 1, 13, 0, 0, 0},
    {"whitews__FlowKit/data/simple_diamond_example/simple_diamond_example_quad_gate.wsp", 1, 4, 0, 0, 0},
    {"whitews__FlowKit/data/simple_diamond_example/test_data_diamond_asinh_rect.wsp", 1, 1, 0, 0, 0},
    {"whitews__FlowKit/data/simple_diamond_example/test_data_diamond_asinh_rect2.wsp", 1, 1, 0, 0, 0},
    {"whitews__FlowKit/data/simple_diamond_example/test_data_diamond_biex_rect.wsp", 1, 1, 0, 0, 0},
    {"whitews__FlowKit/data/simple_line_example/simple_poly_and_rect.wsp", 1, 1, 1, 0, 0},
    {"whitews__FlowKit/data/simple_line_example/simple_poly_and_rect_v2_poly50.wsp", 1, 1, 1, 0, 0},
    {"whitews__FlowKit/data/simple_line_example/single_ellipse_51_events.wsp", 1, 0, 0, 1, 0},
};

}  // namespace

TEST(FlowJoWorkspace, EveryWorkspaceOfTheCorpusImports) {
  std::size_t seen = 0;
  for (const auto& e : fs::recursive_directory_iterator(flowjo_dir())) {
    if (e.path().extension() == ".wsp") ++seen;
  }
  EXPECT_EQ(seen, std::size(kWorkspaces)) << "a workspace was added to the corpus: add it to kWorkspaces";
  for (const auto& x : kWorkspaces) {
    SCOPED_TRACE(x.workspace);
    const auto ws = read_flowjo_workspace(flowjo_dir() / x.workspace);
    EXPECT_EQ(ws.flowjo_version.substr(0, 3), "10.");
    ASSERT_EQ(ws.samples.size(), x.samples);
    std::map<std::string, std::size_t> kinds;
    for (const auto& s : ws.samples) {
      EXPECT_NO_THROW(s.strategy.validate());
      EXPECT_TRUE(s.event_count.has_value());
      for (const auto& p : s.strategy.populations) {
        ++kinds[gate_kind_name(p.gate)];
        if (const auto* e = std::get_if<EllipsoidGate>(&p.gate)) {  // a proper ellipse on the display
          EXPECT_GT(e->covariance[0], 0.0);
          EXPECT_GT(e->covariance[0] * e->covariance[3] - e->covariance[1] * e->covariance[2], 0.0);
        }
      }
      for (const auto& [id, count] : s.stored_counts) EXPECT_NE(s.strategy.find(id), nullptr) << id;
    }
    EXPECT_EQ(kinds["rectangle"], x.rectangles);
    EXPECT_EQ(kinds["polygon"], x.polygons);
    EXPECT_EQ(kinds["ellipsoid"], x.ellipses);
    EXPECT_EQ(kinds["boolean"], x.booleans);
    EXPECT_EQ(kinds["quadrant"], 0u);
  }
}

TEST(FlowJoWorkspace, FacsDivaExperimentIsRejectedClearly) {
  const auto p = flowjo_dir() / "RGLab__flowWorkspaceData/inst/extdata/diva/PE_2.xml";
  try {
    (void)read_flowjo_workspace(p);
    FAIL() << "a FACSDiva XML was read as a FlowJo workspace";
  } catch (const GatingError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("PE_2.xml:2: bdfacs:"), std::string::npos) << m;
    EXPECT_NE(m.find("FACSDiva"), std::string::npos) << m;
    EXPECT_NE(m.find("not a FlowJo workspace"), std::string::npos) << m;
  }
}

TEST(FlowJoWorkspace, SamplesAndTheirFacts) {
  const auto ws = read_flowjo_workspace(flowjo_dir() / "rgb-lab__FACSPy/FACSPy/_resources/test_suite_dataset/test_suite.wsp");
  EXPECT_EQ(ws.flowjo_version, "10.9.0");
  const auto* s = ws.find_sample("file2_unstained.fcs");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->id, "122");
  EXPECT_EQ(ws.find_sample("122"), s);
  EXPECT_EQ(s->uri, "file:/C:/Users/tarik/RGBLab/Goerkem/EULAR/FACSPy_test_suite/file2_unstained.fcs");
  EXPECT_EQ(s->event_count, 34240u);
  EXPECT_EQ(ws.find_sample("nothing.fcs"), nullptr);
  // The tree: paths of display names, parents from the nesting, FlowJo's gate ids.
  ASSERT_EQ(s->strategy.populations.size(), 7u);
  const auto& live = s->strategy.populations[3];
  EXPECT_EQ(live.id, "ID1903119261");
  EXPECT_EQ(s->strategy.path(live.id), "FSC_SSC/FSC_singlets/SSC_singlets/live");
  EXPECT_EQ(live.parent, "ID1359042757");
  EXPECT_EQ(s->stored_counts.at(live.id), 29041u);
  // "Comp-BUV496-A": channel BUV496-A through the sample's matrix, biex from the sample.
  const auto& r = std::get<RectangleGate>(live.gate);
  EXPECT_EQ(r.dimensions[0].channel, "BUV496-A");
  EXPECT_EQ(r.dimensions[0].compensation, "20230302_Recompensation");
  EXPECT_EQ(r.dimensions[0].transform, "Comp-BUV496-A");
  EXPECT_EQ(s->strategy.transforms.at("Comp-BUV496-A").kind, TransformKind::biex);
  EXPECT_EQ(r.dimensions[1].channel, "SSC-A");
  EXPECT_EQ(r.dimensions[1].compensation, kUncompensated);
  // Gate numbers are in transformed space: min -195.095... through biex, max through it too.
  const Transform biex(s->strategy.transforms.at("Comp-BUV496-A"));
  EXPECT_NEAR(*r.ranges[0].min, biex.apply(-195.09527613191634), 1e-12);
  EXPECT_NEAR(*r.ranges[0].max, biex.apply(610.6942283468964), 1e-12);
  EXPECT_NEAR(*r.ranges[1].min, 2688.6564102564103 / 262144.0, 1e-15);
  const auto& m = s->strategy.compensations.at("20230302_Recompensation");
  EXPECT_EQ(m.source().kind, CompensationSource::Kind::flowjo);
  EXPECT_EQ(m.size(), 14u);
}

// The 8-colour workspace against the Gating-ML file its author exported from it: the same tree
// for the six gates the export holds, the same gate kinds, channels, compensation, transforms and
// (for the sample the export was made from) the same coordinates.
TEST(FlowJoWorkspace, EightColourAgreesWithItsGatingMLExport) {
  const auto ws = read_flowjo_workspace(flowjo_dir() / "whitews__FlowKit/data/8_color_data_set/8_color_ICS.wsp");
  // The export's dimensions name the matrix's detectors where Gating-ML 2.0 names fluorochromes;
  // flowmrd's Gating-ML reader rejects that, so the fluorochrome list is replaced by the detector
  // list before reading (nothing else changes).
  std::ifstream in(flowjo_dir() / "whitews__FlowKit/data/8_color_data_set/8_color_ICS.xml", std::ios::binary);
  std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto inner = [&](const std::string& tag) {
    const auto b = xml.find("<" + tag + ">");
    const auto e = xml.find("</" + tag + ">");
    EXPECT_NE(b, std::string::npos);
    EXPECT_NE(e, std::string::npos);
    return std::make_pair(b + tag.size() + 2, e);
  };
  const auto [db, de] = inner("transforms:detectors");
  const std::string detectors = xml.substr(db, de - db);
  const auto [fb, fe] = inner("transforms:fluorochromes");
  xml.replace(fb, fe - fb, detectors);
  const auto gml = parse_gatingml(xml, "8_color_ICS.xml");
  const std::map<std::string, std::string> names = {{"TimeGate", "Time"}, {"Singlets", "Singlets"}, {"aAmine-", "aAmine-"},
                                                    {"CD3-pos", "CD3+"},  {"CD4-pos", "CD4+"},         {"CD8-pos", "CD8+"}};
  std::vector<std::string> matching;  // samples whose transforms and coordinates equal the export
  for (const auto& s : ws.samples) {
    SCOPED_TRACE(s.name);
    std::map<std::string, std::string> id_by_path;
    for (const auto& p : s.strategy.populations) id_by_path[s.strategy.path(p.id)] = p.id;
    bool same_numbers = true;
    for (const auto& g : gml.populations) {
      std::string path = names.at(g.id);
      for (auto q = g.parent; q; q = gml.find(*q)->parent) path = names.at(*q) + "/" + path;
      ASSERT_TRUE(id_by_path.contains(path)) << path;
      const auto& p = *s.strategy.find(id_by_path.at(path));
      ASSERT_EQ(p.gate.index(), g.gate.index()) << path;
      const auto dw = gate_dimensions(p.gate);
      const auto dg = gate_dimensions(g.gate);
      ASSERT_EQ(dw.size(), dg.size());
      for (std::size_t i = 0; i < dw.size(); ++i) {
        EXPECT_EQ(dw[i].channel, dg[i].channel) << path;
        EXPECT_EQ(dw[i].compensation, dg[i].compensation) << path;
        const auto& tw = s.strategy.transforms.at(dw[i].transform);
        const auto& tg = gml.transforms.at(dg[i].transform);
        EXPECT_EQ(tw.kind, tg.kind) << path;
        // Parameters may differ between samples (FlowJo fits Time's range per sample).
        for (const auto& [k, v] : tg.params) same_numbers = same_numbers && std::abs(tw.params.at(k) - v) <= 1e-9 * std::max(1.0, std::abs(v));
      }
      if (const auto* pw = std::get_if<PolygonGate>(&p.gate)) {
        const auto& pg = std::get<PolygonGate>(g.gate);
        if (pw->vertices.size() != pg.vertices.size()) {
          same_numbers = false;
          continue;
        }
        for (std::size_t v = 0; v < pw->vertices.size(); ++v) {
          same_numbers = same_numbers && std::abs(pw->vertices[v].x - pg.vertices[v].x) < 1e-6 &&
                         std::abs(pw->vertices[v].y - pg.vertices[v].y) < 1e-6;
        }
      } else {
        const auto& rw = std::get<RectangleGate>(p.gate);
        const auto& rg = std::get<RectangleGate>(g.gate);
        for (std::size_t i = 0; i < rw.ranges.size(); ++i) {
          same_numbers = same_numbers && std::abs(*rw.ranges[i].min - *rg.ranges[i].min) < 1e-6 &&
                         std::abs(*rw.ranges[i].max - *rg.ranges[i].max) < 1e-6;
        }
      }
    }
    if (same_numbers) matching.push_back(s.name);
    // The spillover matrix: FlowJo's copy equals the export's.
    const auto& mw = s.strategy.compensations.at("Acquisition-defined");
    const auto& mg = gml.compensations.at("Acquisition-defined");
    ASSERT_EQ(mw.channels(), mg.channels());
    for (std::size_t r = 0; r < mw.size(); ++r) {
      for (std::size_t c = 0; c < mw.size(); ++c) EXPECT_NEAR(mw.spillover(r, c), mg.spillover(r, c), 1e-12);
    }
  }
  // The export was made from the first sample (the other two have their own Time range and gates).
  EXPECT_EQ(matching, std::vector<std::string>{"101_DEN084Y5_15_E03_009_clean.fcs"});
}

// --- transforms -------------------------------------------------------------------------------

TEST(FlowJoWorkspace, TransformsMapToTheirSpecs) {
  const std::string tr =
      "<transforms:linear transforms:minRange=\"-100\" transforms:maxRange=\"1000\" gain=\"1\"><data-type:parameter data-type:name=\"A\"/></transforms:linear>\n"
      "<transforms:log transforms:offset=\"1\" transforms:decades=\"4\"><data-type:parameter data-type:name=\"B\"/></transforms:log>\n"
      "<transforms:logicle transforms:length=\"256\" transforms:T=\"262144\" transforms:A=\"0\" transforms:W=\"1\" transforms:M=\"4.418539922\"><data-type:parameter data-type:name=\"C\"/></transforms:logicle>\n"
      "<transforms:fasinh transforms:length=\"256\" transforms:maxRange=\"262144\" transforms:T=\"262144\" transforms:A=\"0\" transforms:M=\"1.3\" transforms:W=\"-19.95\"><data-type:parameter data-type:name=\"D\"/></transforms:fasinh>\n"
      "<transforms:biex transforms:length=\"256\" transforms:maxRange=\"262144\" transforms:neg=\"0.6\" transforms:width=\"-31.6227766017\" transforms:pos=\"5.15\"><data-type:parameter data-type:name=\"E\"/></transforms:biex>\n";
  std::string tree;
  for (const char* ch : {"A", "B", "C", "D", "E"}) {
    tree += population(std::string("g") + ch, "1", rect(std::string("id") + ch, dim(ch, "gating:min=\"10\"")));
  }
  const auto ws = read_flowjo_workspace(write_temp("transforms.wsp", workspace(tr, tree)));
  const auto& t = ws.samples.at(0).strategy.transforms;
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t.at("A"), (TransformSpec{TransformKind::flin, {{"T", 1000.0}, {"A", 100.0}}}));
  EXPECT_EQ(t.at("B"), (TransformSpec{TransformKind::flog, {{"T", 10000.0}, {"M", 4.0}}}));
  EXPECT_EQ(t.at("C"), (TransformSpec{TransformKind::logicle, {{"T", 262144.0}, {"W", 1.0}, {"M", 4.418539922}, {"A", 0.0}}}));
  EXPECT_EQ(t.at("D"), (TransformSpec{TransformKind::fasinh, {{"T", 262144.0}, {"M", 1.3}, {"A", 0.0}}}));
  EXPECT_EQ(t.at("E"), (TransformSpec{TransformKind::biex,
                                      {{"negative", 0.6}, {"width", -31.6227766017}, {"positive", 5.15}, {"max", 262144.0}}}));
  // FlowJo's log is (log10 x - log10 offset) / decades: 0 at the offset, 1 at offset 10^decades.
  const Transform log(t.at("B"));
  EXPECT_NEAR(log.apply(1.0), 0.0, 1e-15);
  EXPECT_NEAR(log.apply(100.0), 0.5, 1e-15);
}

// FlowJo's own biex table (channel i -> data value) for neg=1, width=-7.943282, pos=4.41854,
// maxRange=262144.000029, read through the workspace element: every table value maps back to its
// channel within 0.01 channel.
TEST(FlowJoWorkspace, BiexReproducesFlowJosTable) {
  const std::string tr =
      "<transforms:biex transforms:length=\"256\" transforms:maxRange=\"262144.000029\" transforms:neg=\"1\" "
      "transforms:width=\"-7.943282\" transforms:pos=\"4.418540\"><data-type:parameter data-type:name=\"X\"/></transforms:biex>\n";
  const auto ws = read_flowjo_workspace(write_temp("biex.wsp", workspace(tr, population("g", "1", rect("ID1", dim("X", "gating:min=\"0\""))))));
  const Transform biex(ws.samples.at(0).strategy.transforms.at("X"));
  std::ifstream in(flowjo_dir() / "whitews__FlowKit/data/flowjo_xforms/tr_biex_l256_w-7.943282_n1.000000_m4.418540_r262144.000029.csv");
  ASSERT_TRUE(in) << "FlowJo biex table missing";
  std::string line;
  std::getline(in, line);  // header
  std::size_t rows = 0;
  double worst = 0.0;
  while (std::getline(in, line)) {
    const auto comma = line.find(',');
    const double channel = std::stod(line.substr(0, comma));
    const double value = std::stod(line.substr(comma + 1));
    worst = std::max(worst, std::abs(biex.apply(value) - channel));
    ++rows;
  }
  EXPECT_EQ(rows, 4096u);
  EXPECT_LT(worst, 0.01);
}

// --- ellipses ---------------------------------------------------------------------------------

TEST(FlowJoWorkspace, EllipseFromFociAndEdgePoints) {
  // single_ellipse_51_events.wsp: foci (62.77, 157.40) and (94.23, 93.60), major-axis ends (96, 90)
  // and (61, 161) on the 256-bin display of linear 0..262144 axes.
  const auto ws = read_flowjo_workspace(flowjo_dir() / "whitews__FlowKit/data/simple_line_example/single_ellipse_51_events.wsp");
  const auto& e = std::get<EllipsoidGate>(ws.samples.at(0).strategy.populations.at(0).gate);
  EXPECT_NEAR(e.mean[0], 78.5 / 256.0, 1e-12);
  EXPECT_NEAR(e.mean[1], 125.5 / 256.0, 1e-12);
  EXPECT_EQ(e.distance_square, 1.0);
  // The major-axis ends lie on the ellipse: (p - m)' C^-1 (p - m) = 1.
  const double det = e.covariance[0] * e.covariance[3] - e.covariance[1] * e.covariance[2];
  const auto mahalanobis = [&](double x, double y) {
    const double dx = x / 256.0 - e.mean[0];
    const double dy = y / 256.0 - e.mean[1];
    return (e.covariance[3] * dx * dx - 2.0 * e.covariance[1] * dx * dy + e.covariance[0] * dy * dy) / det;
  };
  EXPECT_NEAR(mahalanobis(96.0, 90.0), 1.0, 1e-9);
  EXPECT_NEAR(mahalanobis(61.0, 161.0), 1.0, 1e-9);
  // The minor-axis points FlowJo stored are rounded to the grid: just inside, not on, the ellipse
  // whose minor axis the foci define (b^2 = a^2 - c^2); that ellipse gives FlowJo's 51 events.
  EXPECT_GT(mahalanobis(67.0, 113.0), 0.8);
  EXPECT_LT(mahalanobis(67.0, 113.0), 1.0);
  EXPECT_GT(mahalanobis(90.0, 139.0), 0.8);
  EXPECT_LT(mahalanobis(90.0, 139.0), 1.0);
}

TEST(FlowJoWorkspace, EllipseOnBiexAxesScalesDisplayBinsToChannels) {
  const std::string tr =
      "<transforms:biex transforms:length=\"256\" transforms:maxRange=\"262144\" transforms:neg=\"0\" transforms:width=\"-10\" "
      "transforms:pos=\"4.418539922\"><data-type:parameter data-type:name=\"X\"/></transforms:biex>\n" + linear("Y");
  const std::string gate =
      "<Gate gating:id=\"E1\"><gating:EllipsoidGate eventsInside=\"1\">" +
      dim("X", "") + dim("Y", "") +
      "<gating:foci><gating:vertex><gating:coordinate data-type:value=\"100\"/><gating:coordinate data-type:value=\"100\"/></gating:vertex>"
      "<gating:vertex><gating:coordinate data-type:value=\"140\"/><gating:coordinate data-type:value=\"100\"/></gating:vertex></gating:foci>"
      "<gating:edge><gating:vertex><gating:coordinate data-type:value=\"95\"/><gating:coordinate data-type:value=\"100\"/></gating:vertex>"
      "<gating:vertex><gating:coordinate data-type:value=\"145\"/><gating:coordinate data-type:value=\"100\"/></gating:vertex>"
      "<gating:vertex><gating:coordinate data-type:value=\"120\"/><gating:coordinate data-type:value=\"85\"/></gating:vertex>"
      "<gating:vertex><gating:coordinate data-type:value=\"120\"/><gating:coordinate data-type:value=\"115\"/></gating:vertex></gating:edge>"
      "</gating:EllipsoidGate></Gate>";
  const auto ws = read_flowjo_workspace(write_temp("ellipse.wsp", workspace(tr, population("e", "1", gate))));
  const auto& e = std::get<EllipsoidGate>(ws.samples.at(0).strategy.populations.at(0).gate);
  // Centre (120, 100) display; a = 25, c = 20, b = 15; x in biex channels (16 per bin), y in 0..1.
  EXPECT_NEAR(e.mean[0], 120.0 * 16.0, 1e-9);
  EXPECT_NEAR(e.mean[1], 100.0 / 256.0, 1e-12);
  EXPECT_NEAR(e.covariance[0], 25.0 * 25.0 * 256.0, 1e-6);
  EXPECT_NEAR(e.covariance[3], 15.0 * 15.0 / 65536.0, 1e-12);
  EXPECT_NEAR(e.covariance[1], 0.0, 1e-12);
}

// --- boolean nodes and stored counts ------------------------------------------------------------

namespace {

/// X in 0..9 for ten events; Y = 0 for all.
fcs::Dataset ten_events() {
  std::vector<std::vector<float>> cols(2);
  for (int i = 0; i < 10; ++i) {
    cols[0].push_back(static_cast<float>(i));
    cols[1].push_back(0.0f);
  }
  return testdata::dataset({"X", "Y"}, cols);
}

std::string boolean_node(const std::string& tag, const std::string& name, const std::string& count,
                         const std::vector<std::string>& deps, const std::string& gate = {}) {
  std::string out = "<" + tag + " name=\"" + name + "\" count=\"" + count + "\">" + gate + "<Dependents>";
  for (const auto& d : deps) out += "<Dependent name=\"" + d + "\"/>";
  return out + "</Dependents></" + tag + ">\n";
}

}  // namespace

TEST(FlowJoWorkspace, BooleanNodesAreDefinedByTheirDependents) {
  // all: X >= 1 (9 events); a: X < 5 (1..4); b: X >= 3 (3..9). The NotNode carries a <Gate>
  // copying b's shape, as FlowJo writes it; it must not change the population.
  const std::string all = rect("ID_all", dim("X", "gating:min=\"1\""));
  const std::string children =
      population("a", "4", rect("ID_a", dim("X", "gating:max=\"5\""))) +
      boolean_node("OrNode", "a or b", "9", {"all/a", "all/b"}) +  // before b: resolved after the walk
      population("b", "7", rect("ID_b", dim("X", "gating:min=\"3\""))) +
      boolean_node("AndNode", "a & b", "2", {"all/a", "all/b"}) +
      boolean_node("NotNode", "b-", "2", {"all/b"}, rect("ID_not", dim("X", "gating:min=\"3\"")));
  const auto ws = read_flowjo_workspace(
      write_temp("boolean.wsp", workspace(linear("X"), population("all", "9", all, children))));
  const auto& s = ws.samples.at(0);
  ASSERT_EQ(s.strategy.populations.size(), 6u);
  const auto& orp = s.strategy.populations[2];
  EXPECT_EQ(orp.id, "all/a or b");  // no <Gate>: named by its path
  EXPECT_EQ(orp.parent, "ID_all");
  EXPECT_EQ(std::get<BooleanGate>(orp.gate).op, BooleanGate::Op::or_);
  EXPECT_EQ(s.strategy.populations[5].id, "ID_not");
  const auto result = apply_gates(s.strategy, ten_events());
  EXPECT_EQ(result.count("all/a or b").events, 9u);
  EXPECT_EQ(result.count("all/a & b").events, 2u);
  EXPECT_EQ(result.count("ID_not").events, 2u);  // all and not b: X = 1, 2
  const auto rows = compare_flowjo_counts(s, result);
  ASSERT_EQ(rows.size(), 6u);
  for (const auto& r : rows) {
    EXPECT_EQ(r.difference, 0) << r.path;
    EXPECT_TRUE(r.within_tolerance);
    EXPECT_TRUE(r.explanation.empty()) << r.explanation;
  }
  EXPECT_EQ(rows[4].gate_kind, "boolean");
  EXPECT_EQ(rows[4].path, "all/a & b");
}

TEST(FlowJoWorkspace, StoredZerosThatAreNotResultsAreDropped) {
  const std::string tr = linear("X");
  const std::string a = rect("ID_a", dim("X", "gating:min=\"1\""));
  const std::string b = rect("ID_b", dim("X", "gating:min=\"5\""));
  // Every population 0 in a sample with events: FlowJo did not compute the sample.
  {
    const auto ws = read_flowjo_workspace(write_temp("zeros1.wsp", workspace(tr, population("a", "0", a, population("b", "0", b)))));
    EXPECT_TRUE(ws.samples.at(0).stored_counts.empty());
    const auto rows = compare_flowjo_counts(ws.samples.at(0), apply_gates(ws.samples.at(0).strategy, ten_events()));
    for (const auto& r : rows) {
      EXPECT_FALSE(r.flowjo.has_value());
      EXPECT_EQ(r.explanation, "FlowJo stored no count");
      EXPECT_TRUE(r.within_tolerance);
    }
  }
  // A 0 above a child with events is not a result; -1 is FlowJo's "none"; a 0 leaf is kept.
  {
    const std::string c = rect("ID_c", dim("X", "gating:min=\"100\""));
    const auto ws = read_flowjo_workspace(
        write_temp("zeros2.wsp", workspace(tr, population("a", "0", a, population("b", "5", b) + population("c", "0", c)) +
                                                   population("d", "-1", rect("ID_d", dim("X", "gating:min=\"2\""))))));
    const auto& counts = ws.samples.at(0).stored_counts;
    EXPECT_FALSE(counts.contains("ID_a"));
    EXPECT_EQ(counts.at("ID_b"), 5u);
    EXPECT_EQ(counts.at("ID_c"), 0u);
    EXPECT_FALSE(counts.contains("ID_d"));
  }
}

TEST(FlowJoCounts, DifferencesAreMeasuredAndExplained) {
  // FlowJo says 6 for X >= 4 (really 6: 4..9) and 3 for a child polygon-free rectangle whose
  // real count is 4: the child is outside tolerance? |1| <= 2 events: within, but not explained.
  const std::string tree = population("a", "6", rect("ID_a", dim("X", "gating:min=\"4\"")),
                                      population("b", "3", rect("ID_b", dim("X", "gating:min=\"6\""))));
  const auto ws = read_flowjo_workspace(write_temp("diff.wsp", workspace(linear("X"), tree)));
  const auto rows = compare_flowjo_counts(ws.samples.at(0), apply_gates(ws.samples.at(0).strategy, ten_events()));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].difference, 0);
  EXPECT_EQ(rows[1].recomputed, 4u);
  EXPECT_EQ(rows[1].difference, 1);
  EXPECT_NEAR(rows[1].difference_percent, 100.0 / 3.0, 1e-12);
  EXPECT_TRUE(rows[1].within_tolerance);
  EXPECT_NE(rows[1].explanation.find("+1 event (+33.33 %)"), std::string::npos) << rows[1].explanation;
  EXPECT_NE(rows[1].explanation.find("not explained"), std::string::npos) << rows[1].explanation;
  // The sample had 10 events in FlowJo; a 20-event data set is named in the explanation, and a
  // 6-event gap is beyond max(2, 0.5 %).
  std::vector<std::vector<float>> cols(2);
  for (int i = 0; i < 20; ++i) {
    cols[0].push_back(static_cast<float>(i % 10));
    cols[1].push_back(0.0f);
  }
  const auto twenty = testdata::dataset({"X", "Y"}, cols);
  const auto rows2 = compare_flowjo_counts(ws.samples.at(0), apply_gates(ws.samples.at(0).strategy, twenty));
  EXPECT_EQ(rows2[0].difference, 6);
  EXPECT_FALSE(rows2[0].within_tolerance);
  EXPECT_NE(rows2[0].explanation.find("the data set has 20 events, FlowJo's sample 10"), std::string::npos);
  EXPECT_NE(rows2[1].explanation.find("inherited from 'a' (+6 events)"), std::string::npos) << rows2[1].explanation;
}

// --- what is not supported: errors name file, line, element and reason ----------------------------

TEST(FlowJoWorkspace, UnsupportedElementsAreErrorsWithFileAndLine) {
  const std::string ok_gate = rect("ID1", dim("X", "gating:min=\"1\""));
  struct Case {
    const char* name;
    std::string text;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"hyperlog.wsp",
       workspace("<transforms:hyperlog transforms:T=\"1\"><data-type:parameter data-type:name=\"X\"/></transforms:hyperlog>\n",
                 population("g", "1", ok_gate)),
       "hyperlog.wsp:7: transforms:hyperlog: transform 'hyperlog' is not supported"},
      {"outside.wsp", workspace(linear("X"), population("g", "1", rect("ID1", dim("X", "gating:min=\"1\""), "0"))),
       "gating:RectangleGate: eventsInside"},
      {"quadrant.wsp", workspace(linear("X"), population("g", "1", "<Gate gating:id=\"Q\"><gating:QuadrantGate/></Gate>")),
       "gating:QuadrantGate: gate type 'QuadrantGate' is not supported"},
      {"node.wsp", workspace(linear("X"), "<Layout name=\"x\"/>\n"), "node.wsp:12: Layout: unsupported node in <Subpopulations>"},
      {"dependent.wsp", workspace(linear("X"), population("g", "1", ok_gate) + boolean_node("NotNode", "n", "1", {"nope"})),
       "Dependent: no population 'nope' in this sample"},
      {"ratio.wsp",
       workspace(linear("X"), population("g", "1", "<Gate gating:id=\"R\"><gating:RectangleGate><gating:dimension gating:min=\"1\">"
                                                    "<data-type:new-dimension/></gating:dimension></gating:RectangleGate></Gate>")),
       "gating:dimension: derived (ratio) dimensions are not supported"},
      {"spectral.wsp",
       workspace(linear("X"), population("g", "1", ok_gate),
                 "<transforms:spilloverMatrix spectral=\"1\" prefix=\"Comp-\" name=\"S\" suffix=\"\"/>\n"),
       "transforms:spilloverMatrix: spectral matrices"},
      {"singular.wsp",
       workspace(linear("X"), population("g", "1", ok_gate),
                 "<transforms:spilloverMatrix spectral=\"0\" prefix=\"Comp-\" name=\"M\" suffix=\"\"><data-type:parameters>"
                 "<data-type:parameter data-type:name=\"X\"/><data-type:parameter data-type:name=\"Y\"/></data-type:parameters>"
                 "<transforms:spillover data-type:parameter=\"X\"><transforms:coefficient data-type:parameter=\"X\" transforms:value=\"1\"/>"
                 "<transforms:coefficient data-type:parameter=\"Y\" transforms:value=\"1\"/></transforms:spillover>"
                 "<transforms:spillover data-type:parameter=\"Y\"><transforms:coefficient data-type:parameter=\"X\" transforms:value=\"1\"/>"
                 "<transforms:coefficient data-type:parameter=\"Y\" transforms:value=\"1\"/></transforms:spillover></transforms:spilloverMatrix>\n"),
       "singular.wsp:6: transforms:spilloverMatrix: matrix 'M'"},
      {"number.wsp", workspace(linear("X"), population("g", "1", rect("ID1", dim("X", "gating:min=\"abc\"")))),
       "attribute 'gating:min' is not a finite number: 'abc'"},
      {"flowjo9.wsp", "<Workspace version=\"2.0\" flowJoVersion=\"9.9.6\"><SampleList/></Workspace>",
       "flowjo9.wsp:1: Workspace: FlowJo 9.9.6 workspace: only FlowJo 10"},
      {"other.wsp", "<Gating-ML/>", "not a FlowJo workspace: the root element is <Gating-ML>"},
      {"broken.wsp", "<Workspace flowJoVersion=\"10.1\">\n<SampleList>\n</Workspace>", "broken.wsp:3: not well-formed XML"},
  };
  for (const auto& c : cases) {
    const std::string m = error_of(c.name, c.text);
    EXPECT_NE(m.find(c.expect), std::string::npos) << c.name << ": " << m;
  }
  EXPECT_NE(error_of("empty.wsp", "").find("empty.wsp:1: not well-formed XML"), std::string::npos);
  try {
    (void)read_flowjo_workspace(fs::path(FLOWMRD_TEST_TMP) / "no such file.wsp");
    FAIL() << "a missing file was read";
  } catch (const GatingError& e) {
    EXPECT_NE(std::string(e.what()).find("no such file.wsp: cannot open the file"), std::string::npos) << e.what();
  }
}

TEST(FlowJoWorkspace, DuplicateGateIdsAreMadeUniqueDeterministically) {
  const std::string g = rect("ID1", dim("X", "gating:min=\"1\""));
  const auto ws = read_flowjo_workspace(write_temp("dup.wsp", workspace(linear("X"), population("a", "9", g) + population("b", "9", g))));
  const auto& p = ws.samples.at(0).strategy.populations;
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].id, "ID1");
  EXPECT_EQ(p[1].id, "ID1#2");
  EXPECT_EQ(ws.find_sample("sample one"), &ws.samples.at(0));
  EXPECT_EQ(ws.find_sample("My File.fcs"), &ws.samples.at(0));  // the DataSet uri's file name, %20 decoded
  EXPECT_EQ(ws.find_sample("7"), &ws.samples.at(0));
}

TEST(FlowJoWorkspace, ReadOptionsKeepFlowJosDataUnits) {
  const auto o = flowjo_read_options();
  EXPECT_EQ(o.transformation, fcs::Transformation::linearize);
  EXPECT_FALSE(o.truncate_max_range);
}
