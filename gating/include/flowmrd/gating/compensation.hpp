// SPDX-License-Identifier: Apache-2.0
/// @file compensation.hpp
/// Compensation: compensated = raw x inverse(S) over the channels a spillover matrix S names
/// (the flowCore/FlowJo convention). Matrices come from the file's own keywords, an external CSV,
/// a FlowJo-exported matrix or a Gating-ML 2.0 spectrumMatrix.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "fcs/dataset.hpp"
#include "fcs/spillover.hpp"

namespace flowmrd::gating {

/// Where a compensation matrix came from (recorded in every result).
struct CompensationSource {
  enum class Kind { none, file_keyword, csv, flowjo, gatingml };
  Kind kind = Kind::none;
  std::string origin;  ///< The keyword ("$SPILLOVER", "SPILL", ...) or the external file's path.
  std::string sha256;  ///< Of the external file's bytes, or of the keyword's value.
};
[[nodiscard]] std::string to_string(CompensationSource::Kind kind);

/// Singular or mis-sized matrix, unknown channels, unreadable matrix file. `what()` names the
/// file or keyword, the channels and the reason.
class CompensationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A validated, inverted spillover matrix over named channels. Immutable and thread-safe.
class Compensation {
 public:
  /// @throws CompensationError when the matrix is not square, has non-finite values or is singular.
  Compensation(std::vector<std::string> channels, std::vector<double> spillover_row_major,
               CompensationSource source);

  /// From a matrix read by libfcs (keyword origin and hash filled in).
  [[nodiscard]] static Compensation from_spillover(const fcs::Spillover& s);
  /// The file's own matrix, chosen as flowCore chooses (SPILL, spillover, $SPILLOVER, then $COMP,
  /// $DFC); nullopt when the data set has none.
  [[nodiscard]] static std::optional<Compensation> from_dataset(const fcs::Dataset& ds);
  /// External matrix file; the format is detected: CSV/TSV with a channel-name header row (an
  /// optional first column of row names), FlowJo's exported matrix (.mtx / tab text with a name
  /// line), or Gating-ML 2.0 XML (`spectrumMatrix`; `id` picks one when the file has several).
  [[nodiscard]] static Compensation from_file(const std::filesystem::path& path, const std::string& id = {});

  [[nodiscard]] const std::vector<std::string>& channels() const noexcept { return channels_; }
  [[nodiscard]] const CompensationSource& source() const noexcept { return source_; }
  [[nodiscard]] std::size_t size() const noexcept { return channels_.size(); }
  [[nodiscard]] double spillover(std::size_t row, std::size_t col) const { return spill_.at(row * size() + col); }
  [[nodiscard]] double inverse(std::size_t row, std::size_t col) const { return inverse_.at(row * size() + col); }

  /// Column index (0-based, in the data set) of each matrix channel.
  /// @throws CompensationError naming every channel the data set lacks.
  [[nodiscard]] std::vector<std::size_t> resolve(const fcs::Dataset& ds) const;

  /// Compensate rows [first, first + count) in place: for each event, the values of the matrix
  /// channels (columns[i] = data of channel i) are replaced by row x inverse(S). Thread-safe for
  /// disjoint row ranges.
  void apply(std::span<float* const> columns, std::size_t first, std::size_t count) const;
  void apply(std::span<double* const> columns, std::size_t first, std::size_t count) const;

 private:
  std::vector<std::string> channels_;
  std::vector<double> spill_;
  std::vector<double> inverse_;
  CompensationSource source_;
};

}  // namespace flowmrd::gating
