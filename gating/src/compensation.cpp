// SPDX-License-Identifier: Apache-2.0
#include "flowmrd/gating/compensation.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <set>
#include <string_view>
#include <type_traits>
#include <utility>

#include "fcs/sha256.hpp"

namespace flowmrd::gating {

namespace {

/// Below this reciprocal condition number (1-norm estimate) a matrix is refused: inverting it
/// would amplify the rounding of the input values by more than 10^12, i.e. the compensated values
/// would keep fewer than 4 significant digits. Real spillover matrices are close to the identity
/// (rcond ~ 0.1 to 1); a matrix this bad is a wrong matrix (a duplicated row, a zero diagonal).
constexpr double kMinRcond = 1e-12;

/// Events per block in `apply`. Small on purpose: the event columns are separate large
/// allocations, usually at the same offset within a page, so the n column slices of one block fall
/// into the same L1 sets; with more than a few cache lines per column they evict each other
/// between being read and being written back (measured on 12 channels: 32 events is fastest, 512
/// about 40% slower).
constexpr std::size_t kBlock = 32;

std::string format_double(double v) {
  std::array<char, 32> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), res.ptr);
}

std::string join(const std::vector<std::string>& names, std::size_t limit = 64) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < limit; ++i) {
    if (i != 0) out += ", ";
    out += names[i];
  }
  if (names.size() > limit) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

/// "compensation matrix from keyword SPILL" / "... from CSV file 'x.csv'": the prefix of every error.
std::string describe(const CompensationSource& s) {
  switch (s.kind) {
    case CompensationSource::Kind::file_keyword: return "compensation matrix from keyword " + s.origin;
    case CompensationSource::Kind::csv: return "compensation matrix from CSV file '" + s.origin + "'";
    case CompensationSource::Kind::flowjo: return "compensation matrix from FlowJo file '" + s.origin + "'";
    case CompensationSource::Kind::gatingml: return "compensation matrix from Gating-ML file '" + s.origin + "'";
    case CompensationSource::Kind::none: break;
  }
  return s.origin.empty() ? std::string("compensation matrix") : "compensation matrix '" + s.origin + "'";
}

/// A hint for a singular matrix: the rows/columns that are zero or repeat another one.
std::string singular_hint(const std::vector<std::string>& ch, const std::vector<double>& m) {
  const std::size_t n = ch.size();
  std::vector<std::string> hints;
  for (std::size_t i = 0; i < n; ++i) {
    bool zero_row = true;
    bool zero_col = true;
    for (std::size_t j = 0; j < n; ++j) {
      zero_row = zero_row && m[i * n + j] == 0.0;
      zero_col = zero_col && m[j * n + i] == 0.0;
    }
    if (zero_row) hints.push_back("row " + ch[i] + " is all zero");
    if (zero_col) hints.push_back("column " + ch[i] + " is all zero");
    for (std::size_t k = i + 1; k < n; ++k) {
      if (std::equal(m.begin() + static_cast<std::ptrdiff_t>(i * n), m.begin() + static_cast<std::ptrdiff_t>(i * n + n),
                     m.begin() + static_cast<std::ptrdiff_t>(k * n))) {
        hints.push_back("rows " + ch[i] + " and " + ch[k] + " are equal");
      }
    }
  }
  if (hints.empty()) return {};
  return " (" + join(hints, 8) + ")";
}

/// Events per strip inside a block: a strip's accumulators (32 doubles) stay in registers while
/// its inputs stream from the block buffer, so each coefficient costs one load, one multiply and
/// one add per event, and each output is stored once.
constexpr std::size_t kStrip = 32;

/// Non-zero coefficients of the inverse, grouped by output column j: coefficient k (in
/// [offsets[j], offsets[j+1])) multiplies input row rows[k].
struct SparseColumns {
  std::vector<std::size_t> offsets;
  std::vector<std::size_t> rows;
  std::vector<double> coefs;
};

SparseColumns sparse_columns(const std::vector<double>& inverse, std::size_t n) {
  SparseColumns s;
  s.offsets.assign(n + 1, 0);
  s.rows.reserve(n * n);
  s.coefs.reserve(n * n);
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < n; ++i) {
      const double c = inverse[i * n + j];
      if (c != 0.0) {
        s.rows.push_back(i);
        s.coefs.push_back(c);
      }
    }
    s.offsets[j + 1] = s.rows.size();
  }
  return s;
}

/// Four doubles / four floats (GCC/Clang vector extension: one AVX register or two SSE2 ones).
using Vec4 = double __attribute__((vector_size(4 * sizeof(double))));
using Vec4f = float __attribute__((vector_size(4 * sizeof(float))));
constexpr std::size_t kVecs = kStrip / 4;
static_assert(kStrip % 4 == 0 && kBlock % kStrip == 0, "blocks are whole strips, strips whole Vec4s");

/// Stores one strip's sums into an output column (converted to the column's type).
[[gnu::always_inline]] inline void store_strip(double* dst, const Vec4 (&acc)[kVecs]) {
  std::memcpy(dst, acc, sizeof acc);
}
[[gnu::always_inline]] inline void store_strip(float* dst, const Vec4 (&acc)[kVecs]) {
  for (std::size_t v = 0; v < kVecs; ++v) {
    const Vec4f f = __builtin_convertvector(acc[v], Vec4f);  // round to nearest, as static_cast
    std::memcpy(dst + 4 * v, &f, sizeof f);
  }
}

/// Compensates events [start, start + len) (len <= kBlock) of `columns` in place. The block's
/// inputs are first copied to `in` (n x kBlock doubles; row i at i * kBlock), because every input
/// feeds every output; then per strip and output column j the sum over k of
/// in(rows[k]) * coefs[k] is accumulated in registers and stored straight into column j.
template <class T>
[[gnu::always_inline]] inline void process_block(T* const* columns, std::size_t start, std::size_t len,
                                                 double* in, const SparseColumns& sc, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const T* src = columns[i] + start;
    double* dst = in + i * kBlock;
    for (std::size_t e = 0; e < len; ++e) dst[e] = static_cast<double>(src[e]);
  }
  const std::size_t* offsets = sc.offsets.data();
  const std::size_t* rows = sc.rows.data();
  const double* coefs = sc.coefs.data();
  std::size_t e0 = 0;
  for (; e0 + kStrip <= len; e0 += kStrip) {
    for (std::size_t j = 0; j < n; ++j) {
      // Independent accumulators, enough adds in flight to hide their latency. Written as
      // vectors because, left to itself, the compiler vectorises the coefficient loop (a gather)
      // rather than the events.
      Vec4 acc[kVecs] = {};
      for (std::size_t k = offsets[j]; k < offsets[j + 1]; ++k) {
        const double c = coefs[k];
        const double* x = in + rows[k] * kBlock + e0;
        for (std::size_t v = 0; v < kVecs; ++v) {
          Vec4 xv;
          std::memcpy(&xv, x + 4 * v, sizeof xv);  // unaligned vector load
          acc[v] += xv * c;
        }
      }
      store_strip(columns[j] + start + e0, acc);
    }
  }
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t e = e0; e < len; ++e) {
      double acc = 0.0;
      for (std::size_t k = offsets[j]; k < offsets[j + 1]; ++k) acc += in[rows[k] * kBlock + e] * coefs[k];
      columns[j][start + e] = static_cast<T>(acc);
    }
  }
}

// The block loop, compiled twice (GCC function multi-versioning; the clone is chosen once, at load
// time, from the CPU): the AVX2 clone does the same IEEE multiplies and adds in the same order as
// the baseline SSE2 one, only four events per instruction. The AVX2 target does not enable FMA, so
// nothing is contracted and the results are bit-identical on every x86-64 machine.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define FLOWMRD_COMP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FLOWMRD_COMP_CLONES
#endif

FLOWMRD_COMP_CLONES void run_blocks_f32(float* const* columns, std::size_t first, std::size_t count, double* in,
                                        const SparseColumns& sc, std::size_t n) {
  for (std::size_t start = first; start < first + count; start += kBlock) {
    process_block(columns, start, std::min(kBlock, first + count - start), in, sc, n);
  }
}

FLOWMRD_COMP_CLONES void run_blocks_f64(double* const* columns, std::size_t first, std::size_t count, double* in,
                                        const SparseColumns& sc, std::size_t n) {
  for (std::size_t start = first; start < first + count; start += kBlock) {
    process_block(columns, start, std::min(kBlock, first + count - start), in, sc, n);
  }
}

#undef FLOWMRD_COMP_CLONES

/// The kernel of `apply`: per event, out_j = sum_i in_i * inv(i, j), i ascending (the order of a
/// plain matrix product, as R's `%*%` sums), in double, over blocks of kBlock events. Coefficients
/// that are exactly zero are skipped: they cannot change a finite sum, and an output must not
/// depend on an input its coefficient says it does not depend on (a NaN in an uncompensated
/// channel stays where it is).
template <class T>
void apply_kernel(const std::vector<double>& inverse, std::size_t n, std::span<T* const> columns,
                  std::size_t first, std::size_t count) {
  if (count == 0) return;
  const SparseColumns sc = sparse_columns(inverse, n);
  // Scratch is local to the call, so disjoint row ranges can be compensated concurrently.
  std::vector<double> in(n * kBlock);
  if constexpr (std::is_same_v<T, float>) run_blocks_f32(columns.data(), first, count, in.data(), sc, n);
  else run_blocks_f64(columns.data(), first, count, in.data(), sc, n);
}

}  // namespace

std::string to_string(CompensationSource::Kind kind) {
  switch (kind) {
    case CompensationSource::Kind::none: return "none";
    case CompensationSource::Kind::file_keyword: return "file_keyword";
    case CompensationSource::Kind::csv: return "csv";
    case CompensationSource::Kind::flowjo: return "flowjo";
    case CompensationSource::Kind::gatingml: return "gatingml";
  }
  return "none";
}

Compensation::Compensation(std::vector<std::string> channels, std::vector<double> spillover_row_major,
                           CompensationSource source)
    : channels_(std::move(channels)), spill_(std::move(spillover_row_major)), source_(std::move(source)) {
  const std::string what = describe(source_);
  const std::size_t n = channels_.size();
  if (n == 0) throw CompensationError(what + ": the matrix names no channels");
  if (spill_.size() != n * n) {
    throw CompensationError(what + ": " + std::to_string(n) + " channels need " + std::to_string(n * n) +
                            " values (n x n), found " + std::to_string(spill_.size()) + " (channels: " +
                            join(channels_) + ")");
  }
  std::set<std::string_view> seen;
  for (const std::string& c : channels_) {
    if (c.empty()) throw CompensationError(what + ": a channel name is empty (channels: " + join(channels_) + ")");
    if (!seen.insert(c).second) throw CompensationError(what + ": channel '" + c + "' is listed twice");
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const double v = spill_[i * n + j];
      if (!std::isfinite(v)) {
        throw CompensationError(what + ": value at row " + channels_[i] + ", column " + channels_[j] +
                                " is not a finite number (" + format_double(v) + ")");
      }
    }
  }

  using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const auto en = static_cast<Eigen::Index>(n);
  const Eigen::Map<const RowMatrix> s(spill_.data(), en, en);
  // Full pivoting: the most robust LU for the rank decision; n is small, so its cost is nil.
  const Eigen::FullPivLU<RowMatrix> lu(s);
  const double rcond = lu.isInvertible() ? lu.rcond() : 0.0;
  if (!(rcond >= kMinRcond)) {
    throw CompensationError(what + " over channels " + join(channels_) + ": the matrix is singular or too " +
                            "ill-conditioned to invert (reciprocal condition number " + format_double(rcond) +
                            ", minimum " + format_double(kMinRcond) + ")" + singular_hint(channels_, spill_));
  }
  const RowMatrix inv = lu.inverse();
  inverse_.assign(inv.data(), inv.data() + n * n);
  for (const double v : inverse_) {
    if (!std::isfinite(v)) {
      throw CompensationError(what + " over channels " + join(channels_) + ": the inverse has non-finite values");
    }
  }
}

Compensation Compensation::from_spillover(const fcs::Spillover& s) {
  // The hash identifies the matrix as it was used, independent of how the file spelled it: the
  // canonical $SPILLOVER text (FCS 3.1 §3.2.20) "n,name_1,...,name_n,v_11,v_12,...,v_nn" with the
  // channel names as libfcs resolved them ($PnN) and each value in its shortest round-trip decimal
  // form (std::to_chars). $DFC matrices are hashed in fractions, as libfcs gives them.
  std::string canonical = std::to_string(s.channels.size());
  for (const std::string& c : s.channels) {
    canonical += ',';
    canonical += c;
  }
  for (const double v : s.values) {
    canonical += ',';
    canonical += format_double(v);
  }
  CompensationSource src;
  src.kind = CompensationSource::Kind::file_keyword;
  src.origin = s.source_keyword;
  src.sha256 = fcs::sha256_hex(std::as_bytes(std::span<const char>(canonical.data(), canonical.size())));
  return Compensation(s.channels, s.values, std::move(src));
}

std::optional<Compensation> Compensation::from_dataset(const fcs::Dataset& ds) {
  // Dataset::spillovers is already in flowCore's order of preference (SPILL, spillover,
  // $SPILLOVER, then $COMP, $DFC); the preferred one is its first.
  if (const fcs::Spillover* s = ds.spillover()) return from_spillover(*s);
  return std::nullopt;
}

std::vector<std::size_t> Compensation::resolve(const fcs::Dataset& ds) const {
  std::vector<std::size_t> out;
  out.reserve(channels_.size());
  std::vector<std::string> missing;
  for (const std::string& name : channels_) {
    // Exact $PnN match, as flowCore and FlowJo require.
    const int idx = ds.find_channel(name);
    if (idx < 0) missing.push_back(name);
    else out.push_back(static_cast<std::size_t>(idx));
  }
  if (!missing.empty()) {
    std::vector<std::string> have;
    have.reserve(ds.channels.size());
    for (const fcs::Channel& c : ds.channels) have.push_back(c.name);
    throw CompensationError(describe(source_) + " names " + std::to_string(missing.size()) + " channel" +
                            (missing.size() == 1 ? "" : "s") + " the data set lacks: " + join(missing, 1024) +
                            " (data set " + std::to_string(ds.number) + " channels: " + join(have, 1024) + ")");
  }
  return out;
}

void Compensation::apply(std::span<float* const> columns, std::size_t first, std::size_t count) const {
  if (columns.size() != size()) {
    throw CompensationError(describe(source_) + ": apply() got " + std::to_string(columns.size()) +
                            " columns for " + std::to_string(size()) + " channels");
  }
  apply_kernel(inverse_, size(), columns, first, count);
}

void Compensation::apply(std::span<double* const> columns, std::size_t first, std::size_t count) const {
  if (columns.size() != size()) {
    throw CompensationError(describe(source_) + ": apply() got " + std::to_string(columns.size()) +
                            " columns for " + std::to_string(size()) + " channels");
  }
  apply_kernel(inverse_, size(), columns, first, count);
}

}  // namespace flowmrd::gating
