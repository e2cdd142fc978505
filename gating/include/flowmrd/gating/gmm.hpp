// SPDX-License-Identifier: Apache-2.0
/// @file gmm.hpp
/// Gaussian mixture models with full covariances: densities, marginals, sampling and a
/// deterministic EM fit (k-means++ initialisation from a fixed seed). The MRD analysis uses them as
/// the "normal maturation" reference of a compartment (different-from-normal scoring) and to find
/// coherent clusters among the events that normal maturation does not explain
/// (docs/mrd-method.md).
///
/// Data are events x dims, row-major float (event i, dimension j at data[i * dims + j]); all
/// arithmetic is in double. Every function is deterministic: results are bit-identical for any
/// `threads` value (events are processed in fixed chunks whose partial sums are combined in chunk
/// order), and no global state is kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace flowmrd::gating {

/// One Gaussian of a mixture.
struct GmmComponent {
  double weight = 1.0;             ///< mixing weight, > 0 (weights are renormalised to sum 1)
  std::vector<double> mean;        ///< dims values
  std::vector<double> covariance;  ///< dims x dims, row-major, symmetric positive definite
};

/// A Gaussian mixture. Immutable after construction; thread-safe; cheap-ish to copy.
class GaussianMixture {
 public:
  GaussianMixture() = default;
  /// Validates (same dims everywhere, finite values, positive weights, symmetric positive-definite
  /// covariances) and precomputes Cholesky factors. Weights are renormalised to sum 1.
  /// @throws std::invalid_argument naming the component and the problem.
  explicit GaussianMixture(std::vector<GmmComponent> components);

  [[nodiscard]] std::size_t dims() const noexcept { return dims_; }
  [[nodiscard]] std::size_t size() const noexcept { return components_.size(); }
  [[nodiscard]] bool empty() const noexcept { return components_.empty(); }
  [[nodiscard]] const GmmComponent& component(std::size_t k) const { return components_.at(k); }
  [[nodiscard]] const std::vector<GmmComponent>& components() const noexcept { return components_; }

  /// log N(x | mean_k, cov_k) for one point of dims() values.
  [[nodiscard]] double log_component_density(std::size_t k, const double* x) const;
  /// Squared Mahalanobis distance of x to component k.
  [[nodiscard]] double mahalanobis2(std::size_t k, const double* x) const;
  /// log sum_k w_k N(x | k) (log-sum-exp, finite for any finite x).
  [[nodiscard]] double log_density(const double* x) const;

  /// log_density of every event of `data` (events x dims(), row-major float) into `out`
  /// (size = events). Parallel over fixed chunks; identical for any `threads` (0 = all cores).
  /// @throws std::invalid_argument when sizes disagree.
  void log_densities(std::span<const float> data, std::span<double> out, unsigned threads = 0) const;

  /// For every event: the component with the highest posterior w_k N(x | k) (ties: lowest index)
  /// into `best` and that component's posterior probability into `posterior` (either output may be
  /// empty to skip it; otherwise size = events). `log_density`, when not empty (size = events),
  /// receives log_density of each event from the same pass, bit-identical to log_densities().
  void classify(std::span<const float> data, std::span<std::uint32_t> best, std::span<double> posterior,
                unsigned threads = 0, std::span<double> log_density = {}) const;

  /// The mixture of the marginal distributions over the dimensions `keep` (indices into dims(),
  /// in the order given, no repeats): same weights, sub-vectors of the means, sub-matrices of the
  /// covariances. @throws std::invalid_argument for an index out of range or a repeat.
  [[nodiscard]] GaussianMixture marginal(std::span<const std::size_t> keep) const;

  /// `n` points drawn from the mixture (row-major n x dims()), deterministic for a seed
  /// (std::mt19937_64 with Box-Muller normals; the same on every platform up to libm rounding).
  [[nodiscard]] std::vector<float> sample(std::size_t n, std::uint64_t seed) const;

 private:
  std::size_t dims_ = 0;
  std::vector<GmmComponent> components_;
  std::vector<std::vector<double>> cholesky_;  ///< lower-triangular L with cov = L L^T, row-major
  std::vector<double> log_norm_;               ///< log w_k - 0.5 (d log 2pi + log det cov_k)
  std::vector<std::vector<double>> inv_cholesky_;  ///< L^-1 (lower-triangular, row-major)
  std::vector<double> log_gauss_norm_;             ///< -0.5 (d log 2pi + log det cov_k), no weight
  std::vector<double> origin_;                     ///< sum_k w_k mean_k; evaluations measure from it
  std::vector<std::vector<double>> shift_;         ///< L^-1 (mean_k - origin_)
};

/// Options of fit_gmm().
struct GmmFitOptions {
  std::size_t components = 1;        ///< K >= 1 (reduced, with a note, when there are fewer distinct events)
  std::size_t max_iterations = 200;  ///< EM iterations at most
  /// Stop when the mean log-likelihood per event improves by less than this.
  double tolerance = 1e-5;
  /// Added to every covariance diagonal after each M step (variance floor, in data units squared):
  /// keeps covariances positive definite when a component collapses onto few events.
  double regularization = 1e-4;
  std::uint64_t seed = 1;            ///< k-means++ initialisation seed
  unsigned threads = 0;              ///< 0 = all cores; results are identical for any value
  /// Start from this mixture instead of k-means++ (its size overrides `components`).
  std::optional<GaussianMixture> init;
  /// With `init`: components whose mean and covariance stay fixed (only their weights are
  /// re-estimated). Size = init->size() when not empty.
  std::vector<bool> frozen;
  /// Components whose weight falls below this share of the events are dropped (and the fit goes
  /// on without them); 0 keeps all. Frozen components are never dropped.
  double min_weight = 0.0;
};

/// The outcome of fit_gmm().
struct GmmFit {
  GaussianMixture model;
  double log_likelihood = 0.0;  ///< total over events, natural log
  std::size_t iterations = 0;
  bool converged = false;
  /// Bayesian information criterion: -2 ll + p ln(n), p = free parameters (weights, means and
  /// covariances of components that are not frozen; the weights of frozen ones).
  double bic = 0.0;
  std::vector<std::string> notes;  ///< e.g. "reduced K from 5 to 3: only 3 distinct events"
};

/// Fit a Gaussian mixture by EM to events x dims (row-major float).
/// @throws std::invalid_argument when data.size() is not a multiple of dims, dims == 0, there are
///         no events, an option is out of range, or `init`/`frozen` do not fit the data.
[[nodiscard]] GmmFit fit_gmm(std::span<const float> data, std::size_t dims, const GmmFitOptions& options);

}  // namespace flowmrd::gating
