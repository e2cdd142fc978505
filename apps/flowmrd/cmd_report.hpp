// SPDX-License-Identifier: Apache-2.0
/// @file cmd_report.hpp
/// `flowmrd report` (see docs/cli.md and docs/report.md): the per-patient MRD report from a
/// results store, as HTML and optionally PDF (headless Chromium). Also the pieces `flowmrd
/// batch` uses to write one report per patient.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "flowmrd/pipeline/report.hpp"
#include "flowmrd/pipeline/store.hpp"

namespace flowmrd::cli {

/// Add the `report` subcommand to `app`; the returned function runs it after parsing and returns the
/// exit code (failures are thrown as CommandError).
[[nodiscard]] std::function<int()> add_report_command(CLI::App& app);

/// UTC now as ISO 8601 ("2024-06-01T12:00:00Z"), or the time SOURCE_DATE_EPOCH gives (seconds
/// since 1970) when that variable is set: the reports' only non-deterministic part.
[[nodiscard]] std::string report_generated_at();

/// Everything the report of `patient` shows, read from `store`: the timeline, the key plots of each
/// sample, the protocol and its thresholds (protocol loaded by the name recorded in the timeline;
/// when it cannot be loaded, no thresholds and a note). generated_at is report_generated_at().
/// @throws CommandError usage (2) for an unknown patient, listing the known ones;
///         input_invalid (3) when the store cannot be read
[[nodiscard]] pipeline::PatientReportInput patient_report_input(const pipeline::ResultStore& store,
                                                                const std::string& patient,
                                                                const std::string& store_label);

/// The patient's report page (patient_report_input, then render_patient_report).
/// @throws CommandError as patient_report_input
[[nodiscard]] std::string patient_report_html(const pipeline::ResultStore& store, const std::string& patient,
                                              const std::string& store_label);

/// The Chromium executable: $FLOWMRD_CHROMIUM when set (nullopt when it is not an executable
/// file), else the first of chromium, chromium-browser, google-chrome, google-chrome-stable in PATH.
[[nodiscard]] std::optional<std::string> find_chromium();

/// Print an HTML file to PDF with headless Chromium (killed after 60 s). The PDF is written next
/// to its final name and renamed into place once it is checked to start with "%PDF".
/// @throws CommandError output_failed (5) when Chromium is missing ("--pdf needs Chromium (Debian
///         package 'chromium'); not found ..."), fails, times out or writes no PDF
void write_pdf(const std::string& html_path, const std::string& pdf_path);

}  // namespace flowmrd::cli
