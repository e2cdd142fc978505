// SPDX-License-Identifier: Apache-2.0
/// @file read_input.hpp
/// Reading an input FCS file with reader failures turned into classified command errors.
#pragma once

#include <string>

#include "fcs/options.hpp"
#include "fcs/reader.hpp"
#include "flowmrd/gating/flowjo.hpp"

namespace flowmrd::cli {

/// `fcs::read_file(path, options)`.
/// @throws CommandError with the exit code for the `fcs::ErrorKind` (exit_code_for_input), a
///         message that names the file, and the issues found before the failure as notes.
[[nodiscard]] fcs::File read_input(const std::string& path, const fcs::ReadOptions& options);

/// The data set numbered `number` (1-based) among those read.
/// @throws CommandError (usage) when it was not read.
[[nodiscard]] const fcs::Dataset& dataset_numbered(const fcs::File& file, int number);

/// The workspace sample to apply to `fcs_file` (data set `ds`): the one named by `sample` (name,
/// id or file name) when given; else the sample named like the FCS file, then the one named by
/// its $FIL, then the workspace's only sample.
/// @throws CommandError (usage) naming `workspace_path` and listing the samples when none fits.
[[nodiscard]] const gating::WorkspaceSample& pick_workspace_sample(const gating::Workspace& ws,
                                                                   const std::string& workspace_path,
                                                                   const std::string& sample,
                                                                   const std::string& fcs_file,
                                                                   const fcs::Dataset& ds);

/// The first `limit` bytes of a file (all of it by default), e.g. to tell its kind from its start.
/// @throws CommandError (input_invalid) for a directory or a file that cannot be opened or read.
[[nodiscard]] std::string read_text(const std::string& path, std::size_t limit = std::string::npos);

/// SHA-256 (hex) of a file's bytes, for provenance. @throws CommandError (input_invalid).
[[nodiscard]] std::string file_sha256(const std::string& path);

}  // namespace flowmrd::cli
