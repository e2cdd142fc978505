// SPDX-License-Identifier: Apache-2.0
// The clinician's patient report and the batch summary (docs/report.md).
#include "flowmrd/pipeline/report.hpp"
#include "flowmrd/pipeline/text_escape.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "flowmrd/pipeline/mrd_statistics.hpp"
#include "flowmrd/pipeline/plot.hpp"

namespace flowmrd::pipeline {

namespace {

using nlohmann::json;
namespace pn = flowmrd::panels;

// ---------------------------------------------------------------------------------------------
// Small helpers

std::string esc(std::string_view s) { return html_escape(s); }

std::string pct(double v) { return format_percent(v) + "%"; }

std::string fixed(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s == "-0.0" || s == "-0") s.erase(0, 1);
  return s;
}

bool has_flag(const TimelineRow& row, std::string_view id) {
  return std::find(row.flags.begin(), row.flags.end(), id) != row.flags.end();
}

/// The parsed result JSON of a row (null when absent or unparsable).
json parse_result(const TimelineRow& row) {
  if (row.result_json.empty()) return json();
  json j = json::parse(row.result_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return json();
  return j;
}

std::string str_at(const json& j, std::string_view key) {
  if (!j.is_object()) return {};
  const auto it = j.find(std::string{key});
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::optional<double> num_at(const json& j, std::string_view key) {
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find(std::string{key});
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

const json& obj_at(const json& j, std::string_view key) {
  static const json null_json;
  if (!j.is_object()) return null_json;
  const auto it = j.find(std::string{key});
  return it == j.end() ? null_json : *it;
}

/// "blin1" or "day 33 (eoi)": the lab label with the protocol timepoint when it differs.
std::string timepoint_label(const TimelineRow& row) {
  std::string s = row.timepoint.empty() ? row.sample : row.timepoint;
  if (!row.protocol_timepoint.empty() && row.protocol_timepoint != s) s += " (" + row.protocol_timepoint + ")";
  return s;
}

/// "blin1 (2024-05-02)" or "blin1".
std::string where(const TimelineRow& row) {
  std::string s = timepoint_label(row);
  if (!row.date.empty()) s += " (" + row.date + ")";
  return s;
}

std::string sensitivity_text(const TimelineRow& row) {
  std::string s;
  if (row.lod_percent) s = "LOD " + pct(*row.lod_percent);
  if (row.sensitivity_one_in && *row.sensitivity_one_in > 0 && std::isfinite(*row.sensitivity_one_in)) {
    if (!s.empty()) s += ", ";
    s += "1 in " + format_count(static_cast<std::uint64_t>(std::llround(*row.sensitivity_one_in)));
  }
  return s;
}

std::string status_words(const std::string& status) {
  if (status == "positive") return "positive";
  if (status == "positive_below_lloq") return "positive, not quantifiable (< LLOQ)";
  if (status == "negative") return "negative";
  if (status == "insufficient_sensitivity") return "insufficient sensitivity";
  if (status == "not_evaluable") return "not evaluable";
  if (status.empty()) return "no MRD result";
  std::string s = status;
  std::replace(s.begin(), s.end(), '_', ' ');
  return s;
}

std::string status_class(const std::string& status) {
  if (status == "positive") return "st-pos";
  if (status == "positive_below_lloq") return "st-low";
  if (status == "negative") return "st-neg";
  return "st-na";
}

std::string mrd_value_text(const TimelineRow& row) {
  if (!row.mrd_percent) return "—";
  if (row.mrd_status == "negative" || row.mrd_status == "insufficient_sensitivity") {
    return row.lod_percent ? "< " + pct(*row.lod_percent) : pct(*row.mrd_percent);
  }
  return pct(*row.mrd_percent);
}

std::string ci_text(const TimelineRow& row) {
  if (!row.ci_low_percent || !row.ci_high_percent) return "—";
  return format_percent(*row.ci_low_percent) + "–" + format_percent(*row.ci_high_percent) + "%";
}

/// Days since 1970-01-01 of "YYYY-MM-DD", or nullopt.
std::optional<long> parse_date(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int y = 0, m = 0, d = 0;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[static_cast<std::size_t>(i)] < '0' || s[static_cast<std::size_t>(i)] > '9') return std::nullopt;
  }
  y = std::stoi(s.substr(0, 4));
  m = std::stoi(s.substr(5, 2));
  d = std::stoi(s.substr(8, 2));
  if (m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  // days_from_civil (H. Hinnant)
  y -= m <= 2 ? 1 : 0;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const long yoe = y - era * 400;
  const long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// ---------------------------------------------------------------------------------------------
// Findings

struct Finding {
  enum class Level { alert, warning, info } level = Level::alert;
  std::string html;  // already escaped
};

std::string flag_numbers(const json& flag) {
  std::string s;
  if (const auto v = num_at(flag, "percent_nucleated")) s += pct(*v) + " of nucleated cells";
  if (const auto v = num_at(flag, "events")) {
    if (!s.empty()) s += ", ";
    s += format_count(static_cast<std::uint64_t>(std::llround(std::max(0.0, *v)))) + " events";
  }
  return s;
}

void findings_for(const TimelineRow& row, const json& result, std::vector<Finding>& out) {
  const std::string at = esc(where(row));
  if (!row.ok) {
    out.push_back({Finding::Level::warning, "<strong>ANALYSIS FAILED at " + at + "</strong> (sample " +
                                                esc(row.sample) + "): " + esc(row.error_message) +
                                                " — no MRD result for this timepoint."});
    return;
  }
  const json& flags = obj_at(result, "flags");
  bool saw_cd19 = false, saw_switch = false;
  if (flags.is_array()) {
    for (const json& f : flags) {
      const std::string id = str_at(f, "id");
      const bool raised = f.is_object() && f.value("raised", false);
      if (!raised) continue;
      const std::string expl = str_at(f, "explanation");
      if (id == "cd19_negative") {
        saw_cd19 = true;
        std::string h = "<strong>CD19-NEGATIVE BLASTS at " + at + "</strong>: ";
        const auto pn = num_at(f, "percent_nucleated");
        const auto pb = num_at(f, "percent_of_blasts");
        h += pn ? esc(pct(*pn)) + " of nucleated cells" : std::string{"a population"};
        if (pb) h += ", " + esc(format_percent(*pb, 3)) + "% of B-lineage blasts lack CD19";
        h += " — CD19-directed therapy (blinatumomab, CAR-T) may not reach them.";
        if (!expl.empty()) h += "<br><span class=\"expl\">" + esc(expl) + "</span>";
        out.push_back({Finding::Level::alert, std::move(h)});
      } else if (id == "lineage_switch") {
        saw_switch = true;
        std::string h = "<strong>LINEAGE SWITCH at " + at + "</strong>: myelomonocytic blasts";
        const std::string nums = flag_numbers(f);
        if (!nums.empty()) h += ", " + esc(nums);
        h += " — these blasts are missed by CD19-based gating; follow-up needs the myelomonocytic panel "
             "(CD64, CD11b, CD14, CD4, HLA-DR, CD33, CD45).";
        if (!expl.empty()) h += "<br><span class=\"expl\">" + esc(expl) + "</span>";
        out.push_back({Finding::Level::alert, std::move(h)});
      } else {
        std::string name = id;
        std::replace(name.begin(), name.end(), '_', ' ');
        out.push_back({Finding::Level::info, "<strong>" + esc(name) + "</strong> at " + at + ": " + esc(expl)});
      }
    }
  }
  // Flags known only from the indexed column (a result JSON without details).
  if (!saw_cd19 && has_flag(row, "cd19_negative")) {
    out.push_back({Finding::Level::alert, "<strong>CD19-NEGATIVE BLASTS at " + at +
                                              "</strong> — CD19-directed therapy (blinatumomab, CAR-T) may "
                                              "not reach them."});
  }
  if (!saw_switch && has_flag(row, "lineage_switch")) {
    out.push_back({Finding::Level::alert, "<strong>LINEAGE SWITCH at " + at + "</strong>: myelomonocytic blasts."});
  }
  // Protocol alerts.
  const json& alerts = obj_at(obj_at(result, "protocol"), "alerts");
  bool any_alert = false;
  if (alerts.is_array()) {
    for (const json& a : alerts) {
      const std::string text = str_at(a, "alert");
      if (text.empty()) continue;
      any_alert = true;
      const std::string rule = str_at(obj_at(a, "rule"), "id");
      out.push_back({Finding::Level::alert, "<strong>PROTOCOL ALERT at " + at + "</strong>: " + esc(text) +
                                                (rule.empty() ? "" : " (rule " + esc(rule) + ")")});
    }
  }
  if (!any_alert && !alerts.is_array()) {
    for (const std::string& text : row.alerts) {
      out.push_back({Finding::Level::alert, "<strong>PROTOCOL ALERT at " + at + "</strong>: " + esc(text)});
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The MRD-over-time SVG

constexpr double kW = 900, kH = 380, kLeft = 78, kRight = 24, kTop = 40, kBottom = 78;

struct PlotPoint {
  double x = 0;
  const TimelineRow* row = nullptr;
};

std::vector<PlotPoint> x_positions(const std::vector<ReportTimepoint>& tps) {
  std::vector<PlotPoint> pts;
  const double x0 = kLeft + 40, x1 = kW - kRight - 40;
  const std::size_t n = tps.size();
  std::vector<std::optional<long>> days;
  bool all_dated = n >= 2;
  for (const ReportTimepoint& t : tps) {
    days.push_back(parse_date(t.row.date));
    if (!days.back()) all_dated = false;
  }
  if (all_dated) {
    for (std::size_t i = 1; i < n; ++i) {
      if (*days[i] < *days[i - 1]) all_dated = false;
    }
    if (all_dated && *days.back() == *days.front()) all_dated = false;
  }
  std::vector<double> xs(n, (x0 + x1) / 2);
  if (all_dated) {
    const double span = static_cast<double>(*days.back() - *days.front());
    for (std::size_t i = 0; i < n; ++i) xs[i] = x0 + (x1 - x0) * static_cast<double>(*days[i] - *days.front()) / span;
    // Keep neighbours apart (same-day samples), then squeeze back into the plot.
    const double gap = std::min(60.0, (x1 - x0) / static_cast<double>(n));
    for (std::size_t i = 1; i < n; ++i) xs[i] = std::max(xs[i], xs[i - 1] + gap);
    if (xs.back() > x1) {
      const double scale = (x1 - x0) / (xs.back() - x0);
      for (double& x : xs) x = x0 + (x - x0) * scale;
    }
  } else if (n >= 2) {
    for (std::size_t i = 0; i < n; ++i) xs[i] = x0 + (x1 - x0) * static_cast<double>(i) / static_cast<double>(n - 1);
  }
  for (std::size_t i = 0; i < n; ++i) pts.push_back({xs[i], &tps[i].row});
  return pts;
}

/// The value a point is drawn at: the MRD %, or the LOD for negative results.
std::optional<double> drawn_value(const TimelineRow& r) {
  if (!r.ok) return std::nullopt;
  const bool below_lod = r.mrd_status == "negative" || r.mrd_status == "insufficient_sensitivity";
  if (below_lod && r.lod_percent && *r.lod_percent > 0) return r.lod_percent;
  if (r.mrd_percent && *r.mrd_percent > 0) return r.mrd_percent;
  if (r.lod_percent && *r.lod_percent > 0) return r.lod_percent;  // 0 events: draw at the LOD
  return std::nullopt;
}

}  // namespace

std::vector<ReportThreshold> protocol_thresholds(const panels::Protocol& protocol) {
  std::vector<ReportThreshold> out;
  const auto walk = [&](const auto& self, const pn::Condition& c, const pn::Rule& rule) -> void {
    if (c.kind == pn::Condition::Kind::leaf) {
      if (c.input != pn::Input::mrd_percent) return;
      const auto* v = std::get_if<double>(&c.value);
      if (v == nullptr || !std::isfinite(*v) || *v <= 0.0) return;
      char buf[64];
      std::snprintf(buf, sizeof buf, "%g", *v);
      ReportThreshold t;
      t.timepoint = c.timepoint;
      t.percent = *v;
      t.label = rule.id + ": " + std::string{pn::to_string(c.op)} + " " + buf + "% at " + c.timepoint;
      out.push_back(std::move(t));
      return;
    }
    for (const pn::Condition& child : c.children) self(self, child, rule);
  };
  for (const pn::Rule& r : protocol.rules) {
    if (r.outcome == pn::Outcome::note) continue;
    walk(walk, r.when, r);
  }
  return out;
}

std::string mrd_over_time_svg(const PatientReportInput& input) {
  const std::vector<PlotPoint> pts = x_positions(input.timepoints);
  // Axis range: decades covering 0.001% .. 100% and every value drawn.
  double lo = 1e-3, hi = 100.0;
  bool any = false;
  for (const PlotPoint& p : pts) {
    const TimelineRow& r = *p.row;
    if (const auto v = drawn_value(r)) {
      any = true;
      lo = std::min(lo, *v);
      hi = std::max(hi, *v);
      if (r.ci_low_percent && *r.ci_low_percent > 0) lo = std::min(lo, *r.ci_low_percent);
      if (r.ci_high_percent) hi = std::max(hi, *r.ci_high_percent);
    }
  }
  if (!any) return {};
  for (const ReportThreshold& t : input.thresholds) {
    if (t.percent > 0) lo = std::min(lo, t.percent);
  }
  int dlo = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  int dhi = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  dlo = std::max(dlo, -7);
  dhi = std::min(std::max(dhi, dlo + 1), 3);
  const double plot_top = kTop, plot_bottom = kH - kBottom;
  const auto ypos = [&](double v) {
    const double l = std::clamp(std::log10(std::max(v, 1e-12)), static_cast<double>(dlo), static_cast<double>(dhi));
    return plot_bottom - (plot_bottom - plot_top) * (l - dlo) / static_cast<double>(dhi - dlo);
  };

  std::string s;
  s += "<svg class=\"mrdplot\" viewBox=\"0 0 " + fixed(kW, 0) + " " + fixed(kH, 0) + "\" width=\"" + fixed(kW, 0) +
       "\" height=\"" + fixed(kH, 0) +
       "\" role=\"img\" aria-labelledby=\"mrdplot-title mrdplot-desc\" font-family=\"DejaVu Sans, Arial, "
       "Helvetica, sans-serif\" font-size=\"12\">\n";
  s += "<title id=\"mrdplot-title\">MRD over time, patient " + esc(input.patient) + "</title>\n";
  std::string desc = "MRD in % of nucleated cells on a logarithmic axis from " + pct(std::pow(10.0, dlo)) + " to " +
                     pct(std::pow(10.0, dhi)) + ".";
  for (const PlotPoint& p : pts) {
    const TimelineRow& r = *p.row;
    desc += " " + where(r) + ": ";
    if (!r.ok) {
      desc += "failed.";
    } else if (r.mrd_percent) {
      desc += mrd_value_text(r) + ", " + status_words(r.mrd_status) + ".";
    } else {
      desc += status_words(r.mrd_status) + ".";
    }
  }
  s += "<desc id=\"mrdplot-desc\">" + esc(desc) + "</desc>\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + fixed(kW, 0) + "\" height=\"" + fixed(kH, 0) + "\" fill=\"#ffffff\"/>\n";

  // Grid and y axis.
  s += "<g class=\"axis\">\n";
  for (int d = dlo; d <= dhi; ++d) {
    const double y = ypos(std::pow(10.0, d));
    s += "<line x1=\"" + fixed(kLeft) + "\" y1=\"" + fixed(y) + "\" x2=\"" + fixed(kW - kRight) + "\" y2=\"" +
         fixed(y) + "\" stroke=\"#d0d0d0\" stroke-width=\"1\"/>\n";
    s += "<text x=\"" + fixed(kLeft - 8) + "\" y=\"" + fixed(y + 4) + "\" text-anchor=\"end\">" +
         esc(pct(std::pow(10.0, d))) + "</text>\n";
  }
  s += "<line x1=\"" + fixed(kLeft) + "\" y1=\"" + fixed(plot_top) + "\" x2=\"" + fixed(kLeft) + "\" y2=\"" +
       fixed(plot_bottom) + "\" stroke=\"#444\"/>\n";
  s += "<line x1=\"" + fixed(kLeft) + "\" y1=\"" + fixed(plot_bottom) + "\" x2=\"" + fixed(kW - kRight) + "\" y2=\"" +
       fixed(plot_bottom) + "\" stroke=\"#444\"/>\n";
  s += "<text x=\"16\" y=\"" + fixed((plot_top + plot_bottom) / 2) + "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " +
       fixed((plot_top + plot_bottom) / 2) + ")\">MRD (% of nucleated cells, log scale)</text>\n";
  s += "</g>\n";

  // Thresholds: dashed segments at their timepoint.
  s += "<g class=\"thresholds\">\n";
  for (const ReportThreshold& t : input.thresholds) {
    if (!(t.percent > 0)) continue;
    for (const PlotPoint& p : pts) {
      if (p.row->protocol_timepoint.empty() || p.row->protocol_timepoint != t.timepoint) continue;
      const double y = ypos(t.percent);
      const double sx0 = std::max(kLeft + 2, p.x - 46), sx1 = std::min(kW - kRight, p.x + 46);
      s += "<line class=\"threshold\" x1=\"" + fixed(sx0) + "\" y1=\"" + fixed(y) + "\" x2=\"" + fixed(sx1) +
           "\" y2=\"" + fixed(y) + "\" stroke=\"#7b3294\" stroke-width=\"2\" stroke-dasharray=\"6 4\"><title>" +
           esc(t.label) + "</title></line>\n";
      const bool right_edge = p.x + 50 > kW - kRight - 40;
      s += "<text x=\"" + fixed(right_edge ? p.x - 50 : p.x + 50) + "\" y=\"" + fixed(y + 4) + "\"" +
           (right_edge ? " text-anchor=\"end\"" : "") + " fill=\"#7b3294\" font-size=\"10\">" + esc(pct(t.percent)) +
           "</text>\n";
    }
  }
  s += "</g>\n";

  // X labels, CI bars and points.
  s += "<g class=\"points\">\n";
  // X labels of close neighbours alternate between two rows.
  std::vector<int> level(pts.size(), 0);
  for (std::size_t i = 1; i < pts.size(); ++i) {
    if (pts[i].x - pts[i - 1].x < 90 && level[i - 1] == 0) level[i] = 1;
  }
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const PlotPoint& p = pts[i];
    const TimelineRow& r = *p.row;
    const double ly = plot_bottom + 18 + 30 * level[i];
    if (level[i] == 1) {
      s += "<line x1=\"" + fixed(p.x) + "\" y1=\"" + fixed(plot_bottom) + "\" x2=\"" + fixed(p.x) + "\" y2=\"" +
           fixed(ly - 12) + "\" stroke=\"#bbb\"/>\n";
    } else {
      s += "<line x1=\"" + fixed(p.x) + "\" y1=\"" + fixed(plot_bottom) + "\" x2=\"" + fixed(p.x) + "\" y2=\"" +
           fixed(plot_bottom + 5) + "\" stroke=\"#444\"/>\n";
    }
    s += "<text x=\"" + fixed(p.x) + "\" y=\"" + fixed(ly) + "\" text-anchor=\"middle\">" + esc(timepoint_label(r)) +
         "</text>\n";
    if (!r.date.empty()) {
      s += "<text x=\"" + fixed(p.x) + "\" y=\"" + fixed(ly + 13) +
           "\" text-anchor=\"middle\" fill=\"#555\" font-size=\"10\">" + esc(r.date) + "</text>\n";
    }
    const auto v = drawn_value(r);
    if (!v) {
      const double y = plot_bottom - 10;
      s += "<g class=\"pt failed\"><title>" + esc(where(r) + ": " + (r.ok ? status_words(r.mrd_status) : "failed")) +
           "</title><path d=\"M" + fixed(p.x - 5) + " " + fixed(y - 5) + " L" + fixed(p.x + 5) + " " + fixed(y + 5) +
           " M" + fixed(p.x - 5) + " " + fixed(y + 5) + " L" + fixed(p.x + 5) + " " + fixed(y - 5) +
           "\" stroke=\"#666\" stroke-width=\"2\"/><text x=\"" + fixed(p.x + 8) + "\" y=\"" + fixed(y + 4) +
           "\" fill=\"#555\" font-size=\"10\">" + (r.ok ? "n/e" : "failed") + "</text></g>\n";
      continue;
    }
    const double y = ypos(*v);
    const bool below_lod = r.mrd_status == "negative" || r.mrd_status == "insufficient_sensitivity" ||
                           (r.mrd_percent && *r.mrd_percent <= 0);
    std::string colour = "#b2182b";  // positive
    if (r.mrd_status == "positive_below_lloq") colour = "#e08214";
    if (r.mrd_status == "negative") colour = "#1a7837";
    if (r.mrd_status == "insufficient_sensitivity" || r.mrd_status == "not_evaluable") colour = "#666666";
    s += "<g class=\"pt " + esc(r.mrd_status) + "\" data-percent=\"" + (r.mrd_percent ? esc(format_percent(*r.mrd_percent, 4)) : "") +
         "\" data-y=\"" + fixed(y) + "\"><title>" + esc(where(r) + ": " + mrd_value_text(r) + ", " + status_words(r.mrd_status)) +
         "</title>";
    if (!below_lod && r.ci_low_percent && r.ci_high_percent) {
      const double y1 = ypos(std::max(*r.ci_low_percent, std::pow(10.0, dlo)));
      const double y2 = ypos(*r.ci_high_percent);
      s += "<path class=\"ci\" d=\"M" + fixed(p.x) + " " + fixed(y1) + " L" + fixed(p.x) + " " + fixed(y2) + " M" +
           fixed(p.x - 5) + " " + fixed(y1) + " L" + fixed(p.x + 5) + " " + fixed(y1) + " M" + fixed(p.x - 5) + " " +
           fixed(y2) + " L" + fixed(p.x + 5) + " " + fixed(y2) + "\" stroke=\"" + colour + "\" stroke-width=\"1.5\" fill=\"none\"/>";
    }
    std::string label;
    if (below_lod) {
      // Downward triangle at the LOD with a short arrow: the true value is below it.
      s += "<path d=\"M" + fixed(p.x) + " " + fixed(y + 14) + " L" + fixed(p.x) + " " + fixed(y + 24) +
           "\" stroke=\"" + colour + "\" stroke-width=\"1.5\"/>";
      s += "<path d=\"M" + fixed(p.x - 7) + " " + fixed(y - 5) + " L" + fixed(p.x + 7) + " " + fixed(y - 5) + " L" +
           fixed(p.x) + " " + fixed(y + 8) + " Z\" fill=\"#ffffff\" stroke=\"" + colour + "\" stroke-width=\"2\"/>";
      label = "< LOD " + pct(*v);
    } else if (r.mrd_status == "positive_below_lloq") {
      s += "<path d=\"M" + fixed(p.x) + " " + fixed(y - 7) + " L" + fixed(p.x + 7) + " " + fixed(y) + " L" + fixed(p.x) +
           " " + fixed(y + 7) + " L" + fixed(p.x - 7) + " " + fixed(y) + " Z\" fill=\"#ffffff\" stroke=\"" + colour +
           "\" stroke-width=\"2.5\"/>";
      label = pct(*v) + " (< LLOQ)";
    } else {
      s += "<circle cx=\"" + fixed(p.x) + "\" cy=\"" + fixed(y) + "\" r=\"6\" fill=\"" + colour +
           "\" stroke=\"#000000\" stroke-width=\"0.8\"/>";
      label = pct(*v);
    }
    const bool right_edge = p.x > kW - kRight - 130;
    s += "<text x=\"" + fixed(right_edge ? p.x - 11 : p.x + 11) + "\" y=\"" + fixed(y - 8) + "\"" +
         (right_edge ? " text-anchor=\"end\"" : "") + " font-weight=\"bold\" fill=\"" + colour + "\">" + esc(label) +
         "</text>";
    s += "</g>\n";
  }
  s += "</g>\n";

  // Legend (shapes as well as colours, for black-and-white print).
  s += "<g class=\"legend\" font-size=\"11\">\n";
  double lx = kLeft + 4;
  const double ly = 18;
  s += "<circle cx=\"" + fixed(lx + 6) + "\" cy=\"" + fixed(ly) + "\" r=\"5\" fill=\"#b2182b\" stroke=\"#000\" stroke-width=\"0.8\"/>"
       "<text x=\"" + fixed(lx + 16) + "\" y=\"" + fixed(ly + 4) + "\">positive</text>\n";
  lx += 90;
  s += "<path d=\"M" + fixed(lx + 6) + " " + fixed(ly - 6) + " L" + fixed(lx + 12) + " " + fixed(ly) + " L" + fixed(lx + 6) +
       " " + fixed(ly + 6) + " L" + fixed(lx) + " " + fixed(ly) + " Z\" fill=\"#fff\" stroke=\"#e08214\" stroke-width=\"2\"/>"
       "<text x=\"" + fixed(lx + 18) + "\" y=\"" + fixed(ly + 4) + "\">positive &lt; LLOQ</text>\n";
  lx += 130;
  s += "<path d=\"M" + fixed(lx) + " " + fixed(ly - 5) + " L" + fixed(lx + 12) + " " + fixed(ly - 5) + " L" + fixed(lx + 6) +
       " " + fixed(ly + 6) + " Z\" fill=\"#fff\" stroke=\"#1a7837\" stroke-width=\"2\"/>"
       "<text x=\"" + fixed(lx + 18) + "\" y=\"" + fixed(ly + 4) + "\">negative, drawn at the LOD</text>\n";
  lx += 190;
  s += "<path d=\"M" + fixed(lx + 6) + " " + fixed(ly - 7) + " L" + fixed(lx + 6) + " " + fixed(ly + 7) + " M" + fixed(lx + 2) +
       " " + fixed(ly - 7) + " L" + fixed(lx + 10) + " " + fixed(ly - 7) + " M" + fixed(lx + 2) + " " + fixed(ly + 7) + " L" +
       fixed(lx + 10) + " " + fixed(ly + 7) + "\" stroke=\"#444\" stroke-width=\"1.5\"/><text x=\"" + fixed(lx + 16) +
       "\" y=\"" + fixed(ly + 4) + "\">95% CI</text>\n";
  lx += 80;
  if (!input.thresholds.empty()) {
    s += "<line x1=\"" + fixed(lx) + "\" y1=\"" + fixed(ly) + "\" x2=\"" + fixed(lx + 26) + "\" y2=\"" + fixed(ly) +
         "\" stroke=\"#7b3294\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/><text x=\"" + fixed(lx + 32) + "\" y=\"" +
         fixed(ly + 4) + "\">protocol threshold</text>\n";
  }
  s += "</g>\n</svg>\n";
  return s;
}

// ---------------------------------------------------------------------------------------------
// Key plots

namespace {

/// True when `name` ends with "-NN-<suffix>.png".
bool plot_is(const std::string& name, std::string_view suffix) {
  const std::string tail = "-" + std::string{suffix} + ".png";
  if (name.size() < tail.size() + 2) return false;
  if (name.compare(name.size() - tail.size(), tail.size(), tail) != 0) return false;
  const std::size_t end = name.size() - tail.size();  // index just after NN
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!digit(name[end - 1]) || !digit(name[end - 2])) return false;
  return end == 2 || name[end - 3] == '-';
}

}  // namespace

std::vector<StoredPlot> key_plots(const std::vector<StoredPlot>& all, const TimelineRow& row, std::size_t max_plots) {
  // Priority order (the chosen ones are then shown in analysis order).
  std::vector<std::string_view> wanted;
  const bool cd19 = has_flag(row, "cd19_negative");
  const bool sw = has_flag(row, "lineage_switch");
  wanted.push_back("b-cd10-cd34");
  if (cd19) wanted.push_back("cd19neg-cd10-cd34");
  if (sw) wanted.push_back("mm-cd64-cd14");
  wanted.push_back("b-cd45-cd10");
  if (cd19) wanted.push_back("cd19neg-cd45-ssc");
  if (sw) wanted.push_back("mm-cd33-hladr");
  std::vector<std::size_t> chosen;
  for (const std::string_view w : wanted) {
    for (std::size_t i = 0; i < all.size() && chosen.size() < max_plots; ++i) {
      if (plot_is(all[i].name, w) && std::find(chosen.begin(), chosen.end(), i) == chosen.end()) chosen.push_back(i);
    }
  }
  std::sort(chosen.begin(), chosen.end());
  std::vector<StoredPlot> out;
  out.reserve(chosen.size());
  for (const std::size_t i : chosen) out.push_back(all[i]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The patient report

namespace {

constexpr const char* kReportStyle = R"CSS(
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; color: #1b1b1b;
       margin: 0 auto; max-width: 1000px; padding: 20px 28px; font-size: 13.5px; line-height: 1.45; background: #fff; }
header.top { border-bottom: 3px solid #1b1b1b; padding-bottom: 8px; margin-bottom: 14px; }
header.top h1 { font-size: 22px; margin: 0 0 4px 0; letter-spacing: 0.2px; }
header.top .meta { display: flex; flex-wrap: wrap; gap: 4px 26px; color: #333; }
header.top .meta b { color: #000; }
p.latest { font-size: 15px; margin: 10px 0 0 0; }
h2 { font-size: 17px; margin: 22px 0 8px 0; border-bottom: 1px solid #999; padding-bottom: 3px;
     break-after: avoid; page-break-after: avoid; }
h3 { font-size: 14.5px; margin: 14px 0 6px 0; }
.findings { border: 2px solid #555; border-radius: 4px; padding: 10px 14px; margin: 12px 0 6px 0; background: #fafafa; }
.findings.alert { border: 3px solid #b2182b; background: #fff5f5; }
.findings h2 { border: none; margin: 0 0 6px 0; padding: 0; font-size: 16px; }
.findings.alert h2 { color: #b2182b; }
.findings ul { margin: 0; padding-left: 20px; }
.findings li { margin: 5px 0; }
.findings li.alert { color: #8b0000; }
.findings li.alert strong { color: #b2182b; }
.findings li.warning strong { color: #8a4b00; }
.findings li.info { color: #333; font-size: 12.5px; }
.findings .minor-head { margin: 8px 0 2px 0; font-size: 12px; font-weight: bold; color: #333; }
.findings ul.minor li { margin: 2px 0; }
.findings .none { font-weight: bold; color: #1a5a2a; margin: 0; }
.expl { color: #444; font-size: 12px; }
.notes { font-size: 12px; color: #444; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
table.timeline { table-layout: fixed; }
table.timeline td { overflow-wrap: anywhere; }
th, td { border: 1px solid #9a9a9a; padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #e8e8e8; font-weight: bold; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
tr.failed td { background: #fff1e0; }
.failed-text { color: #8a4b00; font-weight: bold; }
.st-pos { color: #b2182b; font-weight: bold; }
.st-low { color: #b35806; font-weight: bold; }
.st-neg { color: #1a7837; font-weight: bold; }
.st-na { color: #555; font-weight: bold; }
.flag { display: inline-block; border: 1.5px solid #b2182b; color: #b2182b; font-weight: bold; border-radius: 3px;
        padding: 0 4px; margin: 1px 2px 1px 0; font-size: 11.5px; white-space: nowrap; }
.flag.minor { border-color: #777; color: #444; font-weight: normal; }
.small { font-size: 11.5px; color: #444; }
figure.plot { margin: 8px 0; text-align: center; }
svg.mrdplot { width: 100%; height: auto; border: 1px solid #ccc; }
.thresholds-list { font-size: 11.5px; color: #333; margin: 4px 0 0 0; }
section.timepoint { break-before: page; page-break-before: always; }
section.timepoint h2 { font-size: 18px; }
.tp-status { font-size: 14px; margin: 4px 0 8px 0; }
.box-failed { border: 2px solid #8a4b00; background: #fff7ed; padding: 8px 12px; font-weight: bold; color: #8a4b00; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 3px 14px; margin: 6px 0; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; }
ul.flags { margin: 4px 0; padding-left: 20px; }
ul.flags li.raised { color: #8b0000; }
ul.flags li.raised b { color: #b2182b; }
.plots { display: grid; grid-template-columns: 1fr 1fr; gap: 10px 14px; margin-top: 8px; }
.plots figure { margin: 0; border: 1px solid #bbb; padding: 4px; break-inside: avoid; page-break-inside: avoid; text-align: center; }
.plots img { width: 100%; height: auto; max-width: 420px; image-rendering: auto; }
.plots figcaption { font-size: 11.5px; color: #222; margin-top: 2px; }
footer { margin-top: 26px; border-top: 2px solid #1b1b1b; padding-top: 8px; font-size: 11px; color: #333; break-before: page; page-break-before: always; }
footer h2 { font-size: 14px; border: none; }
footer table { font-size: 10.5px; }
footer code { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 9.5px; word-break: break-all; }
.disclaimer { font-style: italic; color: #444; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  table { font-size: 10.5px; }
  th, td { padding: 3px 4px; }
  .small { font-size: 9.5px; }
  .plots img { max-width: 72mm; }
  table.timeline td.num { white-space: normal; }
  .flag { white-space: normal; font-size: 9px; }
  #mrd-over-time { break-inside: avoid; page-break-inside: avoid; }
  .findings li { margin: 2px 0; }
  svg.mrdplot { border: none; }
  .findings.alert { border-width: 3px; }
  a { color: inherit; text-decoration: none; }
}
)CSS";

std::string flag_badges(const TimelineRow& row) {
  std::string s;
  for (const std::string& f : row.flags) {
    const bool major = f == "cd19_negative" || f == "lineage_switch";
    std::string name = f;
    std::replace(name.begin(), name.end(), '_', ' ');
    if (major) {
      for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    s += std::string{"<span class=\"flag"} + (major ? "" : " minor") + "\">" + esc(name) + "</span> ";
  }
  return s.empty() ? "—" : s;
}

std::string protocol_cell(const TimelineRow& row, const json& result) {
  const json& pr = obj_at(result, "protocol");
  std::string status = row.protocol_status.empty() ? str_at(pr, "status") : row.protocol_status;
  if (status.empty() || status == "not requested") return "—";
  std::string s;
  std::string risk = row.risk_group.empty() ? str_at(pr, "risk_group") : row.risk_group;
  if (!risk.empty()) s += "<b>" + esc(risk) + "</b> ";
  s += "<span class=\"small\">(" + esc(status) + ")</span>";
  std::string rule_id = row.rule_id.empty() ? str_at(obj_at(pr, "rule"), "id") : row.rule_id;
  std::string rule_text = row.rule_text.empty() ? str_at(obj_at(pr, "rule"), "text") : row.rule_text;
  if (!rule_id.empty() || !rule_text.empty()) {
    s += "<br><span class=\"small\">" + esc(rule_id) + (rule_id.empty() || rule_text.empty() ? "" : ": ") +
         esc(rule_text) + "</span>";
  }
  return s;
}

std::string latest_sentence(const PatientReportInput& in) {
  const TimelineRow* latest = nullptr;
  for (const ReportTimepoint& t : in.timepoints) {
    if (t.row.ok) latest = &t.row;
  }
  if (latest == nullptr) {
    return in.timepoints.empty() ? "No sample of this patient is recorded."
                                 : "No timepoint of this patient could be analysed.";
  }
  const json result = parse_result(*latest);
  std::string sentence = str_at(obj_at(result, "mrd"), "sentence");
  if (sentence.empty()) {
    sentence = "MRD " + status_words(latest->mrd_status);
    if (latest->mrd_percent) sentence += ": " + mrd_value_text(*latest);
    sentence += ".";
  }
  std::string s = "Latest result, " + where(*latest) + ": " + sentence;
  if (has_flag(*latest, "cd19_negative")) s += " CD19-negative blasts present.";
  if (has_flag(*latest, "lineage_switch")) s += " Lineage-switch (myelomonocytic) blasts present.";
  return s;
}

void timepoint_table(std::string& h, const PatientReportInput& in, const std::vector<json>& results) {
  h += "<table class=\"timeline\">\n<colgroup><col style=\"width:10%\"><col style=\"width:10%\"><col style=\"width:9%\">"
       "<col style=\"width:8%\"><col style=\"width:14%\"><col style=\"width:11%\"><col style=\"width:15%\">"
       "<col style=\"width:23%\"></colgroup>\n<thead><tr><th>Date</th><th>Timepoint</th><th>Sample</th><th>MRD</th>"
       "<th>Status (sensitivity)</th><th>95% CI</th><th>Flags raised</th><th>Risk group / deciding rule</th></tr></thead>\n<tbody>\n";
  for (std::size_t i = 0; i < in.timepoints.size(); ++i) {
    const TimelineRow& r = in.timepoints[i].row;
    const std::string anchor = "#tp-" + std::to_string(i + 1);
    h += r.ok ? "<tr>" : "<tr class=\"failed\">";
    h += "<td class=\"nowrap\">" + (r.date.empty() ? std::string{"—"} : esc(r.date)) + "</td>";
    h += "<td><a href=\"" + anchor + "\">" + esc(r.timepoint.empty() ? r.sample : r.timepoint) + "</a>";
    if (!r.protocol_timepoint.empty()) h += "<br><span class=\"small\">protocol: " + esc(r.protocol_timepoint) + "</span>";
    if (r.diagnosis) h += "<br><span class=\"small\">diagnosis</span>";
    h += "</td><td>" + esc(r.sample) + "</td>";
    if (!r.ok) {
      h += "<td colspan=\"5\"><span class=\"failed-text\">FAILED: " + esc(r.error_message.empty() ? r.error_kind : r.error_message) +
           "</span>";
      if (!r.error_kind.empty() && !r.error_message.empty()) h += " <span class=\"small\">(" + esc(r.error_kind) + ")</span>";
      h += "</td></tr>\n";
      continue;
    }
    h += "<td class=\"num " + status_class(r.mrd_status) + "\">" + esc(mrd_value_text(r)) + "</td>";
    h += "<td><span class=\"" + status_class(r.mrd_status) + "\">" + esc(status_words(r.mrd_status)) + "</span>";
    const std::string sens = sensitivity_text(r);
    if (!sens.empty()) h += "<br><span class=\"small\">" + esc(sens) + "</span>";
    h += "</td>";
    h += "<td class=\"num\">" + esc(ci_text(r)) + "</td>";
    h += "<td>" + flag_badges(r) + "</td>";
    h += "<td>" + protocol_cell(r, results[i]) + "</td></tr>\n";
  }
  h += "</tbody>\n</table>\n";
}

std::string population_name(const std::string& id) {
  if (id == "b_blasts") return "CD19+ B-lineage blasts";
  if (id == "b_blasts_cd19neg") return "CD19-negative B-lineage blasts";
  if (id == "myelomonocytic_blasts") return "Myelomonocytic blasts";
  std::string s = id;
  std::replace(s.begin(), s.end(), '_', ' ');
  return s;
}

void timepoint_section(std::string& h, std::size_t index, const ReportTimepoint& tp, const json& result) {
  const TimelineRow& r = tp.row;
  h += "<section class=\"timepoint\" id=\"tp-" + std::to_string(index + 1) + "\">\n";
  h += "<h2>" + esc(timepoint_label(r)) + (r.date.empty() ? "" : " — " + esc(r.date)) + "</h2>\n";
  h += "<dl class=\"facts\"><dt>Sample</dt><dd>" + esc(r.sample) + (r.diagnosis ? " (diagnosis)" : "") + "</dd>";
  if (!r.panel.empty()) h += "<dt>Panel</dt><dd>" + esc(r.panel) + "</dd>";
  if (!r.tubes.empty()) {
    h += "<dt>Tubes</dt><dd>";
    for (std::size_t i = 0; i < r.tubes.size(); ++i) {
      h += (i > 0 ? "; " : "") + esc(r.tubes[i].label.empty() ? r.tubes[i].path : r.tubes[i].label);
    }
    h += "</dd>";
  }
  h += "</dl>\n";
  if (!r.ok) {
    h += "<p class=\"box-failed\">FAILED: " + esc(r.error_message.empty() ? r.error_kind : r.error_message) +
         (r.error_kind.empty() ? "" : " (" + esc(r.error_kind) + ")") + "</p>\n</section>\n";
    return;
  }
  const json& mrd = obj_at(result, "mrd");
  std::string sentence = str_at(mrd, "sentence");
  if (sentence.empty()) sentence = "MRD " + status_words(r.mrd_status) + (r.mrd_percent ? ": " + mrd_value_text(r) : "") + ".";
  h += "<p class=\"tp-status\"><span class=\"" + status_class(r.mrd_status) + "\">" + esc(sentence) + "</span></p>\n";
  if (const std::string msg = str_at(mrd, "message"); !msg.empty()) h += "<p class=\"notes\">" + esc(msg) + "</p>\n";
  const std::string denom = str_at(mrd, "denominator");
  if (!denom.empty()) h += "<p class=\"small\">Denominator: " + esc(denom) + ".</p>\n";

  // Protocol.
  const json& pr = obj_at(result, "protocol");
  if (const std::string msg = str_at(pr, "message"); !msg.empty()) {
    h += "<p><b>Protocol:</b> " + esc(msg) + "</p>\n";
  }

  // Flags.
  const json& flags = obj_at(result, "flags");
  if (flags.is_array() && !flags.empty()) {
    h += "<h3>Flags</h3>\n<ul class=\"flags\">\n";
    for (const json& f : flags) {
      const bool raised = f.is_object() && f.value("raised", false);
      std::string name = str_at(f, "id");
      std::replace(name.begin(), name.end(), '_', ' ');
      h += std::string{"<li class=\""} + (raised ? "raised" : "clear") + "\"><b>" + esc(name) + ":</b> " +
           (raised ? "RAISED — " : "not raised — ") + esc(str_at(f, "explanation")) + "</li>\n";
    }
    h += "</ul>\n";
  }

  // Blast phenotype.
  const json& phen = obj_at(mrd, "phenotypes");
  bool any_phen = false;
  if (phen.is_array()) {
    for (const json& p : phen) {
      const json& ab = obj_at(p, "aberrancies");
      if (!ab.is_array() || ab.empty()) continue;
      if (!any_phen) h += "<h3>Blast phenotype (different from normal)</h3>\n<ul>\n";
      any_phen = true;
      std::string texts;
      for (const json& a : ab) {
        const std::string t = str_at(a, "text");
        if (t.empty()) continue;
        texts += (texts.empty() ? "" : "; ") + esc(t);
      }
      std::string events;
      if (const auto n = num_at(p, "events")) {
        events = " (" + format_count(static_cast<std::uint64_t>(std::llround(std::max(0.0, *n)))) + " events)";
      }
      h += "<li><b>" + esc(population_name(str_at(p, "population"))) + "</b>" + esc(events) + ": " + texts + "</li>\n";
    }
    if (any_phen) h += "</ul>\n";
  }

  // Plots.
  if (!tp.plots.empty()) {
    h += "<h3>Key density plots</h3>\n<div class=\"plots\">\n";
    for (const StoredPlot& p : tp.plots) {
      const std::string caption = (p.title.empty() ? p.name : p.title) + (p.tube.empty() ? "" : " — " + p.tube);
      h += "<figure><img src=\"" + data_uri("image/png", std::span<const std::uint8_t>(p.png.data(), p.png.size())) +
           "\" alt=\"" + esc(caption) + "\"><figcaption>" + esc(caption) + "</figcaption></figure>\n";
    }
    h += "</div>\n";
  }
  h += "</section>\n";
}

void provenance_footer(std::string& h, const PatientReportInput& in, const std::vector<json>& results) {
  h += "<footer>\n<h2>Provenance</h2>\n<table>\n<thead><tr><th>Timepoint</th><th>File</th><th>SHA-256</th><th>Panel</th>"
       "<th>Reference</th><th>Software</th></tr></thead>\n<tbody>\n";
  for (std::size_t i = 0; i < in.timepoints.size(); ++i) {
    const TimelineRow& r = in.timepoints[i].row;
    const json& prov = obj_at(results[i], "provenance");
    const json& inputs = obj_at(prov, "inputs");
    std::string reference;
    if (const json& ref = obj_at(prov, "reference"); ref.is_object()) {
      reference = str_at(ref, "name");
      if (const std::string v = str_at(ref, "version"); !v.empty()) reference += " v" + v;
    }
    std::string software = str_at(prov, "software_version");
    if (software.empty()) software = r.software_version;
    const auto row = [&](const std::string& file, const std::string& sha, const std::string& panel) {
      h += "<tr><td>" + esc(timepoint_label(r)) + "</td><td>" + esc(file) + "</td><td><code>" + esc(sha.empty() ? "—" : sha) +
           "</code></td><td>" + esc(panel.empty() ? "—" : panel) + "</td><td>" + esc(reference.empty() ? "—" : reference) +
           "</td><td>" + esc(software.empty() ? "—" : software) + "</td></tr>\n";
    };
    if (inputs.is_array() && !inputs.empty()) {
      for (const json& t : inputs) {
        std::string panel = str_at(obj_at(t, "panel"), "name");
        if (const std::string v = str_at(obj_at(t, "panel"), "version"); !v.empty()) panel += " v" + v;
        std::string file = str_at(t, "file");
        if (file.empty()) file = str_at(t, "path");
        row(file, str_at(t, "sha256"), panel);
      }
    } else if (!r.tubes.empty()) {
      for (const StoredTube& t : r.tubes) row(t.path.empty() ? t.label : t.path, t.sha256, r.panel);
    } else {
      row("—", "", r.panel);
    }
  }
  h += "</tbody>\n</table>\n";
  h += "<p>Generated by flowmrd " + esc(in.software_version.empty() ? "(unknown version)" : in.software_version) +
       " at " + esc(in.generated_at.empty() ? "(time not recorded)" : in.generated_at) +
       (in.store.empty() ? "" : " from the results store " + esc(in.store)) + ".</p>\n";
  h += "<p class=\"disclaimer\">Automated analysis: MRD values, flags and risk groups must be reviewed and "
       "signed off by the responsible laboratory specialist before clinical use.</p>\n</footer>\n";
}

}  // namespace

std::string render_patient_report(const PatientReportInput& in) {
  std::vector<json> results;
  results.reserve(in.timepoints.size());
  for (const ReportTimepoint& t : in.timepoints) results.push_back(parse_result(t.row));

  std::string h;
  h.reserve(1 << 16);
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<meta name=\"generator\" content=\"flowmrd " + esc(in.software_version) + "\">\n";
  h += "<title>MRD report — patient " + esc(in.patient) + "</title>\n<style>" + std::string{kReportStyle} + "</style>\n</head>\n<body>\n";

  // 1. Header.
  std::size_t failed = 0;
  for (const ReportTimepoint& t : in.timepoints) failed += t.row.ok ? 0 : 1;
  h += "<header class=\"top\">\n<h1>Flow-cytometry MRD report — patient " + esc(in.patient) + "</h1>\n";
  h += "<div class=\"meta\"><span><b>Patient:</b> " + esc(in.patient) + "</span><span><b>Protocol:</b> " +
       esc(in.protocol.empty() ? "none" : in.protocol) + "</span><span><b>Timepoints:</b> " +
       std::to_string(in.timepoints.size()) + (failed > 0 ? " (" + std::to_string(failed) + " failed)" : "") + "</span>";
  if (!in.generated_at.empty()) h += "<span><b>Generated:</b> " + esc(in.generated_at) + "</span>";
  h += "</div>\n<p class=\"latest\">" + esc(latest_sentence(in)) + "</p>\n</header>\n";

  // 2. Findings.
  std::vector<Finding> findings;
  for (std::size_t i = 0; i < in.timepoints.size(); ++i) findings_for(in.timepoints[i].row, results[i], findings);
  const bool any_alert = std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return f.level == Finding::Level::alert; });
  bool any_escape = false;
  for (const ReportTimepoint& t : in.timepoints) {
    any_escape = any_escape || has_flag(t.row, "cd19_negative") || has_flag(t.row, "lineage_switch");
  }
  h += std::string{"<section class=\"findings"} + (any_alert ? " alert" : "") + "\" id=\"findings\">\n<h2>" +
       (any_alert ? "⚠ Findings requiring attention" : "Findings") + "</h2>\n";
  if (!any_escape) {
    h += "<p class=\"none\">No CD19-negative or lineage-switch population was found at any timepoint.</p>\n";
  }
  // Alerts first, then warnings (failed samples); each in timeline order. Other raised flags
  // (sample quality, sensitivity) follow in a quieter list.
  const auto list = [&](std::initializer_list<Finding::Level> levels, const char* ul_class) {
    std::string items;
    for (const Finding::Level level : levels) {
      for (const Finding& f : findings) {
        if (f.level != level) continue;
        const char* cls = level == Finding::Level::alert ? "alert" : level == Finding::Level::warning ? "warning" : "info";
        items += std::string{"<li class=\""} + cls + "\">" + f.html + "</li>\n";
      }
    }
    if (!items.empty()) h += std::string{"<ul class=\""} + ul_class + "\">\n" + items + "</ul>\n";
  };
  list({Finding::Level::alert, Finding::Level::warning}, "major");
  if (std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return f.level == Finding::Level::info; })) {
    h += "<p class=\"minor-head\">Sample quality and sensitivity:</p>\n";
    list({Finding::Level::info}, "minor");
  }
  for (const std::string& n : in.notes) h += "<p class=\"notes\">Note: " + esc(n) + "</p>\n";
  h += "</section>\n";

  // 3. Timepoint table.
  h += "<section id=\"timeline\">\n<h2>MRD by timepoint</h2>\n";
  if (in.timepoints.empty()) {
    h += "<p>No sample of this patient is recorded.</p>\n";
  } else {
    timepoint_table(h, in, results);
  }
  h += "</section>\n";

  // 4. MRD over time.
  const std::string svg = mrd_over_time_svg(in);
  if (!svg.empty()) {
    h += "<section id=\"mrd-over-time\">\n<h2>MRD over time</h2>\n<figure class=\"plot\">\n" + svg + "</figure>\n";
    if (!in.thresholds.empty()) {
      h += "<p class=\"thresholds-list\"><b>Protocol thresholds";
      h += in.protocol.empty() ? "" : " (" + esc(in.protocol) + ")";
      h += ":</b> ";
      for (std::size_t i = 0; i < in.thresholds.size(); ++i) h += (i > 0 ? "; " : "") + esc(in.thresholds[i].label);
      h += ".</p>\n";
    }
    h += "</section>\n";
  }

  // 5. Per timepoint.
  for (std::size_t i = 0; i < in.timepoints.size(); ++i) timepoint_section(h, i, in.timepoints[i], results[i]);

  // 6. Footer.
  provenance_footer(h, in, results);
  h += "</body>\n</html>\n";
  return h;
}

// ---------------------------------------------------------------------------------------------
// Batch summary

namespace {

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) s += sep;
    s += v[i];
  }
  return s;
}

}  // namespace

std::string batch_summary_csv(const std::vector<BatchSummaryRow>& rows) {
  std::string s = "patient,sample,timepoint,date,files,outcome,error,mrd_percent,mrd_status,flags,risk_group,report\n";
  for (const BatchSummaryRow& r : rows) {
    std::string mrd;
    if (r.mrd_percent) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.10g", *r.mrd_percent);
      mrd = buf;
    }
    const std::vector<std::string> fields = {r.patient, r.sample,     r.timepoint,         r.date,
                                             r.files,   r.outcome,    r.error,             mrd,
                                             r.mrd_status, join(r.flags, ";"), r.risk_group, r.report};
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) s += ',';
      s += csv_field(fields[i]);
    }
    s += '\n';
  }
  return s;
}

std::string batch_summary_html(const std::vector<BatchSummaryRow>& rows, const std::string& title,
                               const std::string& software_version, const std::string& generated_at) {
  std::size_t analysed = 0, skipped = 0, failed = 0, flagged = 0;
  for (const BatchSummaryRow& r : rows) {
    if (r.outcome == "failed") {
      ++failed;
    } else if (r.outcome.rfind("skipped", 0) == 0) {
      ++skipped;
    } else {
      ++analysed;
    }
    if (std::find(r.flags.begin(), r.flags.end(), "cd19_negative") != r.flags.end() ||
        std::find(r.flags.begin(), r.flags.end(), "lineage_switch") != r.flags.end()) {
      ++flagged;
    }
  }
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + esc(title) + "</title>\n<style>";
  h += R"CSS(
@page { size: A4 landscape; margin: 12mm; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; color: #1b1b1b; margin: 0 auto;
       max-width: 1200px; padding: 20px 28px; font-size: 13px; }
h1 { font-size: 21px; border-bottom: 3px solid #1b1b1b; padding-bottom: 6px; }
.counts { display: flex; gap: 14px; margin: 10px 0 16px 0; flex-wrap: wrap; }
.count { border: 2px solid #777; border-radius: 4px; padding: 6px 14px; font-size: 15px; }
.count b { font-size: 20px; display: block; }
.count.failed { border-color: #b2182b; color: #b2182b; }
.count.flagged { border-color: #b2182b; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { border: 1px solid #9a9a9a; padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #e8e8e8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.failed td { background: #ffecec; }
td.nowrap { white-space: nowrap; }
.error { color: #b2182b; font-weight: bold; }
.flag { border: 1.5px solid #b2182b; color: #b2182b; font-weight: bold; border-radius: 3px; padding: 0 4px; white-space: nowrap; }
.flag.minor { border-color: #777; color: #444; font-weight: normal; }
.small { font-size: 11px; color: #444; }
footer { margin-top: 18px; font-size: 11px; color: #444; }
)CSS";
  h += "</style>\n</head>\n<body>\n<h1>" + esc(title) + "</h1>\n";
  h += "<div class=\"counts\"><div class=\"count\"><b>" + std::to_string(analysed) + "</b>analysed</div>";
  h += "<div class=\"count\"><b>" + std::to_string(skipped) + "</b>skipped (unchanged)</div>";
  h += std::string{"<div class=\"count"} + (failed > 0 ? " failed" : "") + "\"><b>" + std::to_string(failed) + "</b>failed</div>";
  h += std::string{"<div class=\"count"} + (flagged > 0 ? " flagged" : "") + "\"><b>" + std::to_string(flagged) +
       "</b>CD19-negative / lineage switch</div></div>\n";
  h += "<table>\n<thead><tr><th>Patient</th><th>Sample</th><th>Timepoint</th><th>Date</th><th>Outcome</th>"
       "<th>MRD %</th><th>MRD status</th><th>Flags</th><th>Risk group</th><th>Report</th></tr></thead>\n<tbody>\n";
  for (const BatchSummaryRow& r : rows) {
    const bool fail = r.outcome == "failed";
    h += fail ? "<tr class=\"failed\">" : "<tr>";
    h += "<td>" + esc(r.patient) + "</td><td>" + esc(r.sample) + "</td><td>" + esc(r.timepoint) + "</td><td class=\"nowrap\">" +
         esc(r.date) + "</td>";
    if (fail) {
      h += "<td><span class=\"error\">FAILED: " + esc(r.error.empty() ? std::string{"(no reason recorded)"} : r.error) +
           "</span>";
      if (!r.files.empty()) h += "<br><span class=\"small\">" + esc(r.files) + "</span>";
      h += "</td>";
    } else {
      h += "<td>" + esc(r.outcome) + "</td>";
    }
    h += "<td class=\"num\">" + (r.mrd_percent ? esc(format_percent(*r.mrd_percent)) : std::string{}) + "</td>";
    h += "<td>" + (fail ? std::string{} : esc(status_words(r.mrd_status))) + "</td><td>";
    for (const std::string& f : r.flags) {
      const bool major = f == "cd19_negative" || f == "lineage_switch";
      h += std::string{"<span class=\"flag"} + (major ? "" : " minor") + "\">" + esc(f) + "</span> ";
    }
    h += "</td><td>" + esc(r.risk_group) + "</td><td>";
    if (!r.report.empty()) h += "<a href=\"" + esc(r.report) + "\">" + esc(r.report) + "</a>";
    h += "</td></tr>\n";
  }
  h += "</tbody>\n</table>\n";
  h += "<footer>flowmrd " + esc(software_version) + (generated_at.empty() ? "" : ", generated " + esc(generated_at)) +
       ".</footer>\n</body>\n</html>\n";
  return h;
}

}  // namespace flowmrd::pipeline
