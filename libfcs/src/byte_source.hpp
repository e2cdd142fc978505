// SPDX-License-Identifier: Apache-2.0
// Internal: read-only memory mapping of an input file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace fcs::detail {

/// A read-only private mapping of a whole file. Pages that have been decoded can be released
/// (`release`) so that reading a large file does not hold both the file and its decoded events.
class MappedFile {
 public:
  /// @throws fcs::Error (kind io) naming the path and the system's reason.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  /// Drop the pages fully inside [offset, offset + length) from this process's memory.
  void release(std::size_t offset, std::size_t length) const noexcept;

 private:
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace fcs::detail
