// SPDX-License-Identifier: Apache-2.0
#include "fcs/event_matrix.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <new>
#include <stdexcept>

namespace fcs {

// Huge pages cut the page faults of filling a column 512-fold; they are only a hint (MADV_HUGEPAGE),
// so the memory behaves the same where the kernel does not grant them.
void* allocate_column_memory(std::size_t bytes) {
  constexpr std::size_t huge = std::size_t{2} << 20;
  if (bytes == 0) bytes = 1;
  if (bytes >= huge) {
    const std::size_t rounded = (bytes + huge - 1) / huge * huge;
    if (void* p = std::aligned_alloc(huge, rounded)) {
#ifdef MADV_HUGEPAGE
      ::madvise(p, rounded, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
      // Every byte is written right after allocation; faulting the pages in with one call is
      // far cheaper than one trap per page. Best effort: older kernels refuse, nothing changes.
      ::madvise(p, rounded, MADV_POPULATE_WRITE);
#endif
      return p;
    }
  }
  void* p = std::malloc(bytes);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void free_column_memory(void* p) noexcept { std::free(p); }

namespace {

template <class T>
std::unique_ptr<T[], detail::FreeDeleter> make_column(std::size_t rows) {
  return std::unique_ptr<T[], detail::FreeDeleter>(static_cast<T*>(allocate_column_memory(rows * sizeof(T))));
}

}  // namespace

EventMatrix::EventMatrix(std::size_t rows, const std::vector<ColumnType>& types) : rows_(rows) {
  cols_.reserve(types.size());
  for (ColumnType t : types) {
    Column c;
    c.type = t;
    // Uninitialised on purpose: the decoder writes every element, and zero-filling 240 MB
    // would cost as much as decoding it.
    if (t == ColumnType::f32)
      c.f = make_column<float>(rows);
    else
      c.d = make_column<double>(rows);
    cols_.push_back(std::move(c));
  }
}

EventMatrix EventMatrix::clone() const {
  std::vector<ColumnType> types;
  for (const auto& c : cols_) types.push_back(c.type);
  EventMatrix out(rows_, types);
  for (std::size_t i = 0; i < cols_.size(); ++i) {
    if (cols_[i].type == ColumnType::f32)
      std::copy_n(cols_[i].f.get(), rows_, out.cols_[i].f.get());
    else
      std::copy_n(cols_[i].d.get(), rows_, out.cols_[i].d.get());
  }
  return out;
}

std::span<float> EventMatrix::f32(std::size_t col) {
  Column& c = cols_.at(col);
  if (c.type != ColumnType::f32) throw std::logic_error("EventMatrix: column is not float32");
  return {c.f.get(), rows_};
}
std::span<const float> EventMatrix::f32(std::size_t col) const {
  const Column& c = cols_.at(col);
  if (c.type != ColumnType::f32) throw std::logic_error("EventMatrix: column is not float32");
  return {c.f.get(), rows_};
}
std::span<double> EventMatrix::f64(std::size_t col) {
  Column& c = cols_.at(col);
  if (c.type != ColumnType::f64) throw std::logic_error("EventMatrix: column is not float64");
  return {c.d.get(), rows_};
}
std::span<const double> EventMatrix::f64(std::size_t col) const {
  const Column& c = cols_.at(col);
  if (c.type != ColumnType::f64) throw std::logic_error("EventMatrix: column is not float64");
  return {c.d.get(), rows_};
}

double EventMatrix::value(std::size_t row, std::size_t col) const {
  const Column& c = cols_.at(col);
  if (row >= rows_) throw std::out_of_range("EventMatrix: row out of range");
  return c.type == ColumnType::f32 ? static_cast<double>(c.f[row]) : c.d[row];
}

std::vector<double> EventMatrix::column_as_double(std::size_t col) const {
  const Column& c = cols_.at(col);
  std::vector<double> out(rows_);
  if (c.type == ColumnType::f32)
    std::copy_n(c.f.get(), rows_, out.begin());
  else
    std::copy_n(c.d.get(), rows_, out.begin());
  return out;
}

void EventMatrix::convert_column(std::size_t col, ColumnType to) {
  Column& c = cols_.at(col);
  if (c.type == to) return;
  if (to == ColumnType::f64) {
    c.d = make_column<double>(rows_);
    std::copy_n(c.f.get(), rows_, c.d.get());
    c.f.reset();
  } else {
    c.f = make_column<float>(rows_);
    for (std::size_t i = 0; i < rows_; ++i) c.f[i] = static_cast<float>(c.d[i]);
    c.d.reset();
  }
  c.type = to;
}

std::size_t EventMatrix::byte_size() const noexcept {
  std::size_t n = 0;
  for (const auto& c : cols_) n += rows_ * (c.type == ColumnType::f32 ? sizeof(float) : sizeof(double));
  return n;
}

}  // namespace fcs
