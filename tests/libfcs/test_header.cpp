// SPDX-License-Identifier: Apache-2.0
// HEADER segment: versions, offsets written as 0 with $BEGINDATA/$ENDDATA in TEXT, bad input.
#include <gtest/gtest.h>

#include "fcs/reader.hpp"
#include "fcs_builder.hpp"

using fcs_test::basic;

namespace {

fcs::File read(const std::vector<std::byte>& b, fcs::ReadOptions o = {}) { return fcs::read_bytes(b, o, "t.fcs"); }

std::vector<std::byte> one_event_file(const std::string& version) {
  auto b = basic('I', 16, 2, 1, "1,2,3,4");
  b.version = version;
  b.put<std::uint16_t>(7, false).put<std::uint16_t>(9, false);
  return b.build();
}

}  // namespace

TEST(Header, ReadsEveryVersion) {
  const std::pair<std::string, fcs::Version> versions[] = {{"FCS2.0", fcs::Version::fcs2_0},
                                                           {"FCS3.0", fcs::Version::fcs3_0},
                                                           {"FCS3.1", fcs::Version::fcs3_1},
                                                           {"FCS3.2", fcs::Version::fcs3_2}};
  for (const auto& [text, version] : versions) {
    const fcs::File f = read(one_event_file(text));
    ASSERT_EQ(f.datasets.size(), 1u) << text;
    EXPECT_EQ(f.datasets[0].version, version);
    EXPECT_EQ(f.datasets[0].events.value(0, 0), 7.0);
    EXPECT_EQ(f.datasets[0].events.value(0, 1), 9.0);
  }
}

TEST(Header, DataOffsetsOnlyInText) {
  // FCS 3.1 §3.1: offsets above 99,999,999 are written as 0 in HEADER and given in TEXT.
  auto b = basic('F', 32, 1, 2, "4,3,2,1");
  b.put<float>(1.5f, true).put<float>(-2.25f, true);
  b.header_data_offsets = false;
  fcs::ReadOptions o;
  o.truncate_max_range = false;
  const fcs::File f = read(b.build(), o);
  ASSERT_EQ(f.datasets[0].event_count, 2u);
  EXPECT_EQ(f.datasets[0].events.value(1, 0), -2.25);
}

TEST(Header, LargeOffsetsBeyond99999999) {
  // A file whose DATA starts beyond what 8 HEADER digits can hold: the gap is padding.
  auto b = basic('F', 32, 1, 1, "1,2,3,4");
  b.put<float>(42.0f, false);
  b.header_data_offsets = false;
  b.data_gap = 100'000'000;
  const std::vector<std::byte> bytes = b.build();
  ASSERT_GT(bytes.size(), 99'999'999u);
  const fcs::File f = read(bytes);
  EXPECT_EQ(f.datasets[0].events.value(0, 0), 42.0);
  EXPECT_GT(f.datasets[0].data.begin, 99'999'999u);
}

TEST(Header, NotFcs) {
  const std::string html = "<html><body>not an FCS file</body></html>";
  std::vector<std::byte> b;
  for (char c : html) b.push_back(static_cast<std::byte>(c));
  try {
    (void)read(b);
    FAIL() << "expected an error";
  } catch (const fcs::Error& e) {
    EXPECT_EQ(e.kind(), fcs::ErrorKind::invalid);
    EXPECT_EQ(e.issue().code, "not_fcs");
    EXPECT_NE(std::string(e.what()).find("t.fcs"), std::string::npos);
  }
}

TEST(Header, UnknownVersionIsUnsupported) {
  auto bytes = one_event_file("FCS4.0");
  try {
    (void)read(bytes);
    FAIL();
  } catch (const fcs::Error& e) {
    EXPECT_EQ(e.kind(), fcs::ErrorKind::unsupported);
  }
}

TEST(Header, TruncatedHeader) {
  auto bytes = one_event_file("FCS3.1");
  bytes.resize(40);
  EXPECT_THROW((void)read(bytes), fcs::Error);
}

TEST(Header, NonNumericOffset) {
  auto bytes = one_event_file("FCS3.1");
  bytes[12] = static_cast<std::byte>('x');
  try {
    (void)read(bytes);
    FAIL();
  } catch (const fcs::Error& e) {
    EXPECT_EQ(e.issue().code, "bad_header_offset");
    EXPECT_EQ(e.issue().byte_offset, 10u);
  }
}
