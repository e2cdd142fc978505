// SPDX-License-Identifier: Apache-2.0
/// @file cmd_analyze.hpp
/// `flowmrd analyze`: the automated MRD analysis of one timepoint (one or more tubes of the same
/// sample): result JSON (schema flowmrd.result/1, docs/result-format.md), a readable summary,
/// gating plots, the per-event CSV and the protocol evaluation. Also the helpers `flowmrd
/// reference` shares with it (panel choice, atomic output).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "command_error.hpp"
#include "flowmrd/panels/panel.hpp"
#include "flowmrd/panels/protocol.hpp"
#include "flowmrd/pipeline/analysis.hpp"
#include "flowmrd/pipeline/reference.hpp"
#include "flowmrd/pipeline/rule_engine.hpp"

namespace flowmrd::cli {

/// Add the `analyze` subcommand to `app`; the returned function runs it after parsing and
/// returns the exit code (failures are thrown as CommandError).
[[nodiscard]] std::function<int()> add_analyze_command(CLI::App& app);

/// The panels a `--panel` option allows: the one named (a shipped panel's name or file stem, or a
/// panel file), or every shipped panel when `option` is empty (each tube then gets the panel that
/// fits it best).
/// @throws CommandError usage for an unknown name (listing the shipped ones), input_invalid for
///         an unreadable or invalid panel file
[[nodiscard]] std::vector<panels::Panel> panels_for_option(const std::string& option);

/// The protocol a `--protocol` option names: a shipped protocol's name or file stem
/// (panels/protocols), or a protocol file.
/// @throws CommandError usage for an unknown name (listing the shipped ones), input_invalid for
///         an unreadable or invalid file
[[nodiscard]] panels::Protocol load_protocol_option(const std::string& option);

/// The decision threshold of a timepoint: the lowest MRD % that a deciding or alerting rule of
/// the protocol compares this timepoint's MRD with (nullopt: none).
[[nodiscard]] std::optional<double> decision_threshold(const panels::Protocol& protocol, const std::string& timepoint);

/// Parse clinical inputs given as KEY=VALUE (age_days, wbc, kmt2a, kmt2a_fusion, cns,
/// day8_pb_blasts_per_ul) into `inputs`; returns the pairs as given, for the provenance record.
/// @throws CommandError usage naming the item for an unknown key, a repeated key or a bad value
std::vector<std::pair<std::string, std::string>> parse_clinical(const std::vector<std::string>& items,
                                                                pipeline::ProtocolInputs& inputs);

/// The normal-marrow reference a `--reference` option names ("" = the shipped default).
/// @throws CommandError input_invalid when it is missing or invalid
[[nodiscard]] pipeline::NormalReference load_reference_option(const std::string& option);

/// Load one tube for analysis; AnalysisError becomes a CommandError with the documented exit code
/// (input_invalid 3 for unreadable, non-FCS or empty files and for a tube no panel fits,
/// analysis_failed 6 otherwise). The reader's repairs are printed to stderr as warnings.
[[nodiscard]] pipeline::Tube load_tube_or_fail(const std::string& path, const std::vector<panels::Panel>& panels,
                                               unsigned threads);

/// The CommandError for an AnalysisError.
[[nodiscard]] CommandError analysis_error(const pipeline::AnalysisError& e);

/// Write `text` to `path` atomically (a temporary file in the same directory, then rename) when
/// `path` is a regular file or does not exist yet; a device, FIFO or symlink is written in place,
/// never replaced; "-" is standard output. @throws CommandError output_failed naming the path
void write_atomically(const std::string& path, std::string_view text);

}  // namespace flowmrd::cli
