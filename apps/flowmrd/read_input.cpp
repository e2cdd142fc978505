// SPDX-License-Identifier: Apache-2.0
#include "read_input.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>
#include <utility>
#include <vector>

#include "command_error.hpp"
#include "fcs/error.hpp"
#include "fcs/sha256.hpp"
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

namespace flowmrd::cli {

const gating::WorkspaceSample& pick_workspace_sample(const gating::Workspace& ws, const std::string& workspace_path,
                                                     const std::string& sample, const std::string& fcs_file,
                                                     const fcs::Dataset& ds) {
  std::string names;
  for (const auto& s : ws.samples) names += (names.empty() ? "" : ", ") + s.name;
  if (names.empty()) names = "none";
  if (!sample.empty()) {
    if (const auto* s = ws.find_sample(sample)) return *s;
    throw CommandError(ExitCode::usage, workspace_path + ": no sample '" + sample + "' (samples: " + names + ")");
  }
  const std::string file_name = std::filesystem::path(fcs_file).filename().string();
  if (const auto* s = ws.find_sample(file_name)) return *s;
  if (const auto fil = ds.keywords.get("$FIL")) {
    if (const auto* s = ws.find_sample(*fil)) return *s;
  }
  if (ws.samples.size() == 1) return ws.samples.front();
  throw CommandError(ExitCode::usage, workspace_path + ": no sample matches " + file_name +
                                          " by name or $FIL; choose one with --sample (samples: " + names + ")");
}

std::string read_text(const std::string& path, std::size_t limit) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw CommandError(ExitCode::input_invalid, path + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CommandError(ExitCode::input_invalid, path + ": cannot open (no such file or no permission)");
  std::string text;
  if (limit == std::string::npos) {
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else {
    text.resize(limit);
    in.read(text.data(), static_cast<std::streamsize>(limit));
    text.resize(static_cast<std::size_t>(in.gcount()));
    return text;
  }
  if (!in.eof() && in.fail()) throw CommandError(ExitCode::input_invalid, path + ": cannot read the file");
  return text;
}

std::string file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.eof() && in.fail()) throw CommandError(ExitCode::input_invalid, path + ": cannot read the file to hash it");
  return fcs::sha256_hex(std::as_bytes(std::span<const char>(bytes)));
}

}  // namespace flowmrd::cli
