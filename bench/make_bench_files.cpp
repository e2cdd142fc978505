// SPDX-License-Identifier: Apache-2.0
/// @file make_bench_files.cpp
/// Writes the input files of the read benchmarks (docs/benchmarks.md):
///
///   float32_be.fcs    FCS 3.1, 5,000,000 events x 12 float32, big-endian (fcs::write_file)
///   int16_log_be.fcs  FCS 3.0, 16-bit integers, big-endian, $PnE 4,1 on the 8 fluorescence
///                     channels ($PnR 1024), linear scatter ($PnR 1024) and time ($PnR 65536)
///   int32_be.fcs      FCS 3.0, 32-bit integers, big-endian, all linear ($PnR 262144)
///
/// Usage: fcs_make_bench_files [--force] [--events N] [DIR]
///
/// DIR defaults to $FLOWMRD_BENCH_DIR, else <build>/bench-data. Existing files are kept (they are
/// written under a temporary name and renamed, so an existing file is always complete) unless
/// --force is given. --events is for small profiling inputs (use another DIR for them: the
/// benchmark expects 5,000,000 events).
///
/// The values come from a fixed-seed std::mt19937_64 with our own uniform and normal transforms
/// (std::normal_distribution is implementation-defined), so every standard library draws the same
/// events (up to last-bit differences of the math library).
/// The writer only writes float32, hence the small self-contained FCS 3.0 integer writer below.

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <numbers>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "fcs/dataset.hpp"
#include "fcs/writer.hpp"

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kDefaultEvents = 5'000'000;
constexpr std::size_t kChannels = 12;
constexpr std::size_t kFluorescence = 8;  // channels 3..10
constexpr std::uint64_t kSeed = 0x666c6f776d7264;  // "flowmrd"
constexpr double kLinearRange = 262144;

// Deterministic random numbers: only the engine's output sequence is specified by the standard.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  /// Uniform in [0, 1) from the top 53 bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Standard normal (Box-Muller; the second value of each pair is kept for the next call).
  double normal() {
    if (spare_) {
      const double v = *spare_;
      spare_.reset();
      return v;
    }
    const double u1 = 1.0 - uniform();  // (0, 1]: log() stays finite
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * std::numbers::pi * u2);
    return r * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  std::mt19937_64 engine_;
  std::optional<double> spare_;
};

struct ChannelSpec {
  const char* name;
  const char* marker;  // nullptr: no $PnS
};

// A 12-colour-ish B-ALL MRD tube: scatter, eight markers, time.
constexpr std::array<ChannelSpec, kChannels> kChannelSpecs{{
    {"FSC-A", nullptr},
    {"FSC-H", nullptr},
    {"SSC-A", nullptr},
    {"FITC-A", "CD58"},
    {"PE-A", "CD10"},
    {"PerCP-Cy5.5-A", "CD34"},
    {"PE-Cy7-A", "CD19"},
    {"APC-A", "CD38"},
    {"APC-H7-A", "CD20"},
    {"BV421-A", "CD81"},
    {"BV510-A", "CD45"},
    {"Time", nullptr},
}};

// One population: share of events, scatter (mean, sd) and, per marker, the fraction of positive
// cells and the log10 mean intensity of the positive ones. Negative cells spread around zero as
// compensated data does, so float files get the negative values real files have.
struct Population {
  double share;
  double fsc_mean, fsc_sd, ssc_mean, ssc_sd;
  std::array<double, kFluorescence> positive_fraction;
  std::array<double, kFluorescence> log_mean;
};

//                                         CD58 CD10 CD34 CD19 CD38 CD20 CD81 CD45
constexpr std::array<Population, 5> kPopulations{{
    {0.45, 55000, 6000, 12000, 3000,  // lymphocytes (B, T, NK mixed)
     {0.3, 0.0, 0.0, 0.15, 0.5, 0.12, 0.6, 1.0}, {2.8, 2.5, 2.5, 3.3, 3.0, 3.4, 3.0, 4.0}},
    {0.30, 100000, 12000, 90000, 18000,  // granulocytes
     {0.8, 0.9, 0.0, 0.0, 0.1, 0.0, 0.2, 1.0}, {2.9, 3.0, 2.5, 2.5, 2.6, 2.5, 2.6, 3.3}},
    {0.10, 90000, 9000, 35000, 7000,  // monocytes
     {0.9, 0.0, 0.0, 0.0, 0.9, 0.0, 0.5, 1.0}, {3.1, 2.5, 2.5, 2.5, 3.2, 2.5, 2.8, 3.7}},
    {0.05, 65000, 7000, 15000, 4000,  // B-cell precursors / blasts
     {1.0, 0.9, 0.6, 1.0, 0.9, 0.3, 1.0, 0.7}, {3.5, 3.4, 3.2, 3.6, 3.4, 2.9, 3.6, 2.8}},
    {0.10, 12000, 6000, 8000, 5000,  // debris
     {0.05, 0.05, 0.0, 0.05, 0.05, 0.05, 0.05, 0.2}, {2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5}},
}};

/// One event in the two forms the files need.
struct Event {
  std::array<double, kChannels> linear{};    ///< Intensities on the 0..262144 scale (time: 0..60000).
  std::array<double, kFluorescence> log10{}; ///< Fluorescence as log10 of the intensity.
};

class CellModel {
 public:
  explicit CellModel(std::size_t events) : events_(events), rng_(kSeed) {}

  Event next(std::size_t index) {
    Event e;
    const Population& p = pick();
    const double fsc = std::clamp(p.fsc_mean + p.fsc_sd * rng_.normal(), 0.0, kLinearRange - 1);
    e.linear[0] = fsc;
    e.linear[1] = std::clamp(0.85 * fsc + 2000.0 * rng_.normal(), 0.0, kLinearRange - 1);
    e.linear[2] = std::clamp(p.ssc_mean + p.ssc_sd * rng_.normal(), 0.0, kLinearRange - 1);
    for (std::size_t m = 0; m < kFluorescence; ++m) {
      const double z = rng_.normal();
      if (rng_.uniform() < p.positive_fraction[m]) {
        const double l = std::min(p.log_mean[m] + 0.25 * z, 5.3);
        e.log10[m] = l;
        e.linear[3 + m] = std::pow(10.0, l);
      } else {
        // Negative cells: around 0 after compensation (linear), dim autofluorescence (log amp).
        e.linear[3 + m] = 150.0 * z;
        e.log10[m] = 0.6 + 0.3 * z;
      }
    }
    e.linear[11] = static_cast<double>(index) * 60000.0 / static_cast<double>(events_);
    return e;
  }

 private:
  const Population& pick() {
    double u = rng_.uniform();
    for (const Population& p : kPopulations) {
      if (u < p.share) return p;
      u -= p.share;
    }
    return kPopulations.back();
  }

  std::size_t events_;
  Rng rng_;
};

std::uint32_t clamp_round(double v, double max) {
  return static_cast<std::uint32_t>(std::lround(std::clamp(v, 0.0, max)));
}

// ---------------------------------------------------------------------------------------------
// (a) float32 through the library's writer.

void write_float32(const fs::path& path, std::size_t events) {
  std::vector<std::vector<float>> columns(kChannels, std::vector<float>(events));
  CellModel model(events);
  for (std::size_t i = 0; i < events; ++i) {
    const Event e = model.next(i);
    for (std::size_t c = 0; c < kChannels; ++c) {
      columns[c][i] = static_cast<float>(e.linear[c]);
    }
  }
  fcs::WriteRequest request;
  for (const ChannelSpec& spec : kChannelSpecs) {
    fcs::WriteChannel ch;
    ch.name = spec.name;
    if (spec.marker != nullptr) ch.marker = spec.marker;
    ch.range = kLinearRange;
    request.channels.push_back(std::move(ch));
  }
  for (const auto& column : columns) request.columns.emplace_back(column);
  request.keywords = {{"$CYT", "flowmrd benchmark generator"},
                      {"FLOWMRD_BENCH", "float32_be v1"}};
  request.byte_order = fcs::ByteOrder::big;
  fcs::write_file(path, request);
}

// ---------------------------------------------------------------------------------------------
// (b), (c) integer files: a minimal FCS 3.0 writer (HEADER, TEXT, DATA, zero CRC).

struct IntChannel {
  std::string name;
  std::optional<std::string> marker;
  std::uint32_t range;  // $PnR
  double decades;       // $PnE f1 (0: linear)
  double offset;        // $PnE f2
};

using EventFiller = std::function<void(std::size_t index, std::span<std::uint32_t> out)>;

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// TEXT for the given DATA offsets. Offsets are absolute; $ENDDATA is the last byte.
std::string make_text(const std::vector<IntChannel>& channels, int bits, std::size_t events,
                      std::uint64_t begin_data, std::uint64_t end_data, std::string_view tag) {
  std::vector<std::pair<std::string, std::string>> kw = {
      {"$BEGINANALYSIS", "0"},
      {"$ENDANALYSIS", "0"},
      {"$BEGINSTEXT", "0"},
      {"$ENDSTEXT", "0"},
      {"$BEGINDATA", std::to_string(begin_data)},
      {"$ENDDATA", std::to_string(end_data)},
      {"$BYTEORD", "4,3,2,1"},
      {"$DATATYPE", "I"},
      {"$MODE", "L"},
      {"$NEXTDATA", "0"},
      {"$PAR", std::to_string(channels.size())},
      {"$TOT", std::to_string(events)},
      {"$CYT", "flowmrd benchmark generator"},
      {"$DATE", "20-NOV-2025"},
      {"FLOWMRD_BENCH", std::string(tag) + " v1"},
  };
  for (std::size_t i = 0; i < channels.size(); ++i) {
    const IntChannel& c = channels[i];
    const std::string p = "$P" + std::to_string(i + 1);
    kw.emplace_back(p + "N", c.name);
    if (c.marker) kw.emplace_back(p + "S", *c.marker);
    kw.emplace_back(p + "B", std::to_string(bits));
    kw.emplace_back(p + "E", format_number(c.decades) + "," + format_number(c.offset));
    kw.emplace_back(p + "R", std::to_string(c.range));
  }
  std::string text = "/";
  for (const auto& [k, v] : kw) {
    // No value contains the delimiter, so nothing needs escaping.
    text += k + "/" + v + "/";
  }
  return text;
}

/// An 8-character right-aligned HEADER offset field (0 when it does not fit, as FCS 3.0 asks).
std::string header_field(std::uint64_t v) {
  if (v > 99'999'999) v = 0;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%8llu", static_cast<unsigned long long>(v));
  return buf;
}

void write_integer(const fs::path& path, const std::vector<IntChannel>& channels, int bits,
                   std::size_t events, std::string_view tag, const EventFiller& fill) {
  const std::size_t width = static_cast<std::size_t>(bits) / 8;
  const std::uint64_t data_size = std::uint64_t{events} * channels.size() * width;
  constexpr std::uint64_t text_begin = 58;  // right after the HEADER

  // The TEXT holds its own end offset's consequence ($BEGINDATA), so iterate to a fixed point.
  std::string text;
  std::uint64_t begin_data = 0;
  for (int round = 0; round < 8; ++round) {
    text = make_text(channels, bits, events, begin_data, begin_data + data_size - 1, tag);
    const std::uint64_t next = text_begin + text.size();
    if (next == begin_data) break;
    begin_data = next;
  }
  if (text_begin + text.size() != begin_data) throw std::runtime_error("TEXT size did not settle");
  const std::uint64_t end_data = begin_data + data_size - 1;
  const bool data_fits = end_data <= 99'999'999;

  std::string header = "FCS3.0    ";
  header += header_field(text_begin);
  header += header_field(begin_data - 1);
  header += header_field(data_fits ? begin_data : 0);
  header += header_field(data_fits ? end_data : 0);
  header += header_field(0);
  header += header_field(0);
  if (header.size() != text_begin) throw std::logic_error("HEADER is not 58 bytes");

  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot create " + tmp.string());
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));

    constexpr std::size_t kChunkEvents = 1 << 16;
    std::vector<unsigned char> buf(kChunkEvents * channels.size() * width);
    std::vector<std::uint32_t> values(channels.size());
    for (std::size_t first = 0; first < events; first += kChunkEvents) {
      const std::size_t n = std::min(kChunkEvents, events - first);
      unsigned char* p = buf.data();
      for (std::size_t i = first; i < first + n; ++i) {
        fill(i, values);
        for (const std::uint32_t v : values) {
          // Big-endian ($BYTEORD 4,3,2,1): most significant byte first.
          for (std::size_t b = width; b-- > 0;) *p++ = static_cast<unsigned char>(v >> (8 * b));
        }
      }
      out.write(reinterpret_cast<const char*>(buf.data()),
                static_cast<std::streamsize>(static_cast<std::size_t>(p - buf.data())));
    }
    out.write("00000000", 8);  // CRC field: zeros mean "not computed" (FCS 3.0 §3.4)
    out.close();
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, path);
}

void write_int16_log(const fs::path& path, std::size_t events) {
  std::vector<IntChannel> channels;
  for (std::size_t c = 0; c < kChannels; ++c) {
    const ChannelSpec& s = kChannelSpecs[c];
    IntChannel ch{s.name, std::nullopt, 1024, 0, 0};
    if (s.marker != nullptr) ch.marker = s.marker;
    if (c >= 3 && c < 3 + kFluorescence) {
      ch.decades = 4;  // log amplifier over 4 decades: value = 10^(4 x / 1024)
      ch.offset = 1;
    }
    if (c == kChannels - 1) ch.range = 65536;
    channels.push_back(std::move(ch));
  }
  CellModel model(events);
  const double last = static_cast<double>(std::max<std::size_t>(events, 2) - 1);
  write_integer(path, channels, 16, events, "int16_log_be",
                [&](std::size_t i, std::span<std::uint32_t> out) {
                  const Event e = model.next(i);
                  for (std::size_t c = 0; c < 3; ++c) out[c] = clamp_round(e.linear[c] / 256.0, 1023);
                  for (std::size_t m = 0; m < kFluorescence; ++m) {
                    out[3 + m] = clamp_round(256.0 * e.log10[m], 1023);  // 1024 / 4 decades
                  }
                  out[11] = clamp_round(static_cast<double>(i) * 65535.0 / last, 65535);
                });
}

void write_int32(const fs::path& path, std::size_t events) {
  std::vector<IntChannel> channels;
  for (const ChannelSpec& s : kChannelSpecs) {
    IntChannel ch{s.name, std::nullopt, static_cast<std::uint32_t>(kLinearRange), 0, 0};
    if (s.marker != nullptr) ch.marker = s.marker;
    channels.push_back(std::move(ch));
  }
  CellModel model(events);
  write_integer(path, channels, 32, events, "int32_be",
                [&](std::size_t i, std::span<std::uint32_t> out) {
                  const Event e = model.next(i);
                  for (std::size_t c = 0; c < kChannels; ++c) {
                    out[c] = clamp_round(e.linear[c], kLinearRange - 1);
                  }
                });
}

// ---------------------------------------------------------------------------------------------

int usage(std::ostream& os, int rc) {
  os << "usage: fcs_make_bench_files [--force] [--events N] [DIR]\n"
        "  DIR defaults to $FLOWMRD_BENCH_DIR, else " FLOWMRD_BENCH_DEFAULT_DIR "\n";
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  bool force = false;
  std::size_t events = kDefaultEvents;
  std::optional<fs::path> dir;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--force") {
      force = true;
    } else if (a == "--events" && i + 1 < argc) {
      const std::string_view v = argv[++i];
      std::size_t n = 0;
      for (const char ch : v) {
        if (ch < '0' || ch > '9') return usage(std::cerr, 2);
        n = n * 10 + static_cast<std::size_t>(ch - '0');
      }
      if (n == 0) return usage(std::cerr, 2);
      events = n;
    } else if (a == "-h" || a == "--help") {
      return usage(std::cout, 0);
    } else if (!a.empty() && a[0] != '-' && !dir) {
      dir = fs::path(a);
    } else {
      return usage(std::cerr, 2);
    }
  }
  if (!dir) {
    const char* env = std::getenv("FLOWMRD_BENCH_DIR");
    dir = fs::path(env != nullptr && *env != '\0' ? env : FLOWMRD_BENCH_DEFAULT_DIR);
  }

  struct Job {
    const char* file;
    void (*write)(const fs::path&, std::size_t);
  };
  const std::array<Job, 3> jobs{{
      {"float32_be.fcs", write_float32},
      {"int16_log_be.fcs", write_int16_log},
      {"int32_be.fcs", write_int32},
  }};
  try {
    fs::create_directories(*dir);
    for (const Job& job : jobs) {
      const fs::path path = *dir / job.file;
      if (!force && fs::exists(path)) {
        std::cout << "kept      " << path.string() << " (" << fs::file_size(path)
                  << " bytes; --force rewrites it)\n";
        continue;
      }
      const auto t0 = std::chrono::steady_clock::now();
      job.write(path, events);
      const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
      std::cout << "generated " << path.string() << " (" << fs::file_size(path) << " bytes, "
                << events << " events, " << dt.count() << " s)\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "fcs_make_bench_files: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
