// SPDX-License-Identifier: Apache-2.0
// Building a normal-marrow reference from files of normal or regenerating marrow: each tube is
// pre-gated and split into compartments exactly as the analysis does, the compartment events of
// all files with the same marker set are pooled, and one Gaussian mixture is fitted per
// compartment and marker set (K chosen by BIC among a few sizes).
#include <algorithm>
#include <map>

#include "analysis_internal.hpp"

namespace flowmrd::pipeline {

namespace {

struct Pool {
  Compartment compartment = Compartment::b_lineage;
  std::vector<std::string> dims;
  std::vector<std::vector<float>> per_file;  ///< rows per file
  std::uint64_t events = 0;
};

std::vector<std::size_t> candidate_sizes(Compartment c, std::size_t events) {
  std::vector<std::size_t> ks;
  switch (c) {
    case Compartment::b_lineage: ks = {8, 12, 16}; break;
    case Compartment::cd19neg_window: ks = {2, 3, 4, 6}; break;
    case Compartment::myelomonocytic: ks = {8, 12, 16}; break;
  }
  // At least ~150 events per component.
  std::vector<std::size_t> out;
  for (auto k : ks) {
    if (k * 150 <= events) out.push_back(k);
  }
  if (out.empty()) out.push_back(std::max<std::size_t>(1, std::min<std::size_t>(2, events / 150)));
  return out;
}

}  // namespace

NormalReference build_reference(std::span<const Tube> tubes, const ReferenceBuildOptions& options) {
  NormalReference ref;
  ref.name = options.name;
  ref.version = options.version;
  ref.description = options.description;
  ref.created_by = options.created_by;

  std::vector<Pool> pools;
  auto pool_for = [&](Compartment c, const std::vector<std::string>& dims) -> Pool& {
    for (auto& p : pools) {
      if (p.compartment == c && p.dims == dims) return p;
    }
    pools.push_back(Pool{c, dims, {}, 0});
    return pools.back();
  };

  for (const auto& tube : tubes) {
    ref.sources.push_back(tube.label + " sha256:" + tube.sha256);
    PregateOptions po;
    po.threads = options.threads;
    const auto pre = pregate(tube.frame, tube.channels, po);
    const auto cols = detail::model_columns(tube, options.threads);
    const auto comps = detail::find_compartments(tube, cols, pre.nucleated);
    auto add = [&](Compartment c, const std::optional<gating::Mask>& mask, const std::vector<std::string>& wanted) {
      if (!mask) return;
      const auto dims = detail::available(cols, wanted);
      if (dims.size() < 3) return;
      auto rows = detail::gather(cols, dims, *mask, nullptr);
      Pool& p = pool_for(c, dims);
      p.events += rows.size() / dims.size();
      p.per_file.push_back(std::move(rows));
    };
    add(Compartment::b_lineage, comps.b_cells, detail::b_lineage_dims());
    add(Compartment::cd19neg_window, comps.cd19neg_window, detail::window_dims());
    add(Compartment::myelomonocytic, comps.myelomonocytic, detail::myelomonocytic_dims());
  }

  for (auto& p : pools) {
    const std::size_t d = p.dims.size();
    if (p.events < 200) continue;
    // Every file contributes in proportion to its events, thinned by a fixed stride to the cap.
    std::vector<float> data;
    const double keep = std::min(1.0, static_cast<double>(options.max_events_per_model) / static_cast<double>(p.events));
    for (const auto& rows : p.per_file) {
      const std::size_t n = rows.size() / d;
      const auto take = static_cast<std::size_t>(static_cast<double>(n) * keep);
      for (std::size_t k = 0; k < take; ++k) {
        const std::size_t i = static_cast<std::size_t>(static_cast<double>(k) / keep);
        data.insert(data.end(), rows.begin() + static_cast<std::ptrdiff_t>(i * d),
                    rows.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
      }
    }
    const std::size_t n = data.size() / d;
    std::optional<gating::GmmFit> best;
    for (const auto k : candidate_sizes(p.compartment, n)) {
      gating::GmmFitOptions fo;
      fo.components = k;
      fo.seed = 11;
      fo.threads = options.threads;
      fo.regularization = 2e-3;
      fo.max_iterations = 300;
      auto fit = gating::fit_gmm(data, d, fo);
      if (!best || fit.bic < best->bic) best = std::move(fit);
    }
    ReferenceModel m;
    m.compartment = p.compartment;
    m.dimensions = p.dims;
    m.mixture = best->model;
    m.events = n;
    m.files = p.per_file.size();
    for (const auto& c : m.mixture.components()) {
      m.component_labels.push_back(detail::label_component(p.compartment, p.dims, c.mean));
    }
    ref.models.push_back(std::move(m));
  }
  if (ref.models.empty()) {
    throw AnalysisError(AnalysisErrorKind::analysis_failed, tubes.empty() ? std::string{} : tubes.front().path,
                        "no compartment had enough events (200) to build a reference model");
  }
  // Fixed order: compartment, then dimension count (descending).
  std::stable_sort(ref.models.begin(), ref.models.end(), [](const ReferenceModel& a, const ReferenceModel& b) {
    if (a.compartment != b.compartment) return static_cast<int>(a.compartment) < static_cast<int>(b.compartment);
    return a.dimensions.size() > b.dimensions.size();
  });
  return ref;
}

}  // namespace flowmrd::pipeline
