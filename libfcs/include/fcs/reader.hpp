// SPDX-License-Identifier: Apache-2.0
/// @file reader.hpp
/// Reading FCS 2.0/3.0/3.1/3.2 files from a path (memory-mapped) or from bytes.
///
/// Values follow flowCore `read.FCS` by default (see ReadOptions). Every offset and size read from
/// the file is checked against the bytes available before anything is allocated, so truncated,
/// lying or hostile input gives an `fcs::Error`, never a crash or a huge allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "fcs/dataset.hpp"
#include "fcs/error.hpp"
#include "fcs/options.hpp"

namespace fcs {

/// Everything read from one file.
struct File {
  std::string label;               ///< The path (or caller's label for byte input).
  std::uint64_t size = 0;          ///< File size in bytes.
  int dataset_count = 0;           ///< Data sets found by following $NEXTDATA.
  std::vector<Dataset> datasets;   ///< Those read (all, or the one asked for).
  Issues issues;                   ///< File-level findings (e.g. a data set that failed).
};

/// Read a file. Memory-maps it; DATA pages are released as soon as they are decoded.
/// @throws fcs::Error (kind io when the file cannot be opened; invalid/unsupported otherwise).
[[nodiscard]] File read_file(const std::filesystem::path& path, const ReadOptions& options = {});

/// Read from bytes in memory. `label` names the input in errors and issues.
/// @throws fcs::Error
[[nodiscard]] File read_bytes(std::span<const std::byte> bytes, const ReadOptions& options = {},
                              std::string label = "<memory>");

/// Convenience: read one data set (1-based) of a file.
/// @throws fcs::Error, with kind argument when the file has fewer data sets.
[[nodiscard]] Dataset read_dataset(const std::filesystem::path& path, int dataset = 1,
                                   const ReadOptions& options = {});

}  // namespace fcs
