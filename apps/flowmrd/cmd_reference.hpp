// SPDX-License-Identifier: Apache-2.0
/// @file cmd_reference.hpp
/// `flowmrd reference build`: a normal-marrow reference (schema flowmrd.reference/1) from FCS
/// files of normal or regenerating marrow; `flowmrd reference show`: what a reference holds.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace flowmrd::cli {

/// Add the `reference` subcommand (with `build` and `show`) to `app`; the returned function runs
/// the chosen one after parsing and returns the exit code (failures are thrown as CommandError).
[[nodiscard]] std::function<int()> add_reference_command(CLI::App& app);

}  // namespace flowmrd::cli
