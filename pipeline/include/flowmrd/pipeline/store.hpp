// SPDX-License-Identifier: Apache-2.0
/// @file store.hpp
/// The results store: an SQLite database that keeps every analysed sample of a lab
/// (`flowmrd batch --db`, `flowmrd db`, `flowmrd report`). Documented table by table in
/// docs/store.md.
///
/// Tables: patients, timepoints (one per patient and timepoint label), samples (one per patient
/// and sample id: tubes, fingerprint, status ok/failed with the reason), results (the full
/// result JSON plus indexed columns: MRD %, status, LOD/LLOQ, CI, raised flags, protocol risk
/// group and rule), plots (the PNG density plots of a result), provenance (per tube: file,
/// SHA-256, panel, cytometer) and audit (append-only, enforced by triggers: when, who, host,
/// command line, software version, action, patient/sample, input and result hashes).
/// `schema_version` holds the version; opening an older store migrates it step by step in one
/// transaction, opening a newer one is refused.
///
/// One `record` is one transaction: a process killed at any moment leaves the store with the
/// sample either fully recorded or as it was before.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace flowmrd::pipeline {

/// The schema version this build writes.
inline constexpr int kStoreSchemaVersion = 1;

/// A store that cannot be opened, migrated, read or written: what() is "FILE: reason".
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One tube of a recorded sample.
struct StoredTube {
  std::string label;   ///< manifest `tube` (or file name)
  std::string path;    ///< as the manifest resolved it
  std::string sha256;  ///< of the file's bytes; "" when the file could not be read
};

/// One density plot of a result.
struct StoredPlot {
  std::string name;   ///< file name, e.g. "p1-day15-07-b-cd45-cd10.png"
  std::string title;  ///< e.g. "B cells: CD45 vs CD10"
  std::string tube;   ///< tube label
  std::vector<std::uint8_t> png;
};

/// Everything recorded about one sample (one timepoint of one patient).
struct SampleRecord {
  std::string patient;
  std::string sample;
  std::string timepoint;           ///< lab label
  std::string protocol_timepoint;  ///< protocol id or ""
  std::string date;                ///< YYYY-MM-DD or ""
  std::string protocol;            ///< as in the manifest ("" = none)
  std::string panel;               ///< as in the manifest ("" = chosen per tube)
  bool diagnosis = false;
  std::vector<std::pair<std::string, std::string>> clinical;  ///< KEY=VALUE as in the manifest
  std::vector<StoredTube> tubes;
  /// SHA-256 over the inputs and options that decide the result (tube hashes, panel, protocol,
  /// reference, clinical inputs, diagnosis and earlier results, LOD/LLOQ, software version):
  /// the `--resume` key.
  std::string fingerprint;
  bool ok = false;
  std::string error_kind;     ///< when !ok: "input_invalid", "panel_mismatch", "analysis_failed", ...
  std::string error_message;  ///< when !ok: "FILE: reason"
  std::string result_json;    ///< when ok: the flowmrd.result/1 text (indexed columns come from it)
  std::vector<StoredPlot> plots;
};

/// Who and what recorded a sample (one audit row per `record`).
struct AuditContext {
  std::string command_line;      ///< the full command line as run
  std::string software_version;  ///< e.g. "0.1.0"
  std::string user;              ///< "" = taken from the environment (USER/LOGNAME, else uid)
  std::string host;              ///< "" = gethostname()
};

/// A patient as listed by `flowmrd db patients`.
struct PatientRow {
  std::string patient;
  std::string protocol;            ///< of the latest sample with one
  std::size_t samples = 0;
  std::size_t failed = 0;
  std::string first_date, last_date;  ///< "" when no dates
  std::string latest_timepoint;
  std::optional<double> latest_mrd_percent;
  std::string latest_status;       ///< MRD status of the latest ok sample
};

/// One sample of a patient's timeline (`flowmrd db timeline`, the report).
struct TimelineRow {
  std::int64_t sample_row = 0;     ///< rowid in samples (for plots())
  std::string patient, sample, timepoint, protocol_timepoint, date, protocol, panel;
  bool diagnosis = false;
  bool ok = false;
  std::string error_kind, error_message;
  std::vector<StoredTube> tubes;
  std::string fingerprint;
  // From the result (empty/nullopt when failed or absent in the JSON):
  std::string mrd_status;          ///< "positive", "positive_below_lloq", "negative", ...
  std::optional<double> mrd_percent, lod_percent, lloq_percent, ci_low_percent, ci_high_percent;
  std::optional<std::int64_t> blast_events, denominator_events;
  std::optional<double> sensitivity_one_in;
  std::vector<std::string> flags;  ///< ids of raised flags, in result order
  std::string protocol_name, protocol_version;
  std::string protocol_status;     ///< "assigned", "not evaluable", ...
  std::string risk_group;
  std::string rule_id, rule_text;
  std::vector<std::string> alerts; ///< alert texts raised
  std::string result_json;         ///< full text ("" when failed)
  std::string result_sha256;
  std::string recorded_at;         ///< UTC, ISO 8601
  std::string software_version;
};

/// One audit row.
struct AuditRow {
  std::int64_t id = 0;
  std::string at, user, host, command_line, software_version, action, patient, sample;
  std::string detail;  ///< JSON: input hashes, fingerprint, result hash, previous result hash
};

/// An open store. Move-only; not shared between threads (the batch records from one thread).
class ResultStore {
 public:
  /// Open (creating the file and schema when missing, migrating an older schema).
  /// @throws StoreError when the file is not an SQLite database, has a newer schema, or cannot
  ///         be created
  static ResultStore open(const std::filesystem::path& path);
  /// Open an existing store read-only (no creation, no migration; an older schema is refused
  /// with a message to open it with a writing command first). Readers never block on a writer
  /// (WAL); a store in a folder the caller may not write is read too.
  /// @throws StoreError "FILE: no such store" when missing, and as open() otherwise
  static ResultStore open_read_only(const std::filesystem::path& path);

  ResultStore(ResultStore&&) noexcept;
  ResultStore& operator=(ResultStore&&) noexcept;
  ~ResultStore();

  [[nodiscard]] const std::filesystem::path& path() const;
  [[nodiscard]] int schema_version() const;

  /// Record (insert or replace) one sample in one transaction, with its result, plots,
  /// provenance, and one audit row (action "recorded", or "replaced" with the old result hash
  /// when the sample was recorded before). Recording the identical record again (same
  /// fingerprint, status and result hash) changes nothing and adds no audit row; returns false then.
  /// An ok record with an empty result_json gets no results row (it shows as ok without MRD).
  /// @throws StoreError (the store is left unchanged), e.g. when result_json is not JSON
  bool record(const SampleRecord& record, const AuditContext& who);

  /// Append an audit row that is not about one sample (e.g. action "batch-started",
  /// "batch-finished", "exported"); detail is JSON text ("" = null).
  void audit(const std::string& action, const AuditContext& who, const std::string& detail = "");

  /// The fingerprint and status of a recorded sample, or nullopt.
  struct SampleState {
    std::string fingerprint;
    bool ok = false;
    std::string result_sha256;
  };
  [[nodiscard]] std::optional<SampleState> sample_state(const std::string& patient, const std::string& sample) const;

  [[nodiscard]] std::vector<PatientRow> patients() const;
  /// A patient's samples ordered by date (undated last), then diagnosis first, then sample id.
  /// Empty when the patient is unknown.
  [[nodiscard]] std::vector<TimelineRow> timeline(const std::string& patient) const;
  [[nodiscard]] std::vector<StoredPlot> plots(std::int64_t sample_row) const;
  /// Audit rows, oldest first (all when patient is "").
  [[nodiscard]] std::vector<AuditRow> audit_log(const std::string& patient = "") const;

  /// CSV (RFC 4180, header row) of every sample, or one patient's: patient, sample, timepoint,
  /// protocol_timepoint, date, protocol, status, error, mrd_percent, mrd_status, lod_percent,
  /// lloq_percent, ci_low_percent, ci_high_percent, blast_events, denominator_events, flags
  /// (';'-separated), risk_group, rule_id, files, sha256 (';'-separated), software_version.
  [[nodiscard]] std::string export_csv(const std::string& patient = "") const;

 private:
  struct Impl;
  explicit ResultStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowmrd::pipeline
