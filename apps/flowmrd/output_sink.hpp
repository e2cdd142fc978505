// SPDX-License-Identifier: Apache-2.0
/// @file output_sink.hpp
/// A buffered output file or standard output whose write failures become exit code 5.
#pragma once

#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace flowmrd::cli {

/// Buffered writer to a path or to standard output ("-"). Writes go through one large buffer so
/// that exporting millions of events costs a few large `fwrite` calls, not one per value.
/// Every failure (open, write, close) throws `CommandError` with `ExitCode::output_failed`.
/// A regular file left unfinished (exception before `finish()`) is removed so no truncated output
/// remains; devices, FIFOs and symlinks are never removed.
class OutputSink {
 public:
  /// Open `path` for writing (truncating it), or standard output when `path` is "-".
  /// @throws CommandError (output_failed) when the file cannot be created.
  explicit OutputSink(std::string path);
  ~OutputSink();
  OutputSink(const OutputSink&) = delete;
  OutputSink& operator=(const OutputSink&) = delete;

  /// Space for at least `n` characters at the returned pointer; hand the end back to `commit`.
  [[nodiscard]] char* reserve(std::size_t n);
  /// Mark the characters up to `end` (inside the last `reserve`) as written.
  void commit(const char* end) noexcept { used_ = static_cast<std::size_t>(end - buffer_.get()); }

  void write(std::string_view text);
  void write(char c) { *reserve(1) = c; ++used_; }
  /// One delimited field, RFC 4180: a field holding the separator, a quote or a line break is
  /// quoted and its quotes doubled (TSV has no quoting standard; the same rule is applied there).
  void write_field(std::string_view field, char separator = ',');

  /// Flush and close; reports any deferred write error.
  /// @throws CommandError (output_failed)
  void finish();

  /// The name used in messages: the path, or "<stdout>".
  [[nodiscard]] const std::string& label() const noexcept { return label_; }

 private:
  void flush_buffer();
  [[noreturn]] void fail(const char* what, int error_number);
  void remove_partial() noexcept;

  std::string path_;
  std::string label_;
  std::FILE* file_ = nullptr;
  bool is_stdout_ = false;
  bool finished_ = false;
  bool remove_on_failure_ = false;
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;
};

}  // namespace flowmrd::cli
