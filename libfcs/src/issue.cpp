// SPDX-License-Identifier: Apache-2.0
#include "fcs/issue.hpp"

#include "fcs/error.hpp"

namespace fcs {

std::string_view to_string(Severity s) noexcept {
  switch (s) {
    case Severity::info: return "info";
    case Severity::warning: return "warning";
    case Severity::error: return "error";
  }
  return "unknown";
}

namespace {
// "(dataset 2, byte 1234, keyword $TOT)" or "" when nothing is known.
std::string location(const Issue& i) {
  std::string out;
  auto add = [&out](const std::string& part) {
    out += out.empty() ? "(" : ", ";
    out += part;
  };
  if (i.dataset > 0) add("dataset " + std::to_string(i.dataset));
  if (i.byte_offset) add("byte " + std::to_string(*i.byte_offset));
  if (!i.keyword.empty()) add("keyword " + i.keyword);
  if (!out.empty()) out += ")";
  return out;
}
}  // namespace

std::string Issue::to_string() const {
  std::string out{fcs::to_string(severity)};
  out += ' ';
  out += code;
  const std::string loc = location(*this);
  if (!loc.empty()) out += ' ' + loc;
  out += ": ";
  out += message;
  return out;
}

Error::Error(ErrorKind kind, Issue issue, std::string file)
    : std::runtime_error(format(issue, file)), kind_(kind), issue_(std::move(issue)),
      file_(std::move(file)) {
  issue_.severity = Severity::error;
  what_ = format(issue_, file_);
}

void Error::set_context(std::string file, Issues earlier) {
  if (file_.empty()) file_ = std::move(file);
  earlier_ = std::move(earlier);
  what_ = format(issue_, file_);
}

std::string Error::format(const Issue& issue, const std::string& file) {
  std::string out;
  if (!file.empty()) out = file + ": ";
  out += issue.message;
  const std::string loc = location(issue);
  if (!loc.empty()) out += ' ' + loc;
  out += " [" + issue.code + "]";
  return out;
}

}  // namespace fcs
