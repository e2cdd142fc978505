// SPDX-License-Identifier: Apache-2.0
#include "number_format.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace flowmrd::cli {

namespace {

// Doubles below 2^53 in magnitude that are whole numbers convert to int64 exactly.
constexpr double exact_integer_limit = 9007199254740992.0;

// Most cytometry values are whole numbers (integer DATA, float DATA of integer ADC counts).
// Integer formatting is several times faster than the general shortest-double algorithm, but
// std::to_chars(double) picks scientific notation when it is strictly shorter ("1e+05" for 100000),
// so the fast path must make the same choice to keep the output identical to std::to_chars.
char* write_integer_like_to_chars(char* first, std::int64_t value) noexcept {
  char* const digits_begin = first + (value < 0 ? 1 : 0);
  char* const end = std::to_chars(first, first + max_shortest_chars, value).ptr;
  if (value == 0) return end;
  const auto digits = static_cast<int>(end - digits_begin);
  int trailing_zeros = 0;
  while (trailing_zeros < digits && end[-1 - trailing_zeros] == '0') ++trailing_zeros;
  if (trailing_zeros == 0) return end;
  // Scientific form: significant digits, a '.' when more than one, then "e+XX" (two exponent
  // digits suffice below 2^53).
  const int significant = digits - trailing_zeros;
  const int scientific_length = significant == 1 ? 1 + 4 : significant + 1 + 4;
  if (scientific_length >= digits) return end;
  return std::to_chars(first, first + max_shortest_chars, static_cast<double>(value)).ptr;
}

}  // namespace

char* write_shortest(char* first, double value) noexcept {
  if (!std::isfinite(value)) {
    const char* text = std::isnan(value) ? "NaN" : (value > 0 ? "Inf" : "-Inf");
    const std::size_t n = std::strlen(text);
    std::memcpy(first, text, n);
    return first + n;
  }
  // -0.0 must keep its sign ("-0"), which the integer path would lose.
  if (std::fabs(value) < exact_integer_limit && std::trunc(value) == value &&
      !(value == 0 && std::signbit(value))) {
    return write_integer_like_to_chars(first, static_cast<std::int64_t>(value));
  }
  return std::to_chars(first, first + max_shortest_chars, value).ptr;
}

std::string format_shortest(double value) {
  char buffer[max_shortest_chars];
  char* const end = write_shortest(buffer, value);
  return {buffer, end};
}

}  // namespace flowmrd::cli
