// SPDX-License-Identifier: Apache-2.0
#include "flowmrd/gating/mask.hpp"

#include <bit>
#include <stdexcept>

namespace flowmrd::gating {

Mask::Mask(std::size_t size, bool value) : size_(size), words_((size + 63) / 64, value ? ~std::uint64_t{0} : 0) {
  // Keep the invariant: bits past size() are zero.
  if (value && (size & 63) != 0) words_.back() = (std::uint64_t{1} << (size & 63)) - 1;
}

std::size_t Mask::count() const noexcept {
  std::size_t n = 0;
  for (std::uint64_t w : words_) n += static_cast<std::size_t>(std::popcount(w));
  return n;
}

namespace {
void require_same_size(const Mask& a, const Mask& b) {
  if (a.size() != b.size()) {
    throw std::invalid_argument("mask sizes differ: " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                                " events");
  }
}
}  // namespace

Mask& Mask::operator&=(const Mask& other) {
  require_same_size(*this, other);
  for (std::size_t i = 0; i < words_.size(); ++i) words_[i] &= other.words_[i];
  return *this;
}

Mask& Mask::operator|=(const Mask& other) {
  require_same_size(*this, other);
  for (std::size_t i = 0; i < words_.size(); ++i) words_[i] |= other.words_[i];
  return *this;
}

Mask Mask::operator~() const {
  Mask out(size_, true);
  for (std::size_t i = 0; i < words_.size(); ++i) out.words_[i] &= ~words_[i];
  return out;
}

Mask operator&(Mask a, const Mask& b) { return a &= b; }
Mask operator|(Mask a, const Mask& b) { return a |= b; }

}  // namespace flowmrd::gating
