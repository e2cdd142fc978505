// SPDX-License-Identifier: Apache-2.0
// Density plots with OpenCV (core/imgproc/imgcodecs). OpenCV stays an implementation detail: the
// public types are plain RGB rasters, so report code and tests do not need OpenCV headers.
#include "flowmrd/pipeline/plot.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <stdexcept>
#include <type_traits>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace flowmrd::pipeline {

Rgb Image::at(int x, int y) const {
  if (x < 0 || y < 0 || x >= width || y >= height) {
    throw std::out_of_range("pixel (" + std::to_string(x) + ", " + std::to_string(y) + ") is outside the " +
                            std::to_string(width) + "x" + std::to_string(height) + " image");
  }
  const std::size_t i = (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) * 3;
  return {pixels[i], pixels[i + 1], pixels[i + 2]};
}

namespace {

// Margins around the data area: tick labels and the rotated y label on the left, the title on
// top, tick labels, the x label and the legend below.
constexpr int kMarginLeft = 78;
constexpr int kMarginRight = 14;
constexpr int kMarginTop = 28;
constexpr int kMarginBottom = 48;
constexpr int kLegendHeight = 18;
constexpr int kMinArea = 40;
constexpr double kFontScale = 0.4;
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

const cv::Scalar kBlack(0, 0, 0);

cv::Scalar bgr(Rgb c) { return {static_cast<double>(c.b), static_cast<double>(c.g), static_cast<double>(c.r)}; }

// Hershey fonts cover printable ASCII only; anything else would be drawn as '?' by OpenCV in an
// unpredictable width, so replace it explicitly.
std::string ascii(std::string_view text) {
  std::string out;
  for (const char c : text) out.push_back(c >= 32 && c < 127 ? c : '?');
  return out;
}

cv::Size text_size(const std::string& text) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, kFontScale, 1, &baseline);
}

void put_text(cv::Mat& img, const std::string& text, cv::Point origin, cv::Scalar colour) {
  cv::putText(img, ascii(text), origin, kFont, kFontScale, colour, 1, cv::LINE_AA);
}

struct Anchor {
  double t;
  Rgb c;
};

Rgb interpolate(const std::vector<Anchor>& anchors, double t) {
  t = std::clamp(t, 0.0, 1.0);
  for (std::size_t i = 1; i < anchors.size(); ++i) {
    if (t <= anchors[i].t) {
      const double f = (t - anchors[i - 1].t) / (anchors[i].t - anchors[i - 1].t);
      const auto mix = [f](std::uint8_t a, std::uint8_t b) {
        return static_cast<std::uint8_t>(std::lround(a + f * (static_cast<double>(b) - a)));
      };
      return {mix(anchors[i - 1].c.r, anchors[i].c.r), mix(anchors[i - 1].c.g, anchors[i].c.g),
              mix(anchors[i - 1].c.b, anchors[i].c.b)};
    }
  }
  return anchors.back().c;
}

Rgb density_colour(ColourMap map, double t) {
  static const std::vector<Anchor> jet = {{0.0, {20, 40, 200}},
                                          {0.3, {0, 170, 255}},
                                          {0.55, {40, 210, 80}},
                                          {0.75, {250, 220, 0}},
                                          {1.0, {220, 20, 20}}};
  static const std::vector<Anchor> greys = {{0.0, {205, 205, 205}}, {1.0, {60, 60, 60}}};
  return interpolate(map == ColourMap::jet ? jet : greys, t);
}

// Visit the events of `mask` (all `n` events when null) in ascending order.
template <class F>
void for_each_event(const gating::Mask* mask, std::size_t n, F&& f) {
  if (mask == nullptr) {
    for (std::size_t i = 0; i < n; ++i) f(i);
    return;
  }
  const auto& words = mask->words();
  for (std::size_t w = 0; w < words.size(); ++w) {
    std::uint64_t bits = words[w];
    while (bits != 0) {
      const int b = std::countr_zero(bits);
      f(w * 64 + static_cast<std::size_t>(b));
      bits &= bits - 1;
    }
  }
}

// Bin of `v` among `bins` equal bins over [min, max] (max itself in the last bin), or -1.
int bin_of(double v, double min, double max, int bins) {
  if (!(v >= min && v <= max)) return -1;  // also rejects NaN
  const auto b = static_cast<int>(std::floor((v - min) / (max - min) * bins));
  return std::min(b, bins - 1);
}

void check_inputs(std::span<const double> x, std::span<const double> y, const DensityPlot& plot) {
  if (x.size() != y.size()) {
    throw std::invalid_argument("density plot: " + std::to_string(x.size()) + " x values but " +
                                std::to_string(y.size()) + " y values");
  }
  const auto check_mask = [&](const gating::Mask* m, const char* what) {
    if (m != nullptr && m->size() != x.size()) {
      throw std::invalid_argument(std::string{"density plot: "} + what + " has " + std::to_string(m->size()) +
                                  " events but there are " + std::to_string(x.size()) + " values");
    }
  };
  check_mask(plot.events, "the event mask");
  for (const Highlight& h : plot.highlights) check_mask(h.events, "a highlight mask");
  for (const Axis* a : {&plot.x, &plot.y}) {
    if (!(std::isfinite(a->min) && std::isfinite(a->max) && a->min < a->max)) {
      throw std::invalid_argument("density plot: axis '" + a->label + "' has an empty range [" +
                                  std::to_string(a->min) + ", " + std::to_string(a->max) + "]");
    }
  }
  if (plot.bin_pixels < 1 || plot.highlight_pixels < 1) {
    throw std::invalid_argument("density plot: bin and highlight sizes must be at least 1 pixel");
  }
}

void draw_density(cv::Mat& img, const PlotArea& area, std::span<const double> x, std::span<const double> y,
                  const DensityPlot& plot) {
  const int nx = area.width / plot.bin_pixels;
  const int ny = area.height / plot.bin_pixels;
  std::vector<std::uint32_t> counts(static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny), 0);
  for_each_event(plot.events, x.size(), [&](std::size_t i) {
    const int bx = bin_of(x[i], plot.x.min, plot.x.max, nx);
    const int by = bin_of(y[i], plot.y.min, plot.y.max, ny);
    if (bx >= 0 && by >= 0) ++counts[static_cast<std::size_t>(ny - 1 - by) * static_cast<std::size_t>(nx) + static_cast<std::size_t>(bx)];
  });
  const std::uint32_t highest = counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
  if (highest == 0) return;
  const double scale = std::log1p(static_cast<double>(highest));
  for (int row = 0; row < ny; ++row) {
    for (int col = 0; col < nx; ++col) {
      const std::uint32_t c = counts[static_cast<std::size_t>(row) * static_cast<std::size_t>(nx) + static_cast<std::size_t>(col)];
      if (c == 0) continue;
      const Rgb colour = density_colour(plot.colours, std::log1p(static_cast<double>(c)) / scale);
      cv::rectangle(img,
                    cv::Rect(area.left + col * plot.bin_pixels, area.top + row * plot.bin_pixels, plot.bin_pixels,
                             plot.bin_pixels),
                    bgr(colour), cv::FILLED);
    }
  }
}

void draw_highlights(cv::Mat& img, const PlotArea& area, std::span<const double> x, std::span<const double> y,
                     const DensityPlot& plot) {
  cv::Mat roi = img(cv::Rect(area.left, area.top, area.width, area.height));
  const int side = plot.highlight_pixels;
  for (const Highlight& h : plot.highlights) {
    if (h.events == nullptr) continue;
    const cv::Scalar colour = bgr(h.colour);
    for_each_event(h.events, x.size(), [&](std::size_t i) {
      if (!(x[i] >= plot.x.min && x[i] <= plot.x.max && y[i] >= plot.y.min && y[i] <= plot.y.max)) return;
      const auto px = static_cast<int>(std::floor(pixel_x(area, plot.x, x[i]))) - area.left;
      const auto py = static_cast<int>(std::floor(pixel_y(area, plot.y, y[i]))) - area.top;
      const int x0 = std::clamp(px - side / 2, 0, area.width - 1);
      const int y0 = std::clamp(py - side / 2, 0, area.height - 1);
      const int x1 = std::min(x0 + side, area.width);
      const int y1 = std::min(y0 + side, area.height);
      roi(cv::Rect(x0, y0, x1 - x0, y1 - y0)).setTo(colour);
    });
  }
}

// Points of the outline in data coordinates.
std::vector<gating::Point> outline(const Shape& shape, const DensityPlot& plot) {
  return std::visit(
      [&](const auto& s) -> std::vector<gating::Point> {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, PolygonShape>) {
          return s.vertices;
        } else if constexpr (std::is_same_v<T, RectangleShape>) {
          // Open sides reach one span beyond the plot, so the edge stays outside the area.
          const double xs = plot.x.max - plot.x.min;
          const double ys = plot.y.max - plot.y.min;
          const double x0 = s.x_min.value_or(plot.x.min - xs);
          const double x1 = s.x_max.value_or(plot.x.max + xs);
          const double y0 = s.y_min.value_or(plot.y.min - ys);
          const double y1 = s.y_max.value_or(plot.y.max + ys);
          return {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}};
        } else {
          // Boundary = center + sqrt(d2) L (cos t, sin t) with C = L L' (Cholesky): then
          // (p - c)' C^-1 (p - c) = d2 exactly.
          const double l11 = s.xx > 0 ? std::sqrt(s.xx) : 0.0;
          const double l21 = l11 > 0 ? s.xy / l11 : 0.0;
          const double rest = s.yy - l21 * l21;
          if (!(l11 > 0 && rest > 0 && s.distance_square > 0)) {
            throw std::invalid_argument("density plot: the ellipse covariance is not positive definite");
          }
          const double l22 = std::sqrt(rest);
          const double r = std::sqrt(s.distance_square);
          std::vector<gating::Point> pts;
          constexpr int n = 180;
          for (int k = 0; k < n; ++k) {
            const double t = 2.0 * std::numbers::pi * k / n;
            const double u = r * std::cos(t);
            const double v = r * std::sin(t);
            pts.push_back({s.center.x + l11 * u, s.center.y + l21 * u + l22 * v});
          }
          return pts;
        }
      },
      shape);
}

void draw_gates(cv::Mat& img, const PlotArea& area, const DensityPlot& plot) {
  cv::Mat roi = img(cv::Rect(area.left, area.top, area.width, area.height));
  for (const GateOverlay& gate : plot.gates) {
    const std::vector<gating::Point> pts = outline(gate.shape, plot);
    if (pts.empty()) continue;
    std::vector<cv::Point> pixels;
    double left = INFINITY, top = INFINITY;
    for (const gating::Point& p : pts) {
      // Clamp far-away vertices: OpenCV clips lines, but coordinates must fit in an int.
      const double px = std::clamp(pixel_x(area, plot.x, p.x) - area.left, -1.0e6, 1.0e6);
      const double py = std::clamp(pixel_y(area, plot.y, p.y) - area.top, -1.0e6, 1.0e6);
      pixels.emplace_back(static_cast<int>(std::lround(px)), static_cast<int>(std::lround(py)));
      left = std::min(left, px);
      top = std::min(top, py);
    }
    cv::polylines(roi, std::vector<std::vector<cv::Point>>{pixels}, true, bgr(gate.colour), 1, cv::LINE_8);
    if (!gate.label.empty()) {
      const cv::Size size = text_size(ascii(gate.label));
      const int tx = std::clamp(static_cast<int>(left) + 3, 2, std::max(2, area.width - size.width - 2));
      const int ty = std::clamp(static_cast<int>(top) + size.height + 3, size.height + 2, area.height - 3);
      put_text(roi, gate.label, {tx, ty}, bgr(gate.colour));
    }
  }
}

struct Tick {
  double value;
  std::string text;
};

// About `target` round ticks (1, 2 or 5 times a power of ten) inside [min, max].
std::vector<Tick> ticks(double min, double max, int target) {
  const double raw = (max - min) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  const double step = (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * magnitude;
  const int decimals = step >= 1.0 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  std::vector<Tick> out;
  const auto first = static_cast<long long>(std::ceil(min / step - 1e-9));
  for (long long k = first;; ++k) {
    const double v = static_cast<double>(k) * step;
    if (v > max + step * 1e-9) break;
    char buf[48];
    if (std::fabs(v) < step * 1e-9) std::snprintf(buf, sizeof buf, "0");
    else if (std::fabs(v) < 1e7 && decimals <= 6) std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    else std::snprintf(buf, sizeof buf, "%.3g", v);
    out.push_back({v, buf});
  }
  return out;
}

void draw_axes(cv::Mat& img, const PlotArea& area, const DensityPlot& plot) {
  cv::rectangle(img, cv::Rect(area.left - 1, area.top - 1, area.width + 2, area.height + 2), kBlack, 1, cv::LINE_8);
  for (const Tick& t : ticks(plot.x.min, plot.x.max, 5)) {
    const auto px = static_cast<int>(std::lround(pixel_x(area, plot.x, t.value)));
    const int base = area.top + area.height;
    cv::line(img, {px, base}, {px, base + 4}, kBlack, 1, cv::LINE_8);
    const cv::Size size = text_size(t.text);
    put_text(img, t.text, {px - size.width / 2, base + 6 + size.height}, kBlack);
  }
  for (const Tick& t : ticks(plot.y.min, plot.y.max, 5)) {
    const auto py = static_cast<int>(std::lround(pixel_y(area, plot.y, t.value)));
    cv::line(img, {area.left - 5, py}, {area.left - 1, py}, kBlack, 1, cv::LINE_8);
    const cv::Size size = text_size(t.text);
    put_text(img, t.text, {area.left - 8 - size.width, py + size.height / 2}, kBlack);
  }
  // x label centred below the tick labels.
  const std::string xl = ascii(plot.x.label);
  const cv::Size xs = text_size(xl);
  put_text(img, xl, {area.left + (area.width - xs.width) / 2, area.top + area.height + 22 + xs.height}, kBlack);
  // y label: drawn horizontally on a scratch image, rotated, then merged with min() so it never
  // erases tick labels it might touch.
  const std::string yl = ascii(plot.y.label);
  if (!yl.empty()) {
    const cv::Size ys = text_size(yl);
    cv::Mat scratch(ys.height + 6, ys.width + 4, CV_8UC3, cv::Scalar(255, 255, 255));
    put_text(scratch, yl, {2, ys.height + 2}, kBlack);
    cv::Mat rotated;
    cv::rotate(scratch, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int h = std::min(rotated.rows, img.rows);
    const int y0 = std::max(0, area.top + (area.height - h) / 2);
    cv::Mat target = img(cv::Rect(2, y0, rotated.cols, std::min(h, img.rows - y0)));
    cv::Mat source = rotated(cv::Rect(0, rotated.rows - target.rows, rotated.cols, target.rows));
    cv::min(target, source, target);
  }
  if (!plot.title.empty()) {
    // A long title (a deep population path) keeps its end, the most specific part.
    std::string title = ascii(plot.title);
    const int room = img.cols - area.left - 4;
    while (title.size() > 4 && text_size(title).width > room) title = "..." + title.substr(4);
    put_text(img, title, {area.left, 18}, kBlack);
  }
}

void draw_legend(cv::Mat& img, const PlotArea& area, const DensityPlot& plot) {
  int x = area.left;
  const int y = area.top + area.height + 48;
  for (const Highlight& h : plot.highlights) {
    const std::size_t n = h.events != nullptr ? h.events->count() : 0;
    const std::string text = ascii(h.label) + " (" + std::to_string(n) + ")";
    cv::rectangle(img, cv::Rect(x, y - 8, 8, 8), bgr(h.colour), cv::FILLED);
    put_text(img, text, {x + 12, y}, kBlack);
    x += 12 + text_size(text).width + 16;
  }
}

}  // namespace

PlotArea plot_area(const DensityPlot& plot) {
  const int bottom = kMarginBottom + (plot.highlights.empty() ? 0 : kLegendHeight);
  const int bin = std::max(plot.bin_pixels, 1);
  PlotArea area;
  area.left = kMarginLeft;
  area.top = kMarginTop;
  area.width = (plot.width - kMarginLeft - kMarginRight) / bin * bin;
  area.height = (plot.height - kMarginTop - bottom) / bin * bin;
  if (area.width < kMinArea || area.height < kMinArea) {
    throw std::invalid_argument("density plot: a " + std::to_string(plot.width) + "x" + std::to_string(plot.height) +
                                " image leaves no room for the data (at least " +
                                std::to_string(kMarginLeft + kMarginRight + kMinArea) + "x" +
                                std::to_string(kMarginTop + bottom + kMinArea) + " needed)");
  }
  return area;
}

double pixel_x(const PlotArea& area, const Axis& axis, double v) noexcept {
  return area.left + (v - axis.min) / (axis.max - axis.min) * area.width;
}

double pixel_y(const PlotArea& area, const Axis& axis, double v) noexcept {
  return area.top + (axis.max - v) / (axis.max - axis.min) * area.height;
}

Image render_density_plot(std::span<const double> x, std::span<const double> y, const DensityPlot& plot) {
  check_inputs(x, y, plot);
  const PlotArea area = plot_area(plot);
  cv::Mat img(plot.height, plot.width, CV_8UC3, cv::Scalar(255, 255, 255));
  draw_density(img, area, x, y, plot);
  draw_highlights(img, area, x, y, plot);
  draw_gates(img, area, plot);
  draw_axes(img, area, plot);
  draw_legend(img, area, plot);
  Image out;
  out.width = plot.width;
  out.height = plot.height;
  cv::Mat rgb;
  cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
  out.pixels.assign(rgb.data, rgb.data + rgb.total() * 3);
  return out;
}

Axis axis_for(std::string label, std::span<const double> values, const gating::Mask* mask, double tail,
              double padding) {
  std::vector<double> v;
  for_each_event(mask, values.size(), [&](std::size_t i) {
    if (i < values.size() && std::isfinite(values[i])) v.push_back(values[i]);
  });
  Axis axis{std::move(label), 0.0, 1.0};
  if (v.empty()) return axis;
  const auto n = v.size();
  const auto lo_i = static_cast<std::size_t>(std::floor(tail * static_cast<double>(n - 1)));
  const auto hi_i = static_cast<std::size_t>(std::ceil((1.0 - tail) * static_cast<double>(n - 1)));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(lo_i), v.end());
  const double lo = v[lo_i];
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(hi_i), v.end());
  const double hi = v[hi_i];
  if (hi <= lo) {
    const double half = std::max(0.5, std::fabs(lo) * 0.05);
    axis.min = lo - half;
    axis.max = lo + half;
    return axis;
  }
  const double pad = (hi - lo) * padding;
  axis.min = lo - pad;
  axis.max = hi + pad;
  return axis;
}

void include_in_axis(Axis& axis, double v, double padding) {
  if (!std::isfinite(v)) return;
  const double span = axis.max - axis.min;
  if (v < axis.min + span * padding) axis.min = v - span * padding;
  if (v > axis.max - span * padding) axis.max = v + span * padding;
}

void include_shape_in_axes(Axis& x, Axis& y, const Shape& shape) {
  const auto add = [](Axis& a, std::optional<double> v) {
    const double span = a.max - a.min;
    if (v && *v > a.min - span && *v < a.max + span) include_in_axis(a, *v);
  };
  if (const auto* p = std::get_if<PolygonShape>(&shape)) {
    for (const auto& v : p->vertices) {
      add(x, v.x);
      add(y, v.y);
    }
  } else if (const auto* r = std::get_if<RectangleShape>(&shape)) {
    add(x, r->x_min);
    add(x, r->x_max);
    add(y, r->y_min);
    add(y, r->y_max);
  } else if (const auto* e = std::get_if<EllipseShape>(&shape)) {
    const double rx = std::sqrt(std::max(0.0, e->xx * e->distance_square));
    const double ry = std::sqrt(std::max(0.0, e->yy * e->distance_square));
    add(x, e->center.x - rx);
    add(x, e->center.x + rx);
    add(y, e->center.y - ry);
    add(y, e->center.y + ry);
  }
}

namespace {

std::optional<std::size_t> index_of(const std::vector<gating::Dimension>& dims, const gating::Dimension& d) {
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == d) return i;
  }
  return std::nullopt;
}

std::optional<Shape> rectangle_shape(const gating::RectangleGate& g, const gating::Dimension& x,
                                     const gating::Dimension& y) {
  const auto ix = index_of(g.dimensions, x);
  const auto iy = index_of(g.dimensions, y);
  if (!ix && !iy) return std::nullopt;
  RectangleShape r;
  if (ix) {
    r.x_min = g.ranges.at(*ix).min;
    r.x_max = g.ranges.at(*ix).max;
  }
  if (iy) {
    r.y_min = g.ranges.at(*iy).min;
    r.y_max = g.ranges.at(*iy).max;
  }
  return r;
}

std::optional<Shape> polygon_shape(const gating::PolygonGate& g, const gating::Dimension& x,
                                   const gating::Dimension& y) {
  if (g.x == x && g.y == y) return PolygonShape{g.vertices};
  if (g.x == y && g.y == x) {
    PolygonShape swapped;
    for (const gating::Point& p : g.vertices) swapped.vertices.push_back({p.y, p.x});
    return swapped;
  }
  return std::nullopt;
}

// The projection of an ellipsoid onto two of its axes is the ellipse with the 2x2 block of the
// covariance and the same distance.
std::optional<Shape> ellipse_shape(const gating::EllipsoidGate& g, const gating::Dimension& x,
                                   const gating::Dimension& y) {
  const auto ix = index_of(g.dimensions, x);
  const auto iy = index_of(g.dimensions, y);
  if (!ix || !iy) return std::nullopt;
  const std::size_t n = g.dimensions.size();
  EllipseShape e;
  e.center = {g.mean.at(*ix), g.mean.at(*iy)};
  e.xx = g.covariance.at(*ix * n + *ix);
  e.xy = g.covariance.at(*ix * n + *iy);
  e.yy = g.covariance.at(*iy * n + *iy);
  e.distance_square = g.distance_square;
  return e;
}

std::optional<Shape> quadrant_shape(const gating::QuadrantGate& g, const gating::Dimension& x,
                                    const gating::Dimension& y) {
  RectangleShape r;
  bool any = false;
  for (const auto& pos : g.positions) {
    const gating::QuadrantDivider& d = g.dividers.at(pos.divider);
    std::optional<double> lo, hi;
    for (const double v : d.values) {
      if (v <= pos.location) lo = v;
      else if (!hi) hi = v;
    }
    if (d.dimension == x) {
      r.x_min = lo;
      r.x_max = hi;
      any = true;
    } else if (d.dimension == y) {
      r.y_min = lo;
      r.y_max = hi;
      any = true;
    }
  }
  if (!any) return std::nullopt;
  return r;
}

}  // namespace

std::optional<Shape> gate_shape(const gating::Gate& gate, const gating::Dimension& x, const gating::Dimension& y) {
  return std::visit(
      [&](const auto& g) -> std::optional<Shape> {
        using T = std::decay_t<decltype(g)>;
        if constexpr (std::is_same_v<T, gating::RectangleGate>) return rectangle_shape(g, x, y);
        else if constexpr (std::is_same_v<T, gating::PolygonGate>) return polygon_shape(g, x, y);
        else if constexpr (std::is_same_v<T, gating::EllipsoidGate>) return ellipse_shape(g, x, y);
        else if constexpr (std::is_same_v<T, gating::QuadrantGate>) return quadrant_shape(g, x, y);
        else return std::nullopt;
      },
      gate);
}

std::vector<std::uint8_t> encode_png(const Image& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 3) {
    throw std::runtime_error("PNG encoding: the image has no pixels or a wrong pixel count");
  }
  const cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<std::uint8_t*>(image.pixels.data()));
  cv::Mat bgr_image;
  cv::cvtColor(rgb, bgr_image, cv::COLOR_RGB2BGR);
  std::vector<std::uint8_t> out;
  // Fixed settings: the same pixels always give the same bytes (no time stamps are written).
  const std::vector<int> params = {cv::IMWRITE_PNG_COMPRESSION, 6, cv::IMWRITE_PNG_STRATEGY,
                                   cv::IMWRITE_PNG_STRATEGY_DEFAULT};
  if (!cv::imencode(".png", bgr_image, out, params)) throw std::runtime_error("PNG encoding failed");
  return out;
}

Image decode_png(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) throw std::invalid_argument("image decoding: no bytes");
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<std::uint8_t*>(bytes.data()));
  const cv::Mat decoded = cv::imdecode(buffer, cv::IMREAD_COLOR);
  if (decoded.empty()) throw std::invalid_argument("image decoding: not a readable image");
  cv::Mat rgb;
  cv::cvtColor(decoded, rgb, cv::COLOR_BGR2RGB);
  Image out;
  out.width = rgb.cols;
  out.height = rgb.rows;
  out.pixels.assign(rgb.data, rgb.data + rgb.total() * 3);
  return out;
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t v = std::uint32_t{bytes[i]} << 16;
    if (rest == 2) v |= std::uint32_t{bytes[i + 1]} << 8;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string data_uri(std::string_view mime, std::span<const std::uint8_t> bytes) {
  return "data:" + std::string{mime} + ";base64," + base64_encode(bytes);
}

}  // namespace flowmrd::pipeline
