// SPDX-License-Identifier: Apache-2.0
// Truncated, lying and hostile input: a clear error, never a crash, hang or huge allocation.
#include <gtest/gtest.h>

#include <random>

#include "fcs/reader.hpp"
#include "fcs_builder.hpp"

using fcs_test::basic;

namespace {
std::vector<std::byte> valid() {
  auto b = basic('F', 32, 2, 3, "1,2,3,4", "1024");
  for (int i = 0; i < 6; ++i) b.put<float>(static_cast<float>(i), false);
  return b.build();
}
}  // namespace

TEST(Hostile, HugeTotDoesNotAllocate) {
  auto b = basic('F', 32, 2, 1, "1,2,3,4", "1024");
  for (auto& kv : b.keywords)
    if (kv.first == "$TOT") kv.second = "99999999999999";
  b.put<float>(1, false).put<float>(2, false);
  try {
    (void)fcs::read_bytes(b.build(), {}, "h.fcs");
    FAIL();
  } catch (const fcs::Error& e) {
    EXPECT_EQ(e.issue().code, "short_data");
  }
}

TEST(Hostile, HugeParDoesNotAllocate) {
  auto b = basic('F', 32, 1, 1, "1,2,3,4", "1024");
  for (auto& kv : b.keywords)
    if (kv.first == "$PAR") kv.second = "4000000000";
  b.put<float>(1, false);
  EXPECT_THROW((void)fcs::read_bytes(b.build(), {}, "h.fcs"), fcs::Error);
}

TEST(Hostile, TextBeyondEndOfFile) {
  auto bytes = valid();
  const std::string bad = "  999999";
  for (std::size_t i = 0; i < 8; ++i) bytes[18 + i] = static_cast<std::byte>(bad[i]);
  try {
    (void)fcs::read_bytes(bytes, {}, "h.fcs");
    FAIL();
  } catch (const fcs::Error& e) {
    EXPECT_EQ(e.issue().code, "truncated_text");
  }
}

TEST(Hostile, NextdataLoopEnds) {
  auto b = basic('F', 32, 1, 1, "1,2,3,4", "1024");
  for (auto& kv : b.keywords)
    if (kv.first == "$NEXTDATA") kv.second = "58";  // points into its own TEXT
  b.put<float>(1, false);
  const fcs::File f = fcs::read_bytes(b.build(), {}, "h.fcs");
  EXPECT_EQ(f.dataset_count, 1);
}

TEST(Hostile, EveryTruncationFailsCleanly) {
  const auto full = valid();
  for (std::size_t n = 0; n < full.size(); ++n) {
    std::vector<std::byte> part(full.begin(), full.begin() + static_cast<long>(n));
    try {
      (void)fcs::read_bytes(part, {}, "cut.fcs");
    } catch (const fcs::Error&) {
    }
  }
  SUCCEED();
}

TEST(Hostile, RandomByteFlipsNeverCrash) {
  const auto full = valid();
  std::mt19937 rng(42);
  for (int round = 0; round < 3000; ++round) {
    auto b = full;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<std::byte>(rng() & 0xff);
    try {
      (void)fcs::read_bytes(b, {}, "flip.fcs");
    } catch (const fcs::Error&) {
    }
  }
  SUCCEED();
}

TEST(Hostile, MissingFileIsIoError) {
  try {
    (void)fcs::read_file("/nonexistent/dir/x.fcs");
    FAIL();
  } catch (const fcs::Error& e) {
    EXPECT_EQ(e.kind(), fcs::ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/x.fcs"), std::string::npos);
  }
}
