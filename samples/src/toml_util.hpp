// SPDX-License-Identifier: Apache-2.0
/// @file toml_util.hpp
/// Private: typed, located access to toml++ nodes for the profile and scenario loaders. Every
/// error names "<file>:<line>: <field>: <reason>" so a lab can fix the file without a debugger.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <toml++/toml.h>

namespace flowmrd::samples::detail {

/// Builds located error messages and throws them as `Error`.
template <class Error>
class TomlReader {
 public:
  explicit TomlReader(std::string label) : label_(std::move(label)) {}

  [[noreturn]] void fail(const toml::node* node, std::string_view field, std::string_view reason) const {
    std::string msg = label_;
    if (node != nullptr && node->source().begin.line > 0) {
      msg += ":" + std::to_string(node->source().begin.line);
    }
    msg += ": ";
    if (!field.empty()) msg += std::string{field} + ": ";
    msg += reason;
    throw Error(msg);
  }

  /// Parse text, turning toml++ syntax errors into located errors.
  toml::table parse(std::string_view text) const {
    try {
      return toml::parse(text, label_);
    } catch (const toml::parse_error& e) {
      throw Error(label_ + ":" + std::to_string(e.source().begin.line) + ": TOML syntax: " +
                  std::string{e.description()});
    }
  }

  /// Reject keys not in `allowed` (a typo must not silently fall back to a default).
  void check_keys(const toml::table& table, std::string_view where,
                  std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, node] : table) {
      bool ok = false;
      for (auto a : allowed) ok = ok || key.str() == a;
      if (!ok) {
        fail(&node, prefix(where, key.str()), "unknown field");
      }
    }
  }

  std::optional<std::string> get_string(const toml::table& t, std::string_view where, std::string_view key) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_string()) fail(n, prefix(where, key), "expected a string");
    return std::string{*n->value<std::string_view>()};
  }

  std::optional<double> get_number(const toml::table& t, std::string_view where, std::string_view key) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_number()) fail(n, prefix(where, key), "expected a number");
    return *n->value<double>();
  }

  /// A number within [lo, hi].
  std::optional<double> get_number_in(const toml::table& t, std::string_view where, std::string_view key,
                                      double lo, double hi) const {
    auto v = get_number(t, where, key);
    if (v && !(*v >= lo && *v <= hi)) {
      fail(t.get(key), prefix(where, key),
           "value " + format(*v) + " is outside [" + format(lo) + ", " + format(hi) + "]");
    }
    return v;
  }

  std::optional<std::uint64_t> get_count(const toml::table& t, std::string_view where, std::string_view key,
                                         std::uint64_t lo, std::uint64_t hi) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_integer()) fail(n, prefix(where, key), "expected an integer");
    const std::int64_t v = *n->value<std::int64_t>();
    if (v < 0 || static_cast<std::uint64_t>(v) < lo || static_cast<std::uint64_t>(v) > hi) {
      fail(n, prefix(where, key),
           "value " + std::to_string(v) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return static_cast<std::uint64_t>(v);
  }

  const toml::table* get_table(const toml::table& t, std::string_view where, std::string_view key) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) fail(n, prefix(where, key), "expected a table");
    return n->as_table();
  }

  static std::string prefix(std::string_view where, std::string_view key) {
    return where.empty() ? std::string{key} : std::string{where} + "." + std::string{key};
  }

  static std::string format(double v) {
    std::string s = std::to_string(v);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }

  [[nodiscard]] const std::string& label() const noexcept { return label_; }

 private:
  std::string label_;
};

}  // namespace flowmrd::samples::detail
