// SPDX-License-Identifier: Apache-2.0
// Private helpers of the FlowJo workspace reader: the parsed XML document with line numbers for
// error messages, namespace-aware names and attribute access. FlowJo writes the Gating-ML 2.0
// namespaces with the prefixes gating:, transforms: and data-type:, but the prefixes are looked up
// from the root's xmlns declarations so that a workspace rewritten by another tool still reads.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pugixml.hpp>

#include "line_index.hpp"

namespace flowmrd::gating::flowjo_detail {

/// The Gating-ML 2.0 namespaces FlowJo 10 uses.
inline constexpr const char* kGatingNs = "http://www.isac-net.org/std/Gating-ML/v2.0/gating";
inline constexpr const char* kTransformsNs = "http://www.isac-net.org/std/Gating-ML/v2.0/transformations";
inline constexpr const char* kDataTypeNs = "http://www.isac-net.org/std/Gating-ML/v2.0/datatypes";

/// A parsed workspace: the XML tree, the file bytes (for line numbers and the SHA-256) and the
/// prefixes bound to the three Gating-ML namespaces.
class XmlDocument {
 public:
  /// Read and parse `path`. @throws GatingError "FILE: ..." (unreadable) or "FILE:LINE: ..." (bad XML)
  explicit XmlDocument(const std::filesystem::path& path);

  [[nodiscard]] pugi::xml_node root() const { return doc_.document_element(); }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] std::string sha256() const;

  /// 1-based line of a node in the file (0 when unknown).
  [[nodiscard]] std::size_t line(const pugi::xml_node& node) const;
  /// "FILE:LINE: element: reason" as GatingError.
  [[noreturn]] void fail(const pugi::xml_node& node, const std::string& reason) const;

  /// Qualified names "prefix:local" in each namespace.
  [[nodiscard]] std::string gating(std::string_view local) const { return gating_ + std::string(local); }
  [[nodiscard]] std::string transforms(std::string_view local) const { return transforms_ + std::string(local); }
  [[nodiscard]] std::string data_type(std::string_view local) const { return data_type_ + std::string(local); }

  /// Attribute text, or nullopt when absent.
  [[nodiscard]] static std::optional<std::string> text(const pugi::xml_node& node, const std::string& attr);
  /// Attribute text; fails naming the node when absent.
  [[nodiscard]] std::string required_text(const pugi::xml_node& node, const std::string& attr) const;
  /// Attribute as a finite double, nullopt when absent; fails when present but not a number.
  [[nodiscard]] std::optional<double> number(const pugi::xml_node& node, const std::string& attr) const;
  /// Attribute as a finite double; fails when absent or not a number.
  [[nodiscard]] double required_number(const pugi::xml_node& node, const std::string& attr) const;
  /// Attribute as an integer, nullopt when absent; fails when present but not an integer.
  [[nodiscard]] std::optional<long long> integer(const pugi::xml_node& node, const std::string& attr) const;

  /// Element children of `node` (comments and text skipped).
  [[nodiscard]] static std::vector<pugi::xml_node> elements(const pugi::xml_node& node);
  /// Element children named `name` (a vector: pugixml's ranges keep only a pointer to the name).
  [[nodiscard]] static std::vector<pugi::xml_node> elements(const pugi::xml_node& node, const std::string& name);

 private:
  std::filesystem::path path_;
  std::string bytes_;
  LineIndex lines_;
  pugi::xml_document doc_;
  std::string gating_ = "gating:";
  std::string transforms_ = "transforms:";
  std::string data_type_ = "data-type:";
};

}  // namespace flowmrd::gating::flowjo_detail
