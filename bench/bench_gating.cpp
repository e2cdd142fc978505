// SPDX-License-Identifier: Apache-2.0
/// @file bench_gating.cpp
/// Throughput of compensation, scale transforms and the whole Frame pipeline (docs/benchmarks.md).
///
///   BM_memcpy_columns            copy of the 12 float columns (240 MB): the same-run baseline
///   BM_compensate_f32            Compensation::apply on 5M events x 12 channels, one core
///   BM_transform_fast/<name>     Transform::apply (table path) on 5M floats, one core
///   BM_transform_exact/<name>    Transform::apply_exact on 1M doubles, one core
///   BM_frame/<threads>           build_frame: copy + compensate + logicle on 12 channels, 5M events
/// Inputs are synthetic and made in memory (deterministic seed); no files are needed. After the
/// run a summary prints the figures against the targets and the 2-thread/1-thread speedup.

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fcs/reader.hpp"
#include "fcs/writer.hpp"
#include "flowmrd/gating/compensation.hpp"
#include "flowmrd/gating/frame.hpp"
#include "flowmrd/gating/transform.hpp"

namespace {

using namespace flowmrd::gating;

constexpr std::size_t events = 5'000'000;
constexpr std::size_t channels = 12;

// Fluorescence-like values: log-normal positives and a Gaussian noise floor around zero.
const std::vector<std::vector<float>>& columns() {
  static const std::vector<std::vector<float>> cols = [] {
    std::mt19937_64 rng(20261120);
    std::normal_distribution<double> noise(0.0, 120.0), level(3.0, 0.8);
    std::bernoulli_distribution positive(0.6);
    std::vector<std::vector<float>> c(channels, std::vector<float>(events));
    for (auto& col : c)
      for (auto& v : col) v = static_cast<float>((positive(rng) ? std::pow(10.0, level(rng)) : 0.0) + noise(rng));
    return c;
  }();
  return cols;
}

std::vector<std::string> names() {
  std::vector<std::string> n;
  for (std::size_t j = 0; j < channels; ++j) n.push_back("FL" + std::to_string(j + 1) + "-A");
  return n;
}

// A dense, well-conditioned 12x12 spillover matrix (diagonal 1, spill 0-15%).
const Compensation& compensation() {
  static const Compensation comp = [] {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> spill(0.0, 0.15);
    std::vector<double> s(channels * channels);
    for (std::size_t i = 0; i < channels; ++i)
      for (std::size_t j = 0; j < channels; ++j) s[i * channels + j] = i == j ? 1.0 : spill(rng);
    return Compensation(names(), s, CompensationSource{CompensationSource::Kind::csv, "bench", ""});
  }();
  return comp;
}

const fcs::Dataset& dataset() {
  static const fcs::Dataset ds = [] {
    fcs::WriteRequest req;
    for (const auto& n : names()) req.channels.push_back({n, std::nullopt, 262144, 1});
    for (const auto& c : columns()) req.columns.emplace_back(c);
    fcs::ReadOptions o;
    o.truncate_max_range = false;
    return std::move(fcs::read_bytes(fcs::write_bytes(req), o, "bench").datasets.at(0));
  }();
  return ds;
}

const std::map<std::string, std::string>& transform_specs() {
  static const std::map<std::string, std::string> specs = {
      {"logicle", "logicle:T=262144,W=0.5,M=4.5,A=0"},
      {"hyperlog", "hyperlog:T=262144,W=0.5,M=4.5,A=0"},
      {"biex", "biex:negative=0,width=-100,positive=4.5,max=262144"},
      {"arcsinh", "arcsinh:a=0,b=0.0066666666666666671,c=0"},
  };
  return specs;
}

void BM_memcpy_columns(benchmark::State& state) {
  const auto& src = columns();
  for (auto _ : state) {
    std::vector<std::unique_ptr<float[]>> dst;
    for (const auto& c : src) {
      dst.emplace_back(new float[events]);
      std::memcpy(dst.back().get(), c.data(), events * sizeof(float));
    }
    benchmark::DoNotOptimize(dst.back().get());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events));
}

void BM_compensate_f32(benchmark::State& state) {
  std::vector<std::vector<float>> work = columns();
  std::vector<float*> ptrs;
  for (auto& c : work) ptrs.push_back(c.data());
  for (auto _ : state) {
    state.PauseTiming();
    for (std::size_t j = 0; j < channels; ++j) std::memcpy(work[j].data(), columns()[j].data(), events * sizeof(float));
    state.ResumeTiming();
    compensation().apply(ptrs, 0, events);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events));
}

void BM_transform_fast(benchmark::State& state, const std::string& name) {
  const Transform t(TransformSpec::parse(transform_specs().at(name)));
  const auto& in = columns()[0];
  std::vector<float> out(events);
  for (auto _ : state) {
    t.apply(std::span<const float>(in), std::span<float>(out));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events));
}

void BM_transform_exact(benchmark::State& state, const std::string& name) {
  const Transform t(TransformSpec::parse(transform_specs().at(name)));
  constexpr std::size_t n = 1'000'000;
  std::vector<double> in(columns()[0].begin(), columns()[0].begin() + n), out(n);
  for (auto _ : state) {
    t.apply_exact(in, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void BM_frame(benchmark::State& state) {
  const fcs::Dataset& ds = dataset();
  FrameOptions opt;
  opt.compensation = &compensation();
  opt.transforms["*"] = TransformSpec::parse(transform_specs().at("logicle"));
  opt.threads = static_cast<unsigned>(state.range(0));
  for (auto _ : state) {
    Frame f = build_frame(ds, opt);
    benchmark::DoNotOptimize(f.column(0).values.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events));
}

/// Keeps each run's items/s for the summary.
class Collector : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> items_per_second;
  void ReportRuns(const std::vector<Run>& runs) override {
    // Plain runs, or the median of repeated runs (--benchmark_repetitions).
    for (const Run& r : runs) {
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (r.run_type != Run::RT_Iteration && !median) continue;
      const auto it = r.counters.find("items_per_second");
      if (it != r.counters.end()) items_per_second[r.run_name.str()] = it->second;
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::RegisterBenchmark("BM_memcpy_columns", BM_memcpy_columns)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("BM_compensate_f32", BM_compensate_f32)->Unit(benchmark::kMillisecond)->UseRealTime();
  for (const auto& [name, spec] : transform_specs()) {
    benchmark::RegisterBenchmark(("BM_transform_fast/" + name).c_str(), BM_transform_fast, name)
        ->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("BM_transform_exact/" + name).c_str(), BM_transform_exact, name)
        ->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  benchmark::RegisterBenchmark("BM_frame", BM_frame)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::Initialize(&argc, argv);
  (void)columns();
  (void)dataset();
  Collector reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  auto get = [&](const std::string& k) {
    for (const auto& [name, v] : reporter.items_per_second)
      if (name.rfind(k, 0) == 0) return v;
    return 0.0;
  };
  const double memcpy_rate = get("BM_memcpy_columns");
  std::cout << "\n== summary (events or values per second; targets from issue 3)\n";
  auto line = [&](const std::string& what, double v, double target) {
    std::printf("%-34s %10.1f M/s  (%.2fx memcpy of the same events)  target %5.0f M/s  %s\n", what.c_str(), v / 1e6,
                memcpy_rate > 0 ? v / memcpy_rate : 0.0, target / 1e6, target == 0 ? "-" : (v >= target ? "PASS" : "FAIL"));
  };
  line("memcpy of 12 columns (baseline)", memcpy_rate, 0);
  line("compensation, 12 ch, 1 core", get("BM_compensate_f32"), 50e6);
  line("logicle fast path, 1 core", get("BM_transform_fast/logicle"), 200e6);
  line("logicle exact path, 1 core", get("BM_transform_exact/logicle"), 20e6);
  for (const char* n : {"hyperlog", "biex", "arcsinh"}) {
    line(std::string(n) + " fast path, 1 core", get(std::string("BM_transform_fast/") + n), 0);
    line(std::string(n) + " exact path, 1 core", get(std::string("BM_transform_exact/") + n), 0);
  }
  const double f1 = get("BM_frame/1"), f2 = get("BM_frame/2");
  line("frame (comp + logicle 12 ch), 1 thr", f1, 0);
  line("frame (comp + logicle 12 ch), 2 thr", f2, 0);
  std::printf("frame speedup 2 threads / 1 thread: %.2fx\n", f1 > 0 ? f2 / f1 : 0.0);
  benchmark::Shutdown();
  return 0;
}
