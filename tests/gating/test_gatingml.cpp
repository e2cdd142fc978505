// SPDX-License-Identifier: Apache-2.0
// Gating-ML 2.0 import and export on small documents written here: every gate kind, parents,
// transformations, ratio dimensions, spectrum matrices, transformation bounds, the errors (file,
// line, element, reason), id rewriting on export, and schema validity of what is written (when
// xmllint is installed). The official compliance suite is in test_gatingml_compliance.cpp.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "fcs/reader.hpp"
#include "fcs/writer.hpp"
#include "flowmrd/gating/evaluate.hpp"
#include "flowmrd/gating/gatingml.hpp"

#ifndef FLOWMRD_SHARED_DATA
#define FLOWMRD_SHARED_DATA ""
#endif
#ifndef FLOWMRD_TEST_TMP
#define FLOWMRD_TEST_TMP "/tmp/flowmrd-test"
#endif

namespace {

namespace fs = std::filesystem;
using namespace flowmrd::gating;

/// A Gating-ML document around `body` (line 1 is the declaration, the body starts on line 6).
std::string doc(const std::string& body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<gating:Gating-ML xmlns:gating=\"http://www.isac-net.org/std/Gating-ML/v2.0/gating\"\n"
         "  xmlns:transforms=\"http://www.isac-net.org/std/Gating-ML/v2.0/transformations\"\n"
         "  xmlns:data-type=\"http://www.isac-net.org/std/Gating-ML/v2.0/datatypes\">\n"
         "<data-type:custom_info>test</data-type:custom_info>\n" +
         body + "</gating:Gating-ML>\n";
}

GatingStrategy parse(const std::string& body) { return parse_gatingml(doc(body), "t.xml"); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const GatingError& e) {
    return e.what();
  }
  return "(no GatingError)";
}

std::string parse_error(const std::string& body) {
  return error_of([&] { (void)parse(body); });
}

std::string dim(const std::string& channel, const std::string& attrs = "gating:compensation-ref=\"uncompensated\"") {
  return "<gating:dimension " + attrs + "><data-type:fcs-dimension data-type:name=\"" + channel +
         "\"/></gating:dimension>\n";
}

std::string vertex(double x, double y) {
  return "<gating:vertex><gating:coordinate data-type:value=\"" + std::to_string(x) +
         "\"/><gating:coordinate data-type:value=\"" + std::to_string(y) + "\"/></gating:vertex>\n";
}

const std::string kTriangle = "<gating:PolygonGate gating:id=\"Tri\">\n" + dim("FL1") + dim("FL2") + vertex(0, 0) +
                              vertex(10, 0) + vertex(0, 10) + "</gating:PolygonGate>\n";

fs::path suite() {
  const char* env = std::getenv("FLOWMRD_SHARED_DATA");
  return fs::path(env != nullptr && *env != '\0' ? env : FLOWMRD_SHARED_DATA) / "gatingml2";
}

// ---------------------------------------------------------------------------------------------
// Gates

TEST(GatingMlRead, RangeAndRectangleWithOpenSides) {
  const GatingStrategy s = parse("<gating:RectangleGate gating:id=\"R\" gating:name=\"Lymphs\">\n" +
                                 dim("FSC-H", "gating:compensation-ref=\"uncompensated\" gating:min=\"100\"") +
                                 dim("SSC-H", "gating:compensation-ref=\"FCS\" gating:max=\"+2.5e2\"") +
                                 dim("FL1-H", "gating:compensation-ref=\"FCS\" gating:min=\"-1\" gating:max=\" 7 \"") +
                                 "</gating:RectangleGate>\n");
  ASSERT_EQ(s.populations.size(), 1U);
  const Population& p = s.populations[0];
  EXPECT_EQ(p.id, "R");
  EXPECT_EQ(p.name, "Lymphs");
  EXPECT_FALSE(p.parent);
  const auto& r = std::get<RectangleGate>(p.gate);
  ASSERT_EQ(r.dimensions.size(), 3U);
  EXPECT_EQ(r.dimensions[0].channel, "FSC-H");
  EXPECT_EQ(r.dimensions[0].compensation, kUncompensated);
  EXPECT_EQ(r.dimensions[1].compensation, kFileCompensation);
  EXPECT_TRUE(r.dimensions[0].transform.empty());
  EXPECT_EQ(r.ranges[0], (Interval{100.0, std::nullopt}));
  EXPECT_EQ(r.ranges[1], (Interval{std::nullopt, 250.0}));
  EXPECT_EQ(r.ranges[2], (Interval{-1.0, 7.0}));
}

TEST(GatingMlRead, PolygonEllipsoidAndParents) {
  const GatingStrategy s =
      parse(kTriangle + "<gating:EllipsoidGate gating:id=\"E\" gating:parent_id=\"Tri\">\n" + dim("FL3") + dim("FL4") +
            "<gating:mean><gating:coordinate data-type:value=\"13\"/><gating:coordinate "
            "data-type:value=\"16\"/></gating:mean>\n"
            "<gating:covarianceMatrix><gating:row><gating:entry data-type:value=\"62.5\"/><gating:entry "
            "data-type:value=\"37.5\"/>"
            "</gating:row><gating:row><gating:entry data-type:value=\"37.5\"/><gating:entry "
            "data-type:value=\"62.5\"/></gating:row>"
            "</gating:covarianceMatrix>\n<gating:distanceSquare data-type:value=\"1.5\"/>\n</gating:EllipsoidGate>\n");
  ASSERT_EQ(s.populations.size(), 2U);
  const auto& poly = std::get<PolygonGate>(s.populations[0].gate);
  EXPECT_EQ(poly.x.channel, "FL1");
  EXPECT_EQ(poly.y.channel, "FL2");
  EXPECT_EQ(poly.vertices, (std::vector<Point>{{0, 0}, {10, 0}, {0, 10}}));
  const auto& e = std::get<EllipsoidGate>(s.populations[1].gate);
  EXPECT_EQ(s.populations[1].parent, "Tri");
  EXPECT_EQ(s.populations[1].name, "E");
  EXPECT_EQ(e.mean, (std::vector<double>{13, 16}));
  EXPECT_EQ(e.covariance, (std::vector<double>{62.5, 37.5, 37.5, 62.5}));
  EXPECT_EQ(e.distance_square, 1.5);
}

TEST(GatingMlRead, QuadrantGateBecomesOnePopulationPerQuadrant) {
  const GatingStrategy s = parse(
      kTriangle +
      "<gating:QuadrantGate gating:id=\"Q\" gating:parent_id=\"Tri\">\n"
      "<gating:divider gating:id=\"D1\" gating:compensation-ref=\"uncompensated\">"
      "<data-type:fcs-dimension "
      "data-type:name=\"FSC-H\"/><gating:value>70</gating:value><gating:value>28</gating:value>"
      "</gating:divider>\n"
      "<gating:divider gating:id=\"D2\" gating:compensation-ref=\"FCS\">"
      "<data-type:fcs-dimension data-type:name=\"SSC-H\"/><gating:value>17.75</gating:value></gating:divider>\n"
      "<gating:Quadrant gating:id=\"Low\"><gating:position gating:divider_ref=\"D1\" gating:location=\"10\"/>"
      "</gating:Quadrant>\n"
      "<gating:Quadrant gating:id=\"MidHigh\"><gating:position gating:divider_ref=\"D2\" gating:location=\"20\"/>"
      "<gating:position gating:divider_ref=\"D1\" gating:location=\"30\"/></gating:Quadrant>\n"
      "</gating:QuadrantGate>\n"
      "<gating:BooleanGate gating:id=\"NotLow\"><gating:not><gating:gateReference gating:ref=\"Low\"/></gating:not>"
      "</gating:BooleanGate>\n");
  ASSERT_EQ(s.populations.size(), 4U);
  const Population& low = s.populations[1];
  const Population& mid = s.populations[2];
  EXPECT_EQ(low.id, "Low");
  EXPECT_EQ(mid.id, "MidHigh");
  EXPECT_EQ(low.parent, "Tri");
  EXPECT_EQ(mid.parent, "Tri");
  const auto& q = std::get<QuadrantGate>(mid.gate);
  EXPECT_EQ(q.quadrant_gate, "Q");
  ASSERT_EQ(q.dividers.size(), 2U);
  EXPECT_EQ(q.dividers[0].id, "D1");
  EXPECT_EQ(q.dividers[0].values, (std::vector<double>{28, 70}));  // sorted
  EXPECT_EQ(q.dividers[1].dimension.compensation, kFileCompensation);
  ASSERT_EQ(q.positions.size(), 2U);
  EXPECT_EQ(q.positions[0].divider, 1U);
  EXPECT_EQ(q.positions[0].location, 20.0);
  EXPECT_EQ(q.positions[1].divider, 0U);
  EXPECT_EQ(std::get<QuadrantGate>(low.gate).positions.size(), 1U);
}

TEST(GatingMlRead, BooleanGates) {
  const GatingStrategy s = parse(
      kTriangle + "<gating:RectangleGate gating:id=\"R\">" +
      dim("FSC-H", "gating:compensation-ref=\"uncompensated\" gating:min=\"1\"") +
      "</gating:RectangleGate>\n"
      "<gating:BooleanGate gating:id=\"A\" gating:parent_id=\"R\"><gating:and><gating:gateReference "
      "gating:ref=\"Tri\"/>"
      "<gating:gateReference gating:ref=\"R\" gating:use-as-complement=\"true\"/></gating:and></gating:BooleanGate>\n"
      "<gating:BooleanGate gating:id=\"O\"><gating:or><gating:gateReference gating:ref=\"A\" "
      "gating:use-as-complement=\"0\"/>"
      "<gating:gateReference gating:ref=\"R\"/><gating:gateReference "
      "gating:ref=\"Tri\"/></gating:or></gating:BooleanGate>\n");
  const auto& a = std::get<BooleanGate>(s.populations[2].gate);
  EXPECT_EQ(a.op, BooleanGate::Op::and_);
  ASSERT_EQ(a.operands.size(), 2U);
  EXPECT_EQ(a.operands[0].ref, "Tri");
  EXPECT_FALSE(a.operands[0].complement);
  EXPECT_TRUE(a.operands[1].complement);
  EXPECT_EQ(s.populations[2].parent, "R");
  const auto& o = std::get<BooleanGate>(s.populations[3].gate);
  EXPECT_EQ(o.op, BooleanGate::Op::or_);
  EXPECT_EQ(o.operands.size(), 3U);
  EXPECT_FALSE(o.operands[0].complement);
}

// ---------------------------------------------------------------------------------------------
// Transformations, ratios, matrices

TEST(GatingMlRead, ScaleTransformations) {
  const GatingStrategy s = parse(
      "<transforms:transformation transforms:id=\"lin\"><transforms:flin transforms:T=\"1000\" transforms:A=\"5\"/>"
      "</transforms:transformation>\n"
      "<transforms:transformation transforms:id=\"log\"><transforms:flog transforms:T=\"10000\" transforms:M=\"5\"/>"
      "</transforms:transformation>\n"
      "<transforms:transformation transforms:id=\"asinh\"><transforms:fasinh transforms:T=\"10000\" transforms:M=\"4\" "
      "transforms:A=\"1\"/></transforms:transformation>\n"
      "<transforms:transformation transforms:id=\"lgc\"><transforms:logicle transforms:T=\"262144\" "
      "transforms:W=\"0.5\" "
      "transforms:M=\"4.5\" transforms:A=\"0\"/></transforms:transformation>\n"
      "<transforms:transformation transforms:id=\"hyp\"><transforms:hyperlog transforms:T=\"10000\" transforms:W=\"1\" "
      "transforms:M=\"4.5\" "
      "transforms:A=\"0\"><data-type:custom_info>note</data-type:custom_info></transforms:hyperlog>"
      "</transforms:transformation>\n"
      "<gating:RectangleGate gating:id=\"R\">" +
      dim("FL1-H", "gating:compensation-ref=\"uncompensated\" gating:transformation-ref=\"lgc\" gating:min=\"0.2\"") +
      "</gating:RectangleGate>\n");
  ASSERT_EQ(s.transforms.size(), 5U);
  EXPECT_EQ(s.transforms.at("lin"), (TransformSpec{TransformKind::flin, {{"T", 1000}, {"A", 5}}}));
  EXPECT_EQ(s.transforms.at("log"), (TransformSpec{TransformKind::flog, {{"T", 10000}, {"M", 5}}}));
  EXPECT_EQ(s.transforms.at("asinh"), (TransformSpec{TransformKind::fasinh, {{"T", 10000}, {"M", 4}, {"A", 1}}}));
  EXPECT_EQ(s.transforms.at("lgc"),
            (TransformSpec{TransformKind::logicle, {{"T", 262144}, {"W", 0.5}, {"M", 4.5}, {"A", 0}}}));
  EXPECT_EQ(s.transforms.at("hyp").kind, TransformKind::hyperlog);
  EXPECT_EQ(std::get<RectangleGate>(s.populations[0].gate).dimensions[0].transform, "lgc");
}

TEST(GatingMlRead, RatioDimension) {
  const GatingStrategy s = parse(
      "<transforms:transformation transforms:id=\"Rat\"><transforms:fratio transforms:A=\"2.7\" transforms:B=\"-100\" "
      "transforms:C=\"-300\"><data-type:fcs-dimension data-type:name=\"FL2-H\"/>"
      "<data-type:fcs-dimension data-type:name=\"FL2-A\"/></transforms:fratio></transforms:transformation>\n"
      "<transforms:transformation transforms:id=\"L\"><transforms:flog transforms:T=\"100\" transforms:M=\"2\"/>"
      "</transforms:transformation>\n"
      "<gating:RectangleGate gating:id=\"R\"><gating:dimension gating:compensation-ref=\"uncompensated\" "
      "gating:transformation-ref=\"L\" gating:min=\"0.4\" gating:max=\"0.66\">"
      "<data-type:new-dimension data-type:transformation-ref=\"Rat\"/></gating:dimension></gating:RectangleGate>\n");
  EXPECT_EQ(s.transforms.count("Rat"), 0U);  // fratio is a dimension, not a scale
  const Dimension& d = std::get<RectangleGate>(s.populations[0].gate).dimensions[0];
  ASSERT_TRUE(d.ratio);
  EXPECT_EQ(*d.ratio, (RatioDimension{"Rat", "FL2-H", "FL2-A", 2.7, -100, -300, Bounds{}}));
  EXPECT_TRUE(d.channel.empty());
  EXPECT_EQ(d.transform, "L");
}

const std::string kSpill =
    "<transforms:spectrumMatrix transforms:id=\"MySpill\">\n"
    "<transforms:fluorochromes><data-type:fcs-dimension data-type:name=\"FITC\"/>"
    "<data-type:fcs-dimension data-type:name=\"PE\"/></transforms:fluorochromes>\n"
    "<transforms:detectors><data-type:fcs-dimension data-type:name=\"FL1-H\"/>"
    "<data-type:fcs-dimension data-type:name=\"FL2-H\"/></transforms:detectors>\n"
    "<transforms:spectrum><transforms:coefficient transforms:value=\"1\"/>"
    "<transforms:coefficient transforms:value=\"0.25\"/></transforms:spectrum>\n"
    "<transforms:spectrum><transforms:coefficient transforms:value=\"0.5\"/>"
    "<transforms:coefficient transforms:value=\"1\"/></transforms:spectrum>\n"
    "</transforms:spectrumMatrix>\n";

TEST(GatingMlRead, SpectrumMatrixKeepsFluorochromeNames) {
  const GatingStrategy s =
      parse(kSpill + "<gating:RectangleGate gating:id=\"R\">" +
            dim("PE", "gating:compensation-ref=\"MySpill\" gating:min=\"1\"") +
            dim("FSC-H", "gating:compensation-ref=\"MySpill\" gating:min=\"1\"") + "</gating:RectangleGate>\n");
  const Compensation& c = s.compensations.at("MySpill");
  EXPECT_EQ(c.channels(), (std::vector<std::string>{"FL1-H", "FL2-H"}));
  EXPECT_EQ(c.spillover(0, 1), 0.25);
  EXPECT_EQ(c.spillover(1, 0), 0.5);
  EXPECT_EQ(c.source().kind, CompensationSource::Kind::gatingml);
  // Fluorochrome i is compensated into detector i's column; dimensions keep the fluorochrome name.
  EXPECT_EQ(s.fluorochromes.at("MySpill"), (std::vector<std::string>{"FITC", "PE"}));
  const auto& r = std::get<RectangleGate>(s.populations[0].gate);
  EXPECT_EQ(r.dimensions[0].channel, "PE");
  EXPECT_EQ(r.dimensions[0].compensation, "MySpill");
  EXPECT_EQ(r.dimensions[1].channel, "FSC-H");  // not in the matrix: as measured

  // A matrix given inverted is stored as the spillover it is the inverse of.
  std::string inverted = kSpill;
  inverted.replace(inverted.find("transforms:id"), 0, "transforms:matrix-inverted-already=\"true\" ");
  const GatingStrategy si = parse(inverted);
  const Compensation& ci = si.compensations.at("MySpill");
  EXPECT_NEAR(ci.inverse(0, 1), 0.25, 1e-15);
  EXPECT_NEAR(ci.spillover(0, 1), -0.25 / (1 - 0.125), 1e-15);

  // A detector name under the matrix means that detector's compensated column (FlowJo's Gating-ML
  // export names detectors).
  const GatingStrategy sd = parse(kSpill + "<gating:RectangleGate gating:id=\"R\">" +
                                  dim("FL2-H", "gating:compensation-ref=\"MySpill\" gating:min=\"1\"") +
                                  "</gating:RectangleGate>\n");
  EXPECT_EQ(std::get<RectangleGate>(sd.populations[0].gate).dimensions[0].channel, "FL2-H");
  EXPECT_EQ(std::get<RectangleGate>(sd.populations[0].gate).dimensions[0].compensation, "MySpill");
}

TEST(GatingMlRead, FlowJoExportWithDetectorNamesImports) {
  const std::string path =
      std::string(FLOWMRD_SHARED_DATA) + "/flowjo/whitews__FlowKit/data/8_color_data_set/8_color_ICS.xml";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "shared data absent: " << path;
  const GatingStrategy s = read_gatingml(path);
  EXPECT_FALSE(s.populations.empty());
  EXPECT_FALSE(s.compensations.empty());
}

// ---------------------------------------------------------------------------------------------
// Transformation bounds (boundMin / boundMax)

/// One channel "X" holding `values`, read as the compliance suite reads.
fcs::Dataset dataset_x(const std::vector<float>& values) {
  fcs::WriteRequest req;
  req.channels = {{"X", std::nullopt, 1024, 1}};
  req.columns.emplace_back(values);
  return std::move(fcs::read_bytes(fcs::write_bytes(req), gatingml_read_options(), "x.fcs").datasets.at(0));
}

TEST(GatingMlRead, BoundsActAsAClampOnRectangleDimensions) {
  // flin with T=1, A=0 is the identity, so the clamp is easy to follow.
  const std::vector<float> xs{-1.0f, 0.1f, 0.2f, 0.25f, 0.3f, 0.5f, 0.6f, 0.7f, 0.9f, 2.0f};
  const fcs::Dataset ds = dataset_x(xs);
  struct Case {
    std::string bounds;
    std::string range;
  };
  const std::vector<Case> cases{
      {"transforms:boundMin=\"0.2\"", "gating:min=\"0.1\" gating:max=\"0.5\""},   // lower bound inside: open below
      {"transforms:boundMin=\"0.2\"", "gating:min=\"0.25\" gating:max=\"0.5\""},  // below the range: no change
      {"transforms:boundMin=\"0.6\"", "gating:min=\"0.1\" gating:max=\"0.5\""},   // above the range: nothing
      {"transforms:boundMax=\"0.6\"", "gating:min=\"0.3\" gating:max=\"0.7\""},   // upper bound inside: open above
      {"transforms:boundMax=\"0.6\"", "gating:min=\"0.7\""},                      // below the range: nothing
      {"transforms:boundMin=\"0.2\" transforms:boundMax=\"0.6\"", "gating:min=\"0.1\" gating:max=\"0.7\""},
      {"transforms:boundMin=\"0.25\" transforms:boundMax=\"0.25\"", "gating:min=\"0.25\" gating:max=\"0.3\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.bounds + " / " + c.range);
    const GatingStrategy s =
        parse("<transforms:transformation transforms:id=\"B\" " + c.bounds +
              "><transforms:flin transforms:T=\"1\" transforms:A=\"0\"/></transforms:transformation>\n"
              "<gating:RectangleGate gating:id=\"R\">" +
              dim("X", "gating:compensation-ref=\"uncompensated\" gating:transformation-ref=\"B\" " + c.range) +
              "</gating:RectangleGate>\n");
    // The same range and bounds written out by hand: clamp, then min <= v < max.
    const GatingStrategy plain =
        parse("<gating:RectangleGate gating:id=\"R\">" +
              dim("X", "gating:compensation-ref=\"uncompensated\" " + c.range) + "</gating:RectangleGate>\n");
    const Interval& range = std::get<RectangleGate>(plain.populations[0].gate).ranges[0];
    double lo = -1e300;
    double hi = 1e300;
    if (const auto p = c.bounds.find("boundMin=\""); p != std::string::npos) lo = std::stod(c.bounds.substr(p + 10));
    if (const auto p = c.bounds.find("boundMax=\""); p != std::string::npos) hi = std::stod(c.bounds.substr(p + 10));
    const GatingResult r = apply_gates(s, ds);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double v = std::min(std::max(static_cast<double>(xs[i]), lo), hi);
      EXPECT_EQ(r.mask("R").test(i), range.contains(v)) << "x = " << xs[i];
    }
  }
}

TEST(GatingMlRead, BoundsAreKeptForRatiosAndForEveryGateKind) {
  const GatingStrategy s = parse(
      "<transforms:transformation transforms:id=\"Rat\" transforms:boundMin=\"1\" transforms:boundMax=\"4\">"
      "<transforms:fratio transforms:A=\"1\" transforms:B=\"0\" transforms:C=\"0\">"
      "<data-type:fcs-dimension data-type:name=\"A\"/><data-type:fcs-dimension data-type:name=\"B\"/>"
      "</transforms:fratio></transforms:transformation>\n"
      "<transforms:transformation transforms:id=\"L\"><transforms:flog transforms:T=\"100\" transforms:M=\"2\"/>"
      "</transforms:transformation>\n"
      "<transforms:transformation transforms:id=\"B\" transforms:boundMax=\"0.9\">"
      "<transforms:flin transforms:T=\"1\" transforms:A=\"0\"/></transforms:transformation>\n"
      "<gating:RectangleGate gating:id=\"R\"><gating:dimension gating:compensation-ref=\"uncompensated\" "
      "gating:transformation-ref=\"L\" gating:min=\"-0.5\" gating:max=\"0.1\">"
      "<data-type:new-dimension data-type:transformation-ref=\"Rat\"/></gating:dimension></gating:RectangleGate>\n"
      "<gating:PolygonGate gating:id=\"P\">\n" +
      dim("FL1", "gating:compensation-ref=\"uncompensated\" gating:transformation-ref=\"B\"") + dim("FL2") +
      vertex(0, 0) + vertex(1, 0) + vertex(0, 1) + "</gating:PolygonGate>\n");
  const Dimension& d = std::get<RectangleGate>(s.populations[0].gate).dimensions[0];
  ASSERT_TRUE(d.ratio);
  EXPECT_EQ(d.ratio->bounds, (Bounds{1.0, 4.0}));
  EXPECT_EQ(s.transform_bounds.count("L"), 0U);
  EXPECT_EQ(s.transform_bounds.at("B"), (Bounds{std::nullopt, 0.9}));
  EXPECT_EQ(std::get<PolygonGate>(s.populations[1].gate).x.transform, "B");
  EXPECT_EQ(
      parse_error("<transforms:transformation transforms:id=\"B\" transforms:boundMin=\"2\" transforms:boundMax=\"1\">"
                  "<transforms:flin transforms:T=\"1\" transforms:A=\"0\"/></transforms:transformation>\n"),
      "t.xml:6: <transforms:transformation>: boundMin 2 is above boundMax 1");
}

// ---------------------------------------------------------------------------------------------
// Namespaces

TEST(GatingMlRead, AnyPrefixesAndUnqualifiedAttributes) {
  const std::string text =
      "<Gating-ML xmlns=\"http://www.isac-net.org/std/Gating-ML/v2.0/gating\"\n"
      "  xmlns:t=\"http://www.isac-net.org/std/Gating-ML/v2.0/transformations\"\n"
      "  xmlns:dt=\"http://www.isac-net.org/std/Gating-ML/v2.0/datatypes\" xmlns:x=\"urn:other\">\n"
      "<t:transformation id=\"L\"><t:flog T=\"100\" M=\"2\"/></t:transformation>\n"
      "<RectangleGate id=\"R\" x:note=\"ignored\"><dimension compensation-ref=\"uncompensated\" "
      "transformation-ref=\"L\" min=\"0.5\"><dt:fcs-dimension dt:name=\"FL1-H\"/></dimension></RectangleGate>\n"
      "</Gating-ML>\n";
  const GatingStrategy s = parse_gatingml(text, "p.xml");
  EXPECT_EQ(s.transforms.at("L").kind, TransformKind::flog);
  const auto& r = std::get<RectangleGate>(s.populations.at(0).gate);
  EXPECT_EQ(r.dimensions[0].channel, "FL1-H");
  EXPECT_EQ(r.ranges[0].min, 0.5);
}

// ---------------------------------------------------------------------------------------------
// Errors: FILE:LINE: <element>: reason

TEST(GatingMlRead, ErrorsNameFileLineAndElement) {
  // The body starts on line 6.
  EXPECT_EQ(parse_error("<gating:RectangleGate gating:id=\"R\">\n<gating:foo/>\n</gating:RectangleGate>\n"),
            "t.xml:7: <gating:foo>: unsupported element in <gating:RectangleGate>; expected gating:dimension elements");
  EXPECT_EQ(
      parse_error("\n<gating:CurlyGate gating:id=\"C\"/>\n"),
      "t.xml:7: <gating:CurlyGate>: unsupported element in <gating:Gating-ML>; Gating-ML 2.0 allows RectangleGate, "
      "PolygonGate, EllipsoidGate, QuadrantGate, BooleanGate, transformation, spectrumMatrix and custom_info here");
  EXPECT_EQ(parse_error("<gating:PolygonGate gating:id=\"P\">\n" + dim("A") + dim("B") + vertex(0, 0) + vertex(1, 1) +
                        "</gating:PolygonGate>\n"),
            "t.xml:6: <gating:PolygonGate>: a polygon needs at least 3 vertices, found 2");
  EXPECT_EQ(parse_error("<gating:RectangleGate gating:id=\"R\">" +
                        dim("A", "gating:compensation-ref=\"Spill9\" gating:min=\"1\"") + "</gating:RectangleGate>\n"),
            "t.xml:6: <gating:dimension>: compensation-ref 'Spill9' is neither 'uncompensated', 'FCS' nor a "
            "spectrumMatrix id of the file (it defines none)");
  EXPECT_EQ(
      parse_error("<gating:RectangleGate gating:id=\"R\">" +
                  dim("A", "gating:compensation-ref=\"FCS\" gating:transformation-ref=\"Nope\" gating:min=\"1\"") +
                  "</gating:RectangleGate>\n"),
      "t.xml:6: <gating:dimension>: transformation-ref 'Nope' names no transformation of the file (it defines none)");
  EXPECT_EQ(parse_error("<gating:RectangleGate gating:id=\"R\">" +
                        dim("A", "gating:compensation-ref=\"FCS\" gating:min=\"x1\"") + "</gating:RectangleGate>\n"),
            "t.xml:6: <gating:dimension>: attribute 'min' = 'x1' is not a finite number");
  EXPECT_EQ(parse_error("<gating:RectangleGate gating:id=\"R\">" + dim("A", "gating:min=\"1\"") +
                        "</gating:RectangleGate>\n"),
            "t.xml:6: <gating:dimension>: attribute 'compensation-ref' is missing");
  EXPECT_EQ(parse_error(kTriangle + "\n" + kTriangle),
            "t.xml:" + std::to_string(6 + 8) + ": <gating:PolygonGate>: id 'Tri' is already used on line 6");
  EXPECT_EQ(parse_error("<gating:BooleanGate gating:id=\"B\" gating:parent_id=\"Nobody\"><gating:not>"
                        "<gating:gateReference gating:ref=\"B2\"/></gating:not></gating:BooleanGate>\n"),
            "t.xml:6: <gating:BooleanGate>: parent_id 'Nobody' names no gate of the file");
  EXPECT_EQ(parse_error(kTriangle +
                        "<gating:BooleanGate gating:id=\"B\"><gating:and>\n<gating:gateReference gating:ref=\"Tri\"/>"
                        "</gating:and></gating:BooleanGate>\n"),
            "t.xml:13: <gating:and>: gating:and needs at least two gateReference elements, found 1");
  EXPECT_EQ(parse_error("<transforms:transformation transforms:id=\"L\">\n<transforms:logicle transforms:T=\"262144\" "
                        "transforms:W=\"3\" transforms:M=\"4.5\" transforms:A=\"0\"/></transforms:transformation>\n")
                .rfind("t.xml:7: <transforms:logicle>: transformation 'L': ", 0),
            0U);
  EXPECT_EQ(parse_error("<transforms:transformation transforms:id=\"L\"><transforms:flog transforms:T=\"10\"/>"
                        "</transforms:transformation>\n"),
            "t.xml:6: <transforms:flog>: attribute 'M' is missing");
  EXPECT_EQ(
      parse_error("<transforms:transformation transforms:id=\"L\"><transforms:fbiex transforms:T=\"10\"/>"
                  "</transforms:transformation>\n"),
      "t.xml:6: <transforms:fbiex>: unsupported element in <transforms:transformation>; expected one of flin, flog, "
      "fasinh, logicle, hyperlog, fratio (transformations namespace)");
}

TEST(GatingMlRead, ReferenceErrors) {
  const std::string quadrant =
      "<gating:QuadrantGate gating:id=\"Q\"><gating:divider gating:id=\"D\" gating:compensation-ref=\"FCS\">"
      "<data-type:fcs-dimension data-type:name=\"A\"/><gating:value>1</gating:value></gating:divider>\n"
      "<gating:Quadrant gating:id=\"Q1\"><gating:position gating:divider_ref=\"D\" "
      "gating:location=\"2\"/></gating:Quadrant>"
      "</gating:QuadrantGate>\n";
  EXPECT_EQ(
      parse_error(quadrant +
                  "<gating:BooleanGate gating:id=\"B\"><gating:not>\n<gating:gateReference gating:ref=\"Q\"/>"
                  "</gating:not></gating:BooleanGate>\n"),
      "t.xml:9: <gating:gateReference>: gateReference 'Q' is a QuadrantGate; refer to one of its Quadrant ids instead");
  EXPECT_NE(parse_error(
                "<gating:QuadrantGate gating:id=\"Q\"><gating:divider gating:id=\"D\" gating:compensation-ref=\"FCS\">"
                "<data-type:fcs-dimension data-type:name=\"A\"/><gating:value>1</gating:value></gating:divider>\n"
                "<gating:Quadrant gating:id=\"Q1\"><gating:position gating:divider_ref=\"E\" gating:location=\"2\"/>"
                "</gating:Quadrant></gating:QuadrantGate>\n")
                .find("t.xml:7: <gating:position>: divider_ref 'E' is not a divider of QuadrantGate 'Q'"),
            std::string::npos);
  // An fratio is a new dimension; used as a scale it is refused, and a scale as a new dimension too.
  const std::string rat =
      "<transforms:transformation transforms:id=\"Rat\"><transforms:fratio transforms:A=\"1\" transforms:B=\"0\" "
      "transforms:C=\"0\"><data-type:fcs-dimension data-type:name=\"A\"/><data-type:fcs-dimension "
      "data-type:name=\"B\"/>"
      "</transforms:fratio></transforms:transformation>\n";
  EXPECT_NE(parse_error(rat + "<gating:RectangleGate gating:id=\"R\">" +
                        dim("A", "gating:compensation-ref=\"FCS\" gating:transformation-ref=\"Rat\" gating:min=\"1\"") +
                        "</gating:RectangleGate>\n")
                .find("t.xml:7: <gating:dimension>: transformation-ref 'Rat' is an fratio"),
            std::string::npos);
  // A cycle is found by GatingStrategy::validate; the message names the file.
  const std::string cycle = parse_error(
      "<gating:BooleanGate gating:id=\"B1\"><gating:not><gating:gateReference gating:ref=\"B2\"/></gating:not>"
      "</gating:BooleanGate>\n<gating:BooleanGate gating:id=\"B2\"><gating:not><gating:gateReference "
      "gating:ref=\"B1\"/>"
      "</gating:not></gating:BooleanGate>\n");
  EXPECT_EQ(cycle.rfind("t.xml: ", 0), 0U) << cycle;
}

TEST(GatingMlRead, DocumentLevelErrors) {
  EXPECT_EQ(error_of([] {
              (void)parse_gatingml("<a>\n<b>\n</a>\n", "bad.xml");
            }).rfind("bad.xml:3: not well-formed XML: ", 0),
            0U);
  EXPECT_EQ(error_of([] { (void)parse_gatingml("", "empty.xml"); }).rfind("empty.xml:", 0), 0U);
  EXPECT_EQ(error_of([] {
              (void)parse_gatingml(
                  "<gating:Gating-ML xmlns:gating=\"http://www.isac-net.org/std/Gating-ML/v1.5/gating\"/>", "old.xml");
            }),
            "old.xml:1: <gating:Gating-ML>: namespace 'http://www.isac-net.org/std/Gating-ML/v1.5/gating' is not "
            "Gating-ML 2.0 ('http://www.isac-net.org/std/Gating-ML/v2.0/gating'); only Gating-ML 2.0 is supported");
  EXPECT_EQ(error_of([] { (void)parse_gatingml("<workspace/>", "ws.xml"); }),
            "ws.xml:1: <workspace>: not a Gating-ML document (the root element must be Gating-ML)");
  const std::string missing = error_of([] { (void)read_gatingml("/nonexistent/gates.xml"); });
  EXPECT_EQ(missing.rfind("/nonexistent/gates.xml: cannot open the Gating-ML file: ", 0), 0U) << missing;
}

TEST(GatingMlRead, ReadOptionsScaleByGain) {
  const fcs::ReadOptions o = gatingml_read_options();
  EXPECT_EQ(o.transformation, fcs::Transformation::linearize_with_png_scaling);
  EXPECT_TRUE(o.truncate_max_range);  // flowCore read.FCS default, as the reference implementation read the files
}

// ---------------------------------------------------------------------------------------------
// Export

GatingStrategy every_kind() {
  return parse(
      kSpill +
      "<transforms:transformation transforms:id=\"lgc\" transforms:boundMin=\"0.05\"><transforms:logicle "
      "transforms:T=\"262144\" "
      "transforms:W=\"0.5\" transforms:M=\"4.5\" transforms:A=\"0\"/></transforms:transformation>\n"
      "<transforms:transformation transforms:id=\"Rat\" transforms:boundMax=\"15.3\"><transforms:fratio "
      "transforms:A=\"1\" transforms:B=\"0\" transforms:C=\"-1\"><data-type:fcs-dimension data-type:name=\"FL2-H\"/>"
      "<data-type:fcs-dimension data-type:name=\"FL2-A\"/></transforms:fratio></transforms:transformation>\n" +
      kTriangle + "<gating:RectangleGate gating:id=\"R\" gating:parent_id=\"Tri\" gating:name=\"Rect one\">" +
      dim("PE",
          "gating:compensation-ref=\"MySpill\" gating:transformation-ref=\"lgc\" gating:min=\"0.1\" "
          "gating:max=\"0.30000000000000004\"") +
      "<gating:dimension gating:compensation-ref=\"uncompensated\" gating:max=\"16.4\">"
      "<data-type:new-dimension data-type:transformation-ref=\"Rat\"/></gating:dimension>"
      "</gating:RectangleGate>\n"
      "<gating:EllipsoidGate gating:id=\"E\">" +
      dim("FL3") + dim("FL4") +
      "<gating:mean><gating:coordinate data-type:value=\"1\"/><gating:coordinate data-type:value=\"2\"/>"
      "</gating:mean><gating:covarianceMatrix><gating:row><gating:entry data-type:value=\"2\"/>"
      "<gating:entry data-type:value=\"0.5\"/></gating:row><gating:row><gating:entry data-type:value=\"0.5\"/>"
      "<gating:entry data-type:value=\"3\"/></gating:row></gating:covarianceMatrix>"
      "<gating:distanceSquare data-type:value=\"4\"/></gating:EllipsoidGate>\n"
      "<gating:QuadrantGate gating:id=\"Q\" gating:parent_id=\"E\"><gating:divider gating:id=\"D\" "
      "gating:compensation-ref=\"FCS\"><data-type:fcs-dimension data-type:name=\"A\"/><gating:value>1</gating:value>"
      "<gating:value>5</gating:value></gating:divider>\n"
      "<gating:Quadrant gating:id=\"Q1\"><gating:position gating:divider_ref=\"D\" "
      "gating:location=\"2\"/></gating:Quadrant>"
      "<gating:Quadrant gating:id=\"Q2\"><gating:position gating:divider_ref=\"D\" "
      "gating:location=\"9\"/></gating:Quadrant>"
      "</gating:QuadrantGate>\n"
      "<gating:BooleanGate gating:id=\"B\"><gating:or><gating:gateReference gating:ref=\"Q1\"/>"
      "<gating:gateReference gating:ref=\"R\" gating:use-as-complement=\"true\"/></gating:or></gating:BooleanGate>\n");
}

TEST(GatingMlWrite, RoundTripKeepsEveryKind) {
  const GatingStrategy a = every_kind();
  const std::string text = write_gatingml(a);
  const GatingStrategy b = parse_gatingml(text, "written.xml");
  EXPECT_EQ(write_gatingml(b), text);  // fixed point
  ASSERT_EQ(b.populations.size(), a.populations.size());
  for (std::size_t i = 0; i < a.populations.size(); ++i) {
    EXPECT_EQ(b.populations[i].id, a.populations[i].id);
    EXPECT_EQ(b.populations[i].name, a.populations[i].name);
    EXPECT_EQ(b.populations[i].parent, a.populations[i].parent);
    EXPECT_EQ(gate_dimensions(b.populations[i].gate), gate_dimensions(a.populations[i].gate));
  }
  EXPECT_EQ(b.transforms, a.transforms);
  EXPECT_EQ(b.transform_bounds, a.transform_bounds);
  EXPECT_EQ(b.transform_bounds.at("lgc").min, 0.05);
  EXPECT_EQ(b.fluorochromes, a.fluorochromes);
  EXPECT_EQ(b.compensations.at("MySpill").channels(), a.compensations.at("MySpill").channels());
  EXPECT_EQ(std::get<RectangleGate>(b.populations[1].gate).dimensions[1].ratio->bounds.max, 15.3);
  const auto& ra = std::get<RectangleGate>(a.populations[1].gate);
  const auto& rb = std::get<RectangleGate>(b.populations[1].gate);
  EXPECT_EQ(rb.ranges, ra.ranges);  // 0.30000000000000004 survives: shortest round-trip text
  EXPECT_EQ(b.populations[1].name, "Rect one");
  const auto& qb = std::get<QuadrantGate>(b.populations[4].gate);
  EXPECT_EQ(qb.quadrant_gate, "Q");
  EXPECT_EQ(qb.positions[0].location, 9.0);
  EXPECT_TRUE(std::get<BooleanGate>(b.populations[5].gate).operands[1].complement);
  EXPECT_NE(text.find("gating:name=\"Rect one\""), std::string::npos);
}

TEST(GatingMlWrite, IdsThatAreNotXmlNamesAreRewritten) {
  GatingStrategy s;
  RectangleGate r;
  r.dimensions.push_back(Dimension{"FL1-A", kUncompensated, "", std::nullopt});
  r.ranges.push_back(Interval{1.0, std::nullopt});
  s.populations.push_back(Population{"CD19+", "CD19+", std::nullopt, r});
  s.populations.push_back(Population{"2nd gate", "Second", std::string("CD19+"), r});
  s.populations.push_back(Population{"CD19_", "CD19_", std::nullopt, r});
  BooleanGate b;
  b.op = BooleanGate::Op::not_;
  b.operands.push_back({"CD19+", false});
  s.populations.push_back(Population{"not", "not", std::nullopt, b});
  const std::string text = write_gatingml(s);
  const GatingStrategy back = parse_gatingml(text, "w.xml");
  ASSERT_EQ(back.populations.size(), 4U);
  EXPECT_EQ(back.populations[0].id, "CD19_");
  EXPECT_EQ(back.populations[0].name, "CD19+");  // the original id kept as the display name
  EXPECT_EQ(back.populations[1].id, "_2nd_gate");
  EXPECT_EQ(back.populations[1].name, "Second");
  EXPECT_EQ(back.populations[1].parent, "CD19_");
  EXPECT_EQ(back.populations[2].id, "CD19__2");  // clash with the rewritten first id
  EXPECT_EQ(std::get<BooleanGate>(back.populations[3].gate).operands[0].ref, "CD19_");
}

TEST(GatingMlWrite, WhatGatingMlCannotExpressIsAnError) {
  GatingStrategy s;
  s.transforms["bx"] = TransformSpec::parse("biex");
  s.transforms["unused"] = TransformSpec::parse("arcsinh");
  s.transforms["id"] = TransformSpec{};
  RectangleGate r;
  r.dimensions.push_back(Dimension{"FL1-A", kUncompensated, "id", std::nullopt});
  r.ranges.push_back(Interval{1.0, std::nullopt});
  s.populations.push_back(Population{"R", "R", std::nullopt, r});
  // An identity transform is written as no transform; an unused non-Gating-ML one is left out.
  const std::string text = write_gatingml(s);
  EXPECT_EQ(text.find("transformation-ref"), std::string::npos);
  EXPECT_EQ(text.find("unused"), std::string::npos);
  // A bounded identity becomes flin(T=1, A=0) with the bounds.
  s.transform_bounds["id"] = Bounds{0.0, 5.0};
  const GatingStrategy back = parse_gatingml(write_gatingml(s), "w.xml");
  EXPECT_EQ(back.transforms.at("id"), (TransformSpec{TransformKind::flin, {{"T", 1.0}, {"A", 0.0}}}));
  EXPECT_EQ(back.transform_bounds.at("id"), (Bounds{0.0, 5.0}));
  std::get<RectangleGate>(s.populations[0].gate).dimensions[0].transform = "bx";
  const std::string e = error_of([&] { (void)write_gatingml(s); });
  EXPECT_EQ(e.rfind("Gating-ML export: transform 'bx' (biex", 0), 0U) << e;
  EXPECT_NE(e.find("has no Gating-ML 2.0 equivalent"), std::string::npos) << e;

  // Quadrants of one gate must agree on their dividers.
  GatingStrategy q;
  QuadrantDivider d{"D", Dimension{"A", kUncompensated, "", std::nullopt}, {1.0}};
  q.populations.push_back(Population{"Q1", "Q1", std::nullopt, QuadrantGate{"Q", {d}, {{0, 0.0}}}});
  d.values = {2.0};
  q.populations.push_back(Population{"Q2", "Q2", std::nullopt, QuadrantGate{"Q", {d}, {{0, 5.0}}}});
  EXPECT_EQ(error_of([&] { (void)write_gatingml(q); }),
            "Gating-ML export: quadrant gate 'Q': quadrants 'Q1' and 'Q2' have different dividers");
}

// ---------------------------------------------------------------------------------------------
// Schema validity (xmllint, when installed)

bool have_xmllint() { return std::system("xmllint --version > /dev/null 2>&1") == 0; }

/// xmllint's verdict on `xml` against the Gating-ML 2.0 schemas; empty when valid.
std::string schema_errors(const std::string& xml, const std::string& name) {
  const fs::path dir = fs::path(FLOWMRD_TEST_TMP) / "gatingml";
  fs::create_directories(dir);
  const fs::path file = dir / name;
  std::ofstream(file, std::ios::binary) << xml;
  const fs::path xsd = suite() / "whitews__FlowKit" / "src" / "flowkit" / "_resources" / "Gating-ML.v2.0.xsd";
  const fs::path log = dir / (name + ".log");
  const std::string cmd =
      "xmllint --noout --schema '" + xsd.string() + "' '" + file.string() + "' > '" + log.string() + "' 2>&1";
  if (std::system(cmd.c_str()) == 0) return {};
  std::ifstream in(log);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(GatingMlWrite, OutputIsValidAgainstTheSchemas) {
  if (!have_xmllint()) GTEST_SKIP() << "xmllint is not installed";
  if (!fs::exists(suite())) GTEST_SKIP() << "no " << suite();
  EXPECT_EQ(schema_errors(write_gatingml(every_kind()), "every_kind.xml"), "");
  for (const char* set : {"gates1.xml", "gates2.xml"}) {
    EXPECT_EQ(
        schema_errors(write_gatingml(read_gatingml(suite() / "Gating-MLFiles" / set)), std::string("written_") + set),
        "")
        << set;
  }
}

}  // namespace
