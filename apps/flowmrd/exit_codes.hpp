// SPDX-License-Identifier: Apache-2.0
/// @file exit_codes.hpp
/// The process exit codes of `flowmrd`, documented for users in docs/exit-codes.md.
///
/// Scripts and workflow engines branch on these numbers, so a value never changes meaning once
/// released; new failure classes get new numbers.
#pragma once

#include "fcs/error.hpp"

namespace flowmrd::cli {

/// Why `flowmrd` ended. The numeric values are part of the command-line interface.
enum class ExitCode : int {
  ok = 0,                     ///< Success.
  internal_error = 1,         ///< An unexpected exception: a bug in flowmrd, or out of memory.
  usage = 2,                  ///< Bad command line, or a request the input cannot satisfy (data set 3 of 2).
  input_invalid = 3,          ///< The input could not be opened or is not a readable FCS file.
  unsupported = 4,            ///< Valid FCS using a feature flowmrd does not implement.
  output_failed = 5,          ///< The output could not be written (or encoded as FCS 3.1).
  analysis_failed = 6,        ///< Reserved: an analysis step failed.
  partial_batch_failure = 7,  ///< Reserved: some samples of a batch failed, others succeeded.
};

/// The value to return from `main`.
[[nodiscard]] constexpr int to_int(ExitCode code) noexcept { return static_cast<int>(code); }

/// Exit code for a failure to *read* an input; `fcs::ErrorKind::argument` is the caller asking
/// for something the file does not have, which is a usage error.
[[nodiscard]] constexpr ExitCode exit_code_for_input(fcs::ErrorKind kind) noexcept {
  switch (kind) {
    case fcs::ErrorKind::io: return ExitCode::input_invalid;
    case fcs::ErrorKind::invalid: return ExitCode::input_invalid;
    case fcs::ErrorKind::unsupported: return ExitCode::unsupported;
    case fcs::ErrorKind::argument: return ExitCode::usage;
  }
  return ExitCode::internal_error;
}

}  // namespace flowmrd::cli
