// SPDX-License-Identifier: Apache-2.0
// The analysis plots on a small hand-built result: which plots are made (only those whose
// markers and populations exist), file names, image size, highlight colours in the data area,
// byte-identical output, and writing to a directory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "flowmrd/pipeline/analysis_plots.hpp"

namespace fp = flowmrd::pipeline;
namespace fg = flowmrd::gating;

namespace {

constexpr std::size_t kEvents = 3000;

// A small deterministic generator (std:: distributions differ between standard libraries).
struct Lcg {
  std::uint64_t state = 12345;
  double uniform() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / static_cast<double>(1ULL << 53);
  }
  // Roughly normal (sum of uniforms), enough for a plot.
  double normal() {
    double s = 0;
    for (int i = 0; i < 12; ++i) s += uniform();
    return s - 6.0;
  }
};

bool in_b(std::size_t i) { return i >= 100 && i < 700; }
bool in_hematogones(std::size_t i) { return i >= 100 && i < 500; }
bool in_blasts(std::size_t i) { return i >= 500 && i < 600; }
bool in_cells(std::size_t i) { return i % 10 != 0 || in_b(i); }

fg::FrameColumn column(const std::string& name, const std::string& marker, const std::vector<double>& v) {
  fg::FrameColumn c;
  c.name = name;
  c.marker = marker;
  c.values.resize(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) c.values[i] = static_cast<float>(v[i]);
  return c;
}

fg::Mask mask_of(bool (*pred)(std::size_t)) {
  fg::Mask m(kEvents);
  for (std::size_t i = 0; i < kEvents; ++i) m.set(i, pred(i));
  return m;
}

fp::TubeAnalysis tube(const std::string& label, bool with_blasts = true) {
  Lcg rng;
  std::vector<double> fsc_a(kEvents), fsc_h(kEvents), ssc(kEvents), cd19(kEvents), cd10(kEvents), cd45(kEvents),
      cd34(kEvents);
  for (std::size_t i = 0; i < kEvents; ++i) {
    fsc_a[i] = 60000 + 8000 * rng.normal();
    fsc_h[i] = fsc_a[i] * (0.8 + 0.02 * rng.normal());
    ssc[i] = (in_b(i) ? 15000 : 60000) + 5000 * rng.normal();
    cd19[i] = (in_b(i) ? 8000 : 40) * (1 + 0.2 * rng.normal());
    cd10[i] = (in_blasts(i) ? 30000 : in_hematogones(i) ? 3000 : 60) * (1 + 0.2 * rng.normal());
    cd45[i] = (in_blasts(i) ? 800 : 6000) * (1 + 0.2 * rng.normal());
    cd34[i] = (in_blasts(i) ? 5000 : 80) * (1 + 0.2 * rng.normal());
  }
  std::vector<fg::FrameColumn> cols;
  cols.push_back(column("FSC-A", "FSC-A", fsc_a));
  cols.push_back(column("FSC-H", "FSC-H", fsc_h));
  cols.push_back(column("SSC-A", "SSC-A", ssc));
  cols.push_back(column("PE-Cy7-A", "CD19", cd19));
  cols.push_back(column("APC-A", "CD10", cd10));
  cols.push_back(column("V500-A", "CD45", cd45));
  cols.push_back(column("PerCP-A", "CD34", cd34));

  fp::TubeAnalysis ta;
  ta.tube.label = label;
  ta.tube.path = label;
  ta.tube.events = kEvents;
  ta.tube.frame = fg::Frame(kEvents, std::move(cols));
  ta.tube.columns = {{"FSC-A", 0}, {"FSC-H", 1}, {"SSC-A", 2}, {"CD19", 3}, {"CD10", 4}, {"CD45", 5}, {"CD34", 6}};
  ta.tube.channels.fsc_a = 0;
  ta.tube.channels.fsc_h = 1;
  ta.tube.channels.ssc_a = 2;

  const fg::Mask all(kEvents, true);
  const fg::Mask cells = mask_of(in_cells);
  ta.pregate.qc_pass = ta.pregate.non_margin = all;
  ta.pregate.cells = ta.pregate.singlets = ta.pregate.viable = ta.pregate.nucleated = cells;

  // Pre-gating: a singlet polygon on FSC-A / FSC-H (linear), as pre-gating records it.
  fp::PlacedGate singlets;
  singlets.population = "singlets";
  singlets.parent = "cells";
  singlets.x = {0, "FSC-A", "linear"};
  singlets.y = fp::GateAxis{1, "FSC-H", "linear"};
  fg::PolygonGate poly;
  poly.x.channel = "FSC-A";
  poly.y.channel = "FSC-H";
  poly.vertices = {{20000, 14000}, {100000, 70000}, {100000, 90000}, {20000, 18000}};
  singlets.gate = poly;
  singlets.method = "ratio tail cut";
  ta.pregate.gates.push_back(singlets);
  ta.gates.push_back(singlets);

  // The B-cell gate: a CD19 range in the model scale.
  fp::PlacedGate b;
  b.population = "b_cells";
  b.parent = "nucleated";
  b.x = {3, "CD19 (PE-Cy7-A)", "model"};
  fg::RectangleGate range;
  fg::Dimension d;
  d.channel = "CD19 (PE-Cy7-A)";
  range.dimensions = {d};
  range.ranges = {{fp::model_scale(2000.0), std::nullopt}};
  b.gate = range;
  b.method = "1D valley";
  ta.gates.push_back(b);

  ta.masks.emplace_back("all_events", all);
  ta.masks.emplace_back("cells", cells);
  ta.masks.emplace_back("singlets", cells);
  ta.masks.emplace_back("nucleated", cells);
  ta.masks.emplace_back("b_cells", mask_of(in_b));
  ta.masks.emplace_back("hematogones", mask_of(in_hematogones));
  ta.masks.emplace_back("b_blasts", with_blasts ? mask_of(in_blasts) : fg::Mask(kEvents));
  return ta;
}

fp::AnalysisResult result(bool with_blasts = true) {
  fp::AnalysisResult r;
  r.tubes.push_back(tube("p1-day15.fcs", with_blasts));
  return r;
}

std::vector<std::string> names(const std::vector<fp::RenderedPlot>& plots) {
  std::vector<std::string> out;
  for (const auto& p : plots) out.push_back(p.file_name);
  return out;
}

// Pixels of exactly `colour` inside the data area (the legend swatch lies outside it).
std::size_t count_in_area(const fp::Image& img, fp::Rgb colour, bool with_legend) {
  fp::DensityPlot dp;
  dp.width = img.width;
  dp.height = img.height;
  if (with_legend) dp.highlights.push_back({});
  const fp::PlotArea a = fp::plot_area(dp);
  std::size_t n = 0;
  for (int y = a.top; y < a.top + a.height; ++y) {
    for (int x = a.left; x < a.left + a.width; ++x) n += img.at(x, y) == colour ? 1 : 0;
  }
  return n;
}

const fp::RenderedPlot& find(const std::vector<fp::RenderedPlot>& plots, const std::string& name) {
  for (const auto& p : plots) {
    if (p.file_name == name) return p;
  }
  throw std::runtime_error("no plot " + name);
}

}  // namespace

TEST(AnalysisPlots, OnlyPlotsWhoseMarkersAndPopulationsExist) {
  const auto plots = fp::render_analysis_plots(result());
  // No CD20/CD38/CD58, no CD19-negative window, no myelomonocytic populations in this tube.
  EXPECT_EQ(names(plots), (std::vector<std::string>{"p1-day15-01-singlets.png", "p1-day15-02-cd19.png",
                                                    "p1-day15-03-b-cd45-cd10.png", "p1-day15-04-b-cd10-cd34.png"}));
  for (const auto& p : plots) {
    EXPECT_EQ(p.tube, "p1-day15.fcs");
    const fp::Image img = fp::decode_png(p.png);
    EXPECT_EQ(img.width, 480);
    EXPECT_EQ(img.height, 420);
  }
  EXPECT_NE(find(plots, "p1-day15-02-cd19.png").title.find("B cells"), std::string::npos);
}

TEST(AnalysisPlots, MissingMaskSkipsPlot) {
  fp::AnalysisResult r = result();
  auto& masks = r.tubes[0].masks;
  masks.erase(std::remove_if(masks.begin(), masks.end(), [](const auto& m) { return m.first == "b_cells"; }),
              masks.end());
  const auto plots = fp::render_analysis_plots(r);
  EXPECT_EQ(names(plots), (std::vector<std::string>{"p1-day15-01-singlets.png", "p1-day15-02-cd19.png"}));
}

TEST(AnalysisPlots, BlastsAndHematogonesHighlighted) {
  const auto plots = fp::render_analysis_plots(result());
  const fp::Image cd19 = fp::decode_png(find(plots, "p1-day15-02-cd19.png").png);
  EXPECT_GT(count_in_area(cd19, fp::kBlastColour, true), 50U);
  const fp::Image b = fp::decode_png(find(plots, "p1-day15-03-b-cd45-cd10.png").png);
  EXPECT_GT(count_in_area(b, fp::kBlastColour, true), 50U);
  EXPECT_GT(count_in_area(b, fp::kNormalColour, true), 50U);
  // The pre-gating plot highlights nothing and has no legend.
  const fp::Image singlets = fp::decode_png(find(plots, "p1-day15-01-singlets.png").png);
  EXPECT_EQ(count_in_area(singlets, fp::kBlastColour, false), 0U);

  // Without blasts, no blast colour in the data area.
  const auto negative = fp::render_analysis_plots(result(false));
  const fp::Image cd19n = fp::decode_png(find(negative, "p1-day15-02-cd19.png").png);
  EXPECT_EQ(count_in_area(cd19n, fp::kBlastColour, true), 0U);
}

TEST(AnalysisPlots, GatesAreDrawn) {
  const auto plots = fp::render_analysis_plots(result());
  // Gate outlines are black; a density with a grey colour map has no pure black in the data
  // area except the gate line (and the polygon in the jet-coloured singlet plot).
  const fp::Image singlets = fp::decode_png(find(plots, "p1-day15-01-singlets.png").png);
  EXPECT_GT(count_in_area(singlets, fp::kGateColour, false), 20U);
  const fp::Image cd19 = fp::decode_png(find(plots, "p1-day15-02-cd19.png").png);
  EXPECT_GT(count_in_area(cd19, fp::kGateColour, true), 20U);
}

TEST(AnalysisPlots, DeterministicAndSized) {
  const auto a = fp::render_analysis_plots(result());
  const auto b = fp::render_analysis_plots(result());
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].png, b[i].png) << a[i].file_name;
  fp::PlotOptions o;
  o.width = 640;
  o.height = 500;
  const auto big = fp::render_analysis_plots(result(), o);
  const fp::Image img = fp::decode_png(big.front().png);
  EXPECT_EQ(img.width, 640);
  EXPECT_EQ(img.height, 500);
  o.width = 50;
  EXPECT_THROW((void)fp::render_analysis_plots(result(), o), std::invalid_argument);
}

TEST(AnalysisPlots, CollidingTubeNamesStayUnique) {
  fp::AnalysisResult r = result();
  r.tubes.push_back(tube("p1-day15.fcs"));
  const auto plots = fp::render_analysis_plots(r);
  ASSERT_EQ(plots.size(), 8U);
  EXPECT_EQ(plots[4].file_name, "p1-day15-2-01-singlets.png");
}

TEST(AnalysisPlots, WritesFiles) {
  const std::filesystem::path dir = std::filesystem::path(FLOWMRD_TEST_TMP) / "analysis_plots";
  std::filesystem::remove_all(dir);
  const auto files = fp::write_analysis_plots(result(), dir / "sub");
  ASSERT_EQ(files.size(), 4U);
  for (const auto& f : files) {
    ASSERT_TRUE(std::filesystem::is_regular_file(f.path)) << f.path;
    std::ifstream in(f.path, std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(fp::decode_png(bytes).width, 480);
  }
  // No temporary files are left behind.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir / "sub")) ++entries;
  EXPECT_EQ(entries, 4U);
  // A file in place of the directory is a clear error.
  std::ofstream(dir / "file") << "x";
  EXPECT_THROW((void)fp::write_analysis_plots(result(), dir / "file"), std::runtime_error);
}
