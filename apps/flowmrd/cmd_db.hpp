// SPDX-License-Identifier: Apache-2.0
/// @file cmd_db.hpp
/// `flowmrd db` (see docs/cli.md).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace flowmrd::cli {

/// Add the `db` subcommand to `app`; the returned function runs it after parsing and returns the
/// exit code (failures are thrown as CommandError).
[[nodiscard]] std::function<int()> add_db_command(CLI::App& app);

}  // namespace flowmrd::cli
