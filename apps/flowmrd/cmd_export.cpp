// SPDX-License-Identifier: Apache-2.0
#include "cmd_export.hpp"

#include <cstdio>
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

// RFC 4180: a field holding the separator, a quote or a line break is quoted, quotes doubled.
// TSV has no quoting standard; the same rule is applied with the tab as separator.
void write_field(OutputSink& sink, std::string_view field, char separator) {
  const bool needs_quotes = field.find_first_of(std::string{separator} + "\"\r\n") != std::string_view::npos;
  if (!needs_quotes) {
    sink.write(field);
    return;
  }
  sink.write('"');
  for (const char c : field) {
    if (c == '"') sink.write('"');
    sink.write(c);
  }
  sink.write('"');
}

void write_delimited(const fcs::Dataset& ds, OutputSink& sink, char separator) {
  for (std::size_t c = 0; c < ds.channels.size(); ++c) {
    if (c > 0) sink.write(separator);
    write_field(sink, ds.channels[c].name, separator);
  }
  sink.write('\n');

  // One pointer per column, resolved once, so the per-value work is a branch and a conversion.
  struct Column {
    const float* f = nullptr;
    const double* d = nullptr;
  };
  const fcs::EventMatrix& events = ds.events;
  const std::size_t cols = events.cols();
  std::vector<Column> columns(cols);
  for (std::size_t c = 0; c < cols; ++c) {
    if (events.type(c) == fcs::ColumnType::f32) {
      columns[c].f = events.f32(c).data();
    } else {
      columns[c].d = events.f64(c).data();
    }
  }
  const std::size_t row_chars = cols * (max_shortest_chars + 1) + 1;
  for (std::size_t r = 0; r < events.rows(); ++r) {
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

// fcs::write_file writes "<path>.tmp" and renames it over the path, which would replace a device
// (-o /dev/stdout), a FIFO or a symlink rather than write into it; those get the bytes directly.
bool plain_file_target(const std::string& path) {
  std::error_code ec;
  const auto type = std::filesystem::symlink_status(path, ec).type();
  return type == std::filesystem::file_type::not_found || type == std::filesystem::file_type::regular;
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

  const std::string label = is_stdout(options.output) ? std::string{"<stdout>"} : options.output;
  try {
    std::vector<std::vector<float>> storage;
    fcs::Issues notes;
    const fcs::WriteRequest request = fcs::request_from_dataset(ds, storage, &notes);
    print_warnings(options.file, notes);
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

  if (options.format == "fcs") {
    write_fcs(options, ds);
    return to_int(ExitCode::ok);
  }
  OutputSink sink(is_stdout(options.output) ? std::string{"-"} : options.output);
  write_delimited(ds, sink, options.format == "tsv" ? '\t' : ',');
  sink.finish();
  return to_int(ExitCode::ok);
}

}  // namespace flowmrd::cli
