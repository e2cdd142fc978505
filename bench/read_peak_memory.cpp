// SPDX-License-Identifier: Apache-2.0
/// @file read_peak_memory.cpp
/// Peak resident memory of reading one FCS file, relative to its DATA segment size.
///
/// Usage: fcs_read_peak_memory FILE
///
/// Reads FILE with fcs::read_file (default options, all data sets and events) in this fresh
/// process and prints, one "key: value" per line:
///   baseline_rss_bytes    resident set before reading (code, libraries, stack)
///   maxrss_before_bytes   getrusage ru_maxrss before reading
///   maxrss_after_bytes    getrusage ru_maxrss after reading (the process's high-water mark)
///   peak_bytes            maxrss_after - baseline_rss: what reading added at its worst moment
///   data_segment_bytes    DATA segment size(s) of the file
///   event_bytes           bytes held by the decoded columns (EventMatrix::byte_size)
///   peak_over_data        peak_bytes / data_segment_bytes (project target: <= 1.2 for float32)
///   peak_over_events      peak_bytes / event_bytes (overhead beyond the result itself)
/// ru_maxrss counts file pages mapped into the process, so a reader that keeps the whole
/// mapping resident while filling its columns shows up here as about 2x.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

#include "fcs/dataset.hpp"
#include "fcs/error.hpp"
#include "fcs/reader.hpp"

namespace {

/// Current resident set from /proc/self/statm (second field, in pages); 0 when unavailable.
std::uint64_t current_rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size_pages = 0;
  std::uint64_t resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  return resident_pages * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

/// High-water mark of the resident set (Linux reports ru_maxrss in KiB).
std::uint64_t max_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
}

double ratio(std::uint64_t a, std::uint64_t b) {
  return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || argv[1][0] == '-') {
    std::fprintf(stderr, "usage: fcs_read_peak_memory FILE\n");
    return 2;
  }
  const std::string path = argv[1];
  const std::uint64_t baseline = current_rss_bytes();
  const std::uint64_t max_before = max_rss_bytes();

  std::uint64_t data_bytes = 0;
  std::uint64_t event_bytes = 0;
  std::uint64_t events = 0;
  std::size_t datasets = 0;
  double seconds = 0;
  std::uint64_t max_after = 0;
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const fcs::File file = fcs::read_file(path);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Sampled while the result is still alive: the columns are part of the cost of reading.
    max_after = max_rss_bytes();
    datasets = file.datasets.size();
    for (const fcs::Dataset& ds : file.datasets) {
      data_bytes += ds.data.size();
      event_bytes += ds.events.byte_size();
      events += ds.event_count;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fcs_read_peak_memory: %s\n", e.what());
    return 1;
  }
  const std::uint64_t peak = max_after > baseline ? max_after - baseline : 0;

  std::printf("file: %s\n", path.c_str());
  std::printf("datasets: %zu\n", datasets);
  std::printf("events: %llu\n", static_cast<unsigned long long>(events));
  std::printf("read_seconds: %.3f\n", seconds);
  std::printf("baseline_rss_bytes: %llu\n", static_cast<unsigned long long>(baseline));
  std::printf("maxrss_before_bytes: %llu\n", static_cast<unsigned long long>(max_before));
  std::printf("maxrss_after_bytes: %llu\n", static_cast<unsigned long long>(max_after));
  std::printf("peak_bytes: %llu\n", static_cast<unsigned long long>(peak));
  std::printf("data_segment_bytes: %llu\n", static_cast<unsigned long long>(data_bytes));
  std::printf("event_bytes: %llu\n", static_cast<unsigned long long>(event_bytes));
  std::printf("peak_over_data: %.3f\n", ratio(peak, data_bytes));
  std::printf("peak_over_events: %.3f\n", ratio(peak, event_bytes));
  return 0;
}
