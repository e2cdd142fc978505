// SPDX-License-Identifier: Apache-2.0
#include "cmd_export.hpp"

#include <cmath>
#include <cstdio>
#include <optional>
#include <utility>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "command_error.hpp"
#include "exit_codes.hpp"
#include "fcs/dataset.hpp"
#include "fcs/error.hpp"
#include "fcs/options.hpp"
#include "fcs/reader.hpp"
#include "fcs/writer.hpp"
#include "flowmrd/gating/compensation.hpp"
#include "flowmrd/gating/frame.hpp"
#include "flowmrd/gating/transform.hpp"
#include "json_issue.hpp"
#include "number_format.hpp"
#include "output_sink.hpp"
#include "read_input.hpp"

namespace flowmrd::cli {

namespace {

bool is_stdout(const std::string& output) { return output.empty() || output == "-"; }

fcs::ReadOptions read_options_for(const ExportOptions& options) {
  fcs::ReadOptions read;  // defaults are flowCore read.FCS defaults
  if (options.raw) read.transformation = fcs::Transformation::raw;
  if (options.png_scaling) read.transformation = fcs::Transformation::linearize_with_png_scaling;
  read.truncate_max_range = !options.no_truncate;
  read.strict = options.strict;
  read.dataset = options.dataset;
  return read;
}

void print_warnings(const std::string& file, const fcs::Issues& issues) {
  for (const auto& issue : issues) {
    if (is_warning(issue)) std::cerr << "flowmrd: warning: " << issue_line(file, issue) << '\n';
  }
}

// One pointer per column, resolved once, so the per-value work is a branch and a conversion.
struct ColumnRef {
  const float* f = nullptr;
  const double* d = nullptr;
};

void write_delimited(const std::vector<std::string>& names, const std::vector<ColumnRef>& columns, std::size_t rows,
                     OutputSink& sink, char separator) {
  for (std::size_t c = 0; c < names.size(); ++c) {
    if (c > 0) sink.write(separator);
    sink.write_field(names[c], separator);
  }
  sink.write('\n');
  const std::size_t cols = columns.size();
  const std::size_t row_chars = cols * (max_shortest_chars + 1) + 1;
  for (std::size_t r = 0; r < rows; ++r) {
    char* p = sink.reserve(row_chars);
    for (std::size_t c = 0; c < cols; ++c) {
      if (c > 0) *p++ = separator;
      // Floats are widened to double first: flowCore holds doubles, so the text must be the
      // float's exact value as a double (0.1f prints as 0.10000000149011612).
      const double v = columns[c].f != nullptr ? static_cast<double>(columns[c].f[r]) : columns[c].d[r];
      p = write_shortest(p, v);
    }
    *p++ = '\n';
    sink.commit(p);
  }
}

void write_delimited(const fcs::Dataset& ds, OutputSink& sink, char separator) {
  const fcs::EventMatrix& events = ds.events;
  std::vector<std::string> names;
  std::vector<ColumnRef> columns(events.cols());
  for (std::size_t c = 0; c < events.cols(); ++c) {
    names.push_back(ds.channels[c].name);
    if (events.type(c) == fcs::ColumnType::f32) columns[c].f = events.f32(c).data();
    else columns[c].d = events.f64(c).data();
  }
  write_delimited(names, columns, events.rows(), sink, separator);
}

void write_delimited(const gating::Frame& frame, OutputSink& sink, char separator) {
  std::vector<std::string> names;
  std::vector<ColumnRef> columns(frame.cols());
  for (std::size_t c = 0; c < frame.cols(); ++c) {
    names.push_back(frame.column(c).name);
    columns[c].f = frame.column(c).values.data();
  }
  write_delimited(names, columns, frame.rows(), sink, separator);
}

// fcs::write_file writes "<path>.tmp" and renames it over the path, which would replace a device
// (-o /dev/stdout), a FIFO or a symlink rather than write into it; those get the bytes directly.
bool plain_file_target(const std::string& path) {
  std::error_code ec;
  const auto type = std::filesystem::symlink_status(path, ec).type();
  return type == std::filesystem::file_type::not_found || type == std::filesystem::file_type::regular;
}

// Encode and write a request to the output (a plain file through fcs::write_file, anything else
// as bytes). Any failure is an output failure: the input was fine.
void emit_fcs(const ExportOptions& options, const fcs::WriteRequest& request) {
  const std::string label = is_stdout(options.output) ? std::string{"<stdout>"} : options.output;
  try {
    if (options.output == "-" || !plain_file_target(options.output)) {
      const std::vector<std::byte> bytes = fcs::write_bytes(request);
      OutputSink sink(options.output);
      char* p = sink.reserve(bytes.size());
      if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
      sink.commit(p + bytes.size());
      sink.finish();
    } else {
      fcs::write_file(options.output, request);
    }
  } catch (const fcs::Error& error) {
    // Whatever the kind (an I/O failure, or a data set the FCS 3.1 writer cannot encode, such as
    // duplicate $PnN names), the input was fine and the output is what failed.
    std::string_view reason = error.what();
    if (reason.starts_with(label + ": ")) reason.remove_prefix(label.size() + 2);
    throw CommandError(ExitCode::output_failed, label + ": cannot write FCS: " + std::string{reason});
  } catch (const std::filesystem::filesystem_error& error) {
    throw CommandError(ExitCode::output_failed, label + ": cannot write FCS: " + error.code().message());
  }
}

void write_fcs(const ExportOptions& options, const fcs::Dataset& ds) {
  std::size_t double_columns = 0;
  for (std::size_t c = 0; c < ds.events.cols(); ++c) {
    if (ds.events.type(c) == fcs::ColumnType::f64) ++double_columns;
  }
  if (double_columns > 0) {
    std::cerr << "flowmrd: warning: " << options.file << ": " << double_columns
              << " channel(s) hold double values; the FCS 3.1 output stores float32, so they are rounded\n";
  }
  std::vector<std::vector<float>> storage;
  fcs::Issues notes;
  fcs::WriteRequest request;
  try {
    request = fcs::request_from_dataset(ds, storage, &notes);
  } catch (const fcs::Error& error) {
    throw CommandError(ExitCode::output_failed, options.output + ": cannot write FCS: " + error.issue().message);
  }
  print_warnings(options.file, notes);
  emit_fcs(options, request);
}

// The Frame as FCS 3.1: values in compensated/transformed space, marked as flowCore marks
// processed data (transformation=applied), with the compensation and each transform recorded
// in keywords, and no $SPILLOVER (the values are already compensated).
void write_fcs(const ExportOptions& options, const fcs::Dataset& ds, const gating::Frame& frame,
               const gating::Compensation* comp) {
  std::vector<std::vector<float>> storage;
  fcs::Issues notes;
  fcs::WriteRequest base;
  try {
    base = fcs::request_from_dataset(ds, storage, &notes);
  } catch (const fcs::Error& error) {
    throw CommandError(ExitCode::output_failed, options.output + ": cannot write FCS: " + error.issue().message);
  }
  print_warnings(options.file, notes);
  fcs::WriteRequest req;
  req.byte_order = base.byte_order;
  req.delimiter = base.delimiter;
  for (std::size_t c = 0; c < frame.cols(); ++c) {
    const gating::FrameColumn& col = frame.column(c);
    fcs::WriteChannel wc = base.channels[c];
    wc.gain = 1;
    if (col.transform.kind != gating::TransformKind::identity) {
      // The channel's range in transformed units: where its top ($PnR) lands.
      const double top = gating::Transform(col.transform).apply(ds.channels[c].range);
      wc.range = std::isfinite(top) && top > 1 ? std::ceil(top) : 1;
    }
    req.channels.push_back(std::move(wc));
    req.columns.emplace_back(col.values.data(), col.values.size());
  }
  for (const auto& [k, v] : base.keywords) {
    if (k == "transformation" || k.starts_with("flowCore_")) continue;
    req.keywords.emplace_back(k, v);
  }
  req.keywords.emplace_back("transformation", "applied");
  if (comp != nullptr) {
    req.keywords.emplace_back("FLOWMRD_COMPENSATION", gating::to_string(comp->source().kind) + " " +
                                                          comp->source().origin + " sha256:" + comp->source().sha256);
  }
  for (std::size_t c = 0; c < frame.cols(); ++c) {
    if (frame.column(c).transform.kind != gating::TransformKind::identity)
      req.keywords.emplace_back("FLOWMRD_P" + std::to_string(c + 1) + "TRANSFORM", frame.column(c).transform.to_string());
  }
  emit_fcs(options, req);
}

// "CHANNEL=NAME:K=V,..." -> (channel, spec). CHANNEL is matched against $PnN, then $PnS; ALL
// stands for every channel not named.
std::pair<std::string, gating::TransformSpec> parse_transform_option(const std::string& text, const fcs::Dataset& ds) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw CommandError(ExitCode::usage, "--transform '" + text + "': expected CHANNEL=NAME[:K=V,...] (or ALL=...)");
  }
  std::string channel = text.substr(0, eq);
  gating::TransformSpec spec;
  try {
    spec = gating::TransformSpec::parse(text.substr(eq + 1));
  } catch (const gating::TransformError& e) {
    throw CommandError(ExitCode::usage, "--transform '" + text + "': " + e.what());
  }
  if (channel == "ALL" || channel == "all" || channel == "*") return {"*", spec};
  if (ds.find_channel(channel) >= 0) return {channel, spec};
  std::vector<std::string> by_marker;
  for (const fcs::Channel& c : ds.channels)
    if (c.marker && *c.marker == channel) by_marker.push_back(c.name);
  if (by_marker.size() == 1) return {by_marker.front(), spec};
  std::string known;
  for (const fcs::Channel& c : ds.channels) known += (known.empty() ? "" : ", ") + c.name;
  throw CommandError(ExitCode::usage, "--transform '" + text + "': " +
                                          (by_marker.empty() ? "no channel named '" + channel + "' ($PnN or $PnS); channels: " + known
                                                             : "'" + channel + "' is the marker of several channels"));
}

// The analysis view asked for by --compensate/--spillover/--transform.
struct AnalysisView {
  std::optional<gating::Compensation> compensation;
  gating::Frame frame;
};

AnalysisView analysis_view(const ExportOptions& options, const fcs::Dataset& ds) {
  AnalysisView view;
  try {
    if (!options.spillover_file.empty()) {
      view.compensation = gating::Compensation::from_file(options.spillover_file);
    } else if (options.compensate) {
      view.compensation = gating::Compensation::from_dataset(ds);
      if (!view.compensation) {
        throw CommandError(ExitCode::input_invalid,
                           options.file + ": --compensate: the file has no spillover matrix (SPILL, spillover, "
                                          "$SPILLOVER, $COMP, $DFCiTOj); give one with --spillover FILE");
      }
    }
  } catch (const gating::CompensationError& e) {
    throw CommandError(ExitCode::input_invalid, e.what());
  }
  gating::FrameOptions fo;
  if (view.compensation) fo.compensation = &*view.compensation;
  for (const std::string& t : options.transforms) {
    auto [channel, spec] = parse_transform_option(t, ds);
    fo.transforms[channel] = spec;
  }
  try {
    view.frame = gating::build_frame(ds, fo);
  } catch (const gating::CompensationError& e) {
    throw CommandError(ExitCode::input_invalid, options.file + ": " + e.what());
  } catch (const gating::TransformError& e) {
    throw CommandError(ExitCode::usage, e.what());
  }
  return view;
}

}  // namespace

int run_export(const ExportOptions& options) {
  if (options.format == "fcs" && options.output.empty()) {
    throw CommandError(ExitCode::usage,
                       "--format fcs needs -o FILE (or -o - to write the binary file to standard output)");
  }
  const fcs::File file = read_input(options.file, read_options_for(options));
  const fcs::Dataset& ds = dataset_numbered(file, options.dataset);
  print_warnings(options.file, file.issues);
  print_warnings(options.file, ds.issues);

  const char separator = options.format == "tsv" ? '\t' : ',';
  if (options.compensate || !options.spillover_file.empty() || !options.transforms.empty()) {
    const AnalysisView view = analysis_view(options, ds);
    if (view.compensation) {
      const auto& src = view.compensation->source();
      std::cerr << "flowmrd: note: " << options.file << ": compensated with " << gating::to_string(src.kind) << " "
                << src.origin << " (" << view.compensation->size() << " channels, sha256 " << src.sha256.substr(0, 12)
                << "...)\n";
    }
    if (options.format == "fcs") {
      write_fcs(options, ds, view.frame, view.compensation ? &*view.compensation : nullptr);
      return to_int(ExitCode::ok);
    }
    OutputSink sink(is_stdout(options.output) ? std::string{"-"} : options.output);
    write_delimited(view.frame, sink, separator);
    sink.finish();
    return to_int(ExitCode::ok);
  }
  if (options.format == "fcs") {
    write_fcs(options, ds);
    return to_int(ExitCode::ok);
  }
  OutputSink sink(is_stdout(options.output) ? std::string{"-"} : options.output);
  write_delimited(ds, sink, separator);
  sink.finish();
  return to_int(ExitCode::ok);
}

}  // namespace flowmrd::cli
