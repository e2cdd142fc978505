// SPDX-License-Identifier: Apache-2.0
/// @file cmd_qa.hpp
/// `flowmrd qa`: compare a reference gating (FlowJo workspace, Gating-ML, labels CSV or flowmrd
/// result) with a test gating of the same FCS file, population by population and event by event.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace flowmrd::cli {

/// Add the `qa` subcommand to `app`; the returned function runs it after parsing and returns the
/// exit code (failures are thrown as CommandError).
[[nodiscard]] std::function<int()> add_qa_command(CLI::App& app);

}  // namespace flowmrd::cli
