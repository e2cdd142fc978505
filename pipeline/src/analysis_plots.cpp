// SPDX-License-Identifier: Apache-2.0
// The analysis plots (`flowmrd analyze --plots`): which plots, on which axes and populations,
// with which gates and highlights. Drawing itself is plot.cpp's render_density_plot.
//
// Each plot works on a compact copy of only the events it shows (its background population and
// highlights): a B-cell plot of a 5-million-event file then touches a few percent of the events,
// and memory stays at two small arrays per plot instead of a transformed copy of every column.
#include "flowmrd/pipeline/analysis_plots.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <system_error>

namespace flowmrd::pipeline {

namespace {

// ---------------------------------------------------------------------------------------------
// Plan

struct AxisSpec {
  int column = -1;
  std::string label;
  std::string scale = "linear";  // "linear" or "model" (model_scale.hpp)
};

struct HighlightSpec {
  std::string population;
  Rgb colour;
  std::string label;
};

struct PlotSpec {
  std::string slug;
  std::string title;
  AxisSpec x, y;
  std::string background;  // population id; "all_events" = every event
  std::vector<HighlightSpec> highlights;
  std::vector<const PlacedGate*> gates;
};

// A population's mask: the analysis' own list first, then pre-gating's nested masks (so the
// pre-gating plots work even when the population list does not repeat them). `all` is set for
// the root, which needs no mask.
struct MaskRef {
  const gating::Mask* mask = nullptr;
  bool all = false;
  [[nodiscard]] bool found() const { return all || mask != nullptr; }
};

MaskRef find_mask(const TubeAnalysis& ta, const std::string& id) {
  for (const auto& [name, mask] : ta.masks) {
    if (name == id) return {&mask, false};
  }
  const PregateResult& p = ta.pregate;
  const std::pair<const char*, const gating::Mask*> nested[] = {
      {"qc_pass", &p.qc_pass},   {"non_margin", &p.non_margin}, {"cells", &p.cells},
      {"singlets", &p.singlets}, {"viable", &p.viable},         {"nucleated", &p.nucleated}};
  for (const auto& [name, mask] : nested) {
    if (id == name && mask->size() == ta.tube.frame.rows()) return {mask, false};
  }
  if (id.empty() || id == "all_events") return {nullptr, true};
  return {};
}

std::string channel_name(const Tube& t, int column) {
  if (column < 0 || static_cast<std::size_t>(column) >= t.frame.cols()) return {};
  return t.frame.column(static_cast<std::size_t>(column)).name;
}

bool is_scatter(const std::string& marker) {
  return marker == "FSC-A" || marker == "FSC-H" || marker == "SSC-A" || marker == "SSC-H" || marker == "Time";
}

// A marker's axis: scatter linear (as acquired, the way scatter plots are read), fluorescence in
// the model scale (log-like, so dim and bright populations are both visible).
std::optional<AxisSpec> marker_axis(const Tube& t, const std::string& marker) {
  const auto it = t.columns.find(marker);
  if (it == t.columns.end()) return std::nullopt;
  AxisSpec a;
  a.column = it->second;
  const std::string channel = channel_name(t, a.column);
  a.label = is_scatter(marker) || channel.empty() || channel == marker ? marker : marker + " (" + channel + ")";
  a.scale = is_scatter(marker) ? "linear" : "model";
  return a;
}

AxisSpec gate_axis(const GateAxis& g) { return {g.column, g.label, g.scale}; }

// The pre-gating plot of one placed gate: its own axes (a 1D gate gets SSC-A, or FSC-A when the
// gate is on SSC-A, as the second axis), its parent population as density.
PlotSpec pregate_plot(const Tube& t, const PlacedGate& g) {
  PlotSpec s;
  s.slug = g.population;
  s.x = gate_axis(g.x);
  if (g.y) {
    s.y = gate_axis(*g.y);
  } else {
    const bool on_ssc = g.x.column == t.channels.ssc_a;
    s.y.column = on_ssc ? t.channels.fsc_a : t.channels.ssc_a;
    s.y.label = on_ssc ? "FSC-A" : "SSC-A";
    s.y.scale = "linear";
  }
  s.background = g.parent.empty() ? "all_events" : g.parent;
  // The method is in the result's provenance; a title that long would be cut (plot.cpp keeps
  // its end), so the title names only the tube and the population.
  s.title = t.label + ": pre-gating, " + (g.inverted ? "not " : "") + g.population;
  s.gates.push_back(&g);
  return s;
}

// Lineage gates (not pre-gating) drawn on a plot: those over the plot's columns (either
// orientation) that belong to what the plot shows. The first one's scales become the plot's,
// so its geometry lands where it belongs; gates in another scale are left out.
void attach_gates(PlotSpec& s, const TubeAnalysis& ta, const std::set<std::string>& pregate_ids) {
  std::set<std::string> shown = {s.background};
  for (const auto& h : s.highlights) shown.insert(h.population);
  bool adopted = false;
  for (const PlacedGate& g : ta.gates) {
    if (pregate_ids.count(g.population) != 0) continue;
    if (shown.count(g.population) == 0 && shown.count(g.parent) == 0) continue;
    const GateAxis* gx = nullptr;
    const GateAxis* gy = nullptr;
    if (g.y) {
      if (g.x.column == s.x.column && g.y->column == s.y.column) {
        gx = &g.x;
        gy = &*g.y;
      } else if (g.x.column == s.y.column && g.y->column == s.x.column) {
        gx = &*g.y;
        gy = &g.x;
      } else {
        continue;
      }
    } else if (g.x.column == s.x.column) {
      gx = &g.x;
    } else if (g.x.column == s.y.column) {
      gy = &g.x;
    } else {
      continue;
    }
    if (!adopted) {
      if (gx) s.x = gate_axis(*gx);
      if (gy) s.y = gate_axis(*gy);
      adopted = true;
    } else if ((gx && gx->scale != s.x.scale) || (gy && gy->scale != s.y.scale)) {
      continue;
    }
    s.gates.push_back(&g);
  }
}

struct LineagePlot {
  const char* slug;
  const char* title;
  const char* x;
  const char* y;
  const char* background;
  std::vector<HighlightSpec> highlights;
  const char* required = nullptr;  // the population the plot is about, when not the background
};

const std::vector<LineagePlot>& lineage_plots() {
  static const std::vector<LineagePlot> plots = [] {
    const HighlightSpec hematogones{"hematogones", kNormalColour, "hematogones"};
    const HighlightSpec blasts{"b_blasts", kBlastColour, "B blasts"};
    const HighlightSpec cd19neg{"b_blasts_cd19neg", kBlastColour, "CD19- blasts"};
    const HighlightSpec window{"cd19neg_window", kNormalColour, "CD19- progenitor window"};
    const HighlightSpec monocytes{"monocytes", kNormalColour, "monocytes"};
    const HighlightSpec mm_blasts{"myelomonocytic_blasts", kBlastColour, "myelomonocytic blasts"};
    return std::vector<LineagePlot>{
        {"cd19", "CD19+ B cells among nucleated cells", "CD19", "SSC-A", "nucleated", {blasts}},
        {"b-cd45-cd10", "B cells, CD10 vs CD45", "CD45", "CD10", "b_cells", {hematogones, blasts}},
        {"b-cd10-cd34", "B cells, CD34 vs CD10", "CD10", "CD34", "b_cells", {hematogones, blasts}},
        {"b-cd10-cd20", "B cells, CD20 vs CD10", "CD10", "CD20", "b_cells", {hematogones, blasts}},
        {"b-cd10-cd38", "B cells, CD38 vs CD10", "CD10", "CD38", "b_cells", {hematogones, blasts}},
        {"b-cd10-cd58", "B cells, CD58 vs CD10", "CD10", "CD58", "b_cells", {hematogones, blasts}},
        {"cd19neg-cd10-cd34", "CD19- B-progenitor window, CD34 vs CD10", "CD10", "CD34", "cd19neg_window", {cd19neg}},
        {"cd19neg-cd45-ssc", "nucleated cells, CD19- B-progenitor window", "CD45", "SSC-A", "nucleated",
         {window, cd19neg}, "cd19neg_window"},
        {"mm-cd64-cd14", "myelomonocytic cells, CD14 vs CD64", "CD64", "CD14", "myelomonocytic", {monocytes, mm_blasts}},
        {"mm-cd45-ssc", "myelomonocytic cells, SSC-A vs CD45", "CD45", "SSC-A", "myelomonocytic", {monocytes, mm_blasts}},
        {"mm-cd33-hladr", "myelomonocytic cells, HLA-DR vs CD33", "CD33", "HLA-DR", "myelomonocytic",
         {monocytes, mm_blasts}},
        {"mm-cd14-cd11b", "myelomonocytic cells, CD11b vs CD14", "CD14", "CD11b", "myelomonocytic",
         {monocytes, mm_blasts}},
    };
  }();
  return plots;
}

std::vector<PlotSpec> plan_tube(const TubeAnalysis& ta) {
  const Tube& t = ta.tube;
  std::vector<PlotSpec> out;
  std::set<std::string> pregate_ids;
  const auto valid = [&](int column) { return column >= 0 && static_cast<std::size_t>(column) < t.frame.cols(); };
  for (const PlacedGate& g : ta.pregate.gates) {
    pregate_ids.insert(g.population);
    if (!find_mask(ta, g.parent.empty() ? "all_events" : g.parent).found()) continue;
    PlotSpec s = pregate_plot(t, g);
    if (valid(s.x.column) && valid(s.y.column)) out.push_back(std::move(s));
  }
  for (const LineagePlot& lp : lineage_plots()) {
    const auto x = marker_axis(t, lp.x);
    const auto y = marker_axis(t, lp.y);
    if (!x || !y || !valid(x->column) || !valid(y->column) || !find_mask(ta, lp.background).found()) continue;
    if (lp.required != nullptr && find_mask(ta, lp.required).mask == nullptr) continue;
    PlotSpec s;
    s.slug = lp.slug;
    s.title = t.label + ": " + lp.title;
    s.x = *x;
    s.y = *y;
    s.background = lp.background;
    // A highlight the analysis did not produce (e.g. no myelomonocytic blasts population) is
    // left out; the plot of the background is still worth checking.
    for (const HighlightSpec& h : lp.highlights) {
      if (find_mask(ta, h.population).mask != nullptr) s.highlights.push_back(h);
    }
    attach_gates(s, ta, pregate_ids);
    out.push_back(std::move(s));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Render


// The Dimension a gate uses for an axis (PlacedGate: Dimension::channel = GateAxis::label), so
// gate_shape() finds it whatever else the gate's Dimension carries.
gating::Dimension dimension_for(const PlacedGate& g, const AxisSpec& axis) {
  for (const gating::Dimension& d : gating::gate_dimensions(g.gate)) {
    if (d.channel == axis.label) return d;
  }
  gating::Dimension d;
  d.channel = axis.label;
  return d;
}

std::vector<std::uint8_t> render(const TubeAnalysis& ta, const PlotSpec& s, const PlotOptions& options) {
  const gating::Frame& frame = ta.tube.frame;
  const std::size_t n = frame.rows();
  const MaskRef bg = find_mask(ta, s.background);
  std::vector<const gating::Mask*> hl;
  for (const HighlightSpec& h : s.highlights) hl.push_back(find_mask(ta, h.population).mask);

  // Events shown: the background, plus highlighted events (normally inside it).
  std::vector<std::size_t> index;
  if (bg.all) {
    index.resize(n);
    for (std::size_t i = 0; i < n; ++i) index[i] = i;
  } else {
    gating::Mask shown = *bg.mask;
    for (const gating::Mask* m : hl) {
      if (m->size() == shown.size()) shown |= *m;
    }
    index.reserve(shown.count());
    const auto& words = shown.words();
    for (std::size_t w = 0; w < words.size(); ++w) {
      for (std::uint64_t bits = words[w]; bits != 0; bits &= bits - 1) {
        index.push_back(w * 64 + static_cast<std::size_t>(__builtin_ctzll(bits)));
      }
    }
  }
  const std::size_t m = index.size();
  const auto& xv = frame.column(static_cast<std::size_t>(s.x.column)).values;
  const auto& yv = frame.column(static_cast<std::size_t>(s.y.column)).values;
  const auto fill = [&](const gating::ColumnValues& values, const AxisSpec& axis) {
    std::vector<double> out(m);
    const bool model = axis.scale == "model";
    for (std::size_t k = 0; k < m; ++k) {
      const double v = values[index[k]];
      out[k] = model ? model_scale(v) : v;
    }
    return out;
  };
  const std::vector<double> xs = fill(xv, s.x);
  const std::vector<double> ys = fill(yv, s.y);
  const auto compact = [&](const gating::Mask& full) {
    gating::Mask out(m);
    if (full.size() != n) return out;
    for (std::size_t k = 0; k < m; ++k) {
      if (full.test(index[k])) out.set(k);
    }
    return out;
  };
  std::optional<gating::Mask> background;
  if (!bg.all) background = compact(*bg.mask);
  std::vector<gating::Mask> highlight_masks;
  highlight_masks.reserve(hl.size());
  for (const gating::Mask* h : hl) highlight_masks.push_back(compact(*h));

  DensityPlot plot;
  plot.width = options.width;
  plot.height = options.height;
  plot.title = s.title;
  plot.events = background ? &*background : nullptr;
  plot.x = axis_for(s.x.label, xs, plot.events);
  plot.y = axis_for(s.y.label, ys, plot.events);
  // Highlights are easier to see over a quiet grey density.
  plot.colours = s.highlights.empty() ? ColourMap::jet : ColourMap::greys;
  for (std::size_t i = 0; i < s.highlights.size(); ++i) {
    plot.highlights.push_back({&highlight_masks[i], s.highlights[i].colour, s.highlights[i].label});
  }
  for (const PlacedGate* g : s.gates) {
    const auto shape = gate_shape(g->gate, dimension_for(*g, s.x), dimension_for(*g, s.y));
    if (!shape) continue;
    include_shape_in_axes(plot.x, plot.y, *shape);
    plot.gates.push_back({*shape, g->inverted ? "not " + g->population : g->population, kGateColour});
  }
  Image image;
  try {
    image = render_density_plot(xs, ys, plot);
  } catch (const std::invalid_argument&) {
    // A degenerate gate (e.g. a singular ellipse) must not cost the plot: draw it without gates.
    // A too small image fails again below and reaches the caller.
    if (plot.gates.empty()) throw;
    plot.gates.clear();
    image = render_density_plot(xs, ys, plot);
  }
  return encode_png(image);
}

// File-name stem of a tube: the label without its extension, characters outside [A-Za-z0-9._-]
// replaced, so the name is safe on every file system and in HTML.
std::string stem_of(const std::string& label) {
  std::string s = label;
  if (const auto dot = s.find_last_of('.'); dot != std::string::npos && dot > 0) s.erase(dot);
  for (char& c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return s.empty() ? std::string{"tube"} : s;
}

std::string slug_of(const std::string& id) {
  std::string s = id;
  for (char& c : s) {
    if (c == '_') c = '-';
    else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) c = '-';
  }
  return s;
}

}  // namespace

std::vector<RenderedPlot> render_analysis_plots(const AnalysisResult& result, const PlotOptions& options) {
  std::vector<RenderedPlot> out;
  std::map<std::string, int> stems_seen;
  for (const TubeAnalysis& ta : result.tubes) {
    std::string stem = stem_of(ta.tube.label);
    if (const int seen = stems_seen[stem]++; seen > 0) stem += "-" + std::to_string(seen + 1);
    int number = 0;
    for (const PlotSpec& s : plan_tube(ta)) {
      char prefix[16];
      std::snprintf(prefix, sizeof prefix, "-%02d-", ++number);
      RenderedPlot p;
      p.file_name = stem + prefix + slug_of(s.slug) + ".png";
      p.title = s.title;
      p.tube = ta.tube.label;
      p.png = render(ta, s, options);
      out.push_back(std::move(p));
    }
  }
  return out;
}

std::vector<PlotFile> write_analysis_plots(const AnalysisResult& result, const std::filesystem::path& dir,
                                           const PlotOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw std::runtime_error(dir.string() + ": cannot create the plot directory" + (ec ? ": " + ec.message() : ""));
  }
  std::vector<PlotFile> files;
  for (RenderedPlot& p : render_analysis_plots(result, options)) {
    const fs::path path = dir / p.file_name;
    // Written under a temporary name and renamed, so a reader never sees half a PNG.
    const fs::path tmp = dir / (p.file_name + ".tmp");
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(p.png.data()), static_cast<std::streamsize>(p.png.size()));
      out.close();
      if (!out) {
        fs::remove(tmp, ec);
        throw std::runtime_error(path.string() + ": cannot write the plot");
      }
    }
    fs::rename(tmp, path, ec);
    if (ec) {
      const std::string reason = ec.message();
      fs::remove(tmp, ec);
      throw std::runtime_error(path.string() + ": cannot write the plot: " + reason);
    }
    files.push_back({path, std::move(p.title), std::move(p.tube)});
  }
  return files;
}

}  // namespace flowmrd::pipeline
