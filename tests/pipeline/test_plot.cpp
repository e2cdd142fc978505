// SPDX-License-Identifier: Apache-2.0
// Density plot rendering: PNGs are decoded back and their pixels checked where the data, the
// highlights and the gates must appear.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flowmrd/pipeline/plot.hpp"

namespace fp = flowmrd::pipeline;
namespace fg = flowmrd::gating;
using ::testing::HasSubstr;

namespace {

const fp::Rgb kWhite{255, 255, 255};

fp::DensityPlot unit_plot() {
  fp::DensityPlot plot;
  plot.title = "test";
  plot.x = {"FSC-A", 0.0, 1.0};
  plot.y = {"SSC-A", 0.0, 1.0};
  return plot;
}

// Data coordinates of the centre of bin (col, row counted from the bottom).
struct BinCentre {
  double x, y;
};
BinCentre bin_centre(const fp::DensityPlot& plot, int col, int row_from_bottom) {
  const fp::PlotArea a = fp::plot_area(plot);
  const int nx = a.width / plot.bin_pixels;
  const int ny = a.height / plot.bin_pixels;
  return {plot.x.min + (col + 0.5) / nx * (plot.x.max - plot.x.min),
          plot.y.min + (row_from_bottom + 0.5) / ny * (plot.y.max - plot.y.min)};
}

fp::Rgb pixel_at(const fp::Image& img, const fp::DensityPlot& plot, double x, double y) {
  const fp::PlotArea a = fp::plot_area(plot);
  return img.at(static_cast<int>(std::floor(fp::pixel_x(a, plot.x, x))),
                static_cast<int>(std::floor(fp::pixel_y(a, plot.y, y))));
}

fp::Image round_trip(const fp::Image& img) { return fp::decode_png(fp::encode_png(img)); }

}  // namespace

TEST(Plot, SizeAndPngRoundTrip) {
  auto plot = unit_plot();
  plot.width = 300;
  plot.height = 260;
  const std::vector<double> x = {0.5}, y = {0.5};
  const fp::Image img = fp::render_density_plot(x, y, plot);
  EXPECT_EQ(img.width, 300);
  EXPECT_EQ(img.height, 260);
  const std::vector<std::uint8_t> png = fp::encode_png(img);
  ASSERT_GT(png.size(), 8U);
  EXPECT_EQ(png[1], 'P');
  const fp::Image back = fp::decode_png(png);
  EXPECT_EQ(back.width, 300);
  EXPECT_EQ(back.height, 260);
  EXPECT_EQ(back.pixels, img.pixels);  // PNG is lossless
}

TEST(Plot, DensityColoursAreLogScaled) {
  auto plot = unit_plot();
  const BinCentre dense = bin_centre(plot, 20, 60);
  const BinCentre sparse = bin_centre(plot, 150, 10);
  std::vector<double> x(1000, dense.x), y(1000, dense.y);
  x.push_back(sparse.x);
  y.push_back(sparse.y);
  const fp::Image img = round_trip(fp::render_density_plot(x, y, plot));
  // The densest bin takes the top colour of the jet map (red), a single event a low one (blue).
  const fp::Rgb top = pixel_at(img, plot, dense.x, dense.y);
  EXPECT_EQ(top, (fp::Rgb{220, 20, 20}));
  const fp::Rgb low = pixel_at(img, plot, sparse.x, sparse.y);
  EXPECT_GT(low.b, low.r);
  EXPECT_GT(low.b, 150);
  // Where there are no events the plot is white.
  const BinCentre empty = bin_centre(plot, 100, 100);
  EXPECT_EQ(pixel_at(img, plot, empty.x, empty.y), kWhite);
}

TEST(Plot, GreysColourMapAndEventMask) {
  auto plot = unit_plot();
  plot.colours = fp::ColourMap::greys;
  const BinCentre a = bin_centre(plot, 30, 30), b = bin_centre(plot, 120, 120);
  const std::vector<double> x = {a.x, b.x}, y = {a.y, b.y};
  fg::Mask only_first(2);
  only_first.set(0);
  plot.events = &only_first;
  const fp::Image img = fp::render_density_plot(x, y, plot);
  EXPECT_EQ(pixel_at(img, plot, a.x, a.y), (fp::Rgb{60, 60, 60}));  // the only (densest) bin
  EXPECT_EQ(pixel_at(img, plot, b.x, b.y), kWhite);                 // not in the mask
}

TEST(Plot, HighlightsAreDrawnOnTopWithLegend) {
  auto plot = unit_plot();
  const BinCentre a = bin_centre(plot, 40, 40), b = bin_centre(plot, 80, 80);
  const std::vector<double> x = {a.x, b.x}, y = {a.y, b.y};
  fg::Mask ref_only(2), test_only(2);
  ref_only.set(0);
  test_only.set(1);
  plot.highlights.push_back({&ref_only, {230, 97, 1}, "reference only"});
  plot.highlights.push_back({&test_only, {0, 158, 115}, "test only"});
  const fp::Image img = round_trip(fp::render_density_plot(x, y, plot));
  EXPECT_EQ(pixel_at(img, plot, a.x, a.y), (fp::Rgb{230, 97, 1}));
  EXPECT_EQ(pixel_at(img, plot, b.x, b.y), (fp::Rgb{0, 158, 115}));
  // The legend (below the data area) shows both colours.
  const fp::PlotArea area = fp::plot_area(plot);
  int orange = 0, green = 0;
  for (int yy = area.top + area.height + 1; yy < img.height; ++yy) {
    for (int xx = 0; xx < img.width; ++xx) {
      orange += img.at(xx, yy) == fp::Rgb{230, 97, 1} ? 1 : 0;
      green += img.at(xx, yy) == fp::Rgb{0, 158, 115} ? 1 : 0;
    }
  }
  EXPECT_GE(orange, 16);
  EXPECT_GE(green, 16);
}

TEST(Plot, NonFiniteAndOutOfRangeEventsAreSkipped) {
  auto plot = unit_plot();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> x = {nan, 2.0, -1.0}, y = {0.5, 0.5, nan};
  const fp::Image img = fp::render_density_plot(x, y, plot);
  const fp::PlotArea area = fp::plot_area(plot);
  for (int yy = area.top; yy < area.top + area.height; ++yy)
    for (int xx = area.left; xx < area.left + area.width; ++xx) ASSERT_EQ(img.at(xx, yy), kWhite) << xx << "," << yy;
}

TEST(Plot, GateOutlines) {
  auto plot = unit_plot();
  plot.x = {"x", 0.0, 100.0};
  plot.y = {"y", 0.0, 100.0};
  const fp::Rgb green{0, 128, 0}, blue{0, 0, 200};
  fp::RectangleShape rect;
  rect.x_min = 20;
  rect.x_max = 60;
  rect.y_min = 30;  // open top
  plot.gates.push_back({rect, "R1", green});
  plot.gates.push_back({fp::EllipseShape{{70, 70}, 25, 0, 9, 1}, "E1", blue});  // semi-axes 5 and 3
  const std::vector<double> none;
  const fp::Image img = fp::render_density_plot(none, none, plot);
  const fp::PlotArea a = fp::plot_area(plot);
  const auto px = [&](double v) { return static_cast<int>(std::lround(fp::pixel_x(a, plot.x, v))); };
  const auto py = [&](double v) { return static_cast<int>(std::lround(fp::pixel_y(a, plot.y, v))); };
  EXPECT_EQ(img.at(px(20), py(50)), green);  // left edge
  EXPECT_EQ(img.at(px(60), py(50)), green);  // right edge
  EXPECT_EQ(img.at(px(40), py(30)), green);  // bottom edge
  EXPECT_EQ(img.at(px(40), py(50)), kWhite); // inside
  EXPECT_EQ(img.at(px(75), py(70)), blue);   // ellipse: center + 5 along x
  EXPECT_EQ(img.at(px(70), py(73)), blue);   // center + 3 along y
  EXPECT_EQ(img.at(px(70), py(70)), kWhite);
  // The label is drawn in the gate colour near the rectangle's top-left (clipped to the area).
  int label_pixels = 0;
  for (int yy = a.top; yy < a.top + 20; ++yy)
    for (int xx = px(20) + 1; xx < px(20) + 30; ++xx) label_pixels += img.at(xx, yy).g > img.at(xx, yy).r + 40 ? 1 : 0;
  EXPECT_GT(label_pixels, 5);
}

TEST(Plot, AxesTicksAndLabelsAreDrawn) {
  auto plot = unit_plot();
  const fp::Image img = fp::render_density_plot({}, {}, plot);
  const fp::PlotArea a = fp::plot_area(plot);
  // Frame just outside the data area.
  EXPECT_EQ(img.at(a.left - 1, a.top + 10), (fp::Rgb{0, 0, 0}));
  EXPECT_EQ(img.at(a.left + 10, a.top + a.height), (fp::Rgb{0, 0, 0}));
  // A tick below the x axis at 0.4 (ticks every 0.2).
  const int tick_x = static_cast<int>(std::lround(fp::pixel_x(a, plot.x, 0.4)));
  EXPECT_EQ(img.at(tick_x, a.top + a.height + 3), (fp::Rgb{0, 0, 0}));
  // Text in the left margin (rotated y label and tick labels) and below (x label).
  int dark_left = 0, dark_below = 0;
  for (int yy = a.top; yy < a.top + a.height; ++yy)
    for (int xx = 0; xx < a.left - 6; ++xx) dark_left += img.at(xx, yy).r < 128 ? 1 : 0;
  for (int yy = a.top + a.height + 24; yy < img.height; ++yy)
    for (int xx = a.left; xx < a.left + a.width; ++xx) dark_below += img.at(xx, yy).r < 128 ? 1 : 0;
  EXPECT_GT(dark_left, 50);
  EXPECT_GT(dark_below, 20);
}

TEST(Plot, DeterministicBytes) {
  auto plot = unit_plot();
  std::vector<double> x, y;
  for (int i = 0; i < 5000; ++i) {
    x.push_back(std::fmod(i * 0.6180339887, 1.0));
    y.push_back(std::fmod(i * 0.7548776662, 1.0));
  }
  fg::Mask h(x.size());
  h.set(17);
  plot.highlights.push_back({&h, {200, 0, 0}, "h"});
  plot.gates.push_back({fp::PolygonShape{{{0.1, 0.1}, {0.9, 0.2}, {0.5, 0.9}}}, "P", {0, 0, 0}});
  const auto a = fp::encode_png(fp::render_density_plot(x, y, plot));
  const auto b = fp::encode_png(fp::render_density_plot(x, y, plot));
  EXPECT_EQ(a, b);
}

TEST(Plot, Errors) {
  auto plot = unit_plot();
  const std::vector<double> two = {0.1, 0.2}, one = {0.1};
  EXPECT_THROW((void)fp::render_density_plot(two, one, plot), std::invalid_argument);
  fg::Mask wrong(3);
  plot.events = &wrong;
  EXPECT_THROW((void)fp::render_density_plot(two, two, plot), std::invalid_argument);
  plot.events = nullptr;
  plot.x.max = plot.x.min;
  EXPECT_THROW((void)fp::render_density_plot(two, two, plot), std::invalid_argument);
  plot = unit_plot();
  plot.width = 100;
  try {
    (void)fp::render_density_plot(two, two, plot);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("leaves no room"));
  }
  plot = unit_plot();
  plot.gates.push_back({fp::EllipseShape{{0.5, 0.5}, 1, 2, 1, 1}, "bad", {0, 0, 0}});  // not positive definite
  EXPECT_THROW((void)fp::render_density_plot(two, two, plot), std::invalid_argument);
  const std::vector<std::uint8_t> garbage = {1, 2, 3, 4};
  EXPECT_THROW((void)fp::decode_png(garbage), std::invalid_argument);
}

TEST(Plot, Base64) {
  const auto enc = [](const std::string& s) {
    return fp::base64_encode(std::vector<std::uint8_t>(s.begin(), s.end()));
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foob"), "Zm9vYg==");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
  const std::vector<std::uint8_t> bytes = {0xfb, 0xff};
  EXPECT_EQ(fp::data_uri("image/png", bytes), "data:image/png;base64,+/8=");
}

TEST(Plot, AxisFromValues) {
  std::vector<double> v;
  for (int i = 0; i <= 1000; ++i) v.push_back(i);
  v.push_back(std::numeric_limits<double>::infinity());
  const fp::Axis a = fp::axis_for("x", v, nullptr, 0.0, 0.05);
  EXPECT_DOUBLE_EQ(a.min, -50.0);
  EXPECT_DOUBLE_EQ(a.max, 1050.0);
  const fp::Axis t = fp::axis_for("x", v, nullptr, 0.01, 0.0);
  EXPECT_DOUBLE_EQ(t.min, 10.0);
  EXPECT_DOUBLE_EQ(t.max, 990.0);
  fg::Mask m(v.size());
  m.set(7);
  const fp::Axis single = fp::axis_for("x", v, &m);
  EXPECT_DOUBLE_EQ(single.min, 6.5);
  EXPECT_DOUBLE_EQ(single.max, 7.5);
  const fp::Axis none = fp::axis_for("x", {}, nullptr);
  EXPECT_DOUBLE_EQ(none.min, 0.0);
  EXPECT_DOUBLE_EQ(none.max, 1.0);
  fp::Axis grow{"x", 0.0, 10.0};
  fp::include_in_axis(grow, 20.0, 0.0);
  EXPECT_DOUBLE_EQ(grow.max, 20.0);
}

TEST(Plot, GateShapes) {
  const auto dim = [](const char* channel) {
    fg::Dimension d;
    d.channel = channel;
    return d;
  };
  const fg::Dimension fsc = dim("FSC-A"), ssc = dim("SSC-A"), cd19 = dim("CD19");
  fg::PolygonGate poly{fsc, ssc, {{1, 2}, {3, 4}, {5, 0}}};
  auto s = fp::gate_shape(poly, ssc, fsc);  // swapped axes
  ASSERT_TRUE(s);
  const auto& swapped = std::get<fp::PolygonShape>(*s);
  EXPECT_DOUBLE_EQ(swapped.vertices[0].x, 2.0);
  EXPECT_DOUBLE_EQ(swapped.vertices[0].y, 1.0);
  EXPECT_FALSE(fp::gate_shape(poly, fsc, cd19));

  fg::RectangleGate range{{cd19}, {{5.0, std::nullopt}}};
  s = fp::gate_shape(range, cd19, ssc);
  ASSERT_TRUE(s);
  const auto& r = std::get<fp::RectangleShape>(*s);
  EXPECT_EQ(r.x_min, 5.0);
  EXPECT_FALSE(r.x_max);
  EXPECT_FALSE(r.y_min);

  fg::EllipsoidGate e{{fsc, cd19, ssc}, {1, 2, 3}, {4, 0.5, 0.25, 0.5, 9, 0.75, 0.25, 0.75, 16}, 2.0};
  s = fp::gate_shape(e, ssc, fsc);
  ASSERT_TRUE(s);
  const auto& el = std::get<fp::EllipseShape>(*s);
  EXPECT_DOUBLE_EQ(el.center.x, 3.0);
  EXPECT_DOUBLE_EQ(el.center.y, 1.0);
  EXPECT_DOUBLE_EQ(el.xx, 16.0);
  EXPECT_DOUBLE_EQ(el.xy, 0.25);
  EXPECT_DOUBLE_EQ(el.yy, 4.0);
  EXPECT_DOUBLE_EQ(el.distance_square, 2.0);

  fg::QuadrantGate q;
  q.dividers = {{"d1", fsc, {10.0}}, {"d2", ssc, {20.0, 30.0}}};
  q.positions = {{0, 15.0}, {1, 25.0}};
  s = fp::gate_shape(q, fsc, ssc);
  ASSERT_TRUE(s);
  const auto& qr = std::get<fp::RectangleShape>(*s);
  EXPECT_EQ(qr.x_min, 10.0);
  EXPECT_FALSE(qr.x_max);
  EXPECT_EQ(qr.y_min, 20.0);
  EXPECT_EQ(qr.y_max, 30.0);

  EXPECT_FALSE(fp::gate_shape(fg::BooleanGate{}, fsc, ssc));
}
