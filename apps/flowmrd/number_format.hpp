// SPDX-License-Identifier: Apache-2.0
/// @file number_format.hpp
/// Printing doubles as the shortest text that reads back to the same value.
///
/// Exported values must survive a text round trip bit for bit (they are compared with flowCore's
/// doubles), and export speed is dominated by this conversion, so it writes into caller buffers.
#pragma once

#include <cstddef>
#include <string>

namespace flowmrd::cli {

/// Upper bound on the characters `write_shortest` produces ("-1.2345678901234567e-308" is 24).
inline constexpr std::size_t max_shortest_chars = 32;

/// Write `value` at `first` exactly as `std::to_chars(first, last, value)` would (shortest
/// round-trip text, plain or scientific notation, whichever is shorter, ties to plain), except
/// that non-finite values are written as R writes them: "NaN", "Inf", "-Inf".
/// `first` must have room for `max_shortest_chars` characters. Returns one past the last written.
char* write_shortest(char* first, double value) noexcept;

/// `write_shortest` into a string.
[[nodiscard]] std::string format_shortest(double value);

}  // namespace flowmrd::cli
