// SPDX-License-Identifier: Apache-2.0
/// @file report.hpp
/// The clinician's per-patient MRD report and the batch summary (`flowmrd report`,
/// `flowmrd batch`; documented in docs/report.md). Both are self-contained HTML pages: inline
/// CSS, inline SVG for the MRD-over-time plot, PNG density plots embedded as data: URIs, no
/// script and no network reference, so the file can be mailed, archived or printed to PDF as it is.
///
/// The HTML is a pure function of its inputs (no clock, host or path is read here): the
/// generation time and the software version are inputs.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowmrd/panels/protocol.hpp"
#include "flowmrd/pipeline/store.hpp"

namespace flowmrd::pipeline {

/// A protocol threshold to draw on the MRD-over-time plot.
struct ReportThreshold {
  std::string timepoint;  ///< protocol timepoint id the rule compares ("eoi")
  double percent = 0.0;   ///< e.g. 0.01
  std::string label;      ///< e.g. "Interfant-21 eoi: HR if >= 0.05%"
};

/// One timepoint of the report: its timeline row and the density plots to show (already chosen:
/// the key plots, not every pre-gating step).
struct ReportTimepoint {
  TimelineRow row;
  std::vector<StoredPlot> plots;
};

/// Everything a patient report shows.
struct PatientReportInput {
  std::string patient;
  std::string protocol;  ///< display name and version, e.g. "Interfant-21 v1" ("" = none)
  std::vector<ReportTimepoint> timepoints;  ///< in timeline order
  std::vector<ReportThreshold> thresholds;
  std::string software_version;
  std::string generated_at;  ///< UTC ISO 8601, shown in the footer
  std::string store;         ///< store file name, shown in the footer
  std::vector<std::string> notes;  ///< report-level notes shown under the findings (e.g. "protocol
                                   ///< X could not be loaded: thresholds not drawn")
};

/// Every threshold a protocol compares MRD with: one per leaf condition on `mrd_percent` in its
/// rules (documentation-only `note` rules excluded), in rule order, labelled
/// "<rule id>: <op> <value>% at <timepoint>".
[[nodiscard]] std::vector<ReportThreshold> protocol_thresholds(const panels::Protocol& protocol);

/// The MRD-over-time plot of a patient report alone: an inline `<svg>` element (log10 MRD axis,
/// timepoints in order, spaced by date when every timepoint is dated; CI bars; negative results
/// drawn at the LOD with a downward marker; thresholds as dashed segments at their timepoint).
/// Empty when no timepoint has an MRD value.
[[nodiscard]] std::string mrd_over_time_svg(const PatientReportInput& input);


/// The patient report page (UTF-8 HTML5). Failed samples appear in the table with their reason.
[[nodiscard]] std::string render_patient_report(const PatientReportInput& input);

/// The key density plots of a result for the report, chosen by plot file name from all of a
/// sample's plots: the B-cell CD10/CD34 and CD10/CD45 views, the CD19-negative window when the
/// cd19_negative flag is raised, the myelomonocytic CD64/CD14 and HLA-DR/CD33 views when
/// lineage_switch is raised; at most `max_plots`, in the analysis order.
[[nodiscard]] std::vector<StoredPlot> key_plots(const std::vector<StoredPlot>& all, const TimelineRow& row,
                                                std::size_t max_plots = 4);

/// One row of the batch summary.
struct BatchSummaryRow {
  std::string patient, sample, timepoint, date, files;  ///< files: ';'-separated as in the manifest
  std::string outcome;        ///< "analysed", "skipped (unchanged)", "failed"
  std::string error;          ///< the reason when failed
  std::optional<double> mrd_percent;
  std::string mrd_status;
  std::vector<std::string> flags;
  std::string risk_group;
  std::string report;         ///< the patient's report file, relative to the summary ("" = none)
  std::optional<double> seconds;  ///< analysis wall time (not written to the CSV: not deterministic)
};

/// The batch summary as CSV (header: patient,sample,timepoint,date,files,outcome,error,
/// mrd_percent,mrd_status,flags,risk_group,report).
[[nodiscard]] std::string batch_summary_csv(const std::vector<BatchSummaryRow>& rows);

/// The batch summary as an HTML page (failures highlighted, links to the patient reports).
[[nodiscard]] std::string batch_summary_html(const std::vector<BatchSummaryRow>& rows, const std::string& title,
                                             const std::string& software_version, const std::string& generated_at);

}  // namespace flowmrd::pipeline
