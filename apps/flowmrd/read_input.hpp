// SPDX-License-Identifier: Apache-2.0
/// @file read_input.hpp
/// Reading an input FCS file with reader failures turned into classified command errors.
#pragma once

#include <string>

#include "fcs/options.hpp"
#include "fcs/reader.hpp"

namespace flowmrd::cli {

/// `fcs::read_file(path, options)`.
/// @throws CommandError with the exit code for the `fcs::ErrorKind` (exit_code_for_input), a
///         message that names the file, and the issues found before the failure as notes.
[[nodiscard]] fcs::File read_input(const std::string& path, const fcs::ReadOptions& options);

/// The data set numbered `number` (1-based) among those read.
/// @throws CommandError (usage) when it was not read.
[[nodiscard]] const fcs::Dataset& dataset_numbered(const fcs::File& file, int number);

}  // namespace flowmrd::cli
