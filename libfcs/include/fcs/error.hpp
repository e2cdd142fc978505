// SPDX-License-Identifier: Apache-2.0
/// @file error.hpp
/// The exception thrown when a file cannot be read or written.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "fcs/issue.hpp"

namespace fcs {

/// What kind of failure an `Error` is; the CLI maps these to exit codes.
enum class ErrorKind {
  io,           ///< The file could not be opened, mapped or written.
  invalid,      ///< The bytes are not a readable FCS file (or violate strict mode).
  unsupported,  ///< Valid FCS, but a feature this reader does not implement (e.g. $MODE C).
  argument,     ///< The caller asked for something impossible (e.g. data set 3 of 2).
};

/// Failure to read or write an FCS file. `what()` names the file, the place and the reason.
class Error : public std::runtime_error {
 public:
  /// @param issue  the issue that made reading fail (its severity is forced to `error`).
  /// @param file   the path or label of the input, may be empty.
  Error(ErrorKind kind, Issue issue, std::string file = {});

  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }
  /// The failing issue: code, byte offset, keyword and message.
  [[nodiscard]] const Issue& issue() const noexcept { return issue_; }
  /// The file label given to the reader (path or caller-chosen name).
  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  /// Issues collected before the failure (repairs already applied, other warnings).
  [[nodiscard]] const Issues& earlier_issues() const noexcept { return earlier_; }

  /// "FILE: reason (dataset N, byte X, keyword K) [code]".
  [[nodiscard]] const char* what() const noexcept override { return what_.c_str(); }

  /// Attach a file label and the issues gathered so far (used while unwinding through the reader).
  void set_context(std::string file, Issues earlier);

 private:
  static std::string format(const Issue& issue, const std::string& file);
  ErrorKind kind_;
  Issue issue_;
  std::string file_;
  Issues earlier_;
  std::string what_;
};

}  // namespace fcs
