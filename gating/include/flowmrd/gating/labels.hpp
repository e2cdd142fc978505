// SPDX-License-Identifier: Apache-2.0
/// @file labels.hpp
/// Per-event population labels as manual-gating exports write them (FlowSOM / FlowCAP style): one
/// CSV row per event in file order, with or without a header line; either one label column
/// (quoted or not) or one 0/1 column per population, or a mix (flowmrd's `population,blast`).
///
/// The format and every inference rule below are documented for users in docs/qa.md:
///  - fields are separated by commas (or by tabs when the first record has a tab and no comma);
///    quoting follows RFC 4180 (a quoted field may hold separators, doubled quotes and line
///    breaks); CRLF, LF and CR line ends and a UTF-8 byte order mark are accepted; spaces around
///    unquoted fields are ignored; blank lines at the end of the file are ignored;
///  - a column whose values (below the header, if any) are all 0/1 (also "0.0"/"1.0",
///    true/false) is an *indicator* column: one population, named by the header (or
///    "column N" without header), holding the events with 1/true;
///  - any other column is a *label* column: each distinct value is a population of that name,
///    except the empty value, "NA" and "0" (also "0.0"), which mean "in no population" (FlowCAP
///    writes 0 for ungated events). Integral numbers are normalised ("2.0" -> "2"). Without a
///    header, a single column is always a label column (FlowCAP: labels 0, 1, 2, ...);
///  - header detection (when not forced by LabelsOptions::header): the first record is a header
///    if one of its fields is text while the rest of that column is all data values (numbers,
///    empty, NA, true/false); it is no header if all its fields are data values; otherwise (text
///    above text, ambiguous) it is a header when the row count says so (`expected_events` + 1
///    rows), or, with no expected count, when none of its text values occurs again in its column;
///  - with a header, a first column that holds the row numbers 1..n (or 0..n-1) and whose header
///    is empty, "event", "index", "id" or "row" (R `write.csv` row names) is ignored;
///  - two columns naming the same population must agree on its events, otherwise it is an error.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "flowmrd/gating/mask.hpp"

namespace flowmrd::gating {

/// Malformed labels file. `what()` is "FILE:LINE: reason" (or "FILE: reason" for whole-file
/// problems such as a wrong row count).
class LabelsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How one CSV column was read.
struct LabelsColumn {
  enum class Kind {
    label,      ///< each distinct value is a population
    indicator,  ///< 0/1: one population named by the header
    row_index,  ///< row numbers (R row names), ignored
  };
  std::string header;  ///< header text; "column N" (1-based) without a header line
  Kind kind = Kind::label;
};

/// Populations named by a labels file, each with its event membership.
struct Labels {
  std::size_t events = 0;
  bool has_header = false;
  std::vector<LabelsColumn> columns;  ///< in file order
  /// Population names: indicator columns and label values, in order of first appearance
  /// (columns left to right, then rows top to bottom within a label column).
  std::vector<std::string> names;
  std::vector<Mask> masks;  ///< one per name, `events` bits each
  /// Membership of `name`, or nullptr.
  [[nodiscard]] const Mask* find(const std::string& name) const noexcept;
};

/// Reading options.
struct LabelsOptions {
  /// Whether the first record is a header; nullopt = detect (see the file comment).
  std::optional<bool> header;
  /// When set, a row count that differs is an error naming both counts (and it settles an
  /// ambiguous header).
  std::optional<std::size_t> expected_events;
};

/// Read a labels CSV file. @throws LabelsError ("FILE:LINE: reason"), also when it cannot be read.
[[nodiscard]] Labels read_labels_csv(const std::filesystem::path& path, const LabelsOptions& options);

/// @param expected_events when set, a row count that differs is an error naming both counts
/// @throws LabelsError
[[nodiscard]] Labels read_labels_csv(const std::filesystem::path& path,
                                     std::optional<std::size_t> expected_events = std::nullopt);

/// Parse labels CSV text; `origin` names the source in errors. @throws LabelsError
[[nodiscard]] Labels parse_labels_csv(std::string_view text, std::string_view origin,
                                      const LabelsOptions& options = {});

}  // namespace flowmrd::gating
