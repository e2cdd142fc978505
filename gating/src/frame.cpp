// SPDX-License-Identifier: Apache-2.0
#include "flowmrd/gating/frame.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>

namespace flowmrd::gating {

// Column memory is libfcs's: uninitialised, huge pages for large columns.
template <class T>
void* ColumnAllocator<T>::allocate_bytes(std::size_t bytes) {
  return fcs::allocate_column_memory(bytes);
}

template <class T>
void ColumnAllocator<T>::release_bytes(void* p) noexcept {
  fcs::free_column_memory(p);
}

template struct ColumnAllocator<float>;

Frame::Frame(std::size_t rows, std::vector<FrameColumn> columns) : rows_(rows), columns_(std::move(columns)) {
  for (const FrameColumn& c : columns_) {
    if (c.values.size() != rows_) throw std::invalid_argument("Frame: column " + c.name + " has the wrong length");
  }
}

std::optional<std::size_t> Frame::find(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < columns_.size(); ++i)
    if (columns_[i].name == name) return i;
  return std::nullopt;
}

namespace {

// Events per task: large enough to amortise scheduling, small enough to balance 2+ cores.
constexpr std::size_t chunk = 1 << 16;

void copy_column(const fcs::EventMatrix& m, std::size_t col, std::size_t first, std::size_t count, float* out) {
  if (m.type(col) == fcs::ColumnType::f32) {
    const auto src = m.f32(col).subspan(first, count);
    std::copy(src.begin(), src.end(), out + first);
  } else {
    const auto src = m.f64(col).subspan(first, count);
    for (std::size_t i = 0; i < count; ++i) out[first + i] = static_cast<float>(src[i]);
  }
}

}  // namespace

Frame build_frame(const fcs::Dataset& ds, const FrameOptions& options) {
  const std::size_t rows = ds.events.rows();
  const std::size_t ncol = ds.channels.size();

  // Resolve everything before any work, so errors come before the copy of a large file.
  std::vector<std::size_t> comp_cols;
  if (options.compensation != nullptr) comp_cols = options.compensation->resolve(ds);
  std::vector<std::optional<Transform>> transforms(ncol);
  for (const auto& [name, spec] : options.transforms) {
    if (name != "*" && ds.find_channel(name) < 0) {
      throw TransformError("transform given for channel '" + name + "', which the data set does not have");
    }
  }
  const auto all = options.transforms.find("*");
  std::vector<FrameColumn> cols(ncol);
  for (std::size_t j = 0; j < ncol; ++j) {
    const fcs::Channel& ch = ds.channels[j];
    cols[j].name = ch.name;
    cols[j].marker = ch.marker;
    if (auto it = options.transforms.find(ch.name); it != options.transforms.end()) {
      transforms[j].emplace(it->second);
    } else if (all != options.transforms.end()) {
      transforms[j].emplace(all->second);
    }
    if (transforms[j]) cols[j].transform = transforms[j]->spec();
    // Allocated once, uninitialised (ColumnAllocator), first touched by the parallel copy below;
    // every later step works in place.
    cols[j].values.resize(rows);
  }
  for (std::size_t c : comp_cols) cols[c].compensated = true;

  // The matrix channels' columns, in matrix order (the same for every chunk).
  std::vector<float*> comp_ptrs;
  for (std::size_t c : comp_cols) comp_ptrs.push_back(cols[c].values.data());

  tbb::task_arena arena(options.threads == 0 ? tbb::task_arena::automatic : static_cast<int>(options.threads));
  arena.execute([&] {
    // Each chunk of events goes through copy -> compensate -> transform while it is in cache.
    // Every event is computed the same way whatever the chunking, so results do not depend on
    // the number of threads.
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, rows, chunk), [&](const tbb::blocked_range<std::size_t>& r) {
      const std::size_t first = r.begin();
      const std::size_t count = r.size();
      for (std::size_t j = 0; j < ncol; ++j) copy_column(ds.events, j, first, count, cols[j].values.data());
      if (options.compensation != nullptr) options.compensation->apply(comp_ptrs, first, count);
      for (std::size_t j = 0; j < ncol; ++j) {
        if (!transforms[j]) continue;
        std::span<float> v(cols[j].values.data() + first, count);
        transforms[j]->apply(std::span<const float>(v), v);
      }
    });
  });
  return Frame(rows, std::move(cols));
}

}  // namespace flowmrd::gating
