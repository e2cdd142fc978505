// SPDX-License-Identifier: Apache-2.0
/// @file cmd_batch.hpp
/// `flowmrd batch`: every sample of a manifest through the pipeline, into the results store, with
/// one report per patient and a batch summary (docs/batch.md, docs/cli.md).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace flowmrd::cli {

/// Add the `batch` subcommand to `app`; the returned function runs it after parsing and returns the
/// exit code (failures are thrown as CommandError).
[[nodiscard]] std::function<int()> add_batch_command(CLI::App& app);

/// Keep the process's command line for the store's audit table (called by main before parsing).
void remember_command_line(int argc, const char* const* argv);

}  // namespace flowmrd::cli
