// SPDX-License-Identifier: Apache-2.0
/// @file mask.hpp
/// Event membership as a bit set: bit i is event i of the data set, in file order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace flowmrd::gating {

/// A fixed-size set of events. Bits past `size()` in the last word are always zero, so word-wise
/// operations and `count()` need no tail handling.
class Mask {
 public:
  Mask() = default;
  /// `size` events, all clear (or all set when `value`).
  explicit Mask(std::size_t size, bool value = false);

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool test(std::size_t i) const noexcept { return (words_[i >> 6] >> (i & 63)) & 1U; }
  void set(std::size_t i, bool value = true) noexcept {
    const std::uint64_t bit = std::uint64_t{1} << (i & 63);
    words_[i >> 6] = value ? (words_[i >> 6] | bit) : (words_[i >> 6] & ~bit);
  }
  /// Number of set bits.
  [[nodiscard]] std::size_t count() const noexcept;

  /// Word access (64 events per word, event i in bit i % 64 of word i / 64).
  [[nodiscard]] std::vector<std::uint64_t>& words() noexcept { return words_; }
  [[nodiscard]] const std::vector<std::uint64_t>& words() const noexcept { return words_; }

  Mask& operator&=(const Mask& other);
  Mask& operator|=(const Mask& other);
  /// Complement within `size()` events.
  [[nodiscard]] Mask operator~() const;
  friend bool operator==(const Mask&, const Mask&) = default;

 private:
  std::size_t size_ = 0;
  std::vector<std::uint64_t> words_;
};

[[nodiscard]] Mask operator&(Mask a, const Mask& b);
[[nodiscard]] Mask operator|(Mask a, const Mask& b);

}  // namespace flowmrd::gating
