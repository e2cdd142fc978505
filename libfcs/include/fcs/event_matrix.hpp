// SPDX-License-Identifier: Apache-2.0
/// @file event_matrix.hpp
/// Column-major event storage: one contiguous column per channel, float32 or float64.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace fcs {

/// Uninitialised memory for one column of events: large blocks are 2 MiB aligned and offered to
/// the kernel for transparent huge pages (filling hundreds of MB of fresh 4 KiB pages costs more
/// than decoding them). Release with `free_column_memory`. @throws std::bad_alloc
[[nodiscard]] void* allocate_column_memory(std::size_t bytes);
/// Release memory from `allocate_column_memory` (nullptr is allowed).
void free_column_memory(void* p) noexcept;

namespace detail {
/// Releases column memory (see allocate_column_memory).
struct FreeDeleter {
  void operator()(void* p) const noexcept { free_column_memory(p); }
};
}  // namespace detail

/// Element type of one column.
enum class ColumnType {
  f32,  ///< float: used where every value is exactly representable (float data, integers < 2^24).
  f64,  ///< double: double data, wide integers, log-decoded or gain-scaled values.
};

/// Events x channels, column-major. Columns are allocated once, uninitialised, and filled by the
/// decoder; nothing is copied per event. Copying is explicit (`clone()`); moving is cheap.
class EventMatrix {
 public:
  EventMatrix() = default;
  /// Allocate `rows` events for columns of the given types (contents uninitialised).
  EventMatrix(std::size_t rows, const std::vector<ColumnType>& types);

  EventMatrix(EventMatrix&&) noexcept = default;
  EventMatrix& operator=(EventMatrix&&) noexcept = default;
  EventMatrix(const EventMatrix&) = delete;
  EventMatrix& operator=(const EventMatrix&) = delete;
  [[nodiscard]] EventMatrix clone() const;

  [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
  [[nodiscard]] std::size_t cols() const noexcept { return cols_.size(); }
  [[nodiscard]] ColumnType type(std::size_t col) const { return cols_.at(col).type; }

  /// Typed column access; throws std::logic_error when the column has the other type.
  [[nodiscard]] std::span<float> f32(std::size_t col);
  [[nodiscard]] std::span<const float> f32(std::size_t col) const;
  [[nodiscard]] std::span<double> f64(std::size_t col);
  [[nodiscard]] std::span<const double> f64(std::size_t col) const;

  /// One value as double (slow path; use the typed spans in loops).
  [[nodiscard]] double value(std::size_t row, std::size_t col) const;
  /// A column converted to double.
  [[nodiscard]] std::vector<double> column_as_double(std::size_t col) const;
  /// Change a column's type, converting its values (used after log decoding or scaling).
  void convert_column(std::size_t col, ColumnType to);

  /// Bytes held by the columns.
  [[nodiscard]] std::size_t byte_size() const noexcept;

 private:
  struct Column {
    ColumnType type = ColumnType::f32;
    std::unique_ptr<float[], detail::FreeDeleter> f;
    std::unique_ptr<double[], detail::FreeDeleter> d;
  };
  std::size_t rows_ = 0;
  std::vector<Column> cols_;
};

}  // namespace fcs
