// SPDX-License-Identifier: Apache-2.0
#include "json_issue.hpp"

namespace flowmrd::cli {

nlohmann::ordered_json issue_to_json(const fcs::Issue& issue) {
  nlohmann::ordered_json j;
  j["severity"] = std::string{fcs::to_string(issue.severity)};
  j["code"] = issue.code;
  j["dataset"] = issue.dataset > 0 ? nlohmann::ordered_json(issue.dataset) : nlohmann::ordered_json();
  j["byte_offset"] = issue.byte_offset ? nlohmann::ordered_json(*issue.byte_offset) : nlohmann::ordered_json();
  j["keyword"] = issue.keyword.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(issue.keyword);
  j["message"] = issue.message;
  return j;
}

nlohmann::ordered_json issues_to_json(const fcs::Issues& issues) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& issue : issues) list.push_back(issue_to_json(issue));
  return list;
}

std::string issue_location(const fcs::Issue& issue) {
  std::string out;
  auto add = [&out](const std::string& part) {
    if (!out.empty()) out += ", ";
    out += part;
  };
  if (issue.dataset > 0) add("dataset " + std::to_string(issue.dataset));
  if (issue.byte_offset) add("byte " + std::to_string(*issue.byte_offset));
  if (!issue.keyword.empty()) add("keyword " + issue.keyword);
  return out;
}

std::string issue_line(const std::string& file, const fcs::Issue& issue) {
  std::string out = file + ": " + issue.message;
  const std::string location = issue_location(issue);
  if (!location.empty()) out += " (" + location + ")";
  out += " [" + issue.code + "]";
  return out;
}

bool is_warning(const fcs::Issue& issue) noexcept { return issue.severity != fcs::Severity::info; }

}  // namespace flowmrd::cli
