// SPDX-License-Identifier: Apache-2.0
#include "output_sink.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "command_error.hpp"

namespace flowmrd::cli {

namespace {
// Large enough that syscalls are negligible next to number formatting, small enough to be
// irrelevant next to an event matrix.
constexpr std::size_t default_capacity = std::size_t{4} << 20;
}  // namespace

OutputSink::OutputSink(std::string path)
    : path_(std::move(path)), buffer_(new char[default_capacity]), capacity_(default_capacity) {
  if (path_ == "-") {
    is_stdout_ = true;
    label_ = "<stdout>";
    file_ = stdout;
    return;
  }
  label_ = path_;
  // Only a plain file may be deleted when writing fails: never a device (-o /dev/stdout), a
  // FIFO, or a symlink (whose target is what the user named).
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(path_, ec);
  remove_on_failure_ = status.type() == std::filesystem::file_type::not_found ||
                       status.type() == std::filesystem::file_type::regular;
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr) fail("cannot open for writing", errno);
}

OutputSink::~OutputSink() {
  if (finished_ || is_stdout_ || file_ == nullptr) return;
  std::fclose(file_);
  remove_partial();
}

char* OutputSink::reserve(std::size_t n) {
  if (used_ + n > capacity_) {
    flush_buffer();
    if (n > capacity_) {
      buffer_.reset(new char[n]);
      capacity_ = n;
    }
  }
  return buffer_.get() + used_;
}

void OutputSink::write_field(std::string_view field, char separator) {
  const bool needs_quotes = field.find_first_of(std::string{separator} + "\"\r\n") != std::string_view::npos;
  if (!needs_quotes) {
    write(field);
    return;
  }
  write('"');
  for (const char c : field) {
    if (c == '"') write('"');
    write(c);
  }
  write('"');
}

void OutputSink::write(std::string_view text) {
  char* p = reserve(text.size());
  std::memcpy(p, text.data(), text.size());
  used_ += text.size();
}

void OutputSink::flush_buffer() {
  if (used_ == 0) return;
  errno = 0;
  const std::size_t written = std::fwrite(buffer_.get(), 1, used_, file_);
  if (written != used_) fail("write failed", errno);
  used_ = 0;
}

void OutputSink::finish() {
  if (finished_) return;
  flush_buffer();
  errno = 0;
  if (std::fflush(file_) != 0 || std::ferror(file_) != 0) fail("write failed", errno);
  if (!is_stdout_) {
    std::FILE* f = std::exchange(file_, nullptr);
    if (std::fclose(f) != 0) {
      const int error_number = errno;
      remove_partial();
      finished_ = true;
      throw CommandError(ExitCode::output_failed,
                         label_ + ": write failed: " + std::strerror(error_number));
    }
  }
  finished_ = true;
}

void OutputSink::remove_partial() noexcept {
  if (!remove_on_failure_) return;
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

void OutputSink::fail(const char* what, int error_number) {
  std::string reason = what;
  if (error_number != 0) {
    reason += ": ";
    reason += std::strerror(error_number);
  }
  throw CommandError(ExitCode::output_failed, label_ + ": " + reason);
}

}  // namespace flowmrd::cli
