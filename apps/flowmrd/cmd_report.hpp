// SPDX-License-Identifier: Apache-2.0
/// @file cmd_report.hpp
/// `flowmrd report` (see docs/cli.md).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace flowmrd::cli {

/// Add the `report` subcommand to `app`; the returned function runs it after parsing and returns the
/// exit code (failures are thrown as CommandError).
[[nodiscard]] std::function<int()> add_report_command(CLI::App& app);

}  // namespace flowmrd::cli
