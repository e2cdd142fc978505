// SPDX-License-Identifier: Apache-2.0
#include "decode.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "value_rules.hpp"

namespace fcs::detail {

namespace {

constexpr bool host_big = std::endian::native == std::endian::big;

inline std::uint16_t bswap(std::uint16_t v) { return __builtin_bswap16(v); }
inline std::uint32_t bswap(std::uint32_t v) { return __builtin_bswap32(v); }
inline std::uint64_t bswap(std::uint64_t v) { return __builtin_bswap64(v); }

// Unsigned integer of W bytes in the given byte order.
template <int W, bool BE>
inline std::uint64_t load_uint(const unsigned char* p) {
  if constexpr (W == 1) {
    return p[0];
  } else if constexpr (W == 2 || W == 4 || W == 8) {
    using U = std::conditional_t<W == 2, std::uint16_t, std::conditional_t<W == 4, std::uint32_t, std::uint64_t>>;
    U v;
    std::memcpy(&v, p, W);
    if constexpr (BE != host_big) v = bswap(v);
    return v;
  } else {
    std::uint64_t v = 0;
    for (int k = 0; k < W; ++k) {
      if constexpr (BE)
        v = (v << 8) | p[k];
      else
        v |= static_cast<std::uint64_t>(p[k]) << (8 * k);
    }
    return v;
  }
}

template <bool BE>
inline float load_f32(const unsigned char* p) {
  std::uint32_t u;
  std::memcpy(&u, p, 4);
  if constexpr (BE != host_big) u = bswap(u);
  return std::bit_cast<float>(u);
}

template <bool BE>
inline double load_f64(const unsigned char* p) {
  std::uint64_t u;
  std::memcpy(&u, p, 8);
  if constexpr (BE != host_big) u = bswap(u);
  return std::bit_cast<double>(u);
}

template <class T>
inline T clip_to(T v, T max) {
  // Written so that NaN passes through unchanged.
  return v > max ? max : v;
}

// Decode one column over a block of events. `load(p)` returns the stored number.
// Integer sources also OR every stored value into `seen`, so the caller can tell whether the
// mask removed any bits (a repair worth reporting). That is a separate pass over the block,
// which is still in cache; folded into the decoding loops it measured slower (they then mix
// integer and floating-point work per value).
template <class Load>
void decode_block(const unsigned char* base, std::size_t stride, std::size_t first, std::size_t n,
                  const ColumnPlan& c, float* out_f, double* out_d, std::uint64_t& seen, double& peak, Load load) {
  const unsigned char* p = base + c.offset;
  using V = decltype(load(p));
  constexpr bool is_int = std::is_same_v<V, std::uint64_t>;
  if constexpr (is_int) {
    std::uint64_t acc = 0;
    for (std::size_t i = 0; i < n; ++i) acc |= load(p + i * stride);
    seen |= acc;
  }
  if (c.clip && c.sink != ColumnPlan::Sink::same) {
    // The largest value before clipping, to report truncation (NaN compares false and is skipped).
    double m = peak;
    for (std::size_t i = 0; i < n; ++i) {
      double v;
      if constexpr (is_int) v = static_cast<double>(load(p + i * stride) & c.mask);
      else v = static_cast<double>(load(p + i * stride));
      m = v > m ? v : m;
    }
    peak = m;
  }
  switch (c.sink) {
    case ColumnPlan::Sink::same:
      // Clipping loops also track the largest value before clipping (fused: one pass over DATA).
      if (c.out == ColumnType::f32) {
        float* o = out_f + first;
        const auto mx = static_cast<float>(c.clip_max);
        if (c.clip) {
          float m = static_cast<float>(peak);
          for (std::size_t i = 0; i < n; ++i) {
            float v;
            if constexpr (is_int) v = static_cast<float>(load(p + i * stride) & c.mask);
            else v = static_cast<float>(load(p + i * stride));
            m = v > m ? v : m;
            o[i] = clip_to(v, mx);
          }
          peak = m;
        } else {
          for (std::size_t i = 0; i < n; ++i) {
            if constexpr (is_int) o[i] = static_cast<float>(load(p + i * stride) & c.mask);
            else o[i] = static_cast<float>(load(p + i * stride));
          }
        }
      } else {
        double* o = out_d + first;
        double m = peak;
        for (std::size_t i = 0; i < n; ++i) {
          double v;
          if constexpr (is_int) v = static_cast<double>(load(p + i * stride) & c.mask);
          else v = static_cast<double>(load(p + i * stride));
          if (c.clip) {
            m = v > m ? v : m;
            v = clip_to(v, c.clip_max);
          }
          o[i] = v;
        }
        peak = m;
      }
      break;
    case ColumnPlan::Sink::table:
      if constexpr (is_int) {
        double* o = out_d + first;
        const double* t = c.table.data();
        for (std::size_t i = 0; i < n; ++i) o[i] = t[load(p + i * stride) & c.mask];
      }
      break;
    case ColumnPlan::Sink::log_exp:
      if constexpr (is_int) {
        double* o = out_d + first;
        for (std::size_t i = 0; i < n; ++i) {
          double x = static_cast<double>(load(p + i * stride) & c.mask);
          if (c.clip) x = clip_to(x, c.clip_max);
          o[i] = c.f2 * std::pow(10.0, x / c.range * c.f1);
        }
      }
      break;
    case ColumnPlan::Sink::scale: {
      double* o = out_d + first;
      for (std::size_t i = 0; i < n; ++i) {
        double x;
        if constexpr (is_int) x = static_cast<double>(load(p + i * stride) & c.mask);
        else x = static_cast<double>(load(p + i * stride));
        if (c.clip) x = clip_to(x, c.clip_max);
        o[i] = x / c.gain;
      }
      break;
    }
  }
}

// Each load is passed as a lambda, a type of its own, so that every (width, byte order) gets its
// own decode_block with the load inlined; a function pointer would share one instantiation and
// leave inlining to the optimiser's mood.
template <bool BE>
void decode_column_block(const unsigned char* base, std::size_t stride, std::size_t first, std::size_t n,
                         const ColumnPlan& c, float* f, double* d, std::uint64_t& seen, double& peak) {
  switch (c.source) {
    case ColumnPlan::Source::f32:
      decode_block(base, stride, first, n, c, f, d, seen, peak, [](const unsigned char* p) { return load_f32<BE>(p); });
      return;
    case ColumnPlan::Source::f64:
      decode_block(base, stride, first, n, c, f, d, seen, peak, [](const unsigned char* p) { return load_f64<BE>(p); });
      return;
    case ColumnPlan::Source::uint:
      switch (c.bytes) {
        case 1: decode_block(base, stride, first, n, c, f, d, seen, peak, [](const unsigned char* p) { return load_uint<1, BE>(p); }); return;
        case 2: decode_block(base, stride, first, n, c, f, d, seen, peak, [](const unsigned char* p) { return load_uint<2, BE>(p); }); return;
        case 3: decode_block(base, stride, first, n, c, f, d, seen, peak, [](const unsigned char* p) { return load_uint<3, BE>(p); }); return;
        case 4: decode_block(base, stride, first, n, c, f, d, seen, peak, [](const unsigned char* p) { return load_uint<4, BE>(p); }); return;
        case 5: decode_block(base, stride, first, n, c, f, d, seen, peak, [](const unsigned char* p) { return load_uint<5, BE>(p); }); return;
        case 6: decode_block(base, stride, first, n, c, f, d, seen, peak, [](const unsigned char* p) { return load_uint<6, BE>(p); }); return;
        case 7: decode_block(base, stride, first, n, c, f, d, seen, peak, [](const unsigned char* p) { return load_uint<7, BE>(p); }); return;
        default: decode_block(base, stride, first, n, c, f, d, seen, peak, [](const unsigned char* p) { return load_uint<8, BE>(p); }); return;
      }
  }
}

// Smallest non-NaN value (written as a select so that it vectorises to min instructions, which
// skip NaN the same way); +inf for none.
template <class T>
T block_min(const T* v, std::size_t n) {
  T m = std::numeric_limits<T>::infinity();
  for (std::size_t i = 0; i < n; ++i) m = v[i] < m ? v[i] : m;
  return m;
}

// The value a stored integer becomes (used for tables and for ASCII data). As in flowCore the
// stored number is clipped at $PnR first, then decoded.
double convert_int(const ColumnPlan& c, std::uint64_t raw) {
  double x = static_cast<double>(raw & c.mask);
  if (c.clip) x = clip_to(x, c.clip_max);
  if (c.sink == ColumnPlan::Sink::table || c.sink == ColumnPlan::Sink::log_exp)
    return c.f2 * std::pow(10.0, x / c.range * c.f1);
  if (c.sink == ColumnPlan::Sink::scale) return x / c.gain;
  return x;
}

}  // namespace

DecodePlan make_plan(const std::vector<Channel>& channels, ByteOrder order, const ReadOptions& options,
                     bool already_transformed) {
  DecodePlan plan;
  plan.big_endian = order == ByteOrder::big;
  std::size_t offset = 0;
  const bool transform = values_transformed(options.transformation, already_transformed);
  for (const Channel& ch : channels) {
    ColumnPlan c;
    c.bytes = ch.storage_bits / 8;
    c.offset = offset;
    offset += static_cast<std::size_t>(c.bytes);
    // flowCore clips the stored number at $PnR (not $PnR - 1), before any decoding, and never
    // for files it wrote itself with transformation=applied/custom.
    c.clip = options.truncate_max_range && transform;
    c.clip_max = ch.range;
    c.range = ch.range;
    c.f1 = ch.log_decades;
    c.f2 = ch.log_offset == 0 ? 1.0 : ch.log_offset;
    c.gain = ch.gain;
    switch (ch.type) {
      case DataType::float32: c.source = ColumnPlan::Source::f32; break;
      case DataType::float64: c.source = ColumnPlan::Source::f64; break;
      case DataType::integer: c.source = ColumnPlan::Source::uint; c.mask = ch.mask; break;
      case DataType::ascii: c.source = ColumnPlan::Source::uint; break;
    }
    if (log_decoded(ch, options.transformation, already_transformed)) {
      c.out = ColumnType::f64;
      const std::uint64_t entries = ch.mask + 1;
      if (ch.type == DataType::integer && ch.mask < (std::uint64_t{1} << 20)) {
        c.sink = ColumnPlan::Sink::table;
        c.table.resize(entries);
        ColumnPlan probe = c;
        probe.sink = ColumnPlan::Sink::log_exp;
        for (std::uint64_t x = 0; x < entries; ++x) c.table[x] = convert_int(probe, x);
      } else {
        c.sink = ColumnPlan::Sink::log_exp;
      }
    } else if (gain_divided(ch, options.transformation, already_transformed)) {
      // Every channel not log-decoded is divided by $PnG, float channels with a $PnE included.
      c.sink = ColumnPlan::Sink::scale;
      c.out = ColumnType::f64;
    } else {
      c.sink = ColumnPlan::Sink::same;
      // float32 holds integers exactly up to 2^24.
      if (ch.type == DataType::float32) c.out = ColumnType::f32;
      else if (ch.type == DataType::integer && ch.mask < (std::uint64_t{1} << 24)) c.out = ColumnType::f32;
      else c.out = ColumnType::f64;
    }
    plan.columns.push_back(std::move(c));
  }
  plan.stride = offset;
  return plan;
}

EventMatrix decode_binary(std::span<const std::byte> data, std::size_t events, const DecodePlan& plan,
                          const ReleaseFn& release, std::vector<std::uint64_t>& seen_bits,
                          std::vector<double>& peak, std::vector<double>& low) {
  seen_bits.assign(plan.columns.size(), 0);
  low.assign(plan.columns.size(), std::numeric_limits<double>::infinity());
  peak.assign(plan.columns.size(), -std::numeric_limits<double>::infinity());
  std::vector<ColumnType> types;
  for (const auto& c : plan.columns) types.push_back(c.out);
  EventMatrix m(events, types);
  if (events == 0 || plan.columns.empty()) return m;

  std::vector<float*> fout(plan.columns.size(), nullptr);
  std::vector<double*> dout(plan.columns.size(), nullptr);
  for (std::size_t j = 0; j < plan.columns.size(); ++j) {
    if (types[j] == ColumnType::f32) fout[j] = m.f32(j).data();
    else dout[j] = m.f64(j).data();
  }
  const auto* base = reinterpret_cast<const unsigned char*>(data.data());
  // Blocks small enough that one block of events stays in L2 while each column is extracted;
  // chunks of several blocks are released from the mapping once decoded.
  const std::size_t block = std::max<std::size_t>(1, (std::size_t{128} << 10) / plan.stride);
  const std::size_t chunk_events = std::max<std::size_t>(block, (std::size_t{16} << 20) / plan.stride / block * block);
  std::size_t released = 0;
  for (std::size_t first = 0; first < events; first += block) {
    const std::size_t n = std::min(block, events - first);
    const unsigned char* b = base + first * plan.stride;
    for (std::size_t j = 0; j < plan.columns.size(); ++j) {
      // The column minimum (flowCore's minRange needs it) is taken while the block is in cache.
      const auto track_min = [&] {
        if (fout[j] != nullptr) low[j] = std::min(low[j], static_cast<double>(block_min(fout[j] + first, n)));
        else low[j] = std::min(low[j], block_min(dout[j] + first, n));
      };
      if (plan.big_endian)
        decode_column_block<true>(b, plan.stride, first, n, plan.columns[j], fout[j], dout[j], seen_bits[j], peak[j]);
      else
        decode_column_block<false>(b, plan.stride, first, n, plan.columns[j], fout[j], dout[j], seen_bits[j], peak[j]);
      track_min();
    }
    const std::size_t done = (first + n) * plan.stride;
    if (release && (done - released >= chunk_events * plan.stride || first + n == events)) {
      release(released, done - released);
      released = done;
    }
  }
  return m;
}

EventMatrix decode_ascii(std::span<const std::byte> data, std::size_t events,
                         const std::vector<Channel>& channels, const DecodePlan& plan, std::uint64_t at,
                         Context& ctx) {
  std::vector<ColumnType> types(channels.size(), ColumnType::f64);
  EventMatrix m(events, types);
  const std::string_view s(reinterpret_cast<const char*>(data.data()), data.size());
  const bool delimited = std::any_of(channels.begin(), channels.end(), [](const Channel& c) { return c.bits == 0; });
  std::size_t pos = 0;
  auto separator = [](char ch) { return ch == ' ' || ch == ',' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\0'; };
  for (std::size_t i = 0; i < events; ++i) {
    for (std::size_t j = 0; j < channels.size(); ++j) {
      std::string_view field;
      if (delimited) {
        while (pos < s.size() && separator(s[pos])) ++pos;
        const std::size_t start = pos;
        while (pos < s.size() && !separator(s[pos])) ++pos;
        field = s.substr(start, pos - start);
      } else {
        const auto w = static_cast<std::size_t>(channels[j].bits);
        if (pos + w > s.size()) field = {};
        else field = s.substr(pos, w);
        pos += w;
      }
      const auto v = parse_double(field);
      if (!v) {
        ctx.fail(ErrorKind::invalid, "bad_ascii_value",
                 "ASCII DATA value '" + std::string(field.substr(0, 32)) + "' of event " + std::to_string(i + 1) +
                     ", channel " + channels[j].name + " is not a number",
                 at + std::min(pos, s.size()));
      }
      const ColumnPlan& c = plan.columns[j];
      double x = *v;
      if (x >= 0 && x == std::floor(x) && x < 18446744073709551616.0) {
        x = convert_int(c, static_cast<std::uint64_t>(x));
      } else if (c.clip) {
        x = clip_to(x, c.clip_max);
      }
      m.f64(j)[i] = x;
    }
  }
  return m;
}

}  // namespace fcs::detail
