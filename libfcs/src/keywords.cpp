// SPDX-License-Identifier: Apache-2.0
#include "fcs/keywords.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace fcs {

namespace {
char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  // Blanks as FCS files use them: space, tab, CR, LF and NUL padding.
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> parse_uint(std::string_view s) noexcept {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) noexcept {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports overflow/underflow; strtod's answer (inf or 0) is what readers expect.
    std::string copy(s);
    return std::strtod(copy.c_str(), nullptr);
  }
  if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

bool Keywords::add(Keyword kw) {
  if (find(kw.name) != nullptr) return false;
  items_.push_back(std::move(kw));
  return true;
}

void Keywords::set(std::string_view name, std::string value) {
  for (auto& k : items_) {
    if (iequals(k.name, name)) {
      k.value = std::move(value);
      return;
    }
  }
  items_.push_back(Keyword{std::string(name), std::move(value), 0, false});
}

void Keywords::erase(std::string_view name) {
  std::erase_if(items_, [&](const Keyword& k) { return iequals(k.name, name); });
}

const Keyword* Keywords::find(std::string_view name) const noexcept {
  for (const auto& k : items_)
    if (iequals(k.name, name)) return &k;
  return nullptr;
}

std::optional<std::string> Keywords::get(std::string_view name) const {
  if (const Keyword* k = find(name)) return k->value;
  return std::nullopt;
}

std::optional<std::string> Keywords::get_trimmed(std::string_view name) const {
  if (const Keyword* k = find(name)) {
    std::string_view t = trim(k->value);
    if (!t.empty()) return std::string(t);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> Keywords::get_uint(std::string_view name) const {
  if (const Keyword* k = find(name)) return parse_uint(k->value);
  return std::nullopt;
}

std::optional<double> Keywords::get_double(std::string_view name) const {
  if (const Keyword* k = find(name)) return parse_double(k->value);
  return std::nullopt;
}

}  // namespace fcs
