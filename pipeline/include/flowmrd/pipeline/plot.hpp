// SPDX-License-Identifier: Apache-2.0
/// @file plot.hpp
/// Flow-cytometry density plots ("dot plots" binned into a 2D histogram) rendered to PNG for
/// reports: log-scaled density colours, axes with ticks and labels, gate outlines with labels,
/// and highlighted events drawn on top. Output bytes are a pure function of the inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "flowmrd/gating/gate.hpp"
#include "flowmrd/gating/mask.hpp"

namespace flowmrd::pipeline {

/// An sRGB colour.
struct Rgb {
  std::uint8_t r = 0;
  std::uint8_t g = 0;
  std::uint8_t b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

/// An 8-bit RGB raster, row-major from the top-left corner, 3 bytes per pixel.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;
  /// Colour of pixel (x, y); x to the right, y down. @throws std::out_of_range outside the image
  [[nodiscard]] Rgb at(int x, int y) const;
};

/// One plot axis: its label and the data range shown, in the coordinates of the values plotted
/// (e.g. transformed units for a logicle dimension). min < max.
struct Axis {
  std::string label;
  double min = 0.0;
  double max = 1.0;
};

/// A polygon in plot coordinates (closed from the last vertex to the first).
struct PolygonShape {
  std::vector<gating::Point> vertices;
};

/// A rectangle or a 1-D range; a missing side extends past the plot edge.
struct RectangleShape {
  std::optional<double> x_min, x_max, y_min, y_max;
};

/// The ellipse (p - center)' inverse(C) (p - center) = distance_square, C = [[xx, xy], [xy, yy]]
/// (Gating-ML ellipsoid form). C must be positive definite.
struct EllipseShape {
  gating::Point center;
  double xx = 1.0, xy = 0.0, yy = 1.0;
  double distance_square = 1.0;
};

using Shape = std::variant<PolygonShape, RectangleShape, EllipseShape>;

/// A gate outline drawn over the density, with its label beside it.
struct GateOverlay {
  Shape shape;
  std::string label;
  Rgb colour{0, 0, 0};
};

/// Events drawn on top of the density as solid squares (e.g. disagreeing events).
struct Highlight {
  const gating::Mask* events = nullptr;  ///< must have one bit per value
  Rgb colour{228, 26, 28};
  std::string label;  ///< legend text; the event count is appended
};

/// Colours of the density.
enum class ColourMap {
  jet,    ///< blue - cyan - yellow - red, the usual flow-cytometry pseudo-colour
  greys,  ///< light to dark grey, a quiet background for highlighted events
};

/// What to draw.
struct DensityPlot {
  int width = 480;   ///< whole image, pixels
  int height = 420;  ///< whole image, pixels
  std::string title;
  Axis x;
  Axis y;
  /// Events shown as density (nullptr: all events). Must have one bit per value.
  const gating::Mask* events = nullptr;
  ColourMap colours = ColourMap::jet;
  int bin_pixels = 2;        ///< side of one histogram bin, pixels
  int highlight_pixels = 3;  ///< side of the square drawn per highlighted event
  std::vector<GateOverlay> gates;
  std::vector<Highlight> highlights;
};

/// Where the data area lies in the image (pixels; its size is a multiple of bin_pixels).
struct PlotArea {
  int left = 0;
  int top = 0;
  int width = 0;
  int height = 0;
};

/// The data area of `plot`. @throws std::invalid_argument when the image is too small
[[nodiscard]] PlotArea plot_area(const DensityPlot& plot);

/// Image column of x-coordinate `v` (fractional; v = axis.min is the area's left edge).
[[nodiscard]] double pixel_x(const PlotArea& area, const Axis& axis, double v) noexcept;
/// Image row of y-coordinate `v` (fractional; v = axis.max is the area's top edge).
[[nodiscard]] double pixel_y(const PlotArea& area, const Axis& axis, double v) noexcept;

/// Render the density of events (x[i], y[i]) with overlays. Bins are bin_pixels square; a bin's
/// colour encodes log(1 + count) / log(1 + highest count); empty bins are white. Events outside
/// the axis ranges or with non-finite coordinates are not drawn.
/// @throws std::invalid_argument on mismatched sizes, an empty axis range, a too small image or a
///         non positive definite ellipse
[[nodiscard]] Image render_density_plot(std::span<const double> x, std::span<const double> y,
                                        const DensityPlot& plot);

/// An axis over the central values of `values` (within `mask` when given): from the `tail`
/// quantile to the 1 - `tail` quantile, widened by `padding` of the span on each side. Non-finite
/// values are ignored; without any finite value the range is [0, 1]; a single value v gives
/// [v - 0.5, v + 0.5] (or wider for large |v|).
[[nodiscard]] Axis axis_for(std::string label, std::span<const double> values, const gating::Mask* mask = nullptr,
                            double tail = 0.001, double padding = 0.05);

/// Widen `axis` so that `v` (when finite) lies inside it with `padding` of the span to spare.
void include_in_axis(Axis& axis, double v, double padding = 0.05);

/// Widen `x` and `y` so that `shape` (a gate outline) is in view. Vertices farther than one span
/// outside an axis (an open-ended gate drawn to "infinity") are not followed.
void include_shape_in_axes(Axis& x, Axis& y, const Shape& shape);

/// The outline of `gate` as seen in the plane (x, y), when it can be drawn there: a rectangle or
/// range over x and/or y (other dimensions ignored), a polygon over (x, y) or (y, x), an
/// ellipsoid's projection onto (x, y), a quadrant as its rectangle. nullopt otherwise (boolean
/// gates, gates over other dimensions).
[[nodiscard]] std::optional<Shape> gate_shape(const gating::Gate& gate, const gating::Dimension& x,
                                              const gating::Dimension& y);

/// PNG bytes of `image` (deterministic: fixed compression settings, no metadata).
/// @throws std::runtime_error when encoding fails
[[nodiscard]] std::vector<std::uint8_t> encode_png(const Image& image);

/// Decode PNG (or any format OpenCV reads) to RGB. @throws std::invalid_argument when unreadable
[[nodiscard]] Image decode_png(std::span<const std::uint8_t> bytes);

/// Standard base64 (RFC 4648, with padding).
[[nodiscard]] std::string base64_encode(std::span<const std::uint8_t> bytes);

/// "data:<mime>;base64,..." for embedding in HTML.
[[nodiscard]] std::string data_uri(std::string_view mime, std::span<const std::uint8_t> bytes);

}  // namespace flowmrd::pipeline
