// SPDX-License-Identifier: Apache-2.0
// The two hottest gate loops: the polygon test, which writes mask words directly, and byte->bit
// packing. Each has a portable version and, on x86-64, an AVX2/SSE2 version chosen once from the
// CPU. The AVX2 polygon does the same IEEE subtractions, multiplications and comparisons as the
// portable loop (no FMA contraction), so membership is identical on every machine.
#include "gate_kernels.hpp"

#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FLOWMRD_X86 1
#endif

namespace flowmrd::gating::kernels {

namespace {

// One edge in the form the test needs: the crossing lies right of (x, y) iff
// (x - ax) * dy < (y - ay) * dx for an upward edge (dy > 0), and with ">" for a downward one;
// this is x < ax + (y - ay) * dx / dy without the division.
// Every edge, horizontal ones included (they never cross the ray but can hold events).
struct Edge {
  double ax, ay, dx, dy, xlo, xhi, ylo, yhi;
  bool up;         // dy > 0
  bool crossable;  // dy != 0
};

std::vector<Edge> edges_of(const std::vector<Point>& v) {
  std::vector<Edge> e;
  for (std::size_t j = 0; j < v.size(); ++j) {
    const Point a = v[j];
    const Point b = v[(j + 1) % v.size()];
    e.push_back({a.x, a.y, b.x - a.x, b.y - a.y, std::min(a.x, b.x), std::max(a.x, b.x), std::min(a.y, b.y),
                 std::max(a.y, b.y), b.y > a.y, a.y != b.y});
  }
  return e;
}

// Straddling: ylo <= y < yhi, i.e. exactly one end at or below y; the crossing is right of x.
// On the edge: the cross product (x - ax) dy - (y - ay) dx is 0 and the point is within the
// edge's bounding box. Both use the same two products.
inline void test_edge(const Edge& e, double x, double y, bool& crosses, bool& on_edge) {
  const double lhs = (x - e.ax) * e.dy;
  const double rhs = (y - e.ay) * e.dx;
  crosses = e.crossable && e.ylo <= y && y < e.yhi && (e.up ? lhs < rhs : lhs > rhs);
  on_edge = lhs == rhs && e.xlo <= x && x <= e.xhi && e.ylo <= y && y <= e.yhi;
}

void polygon_portable(const double* x, const double* y, const std::vector<Edge>& edges, std::size_t n,
                      std::uint64_t* words) {
  for (std::size_t w = 0; w * 64 < n; ++w) {
    const std::size_t lim = std::min<std::size_t>(64, n - w * 64);
    std::uint64_t bits = 0;
    for (std::size_t b = 0; b < lim; ++b) {
      bool inside = false, boundary = false;
      for (const Edge& e : edges) {
        bool c = false, on = false;
        test_edge(e, x[w * 64 + b], y[w * 64 + b], c, on);
        inside ^= c;
        boundary |= on;
      }
      bits |= static_cast<std::uint64_t>(inside || boundary) << b;
    }
    words[w] = bits;
  }
}

#ifdef FLOWMRD_X86
[[gnu::target("avx2")]] void polygon_avx2(const double* x, const double* y, const std::vector<Edge>& edges,
                                          std::size_t n, std::uint64_t* words) {
  const std::size_t full = n / 64;
  for (std::size_t w = 0; w < full; ++w) {
    std::uint64_t bits = 0, boundary = 0;
    for (const Edge& e : edges) {
      const __m256d ax = _mm256_set1_pd(e.ax), ay = _mm256_set1_pd(e.ay);
      const __m256d dx = _mm256_set1_pd(e.dx), dy = _mm256_set1_pd(e.dy);
      const __m256d xlo = _mm256_set1_pd(e.xlo), xhi = _mm256_set1_pd(e.xhi);
      const __m256d ylo = _mm256_set1_pd(e.ylo), yhi = _mm256_set1_pd(e.yhi);
      std::uint64_t edge_bits = 0, on_bits = 0;
      for (std::size_t k = 0; k < 64; k += 4) {
        const __m256d vx = _mm256_loadu_pd(x + w * 64 + k);
        const __m256d vy = _mm256_loadu_pd(y + w * 64 + k);
        // Ordered, non-signalling comparisons: NaN compares false, as in the portable loop.
        const __m256d above_lo = _mm256_cmp_pd(ylo, vy, _CMP_LE_OQ);
        const __m256d lhs = _mm256_mul_pd(_mm256_sub_pd(vx, ax), dy);
        const __m256d rhs = _mm256_mul_pd(_mm256_sub_pd(vy, ay), dx);
        if (e.crossable) {
          const __m256d straddle = _mm256_and_pd(above_lo, _mm256_cmp_pd(vy, yhi, _CMP_LT_OQ));
          const __m256d right = e.up ? _mm256_cmp_pd(lhs, rhs, _CMP_LT_OQ) : _mm256_cmp_pd(lhs, rhs, _CMP_GT_OQ);
          edge_bits |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_pd(_mm256_and_pd(straddle, right)))) << k;
        }
        __m256d on = _mm256_and_pd(_mm256_cmp_pd(lhs, rhs, _CMP_EQ_OQ), above_lo);
        on = _mm256_and_pd(on, _mm256_cmp_pd(vy, yhi, _CMP_LE_OQ));
        on = _mm256_and_pd(on, _mm256_and_pd(_mm256_cmp_pd(xlo, vx, _CMP_LE_OQ), _mm256_cmp_pd(vx, xhi, _CMP_LE_OQ)));
        on_bits |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_pd(on))) << k;
      }
      bits ^= edge_bits;
      boundary |= on_bits;
    }
    words[w] = bits | boundary;
  }
  if (n % 64 != 0) polygon_portable(x + full * 64, y + full * 64, edges, n % 64, words + full);
}

bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

}  // namespace

void in_polygon(const double* x, const double* y, const std::vector<Point>& v, std::size_t n, std::uint64_t* words) {
  const std::vector<Edge> edges = edges_of(v);
#ifdef FLOWMRD_X86
  if (has_avx2()) {
    polygon_avx2(x, y, edges, n, words);
    return;
  }
#endif
  polygon_portable(x, y, edges, n, words);
}

void pack(const std::uint8_t* in, std::size_t n, std::uint64_t* words) {
  const std::size_t full = n / 64;
#ifdef FLOWMRD_X86
  // SSE2 (every x86-64): 16 bytes -> 16 bits per movemask once 0/1 becomes 0x00/0xFF.
  const __m128i zero = _mm_setzero_si128();
  for (std::size_t w = 0; w < full; ++w) {
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + w * 64 + k * 16));
      const __m128i set = _mm_xor_si128(_mm_cmpeq_epi8(b, zero), _mm_set1_epi8(-1));
      v |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(set)) & 0xFFFFu) << (k * 16);
    }
    words[w] = v;
  }
#else
  for (std::size_t w = 0; w < full; ++w) {
    std::uint64_t v = 0;
    for (std::size_t b = 0; b < 64; ++b) v |= static_cast<std::uint64_t>(in[w * 64 + b] != 0) << b;
    words[w] = v;
  }
#endif
  if (n % 64 != 0) {
    std::uint64_t v = 0;
    for (std::size_t b = 0; b < n % 64; ++b) v |= static_cast<std::uint64_t>(in[full * 64 + b] != 0) << b;
    words[full] = v;
  }
}

}  // namespace flowmrd::gating::kernels
