// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the FCS reader. The reader promises that any bytes give either a File or
// an fcs::Error: every other exception, crash, sanitizer report, hang or huge allocation is a bug.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "fcs/fcs.hpp"

namespace {

// Touch everything a successful read returns, so that an inconsistent result (a matrix smaller
// than its event count, a spillover index out of range) shows up under the sanitizers.
void consume(const fcs::File& file) {
  volatile double sink = 0;
  for (const fcs::Dataset& ds : file.datasets) {
    const fcs::EventMatrix& m = ds.events;
    for (std::size_t c = 0; c < m.cols(); ++c) {
      if (m.type(c) == fcs::ColumnType::f32) {
        for (const float v : m.f32(c)) sink = sink + v;
      } else {
        for (const double v : m.f64(c)) sink = sink + v;
      }
    }
    for (const fcs::Spillover& sp : ds.spillovers) {
      for (std::size_t r = 0; r < sp.size(); ++r) {
        for (std::size_t c = 0; c < sp.size(); ++c) sink = sink + sp.at(r, c);
      }
      for (const int index : sp.channel_indices) {
        if (index >= 1 && static_cast<std::size_t>(index) <= ds.channels.size()) {
          sink = sink + ds.channels[static_cast<std::size_t>(index) - 1].range;
        }
      }
    }
    for (const fcs::Issue& issue : ds.issues) sink = sink + static_cast<double>(issue.to_string().size());
    for (const fcs::Keyword& kw : ds.keywords) sink = sink + static_cast<double>(kw.value.size());
  }
  for (const fcs::Issue& issue : file.issues) sink = sink + static_cast<double>(issue.to_string().size());
}

void read_with(std::span<const std::byte> bytes, const fcs::ReadOptions& options) {
  try {
    consume(fcs::read_bytes(bytes, options, "<fuzz>"));
  } catch (const fcs::Error& e) {
    // Expected for malformed input; building the message must not fail either.
    volatile std::size_t n = std::string(e.what()).size() + e.issue().to_string().size();
    (void)n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  read_with(bytes, fcs::ReadOptions{});
  fcs::ReadOptions strict;
  strict.strict = true;
  read_with(bytes, strict);
  return 0;
}
