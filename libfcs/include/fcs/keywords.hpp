// SPDX-License-Identifier: Apache-2.0
/// @file keywords.hpp
/// The raw, ordered keyword/value list of a TEXT segment, with case-insensitive lookup.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fcs {

/// One keyword as stored in the file.
struct Keyword {
  std::string name;   ///< As normalised by the reader (see Repairs::keyword_case_and_blanks).
  std::string value;  ///< With escaped delimiters resolved. Bytes are kept as they are.
  std::uint64_t offset = 0;  ///< Absolute byte offset of the keyword name in the file.
  bool supplemental = false; ///< True when the keyword came from the supplemental TEXT segment.
};

/// Ordered keyword list. Lookup ignores ASCII case, as FCS 3.1 §3.2.9 requires.
class Keywords {
 public:
  Keywords() = default;

  /// Append a keyword. Returns false (and does nothing) when the name is already present.
  bool add(Keyword kw);
  /// Set (replace or append) a value.
  void set(std::string_view name, std::string value);
  /// Remove a keyword if present.
  void erase(std::string_view name);

  [[nodiscard]] const Keyword* find(std::string_view name) const noexcept;
  [[nodiscard]] bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }
  /// The value, or nullopt when absent.
  [[nodiscard]] std::optional<std::string> get(std::string_view name) const;
  /// The value with surrounding blanks removed, or nullopt when absent or blank.
  [[nodiscard]] std::optional<std::string> get_trimmed(std::string_view name) const;
  /// The value parsed as a non-negative integer (blanks ignored); nullopt when absent or malformed.
  [[nodiscard]] std::optional<std::uint64_t> get_uint(std::string_view name) const;
  /// The value parsed as a floating-point number; nullopt when absent or malformed.
  [[nodiscard]] std::optional<double> get_double(std::string_view name) const;

  [[nodiscard]] const std::vector<Keyword>& items() const noexcept { return items_; }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  [[nodiscard]] auto begin() const noexcept { return items_.begin(); }
  [[nodiscard]] auto end() const noexcept { return items_.end(); }

 private:
  std::vector<Keyword> items_;
};

/// Parse helpers shared by the reader and its users.
[[nodiscard]] std::optional<std::uint64_t> parse_uint(std::string_view s) noexcept;
[[nodiscard]] std::optional<double> parse_double(std::string_view s) noexcept;
[[nodiscard]] std::string_view trim(std::string_view s) noexcept;
/// ASCII case-insensitive equality.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace fcs
