// SPDX-License-Identifier: Apache-2.0
// Acquisition QC over Time for pregate(): the event rate per time bin against the run's median
// (clogs, bubbles: reported, never excluded) and the median signal of each scatter and
// fluorescence channel per block of events against the run (signal shifts: excluded).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "pregate_internal.hpp"

namespace flowmrd::pipeline::detail {

std::string percent(std::size_t part, std::size_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return buf;
}

std::string num(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

namespace {

// Flow rate: at least this many events per time bin on average (Poisson noise ~10%), at most
// this many bins (a clog shorter than 1/256 of the run is not worth a flag), at least this many.
constexpr std::size_t kEventsPerRateBin = 100;
constexpr std::size_t kMaxRateBins = 256;
constexpr std::size_t kMinRateBins = 8;
// A bin is anomalous when its count is this many SDs from the median count (SD = the larger of
// the Poisson SD and the robust spread across bins) AND its rate differs by at least this factor.
// Both: the first keeps noise out on small runs, the second keeps harmless drifts out on huge runs.
constexpr double kRateZ = 6.0;
constexpr double kRateFactor = 2.0;
// Bins next to an anomaly join it while they deviate the same way by this much (its edges).
constexpr double kRateEdgeZ = 3.0;

// Signal stability: blocks of events (equal counts), each median from at most kMedianSample
// events (a strided sample: the median needs no more), flagged when the block median is more than
// kShiftZ robust SDs AND kShiftMin model-scale units (about decades) from the run's median.
constexpr std::size_t kEventsPerShiftBin = 2000;
constexpr std::size_t kMaxShiftBins = 64;
constexpr std::size_t kMinShiftBins = 8;
constexpr std::size_t kMedianSample = 1000;
// The sampling SD of a block median is 1 / (2 f sqrt(k)), f the run's density at its median
// (estimated from this many events in a window of +-kDensityHalfWidth). It is large when the
// median falls between two populations (then it jumps when the mix wobbles), which a robust SD
// across blocks misses when most blocks sit on one side.
constexpr std::size_t kDensitySample = 20000;
constexpr double kDensityHalfWidth = 0.05;
constexpr double kShiftZ = 6.0;
constexpr double kShiftMin = 0.05;
constexpr double kShiftSdFloor = 0.005;

double median_of(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  double m = *mid;
  if (v.size() % 2 == 0) m = 0.5 * (m + *std::max_element(v.begin(), mid));
  return m;
}

double mad_of(const std::vector<double>& v, double med) {
  std::vector<double> d;
  d.reserve(v.size());
  for (double x : v) {
    if (std::isfinite(x)) d.push_back(std::fabs(x - med));
  }
  return median_of(std::move(d));
}

std::string column_label(const gating::Frame& frame, int c) {
  const auto& col = frame.column(static_cast<std::size_t>(c));
  return col.marker && !col.marker->empty() && *col.marker != col.name ? *col.marker + " (" + col.name + ")" : col.name;
}

// Time as people read it: seconds when $TIMESTEP is known.
std::string time_text(double t, double step) {
  return step > 0 ? num(t * step, 4) + " s" : num(t, 6) + " (Time units)";
}

struct Range {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  std::size_t finite = 0;
  std::size_t backwards = 0;  // events whose time is below the previous event's
};

}  // namespace

TimeQc time_qc(const gating::Frame& frame, const PregateChannels& channels, unsigned threads) {
  TimeQc qc;
  const std::size_t n = frame.rows();
  qc.keep = gating::Mask(n, true);
  const auto& t = frame.column(static_cast<std::size_t>(channels.time)).values;
  const double step = channels.time_step;
  const std::string time_name = frame.column(static_cast<std::size_t>(channels.time)).name;

  // Range of Time and whether events are in time order (per chunk, combined in chunk order).
  const std::size_t nchunks = (n + kChunk - 1) / kChunk;
  std::vector<Range> parts(nchunks);
  for_chunks(n, threads, [&](std::size_t first, std::size_t last) {
    Range r;
    for (std::size_t i = first; i < last; ++i) {
      const double v = t[i];
      if (!std::isfinite(v)) continue;
      ++r.finite;
      r.min = std::min(r.min, v);
      r.max = std::max(r.max, v);
      if (i > 0 && std::isfinite(t[i - 1]) && v < t[i - 1]) ++r.backwards;
    }
    parts[first / kChunk] = r;
  });
  Range all;
  for (const Range& r : parts) {
    all.min = std::min(all.min, r.min);
    all.max = std::max(all.max, r.max);
    all.finite += r.finite;
    all.backwards += r.backwards;
  }
  if (all.finite == 0 || !(all.max > all.min)) {
    qc.notes.push_back("Time (" + time_name + ") is constant or not a number: acquisition QC skipped");
    return qc;
  }
  if (all.backwards > 0) {
    qc.notes.push_back("Time decreases " + std::to_string(all.backwards) +
                       " times: events are not in acquisition order; signal stability is checked in event order");
  }
  const double t0 = all.min;
  const double t1 = all.max;

  // --- Flow rate: events per equal-time bin.
  double median_count = 0;
  double bin_width = 0;
  const std::size_t nbins = std::min(kMaxRateBins, all.finite / kEventsPerRateBin);
  if (nbins < kMinRateBins) {
    qc.notes.push_back("too few events (" + std::to_string(all.finite) + ") for flow-rate QC over Time");
  } else {
    bin_width = (t1 - t0) / static_cast<double>(nbins);
    std::vector<std::vector<std::uint32_t>> hist(nchunks, std::vector<std::uint32_t>(nbins, 0));
    for_chunks(n, threads, [&](std::size_t first, std::size_t last) {
      auto& h = hist[first / kChunk];
      for (std::size_t i = first; i < last; ++i) {
        const double v = t[i];
        if (!std::isfinite(v)) continue;
        const auto b = static_cast<std::size_t>(std::clamp((v - t0) / bin_width, 0.0, static_cast<double>(nbins - 1)));
        ++h[b];
      }
    });
    std::vector<double> count(nbins, 0.0);
    for (const auto& h : hist) {
      for (std::size_t b = 0; b < nbins; ++b) count[b] += h[b];
    }
    median_count = median_of(count);
    const double sd = std::max(std::sqrt(std::max(median_count, 1.0)), 1.4826 * mad_of(count, median_count));
    // Direction per bin: -1 slow, +1 fast, 0 normal.
    std::vector<int> dir(nbins, 0);
    for (std::size_t b = 0; b < nbins; ++b) {
      const double dev = count[b] - median_count;
      if (std::fabs(dev) <= kRateZ * sd) continue;
      if (count[b] * kRateFactor <= median_count) dir[b] = -1;
      if (count[b] >= kRateFactor * median_count) dir[b] = 1;
    }
    // Grow each anomaly over the neighbouring bins that still deviate the same way (its edges,
    // where a bin holds part normal, part anomalous flow).
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t b = 0; b < nbins; ++b) {
        if (dir[b] != 0) continue;
        const double z = (count[b] - median_count) / sd;
        const bool left = b > 0 && dir[b - 1] != 0;
        const bool right = b + 1 < nbins && dir[b + 1] != 0;
        const int want = left ? dir[b - 1] : right ? dir[b + 1] : 0;
        if (want != 0 && z * want > kRateEdgeZ) dir[b] = want;
      }
    }
    for (std::size_t b = 0; b < nbins;) {
      if (dir[b] == 0) {
        ++b;
        continue;
      }
      std::size_t e = b;
      double events = 0;
      while (e < nbins && dir[e] == dir[b]) events += count[e++];
      TimeAnomaly a;
      a.kind = "flow_rate";
      a.start = t0 + static_cast<double>(b) * bin_width;
      a.end = t0 + static_cast<double>(e) * bin_width;
      a.events = static_cast<std::size_t>(events);
      a.rate_factor = median_count > 0 ? events / static_cast<double>(e - b) / median_count : 1.0;
      a.excluded = false;
      a.message = std::string(dir[b] < 0 ? "flow rate dropped" : "flow rate rose") + " to " + num(a.rate_factor, 2) +
                  "x the run's median from " + time_text(a.start, step) + " to " + time_text(a.end, step) + " (" +
                  std::to_string(a.events) + " events, " + percent(a.events, all.finite) + " of the run, " +
                  percent(e - b, nbins) + " of its time): " + (dir[b] < 0 ? "a partial clog" : "a bubble or surge") +
                  "? Events kept: a rate change alone does not change what the cells measure";
      qc.anomalies.push_back(std::move(a));
      b = e;
    }
  }

  // --- Signal stability: median per block of events vs the run.
  std::vector<int> signal_cols;
  signal_cols.push_back(channels.fsc_a);
  signal_cols.push_back(channels.ssc_a);
  if (channels.dna >= 0) signal_cols.push_back(channels.dna);
  for (int c : channels.fluorescence) {
    if (std::find(signal_cols.begin(), signal_cols.end(), c) == signal_cols.end()) signal_cols.push_back(c);
  }
  const std::size_t sbins = std::min(kMaxShiftBins, n / kEventsPerShiftBin);
  std::vector<bool> shifted(sbins, false);
  std::vector<std::string> shift_what(sbins);
  if (sbins < kMinShiftBins) {
    qc.notes.push_back("too few events (" + std::to_string(n) + ") for signal-stability QC over Time");
  } else {
    const std::size_t nc = signal_cols.size();
    std::vector<double> med(nc * sbins, std::numeric_limits<double>::quiet_NaN());
    std::vector<std::size_t> used(nc * sbins, 0);
    auto bin_first = [&](std::size_t b) { return b * n / sbins; };
    auto task = [&](std::size_t k) {
      const std::size_t c = k / sbins;
      const std::size_t b = k % sbins;
      const auto& v = frame.column(static_cast<std::size_t>(signal_cols[c])).values;
      const std::size_t first = bin_first(b);
      const std::size_t last = bin_first(b + 1);
      const std::size_t stride = std::max<std::size_t>(1, (last - first) / kMedianSample);
      std::vector<double> s;
      s.reserve((last - first) / stride + 1);
      for (std::size_t i = first; i < last; i += stride) {
        if (std::isfinite(v[i])) s.push_back(v[i]);
      }
      // The median commutes with the (monotone) model scale: take it on linear values.
      used[k] = s.size();
      const double m = median_of(std::move(s));
      med[k] = std::isfinite(m) ? model_scale_f(static_cast<float>(m)) : m;
    };
    if (threads == 1) {
      for (std::size_t k = 0; k < nc * sbins; ++k) task(k);
    } else {
      tbb::task_arena arena(threads == 0 ? tbb::task_arena::automatic : static_cast<int>(threads));
      arena.execute([&] {
        tbb::parallel_for(std::size_t{0}, nc * sbins, [&](std::size_t k) { task(k); });
      });
    }
    for (std::size_t c = 0; c < nc; ++c) {
      const std::vector<double> m(med.begin() + static_cast<std::ptrdiff_t>(c * sbins),
                                  med.begin() + static_cast<std::ptrdiff_t>((c + 1) * sbins));
      std::vector<double> finite;
      for (double x : m) {
        if (std::isfinite(x)) finite.push_back(x);
      }
      if (finite.size() < kMinShiftBins) continue;
      const double run = median_of(finite);
      // Density of the whole run at its median (model scale), from a strided sample.
      const auto& v = frame.column(static_cast<std::size_t>(signal_cols[c])).values;
      const std::size_t stride = std::max<std::size_t>(1, n / kDensitySample);
      std::size_t total = 0;
      std::size_t near = 0;
      for (std::size_t i = 0; i < n; i += stride) {
        if (!std::isfinite(v[i])) continue;
        ++total;
        if (std::fabs(model_scale_f(v[i]) - run) <= kDensityHalfWidth) ++near;
      }
      const std::size_t k = *std::min_element(used.begin() + static_cast<std::ptrdiff_t>(c * sbins),
                                              used.begin() + static_cast<std::ptrdiff_t>((c + 1) * sbins));
      const double f = total == 0 ? 0.0 : static_cast<double>(near) / (2 * kDensityHalfWidth * static_cast<double>(total));
      const double se = f > 0 && k > 0 ? 1.0 / (2 * f * std::sqrt(static_cast<double>(k))) : std::numeric_limits<double>::infinity();
      const double sd = std::max({1.4826 * mad_of(finite, run), se, kShiftSdFloor});
      const double limit = std::max(kShiftZ * sd, kShiftMin);
      std::vector<std::size_t> candidates;
      for (std::size_t b = 0; b < sbins; ++b) {
        if (std::isfinite(m[b]) && std::fabs(m[b] - run) > limit) candidates.push_back(b);
      }
      if (candidates.empty()) continue;
      // Confirmation by the block mean (model scale) vs the run: a real shift moves the whole
      // distribution, mean and median alike; a median that jumps between two populations when
      // their mix wobbles leaves the mean where it was.
      std::vector<double> mean(sbins, std::numeric_limits<double>::quiet_NaN());
      for (std::size_t b = 0; b < sbins; ++b) {
        const std::size_t first = bin_first(b);
        const std::size_t last = bin_first(b + 1);
        const std::size_t every = std::max<std::size_t>(1, (last - first) / kMedianSample);
        double sum = 0;
        std::size_t cnt = 0;
        for (std::size_t i = first; i < last; i += every) {
          if (!std::isfinite(v[i])) continue;
          sum += model_scale_f(v[i]);
          ++cnt;
        }
        if (cnt > 0) mean[b] = sum / static_cast<double>(cnt);
      }
      std::vector<double> finite_mean;
      for (double x : mean) {
        if (std::isfinite(x)) finite_mean.push_back(x);
      }
      const double run_mean = median_of(finite_mean);
      const double sd_mean = std::max(1.4826 * mad_of(finite_mean, run_mean), kShiftSdFloor);
      const double limit_mean = std::max(kShiftZ * sd_mean, 0.5 * kShiftMin);
      for (std::size_t b : candidates) {
        const double dm = mean[b] - run_mean;
        if (!std::isfinite(dm) || std::fabs(dm) <= limit_mean || (dm > 0) != (m[b] > run)) continue;
        shifted[b] = true;
        if (!shift_what[b].empty()) shift_what[b] += ", ";
        shift_what[b] += column_label(frame, signal_cols[c]) + " " + (m[b] > run ? "+" : "") + num(m[b] - run, 2);
      }
    }
    for (std::size_t b = 0; b < sbins;) {
      if (!shifted[b]) {
        ++b;
        continue;
      }
      std::size_t e = b;
      std::string what;
      while (e < sbins && shifted[e]) {
        if (what.size() < 300) what += (what.empty() ? "" : "; ") + shift_what[e];
        ++e;
      }
      const std::size_t first = bin_first(b);
      const std::size_t last = bin_first(e);
      double ts = std::numeric_limits<double>::infinity();
      double te = -std::numeric_limits<double>::infinity();
      for (std::size_t i = first; i < last; ++i) {
        if (!std::isfinite(t[i])) continue;
        ts = std::min(ts, static_cast<double>(t[i]));
        te = std::max(te, static_cast<double>(t[i]));
      }
      for (std::size_t i = first; i < last; ++i) qc.keep.set(i, false);
      TimeAnomaly a;
      a.kind = "signal_shift";
      a.start = std::isfinite(ts) ? ts : 0.0;
      a.end = std::isfinite(te) ? te : 0.0;
      a.events = last - first;
      a.rate_factor = 1.0;
      if (median_count > 0 && bin_width > 0 && te > ts) {
        a.rate_factor = static_cast<double>(last - first) / (te - ts) / (median_count / bin_width);
      }
      a.excluded = true;
      a.message = "signal shift from " + time_text(a.start, step) + " to " + time_text(a.end, step) + " (" +
                  std::to_string(a.events) + " events, " + percent(a.events, n) + "): median moved by " + what +
                  " (model scale, ~decades) against the run: events excluded";
      qc.anomalies.push_back(std::move(a));
      b = e;
    }
  }
  std::stable_sort(qc.anomalies.begin(), qc.anomalies.end(),
                   [](const TimeAnomaly& a, const TimeAnomaly& b) { return a.start < b.start; });

  // The gate(s) of qc_pass on Time: the whole run, or each excluded interval (inverted).
  GateAxis axis{channels.time, time_name, "linear"};
  gating::Dimension dim;
  dim.channel = time_name;
  std::size_t flow = 0;
  std::size_t excluded = 0;
  for (const auto& a : qc.anomalies) (a.kind == "flow_rate" ? flow : excluded) += 1;
  const std::string summary = std::to_string(flow) + " flow-rate anomal" + (flow == 1 ? "y" : "ies") +
                              " (kept), " + std::to_string(excluded) + " signal shift" +
                              (excluded == 1 ? "" : "s") + " (excluded); run " + time_text(t0, step) + " to " +
                              time_text(t1, step);
  if (excluded == 0) {
    PlacedGate g;
    g.population = "qc_pass";
    g.x = axis;
    gating::RectangleGate r;
    r.dimensions.push_back(dim);
    r.ranges.push_back({t0, std::nextafter(t1, std::numeric_limits<double>::infinity())});
    g.gate = r;
    g.method = "acquisition QC over Time (event rate and median signal per bin, robust z)";
    g.note = summary;
    qc.gates.push_back(std::move(g));
  } else {
    for (const auto& a : qc.anomalies) {
      if (!a.excluded) continue;
      PlacedGate g;
      g.population = "qc_pass";
      g.x = axis;
      g.inverted = true;
      gating::RectangleGate r;
      r.dimensions.push_back(dim);
      r.ranges.push_back({a.start, std::nextafter(a.end, std::numeric_limits<double>::infinity())});
      g.gate = r;
      g.method = "acquisition QC over Time: signal-shift interval excluded";
      g.note = a.message + "; " + summary;
      qc.gates.push_back(std::move(g));
    }
  }
  return qc;
}

}  // namespace flowmrd::pipeline::detail
