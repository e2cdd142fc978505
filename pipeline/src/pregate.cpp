// SPDX-License-Identifier: Apache-2.0
// Automated pre-gating of one tube (docs/pregating.md). Every gate is placed from this sample's
// own densities; the constants below are relative (fractions of a peak, distances in decades
// between populations), never coordinates of a particular instrument.
//
// Scale: densities of scatter and the DNA dye use flowmrd's model scale (asinh(x / 150) / ln 10,
// about log10 for bright values), in which populations are roughly symmetric and a change of
// cell size is a shift; gates found there are recorded in that scale ("model") so they can be
// drawn where they were found. The doublet gate is a line through the origin in linear
// FSC-A x FSC-H, recorded there.
#include "flowmrd/pipeline/pregate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "flowmrd/gating/density.hpp"
#include "pregate_internal.hpp"

namespace flowmrd::pipeline {

namespace {

using detail::build_mask;
using detail::num;
using detail::percent;

constexpr double kInf = std::numeric_limits<double>::infinity();

// --- Margin: saturated scatter is at or above this share of $PnR.
constexpr double kMarginShare = 0.999;

// Below this many events the density gates are not attempted: every gate stays open.
constexpr std::size_t kMinEventsForGates = 200;

// --- Debris (1D on model FSC-A).
// All local maxima above this share of the highest (the density's own wiggles are below).
constexpr double kAnyPeak = 0.001;
// A debris bump: prominence at least this share of its own height, height at least this share
// of the highest peak.
constexpr double kDebrisOwnProminence = 0.1;
constexpr double kDebrisMinHeight = 0.002;
// The smallest cells' body ends where their density falls to this share of their peak; the
// debris cut never goes right of it.
constexpr double kCellBody = 0.1;
// A cell population's peak is at least this share of the highest peak ("major").
constexpr double kMajorPeak = 0.1;
// Nucleated populations span at most this many decades of FSC (small lymphocytes to eosinophils:
// ~0.55); a major peak further left of the highest one is debris, not the smallest cells.
constexpr double kCellSpan = 0.5;
// Debris lies at least this far (decades) left of the smallest major cell population.
constexpr double kDebrisGap = 0.3;
// Without a debris bump, cut where the density left of the smallest cells falls to this share of
// their peak.
constexpr double kDebrisTail = 0.005;

// --- Doublets (1D on FSC-H / FSC-A).
constexpr double kRatioPeakProminence = 0.01;
// Singlet populations have FSC-H/FSC-A within this factor of the main singlet mode; a doublet's
// ratio is about half a singlet's (two areas, one height).
constexpr double kSingletBand = 0.85;
constexpr double kDoubletTail = 0.005;

// --- Dead cells (per SSC band, the lower FSC boundary of the live populations).
constexpr std::size_t kDeadBinsX = 160;
constexpr std::size_t kDeadBinsY = 96;
constexpr double kDeadSigmaBins = 1.5;
// An SSC band is analysed when its densest cell holds this share of the plot's densest cell;
// thinner bands (debris-only, far tails, gaps) take their boundary from analysed bands.
constexpr double kBandValid = 0.05;
// Peaks in a band: prominence at least this share of the band's highest density.
constexpr double kBandPeakProminence = 0.05;
// The band's reference live population: the right-most peak at least this share of the band's
// highest (dying cells lose FSC, so the live population of a band is right of its dead shadow).
constexpr double kBandMajorPeak = 0.2;
// Peaks within this distance (decades of FSC) left of the reference are live populations too
// (lymphocytes vs. erythroblasts vs. myeloid cells differ by up to ~1.6x in FSC); further left is
// a dead-cell shadow (dying cells keep about half their FSC: -0.35 decades).
constexpr double kLiveSpread = 0.25;
// The boundary: walking left from the left-most live peak, the first point where the density
// falls to this share of that peak or a valley before the next cluster.
constexpr double kDeadTail = 0.03;
constexpr std::size_t kBandSmoothRows = 5;

// --- DNA dye.
constexpr double kDnaPeakProminence = 0.02;
// Dye-negative events (debris) are at least this many decades below the nucleated peak.
constexpr double kDnaGap = 0.5;
constexpr double kDnaTail = 0.01;

gating::Dimension dim_of(const std::string& label) {
  gating::Dimension d;
  d.channel = label;
  return d;
}

std::string label_of(const gating::Frame& frame, int c, const char* fallback) {
  if (c < 0) return fallback;
  const auto& col = frame.column(static_cast<std::size_t>(c));
  if (col.marker && !col.marker->empty() && *col.marker != col.name) return *col.marker + " (" + col.name + ")";
  return col.name.empty() ? std::string(fallback) : col.name;
}

// The q-quantiles of values[i] over the events set in `mask`, from a strided sample of at most
// ~200k events (plenty for plot ranges).
std::vector<double> quantiles(const std::vector<float>& values, const gating::Mask* mask, std::vector<double> qs) {
  const std::size_t selected = mask != nullptr ? mask->count() : values.size();
  const std::size_t stride = std::max<std::size_t>(1, selected / 200000);
  std::vector<float> s;
  s.reserve(selected / stride + 1);
  std::size_t k = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if ((mask != nullptr && !mask->test(i)) || !std::isfinite(values[i])) continue;
    if (k++ % stride == 0) s.push_back(values[i]);
  }
  std::vector<double> out;
  for (double q : qs) {
    if (s.empty()) {
      out.push_back(std::numeric_limits<double>::quiet_NaN());
      continue;
    }
    const auto pos = static_cast<std::size_t>(std::llround(q * static_cast<double>(s.size() - 1)));
    std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(pos), s.end());
    out.push_back(s[pos]);
  }
  return out;
}

// Densities rest on at most this many events: a strided sample of the parent (by event index, so
// deterministic) estimates them as well as all events of a large file would, at a fraction of the
// cost. Gating decisions are then applied to every event.
constexpr std::size_t kDensityEvents = 250000;

// Every stride-th event of `mask`, stride = ceil(count / kDensityEvents).
std::vector<std::size_t> density_sample(const gating::Mask& mask) {
  const std::size_t count = mask.count();
  const std::size_t stride = std::max<std::size_t>(1, (count + kDensityEvents - 1) / kDensityEvents);
  std::vector<std::size_t> idx;
  idx.reserve(count / stride + 1);
  std::size_t k = 0;
  const auto& words = mask.words();
  for (std::size_t w = 0; w < words.size(); ++w) {
    for (std::uint64_t bits = words[w]; bits != 0; bits &= bits - 1) {
      if (k++ % stride == 0) idx.push_back(w * 64 + static_cast<std::size_t>(__builtin_ctzll(bits)));
    }
  }
  return idx;
}

template <class F>
std::vector<float> gather(const std::vector<std::size_t>& idx, F&& value) {
  std::vector<float> out(idx.size());
  for (std::size_t j = 0; j < idx.size(); ++j) out[j] = value(idx[j]);
  return out;
}

std::string kept_text(std::size_t kept, std::size_t parent) {
  return "kept " + std::to_string(kept) + " of " + std::to_string(parent) + " (" + percent(kept, parent) + ")";
}

// A 1D "x >= cut" gate in model scale.
PlacedGate lower_cut_gate(std::string population, std::string parent, int column, const std::string& label, double cut) {
  PlacedGate g;
  g.population = std::move(population);
  g.parent = std::move(parent);
  g.x = GateAxis{column, label, "model"};
  gating::RectangleGate r;
  r.dimensions.push_back(dim_of(label));
  r.ranges.push_back({std::isfinite(cut) ? std::optional<double>(cut) : std::nullopt, std::nullopt});
  g.gate = r;
  return g;
}

const gating::Peak* highest(const std::vector<gating::Peak>& peaks) {
  const gating::Peak* best = nullptr;
  for (const auto& p : peaks) {
    if (best == nullptr || p.height > best->height) best = &p;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Debris: the valley between the debris peak and the smallest cells on model FSC-A.
struct Cut {
  double position = -kInf;  // -inf: gate open
  std::string method;
  std::string note;
};

Cut debris_cut(const std::vector<float>& mf) {
  Cut c;
  const auto d = gating::kde_1d(mf, nullptr, {});
  // Debris is a low, broad bump on a plateau that dying cells fill, so its prominence is small
  // against the cell peaks: find every local maximum and judge each against its own height.
  const auto peaks = gating::find_peaks(d, {kAnyPeak, 0.0});
  const gating::Peak* top = highest(peaks);
  if (top == nullptr) {
    c.method = "open (no FSC-A density)";
    c.note = "no FSC-A density: debris not excluded";
    return c;
  }
  // The smallest cell population with a major peak; debris is a separate bump well left of it.
  // Cell populations lie within kCellSpan of the highest peak; at high debris fractions the
  // debris bump itself is a major peak, but far left of the cells.
  const gating::Peak* cells = nullptr;
  for (const auto& p : peaks) {
    if (p.height >= kMajorPeak * top->height && p.position >= top->position - kCellSpan) {
      cells = &p;
      break;
    }
  }
  if (cells == nullptr) cells = top;
  const gating::Peak* debris = nullptr;
  for (const auto& p : peaks) {
    const bool bump = p.prominence >= kDebrisOwnProminence * p.height && p.height >= kDebrisMinHeight * top->height;
    if (bump && p.position < cells->position - kDebrisGap && (debris == nullptr || p.prominence > debris->prominence)) {
      debris = &p;
    }
  }
  // Where the smallest cells' own body ends on the left: the valley may not cut into it.
  gating::TailCutOptions body;
  body.side = gating::Side::left;
  body.fraction = kCellBody;
  body.near = cells->position;
  body.peaks = {kAnyPeak, 0.0};
  const auto edge = gating::tail_cut(d, body);
  if (debris != nullptr) {
    const auto v = gating::find_valley(d, debris->position, cells->position);
    if (v.found) {
      // (An edge left of the debris peak means the walk ran through the debris plateau.)
      c.position = edge.found && edge.position > debris->position ? std::min(v.position, edge.position) : v.position;
      c.method = "1D valley on FSC-A (model scale)";
      c.note = "valley depth " + num(v.depth, 2) + " between debris at " + num(debris->position, 3) +
               " and the smallest cells at " + num(cells->position, 3) + " (model FSC-A)";
      if (c.position < v.position) c.note += "; moved left to the cells' edge at " + num(c.position, 3);
      return c;
    }
  }
  gating::TailCutOptions to = body;
  to.fraction = kDebrisTail;
  const auto tail = gating::tail_cut(d, to);
  if (tail.found) {
    c.position = tail.position;
    c.method = "1D tail cut on FSC-A (model scale)";
    c.note = "no separate debris peak: cut where the density falls to " + num(kDebrisTail * 100, 2) +
             "% of the smallest cells' peak at " + num(cells->position, 3);
    return c;
  }
  c.method = "open (no debris peak, no tail)";
  c.note = "no debris peak and no low-FSC tail: debris not excluded";
  return c;
}

// ---------------------------------------------------------------------------------------------
// Doublets: FSC-H / FSC-A; the valley between the doublets' ratio and the singlets' lowest mode.
struct RatioCut {
  double ratio = 0.0;  // singlets: FSC-H >= ratio x FSC-A; 0 = gate open (for positive FSC-A)
  std::string method;
  std::string note;
};

RatioCut doublet_cut(const std::vector<float>& ratio) {
  RatioCut c;
  const auto med = quantiles(ratio, nullptr, {0.5});
  if (!(med[0] > 0)) {
    c.method = "open (no FSC-H/FSC-A ratio)";
    c.note = "FSC-H/FSC-A not positive: doublets not excluded";
    return c;
  }
  gating::Kde1DOptions ko;
  ko.min = 0.0;
  ko.max = 2.0 * med[0];
  const auto d = gating::kde_1d(ratio, nullptr, ko);
  const auto peaks = gating::find_peaks(d, {kRatioPeakProminence, 0.0});
  const gating::Peak* top = highest(peaks);
  if (top == nullptr) {
    c.method = "open (no ratio density)";
    c.note = "no FSC-H/FSC-A density: doublets not excluded";
    return c;
  }
  // Left-most singlet mode (large cells have a lower ratio than lymphocytes), then the highest
  // peak clearly below it: the doublets.
  const gating::Peak* singlet = top;
  for (const auto& p : peaks) {
    if (p.position >= kSingletBand * top->position && p.height >= kMajorPeak * top->height) {
      singlet = &p;
      break;
    }
  }
  const gating::Peak* doublet = nullptr;
  for (const auto& p : peaks) {
    if (p.position < kSingletBand * singlet->position && (doublet == nullptr || p.height > doublet->height)) doublet = &p;
  }
  if (doublet != nullptr) {
    const auto v = gating::find_valley(d, doublet->position, singlet->position);
    if (v.found) {
      c.ratio = v.position;
      c.method = "1D valley on FSC-H/FSC-A";
      c.note = "valley depth " + num(v.depth, 2) + " between doublets at ratio " + num(doublet->position, 3) +
               " and singlets at " + num(singlet->position, 3);
      return c;
    }
  }
  gating::TailCutOptions to;
  to.side = gating::Side::left;
  to.fraction = kDoubletTail;
  to.near = singlet->position;
  to.peaks = {kRatioPeakProminence, 0.0};
  const auto tail = gating::tail_cut(d, to);
  if (tail.found && tail.position > 0) {
    c.ratio = tail.position;
    c.method = "1D tail cut on FSC-H/FSC-A";
    c.note = "no doublet peak: cut where the ratio density falls to " + num(kDoubletTail * 100, 2) +
             "% of the singlet peak at " + num(singlet->position, 3);
    return c;
  }
  c.method = "open (no doublet peak, no tail)";
  c.note = "no doublet peak and no low-ratio tail: doublets not excluded";
  return c;
}

// ---------------------------------------------------------------------------------------------
// Dead cells: per SSC band, the lower FSC boundary of the live populations.
struct BandBoundary {
  bool found = false;
  std::vector<double> rows_y;    // model SSC of each band's centre
  std::vector<double> cuts;      // model FSC boundary per band
  std::size_t analysed = 0;      // bands with their own boundary
  std::string note;
};

BandBoundary dead_boundary(const std::vector<float>& mf, const std::vector<float>& ms, const gating::Mask& range_of) {
  BandBoundary b;
  // The plot spans the cells (`range_of`); the density counts every event given (see the caller).
  const auto qx = quantiles(mf, &range_of, {0.001, 0.999});
  const auto qy = quantiles(ms, &range_of, {0.001, 0.999});
  if (!std::isfinite(qx[0]) || !std::isfinite(qy[0])) {
    b.note = "no events with finite scatter";
    return b;
  }
  auto pad = [](double lo, double hi) {
    const double span = hi - lo;
    if (!(span > 1e-6)) return gating::AxisRange{lo - 0.5, hi + 0.5};
    return gating::AxisRange{lo - 0.1 * span, hi + 0.1 * span};
  };
  gating::Density2DOptions o;
  o.x = pad(qx[0], qx[1]);
  o.y = pad(qy[0], qy[1]);
  o.bins_x = kDeadBinsX;
  o.bins_y = kDeadBinsY;
  o.sigma_bins = kDeadSigmaBins;
  const auto d2 = gating::density_2d(mf, ms, nullptr, o);
  const double global = *std::max_element(d2.smoothed.begin(), d2.smoothed.end());
  if (!(global > 0)) {
    b.note = "empty FSC-A x SSC-A density";
    return b;
  }
  const std::size_t nx = d2.bins_x;
  const std::size_t ny = d2.bins_y;
  std::vector<double> cut(ny, std::numeric_limits<double>::quiet_NaN());
  for (std::size_t iy = 0; iy < ny; ++iy) {
    gating::Density1D row;
    row.grid_min = d2.center_x(0);
    row.step = d2.cell_width();
    row.density.assign(d2.smoothed.begin() + static_cast<std::ptrdiff_t>(iy * nx),
                       d2.smoothed.begin() + static_cast<std::ptrdiff_t>((iy + 1) * nx));
    const double top = *std::max_element(row.density.begin(), row.density.end());
    if (!(top >= kBandValid * global)) continue;
    const auto peaks = gating::find_peaks(row, {kBandPeakProminence, 0.0});
    const gating::Peak* ref = nullptr;
    for (const auto& p : peaks) {
      if (p.height >= kBandMajorPeak * top) ref = &p;  // ordered left to right: keeps the right-most
    }
    if (ref == nullptr) continue;
    const gating::Peak* live = ref;
    for (const auto& p : peaks) {
      if (p.position >= ref->position - kLiveSpread) {
        live = &p;
        break;
      }
    }
    // Left of the left-most live peak: where its density falls to kDeadTail of its height, or
    // the valley before a cluster further left (dead cells, debris), whichever comes first.
    gating::TailCutOptions to;
    to.side = gating::Side::left;
    to.fraction = kDeadTail;
    to.near = live->position;
    to.peaks = {kBandPeakProminence, 0.0};
    const auto tail = gating::tail_cut(row, to);
    double pos = tail.found ? tail.position : row.position(0);
    const gating::Peak* left = nullptr;
    for (const auto& p : peaks) {
      if (p.position < live->position) left = &p;
    }
    if (left != nullptr) {
      const auto v = gating::find_valley(row, left->position, live->position);
      if (v.found && v.position > pos) pos = v.position;
    }
    cut[iy] = pos;
    ++b.analysed;
  }
  if (b.analysed == 0) {
    b.note = "no SSC band with a live population";
    return b;
  }
  // Bands without their own boundary: between two analysed bands the higher of their boundaries
  // (such a gap between, say, lymphocytes and myeloid cells holds few live cells but the dead
  // shadow of the band below); beyond the last analysed band on either side, that band's.
  std::vector<double> filled(ny);
  for (std::size_t iy = 0; iy < ny; ++iy) {
    if (std::isfinite(cut[iy])) {
      filled[iy] = cut[iy];
      continue;
    }
    double below = std::numeric_limits<double>::quiet_NaN();
    double above = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t k = iy; k-- > 0;) {
      if (std::isfinite(cut[k])) {
        below = cut[k];
        break;
      }
    }
    for (std::size_t k = iy + 1; k < ny; ++k) {
      if (std::isfinite(cut[k])) {
        above = cut[k];
        break;
      }
    }
    filled[iy] = !std::isfinite(below) ? above : !std::isfinite(above) ? below : std::max(below, above);
  }
  // A running median over neighbouring bands: one noisy band must not notch the boundary.
  b.cuts.resize(ny);
  const std::size_t half = kBandSmoothRows / 2;
  for (std::size_t iy = 0; iy < ny; ++iy) {
    std::vector<double> w;
    for (std::size_t k = iy >= half ? iy - half : 0; k <= std::min(ny - 1, iy + half); ++k) w.push_back(filled[k]);
    std::nth_element(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(w.size() / 2), w.end());
    b.cuts[iy] = w[w.size() / 2];
  }
  b.rows_y.resize(ny);
  for (std::size_t iy = 0; iy < ny; ++iy) b.rows_y[iy] = d2.center_y(iy);
  b.found = true;
  b.note = std::to_string(b.analysed) + " of " + std::to_string(ny) + " SSC bands analysed";
  return b;
}

// The boundary at model SSC y: linear between band centres, constant beyond the ends.
double boundary_at(const BandBoundary& b, double y) {
  const auto& ys = b.rows_y;
  if (!(y > ys.front())) return b.cuts.front();
  if (!(y < ys.back())) return b.cuts.back();
  const double step = (ys.back() - ys.front()) / static_cast<double>(ys.size() - 1);
  const auto k = std::min(ys.size() - 2, static_cast<std::size_t>((y - ys.front()) / step));
  const double t = (y - ys[k]) / step;
  return b.cuts[k] + t * (b.cuts[k + 1] - b.cuts[k]);
}

// ---------------------------------------------------------------------------------------------
// DNA dye: the valley between dye-negative (debris) and dye-positive (nucleated) events.
Cut dna_cut(const std::vector<float>& md) {
  Cut c;
  const auto d = gating::kde_1d(md, nullptr, {});
  const auto peaks = gating::find_peaks(d, {kDnaPeakProminence, 0.0});
  const gating::Peak* top = highest(peaks);
  if (top == nullptr) {
    c.method = "open (no dye density)";
    c.note = "no DNA-dye density: nucleated = viable";
    return c;
  }
  const gating::Peak* pos = top;
  for (const auto& p : peaks) {
    if (p.height >= kMajorPeak * top->height) pos = &p;  // right-most major peak
  }
  const gating::Peak* neg = nullptr;
  for (const auto& p : peaks) {
    if (p.position < pos->position - kDnaGap && (neg == nullptr || p.height > neg->height)) neg = &p;
  }
  if (neg != nullptr) {
    const auto v = gating::find_valley(d, neg->position, pos->position);
    if (v.found) {
      c.position = v.position;
      c.method = "1D valley on the DNA dye (model scale)";
      c.note = "valley depth " + num(v.depth, 2) + " between dye-negative events at " + num(neg->position, 3) +
               " and nucleated cells at " + num(pos->position, 3);
      return c;
    }
  }
  gating::TailCutOptions to;
  to.side = gating::Side::left;
  to.fraction = kDnaTail;
  to.near = pos->position;
  to.peaks = {kDnaPeakProminence, 0.0};
  const auto tail = gating::tail_cut(d, to);
  if (tail.found) {
    c.position = tail.position;
    c.method = "1D tail cut on the DNA dye (model scale)";
    c.note = "no dye-negative peak: cut where the density falls to " + num(kDnaTail * 100, 2) +
             "% of the nucleated peak at " + num(pos->position, 3);
    return c;
  }
  c.method = "open (no dye-negative peak, no tail)";
  c.note = "no dye-negative peak and no tail: nucleated = viable";
  return c;
}

void check_column(const gating::Frame& frame, int c, const char* what, bool required) {
  if (c < 0) {
    if (required) throw std::invalid_argument(std::string("pregate: ") + what + " column is required");
    return;
  }
  if (static_cast<std::size_t>(c) >= frame.cols()) {
    throw std::invalid_argument(std::string("pregate: ") + what + " column " + std::to_string(c) +
                                " is out of range (the frame has " + std::to_string(frame.cols()) + " columns)");
  }
}

}  // namespace

PregateResult pregate(const gating::Frame& frame, const PregateChannels& ch, const PregateOptions& options) {
  check_column(frame, ch.fsc_a, "FSC-A", true);
  check_column(frame, ch.ssc_a, "SSC-A", true);
  check_column(frame, ch.fsc_h, "FSC-H", false);
  check_column(frame, ch.time, "Time", false);
  check_column(frame, ch.dna, "DNA dye", false);
  for (int c : ch.fluorescence) check_column(frame, c, "fluorescence", true);

  const unsigned threads = options.threads;
  const std::size_t n = frame.rows();

  PregateResult r;
  if (n == 0) {
    r.qc_pass = r.non_margin = r.cells = r.singlets = r.viable = r.nucleated = gating::Mask(0);
    r.notes.push_back("no events: nothing to pre-gate");
    return r;
  }
  const std::string fsc_label = label_of(frame, ch.fsc_a, "FSC-A");
  const std::string ssc_label = label_of(frame, ch.ssc_a, "SSC-A");
  const auto& fa = frame.column(static_cast<std::size_t>(ch.fsc_a)).values;
  const auto& sa = frame.column(static_cast<std::size_t>(ch.ssc_a)).values;

  // 1. Acquisition QC over Time.
  if (ch.time >= 0) {
    auto qc = detail::time_qc(frame, ch, threads);
    r.qc_pass = std::move(qc.keep);
    r.anomalies = std::move(qc.anomalies);
    r.notes.insert(r.notes.end(), qc.notes.begin(), qc.notes.end());
    for (auto& g : qc.gates) r.gates.push_back(std::move(g));
    for (const auto& a : r.anomalies) r.notes.push_back(a.message);
  } else {
    r.qc_pass = gating::Mask(n, true);
    r.notes.push_back("no Time channel: acquisition QC (flow rate, signal stability) skipped");
  }

  // 2. Margin events: scatter at or above 99.9% of $PnR.
  {
    struct Limit {
      int column;
      double max;
    };
    std::vector<Limit> limits;
    for (int c : {ch.fsc_a, ch.fsc_h, ch.ssc_a}) {
      if (c >= 0 && static_cast<std::size_t>(c) < ch.ranges.size() && ch.ranges[static_cast<std::size_t>(c)] > 0) {
        limits.push_back({c, kMarginShare * ch.ranges[static_cast<std::size_t>(c)]});
      }
    }
    if (limits.empty()) {
      r.non_margin = r.qc_pass;
      r.notes.push_back("no $PnR ranges for the scatter channels: margin events not checked");
    } else {
      const auto& qc = r.qc_pass;
      std::vector<const gating::ColumnValues*> cols;
      for (const auto& l : limits) cols.push_back(&frame.column(static_cast<std::size_t>(l.column)).values);
      r.non_margin = build_mask(n, threads, [&](std::size_t i) {
        if (!qc.test(i)) return false;
        for (std::size_t k = 0; k < limits.size(); ++k) {
          if ((*cols[k])[i] >= limits[k].max) return false;
        }
        return true;
      });
      PlacedGate g;
      g.population = "non_margin";
      g.parent = "qc_pass";
      gating::RectangleGate rect;
      std::string note;
      for (const auto& l : limits) {
        const std::string label = label_of(frame, l.column, "scatter");
        rect.dimensions.push_back(dim_of(label));
        rect.ranges.push_back({std::nullopt, l.max});
        note += (note.empty() ? "" : ", ") + label + " < " + num(l.max, 6);
      }
      g.x = GateAxis{ch.fsc_a, fsc_label, "linear"};
      g.y = GateAxis{ch.ssc_a, ssc_label, "linear"};
      g.gate = rect;
      g.method = "margin: scatter below 99.9% of $PnR";
      g.note = note + "; " + kept_text(r.non_margin.count(), r.qc_pass.count());
      r.gates.push_back(std::move(g));
    }
  }

  const std::size_t live_events = r.non_margin.count();
  if (live_events < kMinEventsForGates) {
    r.cells = r.singlets = r.viable = r.nucleated = r.non_margin;
    r.notes.push_back("too few events (" + std::to_string(live_events) + ", need " +
                      std::to_string(kMinEventsForGates) +
                      ") to place density gates: debris, doublet, dead-cell and dye gates left open");
    return r;
  }


  // 3. Debris: low FSC-A.
  {
    const auto idx = density_sample(r.non_margin);
    const auto cut = debris_cut(gather(idx, [&](std::size_t i) { return model_scale_f(fa[i]); }));
    const auto& nm = r.non_margin;
    // model(FSC-A) >= cut, compared on the linear values (the model scale is monotone).
    const double lin = std::isfinite(cut.position) ? model_scale_inverse(cut.position) : -kInf;
    r.cells = build_mask(n, threads, [&](std::size_t i) {
      return nm.test(i) && static_cast<double>(fa[i]) >= lin && std::isfinite(sa[i]);
    });
    PlacedGate g = lower_cut_gate("cells", "non_margin", ch.fsc_a, fsc_label, cut.position);
    g.method = cut.method;
    g.note = cut.note + (std::isfinite(cut.position) ? "; cut at " + num(cut.position, 4) + " (model) = " +
                                                           num(model_scale_inverse(cut.position), 5) + " (linear)"
                                                     : std::string()) +
             "; " + kept_text(r.cells.count(), nm.count());
    if (cut.method.find("valley") == std::string::npos) r.notes.push_back("debris: " + cut.note);
    r.gates.push_back(std::move(g));
  }

  // 4. Doublets: FSC-H / FSC-A. `single_rule` is every non-margin event that passes the doublet
  // rule, debris included: the dead-cell density is taken there (see step 5).
  gating::Mask single_rule = r.non_margin;
  if (ch.fsc_h < 0) {
    r.singlets = r.cells;
    r.notes.push_back("no FSC-H channel: doublets not excluded");
  } else {
    const auto& fh = frame.column(static_cast<std::size_t>(ch.fsc_h)).values;
    const auto idx = density_sample(r.cells);
    const auto cut = doublet_cut(gather(idx, [&](std::size_t i) {
      return fa[i] > 0 ? fh[i] / fa[i] : std::numeric_limits<float>::quiet_NaN();
    }));
    const auto& cells = r.cells;
    const double k = cut.ratio;
    // Same rule as the polygon below: FSC-H >= k FSC-A.
    const auto& nm = r.non_margin;
    single_rule = build_mask(n, threads, [&](std::size_t i) {
      return nm.test(i) && static_cast<double>(fh[i]) >= k * static_cast<double>(fa[i]);
    });
    r.singlets = cells & single_rule;
    const std::string fsh_label = label_of(frame, ch.fsc_h, "FSC-H");
    PlacedGate g;
    g.population = "singlets";
    g.parent = "cells";
    g.x = GateAxis{ch.fsc_a, fsc_label, "linear"};
    g.y = GateAxis{ch.fsc_h, fsh_label, "linear"};
    // The half-plane above the line FSC-H = k FSC-A, as a polygon covering every event.
    double amax = 1.0;
    double hmax = 1.0;
    double amin = 0.0;
    for (std::size_t i = 0; i < n; i += std::max<std::size_t>(1, n / 100000)) {
      if (std::isfinite(fa[i])) amax = std::max(amax, static_cast<double>(fa[i])), amin = std::min(amin, static_cast<double>(fa[i]));
      if (std::isfinite(fh[i])) hmax = std::max(hmax, static_cast<double>(fh[i]));
    }
    if (ch.fsc_a >= 0 && static_cast<std::size_t>(ch.fsc_a) < ch.ranges.size()) amax = std::max(amax, ch.ranges[static_cast<std::size_t>(ch.fsc_a)]);
    if (static_cast<std::size_t>(ch.fsc_h) < ch.ranges.size()) hmax = std::max(hmax, ch.ranges[static_cast<std::size_t>(ch.fsc_h)]);
    const double a0 = amin - 0.05 * amax - 1.0;
    const double a1 = 1.05 * amax + 1.0;
    const double h1 = std::max(1.05 * hmax + 1.0, k * a1 + 1.0);
    gating::PolygonGate pg;
    pg.x = dim_of(fsc_label);
    pg.y = dim_of(fsh_label);
    pg.vertices = {{a0, k * a0}, {a1, k * a1}, {a1, h1}, {a0, h1}};
    g.gate = pg;
    g.method = cut.method;
    g.note = cut.note + "; singlets: FSC-H >= " + num(k, 4) + " x FSC-A; " + kept_text(r.singlets.count(), cells.count());
    if (cut.method.find("valley") == std::string::npos) r.notes.push_back("doublets: " + cut.note);
    r.gates.push_back(std::move(g));
  }

  // 5. Dead cells: left of the live populations of the same SSC.
  {
    // The density includes debris (single_rule, not singlets): cut off at the debris gate, the
    // debris' remnant would make an edge peak just right of the cut that looks like a population;
    // whole, debris is a broad cloud well left of every live population.
    const auto idx = density_sample(single_rule);
    gating::Mask in_cells(idx.size());
    for (std::size_t j = 0; j < idx.size(); ++j) in_cells.set(j, r.singlets.test(idx[j]));
    const auto b = dead_boundary(gather(idx, [&](std::size_t i) { return model_scale_f(fa[i]); }),
                                 gather(idx, [&](std::size_t i) { return model_scale_f(sa[i]); }), in_cells);
    const auto& singlets = r.singlets;
    if (!b.found) {
      r.viable = r.singlets;
      r.notes.push_back("dead cells: " + b.note + ": not excluded");
    } else {
      // Events left of the lowest boundary or right of the highest need no model scale.
      const auto [lo_cut, hi_cut] = std::minmax_element(b.cuts.begin(), b.cuts.end());
      const double lin_lo = model_scale_inverse(*lo_cut);
      const double lin_hi = model_scale_inverse(*hi_cut);
      r.viable = build_mask(n, threads, [&](std::size_t i) {
        if (!singlets.test(i)) return false;
        const double f = fa[i];
        if (f < lin_lo) return false;
        if (f >= lin_hi) return true;
        return static_cast<double>(model_scale_f(fa[i])) >= boundary_at(b, static_cast<double>(model_scale_f(sa[i])));
      });
      PlacedGate g;
      g.population = "viable";
      g.parent = "singlets";
      g.x = GateAxis{ch.fsc_a, fsc_label, "model"};
      g.y = GateAxis{ch.ssc_a, ssc_label, "model"};
      // The boundary curve (collinear vertices dropped), closed far to the right and beyond the
      // SSC ends where boundary_at() is constant.
      const double ylo = std::min(b.rows_y.front(), -2.0) - 1.0;
      const double yhi = std::max(b.rows_y.back(), 7.0) + 1.0;
      const double xhi = 8.0;
      std::vector<gating::Point> curve;
      curve.push_back({b.cuts.front(), ylo});
      for (std::size_t k = 0; k < b.cuts.size(); ++k) curve.push_back({b.cuts[k], b.rows_y[k]});
      curve.push_back({b.cuts.back(), yhi});
      std::vector<gating::Point> vs;
      for (std::size_t k = 0; k < curve.size(); ++k) {
        if (k > 0 && k + 1 < curve.size()) {
          const auto& p = curve[k - 1];
          const auto& q = curve[k];
          const auto& s = curve[k + 1];
          const double cross = (q.x - p.x) * (s.y - p.y) - (q.y - p.y) * (s.x - p.x);
          if (std::fabs(cross) < 1e-12) continue;
        }
        vs.push_back(curve[k]);
      }
      vs.push_back({xhi, yhi});
      vs.push_back({xhi, ylo});
      gating::PolygonGate pg;
      pg.x = dim_of(fsc_label);
      pg.y = dim_of(ssc_label);
      pg.vertices = std::move(vs);
      g.gate = pg;
      g.method = "per-SSC-band lower FSC boundary of the live populations (2D density, model scale)";
      const auto [lo, hi] = std::minmax_element(b.cuts.begin(), b.cuts.end());
      g.note = b.note + "; boundary from " + num(*lo, 3) + " to " + num(*hi, 3) + " (model FSC-A); " +
               kept_text(r.viable.count(), singlets.count());
      r.gates.push_back(std::move(g));
    }
  }

  // 6. Nucleic-acid dye: nucleated = dye positive.
  if (ch.dna < 0) {
    r.nucleated = r.viable;
  } else {
    const auto& dna = frame.column(static_cast<std::size_t>(ch.dna)).values;
    const auto idx = density_sample(r.non_margin);
    const auto cut = dna_cut(gather(idx, [&](std::size_t i) { return model_scale_f(dna[i]); }));
    const auto& viable = r.viable;
    const double lin = std::isfinite(cut.position) ? model_scale_inverse(cut.position) : -kInf;
    r.nucleated = build_mask(n, threads, [&](std::size_t i) { return viable.test(i) && static_cast<double>(dna[i]) >= lin; });
    const std::string dna_label = label_of(frame, ch.dna, "DNA");
    PlacedGate g = lower_cut_gate("nucleated", "viable", ch.dna, dna_label, cut.position);
    g.method = cut.method;
    g.note = cut.note + " (placed on all non-margin events, where debris makes the dye-negative peak); " +
             kept_text(r.nucleated.count(), viable.count());
    if (cut.method.find("valley") == std::string::npos) r.notes.push_back("DNA dye: " + cut.note);
    r.gates.push_back(std::move(g));
  }
  return r;
}

}  // namespace flowmrd::pipeline
