// SPDX-License-Identifier: Apache-2.0
// GatingStrategy: validation messages, evaluation order, paths.
#include <gtest/gtest.h>

#include <algorithm>

#include "flowmrd/gating/strategy.hpp"

using namespace flowmrd::gating;

namespace {

Dimension dim(const std::string& ch) {
  Dimension d;
  d.channel = ch;
  return d;
}

RectangleGate range(const std::string& ch, double lo, double hi) { return RectangleGate{{dim(ch)}, {Interval{lo, hi}}}; }

std::string error_of(const GatingStrategy& s) {
  try {
    s.validate();
  } catch (const GatingError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(GatingStrategy, PathsFollowParents) {
  GatingStrategy s;
  s.populations.push_back({"g1", "Lymphocytes", std::nullopt, range("FSC-A", 0, 1)});
  s.populations.push_back({"g2", "CD3+", "g1", range("CD3", 0, 1)});
  s.populations.push_back({"g3", "CD4+", "g2", range("CD4", 0, 1)});
  EXPECT_EQ(s.path("g3"), "Lymphocytes/CD3+/CD4+");
  EXPECT_EQ(s.path("g1"), "Lymphocytes");
  EXPECT_THROW((void)s.path("nope"), GatingError);
  EXPECT_NO_THROW(s.validate());
}

TEST(GatingStrategy, OrderPutsParentsAndOperandsFirst) {
  GatingStrategy s;
  s.populations.push_back({"bool", "bool", "child", BooleanGate{BooleanGate::Op::or_, {{"a", false}, {"b", false}}}});
  s.populations.push_back({"child", "child", "root", range("X", 0, 1)});
  s.populations.push_back({"a", "a", std::nullopt, range("X", 0, 1)});
  s.populations.push_back({"root", "root", std::nullopt, range("Y", 0, 1)});
  s.populations.push_back({"b", "b", "a", range("Y", 0, 1)});
  const auto order = s.evaluation_order();
  ASSERT_EQ(order.size(), 5u);
  auto pos = [&](std::size_t i) { return std::find(order.begin(), order.end(), i) - order.begin(); };
  EXPECT_LT(pos(1), pos(0));  // child before bool
  EXPECT_LT(pos(3), pos(1));  // root before child
  EXPECT_LT(pos(2), pos(0));  // a before bool
  EXPECT_LT(pos(4), pos(0));  // b before bool
  EXPECT_LT(pos(2), pos(4));  // a before b
}

TEST(GatingStrategy, ValidationNamesTheProblem) {
  GatingStrategy s;
  s.populations.push_back({"A", "A", "missing", range("X", 0, 1)});
  EXPECT_NE(error_of(s).find("parent 'missing' does not exist"), std::string::npos) << error_of(s);

  s = {};
  s.populations.push_back({"A", "A", std::nullopt, range("X", 0, 1)});
  s.populations.push_back({"A", "A", std::nullopt, range("X", 0, 1)});
  EXPECT_NE(error_of(s).find("'A' is used twice"), std::string::npos) << error_of(s);

  s = {};
  s.populations.push_back({"P", "P", std::nullopt, PolygonGate{dim("X"), dim("Y"), {{0, 0}, {1, 1}}}});
  EXPECT_NE(error_of(s).find("at least 3 vertices, found 2"), std::string::npos) << error_of(s);

  s = {};
  Dimension d = dim("X");
  d.transform = "Logicle9";
  s.populations.push_back({"R", "R", std::nullopt, RectangleGate{{d}, {Interval{0.0, 1.0}}}});
  EXPECT_NE(error_of(s).find("unknown transform 'Logicle9'"), std::string::npos) << error_of(s);

  s = {};
  d = dim("X");
  d.compensation = "Spill7";
  s.populations.push_back({"R", "R", std::nullopt, RectangleGate{{d}, {Interval{0.0, 1.0}}}});
  EXPECT_NE(error_of(s).find("unknown compensation 'Spill7'"), std::string::npos) << error_of(s);

  s = {};
  s.populations.push_back({"N", "N", std::nullopt, BooleanGate{BooleanGate::Op::not_, {{"x", false}, {"y", false}}}});
  EXPECT_NE(error_of(s).find("exactly one operand"), std::string::npos) << error_of(s);

  s = {};
  s.populations.push_back({"E", "E", std::nullopt, EllipsoidGate{{dim("X"), dim("Y")}, {0, 0}, {1, 0, 0}, 1}});
  EXPECT_NE(error_of(s).find("covariance 3 values for 2 dimensions"), std::string::npos) << error_of(s);

  s = {};
  s.populations.push_back({"R", "R", std::nullopt, RectangleGate{{dim("X")}, {Interval{0.0, 1.0}, Interval{}}}});
  EXPECT_NE(error_of(s).find("2 ranges for 1 dimensions"), std::string::npos) << error_of(s);
}

TEST(GatingStrategy, CyclesAreRejected) {
  GatingStrategy s;
  s.populations.push_back({"A", "A", "B", range("X", 0, 1)});
  s.populations.push_back({"B", "B", "A", range("X", 0, 1)});
  EXPECT_NE(error_of(s).find("depends on itself"), std::string::npos) << error_of(s);

  GatingStrategy b;
  b.populations.push_back({"A", "A", std::nullopt, BooleanGate{BooleanGate::Op::and_, {{"A", false}, {"A", true}}}});
  EXPECT_NE(error_of(b).find("depends on itself"), std::string::npos) << error_of(b);
}
