// SPDX-License-Identifier: Apache-2.0
/// @file density.hpp
/// Density-based gate finding on one sample, without fixed coordinates (docs/density-gates.md):
///  - 1D: a binned Gaussian kernel density estimate of one channel, its peaks with prominence, the
///    deepest valley between two peaks, and a flowDensity-style "tail cut" (where the density falls
///    to a fraction of a peak on one side);
///  - 2D: a histogram over given ranges smoothed with a Gaussian (OpenCV), and the density contour
///    at a level around a seed or the highest peak in a region, simplified into a polygon in value
///    space that becomes a PolygonGate; plus the fraction of events inside a polygon, and the level
///    that keeps a requested fraction.
/// Every function is deterministic, keeps no global state and is linear in events + grid size (one
/// pass over the events per histogram). Invalid arguments (sizes, ranges, options) throw
/// std::invalid_argument naming the parameter; degenerate data (no events, a constant channel,
/// NaN values, one peak where two are needed) never throw: the result says what happened in
/// `notes` and `found`.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flowmrd/gating/gate.hpp"
#include "flowmrd/gating/mask.hpp"

namespace flowmrd::gating {

/// A finding about the data that shaped a density result (code + message), e.g. "no_events".
struct DensityNote {
  std::string code;
  std::string message;
  friend bool operator==(const DensityNote&, const DensityNote&) = default;
};

/// How many events a density used and why the others were left out.
struct EventTally {
  std::size_t used = 0;          ///< finite, selected, inside the range
  std::size_t non_finite = 0;    ///< selected but NaN or infinite (in any coordinate)
  std::size_t out_of_range = 0;  ///< selected, finite, outside the explicit range
};

// ---------------------------------------------------------------------------------------------
// 1D
// ---------------------------------------------------------------------------------------------

/// Bandwidth rule on the robust spread s = min(SD, IQR / 1.349) of the used events:
/// silverman h = 0.9 s n^(-1/5) (R bw.nrd0), scott h = 1.06 s n^(-1/5) (R bw.nrd). When s is 0
/// (more than half the events share one value) SD is used, then |mean| / 10, then 1 (R's fallbacks).
enum class BandwidthRule { silverman, scott };

/// Options of kde_1d().
struct Kde1DOptions {
  std::size_t grid_points = 512;           ///< >= 16; grid includes both ends
  BandwidthRule rule = BandwidthRule::silverman;
  double adjust = 1.0;                     ///< multiplies the rule's bandwidth (R density(adjust=)), > 0
  std::optional<double> bandwidth;         ///< explicit bandwidth (value units), overrides rule and adjust
  /// Explicit range [min, max]: events outside are excluded (counted in `tally.out_of_range`) and
  /// the grid spans exactly this range. Without it the grid spans the data's min - 4h .. max + 4h
  /// (the kernel's reach, so the estimate integrates to 1).
  std::optional<double> min;
  std::optional<double> max;
};

/// A kernel density estimate on a regular grid.
struct Density1D {
  double grid_min = 0.0;        ///< position of grid point 0
  double step = 0.0;            ///< grid spacing (> 0)
  std::vector<double> density;  ///< estimate at grid_min + i * step; integrates to ~1 (0 when no events)
  double bandwidth = 0.0;       ///< Gaussian kernel SD, value units
  EventTally tally;
  std::vector<DensityNote> notes;

  [[nodiscard]] std::size_t size() const noexcept { return density.size(); }
  [[nodiscard]] double position(std::size_t i) const noexcept { return grid_min + static_cast<double>(i) * step; }
  [[nodiscard]] double grid_max() const noexcept { return position(density.empty() ? 0 : density.size() - 1); }
};

/// Binned Gaussian KDE (linear binning onto the grid, then a discrete convolution with the kernel
/// truncated at 4 bandwidths) of `values`, restricted to events set in `mask` when given (mask
/// size must equal values.size()). NaN/infinite values are skipped and counted. Never throws for
/// degenerate data: no events gives an all-zero density and note "no_events"; a constant channel
/// gives one peak at the constant and note "constant_values".
/// Throws std::invalid_argument for a mask of another size or invalid options.
[[nodiscard]] Density1D kde_1d(std::span<const float> values, const Mask* mask = nullptr,
                               const Kde1DOptions& options = {});

/// A local maximum of a 1D density.
struct Peak {
  std::size_t index = 0;    ///< grid index of the maximum (the middle of a flat top)
  double position = 0.0;    ///< value-space position, refined by a parabola through 3 grid points
  double height = 0.0;      ///< density at the maximum
  double prominence = 0.0;  ///< height above the higher of the two lowest points that separate it from higher ground
  friend bool operator==(const Peak&, const Peak&) = default;
};

/// Options of find_peaks().
struct PeakOptions {
  /// Keep peaks whose prominence is at least this fraction of the highest density (tiny wiggles of
  /// the estimate are not peaks). In [0, 1].
  double min_relative_prominence = 0.05;
  /// Keep peaks at least this high, as a fraction of the highest density. In [0, 1].
  double min_relative_height = 0.0;
};

/// Peaks of a density, ordered by position (left to right). Empty when the density is all zero.
[[nodiscard]] std::vector<Peak> find_peaks(const Density1D& density, const PeakOptions& options = {});

/// A cut position on a 1D density with the diagnostics that explain it.
struct Cut1D {
  bool found = false;
  double position = 0.0;  ///< value space (meaningless when !found)
  double density = 0.0;   ///< density at the cut
  std::optional<Peak> left;   ///< valley: the left peak; tail cut: the peak when cutting its left side
  std::optional<Peak> right;  ///< valley: the right peak; tail cut: the peak when cutting its right side
  /// Valley only: 1 - density / min(left.height, right.height); 0 = no dip, 1 = empty valley.
  double depth = 0.0;
  std::string note;  ///< why not found, or what was assumed ("two most prominent peaks")
};

/// The deepest point (lowest density) strictly between positions a and b (either order), refined
/// by a parabola. The peaks reported are the highest density on each side of the valley within
/// [a, b]. Not found when fewer than one grid point lies strictly between them or the density is 0.
[[nodiscard]] Cut1D find_valley(const Density1D& density, double a, double b);

/// The valley between the two most prominent peaks (find_peaks with `options`). Not found, with a
/// note, when fewer than two peaks exist.
[[nodiscard]] Cut1D find_valley(const Density1D& density, const PeakOptions& options = {});

/// Which side of a peak a tail cut is on.
enum class Side { left, right };

/// Options of tail_cut().
struct TailCutOptions {
  Side side = Side::right;
  double fraction = 0.1;  ///< cut where the density first falls to fraction x peak height, in (0, 1)
  /// The peak to start from: the peak nearest this position; default the highest peak.
  std::optional<double> near;
  PeakOptions peaks;      ///< how peaks are found
};

/// flowDensity-style tail cut: walking from the peak towards `side`, the first position where the
/// density falls to `fraction` of the peak height, linearly interpolated between grid points. Not
/// found when the density never falls that low before the grid ends or there is no peak.
[[nodiscard]] Cut1D tail_cut(const Density1D& density, const TailCutOptions& options = {});

// ---------------------------------------------------------------------------------------------
// 2D
// ---------------------------------------------------------------------------------------------

/// A closed interval [min, max] of one axis (min < max, both finite).
struct AxisRange {
  double min = 0.0;
  double max = 1.0;
};

/// Options of density_2d().
struct Density2DOptions {
  AxisRange x;                  ///< events outside either range are excluded (not clamped)
  AxisRange y;
  std::size_t bins_x = 256;     ///< >= 8
  std::size_t bins_y = 256;     ///< >= 8
  double sigma_bins = 2.0;      ///< Gaussian smoothing SD in bins (both axes), >= 0; 0 = no smoothing
};

/// A 2D histogram and its smoothed version. Cell (ix, iy) covers
/// [x.min + ix w, x.min + (ix + 1) w) x [y.min + iy h, ...), w = (x.max - x.min) / bins_x; an event
/// exactly at max goes into the last cell. Row-major storage, row = iy.
struct Density2D {
  AxisRange x;
  AxisRange y;
  std::size_t bins_x = 0;
  std::size_t bins_y = 0;
  double sigma_bins = 0.0;
  std::vector<double> counts;    ///< events per cell
  std::vector<double> smoothed;  ///< counts convolved with the Gaussian (zero outside the grid)
  EventTally tally;
  std::vector<DensityNote> notes;

  [[nodiscard]] double cell_width() const noexcept { return (x.max - x.min) / static_cast<double>(bins_x); }
  [[nodiscard]] double cell_height() const noexcept { return (y.max - y.min) / static_cast<double>(bins_y); }
  [[nodiscard]] double center_x(std::size_t ix) const noexcept { return x.min + (static_cast<double>(ix) + 0.5) * cell_width(); }
  [[nodiscard]] double center_y(std::size_t iy) const noexcept { return y.min + (static_cast<double>(iy) + 0.5) * cell_height(); }
  [[nodiscard]] double at(std::size_t ix, std::size_t iy) const { return smoothed.at(iy * bins_x + ix); }
};

/// Histogram (x[i], y[i]) over the given ranges in one pass, restricted to `mask` when given, then
/// smooth it (cv::GaussianBlur, zero border). Throws std::invalid_argument when x and y differ in
/// size, the mask differs, or the options are invalid. No events: all-zero grids, note "no_events".
[[nodiscard]] Density2D density_2d(std::span<const float> x, std::span<const float> y, const Mask* mask,
                                   const Density2DOptions& options);

/// A rectangle in value space (for the peak search region).
struct Region {
  AxisRange x;
  AxisRange y;
};

/// Options of density_contour().
struct ContourOptions {
  /// Contour level as a fraction of the anchor peak's smoothed density, in (0, 1).
  double level = 0.1;
  /// A value-space point inside the wanted population. The anchor peak is reached from it by
  /// steepest ascent on the smoothed grid. Without a seed the anchor is the highest cell in
  /// `region` (or the whole grid).
  std::optional<Point> seed;
  std::optional<Region> region;  ///< where to look for the highest peak when there is no seed
  /// Polygon simplification tolerance (cv::approxPolyDP epsilon) in bins; 0 keeps every vertex.
  double simplify_bins = 0.5;
  /// The smoothed grid is upsampled (bilinear) by this factor before thresholding, so the contour
  /// follows the interpolated iso-line to ~1/(2 upsample) of a bin. 1..16, and bins x upsample
  /// at most 4096 per axis (memory).
  int upsample = 4;
};

/// A density contour around one population.
struct Contour {
  bool found = false;
  std::vector<Point> polygon;        ///< value space, >= 3 vertices when found (not explicitly closed)
  Point anchor;                      ///< the anchor peak (cell centre), value space
  double anchor_density = 0.0;       ///< smoothed density at the anchor
  double level = 0.0;                ///< relative level used
  double threshold = 0.0;            ///< absolute smoothed-density threshold = level x anchor_density
  std::size_t raw_vertices = 0;      ///< vertices before simplification
  double grid_fraction = 0.0;        ///< share of the histogram's events in cells whose centre is inside the polygon
  bool touches_edge = false;         ///< the region above the level reaches the grid border (clipped there)
  std::string note;                  ///< why not found, or what was assumed
};

/// The contour of {smoothed density >= level x anchor density} that encloses the anchor
/// (cv::findContours on the thresholded, upsampled grid, outer boundaries only, so holes are
/// filled), simplified with cv::approxPolyDP, in value space. The outline runs through the centres
/// of the outermost pixels above the level, i.e. up to half an upsampled pixel (1 / (2 upsample)
/// of a bin) inside the iso-line; a region one pixel thick becomes its pixels' bounding square.
/// Not found (with a note) when the histogram is empty, the seed lies outside the grid or no
/// density is uphill of it, or the search region holds no cell. Throws std::invalid_argument for
/// bad options.
[[nodiscard]] Contour density_contour(const Density2D& density, const ContourOptions& options = {});

/// The contour around the anchor (as in density_contour) at the highest level whose connected
/// region above the level holds at least `fraction` of all histogram events (a highest-density
/// region around the anchor). Found by bisection on the level (40 steps) using cell counts; the
/// achieved share is in `grid_fraction`. Restrict the histogram (mask, ranges) to the cluster's
/// neighbourhood first: the fraction is of all events in the histogram. fraction in (0, 1].
[[nodiscard]] Contour contour_for_fraction(const Density2D& density, double fraction, const ContourOptions& options = {});

/// Events inside a polygon (even-odd rule, as PolygonGate) among the selected events with finite
/// coordinates.
struct InsideCount {
  std::size_t inside = 0;
  std::size_t total = 0;  ///< selected events with finite x and y
  [[nodiscard]] double fraction() const noexcept {
    return total == 0 ? 0.0 : static_cast<double>(inside) / static_cast<double>(total);
  }
};

/// Count events of (x, y) (restricted to `mask` when given) inside `polygon`. Throws
/// std::invalid_argument for mismatched sizes or a polygon of fewer than 3 vertices.
[[nodiscard]] InsideCount count_inside(std::span<const float> x, std::span<const float> y, const Mask* mask,
                                       const std::vector<Point>& polygon);

/// Share of the histogram's events in cells whose centre lies inside `polygon` (fast, grid-level).
[[nodiscard]] double grid_fraction_inside(const Density2D& density, const std::vector<Point>& polygon);

/// A PolygonGate on dimensions `x`, `y` with the contour's polygon. Throws std::invalid_argument
/// when the contour was not found.
[[nodiscard]] PolygonGate to_polygon_gate(const Contour& contour, Dimension x, Dimension y);

}  // namespace flowmrd::gating
