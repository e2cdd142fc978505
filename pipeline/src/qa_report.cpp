// SPDX-License-Identifier: Apache-2.0
// The QA comparison report: JSON, HTML (self-contained) and the disagreements CSV.
#include "flowmrd/pipeline/qa_report.hpp"
#include "flowmrd/pipeline/text_escape.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace flowmrd::pipeline {

MrdComparison compare_mrd(std::size_t reference_events, std::size_t reference_denominator, std::size_t test_events,
                          std::size_t test_denominator, double threshold_percent) {
  const auto percent = [](std::size_t n, std::size_t d) {
    return d == 0 ? 0.0 : 100.0 * static_cast<double>(n) / static_cast<double>(d);
  };
  MrdComparison m;
  m.reference_denominator = reference_denominator;
  m.test_denominator = test_denominator;
  m.reference_percent = percent(reference_events, reference_denominator);
  m.test_percent = percent(test_events, test_denominator);
  m.difference = m.test_percent - m.reference_percent;
  m.reference_positive = m.reference_percent >= threshold_percent;
  m.test_positive = m.test_percent >= threshold_percent;
  m.calls_agree = m.reference_positive == m.test_positive;
  return m;
}

namespace {

using Json = nlohmann::ordered_json;

Json source_json(const QaSource& s) {
  Json j;
  j["path"] = s.path;
  j["kind"] = s.kind;
  if (!s.sample.empty()) j["sample"] = s.sample;
  return j;
}

Json population_json(const QaPopulation& p) {
  const gating::Agreement& a = p.agreement;
  Json j;
  j["name"] = p.name;
  j["reference_path"] = p.reference_path;
  j["test_name"] = p.test_name;
  j["match"] = p.match;
  j["reference_events"] = a.reference_events;
  j["test_events"] = a.test_events;
  j["both"] = a.both;
  j["reference_only"] = a.reference_only;
  j["test_only"] = a.test_only;
  j["difference_events"] = a.difference_events;
  j["difference_percent"] = a.difference_percent;
  j["precision"] = a.precision;
  j["recall"] = a.recall;
  j["f1"] = a.f1;
  if (p.mrd) {
    const MrdComparison& m = *p.mrd;
    Json mrd;
    mrd["reference_percent"] = m.reference_percent;
    mrd["test_percent"] = m.test_percent;
    mrd["difference"] = m.difference;
    mrd["reference_denominator"] = m.reference_denominator;
    mrd["test_denominator"] = m.test_denominator;
    mrd["reference_call"] = m.reference_positive ? "positive" : "negative";
    mrd["test_call"] = m.test_positive ? "positive" : "negative";
    mrd["calls_agree"] = m.calls_agree;
    j["mrd"] = std::move(mrd);
  }
  j["x_axis"] = p.x_axis;
  j["y_axis"] = p.y_axis;
  return j;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string signed_count(long long v) { return (v > 0 ? "+" : "") + std::to_string(v); }

// Shortest round-trip text; non-finite values as R writes them (as `flowmrd export` does).
std::string shortest(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return {buf, r.ptr};
}

constexpr const char* kStyle = R"(body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:0.9em}
th,td{border:1px solid #bbb;padding:0.25em 0.5em}
th{background:#eee}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.disagree td{background:#fff4e5}
dl{display:grid;grid-template-columns:max-content auto;gap:0.2em 1em}
dt{font-weight:bold}
section{margin:1.5em 0}
.ref{color:rgb(213,94,0);font-weight:bold}
.test{color:rgb(0,114,178);font-weight:bold}
)";

void html_row(std::string& h, const QaPopulation& p) {
  const gating::Agreement& a = p.agreement;
  const bool disagree = a.reference_only + a.test_only > 0 || (p.mrd && !p.mrd->calls_agree);
  h += disagree ? "<tr class=\"disagree\">" : "<tr>";
  const auto cell = [&](const std::string& v, bool number) {
    h += number ? "<td class=\"n\">" : "<td>";
    h += html_escape(v);
    h += "</td>";
  };
  cell(p.reference_path, false);
  cell(p.test_name, false);
  cell(p.match, false);
  cell(std::to_string(a.reference_events), true);
  cell(std::to_string(a.test_events), true);
  cell(signed_count(a.difference_events), true);
  cell(fixed(a.difference_percent, 2), true);
  cell(std::to_string(a.reference_only), true);
  cell(std::to_string(a.test_only), true);
  cell(fixed(a.precision, 4), true);
  cell(fixed(a.recall, 4), true);
  cell(fixed(a.f1, 4), true);
  if (p.mrd) {
    cell(fixed(p.mrd->reference_percent, 4), true);
    cell(fixed(p.mrd->test_percent, 4), true);
    cell(fixed(p.mrd->difference, 4), true);
    cell(std::string{p.mrd->reference_positive ? "pos" : "neg"} + " / " + (p.mrd->test_positive ? "pos" : "neg") +
             (p.mrd->calls_agree ? " (agree)" : " (DISAGREE)"),
         false);
  } else {
    for (int i = 0; i < 4; ++i) cell("", false);
  }
  h += "</tr>\n";
}

void html_list(std::string& h, const char* title, const std::vector<std::string>& names) {
  if (names.empty()) return;
  h += "<p><b>";
  h += title;
  h += "</b> (";
  h += std::to_string(names.size());
  h += "): ";
  for (std::size_t i = 0; i < names.size(); ++i) h += (i > 0 ? ", " : "") + html_escape(names[i]);
  h += "</p>\n";
}

}  // namespace

std::string qa_json(const QaReport& r) {
  Json j;
  j["schema"] = "flowmrd.qa/1";
  j["flowmrd_version"] = r.software_version;
  j["fcs_file"] = r.fcs_file;
  j["events"] = r.events;
  j["reference"] = source_json(r.reference);
  j["test"] = source_json(r.test);
  j["mrd_threshold_percent"] = r.threshold_percent;
  j["mrd_denominator"] = r.denominator;
  Json pops = Json::array();
  for (const QaPopulation& p : r.populations) pops.push_back(population_json(p));
  j["populations"] = std::move(pops);
  j["unmatched_reference"] = r.unmatched_reference;
  j["unmatched_test"] = r.unmatched_test;
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string qa_html(const QaReport& r) {
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>flowmrd QA: ";
  h += html_escape(r.fcs_file);
  h += "</title>\n<style>\n";
  h += kStyle;
  h += "</style>\n</head>\n<body>\n<h1>Gating comparison</h1>\n<dl>\n";
  const auto item = [&](const std::string& k, const std::string& v) {
    h += "<dt>" + html_escape(k) + "</dt><dd>" + html_escape(v) + "</dd>\n";
  };
  item("FCS file", r.fcs_file);
  item("Events", std::to_string(r.events));
  const auto source = [](const QaSource& s) {
    return s.kind + ": " + s.path + (s.sample.empty() ? "" : " (sample " + s.sample + ")");
  };
  item("Reference", source(r.reference));
  item("Test", source(r.test));
  item("MRD threshold", shortest(r.threshold_percent) + " % of " + r.denominator);
  item("flowmrd", r.software_version);
  h += "</dl>\n<h2>Populations</h2>\n<table>\n<tr><th>Reference population</th><th>Test population</th>"
       "<th>Match</th><th>Reference events</th><th>Test events</th><th>Difference</th><th>Difference %</th>"
       "<th>Reference only</th><th>Test only</th><th>Precision</th><th>Recall</th><th>F1</th>"
       "<th>MRD % reference</th><th>MRD % test</th><th>MRD difference</th><th>MRD call</th></tr>\n";
  for (const QaPopulation& p : r.populations) html_row(h, p);
  h += "</table>\n";
  html_list(h, "Reference populations without a test population", r.unmatched_reference);
  html_list(h, "Test populations without a reference population", r.unmatched_test);
  h += "<h2>Disagreeing events</h2>\n<p><span class=\"ref\">&#9632; reference only</span> &nbsp; "
       "<span class=\"test\">&#9632; test only</span>, over the density of the parent population (grey).</p>\n";
  for (std::size_t i = 0; i < r.populations.size(); ++i) {
    const QaPopulation& p = r.populations[i];
    h += "<section id=\"population-" + std::to_string(i + 1) + "\">\n<h3>" + html_escape(p.reference_path) + "</h3>\n";
    h += "<p>" + std::to_string(p.agreement.reference_only) + " event(s) only in the reference, " +
         std::to_string(p.agreement.test_only) + " only in the test; F1 " + fixed(p.agreement.f1, 4) + ". Axes: " +
         html_escape(p.x_axis) + " / " + html_escape(p.y_axis) + ".</p>\n";
    if (!p.plot_png.empty()) {
      const Image size = decode_png(p.plot_png);
      h += "<img src=\"" + data_uri("image/png", p.plot_png) + "\" width=\"" + std::to_string(size.width) +
           "\" height=\"" + std::to_string(size.height) + "\" alt=\"disagreeing events of " +
           html_escape(p.reference_path) + "\">\n";
    }
    h += "</section>\n";
  }
  h += "</body>\n</html>\n";
  return h;
}

std::vector<std::uint8_t> render_disagreement_plot(std::span<const double> x, std::span<const double> y,
                                                   const DisagreementPlot& plot) {
  if (plot.reference == nullptr || plot.test == nullptr) {
    throw std::invalid_argument("disagreement plot: both masks are required");
  }
  const gating::Mask reference_only = *plot.reference & ~*plot.test;
  const gating::Mask test_only = *plot.test & ~*plot.reference;
  DensityPlot d;
  d.title = plot.title;
  d.x = plot.x;
  d.y = plot.y;
  d.events = plot.background;
  d.colours = ColourMap::greys;
  d.highlights.push_back({&reference_only, kReferenceOnlyColour, "reference only"});
  d.highlights.push_back({&test_only, kTestOnlyColour, "test only"});
  if (plot.gate) d.gates.push_back({*plot.gate, plot.gate_label, Rgb{0, 0, 0}});
  return encode_png(render_density_plot(x, y, d));
}

void write_disagreements_csv(std::ostream& out, const std::vector<DisagreementSet>& sets) {
  out << "event,population,reference,test,x_axis,x,y_axis,y\n";
  for (const DisagreementSet& s : sets) {
    if (s.reference == nullptr || s.test == nullptr || s.reference->size() != s.test->size() ||
        s.x.size() != s.reference->size() || s.y.size() != s.reference->size()) {
      throw std::invalid_argument("disagreements of '" + s.population + "': masks and coordinates differ in size");
    }
    const std::string population = csv_field(s.population);
    const std::string x_axis = csv_field(s.x_axis);
    const std::string y_axis = csv_field(s.y_axis);
    const auto& rw = s.reference->words();
    const auto& tw = s.test->words();
    for (std::size_t w = 0; w < rw.size(); ++w) {
      std::uint64_t bits = rw[w] ^ tw[w];
      while (bits != 0) {
        const std::size_t i = w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
        bits &= bits - 1;
        const bool in_reference = s.reference->test(i);
        out << (i + 1) << ',' << population << ',' << (in_reference ? 1 : 0) << ',' << (in_reference ? 0 : 1) << ','
            << x_axis << ',' << shortest(s.x[i]) << ',' << y_axis << ',' << shortest(s.y[i]) << '\n';
      }
    }
  }
}

}  // namespace flowmrd::pipeline
