// SPDX-License-Identifier: Apache-2.0
/// @file command_error.hpp
/// The one exception type commands throw to end `flowmrd` with a chosen exit code.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "exit_codes.hpp"

namespace flowmrd::cli {

/// A failure a command has already classified: `main` prints `notes` as warnings, then
/// `flowmrd: error: <what()>`, and exits with `code()`.
class CommandError : public std::runtime_error {
 public:
  /// @param message  "<file>: <reason>" (without the "flowmrd: error: " prefix).
  /// @param notes    warning lines printed before the error (issues found before the failure),
  ///                 each already formatted as "<file>: <reason>".
  CommandError(ExitCode code, const std::string& message, std::vector<std::string> notes = {});

  [[nodiscard]] ExitCode code() const noexcept { return code_; }
  [[nodiscard]] const std::vector<std::string>& notes() const noexcept { return notes_; }

 private:
  ExitCode code_;
  std::vector<std::string> notes_;
};

}  // namespace flowmrd::cli
