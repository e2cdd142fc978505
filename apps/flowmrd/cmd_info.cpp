// SPDX-License-Identifier: Apache-2.0
#include "cmd_info.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command_error.hpp"
#include "exit_codes.hpp"
#include "fcs/dataset.hpp"
#include "fcs/options.hpp"
#include "fcs/reader.hpp"
#include "json_issue.hpp"
#include "number_format.hpp"
#include "output_sink.hpp"
#include "read_input.hpp"
#include "text_table.hpp"

namespace flowmrd::cli {

namespace {

using Json = nlohmann::ordered_json;

/// Summary of one channel's values as read with the default options (what `export` prints).
struct ChannelStats {
  std::uint64_t count = 0;       ///< Events.
  std::uint64_t finite = 0;      ///< Events with a finite value; min/max/mean are over these.
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
  double mean = std::numeric_limits<double>::quiet_NaN();
  std::uint64_t negative = 0;    ///< value < 0 (including -Inf).
  std::optional<std::uint64_t> off_scale;  ///< value >= top; unset without a usable range.
  double top = 0;                ///< The off-scale threshold used (see `top_of_scale`).
  std::uint64_t non_finite = 0;  ///< NaN, Inf or -Inf.
};

/// The value at and above which an event is off scale (saturated or clipped): the channel's
/// `max_range` (flowCore maxRange, $PnR - 1 for linear channels), except for log-decoded integer
/// channels, whose maxRange 10^f1 * f2 corresponds to the stored value $PnR that masking makes
/// unreachable; there the top is the decoded value of the highest stored value, $PnR - 1.
double top_of_scale(const fcs::Channel& ch, bool already_transformed) {
  if (ch.type == fcs::DataType::integer && ch.is_log() && !already_transformed && ch.range > 1) {
    const double f2 = ch.log_offset > 0 ? ch.log_offset : 1;
    const double top = f2 * std::pow(10.0, ch.log_decades * (ch.range - 1) / ch.range);
    // The reader may evaluate the same formula in another order: allow for the last bits.
    return top * (1 - 1e-9);
  }
  return ch.max_range;
}

template <typename T>
ChannelStats summarize(std::span<const T> values, double top) {
  ChannelStats s;
  s.count = values.size();
  s.top = top;
  // An absent or zero range would make every value "off scale": report nothing rather than noise.
  const bool has_top = top > 0 && std::isfinite(top);
  std::uint64_t off_scale = 0;
  // Neumaier summation: the mean of a million values should not depend on their order.
  double sum = 0;
  double compensation = 0;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  for (const T raw : values) {
    const auto v = static_cast<double>(raw);
    if (v < 0) ++s.negative;
    if (has_top && v >= top) ++off_scale;
    if (!std::isfinite(v)) {
      ++s.non_finite;
      continue;
    }
    ++s.finite;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    const double t = sum + v;
    compensation += std::fabs(sum) >= std::fabs(v) ? (sum - t) + v : (v - t) + sum;
    sum = t;
  }
  if (s.finite > 0) {
    s.min = lo;
    s.max = hi;
    s.mean = (sum + compensation) / static_cast<double>(s.finite);
  }
  if (has_top) s.off_scale = off_scale;
  return s;
}

std::vector<ChannelStats> summarize_dataset(const fcs::Dataset& ds) {
  std::vector<ChannelStats> out;
  const auto& events = ds.events;
  for (std::size_t c = 0; c < ds.channels.size() && c < events.cols(); ++c) {
    const double top = top_of_scale(ds.channels[c], ds.already_transformed);
    if (events.type(c) == fcs::ColumnType::f32) {
      out.push_back(summarize<float>(events.f32(c), top));
    } else {
      out.push_back(summarize<double>(events.f64(c), top));
    }
  }
  return out;
}

// ---- small formatting helpers ----------------------------------------------------------------

std::string type_name(fcs::DataType t) {
  switch (t) {
    case fcs::DataType::integer: return "integer";
    case fcs::DataType::float32: return "float32";
    case fcs::DataType::float64: return "float64";
    case fcs::DataType::ascii: return "ascii";
  }
  return "unknown";
}

std::string datatype_text(char datatype) {
  switch (datatype) {
    case 'I': return "I (integer)";
    case 'F': return "F (float32)";
    case 'D': return "D (float64)";
    case 'A': return "A (ascii)";
    default: return std::string(1, datatype);
  }
}

std::string byte_order_name(fcs::ByteOrder order) {
  return order == fcs::ByteOrder::little ? "little" : "big";
}

std::string amplification(const fcs::Channel& ch) {
  return format_shortest(ch.log_decades) + "," + format_shortest(ch.log_offset);
}

std::string bits_text(const fcs::Channel& ch) {
  std::string out = ch.bits == 0 ? "*" : std::to_string(ch.bits);
  if (ch.storage_bits != ch.bits) out += " (stored " + std::to_string(ch.storage_bits) + ")";
  return out;
}

// Six significant digits: enough to read a mean at a glance; --json keeps full precision.
std::string format_short(double v) {
  if (std::isnan(v)) return "-";
  char buffer[max_shortest_chars];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::general, 6);
  return {buffer, result.ptr};
}

Json optional_string(const std::optional<std::string>& s) { return s ? Json(*s) : Json(); }

Json finite_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(); }

// ---- JSON ------------------------------------------------------------------------------------

Json stats_json(const ChannelStats& s) {
  Json j;
  j["count"] = s.count;
  j["min"] = finite_or_null(s.min);
  j["max"] = finite_or_null(s.max);
  j["mean"] = finite_or_null(s.mean);
  j["negative"] = s.negative;
  j["off_scale"] = s.off_scale ? Json(*s.off_scale) : Json();
  j["off_scale_threshold"] = s.off_scale ? Json(s.top) : Json();
  j["non_finite"] = s.non_finite;
  return j;
}

Json channel_json(const fcs::Channel& ch, const ChannelStats* stats) {
  Json j;
  j["index"] = ch.index;
  j["name"] = ch.name;
  j["marker"] = optional_string(ch.marker);
  j["type"] = type_name(ch.type);
  j["bits"] = ch.bits;
  j["storage_bits"] = ch.storage_bits;
  j["range"] = ch.range;
  j["amplification"] = amplification(ch);
  j["log_decades"] = ch.log_decades;
  j["log_offset"] = ch.log_offset;
  j["gain"] = ch.gain;
  j["voltage"] = ch.voltage ? Json(*ch.voltage) : Json();
  j["detector"] = optional_string(ch.detector);
  j["min_range"] = ch.min_range;
  j["max_range"] = ch.max_range;
  if (stats != nullptr) j["stats"] = stats_json(*stats);
  return j;
}

Json spillover_json(const fcs::Spillover& sp, bool preferred) {
  Json j;
  j["source_keyword"] = sp.source_keyword;
  j["preferred"] = preferred;
  j["channels"] = sp.channels;
  j["channel_indices"] = sp.channel_indices;
  Json matrix = Json::array();
  for (std::size_t r = 0; r < sp.size(); ++r) {
    Json row = Json::array();
    for (std::size_t c = 0; c < sp.size(); ++c) row.push_back(sp.at(r, c));
    matrix.push_back(std::move(row));
  }
  j["matrix"] = std::move(matrix);
  return j;
}

Json dataset_json(const fcs::Dataset& ds, const std::vector<ChannelStats>* stats) {
  Json j;
  j["dataset"] = ds.number;
  j["version"] = fcs::to_string(ds.version);
  j["events"] = ds.event_count;
  const auto tot = ds.tot();
  j["tot"] = tot ? Json(*tot) : Json();
  j["cytometer"] = optional_string(ds.cytometer());
  j["date"] = optional_string(ds.date());
  j["begin_time"] = optional_string(ds.begin_time());
  j["end_time"] = optional_string(ds.end_time());
  j["datatype"] = std::string(1, ds.datatype);
  j["byte_order"] = byte_order_name(ds.byte_order);
  j["byteord"] = optional_string(ds.keywords.get_trimmed("$BYTEORD"));
  j["mode"] = std::string(1, ds.mode);
  j["already_transformed"] = ds.already_transformed;
  j["channel_count"] = ds.channels.size();
  Json channels = Json::array();
  for (std::size_t c = 0; c < ds.channels.size(); ++c) {
    const ChannelStats* s = stats != nullptr && c < stats->size() ? &(*stats)[c] : nullptr;
    channels.push_back(channel_json(ds.channels[c], s));
  }
  j["channels"] = std::move(channels);
  Json spillovers = Json::array();
  for (const auto& sp : ds.spillovers) spillovers.push_back(spillover_json(sp, &sp == ds.spillover()));
  j["spillovers"] = std::move(spillovers);
  j["issues"] = issues_to_json(ds.issues);
  return j;
}

std::string render_json(const InfoOptions& options, const fcs::File& file,
                        const std::vector<const fcs::Dataset*>& shown,
                        const std::vector<std::vector<ChannelStats>>& stats) {
  Json j;
  j["schema"] = "flowmrd.info/1";
  j["flowmrd_version"] = FLOWMRD_VERSION;
  j["file"] = options.file;
  j["size"] = file.size;
  j["version"] = file.datasets.empty() ? Json() : Json(fcs::to_string(file.datasets.front().version));
  j["dataset_count"] = file.dataset_count;
  j["stats"] = options.stats;
  j["issues"] = issues_to_json(file.issues);
  Json datasets = Json::array();
  for (std::size_t i = 0; i < shown.size(); ++i) {
    datasets.push_back(dataset_json(*shown[i], options.stats ? &stats[i] : nullptr));
  }
  j["datasets"] = std::move(datasets);
  // Keyword values are bytes as stored and may not be UTF-8 (e.g. CellQuest's 0xAA): replace
  // those bytes instead of failing, so info never dies on a file the reader accepted.
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

// ---- text ------------------------------------------------------------------------------------

void render_fields(std::string& out, std::string_view indent,
                   const std::vector<std::pair<std::string, std::string>>& fields) {
  std::size_t width = 0;
  for (const auto& [key, value] : fields) width = std::max(width, key.size() + 1);
  for (const auto& [key, value] : fields) {
    out += indent;
    out += key;
    out += ':';
    out.append(width - key.size() - 1 + 2, ' ');
    out += value;
    out += '\n';
  }
}

std::string or_dash(const std::optional<std::string>& s) { return s ? *s : "-"; }

void render_issues(std::string& out, std::string_view indent, const std::string& title,
                   const fcs::Issues& issues) {
  if (issues.empty()) {
    out += indent;
    out += title + ": none\n";
    return;
  }
  out += indent;
  out += title + " (" + std::to_string(issues.size()) + "):\n";
  TextTable table({"severity", "code", "location", "message"});
  for (const auto& issue : issues) {
    const std::string location = issue_location(issue);
    table.add_row({std::string{fcs::to_string(issue.severity)}, issue.code,
                   location.empty() ? "-" : location, issue.message});
  }
  table.render(out, std::string{indent} + "  ");
}

void render_channels(std::string& out, const fcs::Dataset& ds, const std::vector<ChannelStats>* stats) {
  using A = TextTable::Align;
  std::vector<std::string> header{"#", "name", "marker", "type", "bits", "range", "amp", "gain"};
  std::vector<A> align{A::right, A::left, A::left, A::left, A::right, A::right, A::left, A::right};
  if (stats != nullptr) {
    for (const char* h : {"min", "max", "mean", "negative", "off-scale"}) {
      header.emplace_back(h);
      align.push_back(A::right);
    }
  }
  TextTable table(std::move(header), std::move(align));
  for (std::size_t c = 0; c < ds.channels.size(); ++c) {
    const auto& ch = ds.channels[c];
    std::vector<std::string> row{std::to_string(ch.index), ch.name, or_dash(ch.marker),
                                 type_name(ch.type), bits_text(ch), format_shortest(ch.range),
                                 amplification(ch), format_shortest(ch.gain)};
    if (stats != nullptr && c < stats->size()) {
      const auto& s = (*stats)[c];
      row.push_back(format_short(s.min));
      row.push_back(format_short(s.max));
      row.push_back(format_short(s.mean));
      row.push_back(std::to_string(s.negative));
      row.push_back(s.off_scale ? std::to_string(*s.off_scale) : "-");
    }
    table.add_row(std::move(row));
  }
  table.render(out, "  ");
}

void render_spillover(std::string& out, const fcs::Spillover& sp, bool preferred) {
  out += "  spillover " + sp.source_keyword + ", " + std::to_string(sp.size()) + " channels";
  if (preferred) out += " (default for compensation)";
  out += ":\n";
  std::vector<std::string> header{""};
  header.insert(header.end(), sp.channels.begin(), sp.channels.end());
  std::vector<TextTable::Align> align(header.size(), TextTable::Align::right);
  align[0] = TextTable::Align::left;
  TextTable table(std::move(header), std::move(align));
  for (std::size_t r = 0; r < sp.size(); ++r) {
    std::vector<std::string> row{sp.channels[r]};
    for (std::size_t c = 0; c < sp.size(); ++c) row.push_back(format_shortest(sp.at(r, c)));
    table.add_row(std::move(row));
  }
  table.render(out, "    ");
}

std::string render_text(const InfoOptions& options, const fcs::File& file,
                        const std::vector<const fcs::Dataset*>& shown,
                        const std::vector<std::vector<ChannelStats>>& stats) {
  std::string out;
  render_fields(out, "", {{"file", options.file},
                          {"size", std::to_string(file.size) + " bytes"},
                          {"version", file.datasets.empty()
                                          ? std::string{"-"}
                                          : fcs::to_string(file.datasets.front().version)},
                          {"data sets", std::to_string(file.dataset_count)}});
  if (!file.issues.empty()) render_issues(out, "", "file issues", file.issues);

  for (std::size_t i = 0; i < shown.size(); ++i) {
    const fcs::Dataset& ds = *shown[i];
    out += "\ndata set " + std::to_string(ds.number) + " of " + std::to_string(file.dataset_count) + "\n";
    std::string byte_order = byte_order_name(ds.byte_order) + "-endian";
    if (const auto byteord = ds.keywords.get_trimmed("$BYTEORD")) byte_order += " ($BYTEORD " + *byteord + ")";
    std::vector<std::pair<std::string, std::string>> fields{
        {"version", fcs::to_string(ds.version)},
        {"events", std::to_string(ds.event_count)},
        {"cytometer", or_dash(ds.cytometer())},
        {"date", or_dash(ds.date())},
        {"begin time", or_dash(ds.begin_time())},
        {"end time", or_dash(ds.end_time())},
        {"datatype", datatype_text(ds.datatype)},
        {"byte order", byte_order},
        {"mode", std::string(1, ds.mode)},
        {"channels", std::to_string(ds.channels.size())}};
    if (ds.already_transformed) {
      fields.emplace_back("transformed", "yes (written by flowCore; values are not decoded again)");
    }
    render_fields(out, "  ", fields);
    out += '\n';
    render_channels(out, ds, options.stats ? &stats[i] : nullptr);
    for (const auto& sp : ds.spillovers) {
      out += '\n';
      render_spillover(out, sp, &sp == ds.spillover());
    }
    if (ds.spillovers.empty()) out += "\n  spillover: none\n";
    out += '\n';
    render_issues(out, "  ", "issues", ds.issues);
  }
  return out;
}

}  // namespace

int run_info(const InfoOptions& options) {
  fcs::ReadOptions read_options;  // flowCore defaults: the values `export` prints by default
  read_options.strict = options.strict;
  read_options.skip_events = !options.stats;
  if (options.dataset > 0) read_options.dataset = options.dataset;
  const fcs::File file = read_input(options.file, read_options);

  std::vector<const fcs::Dataset*> shown;
  if (options.dataset > 0) {
    shown.push_back(&dataset_numbered(file, options.dataset));
  } else {
    for (const auto& ds : file.datasets) shown.push_back(&ds);
  }
  std::vector<std::vector<ChannelStats>> stats;
  if (options.stats) {
    for (const auto* ds : shown) stats.push_back(summarize_dataset(*ds));
  }

  OutputSink sink("-");
  sink.write(options.json ? render_json(options, file, shown, stats)
                          : render_text(options, file, shown, stats));
  sink.finish();
  return to_int(ExitCode::ok);
}

}  // namespace flowmrd::cli
