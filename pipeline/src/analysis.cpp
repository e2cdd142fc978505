// SPDX-License-Identifier: Apache-2.0
// The MRD analysis of one timepoint: per tube pre-gating, compartments and the blast search; then
// across tubes the MRD components, the timepoint's MRD, phenotypes and flags
// (docs/mrd-method.md).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <string_view>
#include <cstdio>

#include "analysis_internal.hpp"

namespace flowmrd::pipeline {

const gating::Mask* TubeAnalysis::mask(const std::string& id) const {
  for (const auto& [name, m] : masks) {
    if (name == id) return &m;
  }
  return nullptr;
}

namespace {

using detail::ModelColumns;


std::string fmt(double v, int digits = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

/// Terminal populations an event can be assigned to (the `population` column of --events).
const std::vector<std::string>& terminal_names() {
  static const std::vector<std::string> names = {
      "qc_excluded", "margin",     "debris",       "doublet",           "dead",
      "dna_negative", "b_blast",   "b_blast_cd19neg", "myelomonocytic_blast", "hematogone",
      "mature_b",    "plasma_cell", "cd19neg_progenitor", "monocyte",      "granulocyte",
      "myeloid_precursor", "eosinophil", "lymphocyte", "erythroid",       "myeloid_cell",
      "other"};
  return names;
}

std::uint8_t code_of(const std::string& name) {
  const auto& names = terminal_names();
  const auto it = std::find(names.begin(), names.end(), name);
  return static_cast<std::uint8_t>(it == names.end() ? names.size() - 1 : it - names.begin());
}

double median_of(std::vector<float> v) {
  if (v.empty()) return 0.0;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  double m = *mid;
  if (v.size() % 2 == 0) {
    const float lower = *std::max_element(v.begin(), mid);
    m = 0.5 * (m + static_cast<double>(lower));
  }
  return m;
}

/// One compartment's blast search in one tube.
struct CompartmentRun {
  bool evaluated = false;
  std::vector<std::string> dims;
  std::vector<std::string> labels;      ///< normal component labels
  std::vector<std::uint32_t> index;     ///< event numbers of the compartment
  std::vector<float> data;              ///< gathered rows (model scale, dims)
  detail::BlastSearchResult search;
  gating::GaussianMixture normal;
  gating::Mask blasts;
  std::string note;
};

/// What analysing one tube produced besides TubeAnalysis.
struct TubeWork {
  ModelColumns cols;
  detail::Compartments compartments;
  CompartmentRun b, window, myelo;
  std::uint64_t nucleated = 0;
  bool enough = false;
};

std::vector<gating::GmmComponent> laip_for(const std::vector<BlastPhenotype>& diagnosis, const std::string& population,
                                           const std::vector<std::string>& dims, std::vector<std::string>& notes) {
  std::vector<gating::GmmComponent> out;
  for (const auto& p : diagnosis) {
    if (p.population != population || p.mean.empty()) continue;
    std::vector<std::size_t> idx;
    for (const auto& d : dims) {
      const auto it = std::find(p.dimensions.begin(), p.dimensions.end(), d);
      if (it == p.dimensions.end()) break;
      idx.push_back(static_cast<std::size_t>(it - p.dimensions.begin()));
    }
    if (idx.size() != dims.size()) {
      notes.push_back("diagnosis phenotype of " + population + " lacks some of this tube's dimensions: not used");
      continue;
    }
    const std::size_t pd = p.dimensions.size();
    if (p.covariance.size() != pd * pd || p.mean.size() != pd) continue;
    gating::GmmComponent c;
    for (std::size_t a = 0; a < idx.size(); ++a) {
      c.mean.push_back(p.mean[idx[a]]);
      for (std::size_t b = 0; b < idx.size(); ++b) c.covariance.push_back(p.covariance[idx[a] * pd + idx[b]]);
    }
    // A floor keeps a diagnosis population of very few events usable.
    for (std::size_t a = 0; a < idx.size(); ++a) c.covariance[a * idx.size() + a] += 0.01;
    out.push_back(std::move(c));
    notes.push_back("the diagnosis phenotype of " + population + " seeds the search");
  }
  return out;
}

void run_compartment(CompartmentRun& run, Compartment compartment, const std::optional<gating::Mask>& mask,
                     const std::vector<std::string>& wanted, const ModelColumns& cols,
                     const NormalReference& reference, const AnalysisOptions& options,
                     const std::string& blast_population, std::vector<std::string>& notes) {
  run.blasts = gating::Mask(mask ? mask->size() : 0);
  if (!mask) return;
  const auto avail = detail::available(cols, wanted);
  auto model = detail::usable_model(reference, compartment, avail);
  if (!model) {
    notes.push_back("the reference has no " + to_string(compartment) + " model covering this tube's markers: not evaluated");
    return;
  }
  run.evaluated = true;
  run.dims = model->dims;
  run.labels = model->labels;
  run.normal = model->mixture;
  run.data = detail::gather(cols, run.dims, *mask, &run.index);
  detail::BlastSearchOptions bo;
  bo.outlier_quantile = options.outlier_quantile;
  bo.lod_events = options.mrd.lod_events;
  bo.threads = options.threads;
  bo.laip = laip_for(options.diagnosis, blast_population, run.dims, notes);
  run.search = detail::search_blasts(run.normal, run.data, run.dims.size(), bo);
  // Dead and apoptotic cells that escaped pre-gating are dim on every marker and so off normal;
  // what gives them away is forward scatter: they are about half the size of the live cell they
  // came from. Blast events more than 0.25 decades (x0.56) below the FSC-A median of the
  // compartment's normal events are not counted (blasts are at least as large as their normal
  // counterparts).
  if (const auto* fsc = cols.get("FSC-A")) {
    std::vector<float> normal_fsc;
    for (std::size_t r = 0; r < run.index.size(); ++r) {
      if (run.search.is_blast[r] == 0) normal_fsc.push_back((*fsc)[run.index[r]]);
    }
    if (!normal_fsc.empty()) {
      const double floor_fsc = median_of(std::move(normal_fsc)) - 0.25;
      std::uint64_t small = 0;
      for (std::size_t r = 0; r < run.index.size(); ++r) {
        if (run.search.is_blast[r] != 0 && (*fsc)[run.index[r]] < floor_fsc) {
          run.search.is_blast[r] = 0;
          ++small;
        }
      }
      std::uint64_t left = 0;
      for (const auto b : run.search.is_blast) left += b;
      if (left < options.mrd.lod_events) std::fill(run.search.is_blast.begin(), run.search.is_blast.end(), 0);
      if (small > 0) {
        notes.push_back(to_string(compartment) + ": " + std::to_string(small) +
                        " off-normal events with low forward scatter (FSC-A < " + fmt(floor_fsc) +
                        ", dead or apoptotic cells) not counted as blasts");
      }
    }
  }
  run.blasts = gating::Mask(mask->size());
  for (std::size_t r = 0; r < run.index.size(); ++r) {
    if (run.search.is_blast[r] != 0) run.blasts.set(run.index[r]);
  }
  std::string dims;
  for (const auto& d : run.dims) dims += (dims.empty() ? "" : ", ") + d;
  notes.push_back(to_string(compartment) + ": " + std::to_string(run.index.size()) + " events scored on " + dims);
  for (const auto& n : run.search.notes) notes.push_back(to_string(compartment) + ": " + n);
  for (std::size_t j = 0; j < run.search.clusters.size(); ++j) {
    const auto& c = run.search.clusters[j];
    notes.push_back(to_string(compartment) + ": cluster " + std::to_string(j + 1) + (c.accepted ? " accepted: " : " rejected: ") +
                    c.reason);
  }
}


std::string counterpart_name(const std::string& label) {
  if (label == "hematogone") return "normal B-cell precursors (hematogones)";
  if (label == "mature_b") return "mature B cells";
  if (label == "plasma_cell") return "plasma cells";
  if (label == "monocyte") return "monocytes";
  if (label == "granulocyte") return "granulocytes";
  if (label == "myeloid_precursor") return "myeloid precursors";
  if (label == "eosinophil") return "eosinophils";
  return "normal " + label;
}

BlastPhenotype phenotype_of(const std::string& population, const TubeAnalysis& ta, const ModelColumns& cols,
                            const CompartmentRun& run, const gating::Mask& blasts, const std::string& prefer_label) {
  BlastPhenotype p;
  p.population = population;
  p.tube = ta.tube.label;
  p.events = blasts.count();
  // Gaussian summary over the compartment dimensions (for a later LAIP-guided search).
  p.dimensions = run.dims;
  const std::size_t d = run.dims.size();
  std::vector<std::size_t> rows;
  for (std::size_t r = 0; r < run.index.size(); ++r) {
    if (run.search.is_blast[r] != 0) rows.push_back(r);
  }
  p.mean.assign(d, 0.0);
  p.covariance.assign(d * d, 0.0);
  for (const auto r : rows) {
    for (std::size_t a = 0; a < d; ++a) p.mean[a] += run.data[r * d + a];
  }
  for (auto& m : p.mean) m /= std::max<double>(1.0, static_cast<double>(rows.size()));
  for (const auto r : rows) {
    for (std::size_t a = 0; a < d; ++a) {
      for (std::size_t b = 0; b < d; ++b) {
        p.covariance[a * d + b] += (run.data[r * d + a] - p.mean[a]) * (run.data[r * d + b] - p.mean[b]);
      }
    }
  }
  for (auto& c : p.covariance) c /= std::max<double>(1.0, static_cast<double>(rows.size()) - 1.0);

  // The nearest normal counterpart: preferably a component of the expected kind.
  std::size_t best = 0;
  double best_d = std::numeric_limits<double>::infinity();
  for (int pass = 0; pass < 2 && !std::isfinite(best_d); ++pass) {
    for (std::size_t k = 0; k < run.normal.size(); ++k) {
      if (pass == 0 && k < run.labels.size() && run.labels[k] != prefer_label) continue;
      const double m2 = run.normal.mahalanobis2(k, p.mean.data());
      if (m2 < best_d) {
        best_d = m2;
        best = k;
      }
    }
  }
  const auto& normal_mean = run.normal.component(best).mean;
  p.counterpart = best < run.labels.size() ? run.labels[best] : "normal";

  std::vector<std::size_t> events;
  events.reserve(p.events);
  for (std::size_t i = 0; i < blasts.size(); ++i) {
    if (blasts.test(i)) events.push_back(i);
  }
  for (const auto& [marker, values] : cols.values) {
    if (marker == "FSC-A" || marker == "FSC-H" || marker == "SSC-H") continue;
    std::vector<float> v;
    v.reserve(events.size());
    for (const auto i : events) v.push_back(values[i]);
    MarkerMedian mm;
    mm.marker = marker;
    mm.model = median_of(std::move(v));
    mm.linear = model_scale_inverse(mm.model);
    const auto it = std::find(run.dims.begin(), run.dims.end(), marker);
    if (it != run.dims.end()) {
      const std::size_t j = static_cast<std::size_t>(it - run.dims.begin());
      mm.normal_model = normal_mean[j];
      const double shift = mm.model - normal_mean[j];
      if (std::abs(shift) >= 0.3 && marker != "SSC-A") {
        Aberrancy a;
        a.marker = marker;
        a.direction = shift > 0 ? "over" : "under";
        a.shift = shift;
        a.text = marker + (shift > 0 ? " over-expressed" : " under-expressed") + " (" + (shift > 0 ? "+" : "") +
                 fmt(shift, 2) + " decades vs. " + counterpart_name(p.counterpart) + ")";
        p.aberrancies.push_back(std::move(a));
      }
    }
    p.medians.push_back(std::move(mm));
  }
  std::stable_sort(p.aberrancies.begin(), p.aberrancies.end(),
                   [](const Aberrancy& a, const Aberrancy& b) { return std::abs(a.shift) > std::abs(b.shift); });
  return p;
}

/// Pre-gating, compartments and blast searches of one tube.
TubeAnalysis analyse_tube(Tube tube, const NormalReference& reference, const AnalysisOptions& options, TubeWork& w) {
  TubeAnalysis ta;
  ta.tube = std::move(tube);
  const std::size_t n = ta.tube.frame.rows();
  PregateOptions po;
  po.threads = options.threads;
  ta.pregate = pregate(ta.tube.frame, ta.tube.channels, po);
  ta.gates = ta.pregate.gates;
  for (const auto& note : ta.pregate.notes) ta.notes.push_back("pre-gating: " + note);
  const gating::Mask& nucleated = ta.pregate.nucleated;
  w.nucleated = nucleated.count();
  w.enough = w.nucleated >= options.min_events;
  w.cols = detail::model_columns(ta.tube, options.threads);

  ta.masks.emplace_back("all_events", gating::Mask(n, true));
  ta.masks.emplace_back("qc_pass", ta.pregate.qc_pass);
  ta.masks.emplace_back("non_margin", ta.pregate.non_margin);
  ta.masks.emplace_back("cells", ta.pregate.cells);
  ta.masks.emplace_back("singlets", ta.pregate.singlets);
  ta.masks.emplace_back("viable", ta.pregate.viable);
  ta.masks.emplace_back("nucleated", nucleated);

  std::vector<std::uint8_t> assign(n, code_of("other"));
  for (std::size_t i = 0; i < n; ++i) {
    if (!ta.pregate.qc_pass.test(i)) assign[i] = code_of("qc_excluded");
    else if (!ta.pregate.non_margin.test(i)) assign[i] = code_of("margin");
    else if (!ta.pregate.cells.test(i)) assign[i] = code_of("debris");
    else if (!ta.pregate.singlets.test(i)) assign[i] = code_of("doublet");
    else if (!ta.pregate.viable.test(i)) assign[i] = code_of("dead");
    else if (!nucleated.test(i)) assign[i] = code_of("dna_negative");
  }

  if (!w.enough) {
    ta.notes.push_back("only " + std::to_string(w.nucleated) + " nucleated events (fewer than " +
                       std::to_string(options.min_events) + "): the compartments are not analysed");
    ta.assignment = std::move(assign);
    ta.terminal_names = terminal_names();
    ta.leukemic = gating::Mask(n);
    return ta;
  }

  w.compartments = detail::find_compartments(ta.tube, w.cols, nucleated);
  for (auto& g : w.compartments.gates) ta.gates.push_back(g);
  for (const auto& note : w.compartments.notes) ta.notes.push_back("compartments: " + note);

  // Background labels of nucleated events by CD45 and side scatter.
  const auto* cd45 = w.cols.get("CD45");
  const bool myeloid_markers = w.compartments.myelomonocytic.has_value();
  const double cd45_cut = cd45 != nullptr ? detail::positivity_cut(*cd45, nucleated).cut : 0.0;
  gating::Mask lymph(n), ery(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (!nucleated.test(i)) continue;
    const bool low = w.compartments.low_scatter.test(i);
    if (cd45 != nullptr && (*cd45)[i] <= cd45_cut && low) {
      assign[i] = code_of("erythroid");
      ery.set(i);
    } else if (low) {
      assign[i] = code_of("lymphocyte");
      lymph.set(i);
    } else {
      assign[i] = code_of(myeloid_markers ? "other" : "myeloid_cell");
    }
  }

  run_compartment(w.b, Compartment::b_lineage, w.compartments.b_cells, detail::b_lineage_dims(), w.cols, reference,
                  options, "b_blasts", ta.notes);
  run_compartment(w.window, Compartment::cd19neg_window, w.compartments.cd19neg_window, detail::window_dims(), w.cols,
                  reference, options, "b_blasts_cd19neg", ta.notes);
  run_compartment(w.myelo, Compartment::myelomonocytic, w.compartments.myelomonocytic, detail::myelomonocytic_dims(),
                  w.cols, reference, options, "myelomonocytic_blasts", ta.notes);

  // Off-normal myelomonocytic events are a lineage switch only with the immature monocytic-blast
  // phenotype: HLA-DR positive and CD64 or CD33 positive (CD19 negative by the compartment).
  // Anything else off normal maturation (e.g. HLA-DR-negative granulocytic tails) is noted, not
  // called.
  if (w.myelo.evaluated) {
    std::vector<std::size_t> rows;
    for (std::size_t r = 0; r < w.myelo.index.size(); ++r) {
      if (w.myelo.search.is_blast[r] != 0) rows.push_back(r);
    }
    auto median_on = [&](const char* marker) -> std::optional<double> {
      const auto* v = w.cols.get(marker);
      if (v == nullptr || rows.empty()) return std::nullopt;
      std::vector<float> x;
      x.reserve(rows.size());
      for (const auto r : rows) x.push_back((*v)[w.myelo.index[r]]);
      return median_of(std::move(x));
    };
    std::string why;
    if (const auto hla = median_on("HLA-DR")) {
      const double cut = detail::positivity_cut(*w.cols.get("HLA-DR"), nucleated).cut;
      if (*hla < cut) why = "HLA-DR negative (median " + fmt(*hla) + " < " + fmt(cut) + ")";
    }
    const auto c64 = median_on("CD64");
    const auto c33 = median_on("CD33");
    const auto& cuts = w.compartments.cuts;
    const bool lineage = (c64 && cuts.count("CD64") != 0 && *c64 > cuts.at("CD64")) ||
                         (c33 && cuts.count("CD33") != 0 && *c33 > cuts.at("CD33"));
    if (!rows.empty() && !lineage) why += std::string(why.empty() ? "" : ", ") + "neither CD64 nor CD33 positive";
    if (!rows.empty() && !why.empty()) {
      ta.notes.push_back("myelomonocytic: " + std::to_string(rows.size()) +
                         " off-normal events without the monocytic-blast phenotype (" + why + "): not called");
      for (const auto r : rows) w.myelo.search.is_blast[r] = 0;
    }
  }

  // Compartment events: normal component label, or blast.
  auto label_events = [&](const CompartmentRun& run, const std::optional<gating::Mask>& mask, const char* blast_code,
                          const char* default_label) {
    if (!mask) return;
    for (std::size_t i = 0; i < n; ++i) {
      if (mask->test(i)) {
        assign[i] = code_of(default_label);
        lymph.set(i, false);
        ery.set(i, false);
      }
    }
    if (!run.evaluated) return;
    for (std::size_t r = 0; r < run.index.size(); ++r) {
      const auto i = run.index[r];
      if (run.search.is_blast[r] != 0) {
        assign[i] = code_of(blast_code);
      } else {
        const auto k = run.search.normal_component[r];
        if (k < run.labels.size()) assign[i] = code_of(run.labels[k]);
      }
    }
  };
  label_events(w.myelo, w.compartments.myelomonocytic, "myelomonocytic_blast", "granulocyte");
  label_events(w.window, w.compartments.cd19neg_window, "b_blast_cd19neg", "cd19neg_progenitor");
  label_events(w.b, w.compartments.b_cells, "b_blast", "hematogone");

  // The CD19-dim tail of a CD19+ blast population falls below the CD19 cut into the
  // CD19-independent window. Those events are blasts, but not CD19-negative ones: window blasts
  // whose CD19 lies within the CD19+ blasts' own distribution (above median - 4 robust SD) are
  // counted as CD19+ (dim) B blasts, so `cd19_negative` means CD19 at the level of negative cells.
  if (w.b.evaluated && w.window.evaluated) {
    const auto& v19 = *w.cols.get("CD19");
    std::vector<float> b19;
    for (std::size_t r = 0; r < w.b.index.size(); ++r) {
      if (w.b.search.is_blast[r] != 0) b19.push_back(v19[w.b.index[r]]);
    }
    if (b19.size() >= options.mrd.lod_events) {
      const double med = median_of(b19);
      std::vector<float> dev(b19.size());
      for (std::size_t k = 0; k < b19.size(); ++k) dev[k] = static_cast<float>(std::abs(b19[k] - med));
      const double sd = std::max(0.05, 1.4826 * median_of(std::move(dev)));
      const double floor19 = med - 4.0 * sd;
      std::uint64_t moved = 0;
      for (std::size_t r = 0; r < w.window.index.size(); ++r) {
        const auto i = w.window.index[r];
        if (w.window.search.is_blast[r] != 0 && v19[i] >= floor19) {
          assign[i] = code_of("b_blast");
          w.window.search.is_blast[r] = 0;
          ++moved;
        }
      }
      if (moved > 0) {
        ta.notes.push_back("cd19neg_window: " + std::to_string(moved) +
                           " blast events with CD19 within the CD19+ blasts' distribution (>= " + fmt(floor19) +
                           ") counted as CD19-dim B blasts");
      }
    }
  }

  // One pass builds the mask of every terminal population.
  std::vector<gating::Mask> by_code(terminal_names().size(), gating::Mask(n));
  for (std::size_t i = 0; i < n; ++i) by_code[assign[i]].set(i);
  auto mask_of = [&](std::initializer_list<const char*> codes) {
    gating::Mask m(n);
    for (const char* c : codes) {
      const auto& src = by_code[code_of(c)].words();
      auto& dst = m.words();
      for (std::size_t k = 0; k < dst.size(); ++k) dst[k] |= src[k];
    }
    return m;
  };
  if (w.compartments.b_cells) {
    ta.masks.emplace_back("b_cells", *w.compartments.b_cells);
    ta.masks.emplace_back("hematogones", mask_of({"hematogone"}));
    ta.masks.emplace_back("mature_b", mask_of({"mature_b"}));
    ta.masks.emplace_back("plasma_cells", mask_of({"plasma_cell"}));
    ta.masks.emplace_back("b_blasts", mask_of({"b_blast"}));
  }
  if (w.compartments.cd19neg_window) {
    ta.masks.emplace_back("cd19neg_window", *w.compartments.cd19neg_window);
    ta.masks.emplace_back("b_blasts_cd19neg", mask_of({"b_blast_cd19neg"}));
  }
  if (w.compartments.myelomonocytic) {
    ta.masks.emplace_back("myelomonocytic", *w.compartments.myelomonocytic);
    ta.masks.emplace_back("monocytes", mask_of({"monocyte"}));
    ta.masks.emplace_back("granulocytes", mask_of({"granulocyte"}));
    ta.masks.emplace_back("myeloid_precursors", mask_of({"myeloid_precursor"}));
    ta.masks.emplace_back("eosinophils", mask_of({"eosinophil"}));
    ta.masks.emplace_back("myelomonocytic_blasts", mask_of({"myelomonocytic_blast"}));
  }
  ta.masks.emplace_back("lymphocytes", lymph);
  ta.masks.emplace_back("erythroid", ery);
  ta.leukemic = mask_of({"b_blast", "b_blast_cd19neg", "myelomonocytic_blast"});
  ta.masks.emplace_back("blasts", ta.leukemic);
  ta.assignment = std::move(assign);
  ta.terminal_names = terminal_names();
  return ta;
}

struct PopulationInfo {
  const char* id;
  const char* name;
  const char* parent;
};

const std::vector<PopulationInfo>& population_info() {
  static const std::vector<PopulationInfo> info = {
      {"all_events", "All events", ""},
      {"qc_pass", "Acquisition QC passed", "all_events"},
      {"non_margin", "Not saturated", "qc_pass"},
      {"cells", "Cells (not debris)", "non_margin"},
      {"singlets", "Single cells", "cells"},
      {"viable", "Viable cells", "singlets"},
      {"nucleated", "Nucleated viable single cells (MRD denominator)", "viable"},
      {"b_cells", "CD19+ B cells", "nucleated"},
      {"hematogones", "Normal B-cell precursors (hematogones)", "b_cells"},
      {"mature_b", "Mature B cells", "b_cells"},
      {"plasma_cells", "Plasma cells", "b_cells"},
      {"b_blasts", "CD19+ (and CD19-dim) B-lineage blasts", "b_cells"},
      {"cd19neg_window", "CD19-negative B-progenitor window", "nucleated"},
      {"b_blasts_cd19neg", "CD19-negative B-lineage blasts", "cd19neg_window"},
      {"myelomonocytic", "Myelomonocytic cells (CD33+ and/or CD64+)", "nucleated"},
      {"monocytes", "Monocytes", "myelomonocytic"},
      {"granulocytes", "Granulocytes", "myelomonocytic"},
      {"myeloid_precursors", "Myeloid precursors", "myelomonocytic"},
      {"eosinophils", "Eosinophils", "myelomonocytic"},
      {"myelomonocytic_blasts", "Myelomonocytic blasts (lineage switch)", "myelomonocytic"},
      {"lymphocytes", "Lymphocytes (T/NK)", "nucleated"},
      {"erythroid", "Nucleated erythroid cells", "nucleated"},
      {"blasts", "All leukemic blasts", "nucleated"},
  };
  return info;
}

/// Whether population `id` is the denominator or lies inside it (its parents reach "nucleated").
bool within_nucleated(std::string_view id) {
  while (!id.empty()) {
    if (id == "nucleated") return true;
    const auto& info = population_info();
    const auto it = std::find_if(info.begin(), info.end(), [&](const PopulationInfo& p) { return id == p.id; });
    id = it == info.end() ? std::string_view{} : std::string_view{it->parent};
  }
  return false;
}

/// B-marker / myeloid-marker coverage of a tube, to pick the tube each compartment is read from.
int marker_score(const TubeWork& w, const std::vector<std::string>& markers) {
  int s = 0;
  for (const auto& m : markers) s += w.cols.has(m) ? 1 : 0;
  return s;
}

}  // namespace

AnalysisResult analyze(std::vector<Tube> tubes, const NormalReference& reference, const AnalysisOptions& options) {
  if (tubes.empty()) throw std::invalid_argument("analyze: no tube given");
  AnalysisResult result;
  result.reference_name = reference.name;
  result.reference_version = reference.version;
  result.reference_sha256 = reference.sha256;

  std::vector<TubeWork> work(tubes.size());
  for (std::size_t t = 0; t < tubes.size(); ++t) {
    result.tubes.push_back(analyse_tube(std::move(tubes[t]), reference, options, work[t]));
  }

  // Populations with counts.
  for (std::size_t t = 0; t < result.tubes.size(); ++t) {
    const auto& ta = result.tubes[t];
    const gating::Mask* nuc = ta.mask("nucleated");
    const double d = nuc != nullptr ? static_cast<double>(nuc->count()) : 0.0;
    for (const auto& info : population_info()) {
      const gating::Mask* m = ta.mask(info.id);
      if (m == nullptr) continue;
      PopulationCount pc;
      pc.id = info.id;
      pc.name = info.name;
      pc.parent = info.parent;
      pc.tube = ta.tube.label;
      pc.events = m->count();
      const gating::Mask* parent = *info.parent != '\0' ? ta.mask(info.parent) : nullptr;
      const double pn = parent != nullptr ? static_cast<double>(parent->count()) : static_cast<double>(m->size());
      pc.percent_parent = pn > 0 ? 100.0 * static_cast<double>(pc.events) / pn : 0.0;
      if (within_nucleated(info.id) && d > 0) pc.percent_nucleated = 100.0 * static_cast<double>(pc.events) / d;
      result.populations.push_back(std::move(pc));
    }
  }

  // Which tube each compartment is read from: the one with the most markers of it.
  static const std::vector<std::string> b_markers = {"CD19", "CD10", "CD34", "CD20", "CD38", "CD58", "CD45"};
  static const std::vector<std::string> m_markers = {"CD64", "CD33", "CD14", "CD11b", "HLA-DR", "CD4", "CD45"};
  int b_tube = -1, w_tube = -1, m_tube = -1;
  for (std::size_t t = 0; t < work.size(); ++t) {
    const int ti = static_cast<int>(t);
    if (work[t].b.evaluated && (b_tube < 0 || marker_score(work[t], b_markers) > marker_score(work[b_tube], b_markers))) b_tube = ti;
    if (work[t].window.evaluated &&
        (w_tube < 0 || marker_score(work[t], b_markers) > marker_score(work[w_tube], b_markers))) w_tube = ti;
    if (work[t].myelo.evaluated && (m_tube < 0 || marker_score(work[t], m_markers) > marker_score(work[m_tube], m_markers))) m_tube = ti;
  }
  auto& cov = result.coverage;
  cov.b_lineage = b_tube >= 0;
  cov.cd19_negative = w_tube >= 0;
  cov.lineage_switch = m_tube >= 0;
  if (b_tube >= 0) cov.b_lineage_tube = result.tubes[b_tube].tube.label;
  if (w_tube >= 0) cov.cd19_negative_tube = result.tubes[w_tube].tube.label;
  if (m_tube >= 0) cov.lineage_switch_tube = result.tubes[m_tube].tube.label;
  bool any_enough = false;
  for (const auto& w : work) any_enough = any_enough || w.enough;
  if (any_enough) {
    if (!cov.b_lineage) cov.notes.push_back("B-lineage blasts not evaluable: no tube has CD19 with a matching reference model");
    if (!cov.cd19_negative) cov.notes.push_back("CD19-negative blasts not evaluable: no tube has CD19 with CD10 or CD34");
    if (!cov.lineage_switch) cov.notes.push_back("lineage switch not evaluable: no tube has CD33 or CD64");
    if (!cov.b_lineage && !cov.cd19_negative && !cov.lineage_switch) {
      throw AnalysisError(AnalysisErrorKind::analysis_failed, result.tubes.front().tube.path,
                          result.tubes.front().tube.path +
                              ": nothing to analyse: no tube has CD19 (B lineage) or CD33/CD64 (myelomonocytic)");
    }
  }

  // MRD components.
  auto count_in = [&](int t, const char* id) -> std::uint64_t {
    const gating::Mask* m = result.tubes[static_cast<std::size_t>(t)].mask(id);
    return m != nullptr ? m->count() : 0;
  };
  auto denominator_of = [&](int t) { return count_in(t, "nucleated"); };
  auto add_component = [&](int t, const char* id) {
    if (t < 0) return;
    MrdComponent c;
    c.population = id;
    c.tube = result.tubes[static_cast<std::size_t>(t)].tube.label;
    c.events = count_in(t, id);
    c.denominator = denominator_of(t);
    c.percent = c.denominator > 0 ? 100.0 * static_cast<double>(c.events) / static_cast<double>(c.denominator) : 0.0;
    result.components.push_back(c);
  };
  add_component(b_tube, "b_blasts");
  add_component(w_tube, "b_blasts_cd19neg");
  add_component(m_tube, "myelomonocytic_blasts");

  // The timepoint's MRD: exact counts when every component comes from one tube; otherwise the sum
  // of the components' fractions expressed on the primary tube's denominator.
  const int primary = b_tube >= 0 ? b_tube : (w_tube >= 0 ? w_tube : m_tube);
  std::set<std::string> component_tubes;
  for (const auto& c : result.components) component_tubes.insert(c.tube);
  std::uint64_t k = 0;
  std::uint64_t d = primary >= 0 ? denominator_of(primary) : 0;
  if (primary < 0) {
    // No tube had enough events: report on the first tube.
    d = work.front().nucleated;
  }
  const bool too_few = primary < 0 || !work[static_cast<std::size_t>(primary)].enough;
  if (component_tubes.size() <= 1) {
    for (const auto& c : result.components) k += c.events;
  } else {
    double pct = 0.0;
    for (const auto& c : result.components) pct += c.percent;
    k = static_cast<std::uint64_t>(std::llround(pct * static_cast<double>(d) / 100.0));
    result.notes.push_back("MRD combines tubes: the components' percentages are added and expressed as " +
                           std::to_string(k) + " equivalent events of " + result.tubes[primary].tube.label);
  }
  if (too_few) {
    result.mrd = compute_mrd(0, 0, options.mrd);
    result.mrd.message = "too few nucleated events to analyse (" + std::to_string(d) + ", at least " +
                         std::to_string(options.min_events) + " needed)";
  } else {
    result.mrd = compute_mrd(std::min(k, d), d, options.mrd);
  }

  // Phenotypes.
  auto add_phenotype = [&](int t, const char* id, CompartmentRun TubeWork::*run, const char* prefer) {
    if (t < 0) return;
    const auto& ta = result.tubes[static_cast<std::size_t>(t)];
    const gating::Mask* m = ta.mask(id);
    if (m == nullptr || m->count() == 0) return;
    result.phenotypes.push_back(phenotype_of(id, ta, work[static_cast<std::size_t>(t)].cols,
                                             work[static_cast<std::size_t>(t)].*run, *m, prefer));
  };
  add_phenotype(b_tube, "b_blasts", &TubeWork::b, "hematogone");
  add_phenotype(w_tube, "b_blasts_cd19neg", &TubeWork::window, "cd19neg_progenitor");
  add_phenotype(m_tube, "myelomonocytic_blasts", &TubeWork::myelo, "monocyte");

  // Flags.
  const std::uint64_t lod = options.mrd.lod_events;
  const std::uint64_t b_pos = b_tube >= 0 ? count_in(b_tube, "b_blasts") : 0;
  const std::uint64_t b_neg = w_tube >= 0 ? count_in(w_tube, "b_blasts_cd19neg") : 0;
  const std::uint64_t mono = m_tube >= 0 ? count_in(m_tube, "myelomonocytic_blasts") : 0;
  if (w_tube >= 0) {
    Flag f;
    f.id = "cd19_negative";
    f.tube = result.tubes[w_tube].tube.label;
    f.events = b_neg;
    f.raised = b_neg >= lod;
    const double dn = static_cast<double>(denominator_of(w_tube));
    if (dn > 0) f.percent_nucleated = 100.0 * static_cast<double>(b_neg) / dn;
    if (b_pos + b_neg > 0) f.percent_of_blasts = 100.0 * static_cast<double>(b_neg) / static_cast<double>(b_pos + b_neg);
    f.explanation = f.raised ? "CD19-negative B-lineage blasts: " + std::to_string(b_neg) + " events (" +
                                   fmt(*f.percent_nucleated, 2) + "% of nucleated cells, " +
                                   fmt(f.percent_of_blasts.value_or(0), 3) +
                                   "% of B-lineage blasts lack CD19): CD19-directed therapy may not reach them"
                             : "no CD19-negative B-lineage blast cluster at or above the LOD (" + std::to_string(b_neg) +
                                   " events)";
    result.flags.push_back(std::move(f));
  }
  if (m_tube >= 0) {
    Flag f;
    f.id = "lineage_switch";
    f.tube = result.tubes[m_tube].tube.label;
    f.events = mono;
    f.raised = mono >= lod;
    const double dn = static_cast<double>(denominator_of(m_tube));
    if (dn > 0) f.percent_nucleated = 100.0 * static_cast<double>(mono) / dn;
    const double all = static_cast<double>(b_pos + b_neg + mono);
    if (all > 0) f.percent_of_blasts = 100.0 * static_cast<double>(mono) / all;
    f.explanation = f.raised ? "myelomonocytic blasts off normal monocytic/myeloid maturation: " + std::to_string(mono) +
                                   " events, " + fmt(*f.percent_nucleated, 2) +
                                   "% of nucleated cells: possible lineage switch"
                             : "no myelomonocytic blast cluster at or above the LOD (" + std::to_string(mono) +
                                   " events); monocytes follow normal maturation";
    result.flags.push_back(std::move(f));
  }
  {
    Flag f;
    f.id = "low_cellularity";
    f.tube = primary >= 0 ? result.tubes[primary].tube.label : result.tubes.front().tube.label;
    f.events = d;
    const double lod_pct = d > 0 ? 100.0 * static_cast<double>(lod) / static_cast<double>(d) : 100.0;
    const double goal = options.mrd.decision_threshold_percent.value_or(options.sensitivity_goal_percent);
    f.raised = too_few || lod_pct > goal;
    f.explanation = too_few ? "too few nucleated events to analyse (" + std::to_string(d) + ")"
                    : f.raised ? std::to_string(d) + " nucleated events: the LOD of " + fmt(lod_pct, 2) +
                                     "% does not reach " + fmt(goal, 2) + "%"
                               : std::to_string(d) + " nucleated events: LOD " + fmt(lod_pct, 2) + "% reaches " +
                                     fmt(goal, 2) + "%";
    result.flags.push_back(std::move(f));
  }
  {
    Flag f;
    f.id = "qc_anomaly";
    std::string what;
    for (const auto& ta : result.tubes) {
      for (const auto& a : ta.pregate.anomalies) {
        f.raised = true;
        f.events += a.events;
        if (f.tube.empty()) f.tube = ta.tube.label;
        if (!what.empty()) what += "; ";
        what += ta.tube.label + ": " + a.message;
      }
    }
    f.explanation = f.raised ? what : "acquisition stable over time";
    result.flags.push_back(std::move(f));
  }
  for (const auto& ta : result.tubes) {
    for (const auto& note : ta.notes) result.notes.push_back(ta.tube.label + ": " + note);
  }
  for (const auto& note : cov.notes) result.notes.push_back(note);
  return result;
}

}  // namespace flowmrd::pipeline
