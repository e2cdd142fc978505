// SPDX-License-Identifier: Apache-2.0
// Edge semantics of each gate kind, as docs/gating.md states them (Gating-ML 2.0).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "flowmrd/gating/evaluate.hpp"
#include "gating_test_data.hpp"

using namespace flowmrd::gating;

namespace {

Dimension dim(const std::string& ch) {
  Dimension d;
  d.channel = ch;
  return d;
}

std::vector<bool> members(const GatingStrategy& s, const fcs::Dataset& ds, const std::string& id) {
  const GatingResult r = apply_gates(s, ds);
  const Mask& m = r.mask(id);
  std::vector<bool> out;
  for (std::size_t i = 0; i < m.size(); ++i) out.push_back(m.test(i));
  return out;
}

GatingStrategy one(Gate g, const std::string& id = "G") {
  GatingStrategy s;
  s.populations.push_back({id, id, std::nullopt, std::move(g)});
  return s;
}

}  // namespace

TEST(RectangleGate, MinInclusiveMaxExclusive) {
  const auto ds = testdata::points({{0.99f, 0}, {1, 0}, {1.5f, 0}, {2, 0}, {2.01f, 0}});
  RectangleGate r{{dim("X")}, {Interval{1.0, 2.0}}};
  EXPECT_EQ(members(one(r), ds, "G"), (std::vector<bool>{false, true, true, false, false}));
}

TEST(RectangleGate, OpenSides) {
  const auto ds = testdata::points({{-1e30f, 0}, {5, 0}, {1e30f, 0}});
  EXPECT_EQ(members(one(RectangleGate{{dim("X")}, {Interval{std::nullopt, 5.0}}}), ds, "G"),
            (std::vector<bool>{true, false, false}));
  EXPECT_EQ(members(one(RectangleGate{{dim("X")}, {Interval{5.0, std::nullopt}}}), ds, "G"),
            (std::vector<bool>{false, true, true}));
}

TEST(RectangleGate, TwoDimensionsAndUndefinedCoordinates) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto ds = testdata::points({{1, 1}, {1, 3}, {nan, 1}, {1, nan}});
  RectangleGate r{{dim("X"), dim("Y")}, {Interval{0.0, 2.0}, Interval{0.0, 2.0}}};
  EXPECT_EQ(members(one(r), ds, "G"), (std::vector<bool>{true, false, false, false}));
  // An axis open on both sides accepts everything, NaN included (it constrains nothing).
  RectangleGate open{{dim("X"), dim("Y")}, {Interval{0.0, 2.0}, Interval{}}};
  EXPECT_EQ(members(one(open), ds, "G"), (std::vector<bool>{true, true, false, true}));
}

TEST(PolygonGate, EvenOddRuleWithConcaveShape) {
  // A "U": the notch (x in 1..2, y > 1) is outside.
  PolygonGate p{dim("X"), dim("Y"), {{0, 0}, {3, 0}, {3, 3}, {2, 3}, {2, 1}, {1, 1}, {1, 3}, {0, 3}}};
  const auto ds = testdata::points({{0.5f, 2}, {1.5f, 2}, {2.5f, 2}, {1.5f, 0.5f}, {4, 1}, {-1, 1}});
  EXPECT_EQ(members(one(p), ds, "G"), (std::vector<bool>{true, false, true, true, false, false}));
}

TEST(PolygonGate, BoundaryIsInside) {
  // Gating-ML 2.0: a polygon includes its boundary, every edge and vertex of it.
  PolygonGate p{dim("X"), dim("Y"), {{0, 0}, {1, 0}, {1, 1}, {0, 1}}};
  const auto ds = testdata::points({{0, 0.5f}, {1, 0.5f}, {0.5f, 0}, {0.5f, 1}, {0, 0}, {1, 1}, {0.5f, 0.5f},
                                    {1.0000001f, 0.5f}, {0.5f, -0.0000001f}});
  EXPECT_EQ(members(one(p), ds, "G"), (std::vector<bool>{true, true, true, true, true, true, true, false, false}));
  // A slanted edge: y == x / 2 exactly (the compliance suite's Poly1u has such events).
  PolygonGate t{dim("X"), dim("Y"), {{0, 0}, {200000, 100000}, {200000, 200000}, {100000, 200000}}};
  const auto ds2 = testdata::points({{14.8f, 7.4f}, {14.8f, 7.3f}, {14.8f, 7.5f}});
  // 7.4f is exactly half of 14.8f in binary too (halving is exact).
  EXPECT_EQ(members(one(t), ds2, "G"), (std::vector<bool>{true, false, true}));
}

TEST(PolygonGate, SelfIntersectingBowTie) {
  PolygonGate p{dim("X"), dim("Y"), {{0, 0}, {2, 2}, {2, 0}, {0, 2}}};
  const auto ds = testdata::points({{0.2f, 1}, {1.8f, 1}, {1, 0.2f}, {1, 1.8f}});
  // Even-odd: the two side lobes are inside, the top and bottom wedges outside.
  EXPECT_EQ(members(one(p), ds, "G"), (std::vector<bool>{true, true, false, false}));
}

TEST(EllipsoidGate, InclusiveBoundaryAndRotation) {
  // Circle of radius 2: covariance I, distance_square 4. (2, 0) is on the boundary: inside.
  EllipsoidGate e{{dim("X"), dim("Y")}, {0, 0}, {1, 0, 0, 1}, 4};
  const auto ds = testdata::points({{2, 0}, {0, 2.001f}, {1.4f, 1.4f}, {1.5f, 1.5f}});
  EXPECT_EQ(members(one(e), ds, "G"), (std::vector<bool>{true, false, true, false}));
  // Elongated along the diagonal: covariance [[2,1.9],[1.9,2]].
  EllipsoidGate d{{dim("X"), dim("Y")}, {0, 0}, {2, 1.9, 1.9, 2}, 1};
  const auto ds2 = testdata::points({{1, 1}, {1, -1}, {0.1f, -0.1f}});
  EXPECT_EQ(members(one(d), ds2, "G"), (std::vector<bool>{true, false, true}));
}

TEST(EllipsoidGate, ThreeDimensions) {
  const auto ds = testdata::dataset({"A", "B", "C"}, {{0, 1, 0.5f}, {0, 0, 0.5f}, {0, 0, 0.8f}});
  EllipsoidGate e{{dim("A"), dim("B"), dim("C")}, {0, 0, 0}, {1, 0, 0, 0, 1, 0, 0, 0, 1}, 1};
  EXPECT_EQ(members(one(e), ds, "G"), (std::vector<bool>{true, true, false}));
}

TEST(QuadrantGate, IntervalsFromDividers) {
  QuadrantDivider dx{"DX", dim("X"), {10}};
  QuadrantDivider dy{"DY", dim("Y"), {5, 20}};
  const auto ds = testdata::points({{9, 4}, {10, 5}, {10, 20}, {50, 19.9f}, {-100, 100}});
  GatingStrategy s;
  auto quad = [&](const std::string& id, double lx, double ly) {
    QuadrantGate q{"Q", {dx, dy}, {{0, lx}, {1, ly}}};
    s.populations.push_back({id, id, std::nullopt, q});
  };
  quad("lowX-lowY", 0, 0);    // X < 10, Y < 5
  quad("highX-midY", 11, 6);  // X >= 10, 5 <= Y < 20
  quad("lowX-highY", 0, 30);  // X < 10, Y >= 20
  quad("highX-highY", 11, 20);
  const GatingResult r = apply_gates(s, ds);
  auto bits = [&](const std::string& id) {
    std::vector<bool> v;
    for (std::size_t i = 0; i < 5; ++i) v.push_back(r.mask(id).test(i));
    return v;
  };
  EXPECT_EQ(bits("lowX-lowY"), (std::vector<bool>{true, false, false, false, false}));
  EXPECT_EQ(bits("highX-midY"), (std::vector<bool>{false, true, false, true, false}));
  EXPECT_EQ(bits("lowX-highY"), (std::vector<bool>{false, false, false, false, true}));
  EXPECT_EQ(bits("highX-highY"), (std::vector<bool>{false, false, true, false, false}));
}

TEST(BooleanGate, AndOrNotAndComplement) {
  const auto ds = testdata::points({{0, 0}, {1, 0}, {2, 0}, {3, 0}});
  GatingStrategy s;
  s.populations.push_back({"A", "A", std::nullopt, RectangleGate{{dim("X")}, {Interval{0.0, 2.0}}}});  // 0,1
  s.populations.push_back({"B", "B", std::nullopt, RectangleGate{{dim("X")}, {Interval{1.0, 3.0}}}});  // 1,2
  s.populations.push_back({"and", "and", std::nullopt, BooleanGate{BooleanGate::Op::and_, {{"A", false}, {"B", false}}}});
  s.populations.push_back({"or", "or", std::nullopt, BooleanGate{BooleanGate::Op::or_, {{"A", false}, {"B", false}}}});
  s.populations.push_back({"not", "not", std::nullopt, BooleanGate{BooleanGate::Op::not_, {{"A", false}}}});
  s.populations.push_back({"AnotB", "AnotB", std::nullopt, BooleanGate{BooleanGate::Op::and_, {{"A", false}, {"B", true}}}});
  const GatingResult r = apply_gates(s, ds);
  auto bits = [&](const std::string& id) {
    std::vector<bool> v;
    for (std::size_t i = 0; i < 4; ++i) v.push_back(r.mask(id).test(i));
    return v;
  };
  EXPECT_EQ(bits("and"), (std::vector<bool>{false, true, false, false}));
  EXPECT_EQ(bits("or"), (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(bits("not"), (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ(bits("AnotB"), (std::vector<bool>{true, false, false, false}));
}

TEST(BooleanGate, OperandsCarryTheirParents) {
  const auto ds = testdata::points({{0, 0}, {1, 1}, {1, 5}});
  GatingStrategy s;
  s.populations.push_back({"P", "P", std::nullopt, RectangleGate{{dim("Y")}, {Interval{std::nullopt, 2.0}}}});
  s.populations.push_back({"C", "C", "P", RectangleGate{{dim("X")}, {Interval{1.0, std::nullopt}}}});
  // not C = everything outside C, including the event C's parent excluded.
  s.populations.push_back({"notC", "notC", std::nullopt, BooleanGate{BooleanGate::Op::not_, {{"C", false}}}});
  const GatingResult r = apply_gates(s, ds);
  EXPECT_TRUE(r.mask("C").test(1));
  EXPECT_FALSE(r.mask("C").test(2));  // x >= 1 but outside the parent
  EXPECT_TRUE(r.mask("notC").test(0));
  EXPECT_FALSE(r.mask("notC").test(1));
  EXPECT_TRUE(r.mask("notC").test(2));
}
