// SPDX-License-Identifier: Apache-2.0
/// @file manifest.hpp
/// The batch manifest (`flowmrd batch MANIFEST.csv`, documented in docs/manifest.md): a CSV file
/// with one row per tube that groups tubes into samples (one sample = one timepoint of one
/// patient) and samples into patients.
///
/// Columns (header row required; names case-insensitive, any order; unknown columns are kept):
///   patient (required), sample, timepoint (required), protocol_timepoint, date (YYYY-MM-DD),
///   tube, file (required; relative to the manifest's folder unless absolute), panel, protocol,
///   and the clinical inputs age_days, wbc, kmt2a, kmt2a_fusion, cns, day8_pb_blasts_per_ul.
/// Blank lines and lines starting with '#' are skipped; fields follow RFC 4180 (quotes, "").
///
/// Errors in the file as a whole (not CSV, no header, a required column missing, a column twice)
/// throw ManifestError. A row-level problem (an empty patient, an invalid date or clinical value,
/// tubes of one sample disagreeing on protocol) does not: it marks that sample with `error`, so a
/// batch runs every other sample.
#pragma once

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flowmrd::pipeline {

/// A manifest that cannot be used at all; what() is "FILE:LINE: reason" (LINE omitted when the
/// problem is not on one line).
class ManifestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One tube (one FCS file) of a sample.
struct ManifestTube {
  std::string label;  ///< the `tube` column, or the file name when empty
  std::string file;   ///< as written in the manifest
  std::filesystem::path path;  ///< resolved against the manifest's folder
  std::size_t line = 0;        ///< 1-based line of its row
};

/// One sample: one timepoint of one patient, one or more tubes.
struct ManifestSample {
  std::string patient;             ///< patient id
  std::string sample;              ///< sample id; default "<timepoint>" when the column is absent or empty
  std::string timepoint;           ///< the lab's timepoint label ("diagnosis", "day33", "relapse", ...)
  /// The protocol's timepoint id this sample measures ("dx", "eoi", ...): the protocol_timepoint
  /// column, else the timepoint label when the protocol has a timepoint of that id, else "" (the
  /// sample is analysed and reported, but not evaluated against the protocol). Resolved by the
  /// batch runner, which knows the protocols; the parser only copies the column.
  std::string protocol_timepoint;
  std::string date;                ///< "YYYY-MM-DD" or "" when not given
  std::string panel;               ///< panel name or file ("" = chosen per tube)
  std::string protocol;            ///< protocol name or file ("" = none)
  /// Clinical inputs as KEY=VALUE pairs in column order (only non-empty cells), checked for
  /// syntax (numbers, kmt2a rearranged/germline/unknown, cns positive/negative).
  std::vector<std::pair<std::string, std::string>> clinical;
  /// Unknown columns of the first row (e.g. "truth"), in column order.
  std::vector<std::pair<std::string, std::string>> extra;
  std::vector<ManifestTube> tubes;
  /// True for the patient's diagnosis sample: timepoint or protocol_timepoint is "dx" or
  /// "diagnosis" (case-insensitive). At most one per patient; later ones get an error.
  bool diagnosis = false;
  std::size_t line = 0;  ///< line of the sample's first row
  /// Non-empty when the rows of this sample cannot be analysed: "FILE:LINE: reason".
  std::string error;
};

/// A patient: the indexes of its samples in `Manifest::samples`, in time order (by date when
/// every sample of the patient has one, else in manifest order; the diagnosis sample first).
struct ManifestPatient {
  std::string id;
  std::vector<std::size_t> samples;
};

/// A parsed manifest.
struct Manifest {
  std::filesystem::path path;
  std::vector<std::string> columns;      ///< header as written
  std::vector<ManifestSample> samples;   ///< in order of first appearance
  std::vector<ManifestPatient> patients; ///< in order of first appearance
  std::vector<std::string> warnings;     ///< "FILE:LINE: text" (e.g. an unknown column)
};

/// Parse manifest text. `path` names the file in messages and resolves relative file names
/// (against its parent folder).
/// @throws ManifestError for a file-level problem (see the file comment)
[[nodiscard]] Manifest parse_manifest(std::string_view text, const std::filesystem::path& path);

/// Read and parse a manifest file.
/// @throws ManifestError also when the file cannot be read
[[nodiscard]] Manifest load_manifest(const std::filesystem::path& path);

/// True when `id` can name a folder: 1-64 characters of [A-Za-z0-9._-], not starting with '.'.
/// Patient and sample ids must be; a row whose id is not gets an error.
[[nodiscard]] bool is_safe_id(std::string_view id);

}  // namespace flowmrd::pipeline
