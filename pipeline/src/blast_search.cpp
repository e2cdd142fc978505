// SPDX-License-Identifier: Apache-2.0
// The different-from-normal blast search of one compartment (docs/mrd-method.md):
//  1. score every event by its log density under the normal reference mixture;
//  2. events below the density that only `outlier_quantile` of normal events reach are
//     "off normal" (the threshold comes from sampling the reference itself);
//  3. the off-normal events are clustered (Gaussian mixture, K by BIC); a cluster is a blast
//     population only when it is compact and holds at least the LOD in events AND clearly more
//     off-normal events than normal maturation would scatter into the same region (estimated by
//     sampling the reference): scattered outliers are never blasts;
//  4. accepted clusters are refined by EM on the events around them with the normal components
//     frozen, and each event near them is assigned to blast or normal by posterior, so blasts that
//     overlap the normal region are counted too.
#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "analysis_internal.hpp"

namespace flowmrd::pipeline::detail {

namespace {

constexpr std::size_t kMonteCarlo = 100000;
constexpr std::uint64_t kMonteCarloSeed = 0x6d72642d726566ULL;  // fixed: results must not vary
constexpr std::size_t kMaxClusterEvents = 20000;                // candidates used to fit clusters
constexpr double kMaxClusterSd = 0.5;  // geometric-mean SD (model scale ~ decades) of a coherent cluster

double chi2_quantile(std::size_t dims, double p) {
  return boost::math::quantile(boost::math::chi_squared(static_cast<double>(dims)), p);
}

/// Rows `rows` of a row-major matrix.
std::vector<float> take_rows(const std::vector<float>& data, std::size_t dims, const std::vector<std::size_t>& rows) {
  std::vector<float> out(rows.size() * dims);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(rows[r] * dims), dims,
                out.begin() + static_cast<std::ptrdiff_t>(r * dims));
  }
  return out;
}

/// Every k-th row so that at most `limit` remain (deterministic).
std::vector<std::size_t> stride_subsample(const std::vector<std::size_t>& rows, std::size_t limit) {
  if (rows.size() <= limit) return rows;
  std::vector<std::size_t> out;
  out.reserve(limit);
  const double step = static_cast<double>(rows.size()) / static_cast<double>(limit);
  for (std::size_t k = 0; k < limit; ++k) out.push_back(rows[static_cast<std::size_t>(static_cast<double>(k) * step)]);
  return out;
}

double geometric_mean_sd(const gating::GmmComponent& c, std::size_t dims) {
  // log det via the Cholesky factor the mixture class keeps would be cheaper; dims is small.
  gating::GaussianMixture one(std::vector<gating::GmmComponent>{c});
  // log N(mean | mean) = -0.5 (d log 2pi + log det)  =>  log det = -2 log N - d log 2pi
  const double log_det = -2.0 * one.log_component_density(0, c.mean.data()) -
                         static_cast<double>(dims) * std::log(2.0 * 3.14159265358979323846);
  return std::exp(log_det / (2.0 * static_cast<double>(dims)));
}

/// Squared Mahalanobis distance of a float row (the mixture works in double).
double m2(const gating::GaussianMixture& g, std::size_t k, const float* row, std::size_t dims) {
  double x[64];
  for (std::size_t j = 0; j < dims && j < 64; ++j) x[j] = row[j];
  return g.mahalanobis2(k, x);
}

/// A blast cluster under test: its Gaussian and the off-normal events in its core.
struct Candidate {
  gating::GmmComponent gaussian;
  std::vector<std::size_t> core;  ///< row indices (compartment order)
  double expected = 0.0;          ///< expected off-normal normal events in the core
  bool laip = false;
};

}  // namespace

BlastSearchResult search_blasts(const gating::GaussianMixture& normal, const std::vector<float>& data,
                                std::size_t dims, const BlastSearchOptions& options) {
  BlastSearchResult out;
  const std::size_t n = dims == 0 ? 0 : data.size() / dims;
  out.is_blast.assign(n, 0);
  out.normal_component.assign(n, 0);
  if (n == 0) {
    out.notes.push_back("no events in the compartment");
    return out;
  }
  const unsigned threads = options.threads;

  // 1-2. Scores and the off-normal threshold.
  std::vector<double> score(n);
  normal.classify(data, out.normal_component, {}, threads, score);
  const std::vector<float> mc = normal.sample(kMonteCarlo, kMonteCarloSeed);
  std::vector<double> mc_score(kMonteCarlo);
  normal.log_densities(mc, mc_score, threads);
  std::vector<double> sorted = mc_score;
  const auto q_index = static_cast<std::size_t>(options.outlier_quantile * static_cast<double>(kMonteCarlo));
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(q_index), sorted.end());
  const double tau = sorted[q_index];
  out.threshold = tau;

  std::vector<std::size_t> cand;
  for (std::size_t i = 0; i < n; ++i) {
    if (score[i] < tau) cand.push_back(i);
  }
  out.candidates = cand.size();
  const double expected_outliers = options.outlier_quantile * static_cast<double>(n);
  out.notes.push_back(std::to_string(cand.size()) + " of " + std::to_string(n) +
                      " events off the normal reference (" + std::to_string(expected_outliers).substr(0, 6) +
                      " expected from normal maturation)");

  std::vector<Candidate> clusters;
  const double core_limit = chi2_quantile(dims, 0.99);

  // Reference samples that are themselves off normal: the background any cluster must beat.
  std::vector<std::size_t> mc_out;
  for (std::size_t i = 0; i < kMonteCarlo; ++i) {
    if (mc_score[i] < tau) mc_out.push_back(i);
  }
  const std::vector<float> mc_out_rows = take_rows(mc, dims, mc_out);
  const double mc_scale = static_cast<double>(n) / static_cast<double>(kMonteCarlo);

  // 3. Cluster the off-normal events.
  if (cand.size() >= options.lod_events) {
    const auto fit_rows = stride_subsample(cand, kMaxClusterEvents);
    const std::vector<float> fit_data = take_rows(data, dims, fit_rows);
    const std::size_t k_max = std::clamp<std::size_t>(fit_rows.size() / 40, 1, 6);
    std::optional<gating::GmmFit> best;
    for (std::size_t k = 1; k <= k_max; ++k) {
      gating::GmmFitOptions fo;
      fo.components = k;
      fo.seed = 17;
      fo.threads = threads;
      fo.regularization = 1e-3;
      fo.max_iterations = 100;
      auto fit = gating::fit_gmm(fit_data, dims, fo);
      if (!best || fit.bic < best->bic) best = std::move(fit);
    }
    const auto& model = best->model;
    const std::vector<float> cand_rows = take_rows(data, dims, cand);
    std::vector<std::uint32_t> which(cand.size());
    model.classify(cand_rows, which, {}, threads);
    std::vector<std::uint32_t> mc_which(mc_out.size());
    if (!mc_out.empty()) model.classify(mc_out_rows, mc_which, {}, threads);
    for (std::size_t k = 0; k < model.size(); ++k) {
      Candidate c;
      c.gaussian = model.component(k);
      for (std::size_t r = 0; r < cand.size(); ++r) {
        if (which[r] == k && m2(model, k, &cand_rows[r * dims], dims) <= core_limit) {
          c.core.push_back(cand[r]);
        }
      }
      std::size_t bg = 0;
      for (std::size_t r = 0; r < mc_out.size(); ++r) {
        if (mc_which[r] == k && m2(model, k, &mc_out_rows[r * dims], dims) <= core_limit) ++bg;
      }
      c.expected = static_cast<double>(bg) * mc_scale;
      clusters.push_back(std::move(c));
    }
  }

  // LAIP seeds: the diagnosis phenotype (covariance widened) looks for off-normal events at a
  // ten times looser threshold, since the search is then directed at one known region.
  for (const auto& laip : options.laip) {
    if (laip.mean.size() != dims) continue;
    gating::GmmComponent wide = laip;
    for (auto& v : wide.covariance) v *= 2.25;
    gating::GaussianMixture seed(std::vector<gating::GmmComponent>{wide});
    const auto loose_index = std::min(kMonteCarlo - 1, q_index * 10);
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(loose_index), sorted.end());
    const double tau_loose = sorted[loose_index];
    const double limit = chi2_quantile(dims, 0.999);
    Candidate c;
    c.laip = true;
    c.gaussian = wide;
    for (std::size_t i = 0; i < n; ++i) {
      if (score[i] < tau_loose && m2(seed, 0, &data[i * dims], dims) <= limit) c.core.push_back(i);
    }
    std::size_t bg = 0;
    for (std::size_t i = 0; i < kMonteCarlo; ++i) {
      if (mc_score[i] < tau_loose && m2(seed, 0, &mc[i * dims], dims) <= limit) ++bg;
    }
    c.expected = static_cast<double>(bg) * mc_scale;
    clusters.push_back(std::move(c));
  }

  // Test each cluster: LOD, compactness, and contrast with the background. Where the sample
  // scatters more off-normal events than the reference predicts (instrument or marrow
  // differences), the background is scaled up by that excess, measured outside accepted clusters.
  auto passes = [&](const Candidate& c, double inflation, std::string& reason) {
    const double events = static_cast<double>(c.core.size());
    const double expected = c.expected * inflation;
    const double sd = geometric_mean_sd(c.gaussian, dims);
    if (c.core.size() < options.lod_events) {
      reason = std::to_string(c.core.size()) + " events in its core, below the LOD of " +
               std::to_string(options.lod_events);
      return false;
    }
    if (!c.laip && sd > kMaxClusterSd) {
      reason = "not a coherent cluster (geometric-mean SD " + std::to_string(sd).substr(0, 5) + " > " +
               std::to_string(kMaxClusterSd).substr(0, 4) + ")";
      return false;
    }
    // A Poisson excess of about four standard deviations over the background, plus a small
    // margin because the expected count is itself an estimate.
    const double needed = expected + 4.0 * std::sqrt(expected) + 5.0;
    if (events < needed) {
      reason = std::to_string(c.core.size()) + " events where normal maturation scatters " +
               std::to_string(expected).substr(0, 6) + " (need " + std::to_string(needed).substr(0, 6) + ")";
      return false;
    }
    reason = std::to_string(c.core.size()) + " events, " + std::to_string(expected).substr(0, 6) +
             " expected from normal maturation, SD " + std::to_string(sd).substr(0, 5) +
             (c.laip ? " (diagnosis phenotype)" : "");
    return true;
  };
  std::vector<bool> accepted(clusters.size(), false);
  std::string reason;
  for (std::size_t j = 0; j < clusters.size(); ++j) accepted[j] = passes(clusters[j], 1.0, reason);
  double in_clusters = 0.0;
  for (std::size_t j = 0; j < clusters.size(); ++j) {
    if (accepted[j]) in_clusters += static_cast<double>(clusters[j].core.size());
  }
  const double inflation =
      std::max(1.0, (static_cast<double>(cand.size()) - in_clusters) / std::max(expected_outliers, 1.0));
  for (std::size_t j = 0; j < clusters.size(); ++j) {
    accepted[j] = passes(clusters[j], inflation, reason);
    ClusterReport rep;
    rep.core_events = clusters[j].core.size();
    rep.expected_background = clusters[j].expected * inflation;
    rep.accepted = accepted[j];
    rep.reason = reason;
    out.clusters.push_back(rep);
  }
  if (inflation > 1.0) {
    out.notes.push_back("off-normal background " + std::to_string(inflation).substr(0, 5) +
                        "x what the reference predicts; cluster tests scaled accordingly");
  }

  std::vector<gating::GmmComponent> blast_components;
  std::vector<std::size_t> seeds;  // core events of accepted clusters
  for (std::size_t j = 0; j < clusters.size(); ++j) {
    if (!accepted[j]) continue;
    blast_components.push_back(clusters[j].gaussian);
    seeds.insert(seeds.end(), clusters[j].core.begin(), clusters[j].core.end());
  }
  if (blast_components.empty()) return out;

  // 4. Refine around the accepted clusters: events within the widened blast ellipsoids (plus the
  // cores) are fitted with the normal components frozen and the blast components free.
  std::vector<gating::GmmComponent> wide = blast_components;
  for (auto& c : wide) {
    for (auto& v : c.covariance) v *= 4.0;
  }
  const gating::GaussianMixture near_model(wide);
  const double near_limit = chi2_quantile(dims, 0.999);
  std::vector<std::uint8_t> is_near(n, 0);
  for (const auto i : seeds) is_near[i] = 1;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < near_model.size() && is_near[i] == 0; ++k) {
      if (m2(near_model, k, &data[i * dims], dims) <= near_limit) is_near[i] = 1;
    }
  }
  std::vector<std::size_t> near_rows;
  for (std::size_t i = 0; i < n; ++i) {
    if (is_near[i] != 0) near_rows.push_back(i);
  }
  const std::vector<float> near_data = take_rows(data, dims, near_rows);

  std::vector<gating::GmmComponent> init = normal.components();
  const double blast_share = std::min(0.9, static_cast<double>(seeds.size()) / static_cast<double>(near_rows.size()));
  for (auto& c : init) c.weight *= (1.0 - blast_share);
  for (std::size_t j = 0; j < blast_components.size(); ++j) {
    auto c = blast_components[j];
    c.weight = blast_share / static_cast<double>(blast_components.size());
    init.push_back(std::move(c));
  }
  gating::GmmFitOptions fo;
  fo.init = gating::GaussianMixture(init);
  fo.frozen.assign(init.size(), false);
  for (std::size_t k = 0; k < normal.size(); ++k) fo.frozen[k] = true;
  fo.max_iterations = 20;
  fo.regularization = 1e-3;
  fo.threads = threads;
  const auto refined = gating::fit_gmm(near_data, dims, fo);
  for (const auto& note : refined.notes) {
    // Frozen normal components that explain none of the local events are expected (the fit only
    // sees the neighbourhood of the blast clusters): not worth a note.
    const auto at = note.find("component ");
    if (note.find("explains no events") != std::string::npos && at != std::string::npos &&
        std::strtoul(note.c_str() + at + 10, nullptr, 10) < normal.size()) {
      continue;
    }
    out.notes.push_back("refinement: " + note);
  }

  std::vector<std::uint32_t> best(near_rows.size());
  refined.model.classify(near_data, best, {}, threads);
  // Components are kept in order; any dropped ones can only be blast components (frozen ones stay).
  std::uint64_t blasts = 0;
  for (std::size_t r = 0; r < near_rows.size(); ++r) {
    if (best[r] >= normal.size()) {
      out.is_blast[near_rows[r]] = 1;
      ++blasts;
    }
  }
  if (blasts < options.lod_events) {
    out.notes.push_back("after refinement only " + std::to_string(blasts) + " blast events remain, below the LOD");
    std::fill(out.is_blast.begin(), out.is_blast.end(), 0);
  }
  return out;
}

}  // namespace flowmrd::pipeline::detail
