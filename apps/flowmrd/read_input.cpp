// SPDX-License-Identifier: Apache-2.0
#include "read_input.hpp"

#include <filesystem>
#include <string_view>
#include <utility>
#include <vector>

#include "command_error.hpp"
#include "fcs/error.hpp"
#include "json_issue.hpp"

namespace flowmrd::cli {

namespace {

// fcs::Error::what() names the file already; this guards against an error raised without one
// (e.g. by a helper that never saw the path) so every message still says which input failed.
std::string describe(const fcs::Error& error, const std::string& path) {
  const std::string& label = error.file().empty() ? path : error.file();
  const std::string_view what = error.what();
  if (what.starts_with(label + ": ")) return std::string{what};
  return label + ": " + std::string{what};
}

}  // namespace

fcs::File read_input(const std::string& path, const fcs::ReadOptions& options) {
  try {
    return fcs::read_file(path, options);
  } catch (const fcs::Error& error) {
    std::vector<std::string> notes;
    for (const auto& issue : error.earlier_issues()) {
      if (is_warning(issue)) notes.push_back(issue_line(path, issue));
    }
    throw CommandError(exit_code_for_input(error.kind()), describe(error, path), std::move(notes));
  } catch (const std::filesystem::filesystem_error& error) {
    throw CommandError(ExitCode::input_invalid, path + ": " + error.code().message());
  }
}

const fcs::Dataset& dataset_numbered(const fcs::File& file, int number) {
  for (const auto& dataset : file.datasets) {
    if (dataset.number == number) return dataset;
  }
  throw CommandError(ExitCode::usage, file.label + ": data set " + std::to_string(number) +
                                          " requested, but the file has " +
                                          std::to_string(file.dataset_count) + " data set(s)");
}

}  // namespace flowmrd::cli
