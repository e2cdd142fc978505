// SPDX-License-Identifier: Apache-2.0
// QA report: MRD comparison, JSON, self-contained HTML, disagreement plot and CSV.
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "flowmrd/pipeline/qa_report.hpp"

namespace fp = flowmrd::pipeline;
namespace fg = flowmrd::gating;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

fg::Mask mask_of(std::size_t size, const std::vector<std::size_t>& members) {
  fg::Mask m(size);
  for (const std::size_t i : members) m.set(i);
  return m;
}

// Independent base64 decoder for the embedded images.
std::vector<std::uint8_t> base64_decode(const std::string& s) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<std::uint8_t> out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : s) {
    if (c == '=') break;
    const auto v = alphabet.find(c);
    if (v == std::string::npos) throw std::invalid_argument("bad base64");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

fp::QaReport sample_report() {
  fp::QaReport r;
  r.software_version = "0.1.0";
  r.fcs_file = "s.fcs";
  r.events = 10;
  r.reference = {"ref.wsp", "flowjo", "s.fcs"};
  r.test = {"t.csv", "labels", ""};
  fp::QaPopulation p;
  p.name = "blast";
  p.reference_path = "Lymph/<blast>";
  p.test_name = "blast";
  p.match = "last component";
  p.agreement = fg::compare_masks(mask_of(10, {0, 1, 2, 3}), mask_of(10, {2, 3, 4}));
  p.mrd = fp::compare_mrd(4, 10, 3, 10, 35.0);
  p.x_axis = "FSC-A";
  p.y_axis = "SSC-A";
  r.populations.push_back(p);
  fp::QaPopulation q;
  q.name = "CD19+";
  q.reference_path = "Lymph/CD19+";
  q.test_name = "CD19+";
  q.match = "name";
  q.agreement = fg::compare_masks(mask_of(10, {5}), mask_of(10, {5}));
  r.populations.push_back(q);
  r.unmatched_reference = {"Lymph"};
  r.unmatched_test = {"extra"};
  return r;
}

}  // namespace

TEST(QaReport, CompareMrd) {
  const auto m = fp::compare_mrd(5, 100000, 12, 100000, 0.01);
  EXPECT_DOUBLE_EQ(m.reference_percent, 0.005);
  EXPECT_DOUBLE_EQ(m.test_percent, 0.012);
  EXPECT_DOUBLE_EQ(m.difference, 0.007);
  EXPECT_FALSE(m.reference_positive);
  EXPECT_TRUE(m.test_positive);
  EXPECT_FALSE(m.calls_agree);
  // At the threshold exactly: positive.
  const auto at = fp::compare_mrd(10, 100000, 10, 50000, 0.01);
  EXPECT_TRUE(at.reference_positive);
  EXPECT_DOUBLE_EQ(at.test_percent, 0.02);
  EXPECT_TRUE(at.calls_agree);
  // Empty denominator: 0 %, negative.
  const auto empty = fp::compare_mrd(0, 0, 0, 0, 0.01);
  EXPECT_DOUBLE_EQ(empty.reference_percent, 0.0);
  EXPECT_FALSE(empty.reference_positive);
}

TEST(QaReport, Json) {
  const auto j = nlohmann::json::parse(fp::qa_json(sample_report()));
  EXPECT_EQ(j["schema"], "flowmrd.qa/1");
  EXPECT_EQ(j["events"], 10);
  EXPECT_EQ(j["reference"]["kind"], "flowjo");
  EXPECT_EQ(j["reference"]["sample"], "s.fcs");
  EXPECT_FALSE(j["test"].contains("sample"));
  ASSERT_EQ(j["populations"].size(), 2U);
  const auto& p = j["populations"][0];
  EXPECT_EQ(p["name"], "blast");
  EXPECT_EQ(p["reference_events"], 4);
  EXPECT_EQ(p["test_events"], 3);
  EXPECT_EQ(p["difference_events"], -1);
  EXPECT_DOUBLE_EQ(p["precision"].get<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(p["recall"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(p["f1"].get<double>(), 4.0 / 7.0);
  EXPECT_DOUBLE_EQ(p["mrd"]["reference_percent"].get<double>(), 40.0);
  EXPECT_EQ(p["mrd"]["reference_call"], "positive");
  EXPECT_EQ(p["mrd"]["test_call"], "negative");
  EXPECT_EQ(p["mrd"]["calls_agree"], false);
  EXPECT_FALSE(j["populations"][1].contains("mrd"));
  EXPECT_EQ(j["unmatched_test"][0], "extra");
}

TEST(QaReport, JsonIsDeterministicAndReplacesBadUtf8) {
  auto r = sample_report();
  r.populations[0].name = "bad\xff";
  const std::string a = fp::qa_json(r);
  EXPECT_EQ(a, fp::qa_json(r));
  EXPECT_THAT(a, HasSubstr("bad\xEF\xBF\xBD"));
}

TEST(QaReport, HtmlIsSelfContainedAndEmbedsPlots) {
  auto r = sample_report();
  const std::vector<double> x = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};
  const fg::Mask ref = mask_of(10, {0, 1, 2, 3}), test = mask_of(10, {2, 3, 4});
  fp::DisagreementPlot dp;
  dp.title = "blast";
  dp.x = {"FSC-A", 0.0, 1.0};
  dp.y = {"SSC-A", 0.0, 1.0};
  dp.reference = &ref;
  dp.test = &test;
  r.populations[0].plot_png = fp::render_disagreement_plot(x, x, dp);
  const std::string html = fp::qa_html(r);
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html, Not(HasSubstr("http")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, HasSubstr("Lymph/&lt;blast&gt;"));  // escaped
  EXPECT_THAT(html, HasSubstr("DISAGREE"));
  const std::string marker = "src=\"data:image/png;base64,";
  const auto at = html.find(marker);
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(html.find(marker, at + 1), std::string::npos);  // one plot: the second population has none
  const auto start = at + marker.size();
  const auto png = base64_decode(html.substr(start, html.find('"', start) - start));
  const fp::Image img = fp::decode_png(png);
  EXPECT_EQ(img.width, 480);
  EXPECT_EQ(img.height, 420);
  EXPECT_EQ(fp::qa_html(r), html);
}

TEST(QaReport, DisagreementPlotColours) {
  const std::vector<double> x = {0.2, 0.5, 0.8}, y = {0.2, 0.5, 0.8};
  const fg::Mask ref = mask_of(3, {0, 1}), test = mask_of(3, {1, 2});
  fp::DisagreementPlot dp;
  dp.x = {"x", 0.0, 1.0};
  dp.y = {"y", 0.0, 1.0};
  dp.reference = &ref;
  dp.test = &test;
  const fp::Image img = fp::decode_png(fp::render_disagreement_plot(x, y, dp));
  fp::DensityPlot layout;
  layout.x = dp.x;
  layout.y = dp.y;
  layout.highlights.resize(2);  // same layout as the report's plot (legend row)
  const fp::PlotArea a = fp::plot_area(layout);
  const auto at = [&](double vx, double vy) {
    return img.at(static_cast<int>(std::floor(fp::pixel_x(a, dp.x, vx))),
                  static_cast<int>(std::floor(fp::pixel_y(a, dp.y, vy))));
  };
  EXPECT_EQ(at(0.2, 0.2), fp::kReferenceOnlyColour);
  EXPECT_EQ(at(0.8, 0.8), fp::kTestOnlyColour);
  const fp::Rgb agreed = at(0.5, 0.5);  // in both: only the grey density
  EXPECT_EQ(agreed.r, agreed.g);
  EXPECT_EQ(agreed.g, agreed.b);
  EXPECT_LT(agreed.r, 255);
}

TEST(QaReport, DisagreementsCsv) {
  const fg::Mask ref = mask_of(70, {0, 1, 65}), test = mask_of(70, {1, 2, 69});
  std::vector<double> x(70), y(70);
  for (std::size_t i = 0; i < 70; ++i) {
    x[i] = static_cast<double>(i) + 0.5;
    y[i] = 100.0 - static_cast<double>(i);
  }
  y[69] = std::numeric_limits<double>::quiet_NaN();
  std::ostringstream out;
  fp::write_disagreements_csv(out, {{"a,b", &ref, &test, "FSC-A", "SSC-A", x, y}});
  EXPECT_EQ(out.str(),
            "event,population,reference,test,x_axis,x,y_axis,y\n"
            "1,\"a,b\",1,0,FSC-A,0.5,SSC-A,100\n"
            "3,\"a,b\",0,1,FSC-A,2.5,SSC-A,98\n"
            "66,\"a,b\",1,0,FSC-A,65.5,SSC-A,35\n"
            "70,\"a,b\",0,1,FSC-A,69.5,SSC-A,NaN\n");
  const std::vector<double> short_x(3);
  EXPECT_THROW(fp::write_disagreements_csv(out, {{"p", &ref, &test, "x", "y", short_x, y}}), std::invalid_argument);
}

TEST(QaReport, HtmlEscape) {
  EXPECT_EQ(fp::html_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
}
