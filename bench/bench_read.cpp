// SPDX-License-Identifier: Apache-2.0
/// @file bench_read.cpp
/// Read throughput of libfcs against a plain memcpy of the same DATA segment (docs/benchmarks.md).
///
/// For each input written by fcs_make_bench_files (float32_be, int16_log_be, int32_be):
///   BM_memcpy_data_segment/<layout>  memcpy of the DATA bytes into a fresh uninitialised buffer
///   BM_memcpy_prefaulted/<layout>    the same into a buffer already mapped (context only)
///   BM_read_<layout>                 fcs::read_file on the file (page cache warm)
///   BM_read_bytes_<layout>           fcs::read_bytes on the file's bytes already in memory
/// All report bytes_per_second over the DATA segment size, so their ratios are the speed ratios.
/// After the run the ratios read/memcpy are printed with the targets.
///
/// Inputs: $FLOWMRD_BENCH_DIR, else <build>/bench-data. Standard --benchmark_* flags apply;
/// $FLOWMRD_BENCH_ITERATIONS sets the iterations per run (default 3), $FLOWMRD_BENCH_EVENTS the
/// events the inputs must have (default 5,000,000; smaller only for profiling).

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "fcs/dataset.hpp"
#include "fcs/error.hpp"
#include "fcs/options.hpp"
#include "fcs/reader.hpp"

namespace {

namespace fs = std::filesystem;

/// Events every input must have: 5,000,000 (the file), or $FLOWMRD_BENCH_EVENTS for
/// small profiling inputs (fcs_make_bench_files --events N). A file of another size is refused:
/// ratios measured on data that fits in cache say nothing about the target.
std::uint64_t expected_events() {
  static const std::uint64_t n = [] {
    const char* env = std::getenv("FLOWMRD_BENCH_EVENTS");
    const unsigned long long v = env != nullptr ? std::strtoull(env, nullptr, 10) : 0;
    return v > 0 ? std::uint64_t{v} : std::uint64_t{5'000'000};
  }();
  return n;
}

// Warm-up: every benchmark runs one untimed iteration first. Memory the process has never
// touched costs more to fault in than memory recently freed (notably in VMs whose guest memory
// is backed lazily by the host), and the first benchmark would otherwise pay for it alone.

struct Layout {
  const char* name;    ///< Suffix of the benchmark names.
  const char* file;    ///< File name in the bench directory.
  double target;       ///< Minimum read/memcpy speed ratio the project issue asks for.
};

constexpr std::array<Layout, 3> kLayouts{{
    {"float32_be", "float32_be.fcs", 0.5},      // float32 big-endian
    {"int16_log_be", "int16_log_be.fcs", 0.25},  // int16 big-endian, $PnE 4,1 on 8 channels
    {"int32_be", "int32_be.fcs", 0.25},          // int32 big-endian, linear (no $PnE)
}};

fs::path bench_dir() {
  const char* env = std::getenv("FLOWMRD_BENCH_DIR");
  return fs::path(env != nullptr && *env != '\0' ? env : FLOWMRD_BENCH_DEFAULT_DIR);
}

/// One input file held in memory, with where its DATA segment is.
struct Input {
  std::string layout;
  fs::path path;
  std::vector<std::byte> bytes;
  std::uint64_t data_begin = 0;
  std::uint64_t data_size = 0;
  std::string error;  ///< Non-empty when the file could not be loaded; benchmarks skip with it.
};

/// The input of `layout`, loaded on first use. Only one file is held at a time: benchmarks run
/// in registration order (all of one layout together), and 600 MB resident for the three files
/// would only add noise to the others.
const Input& input(const Layout& layout) {
  static Input current;
  if (current.layout == layout.name) return current;
  current = Input{};
  current.layout = layout.name;
  current.path = bench_dir() / layout.file;
  try {
    std::ifstream in(current.path, std::ios::binary);
    if (!in) {
      current.error = "cannot open " + current.path.string() + " (run fcs_make_bench_files)";
      return current;
    }
    current.bytes.resize(static_cast<std::size_t>(fs::file_size(current.path)));
    in.read(reinterpret_cast<char*>(current.bytes.data()),
            static_cast<std::streamsize>(current.bytes.size()));
    if (!in) {
      current.error = "cannot read " + current.path.string();
      return current;
    }
    // The DATA offsets come from the reader itself (keywords only): the memcpy baseline then
    // copies exactly the bytes the reader decodes.
    fcs::ReadOptions header_only;
    header_only.skip_events = true;
    const fcs::File file = fcs::read_bytes(current.bytes, header_only, current.path.string());
    if (file.datasets.size() != 1) {
      current.error = current.path.string() + ": expected one data set";
      return current;
    }
    const fcs::Dataset& ds = file.datasets.front();
    current.data_begin = ds.data.begin;
    current.data_size = ds.data.size();
    if (ds.data.empty() || current.data_begin + current.data_size > current.bytes.size()) {
      current.error = current.path.string() + ": DATA segment outside the file";
    } else if (ds.event_count != expected_events()) {
      current.error = current.path.string() + ": " + std::to_string(ds.event_count) +
                      " events, expected " + std::to_string(expected_events()) +
                      " (regenerate with fcs_make_bench_files --force, or set FLOWMRD_BENCH_EVENTS)";
    }
  } catch (const std::exception& e) {
    current.error = e.what();
  }
  return current;
}

void set_bytes(benchmark::State& state, const Input& in) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(in.data_size));
  state.counters["data_MB"] = static_cast<double>(in.data_size) / 1e6;
}

void bm_memcpy(benchmark::State& state, const Layout& layout) {
  const Input& in = input(layout);
  if (!in.error.empty()) {
    state.SkipWithError(in.error.c_str());
    return;
  }
  const std::byte* src = in.bytes.data() + in.data_begin;
  const auto n = static_cast<std::size_t>(in.data_size);
  const auto copy = [&] {
    // Default-initialised, i.e. untouched: its pages fault during the copy, as the reader's
    // freshly allocated columns do while it decodes into them.
    const std::unique_ptr<std::byte[]> dst(new std::byte[n]);
    std::memcpy(dst.get(), src, n);
    benchmark::DoNotOptimize(dst.get());
    benchmark::ClobberMemory();
  };
  copy();  // warm-up (see the note at the top)
  for ([[maybe_unused]] auto _ : state) copy();
  set_bytes(state, in);
}

/// Context only (no target): the same copy into a buffer whose pages are already mapped, i.e.
/// the machine's copy bandwidth without page-fault cost.
void bm_memcpy_prefaulted(benchmark::State& state, const Layout& layout) {
  const Input& in = input(layout);
  if (!in.error.empty()) {
    state.SkipWithError(in.error.c_str());
    return;
  }
  const std::byte* src = in.bytes.data() + in.data_begin;
  const auto n = static_cast<std::size_t>(in.data_size);
  const std::unique_ptr<std::byte[]> dst(new std::byte[n]);
  std::memset(dst.get(), 0, n);
  for ([[maybe_unused]] auto _ : state) {
    std::memcpy(dst.get(), src, n);
    benchmark::DoNotOptimize(dst.get());
    benchmark::ClobberMemory();
  }
  set_bytes(state, in);
}

/// Fails the benchmark when a read did not give the expected events (a broken reader would
/// otherwise look fast).
bool check(benchmark::State& state, const fcs::File& file) {
  if (file.datasets.size() == 1 && file.datasets.front().event_count == expected_events() &&
      file.datasets.front().events.rows() == expected_events() &&
      file.datasets.front().events.cols() == 12) {
    return true;
  }
  state.SkipWithError("reader returned an unexpected shape");
  return false;
}

void bm_read_file(benchmark::State& state, const Layout& layout) {
  const Input& in = input(layout);  // also warms the page cache
  if (!in.error.empty()) {
    state.SkipWithError(in.error.c_str());
    return;
  }
  try {
    (void)fcs::read_file(in.path);  // warm-up (see the note at the top)
    for ([[maybe_unused]] auto _ : state) {
      const fcs::File file = fcs::read_file(in.path);
      if (!check(state, file)) break;
      benchmark::DoNotOptimize(file.datasets.data());
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
  set_bytes(state, in);
}

void bm_read_bytes(benchmark::State& state, const Layout& layout) {
  const Input& in = input(layout);
  if (!in.error.empty()) {
    state.SkipWithError(in.error.c_str());
    return;
  }
  const std::string label = in.path.string();
  try {
    (void)fcs::read_bytes(in.bytes, {}, label);  // warm-up (see the note at the top)
    for ([[maybe_unused]] auto _ : state) {
      const fcs::File file = fcs::read_bytes(in.bytes, {}, label);
      if (!check(state, file)) break;
      benchmark::DoNotOptimize(file.datasets.data());
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
  set_bytes(state, in);
}

std::string memcpy_name(const Layout& l) { return std::string("BM_memcpy_data_segment/") + l.name; }
std::string read_file_name(const Layout& l) { return std::string("BM_read_") + l.name; }
std::string read_bytes_name(const Layout& l) { return std::string("BM_read_bytes_") + l.name; }

void register_benchmarks() {
  benchmark::IterationCount iterations = 3;
  if (const char* env = std::getenv("FLOWMRD_BENCH_ITERATIONS"); env != nullptr) {
    const long v = std::strtol(env, nullptr, 10);
    if (v > 0) iterations = v;
  }
  for (const Layout& l : kLayouts) {
    // Fixed, few iterations: each one moves 120-240 MB, and the whole run must stay short.
    for (auto [name, fn] : {std::pair{memcpy_name(l), &bm_memcpy},
                            std::pair{std::string("BM_memcpy_prefaulted/") + l.name,
                                      &bm_memcpy_prefaulted},
                            std::pair{read_file_name(l), &bm_read_file},
                            std::pair{read_bytes_name(l), &bm_read_bytes}}) {
      benchmark::RegisterBenchmark(name.c_str(), fn, l)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond)
          ->Iterations(iterations);
    }
  }
}

/// Forwards to the display reporter chosen by --benchmark_format and keeps, per benchmark, the
/// bytes per second and the CPU time per iteration (the medians when repetitions give
/// aggregates, else the means of the runs).
class CapturingReporter : public benchmark::BenchmarkReporter {
 public:
  explicit CapturingReporter(std::unique_ptr<benchmark::BenchmarkReporter> inner)
      : inner_(std::move(inner)) {}

  bool ReportContext(const Context& context) override { return inner_->ReportContext(context); }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const auto it = run.counters.find("bytes_per_second");
      if (it == run.counters.end()) continue;
      Rate& r = rates_[run.run_name.function_name];
      if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name == "median") {
          r.median = it->second.value;
          r.median_cpu = run.GetAdjustedCPUTime();
        }
      } else {
        r.sum += it->second.value;
        r.sum_cpu += run.GetAdjustedCPUTime();
        ++r.count;
      }
    }
    inner_->ReportRuns(runs);
  }
  void Finalize() override { inner_->Finalize(); }

  /// Bytes per second of a benchmark, or 0 when it did not run.
  [[nodiscard]] double rate(const std::string& name) const {
    const auto it = rates_.find(name);
    if (it == rates_.end()) return 0;
    if (it->second.median > 0) return it->second.median;
    return it->second.count > 0 ? it->second.sum / it->second.count : 0;
  }
  /// CPU time per iteration of a benchmark (its own time unit), or 0 when it did not run.
  [[nodiscard]] double cpu_time(const std::string& name) const {
    const auto it = rates_.find(name);
    if (it == rates_.end()) return 0;
    if (it->second.median > 0) return it->second.median_cpu;
    return it->second.count > 0 ? it->second.sum_cpu / it->second.count : 0;
  }

 private:
  struct Rate {
    double median = 0;
    double median_cpu = 0;
    double sum = 0;
    double sum_cpu = 0;
    int count = 0;
  };
  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
  std::map<std::string, Rate> rates_;
};

void print_ratios(std::FILE* out, const CapturingReporter& r) {
  // Google Benchmark's own column prints bytes_per_second with 1024-based prefixes.
  std::fprintf(out, "\nRead speed relative to memcpy of the same DATA segment "
                    "(bytes/s ratio, GB = 1e9 bytes; target from the project issue)\n");
  std::fprintf(out, "%-14s %11s %11s %7s %11s %7s %9s %7s  %s\n", "layout", "memcpy GB/s",
               "read_file", "ratio", "read_bytes", "ratio", "cpu ratio", "target", "result");
  bool any = false;
  for (const Layout& l : kLayouts) {
    const double m = r.rate(memcpy_name(l));
    const double f = r.rate(read_file_name(l));
    const double b = r.rate(read_bytes_name(l));
    if (m <= 0 || (f <= 0 && b <= 0)) continue;
    any = true;
    const double rf = f / m;
    const double rb = b / m;
    // Same ratio for read_file from CPU times: less disturbed by other processes on a busy
    // machine (shown for context; the verdict stays on wall-clock time).
    const double cf = r.cpu_time(read_file_name(l));
    const double rc = cf > 0 ? r.cpu_time(memcpy_name(l)) / cf : 0;
    // The target is about decoding "from the page cache": read_file decides.
    const char* verdict = f <= 0 ? "n/a" : (rf >= l.target ? "PASS" : "FAIL");
    std::fprintf(out, "%-14s %11.2f %11.2f %7.3f %11.2f %7.3f %9.3f %7.2f  %s\n", l.name,
                 m / 1e9, f / 1e9, rf, b / 1e9, rb, rc, l.target, verdict);
  }
  if (!any) std::fprintf(out, "(no complete memcpy/read pair ran)\n");
}

}  // namespace

int main(int argc, char** argv) {
#ifdef __GLIBC__
  // glibc raises its mmap threshold to the size of the last freed mmapped block (up to 32 MiB),
  // so from the second iteration on the reader's 20-40 MB columns would come from already
  // faulted heap pages while memcpy's 240 MB buffer is always fresh. A fixed threshold keeps
  // every large allocation a fresh mapping, as in a process that reads one file.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
  // The display format is chosen here (not by the library) so the ratios can be captured.
  std::string format = "console";
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.starts_with("--benchmark_format=")) format = std::string(a.substr(19));
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_benchmarks();

  std::unique_ptr<benchmark::BenchmarkReporter> inner;
  if (format == "json") {
    inner = std::make_unique<benchmark::JSONReporter>();
  } else if (format != "console") {
    // CSVReporter is deprecated in Google Benchmark; --benchmark_out_format=csv still works.
    std::cerr << "fcs_bench_read: --benchmark_format must be console or json\n";
    return 1;
  } else {
    inner = std::make_unique<benchmark::ConsoleReporter>(
        isatty(STDOUT_FILENO) != 0 ? benchmark::ConsoleReporter::OO_Defaults
                                   : benchmark::ConsoleReporter::OO_Tabular);
  }
  CapturingReporter reporter(std::move(inner));
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::fflush(stdout);
  std::cout.flush();
  // Machine-readable formats own stdout; the human summary then goes to stderr.
  print_ratios(format == "console" ? stdout : stderr, reporter);
  benchmark::Shutdown();
  return 0;
}
