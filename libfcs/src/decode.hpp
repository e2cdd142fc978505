// SPDX-License-Identifier: Apache-2.0
// Internal: turning DATA bytes into columns. The layout and every per-channel conversion are
// resolved once into a plan; the hot loops never look at keywords.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "context.hpp"
#include "fcs/dataset.hpp"

namespace fcs::detail {

/// How one channel is read from an event and written to its column.
struct ColumnPlan {
  enum class Source { uint, f32, f64 };
  enum class Sink {
    same,     ///< value as stored (masked for integers), optionally clipped
    table,    ///< integer -> table[x] (log decoding of narrow integers, clipping folded in)
    log_exp,  ///< integer -> f2 * 10^(f1 * x / R), then clipped
    scale,    ///< value / gain ($PnG scaling), then clipped
  };
  Source source = Source::f32;
  int bytes = 4;               ///< stored width
  std::size_t offset = 0;      ///< byte offset inside the event
  std::uint64_t mask = ~std::uint64_t{0};
  Sink sink = Sink::same;
  ColumnType out = ColumnType::f32;
  bool clip = false;           ///< clip values above clip_max
  double clip_max = 0;
  double f1 = 0, f2 = 1, range = 1, gain = 1;
  std::vector<double> table;   ///< for Sink::table, indexed by masked value
};

/// The whole binary layout of a data set.
struct DecodePlan {
  std::vector<ColumnPlan> columns;
  std::size_t stride = 0;      ///< bytes per event
  bool big_endian = false;
};

/// Build the plan for the channels (after assign_value_ranges) and options.
[[nodiscard]] DecodePlan make_plan(const std::vector<Channel>& channels, ByteOrder order,
                                   const ReadOptions& options, bool already_transformed);

/// Called after each chunk of DATA is decoded: (offset within data, length) may be released.
using ReleaseFn = std::function<void(std::size_t, std::size_t)>;

/// Decode `events` events of binary DATA into a new matrix. `seen_bits` receives, per column, the
/// OR of every stored integer (before masking), so callers can tell whether masking changed values;
/// `peak` the largest value before clipping of each clipped column (NaN-free), to report truncation;
/// `low` each column's smallest decoded value (NaN ignored, +inf when none).
[[nodiscard]] EventMatrix decode_binary(std::span<const std::byte> data, std::size_t events,
                                        const DecodePlan& plan, const ReleaseFn& release,
                                        std::vector<std::uint64_t>& seen_bits, std::vector<double>& peak,
                                        std::vector<double>& low);

/// Decode $DATATYPE A DATA: fixed-width fields ($PnB characters each) or, when $PnB is '*',
/// numbers separated by blanks, commas or line breaks. Values are converted like integers.
[[nodiscard]] EventMatrix decode_ascii(std::span<const std::byte> data, std::size_t events,
                                       const std::vector<Channel>& channels, const DecodePlan& plan,
                                       std::uint64_t at, Context& ctx);

}  // namespace fcs::detail
