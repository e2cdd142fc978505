// SPDX-License-Identifier: Apache-2.0
// Unit tests of the patient report and the batch summary (report.hpp): escaping, the findings
// text, the MRD-over-time SVG (log axis, thresholds, markers), failed rows, key plot choice, no
// external references, CSV quoting and deterministic output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flowmrd/panels/protocol.hpp"
#include "flowmrd/pipeline/report.hpp"
#include "flowmrd/pipeline/text_escape.hpp"

namespace fp = flowmrd::pipeline;
namespace pn = flowmrd::panels;

namespace {

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + needle.size())) ++n;
  return n;
}

/// A timeline row as the store extracts it from a result JSON.
fp::TimelineRow row_from_json(const std::string& sample, const std::string& timepoint, const std::string& ptp,
                              const std::string& date, const nlohmann::json& r) {
  fp::TimelineRow row;
  row.patient = "P1";
  row.sample = sample;
  row.timepoint = timepoint;
  row.protocol_timepoint = ptp;
  row.date = date;
  row.ok = true;
  row.result_json = r.dump();
  const auto& m = r.at("mrd");
  row.mrd_status = m.value("status", "");
  if (m.contains("percent") && m["percent"].is_number()) row.mrd_percent = m["percent"].get<double>();
  if (m.contains("lod_percent") && m["lod_percent"].is_number()) row.lod_percent = m["lod_percent"].get<double>();
  if (m.contains("lloq_percent") && m["lloq_percent"].is_number()) row.lloq_percent = m["lloq_percent"].get<double>();
  if (m.contains("ci95_percent") && m["ci95_percent"].is_array()) {
    row.ci_low_percent = m["ci95_percent"][0].get<double>();
    row.ci_high_percent = m["ci95_percent"][1].get<double>();
  }
  if (m.contains("sensitivity_one_in") && m["sensitivity_one_in"].is_number()) {
    row.sensitivity_one_in = m["sensitivity_one_in"].get<double>();
  }
  if (r.contains("flags")) {
    for (const auto& f : r["flags"]) {
      if (f.value("raised", false)) row.flags.push_back(f.value("id", ""));
    }
  }
  if (r.contains("protocol") && r["protocol"].is_object()) {
    const auto& p = r["protocol"];
    row.protocol_status = p.value("status", "");
    if (p.contains("risk_group") && p["risk_group"].is_string()) row.risk_group = p["risk_group"].get<std::string>();
    if (p.contains("rule") && p["rule"].is_object()) {
      row.rule_id = p["rule"].value("id", "");
      row.rule_text = p["rule"].value("text", "");
    }
  }
  return row;
}

nlohmann::json result(const std::string& status, double percent, double lod, double lo, double hi,
                      nlohmann::json flags = nlohmann::json::array(), nlohmann::json protocol = {{"status", "not requested"}}) {
  return {{"schema", "flowmrd.result/1"},
          {"mrd",
           {{"status", status},
            {"percent", percent},
            {"lod_percent", lod},
            {"lloq_percent", lod * 2.5},
            {"ci95_percent", {lo, hi}},
            {"sensitivity_one_in", 100.0 / lod},
            {"sentence", "MRD " + status + " sentence"},
            {"phenotypes",
             {{{"population", "b_blasts"},
               {"events", 40},
               {"aberrancies", {{{"marker", "CD45"}, {"text", "CD45 under-expressed (-1.3 decades)"}}}}}}}}},
          {"flags", flags},
          {"protocol", protocol},
          {"provenance",
           {{"software_version", "0.1.0"},
            {"inputs", {{{"file", "p1.fcs"}, {"sha256", "abc123"}, {"panel", {{"name", "b-lineage-mrd"}, {"version", "1"}}}}}},
            {"reference", {{"name", "default"}, {"version", "1"}}}}}};
}

nlohmann::json cd19_flag() {
  return {{{"id", "cd19_negative"},
           {"raised", true},
           {"events", 205},
           {"percent_nucleated", 0.384233314},
           {"percent_of_blasts", 83.67346939},
           {"explanation", "CD19-negative B-lineage blasts: 205 events"}},
          {{"id", "lineage_switch"}, {"raised", false}, {"events", 0}, {"explanation", "no myelomonocytic cluster"}}};
}

fp::PatientReportInput three_timepoints() {
  fp::PatientReportInput in;
  in.patient = "P1";
  in.protocol = "Interfant-21 v1";
  in.software_version = "0.1.0";
  in.generated_at = "2024-06-01T12:00:00Z";
  in.store = "flowmrd.sqlite";
  nlohmann::json alerts = {{"status", "assigned"},
                           {"risk_group", "HR"},
                           {"rule", {{"id", "hr-mrd-blin1"}, {"text", "HR if MRD > 0.01% after blin1"}}},
                           {"alerts", {{{"rule", {{"id", "cd19-negative-blin1"}}}, {"alert", "CD19 escape after blinatumomab"}},
                                       {{"rule", {{"id", "x"}}}, {"alert", nullptr}}}}};
  in.timepoints.push_back({row_from_json("S1", "diagnosis", "dx", "2024-01-01", result("positive", 85.0, 0.04, 84.0, 86.0)), {}});
  in.timepoints.push_back({row_from_json("S2", "day33", "eoi", "2024-02-03", result("negative", 0.0, 0.004, 0.0, 0.0069)), {}});
  in.timepoints.push_back(
      {row_from_json("S3", "blin1", "blin1", "2024-03-20", result("positive", 0.4592, 0.037, 0.40, 0.52, cd19_flag(), alerts)), {}});
  in.thresholds = {{"eoi", 1.0, "hr-mrd-eoi: >= 1% at eoi"}, {"blin1", 0.01, "hr-mrd-blin1: > 0.01% at blin1"}};
  return in;
}

/// Every start tag of a normal element has its end tag, in order (void elements excepted).
::testing::AssertionResult balanced(const std::string& html) {
  static const std::vector<std::string> kVoid = {"meta", "br", "img", "link", "hr", "input", "col"};
  std::vector<std::string> stack;
  const std::regex tag(R"(<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>)");
  // Ignore the style element body.
  std::string body = html;
  const auto s0 = body.find("<style>");
  const auto s1 = body.find("</style>");
  if (s0 != std::string::npos && s1 != std::string::npos) body.erase(s0 + 7, s1 - s0 - 7);
  for (auto it = std::sregex_iterator(body.begin(), body.end(), tag); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[2];
    const std::string attrs = (*it)[3];
    if ((*it)[1] == "/") {
      if (stack.empty() || stack.back() != name) {
        return ::testing::AssertionFailure() << "unexpected </" << name << "> (open: " << (stack.empty() ? "-" : stack.back()) << ")";
      }
      stack.pop_back();
    } else if (std::find(kVoid.begin(), kVoid.end(), name) == kVoid.end() && (attrs.empty() || attrs.back() != '/')) {
      stack.push_back(name);
    }
  }
  if (!stack.empty()) return ::testing::AssertionFailure() << "unclosed <" << stack.back() << ">";
  return ::testing::AssertionSuccess();
}

std::vector<std::uint8_t> fake_png() { return {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3}; }

fp::StoredPlot plot(const std::string& name) { return {name, "title of " + name, "tube", fake_png()}; }

std::vector<fp::StoredPlot> all_plots() {
  std::vector<fp::StoredPlot> v;
  for (const char* n : {"p1-blin1-01-qc-pass.png", "p1-blin1-06-cd19.png", "p1-blin1-07-b-cd45-cd10.png",
                        "p1-blin1-08-b-cd10-cd34.png", "p1-blin1-09-b-cd10-cd20.png", "p1-blin1-12-cd19neg-cd10-cd34.png",
                        "p1-blin1-13-cd19neg-cd45-ssc.png", "p1-blin1-14-mm-cd64-cd14.png", "p1-blin1-15-mm-cd45-ssc.png",
                        "p1-blin1-16-mm-cd33-hladr.png"}) {
    v.push_back(plot(n));
  }
  return v;
}

std::vector<std::string> names(const std::vector<fp::StoredPlot>& v) {
  std::vector<std::string> out;
  for (const auto& p : v) out.push_back(p.name);
  return out;
}

double attr_double(const std::string& text, const std::string& attr) {
  const auto pos = text.find(attr + "=\"");
  if (pos == std::string::npos) return -1;
  return std::stod(text.substr(pos + attr.size() + 2));
}

}  // namespace

TEST(ReportEscape, EscapesAllHtmlSpecialCharacters) {
  EXPECT_EQ(fp::html_escape(R"(<a href="x">Tom & 'Jerry'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
}

TEST(PatientReport, EscapesPatientAndErrorText) {
  fp::PatientReportInput in = three_timepoints();
  in.patient = "<script>alert(1)</script>";
  fp::TimelineRow failed;
  failed.sample = "S4";
  failed.timepoint = "relapse & <b>";
  failed.ok = false;
  failed.error_kind = "input_invalid";
  failed.error_message = "x.fcs: bad \"TEXT\" <segment>";
  in.timepoints.push_back({failed, {}});
  const std::string h = fp::render_patient_report(in);
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_NE(h.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(h.find("relapse &amp; &lt;b&gt;"), std::string::npos);
  EXPECT_NE(h.find("x.fcs: bad &quot;TEXT&quot; &lt;segment&gt;"), std::string::npos);
  EXPECT_TRUE(balanced(h));
}

TEST(PatientReport, IsValidSelfContainedHtml) {
  fp::PatientReportInput in = three_timepoints();
  in.timepoints[2].plots = {plot("p1-blin1-08-b-cd10-cd34.png")};
  const std::string h = fp::render_patient_report(in);
  EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0U);
  EXPECT_TRUE(balanced(h));
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_EQ(h.find("http://"), std::string::npos);
  EXPECT_EQ(h.find("https://"), std::string::npos);
  EXPECT_EQ(h.find("url("), std::string::npos);
  EXPECT_EQ(h.find("@import"), std::string::npos);
  // Every src/href is a data: URI or an in-page anchor.
  const std::regex ref(R"((src|href)=\"([^\"]*)\")");
  for (auto it = std::sregex_iterator(h.begin(), h.end(), ref); it != std::sregex_iterator(); ++it) {
    const std::string v = (*it)[2];
    EXPECT_TRUE(v.rfind("data:image/png;base64,", 0) == 0 || v.rfind("#", 0) == 0) << v;
  }
  EXPECT_NE(h.find("data:image/png;base64,iVBORw0K"), std::string::npos);
  EXPECT_NE(h.find("title of p1-blin1-08-b-cd10-cd34.png"), std::string::npos);  // caption
  EXPECT_NE(h.find("@page"), std::string::npos);
  EXPECT_NE(h.find("break-before: page"), std::string::npos);
}

TEST(PatientReport, HeaderTableAndFooter) {
  const std::string h = fp::render_patient_report(three_timepoints());
  EXPECT_NE(h.find("Interfant-21 v1"), std::string::npos);
  EXPECT_NE(h.find("<b>Timepoints:</b> 3"), std::string::npos);
  EXPECT_NE(h.find("Latest result, blin1 (2024-03-20): MRD positive sentence"), std::string::npos);
  EXPECT_NE(h.find("0.46%"), std::string::npos);
  EXPECT_NE(h.find("negative</span><br><span class=\"small\">LOD 0.004%, 1 in 25,000"), std::string::npos);
  EXPECT_NE(h.find("0.4–0.52%"), std::string::npos);
  EXPECT_NE(h.find("<b>HR</b>"), std::string::npos);
  EXPECT_NE(h.find("hr-mrd-blin1: HR if MRD &gt; 0.01% after blin1"), std::string::npos);
  EXPECT_NE(h.find("CD45 under-expressed (-1.3 decades)"), std::string::npos);
  EXPECT_NE(h.find("<code>abc123</code>"), std::string::npos);
  EXPECT_NE(h.find("b-lineage-mrd v1"), std::string::npos);
  EXPECT_NE(h.find("2024-06-01T12:00:00Z"), std::string::npos);
  EXPECT_NE(h.find("flowmrd.sqlite"), std::string::npos);
  EXPECT_EQ(count(h, "<section class=\"timepoint\""), 3U);
}

TEST(PatientReport, FindingsForRaisedFlagsAndAlerts) {
  const std::string h = fp::render_patient_report(three_timepoints());
  EXPECT_NE(h.find("CD19-NEGATIVE BLASTS at blin1 (2024-03-20)</strong>: 0.38% of nucleated cells, 83.7% of B-lineage "
                   "blasts lack CD19 — CD19-directed therapy (blinatumomab, CAR-T) may not reach them"),
            std::string::npos)
      << h.substr(h.find("findings"), 2000);
  EXPECT_NE(h.find("PROTOCOL ALERT at blin1 (2024-03-20)</strong>: CD19 escape after blinatumomab"), std::string::npos);
  EXPECT_EQ(h.find("No CD19-negative or lineage-switch population"), std::string::npos);
  EXPECT_NE(h.find("findings alert"), std::string::npos);
  EXPECT_EQ(h.find("LINEAGE SWITCH at"), std::string::npos);  // not raised
}

TEST(PatientReport, LineageSwitchFinding) {
  fp::PatientReportInput in = three_timepoints();
  nlohmann::json flags = {{{"id", "lineage_switch"},
                           {"raised", true},
                           {"events", 6405},
                           {"percent_nucleated", 12.0},
                           {"explanation", "myelomonocytic blasts off the monocyte path"}}};
  in.timepoints[1] = {row_from_json("S2", "relapse", "", "2024-02-03", result("positive", 12.0, 0.04, 11.8, 12.2, flags)), {}};
  const std::string h = fp::render_patient_report(in);
  EXPECT_NE(h.find("LINEAGE SWITCH at relapse (2024-02-03)</strong>: myelomonocytic blasts, 12% of nucleated cells, "
                   "6,405 events"),
            std::string::npos);
  EXPECT_NE(h.find("myelomonocytic blasts off the monocyte path"), std::string::npos);
}

TEST(PatientReport, SaysWhenNothingIsRaised) {
  fp::PatientReportInput in = three_timepoints();
  in.timepoints.pop_back();
  const std::string h = fp::render_patient_report(in);
  EXPECT_NE(h.find("No CD19-negative or lineage-switch population was found at any timepoint"), std::string::npos);
  EXPECT_EQ(h.find("findings alert"), std::string::npos);
}

TEST(PatientReport, FailedSampleShowsReason) {
  fp::PatientReportInput in = three_timepoints();
  fp::TimelineRow failed;
  failed.sample = "S4";
  failed.timepoint = "day15";
  failed.date = "2024-01-15";
  failed.ok = false;
  failed.error_kind = "input_invalid";
  failed.error_message = "p1-day15.fcs: not an FCS file";
  in.timepoints.insert(in.timepoints.begin() + 1, {failed, {}});
  const std::string h = fp::render_patient_report(in);
  EXPECT_NE(h.find("<tr class=\"failed\">"), std::string::npos);
  EXPECT_NE(h.find("FAILED: p1-day15.fcs: not an FCS file"), std::string::npos);
  EXPECT_NE(h.find("ANALYSIS FAILED at day15 (2024-01-15)"), std::string::npos);
  EXPECT_NE(h.find("(1 failed)"), std::string::npos);
  EXPECT_TRUE(balanced(h));
  // The SVG marks the failed timepoint.
  EXPECT_NE(h.find("class=\"pt failed\""), std::string::npos);
}

TEST(PatientReport, NoTimepoints) {
  fp::PatientReportInput in;
  in.patient = "P9";
  const std::string h = fp::render_patient_report(in);
  EXPECT_TRUE(balanced(h));
  EXPECT_NE(h.find("No sample of this patient is recorded"), std::string::npos);
  EXPECT_EQ(h.find("<svg"), std::string::npos);
}

TEST(PatientReport, Deterministic) {
  fp::PatientReportInput in = three_timepoints();
  in.timepoints[0].plots = {plot("p1-dx-08-b-cd10-cd34.png")};
  EXPECT_EQ(fp::render_patient_report(in), fp::render_patient_report(in));
  fp::PatientReportInput copy = in;
  EXPECT_EQ(fp::render_patient_report(in), fp::render_patient_report(copy));
}

TEST(MrdSvg, ContainsPointsThresholdsAndAccessibleText) {
  const fp::PatientReportInput in = three_timepoints();
  const std::string s = fp::mrd_over_time_svg(in);
  ASSERT_FALSE(s.empty());
  EXPECT_NE(s.find("<title id=\"mrdplot-title\">"), std::string::npos);
  EXPECT_NE(s.find("<desc id=\"mrdplot-desc\">"), std::string::npos);
  EXPECT_EQ(count(s, "<g class=\"pt "), 3U);
  EXPECT_EQ(count(s, "class=\"threshold\""), 2U);  // eoi and blin1, each at its timepoint
  EXPECT_NE(s.find("hr-mrd-eoi: &gt;= 1% at eoi"), std::string::npos);
  EXPECT_NE(s.find("&lt; LOD 0.004%"), std::string::npos);  // negative drawn at the LOD
  EXPECT_NE(s.find("stroke-dasharray"), std::string::npos);
  EXPECT_NE(s.find(">0.001%<"), std::string::npos);  // axis reaches 0.001%
  EXPECT_NE(s.find(">100%<"), std::string::npos);
  EXPECT_TRUE(balanced(s));
}

TEST(MrdSvg, LogAxisPlacementIsMonotonic) {
  fp::PatientReportInput in;
  in.patient = "P";
  const std::vector<double> values = {50.0, 5.0, 0.5, 0.05, 0.005};
  int day = 1;
  for (double v : values) {
    in.timepoints.push_back({row_from_json("S" + std::to_string(day), "t" + std::to_string(day), "",
                                           "2024-01-0" + std::to_string(day), result("positive", v, 0.001, v * 0.9, v * 1.1)),
                             {}});
    ++day;
  }
  const std::string s = fp::mrd_over_time_svg(in);
  std::vector<double> ys;
  for (std::size_t pos = s.find("<g class=\"pt "); pos != std::string::npos; pos = s.find("<g class=\"pt ", pos + 1)) {
    ys.push_back(attr_double(s.substr(pos, 300), "data-y"));
  }
  ASSERT_EQ(ys.size(), values.size());
  for (std::size_t i = 1; i < ys.size(); ++i) EXPECT_GT(ys[i], ys[i - 1]);  // smaller MRD = lower = larger y
  // Equal ratios give equal spacing on a log axis.
  EXPECT_NEAR(ys[1] - ys[0], ys[4] - ys[3], 0.2);
}

TEST(MrdSvg, DateSpacingIsProportional) {
  fp::PatientReportInput in;
  in.patient = "P";
  const char* dates[] = {"2024-01-01", "2024-01-11", "2024-03-01"};
  for (int i = 0; i < 3; ++i) {
    in.timepoints.push_back({row_from_json("S", "t" + std::to_string(i), "", dates[i], result("positive", 1.0, 0.01, 0.9, 1.1)), {}});
  }
  const std::string s = fp::mrd_over_time_svg(in);
  std::vector<double> xs;
  for (std::size_t pos = s.find("<circle cx=\""); pos != std::string::npos; pos = s.find("<circle cx=\"", pos + 1)) {
    xs.push_back(std::stod(s.substr(pos + 12)));
  }
  ASSERT_GE(xs.size(), 4U);  // 3 points + the legend circle (last)
  const double a = xs[1] - xs[0], b = xs[2] - xs[1];
  EXPECT_NEAR(b / a, 50.0 / 10.0, 0.1);
}

TEST(MrdSvg, EmptyWithoutValues) {
  fp::PatientReportInput in;
  fp::TimelineRow failed;
  failed.ok = false;
  in.timepoints.push_back({failed, {}});
  EXPECT_TRUE(fp::mrd_over_time_svg(in).empty());
}

TEST(KeyPlots, BLineageViewsOnlyWhenNothingRaised) {
  fp::TimelineRow row;
  EXPECT_EQ(names(fp::key_plots(all_plots(), row)),
            (std::vector<std::string>{"p1-blin1-07-b-cd45-cd10.png", "p1-blin1-08-b-cd10-cd34.png"}));
}

TEST(KeyPlots, Cd19NegativeWindowWhenRaised) {
  fp::TimelineRow row;
  row.flags = {"cd19_negative"};
  EXPECT_EQ(names(fp::key_plots(all_plots(), row)),
            (std::vector<std::string>{"p1-blin1-07-b-cd45-cd10.png", "p1-blin1-08-b-cd10-cd34.png",
                                      "p1-blin1-12-cd19neg-cd10-cd34.png", "p1-blin1-13-cd19neg-cd45-ssc.png"}));
}

TEST(KeyPlots, LineageSwitchViewsWhenRaised) {
  fp::TimelineRow row;
  row.flags = {"lineage_switch"};
  EXPECT_EQ(names(fp::key_plots(all_plots(), row)),
            (std::vector<std::string>{"p1-blin1-07-b-cd45-cd10.png", "p1-blin1-08-b-cd10-cd34.png",
                                      "p1-blin1-14-mm-cd64-cd14.png", "p1-blin1-16-mm-cd33-hladr.png"}));
}

TEST(KeyPlots, BothRaisedKeepsTheMostInformativeWithinTheLimit) {
  fp::TimelineRow row;
  row.flags = {"cd19_negative", "lineage_switch"};
  EXPECT_EQ(names(fp::key_plots(all_plots(), row)),
            (std::vector<std::string>{"p1-blin1-07-b-cd45-cd10.png", "p1-blin1-08-b-cd10-cd34.png",
                                      "p1-blin1-12-cd19neg-cd10-cd34.png", "p1-blin1-14-mm-cd64-cd14.png"}));
  EXPECT_EQ(fp::key_plots(all_plots(), row, 6).size(), 6U);
  EXPECT_EQ(names(fp::key_plots(all_plots(), row, 1)), (std::vector<std::string>{"p1-blin1-08-b-cd10-cd34.png"}));
}

TEST(KeyPlots, MatchesOnlyTheNumberedSuffix) {
  fp::TimelineRow row;
  const std::vector<fp::StoredPlot> v = {plot("x-b-cd10-cd34.png"), plot("p1-xb-cd10-cd34.png"), plot("p1-3-b-cd10-cd34.png"),
                                         plot("07-b-cd45-cd10.png"), plot("p-1-b-cd10-cd34.png")};
  EXPECT_EQ(names(fp::key_plots(v, row)), (std::vector<std::string>{"07-b-cd45-cd10.png"}));
}

TEST(ProtocolThresholds, EveryMrdLeafInRuleOrder) {
  const auto p = pn::load_protocol_string(R"toml(
name = "Test"
version = "2"
source = "unit test"

[[timepoint]]
id = "eoi"
tissue = "BM"
method = "FCM"

[[timepoint]]
id = "blin1"
tissue = "BM"
method = "FCM"

[[rule]]
id = "hr-eoi"
text = "HR if MRD >= 1% at eoi"
assign = "HR"
all = [ { input = "mrd_percent", timepoint = "eoi", op = ">=", value = 1.0 } ]

[[rule]]
id = "hr-blin1"
text = "HR if MRD > 0.01% after blinatumomab"
assign = "HR"
any = [ { input = "mrd_percent", timepoint = "blin1", op = ">", value = 0.01 }, { input = "cd19_negative", timepoint = "blin1", op = "==", value = true } ]

[[rule]]
id = "ir"
text = "otherwise IR"
assign = "IR"
otherwise = true
)toml",
                                          "test.toml");
  const auto t = fp::protocol_thresholds(p);
  ASSERT_EQ(t.size(), 2U);
  EXPECT_EQ(t[0].timepoint, "eoi");
  EXPECT_DOUBLE_EQ(t[0].percent, 1.0);
  EXPECT_EQ(t[0].label, "hr-eoi: >= 1% at eoi");
  EXPECT_EQ(t[1].timepoint, "blin1");
  EXPECT_DOUBLE_EQ(t[1].percent, 0.01);
  EXPECT_EQ(t[1].label, "hr-blin1: > 0.01% at blin1");
}

TEST(ProtocolThresholds, ShippedInterfant21) {
  const auto p = pn::load_protocol(std::filesystem::path(FLOWMRD_SOURCE_DIR) / "panels/protocols/interfant-21.toml");
  const auto t = fp::protocol_thresholds(p);
  ASSERT_FALSE(t.empty());
  bool eoi = false, blin1 = false;
  for (const auto& x : t) {
    eoi = eoi || (x.timepoint == "eoi" && x.percent == 1.0);
    blin1 = blin1 || (x.timepoint == "blin1" && x.percent == 0.01);
  }
  EXPECT_TRUE(eoi);
  EXPECT_TRUE(blin1);
}

TEST(BatchSummary, CsvHeaderQuotingAndNumbers) {
  fp::BatchSummaryRow a;
  a.patient = "P1";
  a.sample = "S1";
  a.timepoint = "day 33, EOI";
  a.date = "2024-02-03";
  a.files = "a.fcs;b.fcs";
  a.outcome = "analysed";
  a.mrd_percent = 0.045920566789123;
  a.mrd_status = "positive";
  a.flags = {"cd19_negative", "low_cellularity"};
  a.risk_group = "HR";
  a.report = "P1.html";
  a.seconds = 3.2;
  fp::BatchSummaryRow b;
  b.patient = "P2";
  b.sample = "S\"2\"";
  b.outcome = "failed";
  b.error = "x.fcs: bad\nline";
  const std::string csv = fp::batch_summary_csv({a, b});
  EXPECT_EQ(csv,
            "patient,sample,timepoint,date,files,outcome,error,mrd_percent,mrd_status,flags,risk_group,report\n"
            "P1,S1,\"day 33, EOI\",2024-02-03,a.fcs;b.fcs,analysed,,0.04592056679,positive,cd19_negative;low_cellularity,HR,"
            "P1.html\n"
            "P2,\"S\"\"2\"\"\",,,,failed,\"x.fcs: bad\nline\",,,,,\n");
}

TEST(BatchSummary, HtmlCountsFailuresAndLinks) {
  fp::BatchSummaryRow a;
  a.patient = "P1";
  a.outcome = "analysed";
  a.mrd_percent = 0.46;
  a.mrd_status = "positive";
  a.flags = {"cd19_negative"};
  a.report = "reports/P1 & co.html";
  fp::BatchSummaryRow s = a;
  s.outcome = "skipped (unchanged)";
  fp::BatchSummaryRow f;
  f.patient = "P2";
  f.outcome = "failed";
  f.error = "p2.fcs: <not FCS>";
  const std::string h = fp::batch_summary_html({a, s, f}, "Batch 2024-06", "0.1.0", "2024-06-01T00:00:00Z");
  EXPECT_TRUE(balanced(h));
  EXPECT_NE(h.find("<b>1</b>analysed"), std::string::npos) << h;
  EXPECT_NE(h.find("<b>1</b>skipped"), std::string::npos);
  EXPECT_NE(h.find("<b>1</b>failed"), std::string::npos);
  EXPECT_NE(h.find("<tr class=\"failed\">"), std::string::npos);
  EXPECT_NE(h.find("FAILED: p2.fcs: &lt;not FCS&gt;"), std::string::npos);
  EXPECT_NE(h.find("href=\"reports/P1 &amp; co.html\""), std::string::npos);
  EXPECT_EQ(h.find("http"), std::string::npos);
  EXPECT_EQ(h, fp::batch_summary_html({a, s, f}, "Batch 2024-06", "0.1.0", "2024-06-01T00:00:00Z"));
}

