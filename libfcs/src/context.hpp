// SPDX-License-Identifier: Apache-2.0
// Internal: the state shared by the parsing stages of one data set — where issues go, which
// repairs are allowed, and how to fail with a located error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fcs/error.hpp"
#include "fcs/issue.hpp"
#include "fcs/options.hpp"

namespace fcs::detail {

class Context {
 public:
  Context(const ReadOptions& options, Issues& issues, int dataset)
      : options_(options), issues_(issues), dataset_(dataset) {}

  [[nodiscard]] const ReadOptions& options() const noexcept { return options_; }
  [[nodiscard]] int dataset() const noexcept { return dataset_; }

  /// Whether a repair may be applied (never in strict mode).
  [[nodiscard]] bool allowed(bool Repairs::*repair) const noexcept {
    return !options_.strict && options_.repairs.*repair;
  }

  /// Record an informational finding (kept in strict mode: it is not a defect).
  void info(std::string code, std::string message, std::optional<std::uint64_t> offset = {},
            std::string keyword = {}) {
    issues_.push_back(Issue{std::move(code), Severity::info, std::move(message), offset,
                            std::move(keyword), dataset_});
  }
  /// Record an applied repair or other warning. In strict mode warnings are errors.
  void warn(std::string code, std::string message, std::optional<std::uint64_t> offset = {},
            std::string keyword = {}) {
    Issue i{std::move(code), Severity::warning, std::move(message), offset, std::move(keyword),
            dataset_};
    if (options_.strict) throw Error(ErrorKind::invalid, std::move(i));
    issues_.push_back(std::move(i));
  }
  /// Fail with a located error.
  [[noreturn]] void fail(ErrorKind kind, std::string code, std::string message,
                         std::optional<std::uint64_t> offset = {}, std::string keyword = {}) const {
    throw Error(kind, Issue{std::move(code), Severity::error, std::move(message), offset,
                            std::move(keyword), dataset_});
  }

 private:
  const ReadOptions& options_;
  Issues& issues_;
  int dataset_;
};

}  // namespace fcs::detail
