// SPDX-License-Identifier: Apache-2.0
/// @file cmd_batch.hpp
/// `flowmrd batch` (see docs/cli.md).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace flowmrd::cli {

/// Add the `batch` subcommand to `app`; the returned function runs it after parsing and returns the
/// exit code (failures are thrown as CommandError).
[[nodiscard]] std::function<int()> add_batch_command(CLI::App& app);

}  // namespace flowmrd::cli
