// SPDX-License-Identifier: Apache-2.0
// The bulk fast path of logicle, hyperlog and biex: a piecewise-cubic table indexed by the bits
// of the input.
//
// Why this shape. The scales are linear around zero and logarithmic for large |x|, over 30 and
// more octaves of input. A table uniform in x would need millions of entries, and one uniform in y
// needs a search. The bits of a positive IEEE number, read as an integer, are a piecewise-linear
// approximation of log2: the exponent picks the octave and the top k mantissa bits split it into
// 2^k segments of equal relative width. So one shift and one subtraction of the input's bits give
// the segment, the remaining mantissa bits are the exact position t in [0, 1) within it, and the
// segments are dense exactly where the curve bends. In each segment y(t) is a cubic Hermite
// polynomial through the exact y and exact dy/dx at both ends (dy/dx = 1 / B'(y), available in
// closed form), whose error is at most max|y''''| / 384 in t, largest at mid-segment; the
// constructor measures it there for every segment and doubles the resolution until it is below
// the tolerance (units of y). Both the table's and float32's error count against the published
// bound of 1e-6: the table is built to 1e-8.
//
// Outside the table: below 2^e_min the curve is linear to within the tolerance (y = x1 + x / B'(x1),
// checked at construction); above the last octave it is logarithmic to within the tolerance,
// so y(2^n u) = y(u) + n ln2 / b (also checked). Negative inputs use the odd symmetry of B:
// y(-x) = 2 x1 - y(x). Infinities map to infinities, NaN to NaN. The choices among these are
// arithmetic, not branches (signs and zeros are unpredictable in real columns), and on AVX2 CPUs
// four values go at once, bit-identical to the scalar loop.
#include "transform_table.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <span>
#include <vector>

#include "biexponential.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FLOWMRD_TABLE_AVX2 1
#include <immintrin.h>
#else
#define FLOWMRD_TABLE_AVX2 0
#endif

namespace flowmrd::gating::detail {

namespace {

// Octaves of float32 normal numbers: the table never needs more, and below/above them the linear
// and logarithmic extensions take over for either input type.
constexpr int lowest_octave = -126;
constexpr int highest_octave = 126;
constexpr int min_resolution_bits = 3;
constexpr int max_resolution_bits = 9;
constexpr std::size_t max_segments = std::size_t{1} << 18;  // 8 MiB: never reached in practice

template <typename F, bool Clip>
void run_kernel(const TableKernel& table, std::span<const F> in, std::span<float> out, const OutputMap& map) noexcept {
  const TableKernel kernel = table;  // a local copy: its fields stay in registers
  const double scale = map.scale;
  const double lo = map.lo;
  const double hi = map.hi;
  const std::size_t n = std::min(in.size(), out.size());
  const F* src = in.data();
  float* dst = out.data();
  for (std::size_t i = 0; i < n; ++i) {
    double o = scale * kernel(src[i]);
    // Written as (a < b ? b : a) so NaN stays NaN; compiles to maxsd/minsd, no branch.
    if constexpr (Clip) o = std::min(std::max(o, lo), hi);
    dst[i] = static_cast<float>(o);
  }
}

#if FLOWMRD_TABLE_AVX2
// Four lanes of the same computation with AVX2, selected at run time on CPUs that have it (the
// build targets baseline x86-64). Every operation is the scalar kernel's, in the same order and
// without fused multiply-add, so results are bit-identical to the scalar path and do not depend on
// the machine. The four segments' coefficients are loaded as rows and transposed, which is faster
// than four gathers on current AMD and Intel cores.

struct Lanes {
  __m256d c0, c1, c2, c3;
};

[[gnu::target("avx2")]] inline Lanes load_segments(const double* coefficients, __m128i index) {
  alignas(16) std::int32_t i[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(i), index);
  const __m256d r0 = _mm256_loadu_pd(coefficients + 4 * static_cast<std::ptrdiff_t>(i[0]));
  const __m256d r1 = _mm256_loadu_pd(coefficients + 4 * static_cast<std::ptrdiff_t>(i[1]));
  const __m256d r2 = _mm256_loadu_pd(coefficients + 4 * static_cast<std::ptrdiff_t>(i[2]));
  const __m256d r3 = _mm256_loadu_pd(coefficients + 4 * static_cast<std::ptrdiff_t>(i[3]));
  const __m256d t0 = _mm256_unpacklo_pd(r0, r1);
  const __m256d t1 = _mm256_unpackhi_pd(r0, r1);
  const __m256d t2 = _mm256_unpacklo_pd(r2, r3);
  const __m256d t3 = _mm256_unpackhi_pd(r2, r3);
  return {_mm256_permute2f128_pd(t0, t2, 0x20), _mm256_permute2f128_pd(t1, t3, 0x20),
          _mm256_permute2f128_pd(t0, t2, 0x31), _mm256_permute2f128_pd(t1, t3, 0x31)};
}

/// The scalar kernel's tail for four lanes: from segment coefficients, t, octaves above, the
/// below-table flag, |x| and x (as doubles) and the non-finite mask to the output.
[[gnu::target("avx2")]] inline __m128 finish_lanes(const TableKernel& kernel, const Lanes& c, __m256d t,
                                                   __m256d octaves_above, __m256d below, __m256d v, __m256d x,
                                                   __m256d non_finite, const OutputMap& map, bool clip) {
  const __m256d poly = _mm256_add_pd(
      c.c0,
      _mm256_mul_pd(t, _mm256_add_pd(c.c1, _mm256_mul_pd(t, _mm256_add_pd(c.c2, _mm256_mul_pd(t, c.c3))))));
  const __m256d table = _mm256_add_pd(poly, _mm256_mul_pd(octaves_above, _mm256_set1_pd(kernel.octave_step)));
  const __m256d linear =
      _mm256_mul_pd(_mm256_min_pd(_mm256_set1_pd(kernel.linear_limit), v), _mm256_set1_pd(kernel.slope0));
  const __m256d deviation = _mm256_add_pd(table, _mm256_mul_pd(below, _mm256_sub_pd(linear, table)));
  const __m256d sign = _mm256_set1_pd(-0.0);
  const __m256d signed_deviation = _mm256_or_pd(_mm256_andnot_pd(sign, deviation), _mm256_and_pd(sign, x));
  __m256d y = _mm256_add_pd(_mm256_set1_pd(kernel.x1), signed_deviation);
  y = _mm256_blendv_pd(y, x, non_finite);
  __m256d o = _mm256_mul_pd(_mm256_set1_pd(map.scale), y);
  if (clip) {
    o = _mm256_max_pd(_mm256_set1_pd(map.lo), o);
    o = _mm256_min_pd(_mm256_set1_pd(map.hi), o);
  }
  return _mm256_cvtpd_ps(o);
}

[[gnu::target("avx2")]] std::size_t run_avx2(const TableKernel& kernel, const float* src, float* dst, std::size_t n,
                                             const OutputMap& map) noexcept {
  const int shift = FloatBits<float>::mantissa_bits - kernel.k;
  const __m128i shift_count = _mm_cvtsi32_si128(shift);
  const __m128i k_count = _mm_cvtsi32_si128(kernel.k);
  const __m128i magnitude_mask = _mm_set1_epi32(0x7fffffff);
  const __m128i first_key = _mm_set1_epi32(static_cast<std::int32_t>(kernel.first_key_float));
  const __m128i last_start = _mm_set1_epi32(static_cast<std::int32_t>(kernel.last_start));
  const __m128i fraction_mask = _mm_set1_epi32(static_cast<std::int32_t>((1u << shift) - 1));
  const __m128i largest_finite = _mm_set1_epi32(0x7f7fffff);
  const __m128i zero = _mm_setzero_si128();
  const __m128i one = _mm_set1_epi32(1);
  const __m256d fraction_scale = _mm256_set1_pd(kernel.fraction_scale_float);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m128 xf = _mm_loadu_ps(src + i);
    const __m128i magnitude = _mm_and_si128(_mm_castps_si128(xf), magnitude_mask);
    __m128i index = _mm_sub_epi32(_mm_srl_epi32(magnitude, shift_count), first_key);
    const __m128i octaves_above = _mm_sra_epi32(_mm_max_epi32(_mm_sub_epi32(index, last_start), zero), k_count);
    index = _mm_sub_epi32(index, _mm_sll_epi32(octaves_above, k_count));
    const __m128i below_mask = _mm_srai_epi32(index, 31);
    index = _mm_andnot_si128(below_mask, index);
    const __m256d below = _mm256_cvtepi32_pd(_mm_and_si128(below_mask, one));
    const __m256d t = _mm256_mul_pd(_mm256_cvtepi32_pd(_mm_and_si128(magnitude, fraction_mask)), fraction_scale);
    const __m256d non_finite = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm_cmpgt_epi32(magnitude, largest_finite)));
    const __m256d v = _mm256_cvtps_pd(_mm_castsi128_ps(magnitude));
    const __m256d x = _mm256_cvtps_pd(xf);
    const Lanes c = load_segments(kernel.coefficients, index);
    _mm_storeu_ps(dst + i, finish_lanes(kernel, c, t, _mm256_cvtepi32_pd(octaves_above), below, v, x, non_finite,
                                        map, map.clip));
  }
  return i;
}

// Exact conversion of integers in [0, 2^52) to double without AVX-512: place them in the mantissa
// of 2^52 and subtract 2^52.
[[gnu::target("avx2")]] inline __m256d small_to_double(__m256i value) {
  const __m256d two52 = _mm256_set1_pd(4503599627370496.0);
  return _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(value, _mm256_castpd_si256(two52))), two52);
}

[[gnu::target("avx2")]] std::size_t run_avx2(const TableKernel& kernel, const double* src, float* dst, std::size_t n,
                                             const OutputMap& map) noexcept {
  const int shift = FloatBits<double>::mantissa_bits - kernel.k;
  const __m128i shift_count = _mm_cvtsi32_si128(shift);
  const __m128i k_count = _mm_cvtsi32_si128(kernel.k);
  const __m256i magnitude_mask = _mm256_set1_epi64x(0x7fffffffffffffffll);
  const __m256i first_key = _mm256_set1_epi64x(kernel.first_key_double);
  const __m256i last_start = _mm256_set1_epi64x(kernel.last_start);
  const __m256i fraction_mask = _mm256_set1_epi64x(static_cast<long long>((1ull << shift) - 1));
  const __m256i largest_finite = _mm256_set1_epi64x(0x7fefffffffffffffll);
  const __m256i zero = _mm256_setzero_si256();
  const __m256i one = _mm256_set1_epi64x(1);
  const __m256d fraction_scale = _mm256_set1_pd(kernel.fraction_scale_double);
  // Lanes 0, 2, 4, 6 of eight 32-bit values: the low halves of four 64-bit indices (all small).
  const __m256i low_halves = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d x = _mm256_loadu_pd(src + i);
    const __m256i magnitude = _mm256_and_si256(_mm256_castpd_si256(x), magnitude_mask);
    __m256i index = _mm256_sub_epi64(_mm256_srl_epi64(magnitude, shift_count), first_key);
    __m256i over = _mm256_sub_epi64(index, last_start);
    over = _mm256_andnot_si256(_mm256_cmpgt_epi64(zero, over), over);  // max(over, 0)
    const __m256i octaves_above = _mm256_srl_epi64(over, k_count);
    index = _mm256_sub_epi64(index, _mm256_sll_epi64(octaves_above, k_count));
    const __m256i below_mask = _mm256_cmpgt_epi64(zero, index);
    index = _mm256_andnot_si256(below_mask, index);
    const __m256d below = small_to_double(_mm256_and_si256(below_mask, one));
    const __m256d t = _mm256_mul_pd(small_to_double(_mm256_and_si256(magnitude, fraction_mask)), fraction_scale);
    const __m256d non_finite = _mm256_castsi256_pd(_mm256_cmpgt_epi64(magnitude, largest_finite));
    const __m256d v = _mm256_castsi256_pd(magnitude);
    const __m128i index32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(index, low_halves));
    const Lanes c = load_segments(kernel.coefficients, index32);
    _mm_storeu_ps(dst + i, finish_lanes(kernel, c, t, small_to_double(octaves_above), below, v, x, non_finite,
                                        map, map.clip));
  }
  return i;
}

bool cpu_has_avx2() noexcept {
  static const bool has = __builtin_cpu_supports("avx2") != 0;
  return has;
}
#endif

/// The bulk loop: AVX2 lanes where available, the scalar kernel for the rest and elsewhere.
template <typename F>
void run_table(const TableKernel& kernel, std::span<const F> in, std::span<float> out, const OutputMap& map) noexcept {
  std::size_t done = 0;
#if FLOWMRD_TABLE_AVX2
  if (cpu_has_avx2()) done = run_avx2(kernel, in.data(), out.data(), std::min(in.size(), out.size()), map);
#endif
  if (map.clip) {
    run_kernel<F, true>(kernel, in.subspan(done), out.subspan(done), map);
  } else {
    run_kernel<F, false>(kernel, in.subspan(done), out.subspan(done), map);
  }
}

}  // namespace

TransformTable::TransformTable(const Biexponential& curve, double tolerance, double x_limit) {
  const BiexponentialCoefficients& k = curve.coefficients();
  kernel_.x1 = k.x1;
  kernel_.slope0 = 1 / curve.slope_at_zero();
  kernel_.octave_step = std::numbers::ln2 / k.b;
  if (!curve.finite() || !(tolerance > 0)) return;
  const double x1 = kernel_.x1;
  const double slope0 = kernel_.slope0;
  const double octave_step = kernel_.octave_step;

  // Lowest octave: below 2^e_min the linear approximation must be within tolerance / 4. The
  // deviation grows with |x| (quadratically, or cubically for logicle, whose B'' vanishes at x1),
  // so the first octave from the top that satisfies it bounds the whole linear region.
  // Scales whose linear region lies outside float32's exponent range (T = 1e-300, or 1e300) get
  // no table: their data is not float data, and the exact path serves them.
  const int e_zero = std::ilogb(curve.slope_at_zero()) + 1;
  if (e_zero <= lowest_octave || e_zero > highest_octave) return;
  int e_min = lowest_octave - 1;
  for (int e = e_zero; e >= lowest_octave; --e) {
    const double v = std::ldexp(1.0, e);
    if (std::abs(curve.solve(v) - (x1 + v * slope0)) <= tolerance / 4) {
      e_min = e;
      break;
    }
  }
  if (e_min < lowest_octave) return;

  // Highest octave. Unbounded scales: from here on every octave adds ln2 / b to within tolerance
  // / 8; the deviation shrinks like 1/x, so the octaves above add up to at most twice that.
  // Clipped scales (biex) only need the table up to the clipping input.
  int e_max = highest_octave;
  if (std::isfinite(x_limit)) {
    if (std::ilogb(x_limit) > highest_octave) return;
    e_max = std::max(std::ilogb(x_limit), e_min);
  } else {
    bool found = false;
    double y_here = curve.solve(std::ldexp(1.0, std::max(e_min, e_zero)));
    for (int e = std::max(e_min, e_zero); e <= highest_octave; ++e) {
      const double y_next = curve.solve(std::ldexp(1.0, e + 1), y_here + octave_step);
      if (std::abs(y_next - y_here - octave_step) <= tolerance / 8) {
        e_max = e;
        found = true;
        break;
      }
      y_here = y_next;
    }
    if (!found) return;
  }
  e_min_ = e_min;
  e_max_ = e_max;

  for (int bits = min_resolution_bits; bits <= max_resolution_bits; ++bits) {
    if ((static_cast<std::size_t>(e_max_ - e_min_ + 1) << bits) > max_segments) return;
    if (build(curve, bits, tolerance / 2)) {
      valid_ = true;
      return;
    }
  }
}

bool TransformTable::build(const Biexponential& curve, int k, double tolerance) {
  const std::size_t per_octave = std::size_t{1} << k;
  const std::size_t n = static_cast<std::size_t>(e_max_ - e_min_ + 1) * per_octave;
  // Nodes: the segment boundaries 2^e (1 + j / 2^k), and the end of the last octave.
  std::vector<double> y(n + 1);
  std::vector<double> dydx(n + 1);
  const double x1 = kernel_.x1;
  double previous = x1;
  for (std::size_t i = 0; i <= n; ++i) {
    const int e = e_min_ + static_cast<int>(i >> k);
    const double x = std::ldexp(1.0 + std::ldexp(static_cast<double>(i & (per_octave - 1)), -k), e);
    y[i] = curve.solve(x, previous);
    dydx[i] = 1 / curve.slope(y[i]);
    previous = y[i];
  }
  // Four coefficients per segment: y = c0 + t (c1 + t (c2 + t c3)), t in [0, 1) across it.
  std::vector<double> coefficients(4 * n);
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const int e = e_min_ + static_cast<int>(i >> k);
    const double x0 = std::ldexp(1.0 + std::ldexp(static_cast<double>(i & (per_octave - 1)), -k), e);
    const double width = std::ldexp(1.0, e - k);
    // Cubic Hermite in t = (x - x0) / width: values and slopes (dy/dt = dy/dx * width) at both ends.
    const double y0 = y[i];
    const double y1 = y[i + 1];
    const double m0 = dydx[i] * width;
    const double m1 = dydx[i + 1] * width;
    double* c = coefficients.data() + 4 * i;
    c[0] = y0 - x1;
    c[1] = m0;
    c[2] = 3 * (y1 - y0) - 2 * m0 - m1;
    c[3] = 2 * (y0 - y1) + m0 + m1;
    const double mid = curve.solve(x0 + 0.5 * width, y0);
    const double interpolated = x1 + (c[0] + 0.5 * (c[1] + 0.5 * (c[2] + 0.5 * c[3])));
    worst = std::max(worst, std::abs(mid - interpolated));
  }
  measured_error_ = worst;
  if (!(worst <= tolerance)) return false;
  coefficients_ = std::move(coefficients);
  kernel_.coefficients = coefficients_.data();
  kernel_.k = k;
  kernel_.first_key_float = static_cast<std::int64_t>(FloatBits<float>::bias + e_min_) << k;
  kernel_.first_key_double = static_cast<std::int64_t>(FloatBits<double>::bias + e_min_) << k;
  kernel_.last_start = static_cast<std::int64_t>(e_max_ - e_min_) << k;
  kernel_.fraction_scale_float = std::ldexp(1.0, k - FloatBits<float>::mantissa_bits);
  kernel_.fraction_scale_double = std::ldexp(1.0, k - FloatBits<double>::mantissa_bits);
  kernel_.linear_limit = std::ldexp(1.0, e_min_);
  return true;
}

void TransformTable::apply(std::span<const float> in, std::span<float> out, const OutputMap& map) const noexcept {
  run_table(kernel_, in, out, map);
}

void TransformTable::apply(std::span<const double> in, std::span<float> out, const OutputMap& map) const noexcept {
  run_table(kernel_, in, out, map);
}

}  // namespace flowmrd::gating::detail
