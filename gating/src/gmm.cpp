// SPDX-License-Identifier: Apache-2.0
#include "flowmrd/gating/gmm.hpp"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <utility>

namespace flowmrd::gating {

namespace {

// Events per parallel work item. Fixed (never derived from the thread count) so that per-chunk
// partial sums, combined in chunk order, give the same bits for any number of threads.
constexpr std::size_t kChunk = 8192;
// Events per structure-of-arrays block inside a chunk: small enough to stay in L1 with the
// per-component terms, large enough to amortise the per-component setup.
constexpr std::size_t kBlock = 128;
// Events evaluated together in the innermost loops: kLanes / 2 registers of two doubles
// (SSE2, the baseline the project compiles for) hold independent accumulators, enough to hide the
// latency of the additions. Blocks are padded to a multiple of kLanes.
constexpr std::size_t kLanes = 16;
// Mixture terms more than this far (in log units) below the largest one are treated as zero:
// exp(-50) ~ 2e-22 cannot change a sum that is at least 1, and skipping the exp() call is most of
// the cost of the log-sum-exp when components are well separated.
constexpr double kNegligible = -50.0;
// Lloyd iterations after k-means++ seeding (EM does the real work; this only tidies the seeds).
constexpr int kLloydIterations = 10;

const double kLog2Pi = std::log(2.0 * std::numbers::pi);

std::string num(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::size_t tri_size(std::size_t d) { return d * (d + 1) / 2; }
std::size_t tri_index(std::size_t i, std::size_t j) { return i * (i + 1) / 2 + j; }  // j <= i
std::size_t round_up_lanes(std::size_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

/// Portable random numbers: std::mt19937_64 is specified bit for bit, the standard distributions
/// are not, so uniforms and normals are derived from the raw output here (as in the simulator).
class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Uniform integer in [0, n), n > 0 (rejection keeps it unbiased).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
    std::uint64_t x = engine_();
    while (x >= limit) x = engine_();
    return x % n;
  }
  /// Standard normal by Box-Muller (both values used).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - uniform();  // (0, 1]: log stays finite
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double a = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(a);
    has_spare_ = true;
    return r * std::cos(a);
  }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// Runs body(chunk, begin, end) over fixed chunks of kChunk events, in parallel in an arena of
// `threads` (0 = automatic). Bodies write only to their own chunk's slots.
template <class F>
void for_each_chunk(std::size_t n, unsigned threads, F&& body) {
  const std::size_t chunks = (n + kChunk - 1) / kChunk;
  auto run = [&](std::size_t c) { body(c, c * kChunk, std::min(n, (c + 1) * kChunk)); };
  if (chunks <= 1 || threads == 1) {
    for (std::size_t c = 0; c < chunks; ++c) run(c);
    return;
  }
  tbb::task_arena arena(threads == 0 ? tbb::task_arena::automatic : static_cast<int>(threads));
  arena.execute([&] { tbb::parallel_for(std::size_t{0}, chunks, run); });
}

std::size_t chunk_count(std::size_t n) { return (n + kChunk - 1) / kChunk; }

// Copies events [begin, begin + count) into SoA order xs[j * kBlock + e] as double, minus
// origin[j] when origin is given, and zeroes the lanes up to the next multiple of kLanes (kernels
// always run whole lane groups). Returns the number of lanes to process.
std::size_t load_block(const float* data, std::size_t d, std::size_t begin, std::size_t count, const double* origin,
                       double* xs) {
  const std::size_t lanes = round_up_lanes(count);
  for (std::size_t e = 0; e < count; ++e) {
    const float* row = data + (begin + e) * d;
    if (origin != nullptr) {
      for (std::size_t j = 0; j < d; ++j) xs[j * kBlock + e] = static_cast<double>(row[j]) - origin[j];
    } else {
      for (std::size_t j = 0; j < d; ++j) xs[j * kBlock + e] = static_cast<double>(row[j]);
    }
  }
  for (std::size_t j = 0; j < d; ++j)
    for (std::size_t e = count; e < lanes; ++e) xs[j * kBlock + e] = 0.0;
  return lanes;
}

// Two doubles, one SSE2 register (GCC/Clang vector extension). Arithmetic on it is lane-wise
// IEEE, exactly what the scalar code does per event, so vectorising across events this way
// changes no result; it only makes the register blocking explicit instead of hoping the
// auto-vectoriser picks the event loop (it prefers the short dimension loops and shuffles).
typedef double V2 __attribute__((vector_size(16)));
constexpr std::size_t kVecs = kLanes / 2;

V2 load2(const double* p) {
  V2 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
void store2(double* p, V2 v) { std::memcpy(p, &v, sizeof v); }
V2 splat(double a) { return V2{a, a}; }
double reduce(const V2 (&acc)[4]) {
  const V2 t = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  return t[0] + t[1];
}

// Sum of p[0..lanes) (lanes a multiple of 8) with independent accumulators combined in a fixed
// order: deterministic, and vectorised without reassociation flags.
double lane_sum(const double* p, std::size_t lanes) {
  V2 acc[4] = {};
  for (std::size_t e = 0; e < lanes; e += 8)
    for (std::size_t q = 0; q < 4; ++q) acc[q] += load2(p + e + 2 * q);
  return reduce(acc);
}

// The dots of a with b0 and with b1 (one load of a serves both).
void lane_dot2(const double* a, const double* b0, const double* b1, std::size_t lanes, double& r0, double& r1) {
  V2 acc0[4] = {};
  V2 acc1[4] = {};
  for (std::size_t e = 0; e < lanes; e += 8) {
    for (std::size_t q = 0; q < 4; ++q) {
      const V2 x = load2(a + e + 2 * q);
      acc0[q] += x * load2(b0 + e + 2 * q);
      acc1[q] += x * load2(b1 + e + 2 * q);
    }
  }
  r0 = reduce(acc0);
  r1 = reduce(acc1);
}

double lane_dot(const double* a, const double* b, std::size_t lanes) {
  V2 acc[4] = {};
  for (std::size_t e = 0; e < lanes; e += 8)
    for (std::size_t q = 0; q < 4; ++q) acc[q] += load2(a + e + 2 * q) * load2(b + e + 2 * q);
  return reduce(acc);
}

// Squared Euclidean distances of a block's events to `centre` into out[0..lanes), kLanes events
// at a time in registers.
void block_dist2(const double* xs, std::size_t lanes, std::size_t d, const double* centre, double* out) {
  for (std::size_t e0 = 0; e0 < lanes; e0 += kLanes) {
    V2 acc[kVecs] = {};
    for (std::size_t j = 0; j < d; ++j) {
      const V2 c = splat(centre[j]);
      const double* x = xs + j * kBlock + e0;
      for (std::size_t q = 0; q < kVecs; ++q) {
        const V2 t = load2(x + 2 * q) - c;
        acc[q] += t * t;
      }
    }
    for (std::size_t q = 0; q < kVecs; ++q) store2(out + e0 + 2 * q, acc[q]);
  }
}

// ------------------------------------------------------------------ factorisation

struct Factor {
  std::vector<double> l;      // lower-triangular Cholesky factor, row-major
  std::vector<double> l_inv;  // its inverse, lower-triangular, row-major
  double log_gauss = 0.0;     // -0.5 (d log 2pi + log det)
};

// Cholesky factor (Eigen LLT on the lower triangle), its inverse and the Gaussian log normaliser;
// false when the matrix is not (numerically) positive definite. Deterministic, so the class and
// fit_gmm() compute bit-identical kernels from the same covariance.
bool factorise(const std::vector<double>& cov, std::size_t d, Factor& f) {
  using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const RowMat> m(cov.data(), static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
  const Eigen::LLT<Eigen::MatrixXd> llt(m);
  if (llt.info() != Eigen::Success) return false;
  const Eigen::MatrixXd l = llt.matrixL();
  f.l.assign(d * d, 0.0);
  double log_det_half = 0.0;
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = 0; j <= i; ++j) f.l[i * d + j] = l(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
    const double lii = f.l[i * d + i];
    if (!(lii > 0.0) || !std::isfinite(lii)) return false;
    log_det_half += std::log(lii);
  }
  // Forward substitution column by column: L X = I.
  f.l_inv.assign(d * d, 0.0);
  for (std::size_t c = 0; c < d; ++c) {
    for (std::size_t i = c; i < d; ++i) {
      double s = i == c ? 1.0 : 0.0;
      for (std::size_t j = c; j < i; ++j) s -= f.l[i * d + j] * f.l_inv[j * d + c];
      f.l_inv[i * d + c] = s / f.l[i * d + i];
    }
  }
  for (double v : f.l_inv)
    if (!std::isfinite(v)) return false;
  f.log_gauss = -0.5 * static_cast<double>(d) * kLog2Pi - log_det_half;
  return std::isfinite(f.log_gauss);
}

// Every evaluation works in coordinates relative to an origin o (the weighted mean of the
// component means): y = L^-1 (x - mean) = L^-1 (x - o) - shift with shift = L^-1 (mean - o)
// precomputed. Events are then centred once per block instead of once per component, and the
// shift costs nothing inside the register-blocked loop; measuring from o (not from 0) keeps the
// cancellation in y small even when the data sit far from the origin of their scale.
void origin_and_shifts(std::size_t d, const std::vector<GmmComponent>& comps, const std::vector<std::vector<double>>& l_inv,
                       std::vector<double>& origin, std::vector<std::vector<double>>& shift) {
  origin.assign(d, 0.0);
  for (const GmmComponent& c : comps)
    for (std::size_t j = 0; j < d; ++j) origin[j] += c.weight * c.mean[j];
  shift.assign(comps.size(), std::vector<double>(d, 0.0));
  for (std::size_t k = 0; k < comps.size(); ++k) {
    for (std::size_t i = 0; i < d; ++i) {
      double acc = 0.0;
      for (std::size_t j = 0; j <= i; ++j) acc += l_inv[k][i * d + j] * (comps[k].mean[j] - origin[j]);
      shift[k][i] = acc;
    }
  }
}

// Squared Mahalanobis distance ||L^-1 (x - o) - shift||^2. The batch kernel below performs
// exactly the same operations in the same order, so single-point and batch results agree to the
// bit.
double mahalanobis2_raw(const double* l_inv, const double* shift, const double* origin, const double* x, std::size_t d) {
  double m = 0.0;
  for (std::size_t i = 0; i < d; ++i) {
    double acc = -shift[i];
    for (std::size_t j = 0; j <= i; ++j) acc += l_inv[i * d + j] * (x[j] - origin[j]);
    m += acc * acc;
  }
  return m;
}

// log sum_k exp(t_k) over terms at stride `stride`, the same way reduce_block() does per event.
double log_sum_exp(const double* t, std::size_t k_count, std::size_t stride) {
  double mx = t[0];
  for (std::size_t k = 1; k < k_count; ++k)
    if (t[k * stride] > mx) mx = t[k * stride];
  if (mx == -std::numeric_limits<double>::infinity()) return mx;
  double sum = 0.0;
  for (std::size_t k = 0; k < k_count; ++k) {
    const double z = t[k * stride] - mx;
    sum += z < kNegligible ? 0.0 : std::exp(z);
  }
  return mx + std::log(sum);
}

// ------------------------------------------------------------------ batch kernel

// Everything the per-event loops need, in flat arrays.
struct Kernel {
  std::size_t d = 0;
  std::size_t k_count = 0;
  std::vector<double> origin;    // d; events are loaded relative to it
  std::vector<double> l_inv;     // k_count blocks of d * d
  std::vector<double> shift;     // k_count blocks of d: L^-1 (mean - origin)
  std::vector<double> centre;    // k_count blocks of d: mean - origin (M-step centring)
  std::vector<double> log_norm;  // log w_k + log Gaussian normaliser

  // terms[k * kBlock + e] = log w_k + log N(x_e | k) for lanes events of the SoA block xs
  // (relative to origin). Per event the operations and their order are those of
  // mahalanobis2_raw(), so batch and single-point results agree to the bit.
  void terms(const double* xs, std::size_t lanes, double* out) const {
    const V2 half = splat(0.5);
    for (std::size_t k = 0; k < k_count; ++k) {
      const double* a = l_inv.data() + k * d * d;
      const double* b = shift.data() + k * d;
      const V2 ln = splat(log_norm[k]);
      for (std::size_t e0 = 0; e0 < lanes; e0 += kLanes) {
        V2 m[kVecs] = {};
        // Row i of y = L^-1 (x - o) - shift for kLanes events in registers, then its square into m.
        for (std::size_t i = 0; i < d; ++i) {
          const double* ai = a + i * d;
          V2 s[kVecs];
          for (std::size_t q = 0; q < kVecs; ++q) s[q] = splat(-b[i]);
          for (std::size_t j = 0; j <= i; ++j) {
            const V2 aij = splat(ai[j]);
            const double* x = xs + j * kBlock + e0;
            for (std::size_t q = 0; q < kVecs; ++q) s[q] += aij * load2(x + 2 * q);
          }
          for (std::size_t q = 0; q < kVecs; ++q) m[q] += s[q] * s[q];
        }
        for (std::size_t q = 0; q < kVecs; ++q) store2(out + k * kBlock + e0 + 2 * q, ln - half * m[q]);
      }
    }
  }
};

Kernel make_kernel(std::size_t d, const std::vector<GmmComponent>& comps, const std::vector<std::vector<double>>& l_inv,
                   const std::vector<double>& log_norm) {
  Kernel kern;
  kern.d = d;
  kern.k_count = comps.size();
  std::vector<std::vector<double>> shift;
  origin_and_shifts(d, comps, l_inv, kern.origin, shift);
  for (std::size_t k = 0; k < comps.size(); ++k) {
    kern.l_inv.insert(kern.l_inv.end(), l_inv[k].begin(), l_inv[k].end());
    kern.shift.insert(kern.shift.end(), shift[k].begin(), shift[k].end());
    for (std::size_t j = 0; j < d; ++j) kern.centre.push_back(comps[k].mean[j] - kern.origin[j]);
  }
  kern.log_norm = log_norm;
  return kern;
}

// Per-event reduction over components of one block of terms: the largest term, with
// want_best its first index, and sum_k exp(t_k - max) (negligible terms skipped). With store_exp
// the terms are replaced by exp(t_k - max) (0 for skipped ones), the unnormalised
// responsibilities. The max and argmax passes are written as selects so they vectorise.
struct BlockReduce {
  double mx[kBlock];
  double sum[kBlock];
  double best[kBlock];  // component index (exact in a double), lowest on ties
};

void reduce_block(double* terms, std::size_t k_count, std::size_t count, bool want_best, bool store_exp, BlockReduce& r) {
  for (std::size_t e = 0; e < count; ++e) r.mx[e] = terms[e];
  for (std::size_t k = 1; k < k_count; ++k) {
    const double* t = terms + k * kBlock;
    for (std::size_t e = 0; e < count; ++e) r.mx[e] = t[e] > r.mx[e] ? t[e] : r.mx[e];
  }
  if (want_best) {
    // From the last component down, so the lowest index attaining the max wins.
    for (std::size_t e = 0; e < count; ++e) r.best[e] = 0.0;
    for (std::size_t k = k_count; k-- > 1;) {
      const double* t = terms + k * kBlock;
      const double kd = static_cast<double>(k);
      for (std::size_t e = 0; e < count; ++e) r.best[e] = t[e] == r.mx[e] && terms[e] != r.mx[e] ? kd : r.best[e];
    }
  }
  for (std::size_t e = 0; e < count; ++e) r.sum[e] = 0.0;
  for (std::size_t k = 0; k < k_count; ++k) {
    double* t = terms + k * kBlock;
    for (std::size_t e = 0; e < count; ++e) {
      // An event with every term -inf (overflowing distance) has mx = -inf; it gets sum 0 and
      // log density -inf instead of NaN.
      const double z = t[e] - r.mx[e];
      const double v = (z < kNegligible || std::isnan(z)) ? 0.0 : std::exp(z);
      r.sum[e] += v;
      if (store_exp) t[e] = v;
    }
  }
}

std::string check_batch(std::size_t dims, bool empty, std::size_t data_size, std::size_t out_size, bool out_optional,
                        const char* what) {
  const std::string where = std::string("GaussianMixture::") + what + ": ";
  if (empty) return where + "the mixture is empty";
  if (data_size % dims != 0)
    return where + "data size " + std::to_string(data_size) + " is not a multiple of dims " + std::to_string(dims);
  const std::size_t n = data_size / dims;
  if (!(out_optional && out_size == 0) && out_size != n)
    return where + "output has " + std::to_string(out_size) + " values, data has " + std::to_string(n) + " events";
  return {};
}

// ------------------------------------------------------------------ EM statistics

// Per-component sufficient statistics, laid out as [N, s1 (d), s2 (lower triangle)], with s1 and
// s2 the first and second moments of (x - centre_k) weighted by the responsibilities. Centring at
// the previous mean avoids the cancellation of E[x x^T] - mean mean^T far from the origin.
std::size_t stats_slot(std::size_t d) { return 1 + d + tri_size(d); }

struct Scratch {
  std::vector<double> xs, terms, yc, w, dist;
  BlockReduce red;
  Scratch(std::size_t d, std::size_t k_count)
      : xs(d * kBlock), terms(k_count * kBlock), yc(d * kBlock), w(d * kBlock), dist(kBlock) {}
};

// Adds one block's statistics: r[k * kBlock + e] responsibilities (0 in padding lanes). Frozen
// components only need N.
void accumulate_block(Scratch& s, const double* r, std::size_t lanes, std::size_t d, std::size_t k_count,
                      const double* centres, const std::vector<bool>& frozen, double* stats) {
  const std::size_t slot = stats_slot(d);
  for (std::size_t k = 0; k < k_count; ++k) {
    const double* rk = r + k * kBlock;
    const double nk = lane_sum(rk, lanes);
    if (nk == 0.0) continue;  // exact: every responsibility is 0
    double* st = stats + k * slot;
    st[0] += nk;
    if (frozen[k]) continue;
    const double* c = centres + k * d;
    for (std::size_t j = 0; j < d; ++j) {
      const double* x = s.xs.data() + j * kBlock;
      double* yc = s.yc.data() + j * kBlock;
      double* w = s.w.data() + j * kBlock;
      for (std::size_t e = 0; e < lanes; ++e) {
        yc[e] = x[e] - c[j];
        w[e] = rk[e] * yc[e];
      }
    }
    for (std::size_t i = 0; i < d; ++i) {
      const double* wi = s.w.data() + i * kBlock;
      st[1 + i] += lane_sum(wi, lanes);
      double* s2 = st + 1 + d + tri_index(i, 0);
      std::size_t j = 0;
      for (; j + 1 <= i; j += 2) {
        double r0 = 0.0;
        double r1 = 0.0;
        lane_dot2(wi, s.yc.data() + j * kBlock, s.yc.data() + (j + 1) * kBlock, lanes, r0, r1);
        s2[j] += r0;
        s2[j + 1] += r1;
      }
      if (j == i) s2[j] += lane_dot(wi, s.yc.data() + j * kBlock, lanes);
    }
  }
}

struct PassResult {
  double log_likelihood = 0.0;
  std::vector<double> stats;  // k_count * stats_slot(d), empty without accumulation
};

// One E pass: the log-likelihood of the data under the kernel's mixture and, with accumulate,
// the statistics of the M step (centred at the kernel's means).
PassResult e_pass(const Kernel& kern, const float* data, std::size_t n, const std::vector<bool>& frozen, bool accumulate,
                  unsigned threads) {
  const std::size_t d = kern.d;
  const std::size_t kc = kern.k_count;
  const std::size_t per_chunk = 1 + (accumulate ? kc * stats_slot(d) : 0);
  std::vector<double> part(chunk_count(n) * per_chunk, 0.0);
  for_each_chunk(n, threads, [&](std::size_t c, std::size_t begin, std::size_t end) {
    Scratch s(d, kc);
    double* p = part.data() + c * per_chunk;
    double ll = 0.0;
    for (std::size_t b = begin; b < end; b += kBlock) {
      const std::size_t count = std::min(kBlock, end - b);
      const std::size_t lanes = load_block(data, d, b, count, kern.origin.data(), s.xs.data());
      kern.terms(s.xs.data(), lanes, s.terms.data());
      reduce_block(s.terms.data(), kc, count, false, accumulate, s.red);
      for (std::size_t e = 0; e < count; ++e) ll += s.red.mx[e] + std::log(s.red.sum[e]);
      if (!accumulate) continue;
      for (std::size_t k = 0; k < kc; ++k) {
        double* t = s.terms.data() + k * kBlock;
        for (std::size_t e = 0; e < count; ++e) t[e] = s.red.sum[e] > 0.0 ? t[e] / s.red.sum[e] : 0.0;
        for (std::size_t e = count; e < lanes; ++e) t[e] = 0.0;
      }
      accumulate_block(s, s.terms.data(), lanes, d, kc, kern.centre.data(), frozen, p + 1);
    }
    p[0] = ll;
  });
  PassResult res;
  if (accumulate) res.stats.assign(kc * stats_slot(d), 0.0);
  for (std::size_t c = 0; c < chunk_count(n); ++c) {
    const double* p = part.data() + c * per_chunk;
    res.log_likelihood += p[0];
    for (std::size_t i = 0; i + 1 < per_chunk; ++i) res.stats[i] += p[1 + i];
  }
  return res;
}

void add_note(std::vector<std::string>& notes, std::string note) {
  if (std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(std::move(note));
}

// Makes `cov` factorisable: unchanged when it already is; otherwise adds increasing multiples
// of a scale-aware jitter to the diagonal. Returns the amount added (0 = none).
double make_positive_definite(std::vector<double>& cov, std::size_t d, double regularization) {
  Factor f;
  if (factorise(cov, d, f)) return 0.0;
  double scale = 0.0;
  for (std::size_t i = 0; i < d; ++i) scale += std::abs(cov[i * d + i]);
  scale /= static_cast<double>(d);
  const double base = std::max({regularization, 1e-10 * scale, 1e-12});
  double jitter = base;
  for (int attempt = 0; attempt < 60; ++attempt, jitter *= 10.0) {
    std::vector<double> trial = cov;
    for (std::size_t i = 0; i < d; ++i) trial[i * d + i] += jitter;
    if (factorise(trial, d, f)) {
      cov = std::move(trial);
      return jitter;
    }
  }
  // Unreachable for finite input; a diagonal fallback keeps the fit going.
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < d; ++j) cov[i * d + j] = i == j ? std::max(std::abs(cov[i * d + i]), 1.0) : 0.0;
  return std::numeric_limits<double>::infinity();
}

// The M step: new components from the statistics (centred at current[k].mean). Frozen components
// keep mean and covariance; non-frozen ones below min_weight (or with no events) are dropped,
// never all of them. `frozen` is updated to the kept components. Empty result: nothing usable.
std::vector<GmmComponent> m_step(const std::vector<double>& stats, std::size_t d, const std::vector<GmmComponent>& current,
                                 std::vector<bool>& frozen, double n, double min_weight, double regularization,
                                 bool drop_empty, const std::string& when, std::vector<std::string>& notes) {
  const std::size_t slot = stats_slot(d);
  const std::size_t kc = current.size();
  std::vector<GmmComponent> next(kc);
  std::vector<bool> usable(kc, false);
  std::vector<std::string> jitter_notes(kc);
  for (std::size_t k = 0; k < kc; ++k) {
    const double* st = stats.data() + k * slot;
    const double nk = st[0];
    GmmComponent& c = next[k];
    if (frozen[k]) {
      c.weight = nk / n;  // 0 is floored below (weights must be > 0)
      c.mean = current[k].mean;
      c.covariance = current[k].covariance;
      usable[k] = true;
      continue;
    }
    if (!(nk > 0.0)) {
      // Explains no event: weight 0, which min_weight > 0 drops. With min_weight 0 ("keep all")
      // it stays unchanged with the smallest positive weight; k-means seeds have nothing to keep.
      if (drop_empty) continue;
      c.weight = 0.0;
      c.mean = current[k].mean;
      c.covariance = current[k].covariance;
      usable[k] = true;
      continue;
    }
    c.weight = nk / n;
    c.mean.resize(d);
    c.covariance.assign(d * d, 0.0);
    std::vector<double> delta(d);
    for (std::size_t j = 0; j < d; ++j) {
      delta[j] = st[1 + j] / nk;
      c.mean[j] = current[k].mean[j] + delta[j];
    }
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = 0; j <= i; ++j) {
        const double v = st[1 + d + tri_index(i, j)] / nk - delta[i] * delta[j];
        c.covariance[i * d + j] = v;
        c.covariance[j * d + i] = v;
      }
      c.covariance[i * d + i] = std::max(c.covariance[i * d + i], 0.0) + regularization;
    }
    bool finite = std::isfinite(c.weight);
    for (double v : c.mean) finite = finite && std::isfinite(v);
    for (double v : c.covariance) finite = finite && std::isfinite(v);
    if (!finite) continue;
    const double jitter = make_positive_definite(c.covariance, d, regularization);
    if (jitter > 0.0)
      jitter_notes[k] = "covariance not positive definite after regularization; added " + num(jitter) + " to its diagonal";
    usable[k] = true;
  }

  std::vector<bool> keep(kc, false);
  bool any = false;
  for (std::size_t k = 0; k < kc; ++k) {
    keep[k] = usable[k] && (frozen[k] || !(next[k].weight < min_weight));
    any = any || keep[k];
  }
  if (!any) {
    // Every component fell below min_weight: keep the heaviest rather than nothing.
    std::size_t best = kc;
    for (std::size_t k = 0; k < kc; ++k)
      if (usable[k] && (best == kc || next[k].weight > next[best].weight)) best = k;
    if (best == kc) return {};
    keep[best] = true;
    add_note(notes, when + ": every component fell below min_weight " + num(min_weight) + "; kept the heaviest");
  }

  std::vector<GmmComponent> out;
  std::vector<bool> out_frozen;
  for (std::size_t k = 0; k < kc; ++k) {
    if (!keep[k]) {
      const std::string why = usable[k]                 ? "weight " + num(next[k].weight) + " < min_weight " + num(min_weight)
                              : stats[k * slot] > 0.0 ? "non-finite estimates"
                                                      : "no events";
      notes.push_back(when + ": dropped component " + std::to_string(k) + " (" + why + ")");
      continue;
    }
    if (!jitter_notes[k].empty()) add_note(notes, "component " + std::to_string(out.size()) + ": " + jitter_notes[k]);
    if (!(next[k].weight > 0.0)) {
      next[k].weight = std::numeric_limits<double>::min();
      add_note(notes, "component " + std::to_string(out.size()) + " explains no events; kept unchanged");
    }
    out.push_back(std::move(next[k]));
    out_frozen.push_back(frozen[k]);
  }
  frozen = std::move(out_frozen);
  return out;
}

// ------------------------------------------------------------------ k-means++ initialisation

// Greedy k-means++ seeding from Random(seed) (2 + ln K candidates per seed, the one lowering the
// potential most wins), Lloyd iterations, then weights and covariances from the final assignment.
std::vector<GmmComponent> kmeans_init(const float* data, std::size_t n, std::size_t d, const GmmFitOptions& options,
                                      std::vector<std::string>& notes) {
  const std::size_t k_req = options.components;
  const unsigned threads = options.threads;
  const std::size_t chunks = chunk_count(n);
  Random rng(options.seed);

  std::vector<double> centres;  // k x d
  auto add_centre = [&](std::size_t i) {
    for (std::size_t j = 0; j < d; ++j) centres.push_back(static_cast<double>(data[i * d + j]));
  };
  add_centre(static_cast<std::size_t>(rng.below(n)));

  // d2[i]: squared distance of event i to its nearest centre; chunk_sum: per-chunk sums of d2.
  std::vector<double> d2(n);
  std::vector<double> chunk_sum(chunks);
  auto update_d2 = [&](const double* centre, bool first) {
    for_each_chunk(n, threads, [&](std::size_t c, std::size_t begin, std::size_t end) {
      Scratch s(d, 1);
      double sum = 0.0;
      for (std::size_t b = begin; b < end; b += kBlock) {
        const std::size_t count = std::min(kBlock, end - b);
        const std::size_t lanes = load_block(data, d, b, count, nullptr, s.xs.data());
        block_dist2(s.xs.data(), lanes, d, centre, s.dist.data());
        for (std::size_t e = 0; e < count; ++e) {
          d2[b + e] = first ? s.dist[e] : std::min(d2[b + e], s.dist[e]);
          sum += d2[b + e];
        }
      }
      chunk_sum[c] = sum;
    });
  };
  update_d2(centres.data(), true);

  // An event drawn with probability proportional to d2 (always one with d2 > 0 when total > 0).
  auto draw = [&](double total) {
    const double u = rng.uniform() * total;
    double cum = 0.0;
    std::size_t last_positive = n;
    for (std::size_t c = 0; c < chunks; ++c) {
      if (chunk_sum[c] > 0.0) {
        const std::size_t begin = c * kChunk;
        const std::size_t end = std::min(n, begin + kChunk);
        if (cum + chunk_sum[c] > u) {
          for (std::size_t i = begin; i < end; ++i) {
            if (d2[i] > 0.0) last_positive = i;
            cum += d2[i];
            if (cum > u && d2[i] > 0.0) return i;
          }
          return last_positive;  // rounding: the scan fell just short of u
        }
        for (std::size_t i = end; i-- > begin;)
          if (d2[i] > 0.0) {
            last_positive = i;
            break;
          }
      }
      cum += chunk_sum[c];
    }
    return last_positive;
  };

  const std::size_t candidates = 2 + static_cast<std::size_t>(std::log(static_cast<double>(k_req)));
  while (centres.size() / d < k_req) {
    double total = 0.0;
    for (double v : chunk_sum) total += v;
    if (!(total > 0.0)) break;  // every event coincides with a centre: no more distinct events
    std::vector<std::size_t> cand(candidates);
    for (auto& i : cand) i = draw(total);
    std::vector<double> cand_xyz(candidates * d);
    for (std::size_t t = 0; t < candidates; ++t)
      for (std::size_t j = 0; j < d; ++j) cand_xyz[t * d + j] = static_cast<double>(data[cand[t] * d + j]);
    std::vector<double> pot_part(chunks * candidates, 0.0);
    for_each_chunk(n, threads, [&](std::size_t c, std::size_t begin, std::size_t end) {
      Scratch s(d, 1);
      for (std::size_t b = begin; b < end; b += kBlock) {
        const std::size_t count = std::min(kBlock, end - b);
        const std::size_t lanes = load_block(data, d, b, count, nullptr, s.xs.data());
        for (std::size_t t = 0; t < candidates; ++t) {
          block_dist2(s.xs.data(), lanes, d, cand_xyz.data() + t * d, s.dist.data());
          double sum = 0.0;
          for (std::size_t e = 0; e < count; ++e) sum += std::min(d2[b + e], s.dist[e]);
          pot_part[c * candidates + t] += sum;
        }
      }
    });
    std::size_t best = 0;
    double best_pot = std::numeric_limits<double>::infinity();
    for (std::size_t t = 0; t < candidates; ++t) {
      double pot = 0.0;
      for (std::size_t c = 0; c < chunks; ++c) pot += pot_part[c * candidates + t];
      if (pot < best_pot) {
        best_pot = pot;
        best = t;
      }
    }
    add_centre(cand[best]);
    update_d2(cand_xyz.data() + best * d, false);
  }
  std::size_t kc = centres.size() / d;
  if (kc < k_req)
    notes.push_back("reduced K from " + std::to_string(k_req) + " to " + std::to_string(kc) + ": only " +
                    std::to_string(kc) + " distinct events");
  d2 = {};

  // Lloyd iterations: nearest centre (ties: lowest index), then centres = assignment means.
  std::vector<std::uint32_t> assign(n, std::numeric_limits<std::uint32_t>::max());
  const std::size_t lloyd_slot = 1 + kc + kc * d;  // changed count, counts, sums
  for (int it = 0; it < kLloydIterations; ++it) {
    std::vector<double> part(chunks * lloyd_slot, 0.0);
    for_each_chunk(n, threads, [&](std::size_t c, std::size_t begin, std::size_t end) {
      Scratch s(d, kc);
      double* p = part.data() + c * lloyd_slot;
      for (std::size_t b = begin; b < end; b += kBlock) {
        const std::size_t count = std::min(kBlock, end - b);
        const std::size_t lanes = load_block(data, d, b, count, nullptr, s.xs.data());
        for (std::size_t k = 0; k < kc; ++k) block_dist2(s.xs.data(), lanes, d, centres.data() + k * d, s.terms.data() + k * kBlock);
        for (std::size_t e = 0; e < count; ++e) {
          std::uint32_t best = 0;
          double best_d = s.terms[e];
          for (std::size_t k = 1; k < kc; ++k)
            if (s.terms[k * kBlock + e] < best_d) {
              best_d = s.terms[k * kBlock + e];
              best = static_cast<std::uint32_t>(k);
            }
          if (assign[b + e] != best) p[0] += 1.0;
          assign[b + e] = best;
          p[1 + best] += 1.0;
          for (std::size_t j = 0; j < d; ++j) p[1 + kc + best * d + j] += s.xs[j * kBlock + e];
        }
      }
    });
    std::vector<double> total(lloyd_slot, 0.0);
    for (std::size_t c = 0; c < chunks; ++c)
      for (std::size_t i = 0; i < lloyd_slot; ++i) total[i] += part[c * lloyd_slot + i];
    if (total[0] == 0.0) break;  // assignments unchanged: centres already are their means
    for (std::size_t k = 0; k < kc; ++k)
      if (total[1 + k] > 0.0)
        for (std::size_t j = 0; j < d; ++j) centres[k * d + j] = total[1 + kc + k * d + j] / total[1 + k];
  }

  // Hard-assignment statistics through the EM accumulator, then the M step builds the components.
  const std::size_t slot = stats_slot(d);
  const std::vector<bool> none_frozen(kc, false);
  std::vector<double> part(chunks * kc * slot, 0.0);
  for_each_chunk(n, threads, [&](std::size_t c, std::size_t begin, std::size_t end) {
    Scratch s(d, kc);
    for (std::size_t b = begin; b < end; b += kBlock) {
      const std::size_t count = std::min(kBlock, end - b);
      const std::size_t lanes = load_block(data, d, b, count, nullptr, s.xs.data());
      std::fill(s.terms.begin(), s.terms.end(), 0.0);
      for (std::size_t e = 0; e < count; ++e) s.terms[assign[b + e] * kBlock + e] = 1.0;
      accumulate_block(s, s.terms.data(), lanes, d, kc, centres.data(), none_frozen, part.data() + c * kc * slot);
    }
  });
  std::vector<double> stats(kc * slot, 0.0);
  for (std::size_t c = 0; c < chunks; ++c)
    for (std::size_t i = 0; i < kc * slot; ++i) stats[i] += part[c * kc * slot + i];
  std::vector<GmmComponent> current(kc);
  for (std::size_t k = 0; k < kc; ++k) current[k].mean.assign(centres.begin() + k * d, centres.begin() + (k + 1) * d);
  std::vector<bool> frozen = none_frozen;
  return m_step(stats, d, current, frozen, static_cast<double>(n), 0.0, options.regularization, true,
                "k-means initialisation", notes);
}

}  // namespace

// ------------------------------------------------------------------ GaussianMixture

GaussianMixture::GaussianMixture(std::vector<GmmComponent> components) {
  if (components.empty()) return;
  const std::size_t d = components.front().mean.size();
  if (d == 0) throw std::invalid_argument("GaussianMixture: component 0: mean is empty (dims must be >= 1)");
  double total = 0.0;
  for (std::size_t k = 0; k < components.size(); ++k) {
    GmmComponent& c = components[k];
    const std::string where = "GaussianMixture: component " + std::to_string(k) + ": ";
    if (c.mean.size() != d)
      throw std::invalid_argument(where + "mean has " + std::to_string(c.mean.size()) + " values, expected " + std::to_string(d));
    if (!std::isfinite(c.weight) || !(c.weight > 0.0))
      throw std::invalid_argument(where + "weight must be positive and finite, got " + num(c.weight));
    for (double v : c.mean)
      if (!std::isfinite(v)) throw std::invalid_argument(where + "mean has a non-finite value");
    if (c.covariance.size() != d * d)
      throw std::invalid_argument(where + "covariance has " + std::to_string(c.covariance.size()) + " values, expected " +
                                  std::to_string(d * d));
    for (double v : c.covariance)
      if (!std::isfinite(v)) throw std::invalid_argument(where + "covariance has a non-finite value");
    // Symmetric up to rounding (relative to the diagonal scale); stored exactly symmetric.
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        const double a = c.covariance[i * d + j];
        const double b = c.covariance[j * d + i];
        const double scale = std::sqrt(std::abs(c.covariance[i * d + i] * c.covariance[j * d + j]));
        if (std::abs(a - b) > 1e-10 * std::max({scale, std::abs(a), std::abs(b)}))
          throw std::invalid_argument(where + "covariance is not symmetric at (" + std::to_string(i) + ", " +
                                      std::to_string(j) + ")");
        if (a != b) c.covariance[i * d + j] = c.covariance[j * d + i] = 0.5 * (a + b);
      }
    }
    total += c.weight;
  }
  if (!std::isfinite(total)) throw std::invalid_argument("GaussianMixture: the weights do not sum to a finite value");

  dims_ = d;
  for (std::size_t k = 0; k < components.size(); ++k) {
    Factor f;
    if (!factorise(components[k].covariance, d, f))
      throw std::invalid_argument("GaussianMixture: component " + std::to_string(k) + ": covariance is not positive definite");
    components[k].weight /= total;
    cholesky_.push_back(std::move(f.l));
    inv_cholesky_.push_back(std::move(f.l_inv));
    log_gauss_norm_.push_back(f.log_gauss);
    log_norm_.push_back(std::log(components[k].weight) + f.log_gauss);
  }
  components_ = std::move(components);
  origin_and_shifts(dims_, components_, inv_cholesky_, origin_, shift_);
}

double GaussianMixture::mahalanobis2(std::size_t k, const double* x) const {
  if (k >= components_.size()) throw std::out_of_range("GaussianMixture::mahalanobis2: component index out of range");
  return mahalanobis2_raw(inv_cholesky_[k].data(), shift_[k].data(), origin_.data(), x, dims_);
}

double GaussianMixture::log_component_density(std::size_t k, const double* x) const {
  if (k >= components_.size()) throw std::out_of_range("GaussianMixture::log_component_density: component index out of range");
  return log_gauss_norm_[k] - 0.5 * mahalanobis2_raw(inv_cholesky_[k].data(), shift_[k].data(), origin_.data(), x, dims_);
}

double GaussianMixture::log_density(const double* x) const {
  if (components_.empty()) return -std::numeric_limits<double>::infinity();
  std::vector<double> t(components_.size());
  for (std::size_t k = 0; k < t.size(); ++k)
    t[k] = log_norm_[k] - 0.5 * mahalanobis2_raw(inv_cholesky_[k].data(), shift_[k].data(), origin_.data(), x, dims_);
  return log_sum_exp(t.data(), t.size(), 1);
}

void GaussianMixture::log_densities(std::span<const float> data, std::span<double> out, unsigned threads) const {
  if (empty() && data.empty() && out.empty()) return;
  if (const std::string err = check_batch(dims_, empty(), data.size(), out.size(), false, "log_densities"); !err.empty())
    throw std::invalid_argument(err);
  const std::size_t n = data.size() / dims_;
  const Kernel kern = make_kernel(dims_, components_, inv_cholesky_, log_norm_);
  for_each_chunk(n, threads, [&](std::size_t, std::size_t begin, std::size_t end) {
    Scratch s(dims_, kern.k_count);
    for (std::size_t b = begin; b < end; b += kBlock) {
      const std::size_t count = std::min(kBlock, end - b);
      const std::size_t lanes = load_block(data.data(), dims_, b, count, kern.origin.data(), s.xs.data());
      kern.terms(s.xs.data(), lanes, s.terms.data());
      reduce_block(s.terms.data(), kern.k_count, count, false, false, s.red);
      for (std::size_t e = 0; e < count; ++e) out[b + e] = s.red.mx[e] + std::log(s.red.sum[e]);
    }
  });
}

void GaussianMixture::classify(std::span<const float> data, std::span<std::uint32_t> best, std::span<double> posterior,
                               unsigned threads, std::span<double> log_density) const {
  if (empty() && data.empty() && best.empty() && posterior.empty() && log_density.empty()) return;
  std::string err = check_batch(dims_, empty(), data.size(), best.size(), true, "classify");
  if (err.empty()) err = check_batch(dims_, empty(), data.size(), posterior.size(), true, "classify");
  if (err.empty()) err = check_batch(dims_, empty(), data.size(), log_density.size(), true, "classify");
  if (!err.empty()) throw std::invalid_argument(err);
  if (best.empty() && posterior.empty() && log_density.empty()) return;
  const std::size_t n = data.size() / dims_;
  const Kernel kern = make_kernel(dims_, components_, inv_cholesky_, log_norm_);
  for_each_chunk(n, threads, [&](std::size_t, std::size_t begin, std::size_t end) {
    Scratch s(dims_, kern.k_count);
    for (std::size_t b = begin; b < end; b += kBlock) {
      const std::size_t count = std::min(kBlock, end - b);
      const std::size_t lanes = load_block(data.data(), dims_, b, count, kern.origin.data(), s.xs.data());
      kern.terms(s.xs.data(), lanes, s.terms.data());
      reduce_block(s.terms.data(), kern.k_count, count, !best.empty(), false, s.red);
      for (std::size_t e = 0; e < count; ++e) {
        if (!best.empty()) best[b + e] = static_cast<std::uint32_t>(s.red.best[e]);
        // The best term contributes exp(0) = 1 to the sum.
        if (!posterior.empty()) posterior[b + e] = s.red.sum[e] > 0.0 ? 1.0 / s.red.sum[e] : 0.0;
        if (!log_density.empty()) log_density[b + e] = s.red.mx[e] + std::log(s.red.sum[e]);
      }
    }
  });
}

GaussianMixture GaussianMixture::marginal(std::span<const std::size_t> keep) const {
  if (keep.empty()) throw std::invalid_argument("GaussianMixture::marginal: no dimensions to keep");
  std::vector<bool> seen(dims_, false);
  for (std::size_t i : keep) {
    if (i >= dims_)
      throw std::invalid_argument("GaussianMixture::marginal: dimension index " + std::to_string(i) + " out of range (dims " +
                                  std::to_string(dims_) + ")");
    if (seen[i]) throw std::invalid_argument("GaussianMixture::marginal: dimension index " + std::to_string(i) + " repeated");
    seen[i] = true;
  }
  const std::size_t m = keep.size();
  std::vector<GmmComponent> comps;
  comps.reserve(components_.size());
  for (const GmmComponent& c : components_) {
    GmmComponent s;
    s.weight = c.weight;
    s.mean.resize(m);
    s.covariance.resize(m * m);
    for (std::size_t a = 0; a < m; ++a) {
      s.mean[a] = c.mean[keep[a]];
      for (std::size_t b = 0; b < m; ++b) s.covariance[a * m + b] = c.covariance[keep[a] * dims_ + keep[b]];
    }
    comps.push_back(std::move(s));
  }
  return GaussianMixture(std::move(comps));
}

std::vector<float> GaussianMixture::sample(std::size_t n, std::uint64_t seed) const {
  if (n == 0) return {};
  if (empty()) throw std::invalid_argument("GaussianMixture::sample: the mixture is empty");
  const std::size_t d = dims_;
  std::vector<double> cum(components_.size());
  double acc = 0.0;
  for (std::size_t k = 0; k < cum.size(); ++k) cum[k] = acc += components_[k].weight;
  Random rng(seed);
  std::vector<float> out(n * d);
  std::vector<double> z(d);
  for (std::size_t i = 0; i < n; ++i) {
    const double u = rng.uniform() * acc;
    std::size_t k = 0;
    while (k + 1 < cum.size() && !(u < cum[k])) ++k;
    for (double& v : z) v = rng.normal();
    const std::vector<double>& l = cholesky_[k];
    const std::vector<double>& mu = components_[k].mean;
    for (std::size_t r = 0; r < d; ++r) {
      double v = mu[r];
      for (std::size_t c = 0; c <= r; ++c) v += l[r * d + c] * z[c];
      out[i * d + r] = static_cast<float>(v);
    }
  }
  return out;
}

// ------------------------------------------------------------------ fit_gmm

GmmFit fit_gmm(std::span<const float> data, std::size_t dims, const GmmFitOptions& options) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("fit_gmm: " + what); };
  if (dims == 0) fail("dims must be >= 1");
  if (data.size() % dims != 0)
    fail("data size " + std::to_string(data.size()) + " is not a multiple of dims " + std::to_string(dims));
  const std::size_t n = data.size() / dims;
  if (n == 0) fail("no events");
  if (!options.init && options.components == 0) fail("components must be >= 1");
  if (!options.init && options.components > std::numeric_limits<std::uint32_t>::max()) fail("components is too large");
  if (!std::isfinite(options.tolerance) || options.tolerance < 0.0) fail("tolerance must be finite and >= 0");
  if (!std::isfinite(options.regularization) || options.regularization < 0.0) fail("regularization must be finite and >= 0");
  if (!std::isfinite(options.min_weight) || options.min_weight < 0.0 || options.min_weight >= 1.0)
    fail("min_weight must be in [0, 1)");
  if (options.init) {
    if (options.init->empty()) fail("init is an empty mixture");
    if (options.init->dims() != dims)
      fail("init has " + std::to_string(options.init->dims()) + " dims, data has " + std::to_string(dims));
    if (!options.frozen.empty() && options.frozen.size() != options.init->size())
      fail("frozen has " + std::to_string(options.frozen.size()) + " flags, init has " + std::to_string(options.init->size()) +
           " components");
  } else if (!options.frozen.empty()) {
    fail("frozen needs init");
  }
  for (std::size_t i = 0; i < data.size(); ++i)
    if (!std::isfinite(data[i]))
      fail("event " + std::to_string(i / dims) + ", dimension " + std::to_string(i % dims) + " is not finite");

  GmmFit fit;
  std::vector<bool> frozen;
  if (options.init) {
    fit.model = *options.init;
    frozen = options.frozen.empty() ? std::vector<bool>(fit.model.size(), false) : options.frozen;
  } else {
    fit.model = GaussianMixture(kmeans_init(data.data(), n, dims, options, fit.notes));
    frozen.assign(fit.model.size(), false);
  }

  // Each loop: an E pass on the current model (its log-likelihood, plus the M-step statistics
  // while iterations remain), the convergence test, then the M step. The returned model is the
  // one whose log-likelihood was measured last.
  const double dn = static_cast<double>(n);
  double prev_ll = 0.0;
  bool have_prev = false;
  for (;;) {
    const std::vector<GmmComponent>& comps = fit.model.components();
    std::vector<std::vector<double>> l_inv(comps.size());
    std::vector<double> log_norm(comps.size());
    for (std::size_t k = 0; k < comps.size(); ++k) {
      Factor f;
      factorise(comps[k].covariance, dims, f);  // succeeds: the model's constructor checked it
      l_inv[k] = std::move(f.l_inv);
      log_norm[k] = std::log(comps[k].weight) + f.log_gauss;
    }
    const Kernel kern = make_kernel(dims, comps, l_inv, log_norm);
    const bool more = fit.iterations < options.max_iterations;
    PassResult pass = e_pass(kern, data.data(), n, frozen, more, options.threads);
    fit.log_likelihood = pass.log_likelihood;
    if (have_prev && (pass.log_likelihood - prev_ll) / dn < options.tolerance) {
      fit.converged = true;
      break;
    }
    if (!more) break;
    const std::size_t before = comps.size();
    std::vector<GmmComponent> next = m_step(pass.stats, dims, comps, frozen, dn, options.min_weight, options.regularization,
                                            false, "iteration " + std::to_string(fit.iterations + 1), fit.notes);
    if (next.empty()) {
      fit.notes.push_back("EM stopped: no component explains any event");
      break;
    }
    // A drop changes the model, so the next improvement is not a convergence signal.
    have_prev = next.size() == before;
    prev_ll = pass.log_likelihood;
    fit.model = GaussianMixture(std::move(next));
    ++fit.iterations;
  }

  const double d = static_cast<double>(dims);
  double p = static_cast<double>(fit.model.size()) - 1.0;
  for (std::size_t k = 0; k < fit.model.size(); ++k)
    if (!frozen[k]) p += d + d * (d + 1.0) / 2.0;
  fit.bic = -2.0 * fit.log_likelihood + p * std::log(dn);
  return fit;
}

}  // namespace flowmrd::gating
