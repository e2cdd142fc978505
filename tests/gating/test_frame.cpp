// SPDX-License-Identifier: Apache-2.0
// Frame: compensate -> transform from a data set; same bytes at any thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "fcs/reader.hpp"
#include "fcs/writer.hpp"
#include "flowmrd/gating/frame.hpp"

using namespace flowmrd::gating;

namespace {

// A 3-channel float file: FSC (not compensated), FL1, FL2 with 10% FL1 -> FL2 spillover.
fcs::Dataset make_dataset(std::size_t n) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-200.0f, 50000.0f);
  std::vector<std::vector<float>> cols(3, std::vector<float>(n));
  for (std::size_t i = 0; i < n; ++i) {
    const float fl1 = u(rng), fl2 = u(rng);
    cols[0][i] = static_cast<float>(i % 1000) * 100.0f;
    cols[1][i] = fl1;
    cols[2][i] = fl2 + 0.1f * fl1;
  }
  fcs::WriteRequest req;
  req.channels = {{"FSC-A", std::nullopt, 262144, 1}, {"FL1-A", "CD19 FITC", 262144, 1}, {"FL2-A", "CD10 PE", 262144, 1}};
  for (auto& c : cols) req.columns.emplace_back(c);
  fcs::ReadOptions o;
  o.truncate_max_range = false;
  auto f = fcs::read_bytes(fcs::write_bytes(req), o, "frame.fcs");
  return std::move(f.datasets.at(0));
}

Compensation fl_compensation() {
  return Compensation({"FL1-A", "FL2-A"}, {1.0, 0.1, 0.0, 1.0},
                      CompensationSource{CompensationSource::Kind::csv, "test", ""});
}

}  // namespace

TEST(Frame, CompensatesAndTransforms) {
  const fcs::Dataset ds = make_dataset(5000);
  const Compensation comp = fl_compensation();
  FrameOptions opt;
  opt.compensation = &comp;
  opt.transforms["FL1-A"] = TransformSpec::parse("logicle:T=262144,W=0.5,M=4.5,A=0");
  const Frame fr = build_frame(ds, opt);
  ASSERT_EQ(fr.rows(), 5000u);
  ASSERT_EQ(fr.cols(), 3u);
  EXPECT_FALSE(fr.column(0).compensated);
  EXPECT_TRUE(fr.column(1).compensated);
  EXPECT_TRUE(fr.column(2).compensated);
  EXPECT_EQ(fr.column(1).marker, "CD19 FITC");
  EXPECT_EQ(fr.column(1).transform.kind, TransformKind::logicle);
  EXPECT_EQ(fr.column(2).transform.kind, TransformKind::identity);
  const Transform t(fr.column(1).transform);
  for (std::size_t i = 0; i < 5000; i += 97) {
    const double fl1 = ds.events.value(i, 1), fl2 = ds.events.value(i, 2);
    // FL2 compensated: fl2 - 0.1 fl1 recovers the true FL2.
    EXPECT_NEAR(fr.column(2).values[i], fl2 - 0.1 * fl1, 1e-3 * std::max(1.0, std::abs(fl2)));
    EXPECT_NEAR(fr.column(1).values[i], t.apply(fl1), 1e-6);
    EXPECT_EQ(fr.column(0).values[i], static_cast<float>(ds.events.value(i, 0)));
  }
}

TEST(Frame, SameBytesAtAnyThreadCount) {
  const fcs::Dataset ds = make_dataset(300000);
  const Compensation comp = fl_compensation();
  FrameOptions opt;
  opt.compensation = &comp;
  opt.transforms["*"] = TransformSpec::parse("logicle:T=262144,W=0.5,M=4.5,A=0");
  opt.threads = 1;
  const Frame one = build_frame(ds, opt);
  opt.threads = 2;
  const Frame two = build_frame(ds, opt);
  opt.threads = 0;
  const Frame all = build_frame(ds, opt);
  for (std::size_t j = 0; j < one.cols(); ++j) {
    ASSERT_EQ(std::memcmp(one.column(j).values.data(), two.column(j).values.data(), one.rows() * sizeof(float)), 0);
    ASSERT_EQ(std::memcmp(one.column(j).values.data(), all.column(j).values.data(), one.rows() * sizeof(float)), 0);
  }
}

TEST(Frame, ErrorsNameTheChannel) {
  const fcs::Dataset ds = make_dataset(10);
  FrameOptions opt;
  opt.transforms["CD19"] = TransformSpec::parse("flin:T=1000,A=0");
  try {
    (void)build_frame(ds, opt);
    FAIL();
  } catch (const TransformError& e) {
    EXPECT_NE(std::string(e.what()).find("CD19"), std::string::npos);
  }
  const Compensation other({"FL9-A", "FL1-A"}, {1, 0, 0, 1}, CompensationSource{});
  FrameOptions o2;
  o2.compensation = &other;
  try {
    (void)build_frame(ds, o2);
    FAIL();
  } catch (const CompensationError& e) {
    EXPECT_NE(std::string(e.what()).find("FL9-A"), std::string::npos);
  }
}

TEST(Frame, DoubleColumnsAreConverted) {
  // A log-decoded integer channel arrives as double; the Frame is float32.
  fcs::Dataset ds = make_dataset(100);
  ds.events.convert_column(0, fcs::ColumnType::f64);
  const Frame fr = build_frame(ds, FrameOptions{});
  EXPECT_EQ(fr.column(0).values[5], static_cast<float>(ds.events.value(5, 0)));
}
