// SPDX-License-Identifier: Apache-2.0
// Mask: bit layout, counts, set operations and the zero-tail invariant.
#include <gtest/gtest.h>

#include <stdexcept>

#include "flowmrd/gating/mask.hpp"

using flowmrd::gating::Mask;

TEST(Mask, StartsClearOrFullWithZeroTail) {
  const Mask clear(130);
  EXPECT_EQ(clear.size(), 130u);
  EXPECT_EQ(clear.count(), 0u);
  const Mask full(130, true);
  EXPECT_EQ(full.count(), 130u);
  ASSERT_EQ(full.words().size(), 3u);
  EXPECT_EQ(full.words()[2], 0x3u);  // only events 128 and 129
  EXPECT_EQ(Mask(128, true).words().back(), ~std::uint64_t{0});
  EXPECT_EQ(Mask(0, true).count(), 0u);
}

TEST(Mask, SetTestAndBitPosition) {
  Mask m(200);
  m.set(0);
  m.set(63);
  m.set(64);
  m.set(199);
  EXPECT_TRUE(m.test(0));
  EXPECT_TRUE(m.test(63));
  EXPECT_TRUE(m.test(64));
  EXPECT_FALSE(m.test(65));
  EXPECT_EQ(m.words()[0], (std::uint64_t{1} << 63) | 1u);
  EXPECT_EQ(m.words()[1], 1u);
  EXPECT_EQ(m.count(), 4u);
  m.set(63, false);
  EXPECT_FALSE(m.test(63));
  EXPECT_EQ(m.count(), 3u);
}

TEST(Mask, AndOrNot) {
  Mask a(70), b(70);
  a.set(1);
  a.set(69);
  b.set(1);
  b.set(2);
  EXPECT_EQ((a & b).count(), 1u);
  EXPECT_EQ((a | b).count(), 3u);
  const Mask na = ~a;
  EXPECT_EQ(na.count(), 68u);
  EXPECT_FALSE(na.test(69));
  EXPECT_TRUE(na.test(68));
  EXPECT_EQ(na.words()[1] >> 6, 0u);  // complement keeps the tail zero
  EXPECT_EQ(~na, a);
}

TEST(Mask, SizeMismatchThrows) {
  Mask a(10), b(11);
  EXPECT_THROW(a &= b, std::invalid_argument);
  EXPECT_THROW(a |= b, std::invalid_argument);
}
