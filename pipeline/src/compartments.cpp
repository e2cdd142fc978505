// SPDX-License-Identifier: Apache-2.0
// The analysis compartments of one tube: model-scale columns, per-sample positivity cuts found
// from each marker's density (never fixed coordinates), and the three compartments the blast
// search runs in (CD19+ B cells, the CD19-negative B-progenitor window, myelomonocytic cells).
#include <algorithm>
#include <cmath>
#include <limits>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "analysis_internal.hpp"
#include "flowmrd/gating/density.hpp"

namespace flowmrd::pipeline::detail {

const std::vector<std::string>& b_lineage_dims() {
  static const std::vector<std::string> d = {"CD19", "CD10", "CD34", "CD20", "CD38", "CD45", "CD58", "SSC-A"};
  return d;
}
const std::vector<std::string>& window_dims() {
  static const std::vector<std::string> d = {"CD10", "CD34", "CD20", "CD38", "CD45", "CD58", "CD33",
                                             "CD64", "CD11b", "CD14", "HLA-DR", "SSC-A"};
  return d;
}
const std::vector<std::string>& myelomonocytic_dims() {
  static const std::vector<std::string> d = {"CD64", "CD11b", "CD14", "HLA-DR", "CD33", "CD45", "CD34", "CD4", "SSC-A"};
  return d;
}
const std::vector<std::string>& myeloid_markers() {
  static const std::vector<std::string> d = {"CD33", "CD64", "CD14", "CD11b"};
  return d;
}

const std::vector<float>* ModelColumns::get(const std::string& name) const {
  const auto it = values.find(name);
  return it == values.end() ? nullptr : &it->second;
}

ModelColumns model_columns(const Tube& tube, unsigned threads) {
  (void)threads;  // element-wise: tbb's default arena; identical results for any thread count
  ModelColumns out;
  for (const auto& [name, col] : tube.columns) {
    if (name == "Time" || col < 0) continue;
    const auto& src = tube.frame.column(static_cast<std::size_t>(col)).values;
    std::vector<float> dst(src.size());
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, src.size(), 1 << 16), [&](const auto& r) {
      for (std::size_t i = r.begin(); i < r.end(); ++i) {
        dst[i] = model_scale_f(src[i]);
      }
    });
    out.values.emplace(name, std::move(dst));
  }
  return out;
}

std::vector<std::string> available(const ModelColumns& cols, const std::vector<std::string>& wanted) {
  std::vector<std::string> out;
  for (const auto& w : wanted) {
    if (cols.has(w)) out.push_back(w);
  }
  return out;
}

std::vector<float> gather(const ModelColumns& cols, const std::vector<std::string>& dims, const gating::Mask& mask,
                          std::vector<std::uint32_t>* index) {
  std::vector<const std::vector<float>*> src;
  for (const auto& d : dims) src.push_back(cols.get(d));
  const std::size_t n = mask.count();
  std::vector<float> out(n * dims.size());
  if (index != nullptr) index->clear(), index->reserve(n);
  std::size_t row = 0;
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (!mask.test(i)) continue;
    for (std::size_t j = 0; j < dims.size(); ++j) out[row * dims.size() + j] = (*src[j])[i];
    if (index != nullptr) index->push_back(static_cast<std::uint32_t>(i));
    ++row;
  }
  return out;
}

namespace {

/// The leftmost peak at least `share` of the highest one (nullptr when there are no peaks): the
/// negative population of a marker, the lymphoid population on SSC.
const gating::Peak* leftmost_major_peak(const std::vector<gating::Peak>& peaks, double share) {
  double top = 0.0;
  for (const auto& p : peaks) top = std::max(top, p.height);
  for (const auto& p : peaks) {
    if (p.height >= share * top) return &p;
  }
  return nullptr;
}

}  // namespace

PositivityCut positivity_cut(const std::vector<float>& values, const gating::Mask& mask) {
  PositivityCut out;
  gating::Kde1DOptions ko;
  ko.min = -1.0;
  ko.max = 5.0;
  ko.grid_points = 600;
  const auto density = gating::kde_1d(values, &mask, ko);
  gating::PeakOptions po;
  po.min_relative_prominence = 0.01;
  po.min_relative_height = 0.002;
  const auto peaks = gating::find_peaks(density, po);
  if (peaks.empty()) {
    out.cut = 1.0;
    out.method = "fallback";
    out.note = "no events: the cut defaults to 1.0 (model scale)";
    return out;
  }
  // The negative population is the leftmost substantial peak: every tube has many cells negative
  // for any one lineage marker (T/NK cells, erythroid cells), but it need not be the tallest peak
  // (a diagnostic marrow can be 90% CD19+).
  const gating::Peak* negative = leftmost_major_peak(peaks, 0.05);
  // The highest peak clearly right of it, if any: the valley between them is the cut.
  const gating::Peak* positive = nullptr;
  for (const auto& p : peaks) {
    if (p.position > negative->position + 0.6 && (positive == nullptr || p.height > positive->height)) positive = &p;
  }
  gating::TailCutOptions to;
  to.side = gating::Side::right;
  to.fraction = 0.01;
  to.near = negative->position;
  to.peaks = po;
  const auto tail = gating::tail_cut(density, to);
  const double tail_pos = tail.found ? tail.position : negative->position + 0.6;
  if (positive != nullptr) {
    const auto valley = gating::find_valley(density, negative->position, positive->position);
    if (valley.found && valley.depth > 0.5) {
      // A valley closer to the negative peak than its 1% tail would cut into the negatives.
      out.cut = std::max(valley.position, std::min(tail_pos, valley.position + 0.2));
      out.method = "1D valley";
      out.note = "valley (depth " + std::to_string(valley.depth).substr(0, 4) + ") between the negative peak at " +
                 std::to_string(negative->position).substr(0, 5) + " and the positive peak at " +
                 std::to_string(positive->position).substr(0, 5);
    }
  }
  if (out.method.empty()) {
    out.cut = tail_pos;
    out.method = "1D tail cut";
    out.note = "where the negative peak at " + std::to_string(negative->position).substr(0, 5) +
               " falls to 1% of its height";
  }
  out.cut = std::clamp(out.cut, negative->position + 0.3, negative->position + 1.3);
  return out;
}

namespace {

GateAxis axis_for(const Tube& tube, const std::string& marker) {
  GateAxis a;
  const auto it = tube.columns.find(marker);
  a.column = it == tube.columns.end() ? -1 : it->second;
  a.scale = marker == "FSC-A" || marker == "SSC-A" || marker == "FSC-H" ? "linear" : "model";
  a.label = marker;
  if (a.column >= 0 && marker != "FSC-A" && marker != "SSC-A" && marker != "FSC-H") {
    a.label = marker + " (" + tube.frame.column(static_cast<std::size_t>(a.column)).name + ")";
  }
  return a;
}

gating::Dimension dim(const GateAxis& a) {
  gating::Dimension d;
  d.channel = a.label;
  return d;
}

/// The L-shaped region "x > cx or y > cy" as a polygon (model scale spans about -1..5).
gating::PolygonGate either_positive(const GateAxis& x, double cx, const GateAxis& y, double cy) {
  gating::PolygonGate g;
  g.x = dim(x);
  g.y = dim(y);
  const double lo = -1.5;
  const double hi = 6.0;
  g.vertices = {{cx, lo}, {hi, lo}, {hi, hi}, {lo, hi}, {lo, cy}, {cx, cy}};
  return g;
}

}  // namespace

Compartments find_compartments(const Tube& tube, const ModelColumns& cols, const gating::Mask& nucleated) {
  Compartments out;
  const std::size_t n = nucleated.size();
  auto cut_of = [&](const std::string& marker) -> std::optional<double> {
    const auto* v = cols.get(marker);
    if (v == nullptr) return std::nullopt;
    const auto c = positivity_cut(*v, nucleated);
    out.cuts[marker] = c.cut;
    out.notes.push_back(marker + " positive above " + std::to_string(c.cut).substr(0, 5) + " (" + c.method + ": " +
                        c.note + ")");
    return c.cut;
  };

  // Lymphoid-range side scatter: the lowest SSC peak (lymphocytes, blasts, B precursors) up to the
  // valley towards monocytes/granulocytes.
  out.low_scatter = gating::Mask(n);
  double ssc_cut = 0.0;
  if (const auto* ssc = cols.get("SSC-A")) {
    gating::Kde1DOptions ko;
    ko.grid_points = 600;
    const auto density = gating::kde_1d(*ssc, &nucleated, ko);
    gating::PeakOptions po;
    po.min_relative_prominence = 0.02;
    const auto peaks = gating::find_peaks(density, po);
    if (const gating::Peak* low = leftmost_major_peak(peaks, 0.05)) {
      double top = 0.0;
      for (const auto& p : peaks) top = std::max(top, p.height);
      const gating::Peak* next = nullptr;
      for (const auto& p : peaks) {
        if (p.position > low->position + 0.2 && p.height >= 0.02 * top) {
          next = &p;
          break;
        }
      }
      ssc_cut = low->position + 0.45;
      std::string how = "lymphoid SSC peak + 0.45";
      if (next != nullptr) {
        const auto v = gating::find_valley(density, low->position, next->position);
        if (v.found) {
          ssc_cut = std::clamp(v.position, low->position + 0.25, low->position + 0.55);
          how = "valley between the lymphoid and the next SSC peak";
        }
      }
      for (std::size_t i = 0; i < n; ++i) {
        if (nucleated.test(i) && (*ssc)[i] <= ssc_cut) out.low_scatter.set(i);
      }
      out.notes.push_back("lymphoid-range SSC up to " + std::to_string(ssc_cut).substr(0, 5) + " (" + how + ")");
    }
  }

  const auto c19 = cut_of("CD19");
  const auto* v19 = cols.get("CD19");
  if (c19) {
    gating::Mask b(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (nucleated.test(i) && (*v19)[i] > *c19) b.set(i);
    }
    out.b_cells = std::move(b);
    PlacedGate g;
    g.population = "b_cells";
    g.parent = "nucleated";
    g.x = axis_for(tube, "CD19");
    g.y = axis_for(tube, "SSC-A");
    g.method = "1D density cut on CD19";
    g.note = out.notes.back();
    gating::RectangleGate r;
    r.dimensions = {dim(g.x)};
    r.ranges = {gating::Interval{*c19, std::nullopt}};
    g.gate = r;
    out.gates.push_back(std::move(g));
  } else {
    out.notes.push_back("no CD19 channel: the B-lineage compartment is not evaluated");
  }

  const auto c10 = cut_of("CD10");
  const auto c34 = cut_of("CD34");
  const auto c20 = cut_of("CD20");
  std::vector<std::pair<const std::vector<float>*, double>> myeloid;
  for (const auto& m : myeloid_markers()) {
    if (const auto c = cut_of(m)) myeloid.emplace_back(cols.get(m), *c);
  }

  if (c19 && (c10 || c34)) {
    const auto* v10 = cols.get("CD10");
    const auto* v34 = cols.get("CD34");
    const auto* v20 = cols.get("CD20");
    gating::Mask w(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (!out.low_scatter.test(i) || (*v19)[i] > *c19) continue;
      const bool progenitor = (v10 != nullptr && (*v10)[i] > *c10) || (v34 != nullptr && (*v34)[i] > *c34);
      if (!progenitor) continue;
      if (v20 != nullptr && (*v20)[i] > *c20 + 0.5) continue;  // CD20 low: dim CD20 is allowed (asynchronous)
      bool myeloid_positive = false;
      for (const auto& [v, c] : myeloid) myeloid_positive = myeloid_positive || (*v)[i] > c;
      if (!myeloid_positive) w.set(i);
    }
    out.cd19neg_window = std::move(w);
    PlacedGate g;
    g.population = "cd19neg_window";
    g.parent = "nucleated";
    g.method = "CD19-negative, lymphoid-range SSC, CD10+ or CD34+, CD20 low, myeloid markers negative";
    g.note = "CD19 <= " + std::to_string(*c19).substr(0, 5) + ", SSC <= " + std::to_string(ssc_cut).substr(0, 5);
    if (c10 && c34) {
      g.x = axis_for(tube, "CD10");
      g.y = axis_for(tube, "CD34");
      g.gate = either_positive(g.x, *c10, *g.y, *c34);
    } else {
      const std::string m = c10 ? "CD10" : "CD34";
      g.x = axis_for(tube, m);
      g.y = axis_for(tube, "SSC-A");
      gating::RectangleGate r;
      r.dimensions = {dim(g.x)};
      r.ranges = {gating::Interval{c10 ? *c10 : *c34, std::nullopt}};
      g.gate = r;
    }
    out.gates.push_back(std::move(g));
  } else {
    out.notes.push_back("the CD19-independent B-lineage gate needs CD19 and CD10 or CD34: not evaluated");
  }

  const auto* v33 = cols.get("CD33");
  const auto* v64 = cols.get("CD64");
  if (v33 != nullptr || v64 != nullptr) {
    const double cut33 = v33 != nullptr ? out.cuts.at("CD33") : 0.0;
    const double cut64 = v64 != nullptr ? out.cuts.at("CD64") : 0.0;
    gating::Mask m(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (!nucleated.test(i)) continue;
      if (v19 != nullptr && (*v19)[i] > *c19) continue;
      if ((v33 != nullptr && (*v33)[i] > cut33) || (v64 != nullptr && (*v64)[i] > cut64)) m.set(i);
    }
    out.myelomonocytic = std::move(m);
    PlacedGate g;
    g.population = "myelomonocytic";
    g.parent = "nucleated";
    g.method = "CD19-negative and CD33+ or CD64+";
    if (v33 != nullptr && v64 != nullptr) {
      g.x = axis_for(tube, "CD33");
      g.y = axis_for(tube, "CD64");
      g.gate = either_positive(g.x, cut33, *g.y, cut64);
    } else {
      const std::string mk = v33 != nullptr ? "CD33" : "CD64";
      g.x = axis_for(tube, mk);
      g.y = axis_for(tube, "SSC-A");
      gating::RectangleGate r;
      r.dimensions = {dim(g.x)};
      r.ranges = {gating::Interval{v33 != nullptr ? cut33 : cut64, std::nullopt}};
      g.gate = r;
    }
    out.gates.push_back(std::move(g));
  } else {
    out.notes.push_back("no CD33 or CD64 channel: the myelomonocytic compartment (lineage switch) is not evaluated");
  }
  return out;
}

std::string label_component(Compartment compartment, const std::vector<std::string>& dims,
                            const std::vector<double>& mean) {
  auto value = [&](const std::string& name) -> std::optional<double> {
    for (std::size_t j = 0; j < dims.size(); ++j) {
      if (dims[j] == name) return mean[j];
    }
    return std::nullopt;
  };
  // Model scale: negative populations sit near 0, 10^3 (linear) is about 1.1, 10^4 about 2.1.
  switch (compartment) {
    case Compartment::b_lineage: {
      const auto cd38 = value("CD38");
      const auto cd20 = value("CD20");
      const auto cd10 = value("CD10");
      if (cd38 && *cd38 >= 2.6 && (!cd20 || *cd20 < 1.2)) return "plasma_cell";
      if (cd10 && *cd10 < 1.0 && (!cd20 || *cd20 >= 1.5)) return "mature_b";
      if (!cd10 && cd20 && *cd20 >= 1.8) return "mature_b";
      return "hematogone";
    }
    case Compartment::cd19neg_window: return "cd19neg_progenitor";
    case Compartment::myelomonocytic: {
      const auto cd34 = value("CD34");
      const auto cd14 = value("CD14");
      const auto cd64 = value("CD64");
      const auto ssc = value("SSC-A");
      if (cd34 && *cd34 >= 1.0) return "myeloid_precursor";
      if (ssc && *ssc >= 3.25) return "eosinophil";
      if (cd14 && *cd14 >= 1.3) return "monocyte";
      if (!cd14 && cd64 && *cd64 >= 1.6 && ssc && *ssc < 2.9) return "monocyte";
      return "granulocyte";
    }
  }
  return "other";
}

std::optional<UsableModel> usable_model(const NormalReference& reference, Compartment compartment,
                                        const std::vector<std::string>& available_dims) {
  const ReferenceModel* m = reference.best_model(compartment, available_dims, 3);
  if (m == nullptr) return std::nullopt;
  UsableModel out;
  std::vector<std::size_t> keep;
  for (std::size_t j = 0; j < m->dimensions.size(); ++j) {
    if (std::find(available_dims.begin(), available_dims.end(), m->dimensions[j]) != available_dims.end()) {
      keep.push_back(j);
      out.dims.push_back(m->dimensions[j]);
    }
  }
  out.mixture = keep.size() == m->dimensions.size() ? m->mixture : m->mixture.marginal(keep);
  out.labels = m->component_labels;
  return out;
}

}  // namespace flowmrd::pipeline::detail
