// SPDX-License-Identifier: Apache-2.0
// The simulator: exact population counts, shuffled event order, per-event log-normal phenotypes,
// spillover applied, additive electronic noise, scatter and Time (docs/simulator.md).
#include "flowmrd/samples/simulator.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <numbers>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "population_models.hpp"

namespace flowmrd::samples {

namespace {

using detail::marker_count;
using detail::PhenotypeModel;

/// Portable random numbers: std::mt19937_64 is specified bit for bit, but the standard
/// distributions are not, so uniform, normal and exponential draws are written here.
class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, n) (rejection keeps it unbiased).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                                std::numeric_limits<std::uint64_t>::max() % n;
    std::uint64_t x = engine_();
    while (x >= limit) x = engine_();
    return x % n;
  }

  /// Standard normal by the Box-Muller transform (both values used).
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

  /// Exponential with mean 1.
  double exponential() { return -std::log(1.0 - uniform()); }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0;
  bool has_spare_ = false;
};

/// One cell before the instrument: true marker intensities and scatter.
struct Cell {
  std::array<double, marker_count> intensity{};
  double fsc_a = 0, fsc_h = 0, ssc_a = 0, ssc_h = 0;
};

/// Integer counts proportional to `weights` that sum exactly to `total` (largest remainder, ties
/// to the lower index), so the truth counts are known before any event is drawn.
std::vector<std::uint64_t> apportion(std::uint64_t total, const std::vector<double>& weights) {
  // Negative weights (1 - a - b rounding below zero) count as zero.
  std::vector<double> w(weights.size());
  std::transform(weights.begin(), weights.end(), w.begin(), [](double x) { return x > 0 ? x : 0.0; });
  double sum = 0;
  for (double x : w) sum += x;
  std::vector<std::uint64_t> out(weights.size(), 0);
  if (total == 0 || !(sum > 0)) return out;
  std::vector<std::pair<double, std::size_t>> rema;
  std::uint64_t given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double exact = static_cast<double>(total) * w[i] / sum;
    out[i] = static_cast<std::uint64_t>(std::floor(exact));
    given += out[i];
    rema.emplace_back(exact - std::floor(exact), i);
  }
  std::stable_sort(rema.begin(), rema.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t k = 0; given < total; k = (k + 1) % rema.size(), ++given) ++out[rema[k].second];
  // Floating-point rounding could in principle floor one count too high; take it back from the
  // largest so the counts always sum to `total`.
  while (given > total) {
    --*std::max_element(out.begin(), out.end());
    --given;
  }
  return out;
}

class Drawer {
 public:
  Drawer(const Scenario& scenario, Random& rng) : scenario_(scenario), rng_(rng) {
    blast_b_ = detail::model_for(Population::blast_b);
    apply_aberrancies(blast_b_);
    blast_b_cd19neg_ = detail::model_for(Population::blast_b_cd19neg);
    apply_aberrancies(blast_b_cd19neg_);
  }

  /// A single nucleated cell of population p (not debris, doublet or dead).
  Cell single(Population p) {
    if (p == Population::hematogone) return hematogone();
    const PhenotypeModel& m = p == Population::blast_b           ? blast_b_
                              : p == Population::blast_b_cd19neg ? blast_b_cd19neg_
                                                                 : detail::model_for(p);
    Cell c;
    for (std::size_t k = 0; k < marker_count; ++k) c.intensity[k] = draw_marker(m.markers[k]);
    draw_scatter(c, m.scatter.fsc, m.scatter.ssc, m.scatter);
    return c;
  }

  Cell cell(Population p, const std::vector<Population>& singles, const std::vector<double>& weights) {
    if (p == Population::doublet) {
      // Two cells stuck together: areas add, heights barely grow, so the pair falls below the
      // FSC-A = FSC-H diagonal that single cells follow.
      const Cell a = single(pick(singles, weights));
      const Cell b = single(pick(singles, weights));
      Cell c;
      for (std::size_t k = 0; k < marker_count; ++k) c.intensity[k] = a.intensity[k] + b.intensity[k];
      c.fsc_a = a.fsc_a + b.fsc_a;
      c.ssc_a = a.ssc_a + b.ssc_a;
      c.fsc_h = std::max(a.fsc_h, b.fsc_h) * (1.08 + 0.04 * rng_.normal());
      c.ssc_h = std::max(a.ssc_h, b.ssc_h) * (1.08 + 0.04 * rng_.normal());
      return c;
    }
    if (p == Population::dead) {
      // A dying cell: shrunken (low FSC), granular (raised SSC), antigens dimmed.
      Cell c = single(pick(singles, weights));
      const auto& s = detail::model_for(Population::dead).scatter;
      for (std::size_t k = 0; k < marker_count; ++k) {
        if (k != detail::m_syto41) c.intensity[k] *= 0.3;  // DNA is still there
      }
      const double f = s.fsc * std::exp(s.fsc_cv * rng_.normal());
      const double g = s.ssc * std::exp(s.ssc_cv * rng_.normal());
      c.fsc_a *= f;
      c.fsc_h *= f;
      c.ssc_a *= g;
      c.ssc_h *= g;
      return c;
    }
    return single(p);
  }

 private:
  void apply_aberrancies(PhenotypeModel& m) const {
    using namespace detail;
    const auto& b = scenario_.blast;
    auto shift = [&](std::size_t k, double d) {
      m.markers[k].mu = std::max(1.6, m.markers[k].mu + d);
      m.markers[k].negative_mu = std::max(1.6, m.markers[k].negative_mu + std::max(0.0, d));
    };
    shift(m_cd10, b.cd10);
    shift(m_cd38, b.cd38);
    shift(m_cd58, b.cd58);
    shift(m_cd45, b.cd45);
    shift(m_cd20, b.cd20);
    shift(m_cd34, b.cd34);
    // Blasts are clonal: their positive markers are tighter than normal cells' (the dye is not).
    for (std::size_t k = 0; k < marker_count; ++k) {
      if (k != m_syto41 && m.markers[k].mu > 2.0) m.markers[k].sd = b.spread;
    }
  }

  double draw_marker(const detail::MarkerModel& mk) {
    const bool positive = mk.positive >= 1 || rng_.uniform() < mk.positive;
    const double lg = positive ? mk.mu + mk.sd * rng_.normal() : mk.negative_mu + mk.negative_sd * rng_.normal();
    return std::pow(10.0, lg);
  }

  void draw_scatter(Cell& c, double fsc, double ssc, const detail::ScatterModel& s) {
    c.fsc_a = fsc * std::exp(s.fsc_cv * rng_.normal());
    c.ssc_a = ssc * std::exp(s.ssc_cv * rng_.normal());
    c.fsc_h = c.fsc_a * s.height_ratio * (1 + 0.03 * rng_.normal());
    c.ssc_h = c.ssc_a * s.height_ratio * (1 + 0.04 * rng_.normal());
  }

  /// A hematogone at maturation t (uniform on [0, 1]; the path spends ~20% in stage I, ~65% in
  /// stage II and ~15% near mature, like a regenerating marrow):
  /// log-intensities and scatter interpolated along the path, so stage I, II and mature B
  /// form one continuum rather than separate clusters.
  Cell hematogone() {
    const double t = rng_.uniform();
    const auto& path = detail::hematogone_path();
    std::size_t seg = 0;
    while (seg + 2 < path.size() && t > path[seg + 1].t) ++seg;
    const auto& a = path[seg];
    const auto& b = path[seg + 1];
    const double w = std::clamp((t - a.t) / (b.t - a.t), 0.0, 1.0);
    const PhenotypeModel& m = detail::model_for(Population::hematogone);
    Cell c;
    for (std::size_t k = 0; k < marker_count; ++k) {
      const double mu = a.mu[k] + w * (b.mu[k] - a.mu[k]);
      c.intensity[k] = std::pow(10.0, mu + m.markers[k].sd * rng_.normal());
    }
    draw_scatter(c, a.fsc + w * (b.fsc - a.fsc), a.ssc + w * (b.ssc - a.ssc), m.scatter);
    return c;
  }

  Population pick(const std::vector<Population>& pops, const std::vector<double>& cumulative) {
    const double u = rng_.uniform() * cumulative.back();
    const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
    const auto i = std::min<std::size_t>(static_cast<std::size_t>(it - cumulative.begin()), pops.size() - 1);
    return pops[i];
  }

  const Scenario& scenario_;
  Random& rng_;
  PhenotypeModel blast_b_, blast_b_cd19neg_;
};

std::string format_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace

fcs::WriteRequest Simulation::write_request() const {
  fcs::WriteRequest req;
  for (std::size_t i = 0; i < profile.channels.size(); ++i) {
    const auto& c = profile.channels[i];
    fcs::WriteChannel wc;
    wc.name = c.name;
    if (!c.stain.empty()) wc.marker = c.stain;
    wc.range = c.range;
    req.channels.push_back(std::move(wc));
    req.columns.emplace_back(columns[i]);
  }
  req.keywords = keywords;
  if (!profile.spillover.channels.empty()) req.spillover = profile.spillover;
  req.byte_order = profile.byte_order;
  return req;
}

Simulation simulate(const Scenario& scenario, const Profile& profile, const SimulateOptions& options) {
  const std::uint64_t n = scenario.events;
  Random rng(scenario.seed);

  // 1. Exact counts. Non-cells first, then blasts as a share of the denominator, then the normal
  // populations by their relative fractions.
  const auto excluded = apportion(n, {scenario.debris, scenario.doublets, scenario.dead,
                                      1.0 - scenario.debris - scenario.doublets - scenario.dead});
  const std::uint64_t denominator = excluded[3];
  const double mrd = std::clamp(scenario.mrd, 0.0, 1.0);
  const auto blasts = static_cast<std::uint64_t>(std::llround(mrd * static_cast<double>(denominator)));
  const auto blast_split =
      apportion(blasts, {1.0 - scenario.cd19_negative_fraction - scenario.lineage_switch_fraction,
                         scenario.cd19_negative_fraction, scenario.lineage_switch_fraction});
  std::vector<Population> normal_pops;
  std::vector<double> normal_weights;
  for (const auto p : all_populations()) {
    if (!in_denominator(p) || is_blast(p)) continue;
    const auto it = scenario.fractions.find(std::string{population_name(p)});
    normal_pops.push_back(p);
    normal_weights.push_back(it == scenario.fractions.end() ? 0.0 : it->second);
  }
  if (std::none_of(normal_weights.begin(), normal_weights.end(), [](double x) { return x > 0; })) {
    // Every count must land somewhere, or the labels would not cover the events.
    const auto defaults = default_fractions();
    for (std::size_t i = 0; i < normal_pops.size(); ++i) {
      normal_weights[i] = defaults.at(std::string{population_name(normal_pops[i])});
    }
  }
  const auto normal_counts = apportion(denominator - blasts, normal_weights);

  std::array<std::uint64_t, population_count> counts{};
  counts[static_cast<std::size_t>(Population::debris)] = excluded[0];
  counts[static_cast<std::size_t>(Population::doublet)] = excluded[1];
  counts[static_cast<std::size_t>(Population::dead)] = excluded[2];
  counts[static_cast<std::size_t>(Population::blast_b)] = blast_split[0];
  counts[static_cast<std::size_t>(Population::blast_b_cd19neg)] = blast_split[1];
  counts[static_cast<std::size_t>(Population::blast_monocytic)] = blast_split[2];
  for (std::size_t i = 0; i < normal_pops.size(); ++i) {
    counts[static_cast<std::size_t>(normal_pops[i])] = normal_counts[i];
  }

  // 2. Event order: labels in code order, then a Fisher-Yates shuffle with our own integer draw.
  Simulation sim;
  sim.profile = profile;
  Truth& truth = sim.truth;
  truth.scenario = scenario.name;
  truth.profile = profile.name;
  truth.seed = scenario.seed;
  truth.labels.reserve(n);
  for (std::size_t code = 0; code < population_count; ++code) {
    truth.labels.insert(truth.labels.end(), counts[code], static_cast<std::uint8_t>(code));
  }
  if (truth.labels.size() != n) throw std::logic_error("simulate: population counts do not sum to the events");
  for (std::uint64_t i = n; i > 1; --i) std::swap(truth.labels[i - 1], truth.labels[rng.below(i)]);
  finalize_truth(truth);

  // Doublet partners and dead cells come from the sample's own single nucleated cells.
  std::vector<Population> singles;
  std::vector<double> cumulative;
  double acc = 0;
  for (const auto p : all_populations()) {
    if (!in_denominator(p)) continue;
    const auto c = counts[static_cast<std::size_t>(p)];
    if (c == 0) continue;
    acc += static_cast<double>(c);
    singles.push_back(p);
    cumulative.push_back(acc);
  }
  if (singles.empty()) {
    singles.push_back(Population::lymphocyte_t_nk);
    cumulative.push_back(1);
  }

  // 3. Map fluorescence channels to markers, and the spillover matrix to them.
  std::vector<std::size_t> fl_channels;
  std::vector<std::size_t> fl_marker;
  for (std::size_t i = 0; i < profile.channels.size(); ++i) {
    const auto& c = profile.channels[i];
    if (c.kind != ChannelKind::fluorescence) continue;
    fl_channels.push_back(i);
    const auto& keys = known_markers();
    std::size_t k = 0;
    while (k < keys.size() && keys[k] != c.marker) ++k;
    fl_marker.push_back(k);
  }
  const std::size_t nf = fl_channels.size();
  const auto& S = profile.spillover.values;

  sim.columns.assign(profile.channels.size(), std::vector<float>(n));
  if (options.keep_true_fluorescence) sim.true_fluorescence.assign(nf, std::vector<float>(n));

  // 4. Events, in order.
  Drawer drawer(scenario, rng);
  std::vector<double> truev(nf), observed(nf);
  double clock = 0;  // seconds
  const double rate = profile.event_rate;
  for (std::uint64_t e = 0; e < n; ++e) {
    const auto p = static_cast<Population>(truth.labels[e]);
    const Cell c = drawer.cell(p, singles, cumulative);
    for (std::size_t j = 0; j < nf; ++j) {
      // Store the float value the simulator writes, so tests can compare exactly.
      truev[j] = static_cast<double>(static_cast<float>(c.intensity[fl_marker[j]]));
      if (options.keep_true_fluorescence) sim.true_fluorescence[j][e] = static_cast<float>(truev[j]);
    }
    // Observed = true x S (row i = spill of dye i), then detector noise: electronic (constant)
    // plus photon counting (grows with the signal, the source of spillover spreading).
    for (std::size_t j = 0; j < nf; ++j) {
      double v = 0;
      for (std::size_t i = 0; i < nf; ++i) v += truev[i] * S[i * nf + j];
      const double variance = profile.electronic_noise * profile.electronic_noise +
                              profile.photon_noise * std::max(v, 0.0);
      observed[j] = v + std::sqrt(variance) * rng.normal();
    }
    double local_rate = rate;
    if (const auto& fa = scenario.flow_anomaly) {
      const double f = static_cast<double>(e) / static_cast<double>(n);
      if (f >= fa->start && f < fa->end) local_rate *= fa->rate_factor;
    }
    clock += rng.exponential() / local_rate;
    std::size_t fj = 0;
    for (std::size_t i = 0; i < profile.channels.size(); ++i) {
      const auto& ch = profile.channels[i];
      const double top = ch.range - 1;
      double v = 0;
      switch (ch.kind) {
        case ChannelKind::fsc_a: v = c.fsc_a; break;
        case ChannelKind::fsc_h: v = c.fsc_h; break;
        case ChannelKind::ssc_a: v = c.ssc_a; break;
        case ChannelKind::ssc_h: v = c.ssc_h; break;
        case ChannelKind::time: v = clock / profile.timestep; break;
        case ChannelKind::fluorescence: v = observed[fj++]; break;
      }
      // Scatter is never negative on these instruments; every detector saturates at $PnR - 1.
      if (ch.kind != ChannelKind::fluorescence) v = std::max(v, 0.0);
      sim.columns[i][e] = static_cast<float>(std::min(v, top));
    }
  }

  // 5. Keywords.
  auto& kw = sim.keywords;
  kw.emplace_back("$CYT", profile.cytometer);
  kw.emplace_back("$TIMESTEP", format_double(profile.timestep));
  kw.emplace_back("$SRC", scenario.name);
  kw.emplace_back("FLOWMRD_SIMULATOR", "flowmrd.samples/1");
  kw.emplace_back("FLOWMRD_SCENARIO", scenario.name);
  kw.emplace_back("FLOWMRD_PROFILE", profile.name);
  kw.emplace_back("FLOWMRD_SEED", std::to_string(scenario.seed));
  for (const auto& [k, v] : scenario.keywords) {
    auto it = std::find_if(kw.begin(), kw.end(), [&](const auto& x) { return x.first == k; });
    if (it != kw.end()) {
      it->second = v;
    } else {
      kw.emplace_back(k, v);
    }
  }
  return sim;
}

Simulation simulate(const Scenario& scenario, const SimulateOptions& options) {
  const Profile profile = load_profile(resolve_profile_path(scenario.profile, scenario.base_dir));
  return simulate(scenario, profile, options);
}

void write_simulation(const Simulation& simulation, const std::filesystem::path& fcs_path) {
  fcs::write_file(fcs_path, simulation.write_request());
  const auto truth_path = truth_path_for(fcs_path);
  std::ofstream out(truth_path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error(truth_path.string() + ": cannot open for writing");
  out << truth_to_json(simulation.truth);
  out.close();
  if (!out) throw std::runtime_error(truth_path.string() + ": write failed");
}

}  // namespace flowmrd::samples
