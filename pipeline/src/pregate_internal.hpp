// SPDX-License-Identifier: Apache-2.0
/// @file pregate_internal.hpp
/// Private helpers of pregate(): the model scale on floats, deterministic parallel loops over
/// events (chunks aligned to Mask words, so no two threads ever write one word) and the
/// acquisition QC over Time (pregate_qc.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "flowmrd/gating/frame.hpp"
#include "flowmrd/gating/mask.hpp"
#include "flowmrd/pipeline/model_scale.hpp"
#include "flowmrd/pipeline/pregate.hpp"

namespace flowmrd::pipeline::detail {

/// Events per parallel chunk: a multiple of 64 so chunks cover whole Mask words.
inline constexpr std::size_t kChunk = 64 * 1024;

/// Run body(first, last) over [0, n) in fixed chunks of kChunk events on `threads` threads
/// (0 = all cores). The chunking does not depend on the thread count, so any per-chunk result
/// combined in chunk order is identical for every thread count.
template <class Body>
void for_chunks(std::size_t n, unsigned threads, Body&& body) {
  const std::size_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks <= 1 || threads == 1) {
    for (std::size_t c = 0; c < chunks; ++c) body(c * kChunk, std::min(n, (c + 1) * kChunk));
    return;
  }
  tbb::task_arena arena(threads == 0 ? tbb::task_arena::automatic : static_cast<int>(threads));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, chunks, 1), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t c = r.begin(); c != r.end(); ++c) body(c * kChunk, std::min(n, (c + 1) * kChunk));
    });
  });
}

/// A Mask of n events whose bit i is keep(i), built in parallel (whole words per chunk).
template <class Pred>
[[nodiscard]] gating::Mask build_mask(std::size_t n, unsigned threads, Pred&& keep) {
  gating::Mask m(n);
  auto& words = m.words();
  for_chunks(n, threads, [&](std::size_t first, std::size_t last) {
    for (std::size_t i = first; i < last; ++i) {
      if (keep(i)) words[i >> 6] |= std::uint64_t{1} << (i & 63);
    }
  });
  return m;
}

/// Outcome of the acquisition QC over Time.
struct TimeQc {
  gating::Mask keep;                   ///< events not in a signal-shift interval
  std::vector<TimeAnomaly> anomalies;  ///< in time order, flow-rate and signal-shift
  std::vector<std::string> notes;
  std::vector<PlacedGate> gates;       ///< the Time gate(s) of qc_pass
};

/// Flow-rate and signal-stability QC over the Time column (channels.time >= 0).
[[nodiscard]] TimeQc time_qc(const gating::Frame& frame, const PregateChannels& channels, unsigned threads);

/// "12.3%" style share with one decimal.
[[nodiscard]] std::string percent(std::size_t part, std::size_t whole);
/// A number with `digits` significant digits ("%.{digits}g").
[[nodiscard]] std::string num(double v, int digits = 4);

}  // namespace flowmrd::pipeline::detail
