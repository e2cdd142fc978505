// SPDX-License-Identifier: Apache-2.0
#include "flowmrd/gating/density.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <string>

namespace flowmrd::gating {

namespace {

// ------------------------------------------------------------------ event selection

void require_mask_size(const Mask* mask, std::size_t n, const char* what) {
  if (mask != nullptr && mask->size() != n) {
    throw std::invalid_argument(std::string(what) + ": mask has " + std::to_string(mask->size()) + " events, values have " +
                                std::to_string(n));
  }
}

// Calls f(i) for every selected event in increasing order. Walks the mask word by word so sparse
// populations cost little (bits past size() are zero by Mask's invariant).
template <class F>
void for_each_selected(std::size_t n, const Mask* mask, F&& f) {
  if (mask == nullptr) {
    for (std::size_t i = 0; i < n; ++i) f(i);
    return;
  }
  const std::vector<std::uint64_t>& words = mask->words();
  for (std::size_t w = 0; w < words.size(); ++w) {
    std::uint64_t bits = words[w];
    while (bits != 0) {
      f(w * 64 + static_cast<std::size_t>(std::countr_zero(bits)));
      bits &= bits - 1;
    }
  }
}

std::string num(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// ------------------------------------------------------------------ 1D estimate

struct Moments {
  std::size_t n = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double shift = 0.0;  // first value; sums are of (v - shift) to avoid cancellation
  double sum = 0.0;
  double sum2 = 0.0;
  [[nodiscard]] double mean() const { return shift + sum / static_cast<double>(n); }
  [[nodiscard]] double sd() const {
    if (n < 2) return 0.0;
    const double dn = static_cast<double>(n);
    const double var = (sum2 - sum * sum / dn) / (dn - 1.0);
    return var > 0.0 ? std::sqrt(var) : 0.0;
  }
};

// Inter-quartile range from a fine histogram (4096 bins over [min, max]) with linear interpolation
// inside bins: one more linear pass instead of a copy and partial sort of the data. Error <= one
// fine bin, (max - min) / 4096.
template <class Selected>
double iqr_from_histogram(const Moments& m, Selected&& each) {
  if (m.n < 2 || !(m.max > m.min)) return 0.0;
  constexpr std::size_t kBins = 4096;
  std::vector<std::size_t> h(kBins, 0);
  const double scale = static_cast<double>(kBins) / (m.max - m.min);
  each([&](double v) {
    const auto b = static_cast<std::size_t>(std::min((v - m.min) * scale, static_cast<double>(kBins - 1)));
    ++h[b];
  });
  const auto quantile = [&](double p) {
    const double target = p * static_cast<double>(m.n);
    double cum = 0.0;
    for (std::size_t b = 0; b < kBins; ++b) {
      const double next = cum + static_cast<double>(h[b]);
      if (next >= target && h[b] > 0) {
        const double frac = (target - cum) / static_cast<double>(h[b]);
        return m.min + (static_cast<double>(b) + frac) / scale;
      }
      cum = next;
    }
    return m.max;
  };
  return quantile(0.75) - quantile(0.25);
}

double rule_bandwidth(const Moments& m, double iqr, BandwidthRule rule) {
  const double sd = m.sd();
  double spread = std::min(sd, iqr / 1.349);
  // R bw.nrd0's fallbacks: a zero robust spread (more than half the events on one value) falls
  // back to SD, then to |mean| / 10, then 1, so a constant channel still gets a usable kernel.
  if (!(spread > 0.0)) spread = sd;
  if (!(spread > 0.0)) spread = std::fabs(m.mean()) / 10.0;
  if (!(spread > 0.0)) spread = 1.0;
  const double factor = rule == BandwidthRule::silverman ? 0.9 : 1.06;
  return factor * spread * std::pow(static_cast<double>(m.n), -0.2);
}

void validate(const Kde1DOptions& o) {
  if (o.grid_points < 16) throw std::invalid_argument("kde_1d: grid_points must be at least 16");
  if (!(std::isfinite(o.adjust) && o.adjust > 0.0)) throw std::invalid_argument("kde_1d: adjust must be a positive number");
  if (o.bandwidth && !(std::isfinite(*o.bandwidth) && *o.bandwidth > 0.0)) {
    throw std::invalid_argument("kde_1d: bandwidth must be a positive number");
  }
  if ((o.min && !std::isfinite(*o.min)) || (o.max && !std::isfinite(*o.max))) {
    throw std::invalid_argument("kde_1d: range bounds must be finite");
  }
  if (o.min && o.max && !(*o.min < *o.max)) {
    throw std::invalid_argument("kde_1d: range min (" + num(*o.min) + ") must be below max (" + num(*o.max) + ")");
  }
}

// Discrete Gaussian convolution of the binned counts. The kernel weights are normalised to sum to
// 1/step so that mass is conserved on the grid even when the bandwidth is near the grid spacing
// (where sampling the continuous kernel would not sum to one).
std::vector<double> convolve_gaussian(const std::vector<double>& counts, double step, double h, double n) {
  const std::size_t g = counts.size();
  const double half_width = std::ceil(4.0 * h / step);
  const std::size_t l = std::min(g - 1, static_cast<std::size_t>(half_width));
  std::vector<double> k(l + 1);
  double total = 0.0;
  for (std::size_t m = 0; m <= l; ++m) {
    const double z = static_cast<double>(m) * step / h;
    k[m] = std::exp(-0.5 * z * z);
    total += m == 0 ? k[m] : 2.0 * k[m];
  }
  for (double& w : k) w /= total * step * n;
  std::vector<double> out(g, 0.0);
  for (std::size_t j = 0; j < g; ++j) {
    if (counts[j] == 0.0) continue;
    const std::size_t lo = j >= l ? j - l : 0;
    const std::size_t hi = std::min(g - 1, j + l);
    for (std::size_t i = lo; i <= hi; ++i) out[i] += counts[j] * k[i > j ? i - j : j - i];
  }
  return out;
}

// ------------------------------------------------------------------ 1D features

// Topographic prominence with the grid surrounded by zero density: on each side, the lowest point
// before reaching higher ground (or 0 when the walk leaves the grid); prominence = height minus
// the higher of the two.
double prominence_at(const std::vector<double>& d, std::size_t i) {
  const double h = d[i];
  double left = h;
  bool left_higher = false;
  for (std::size_t j = i; j-- > 0;) {
    if (d[j] > h) {
      left_higher = true;
      break;
    }
    left = std::min(left, d[j]);
  }
  if (!left_higher) left = 0.0;
  double right = h;
  bool right_higher = false;
  for (std::size_t j = i + 1; j < d.size(); ++j) {
    if (d[j] > h) {
      right_higher = true;
      break;
    }
    right = std::min(right, d[j]);
  }
  if (!right_higher) right = 0.0;
  return h - std::max(left, right);
}

// Sub-grid offset (in steps, within +-0.5) of the extremum of the parabola through i-1, i, i+1.
double parabola_offset(const std::vector<double>& d, std::size_t i) {
  if (i == 0 || i + 1 >= d.size()) return 0.0;
  const double a = d[i - 1], b = d[i], c = d[i + 1];
  const double denom = a - 2.0 * b + c;
  if (denom == 0.0) return 0.0;
  return std::clamp(0.5 * (a - c) / denom, -0.5, 0.5);
}

Peak make_peak(const Density1D& den, std::size_t i, bool refine) {
  Peak p;
  p.index = i;
  p.height = den.density[i];
  p.position = den.position(i) + (refine ? parabola_offset(den.density, i) * den.step : 0.0);
  p.prominence = prominence_at(den.density, i);
  return p;
}

void validate(const PeakOptions& o) {
  if (!(o.min_relative_prominence >= 0.0 && o.min_relative_prominence <= 1.0)) {
    throw std::invalid_argument("find_peaks: min_relative_prominence must be in [0, 1]");
  }
  if (!(o.min_relative_height >= 0.0 && o.min_relative_height <= 1.0)) {
    throw std::invalid_argument("find_peaks: min_relative_height must be in [0, 1]");
  }
}

}  // namespace

Density1D kde_1d(std::span<const float> values, const Mask* mask, const Kde1DOptions& options) {
  validate(options);
  require_mask_size(mask, values.size(), "kde_1d");
  Density1D out;

  // Pass 1: which events are used, their range and moments.
  const auto in_range = [&](double v) {
    return (!options.min || v >= *options.min) && (!options.max || v <= *options.max);
  };
  Moments m;
  for_each_selected(values.size(), mask, [&](std::size_t i) {
    const double v = values[i];
    if (!std::isfinite(v)) {
      ++out.tally.non_finite;
      return;
    }
    if (!in_range(v)) {
      ++out.tally.out_of_range;
      return;
    }
    if (m.n == 0) m.shift = v;
    ++m.n;
    m.min = std::min(m.min, v);
    m.max = std::max(m.max, v);
    m.sum += v - m.shift;
    m.sum2 += (v - m.shift) * (v - m.shift);
  });
  out.tally.used = m.n;
  const auto each_used = [&](auto&& f) {
    for_each_selected(values.size(), mask, [&](std::size_t i) {
      const double v = values[i];
      if (std::isfinite(v) && in_range(v)) f(v);
    });
  };

  const std::size_t g = options.grid_points;
  if (m.n == 0) {
    out.notes.push_back({"no_events", "no finite selected values in range: the density is zero"});
    const double lo = options.min.value_or(options.max ? *options.max - 1.0 : 0.0);
    const double hi = options.max.value_or(lo + 1.0);
    out.grid_min = lo;
    out.step = (hi - lo) / static_cast<double>(g - 1);
    out.bandwidth = options.bandwidth.value_or(0.0);
    out.density.assign(g, 0.0);
    return out;
  }
  if (!(m.max > m.min)) {
    out.notes.push_back({"constant_values", "all " + std::to_string(m.n) + " values equal " + num(m.min)});
  }

  // Bandwidth (pass 2 only when the rule needs the IQR).
  if (options.bandwidth) {
    out.bandwidth = *options.bandwidth;
  } else {
    const double iqr = iqr_from_histogram(m, each_used);
    out.bandwidth = options.adjust * rule_bandwidth(m, iqr, options.rule);
  }
  const double h = out.bandwidth;

  // Without an explicit range the grid reaches 4 bandwidths past the data, as far as the
  // truncated kernel does, so no estimated mass falls off the grid.
  const double lo = options.min.value_or(m.min - 4.0 * h);
  const double hi = options.max.value_or(m.max + 4.0 * h);
  out.grid_min = lo;
  out.step = (hi - lo) / static_cast<double>(g - 1);
  if (h < out.step) {
    out.notes.push_back({"bandwidth_below_grid_step", "bandwidth " + num(h) + " is below the grid step " +
                                                          num(out.step) + ": the estimate is close to a histogram"});
  }

  // Pass 3: linear binning (each value split between its two neighbouring grid points).
  std::vector<double> counts(g, 0.0);
  const double inv_step = 1.0 / out.step;
  each_used([&](double v) {
    const double p = std::clamp((v - lo) * inv_step, 0.0, static_cast<double>(g - 1));
    const std::size_t j = std::min(static_cast<std::size_t>(p), g - 2);
    const double f = p - static_cast<double>(j);
    counts[j] += 1.0 - f;
    counts[j + 1] += f;
  });
  out.density = convolve_gaussian(counts, out.step, h, static_cast<double>(m.n));
  return out;
}

std::vector<Peak> find_peaks(const Density1D& density, const PeakOptions& options) {
  validate(options);
  const std::vector<double>& d = density.density;
  std::vector<Peak> peaks;
  if (d.empty()) return peaks;
  const double top = *std::max_element(d.begin(), d.end());
  if (!(top > 0.0)) return peaks;
  // Local maxima including flat tops: a run of equal values higher than both neighbours (a grid
  // end counts as lower, since the density is zero outside the grid).
  std::size_t i = 0;
  while (i < d.size()) {
    std::size_t j = i;
    while (j + 1 < d.size() && d[j + 1] == d[i]) ++j;
    const bool left_lower = i == 0 || d[i - 1] < d[i];
    const bool right_lower = j + 1 == d.size() || d[j + 1] < d[i];
    if (left_lower && right_lower && d[i] > 0.0) {
      const std::size_t mid = i + (j - i) / 2;
      Peak p = make_peak(density, mid, i == j);
      if (p.prominence >= options.min_relative_prominence * top && p.height >= options.min_relative_height * top) {
        peaks.push_back(p);
      }
    }
    i = j + 1;
  }
  return peaks;
}

Cut1D find_valley(const Density1D& density, double a, double b) {
  Cut1D cut;
  if (!std::isfinite(a) || !std::isfinite(b)) {
    cut.note = "valley bounds must be finite";
    return cut;
  }
  if (a > b) std::swap(a, b);
  const std::vector<double>& d = density.density;
  if (d.empty() || !(density.step > 0.0)) {
    cut.note = "empty density";
    return cut;
  }
  // Grid points strictly between a and b.
  const double first_f = std::floor((a - density.grid_min) / density.step) + 1.0;
  const double last_f = std::ceil((b - density.grid_min) / density.step) - 1.0;
  const double max_index = static_cast<double>(d.size() - 1);
  const double first_c = std::max(first_f, 0.0);
  const double last_c = std::min(last_f, max_index);
  if (first_c > last_c) {
    cut.note = "no grid point between " + num(a) + " and " + num(b);
    return cut;
  }
  const auto first = static_cast<std::size_t>(first_c);
  const auto last = static_cast<std::size_t>(last_c);
  std::size_t best = first;
  for (std::size_t i = first; i <= last; ++i) {
    if (d[i] < d[best]) best = i;
  }
  // A flat minimum (e.g. an empty gap between two populations): take the middle of the run.
  std::size_t run_end = best;
  while (run_end + 1 <= last && d[run_end + 1] == d[best]) ++run_end;
  const std::size_t v = best + (run_end - best) / 2;

  std::size_t left = first;
  for (std::size_t i = first; i <= v; ++i) {
    if (d[i] > d[left]) left = i;
  }
  std::size_t right = v;
  for (std::size_t i = v; i <= last; ++i) {
    if (d[i] > d[right]) right = i;
  }
  cut.left = make_peak(density, left, true);
  cut.right = make_peak(density, right, true);
  const double low_peak = std::min(d[left], d[right]);
  if (!(low_peak > d[v])) {
    cut.note = "the density does not dip between " + num(a) + " and " + num(b) + " (monotone or empty)";
    return cut;
  }
  cut.found = true;
  cut.position = density.position(v) + (best == run_end ? parabola_offset(d, v) * density.step : 0.0);
  cut.density = d[v];
  cut.depth = 1.0 - d[v] / low_peak;
  return cut;
}

Cut1D find_valley(const Density1D& density, const PeakOptions& options) {
  std::vector<Peak> peaks = find_peaks(density, options);
  if (peaks.size() < 2) {
    Cut1D cut;
    cut.note = "fewer than two peaks (" + std::to_string(peaks.size()) + " found): no valley";
    if (peaks.size() == 1) cut.left = peaks.front();
    return cut;
  }
  // Two most prominent; ties by height, then position (deterministic).
  std::stable_sort(peaks.begin(), peaks.end(), [](const Peak& p, const Peak& q) {
    if (p.prominence != q.prominence) return p.prominence > q.prominence;
    return p.height > q.height;
  });
  Peak p = peaks[0], q = peaks[1];
  if (q.index < p.index) std::swap(p, q);
  Cut1D cut = find_valley(density, density.position(p.index), density.position(q.index));
  if (cut.found) {
    cut.left = p;
    cut.right = q;
    cut.depth = 1.0 - cut.density / std::min(p.height, q.height);
    cut.note = "between the two most prominent peaks at " + num(p.position) + " and " + num(q.position);
  }
  return cut;
}

Cut1D tail_cut(const Density1D& density, const TailCutOptions& options) {
  if (!(options.fraction > 0.0 && options.fraction < 1.0)) {
    throw std::invalid_argument("tail_cut: fraction must be in (0, 1)");
  }
  if (options.near && !std::isfinite(*options.near)) throw std::invalid_argument("tail_cut: near must be finite");
  Cut1D cut;
  const std::vector<Peak> peaks = find_peaks(density, options.peaks);
  if (peaks.empty()) {
    cut.note = "no peak: the density is zero";
    return cut;
  }
  const Peak* start = &peaks.front();
  for (const Peak& p : peaks) {
    if (options.near) {
      if (std::fabs(p.position - *options.near) < std::fabs(start->position - *options.near)) start = &p;
    } else if (p.height > start->height) {
      start = &p;
    }
  }
  (options.side == Side::right ? cut.left : cut.right) = *start;
  const std::vector<double>& d = density.density;
  const double target = options.fraction * start->height;
  const bool right = options.side == Side::right;
  std::size_t prev = start->index;
  while (right ? prev + 1 < d.size() : prev > 0) {
    const std::size_t j = right ? prev + 1 : prev - 1;
    if (d[j] <= target) {
      // Linear interpolation between the last point above the target and the first at or below it.
      const double t = d[prev] > d[j] ? (d[prev] - target) / (d[prev] - d[j]) : 1.0;
      cut.found = true;
      cut.position = density.position(prev) + (right ? t : -t) * density.step;
      cut.density = target;
      cut.note = "density falls to " + num(options.fraction) + " x the peak at " + num(start->position);
      return cut;
    }
    prev = j;
  }
  cut.note = "the density stays above " + num(options.fraction) + " x the peak at " + num(start->position) +
             " up to the grid end";
  return cut;
}

// ============================================================================== 2D

namespace {

void validate_axis(const AxisRange& r, const char* name) {
  if (!(std::isfinite(r.min) && std::isfinite(r.max) && r.min < r.max)) {
    throw std::invalid_argument(std::string("density_2d: ") + name + " range must be finite with min < max, got [" +
                                num(r.min) + ", " + num(r.max) + "]");
  }
}

void validate(const Density2DOptions& o) {
  validate_axis(o.x, "x");
  validate_axis(o.y, "y");
  constexpr std::size_t kMaxBins = 4096;
  if (o.bins_x < 8 || o.bins_y < 8 || o.bins_x > kMaxBins || o.bins_y > kMaxBins) {
    throw std::invalid_argument("density_2d: bins_x and bins_y must be in [8, 4096]");
  }
  if (!(std::isfinite(o.sigma_bins) && o.sigma_bins >= 0.0)) {
    throw std::invalid_argument("density_2d: sigma_bins must be a non-negative number");
  }
}

void validate(const ContourOptions& o) {
  if (!(o.level > 0.0 && o.level < 1.0)) throw std::invalid_argument("density_contour: level must be in (0, 1)");
  if (!(std::isfinite(o.simplify_bins) && o.simplify_bins >= 0.0)) {
    throw std::invalid_argument("density_contour: simplify_bins must be a non-negative number");
  }
  if (o.upsample < 1 || o.upsample > 16) throw std::invalid_argument("density_contour: upsample must be in [1, 16]");
  if (o.seed && !(std::isfinite(o.seed->x) && std::isfinite(o.seed->y))) {
    throw std::invalid_argument("density_contour: seed must be finite");
  }
  if (o.region && !(std::isfinite(o.region->x.min) && std::isfinite(o.region->x.max) && o.region->x.min <= o.region->x.max &&
                    std::isfinite(o.region->y.min) && std::isfinite(o.region->y.max) && o.region->y.min <= o.region->y.max)) {
    throw std::invalid_argument("density_contour: region must be finite with min <= max");
  }
}

// The upsampled grid is held in memory (doubles plus labels): keep it below 4096 x 4096 pixels.
void validate_size(const Density2D& d, const ContourOptions& o) {
  constexpr std::size_t kMaxPixels = 4096;
  const auto s = static_cast<std::size_t>(o.upsample);
  if (d.bins_x * s > kMaxPixels || d.bins_y * s > kMaxPixels) {
    throw std::invalid_argument("density_contour: the upsampled grid (" + std::to_string(d.bins_x * s) + " x " +
                                std::to_string(d.bins_y * s) + ") exceeds 4096 pixels per axis: lower upsample");
  }
}

int as_int(std::size_t v) { return static_cast<int>(v); }

// One polygon edge for the even-odd (crossing number) rule; horizontal edges never straddle a
// horizontal ray and are dropped.
struct Edge {
  double ax, ay, by, dx, dy;
};

std::vector<Edge> polygon_edges(const std::vector<Point>& v) {
  std::vector<Edge> edges;
  for (std::size_t j = 0; j < v.size(); ++j) {
    const Point& a = v[j];
    const Point& b = v[(j + 1) % v.size()];
    if (a.y == b.y) continue;
    edges.push_back({a.x, a.y, b.y, b.x - a.x, b.y - a.y});
  }
  return edges;
}

// Even-odd rule written as the PolygonGate evaluation does it (an edge counts when a.y <= y < b.y
// or b.y <= y < a.y and the point is left of the crossing), so counts here agree with the gate's.
bool in_polygon(const std::vector<Edge>& edges, double x, double y) {
  bool in = false;
  for (const Edge& e : edges) {
    const bool straddles = (e.ay <= y) != (e.by <= y);
    if (straddles && x < e.ax + (y - e.ay) * e.dx / e.dy) in = !in;
  }
  return in;
}

// in[i] = whether (x[i], y[i]) is inside, for a block of points: edges in the outer loop, points
// in the inner one, so each edge's numbers stay in registers. Same arithmetic as in_polygon().
void in_polygon_block(const std::vector<Edge>& edges, const double* x, const double* y,
                      std::size_t m, std::uint8_t* in) {
  for (std::size_t i = 0; i < m; ++i) in[i] = 0;
  for (const Edge& e : edges) {
    const double ax = e.ax, ay = e.ay, by = e.by, dx = e.dx, dy = e.dy;
    for (std::size_t i = 0; i < m; ++i) {
      const bool straddles = (ay <= y[i]) != (by <= y[i]);
      const double cross = ax + (y[i] - ay) * dx / dy;
      in[i] ^= static_cast<std::uint8_t>(straddles & (x[i] < cross));
    }
  }
}

struct Anchor {
  bool found = false;
  std::size_t ix = 0;
  std::size_t iy = 0;
  std::string note;
};

// From the seed cell, steepest ascent over the 8 neighbours until no neighbour is higher
// (neighbours in a fixed order, first strictly-highest wins: deterministic). Without a seed, the
// highest cell whose centre lies in the region (first in row-major order on ties).
Anchor find_anchor(const Density2D& den, const ContourOptions& o) {
  Anchor a;
  const std::size_t bx = den.bins_x, by = den.bins_y;
  if (o.seed) {
    const double fx = (o.seed->x - den.x.min) / den.cell_width();
    const double fy = (o.seed->y - den.y.min) / den.cell_height();
    if (!(fx >= 0.0 && fy >= 0.0 && fx <= static_cast<double>(bx) && fy <= static_cast<double>(by))) {
      a.note = "seed (" + num(o.seed->x) + ", " + num(o.seed->y) + ") lies outside the grid";
      return a;
    }
    a.ix = std::min(static_cast<std::size_t>(fx), bx - 1);
    a.iy = std::min(static_cast<std::size_t>(fy), by - 1);
    for (;;) {
      std::size_t best_x = a.ix, best_y = a.iy;
      double best = den.at(a.ix, a.iy);
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
          const auto nx = static_cast<long long>(a.ix) + dx;
          const auto ny = static_cast<long long>(a.iy) + dy;
          if ((dx == 0 && dy == 0) || nx < 0 || ny < 0 || nx >= as_int(bx) || ny >= as_int(by)) continue;
          const double v = den.at(static_cast<std::size_t>(nx), static_cast<std::size_t>(ny));
          if (v > best) {
            best = v;
            best_x = static_cast<std::size_t>(nx);
            best_y = static_cast<std::size_t>(ny);
          }
        }
      }
      if (best_x == a.ix && best_y == a.iy) break;
      a.ix = best_x;
      a.iy = best_y;
    }
  } else {
    bool any = false;
    double best = -1.0;
    for (std::size_t iy = 0; iy < by; ++iy) {
      const double cy = den.center_y(iy);
      if (o.region && !(cy >= o.region->y.min && cy <= o.region->y.max)) continue;
      for (std::size_t ix = 0; ix < bx; ++ix) {
        const double cx = den.center_x(ix);
        if (o.region && !(cx >= o.region->x.min && cx <= o.region->x.max)) continue;
        any = true;
        if (den.at(ix, iy) > best) {
          best = den.at(ix, iy);
          a.ix = ix;
          a.iy = iy;
        }
      }
    }
    if (!any) {
      a.note = "the search region holds no grid cell centre";
      return a;
    }
  }
  if (!(den.at(a.ix, a.iy) > 0.0)) {
    a.note = o.seed ? "no density at or uphill of the seed" : "no density in the search region";
    return a;
  }
  a.found = true;
  return a;
}

cv::Mat smoothed_mat(const Density2D& den) {
  // A view, not a copy: cv::Mat over the result's own storage (read-only use).
  return cv::Mat(as_int(den.bins_y), as_int(den.bins_x), CV_64F, const_cast<double*>(den.smoothed.data()));
}

// Events (raw counts) in the 8-connected region of cells with smoothed >= threshold that holds the
// anchor.
double component_mass(const Density2D& den, const Anchor& a, double threshold) {
  cv::Mat above;
  cv::compare(smoothed_mat(den), threshold, above, cv::CMP_GE);
  cv::Mat labels;
  cv::connectedComponents(above, labels, 8, CV_32S);
  const int target = labels.at<int>(as_int(a.iy), as_int(a.ix));
  if (target == 0) return 0.0;
  double mass = 0.0;
  for (std::size_t iy = 0; iy < den.bins_y; ++iy) {
    const int* row = labels.ptr<int>(as_int(iy));
    for (std::size_t ix = 0; ix < den.bins_x; ++ix) {
      if (row[ix] == target) mass += den.counts[iy * den.bins_x + ix];
    }
  }
  return mass;
}

double total_counts(const Density2D& den) {
  double t = 0.0;
  for (double c : den.counts) t += c;
  return t;
}

Contour contour_at(const Density2D& den, const Anchor& a, const ContourOptions& o) {
  Contour c;
  c.level = o.level;
  c.anchor = Point{den.center_x(a.ix), den.center_y(a.iy)};
  c.anchor_density = den.at(a.ix, a.iy);
  c.threshold = o.level * c.anchor_density;

  // Upsample bilinearly so the threshold follows the interpolated iso-line, not cell steps. With
  // OpenCV's pixel-centre convention, upsampled pixel u covers value x.min + (u + 0.5) / s * w.
  const int s = o.upsample;
  cv::Mat up;
  if (s == 1) {
    up = smoothed_mat(den);
  } else {
    cv::resize(smoothed_mat(den), up, cv::Size(as_int(den.bins_x) * s, as_int(den.bins_y) * s), 0, 0, cv::INTER_LINEAR);
  }
  cv::Mat above;
  cv::compare(up, c.threshold, above, cv::CMP_GE);
  const int ax = std::min(as_int(a.ix) * s + s / 2, up.cols - 1);
  const int ay = std::min(as_int(a.iy) * s + s / 2, up.rows - 1);
  above.at<std::uint8_t>(ay, ax) = 255;  // the anchor is above any level < 1 by definition

  // Keep only the anchor's 8-connected region (findContours sees foreground 8-connected too).
  cv::Mat labels;
  cv::connectedComponents(above, labels, 8, CV_32S);
  cv::Mat region = labels == labels.at<int>(ay, ax);
  const int last_row = region.rows - 1, last_col = region.cols - 1;
  c.touches_edge = cv::countNonZero(region.row(0)) > 0 || cv::countNonZero(region.row(last_row)) > 0 ||
                   cv::countNonZero(region.col(0)) > 0 || cv::countNonZero(region.col(last_col)) > 0;

  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(region, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
  std::vector<cv::Point> outline;
  for (const auto& k : contours) {
    if (k.size() > outline.size()) outline = k;  // one region: one outer contour (largest for safety)
  }
  c.raw_vertices = outline.size();
  std::vector<cv::Point2d> vertices;
  if (outline.size() >= 3 && cv::contourArea(outline) > 0.0) {
    std::vector<cv::Point> simplified;
    if (o.simplify_bins > 0.0) cv::approxPolyDP(outline, simplified, o.simplify_bins * s, true);
    const std::vector<cv::Point>& use = simplified.size() >= 3 ? simplified : outline;
    for (const cv::Point& p : use) vertices.emplace_back(p.x, p.y);
  } else {
    // A region one pixel thick (a dot or a line) has no area as a contour through pixel centres:
    // use its bounding box grown by half a pixel (the pixels' own squares) instead.
    const cv::Rect r = cv::boundingRect(region);
    const double x0 = r.x - 0.5, y0 = r.y - 0.5, x1 = r.x + r.width - 0.5, y1 = r.y + r.height - 0.5;
    vertices = {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}};
  }
  const double w = den.cell_width() / s, h = den.cell_height() / s;
  for (const cv::Point2d& p : vertices) {
    c.polygon.push_back(Point{den.x.min + (p.x + 0.5) * w, den.y.min + (p.y + 0.5) * h});
  }
  c.found = true;
  c.grid_fraction = grid_fraction_inside(den, c.polygon);
  if (c.touches_edge) c.note = "the region above the level reaches the grid border; the contour is clipped there";
  return c;
}

}  // namespace

Density2D density_2d(std::span<const float> x, std::span<const float> y, const Mask* mask,
                     const Density2DOptions& options) {
  validate(options);
  if (x.size() != y.size()) {
    throw std::invalid_argument("density_2d: x has " + std::to_string(x.size()) + " values, y has " +
                                std::to_string(y.size()));
  }
  require_mask_size(mask, x.size(), "density_2d");
  Density2D d;
  d.x = options.x;
  d.y = options.y;
  d.bins_x = options.bins_x;
  d.bins_y = options.bins_y;
  d.sigma_bins = options.sigma_bins;
  d.counts.assign(d.bins_x * d.bins_y, 0.0);
  const double sx = static_cast<double>(d.bins_x) / (d.x.max - d.x.min);
  const double sy = static_cast<double>(d.bins_y) / (d.y.max - d.y.min);
  const double last_x = static_cast<double>(d.bins_x - 1), last_y = static_cast<double>(d.bins_y - 1);
  for_each_selected(x.size(), mask, [&](std::size_t i) {
    const double vx = x[i], vy = y[i];
    if (!std::isfinite(vx) || !std::isfinite(vy)) {
      ++d.tally.non_finite;
      return;
    }
    if (vx < d.x.min || vx > d.x.max || vy < d.y.min || vy > d.y.max) {
      ++d.tally.out_of_range;  // excluded, not clamped: piled-up saturated events would fake edge peaks
      return;
    }
    const auto ix = static_cast<std::size_t>(std::min((vx - d.x.min) * sx, last_x));
    const auto iy = static_cast<std::size_t>(std::min((vy - d.y.min) * sy, last_y));
    d.counts[iy * d.bins_x + ix] += 1.0;
    ++d.tally.used;
  });
  if (d.tally.used == 0) d.notes.push_back({"no_events", "no selected events with finite x and y in range"});

  d.smoothed.assign(d.counts.size(), 0.0);
  const cv::Mat src(as_int(d.bins_y), as_int(d.bins_x), CV_64F, d.counts.data());
  cv::Mat dst(as_int(d.bins_y), as_int(d.bins_x), CV_64F, d.smoothed.data());
  if (d.sigma_bins > 0.0) {
    cv::GaussianBlur(src, dst, cv::Size(0, 0), d.sigma_bins, d.sigma_bins, cv::BORDER_CONSTANT);
  } else {
    src.copyTo(dst);
  }
  if (dst.data != reinterpret_cast<uchar*>(d.smoothed.data())) {
    throw std::logic_error("density_2d: OpenCV reallocated the output grid");  // cannot happen: same size/type
  }
  return d;
}

Contour density_contour(const Density2D& density, const ContourOptions& options) {
  validate(options);
  validate_size(density, options);
  Contour c;
  c.level = options.level;
  if (density.tally.used == 0) {
    c.note = "no events in the histogram";
    return c;
  }
  const Anchor a = find_anchor(density, options);
  if (!a.found) {
    c.note = a.note;
    return c;
  }
  return contour_at(density, a, options);
}

Contour contour_for_fraction(const Density2D& density, double fraction, const ContourOptions& options) {
  if (!(fraction > 0.0 && fraction <= 1.0)) throw std::invalid_argument("contour_for_fraction: fraction must be in (0, 1]");
  ContourOptions o = options;
  o.level = 0.5;  // placeholder for validation; the level is searched below
  validate(o);
  validate_size(density, o);
  Contour c;
  if (density.tally.used == 0) {
    c.note = "no events in the histogram";
    return c;
  }
  const Anchor a = find_anchor(density, o);
  if (!a.found) {
    c.note = a.note;
    return c;
  }
  const double peak = density.at(a.ix, a.iy);
  const double goal = fraction * total_counts(density);
  // Mass of the anchor's region falls as the level rises (nested super-level sets): bisect for
  // the highest level that still holds the goal.
  double lo = 1e-9, hi = 1.0;
  std::string note;
  if (component_mass(density, a, lo * peak) < goal) {
    hi = lo;
    note = "even the lowest level holds less than the requested fraction (other populations are not connected)";
  } else {
    for (int step = 0; step < 40; ++step) {
      const double mid = 0.5 * (lo + hi);
      if (component_mass(density, a, mid * peak) >= goal) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
  }
  o.level = std::min(lo, 1.0 - 1e-12);
  c = contour_at(density, a, o);
  if (!note.empty()) c.note = note + (c.note.empty() ? "" : "; " + c.note);
  return c;
}

InsideCount count_inside(std::span<const float> x, std::span<const float> y, const Mask* mask,
                         const std::vector<Point>& polygon) {
  if (x.size() != y.size()) {
    throw std::invalid_argument("count_inside: x has " + std::to_string(x.size()) + " values, y has " +
                                std::to_string(y.size()));
  }
  require_mask_size(mask, x.size(), "count_inside");
  if (polygon.size() < 3) throw std::invalid_argument("count_inside: a polygon needs at least 3 vertices");
  // Bounding box first: most events of a sample are far from any one population's contour.
  double x0 = polygon[0].x, x1 = x0, y0 = polygon[0].y, y1 = y0;
  for (const Point& p : polygon) {
    x0 = std::min(x0, p.x);
    x1 = std::max(x1, p.x);
    y0 = std::min(y0, p.y);
    y1 = std::max(y1, p.y);
  }
  const std::vector<Edge> edges = polygon_edges(polygon);
  // Candidates inside the box are gathered in blocks and tested edge by edge.
  constexpr std::size_t kBlock = 4096;
  std::vector<double> bx, by;
  std::vector<std::uint8_t> in(kBlock);
  bx.reserve(kBlock);
  by.reserve(kBlock);
  InsideCount n;
  const auto flush = [&] {
    in_polygon_block(edges, bx.data(), by.data(), bx.size(), in.data());
    for (std::size_t i = 0; i < bx.size(); ++i) n.inside += in[i];
    bx.clear();
    by.clear();
  };
  for_each_selected(x.size(), mask, [&](std::size_t i) {
    const double vx = x[i], vy = y[i];
    if (!std::isfinite(vx) || !std::isfinite(vy)) return;
    ++n.total;
    if (vx < x0 || vx > x1 || vy < y0 || vy > y1) return;
    bx.push_back(vx);
    by.push_back(vy);
    if (bx.size() == kBlock) flush();
  });
  flush();
  return n;
}

double grid_fraction_inside(const Density2D& density, const std::vector<Point>& polygon) {
  if (polygon.size() < 3) throw std::invalid_argument("grid_fraction_inside: a polygon needs at least 3 vertices");
  const std::vector<Edge> edges = polygon_edges(polygon);
  double inside = 0.0, total = 0.0;
  for (std::size_t iy = 0; iy < density.bins_y; ++iy) {
    for (std::size_t ix = 0; ix < density.bins_x; ++ix) {
      const double c = density.counts[iy * density.bins_x + ix];
      if (c == 0.0) continue;
      total += c;
      if (in_polygon(edges, density.center_x(ix), density.center_y(iy))) inside += c;
    }
  }
  return total > 0.0 ? inside / total : 0.0;
}

PolygonGate to_polygon_gate(const Contour& contour, Dimension x, Dimension y) {
  if (!contour.found || contour.polygon.size() < 3) {
    throw std::invalid_argument("to_polygon_gate: the contour was not found" +
                                (contour.note.empty() ? std::string() : " (" + contour.note + ")"));
  }
  PolygonGate g;
  g.x = std::move(x);
  g.y = std::move(y);
  g.vertices = contour.polygon;
  return g;
}

}  // namespace flowmrd::gating
