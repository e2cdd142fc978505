// SPDX-License-Identifier: Apache-2.0
/// @file frame.hpp
/// The analysis Frame: events in compensated, transformed space, one float32 column per channel,
/// each carrying its marker, whether it was compensated, and its transform with parameters.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "fcs/dataset.hpp"
#include "flowmrd/gating/compensation.hpp"
#include "flowmrd/gating/estimate.hpp"
#include "flowmrd/gating/transform.hpp"

namespace flowmrd::gating {

/// Allocator for Frame columns: leaves elements uninitialised (every element is written by the
/// Frame builder, in parallel, so zero-filling first would be a wasted serial pass) and asks for
/// transparent huge pages for large columns (page faults otherwise dominate filling them).
template <class T>
struct ColumnAllocator {
  using value_type = T;
  ColumnAllocator() noexcept = default;
  template <class U>
  ColumnAllocator(const ColumnAllocator<U>&) noexcept {}
  [[nodiscard]] T* allocate(std::size_t n) { return static_cast<T*>(allocate_bytes(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { release_bytes(p); }
  /// Default-initialise (no zeroing) on resize.
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) { ::new (static_cast<void*>(p)) U; }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) { ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...); }
  template <class U>
  bool operator==(const ColumnAllocator<U>&) const noexcept { return true; }

  static void* allocate_bytes(std::size_t bytes);
  static void release_bytes(void* p) noexcept;
};

/// The values of one Frame column.
using ColumnValues = std::vector<float, ColumnAllocator<float>>;

/// One column of a Frame.
struct FrameColumn {
  std::string name;                   ///< $PnN
  std::optional<std::string> marker;  ///< $PnS
  bool compensated = false;
  TransformSpec transform;            ///< identity when none
  ColumnValues values;
};

/// Events x channels in analysis space.
class Frame {
 public:
  Frame() = default;
  Frame(std::size_t rows, std::vector<FrameColumn> columns);

  [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
  [[nodiscard]] std::size_t cols() const noexcept { return columns_.size(); }
  [[nodiscard]] const FrameColumn& column(std::size_t i) const { return columns_.at(i); }
  [[nodiscard]] FrameColumn& column(std::size_t i) { return columns_.at(i); }
  [[nodiscard]] const std::vector<FrameColumn>& columns() const noexcept { return columns_; }
  /// Index of the column named `name` ($PnN, exact), or nullopt.
  [[nodiscard]] std::optional<std::size_t> find(std::string_view name) const noexcept;

 private:
  std::size_t rows_ = 0;
  std::vector<FrameColumn> columns_;
};

/// How to build a Frame.
struct FrameOptions {
  /// Compensation to apply (nullptr: none). Its channels must exist in the data set.
  const Compensation* compensation = nullptr;
  /// Transform per channel name; the key "*" applies to every channel not named.
  std::map<std::string, TransformSpec> transforms;
  /// Worker threads (0 = all cores). Results are identical for any value.
  unsigned threads = 0;
};

/// Build a Frame from a data set: copy each column once into float32, compensate the matrix
/// channels, then transform, in parallel over columns and chunks of events.
/// @throws CompensationError, TransformError
[[nodiscard]] Frame build_frame(const fcs::Dataset& ds, const FrameOptions& options);

}  // namespace flowmrd::gating
