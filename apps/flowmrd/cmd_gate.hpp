// SPDX-License-Identifier: Apache-2.0
/// @file cmd_gate.hpp
/// `flowmrd gate`: apply a Gating-ML 2.0 file or a FlowJo workspace's gating tree to an FCS file;
/// per-population counts, optional per-gate membership files (compliance-suite format) and JSON.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace flowmrd::cli {

/// Add the `gate` subcommand to `app`; the returned function runs it after parsing and returns
/// the exit code (failures are thrown as CommandError).
[[nodiscard]] std::function<int()> add_gate_command(CLI::App& app);

}  // namespace flowmrd::cli
