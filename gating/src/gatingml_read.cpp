// SPDX-License-Identifier: Apache-2.0
// Gating-ML 2.0 import (docs/gatingml.md). The document is read in two passes: first every
// transformation and spectrum matrix (gates may refer to ones defined after them), then the gates
// in document order, each becoming one population (a QuadrantGate one per Quadrant). Anything the
// reader does not understand is an error naming the file, the line and the element, never skipped:
// a silently ignored gate or attribute would change population counts without a trace.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <pugixml.hpp>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "fcs/sha256.hpp"
#include "flowmrd/gating/gatingml.hpp"
#include "gatingml_common.hpp"
#include "line_index.hpp"

namespace flowmrd::gating {

namespace {

enum class Ns { gating, transforms, datatype };

std::string_view uri_of(Ns ns) {
  switch (ns) {
    case Ns::gating:
      return gml::kGatingNs;
    case Ns::transforms:
      return gml::kTransformsNs;
    case Ns::datatype:
      return gml::kDataTypeNs;
  }
  return {};
}

std::string_view prefix_of(std::string_view qname) {
  const auto p = qname.find(':');
  return p == std::string_view::npos ? std::string_view{} : qname.substr(0, p);
}

std::string_view local_of(std::string_view qname) {
  const auto p = qname.find(':');
  return p == std::string_view::npos ? qname : qname.substr(p + 1);
}

/// The namespace URI bound to `prefix` where `node` stands (its own or an ancestor's xmlns
/// declaration); empty when the prefix is unbound. Gating-ML files use any prefixes they like, so
/// elements are recognised by namespace, not by the prefix text.
std::string_view namespace_uri(pugi::xml_node node, std::string_view prefix) {
  const std::string decl = prefix.empty() ? std::string("xmlns") : "xmlns:" + std::string(prefix);
  for (pugi::xml_node n = node; n; n = n.parent()) {
    if (n.type() != pugi::node_element) continue;
    if (const pugi::xml_attribute a = n.attribute(decl.c_str())) return a.value();
  }
  return {};
}

bool is_element(const pugi::xml_node& node, Ns ns, std::string_view local) {
  return node.type() == pugi::node_element && local_of(node.name()) == local &&
         namespace_uri(node, prefix_of(node.name())) == uri_of(ns);
}

bool is_custom_info(const pugi::xml_node& node) { return is_element(node, Ns::datatype, "custom_info"); }

/// A scale transformation (flin, flog, fasinh, logicle, hyperlog) of the document.
struct ScaleDef {
  TransformSpec spec;
  Bounds bounds;
};

/// An fratio transformation of the document.
struct RatioDef {
  RatioDimension ratio;  ///< With its bounds.
};

/// A spectrum matrix: its Compensation (over the detectors) and fluorochrome names are stored in
/// the strategy; gate dimensions name its fluorochromes.
struct MatrixDef {
  std::set<std::string> fluorochromes;
  std::set<std::string> detectors;
};

class Reader {
 public:
  Reader(std::string_view text, std::string origin) : origin_(std::move(origin)), text_(text), lines_(text) {}

  GatingStrategy read() {
    const pugi::xml_parse_result res =
        doc_.load_buffer(text_.data(), text_.size(), pugi::parse_default, pugi::encoding_utf8);
    if (!res) {
      throw GatingError(origin_ + ":" + std::to_string(lines_.line(res.offset)) +
                        ": not well-formed XML: " + res.description());
    }
    const pugi::xml_node root = doc_.document_element();
    check_root(root);
    source_sha_ = fcs::sha256_hex(std::as_bytes(std::span<const char>(text_.data(), text_.size())));
    std::vector<pugi::xml_node> gates;
    for (const pugi::xml_node& child : root.children()) {
      if (child.type() != pugi::node_element || is_custom_info(child)) continue;
      if (is_element(child, Ns::transforms, "transformation")) {
        read_transformation(child);
      } else if (is_element(child, Ns::transforms, "spectrumMatrix")) {
        read_matrix(child);
      } else if (is_gate(child)) {
        gates.push_back(child);
      } else {
        fail(child, "unsupported element in <" + std::string(root.name()) +
                        ">; Gating-ML 2.0 allows RectangleGate, PolygonGate, EllipsoidGate, QuadrantGate, "
                        "BooleanGate, transformation, spectrumMatrix and custom_info here");
      }
    }
    for (const auto& [id, def] : scales_) {
      out_.transforms.emplace(id, def.spec);
      if (!def.bounds.empty()) out_.transform_bounds.emplace(id, def.bounds);
    }
    for (const pugi::xml_node& g : gates) read_gate(g);
    check_references();
    try {
      out_.validate();
    } catch (const GatingError& e) {
      throw GatingError(origin_ + ": " + e.what());
    }
    return std::move(out_);
  }

 private:
  // ---------------------------------------------------------------------------------------------
  // Errors and attribute access

  [[noreturn]] void fail(const pugi::xml_node& node, const std::string& reason) const {
    throw GatingError(origin_ + ":" + std::to_string(lines_.line(node.offset_debug())) + ": <" + node.name() +
                      ">: " + reason);
  }

  /// An attribute by local name. Gating-ML qualifies its attributes (gating:id, data-type:name);
  /// unqualified ones, as some writers produce, are accepted too. Attributes of foreign
  /// namespaces are not Gating-ML's and are ignored (the schemas allow any attribute).
  pugi::xml_attribute attr(const pugi::xml_node& node, std::string_view local) const {
    for (const pugi::xml_attribute& a : node.attributes()) {
      if (local_of(a.name()) != local) continue;
      const std::string_view prefix = prefix_of(a.name());
      if (prefix.empty()) return a;
      const std::string_view ns = namespace_uri(node, prefix);
      if (ns == gml::kGatingNs || ns == gml::kTransformsNs || ns == gml::kDataTypeNs) return a;
    }
    return {};
  }

  std::string required(const pugi::xml_node& node, std::string_view local) const {
    const pugi::xml_attribute a = attr(node, local);
    if (!a) fail(node, "attribute '" + std::string(local) + "' is missing");
    if (*a.value() == '\0') fail(node, "attribute '" + std::string(local) + "' is empty");
    return a.value();
  }

  double number_text(const pugi::xml_node& node, std::string_view what, std::string_view text) const {
    const std::optional<double> v = gml::parse_double(text);
    if (!v) fail(node, std::string(what) + " '" + std::string(text) + "' is not a finite number");
    return *v;
  }

  double number(const pugi::xml_node& node, std::string_view local) const {
    return number_text(node, "attribute '" + std::string(local) + "' =", required(node, local));
  }

  std::optional<double> optional_number(const pugi::xml_node& node, std::string_view local) const {
    const pugi::xml_attribute a = attr(node, local);
    if (!a) return std::nullopt;
    return number_text(node, "attribute '" + std::string(local) + "' =", a.value());
  }

  bool boolean(const pugi::xml_node& node, std::string_view local) const {
    const pugi::xml_attribute a = attr(node, local);
    if (!a) return false;
    const std::string_view v = a.value();
    if (v == "true" || v == "1") return true;
    if (v == "false" || v == "0") return false;
    fail(node, "attribute '" + std::string(local) + "' = '" + std::string(v) + "' is not true or false");
  }

  /// Element children other than custom_info.
  static std::vector<pugi::xml_node> elements(const pugi::xml_node& node) {
    std::vector<pugi::xml_node> out;
    for (const pugi::xml_node& c : node.children())
      if (c.type() == pugi::node_element && !is_custom_info(c)) out.push_back(c);
    return out;
  }

  [[noreturn]] void unexpected(const pugi::xml_node& child, const pugi::xml_node& parent,
                               std::string_view allowed) const {
    fail(child, "unsupported element in <" + std::string(parent.name()) + ">; expected " + std::string(allowed));
  }

  std::size_t line_of(const pugi::xml_node& node) const { return lines_.line(node.offset_debug()); }

  // ---------------------------------------------------------------------------------------------
  // Document, transformations, matrices

  void check_root(const pugi::xml_node& root) const {
    if (!root) throw GatingError(origin_ + ": no XML element: not a Gating-ML document");
    if (local_of(root.name()) != "Gating-ML") {
      fail(root, "not a Gating-ML document (the root element must be Gating-ML)");
    }
    const std::string_view ns = namespace_uri(root, prefix_of(root.name()));
    if (ns != gml::kGatingNs) {
      fail(root, "namespace '" + std::string(ns) + "' is not Gating-ML 2.0 ('" + std::string(gml::kGatingNs) +
                     "'); only Gating-ML 2.0 is supported");
    }
  }

  static bool is_gate(const pugi::xml_node& node) {
    for (const char* kind : {"RectangleGate", "PolygonGate", "EllipsoidGate", "QuadrantGate", "BooleanGate"})
      if (is_element(node, Ns::gating, kind)) return true;
    return false;
  }

  void claim_transform_id(const pugi::xml_node& node, const std::string& id) {
    if (const auto it = transform_lines_.find(id); it != transform_lines_.end()) {
      fail(node, "transformation id '" + id + "' is already defined on line " + std::to_string(it->second));
    }
    transform_lines_.emplace(id, line_of(node));
  }

  void read_transformation(const pugi::xml_node& node) {
    const std::string id = required(node, "id");
    claim_transform_id(node, id);
    Bounds bounds;
    bounds.min = optional_number(node, "boundMin");
    bounds.max = optional_number(node, "boundMax");
    if (bounds.min && bounds.max && *bounds.min > *bounds.max) {
      fail(node,
           "boundMin " + gml::format_double(*bounds.min) + " is above boundMax " + gml::format_double(*bounds.max));
    }
    const auto kids = elements(node);
    if (kids.size() != 1) {
      fail(node, "needs exactly one transformation (flin, flog, fasinh, logicle, hyperlog or fratio), found " +
                     std::to_string(kids.size()) + " elements");
    }
    const pugi::xml_node& fn = kids.front();
    if (is_element(fn, Ns::transforms, "fratio")) {
      read_ratio(fn, id, bounds);
      return;
    }
    static const std::map<std::string_view, std::pair<TransformKind, std::vector<std::string_view>>> kinds{
        {"flin", {TransformKind::flin, {"T", "A"}}},
        {"flog", {TransformKind::flog, {"T", "M"}}},
        {"fasinh", {TransformKind::fasinh, {"T", "M", "A"}}},
        {"logicle", {TransformKind::logicle, {"T", "W", "M", "A"}}},
        {"hyperlog", {TransformKind::hyperlog, {"T", "W", "M", "A"}}},
    };
    const auto kind = kinds.find(local_of(fn.name()));
    if (kind == kinds.end() || namespace_uri(fn, prefix_of(fn.name())) != gml::kTransformsNs) {
      unexpected(fn, node, "one of flin, flog, fasinh, logicle, hyperlog, fratio (transformations namespace)");
    }
    if (const auto extra = elements(fn); !extra.empty()) unexpected(extra.front(), fn, "no child elements");
    ScaleDef def{{kind->second.first, {}}, bounds};
    for (const std::string_view key : kind->second.second) def.spec.params.emplace(std::string(key), number(fn, key));
    try {
      (void)Transform(def.spec);  // parameter ranges (e.g. logicle W <= M/2) checked where they are written
    } catch (const TransformError& e) {
      fail(fn, std::string("transformation '") + id + "': " + e.what());
    }
    scales_.emplace(id, std::move(def));
  }

  void read_ratio(const pugi::xml_node& fn, const std::string& id, const Bounds& bounds) {
    RatioDef def;
    def.ratio.id = id;
    def.ratio.a = number(fn, "A");
    def.ratio.b = number(fn, "B");
    def.ratio.c = number(fn, "C");
    def.ratio.bounds = bounds;
    std::vector<std::string> names;
    for (const pugi::xml_node& c : elements(fn)) {
      if (!is_element(c, Ns::datatype, "fcs-dimension")) unexpected(c, fn, "two data-type:fcs-dimension elements");
      names.push_back(required(c, "name"));
    }
    if (names.size() != 2) {
      fail(fn, "fratio needs exactly two fcs-dimension elements (numerator, denominator), found " +
                   std::to_string(names.size()));
    }
    def.ratio.numerator = names[0];
    def.ratio.denominator = names[1];
    ratios_.emplace(id, std::move(def));
  }

  std::vector<std::string> dimension_names(const pugi::xml_node& list) const {
    std::vector<std::string> out;
    for (const pugi::xml_node& c : elements(list)) {
      if (!is_element(c, Ns::datatype, "fcs-dimension")) unexpected(c, list, "data-type:fcs-dimension elements");
      out.push_back(required(c, "name"));
    }
    return out;
  }

  void read_matrix(const pugi::xml_node& node) {
    const std::string id = required(node, "id");
    if (id == gml::kRefFcs || id == gml::kRefUncompensated) {
      fail(node, "id '" + id + "' is reserved by Gating-ML for compensation-ref and cannot name a matrix");
    }
    if (const auto it = matrix_lines_.find(id); it != matrix_lines_.end()) {
      fail(node, "spectrumMatrix id '" + id + "' is already defined on line " + std::to_string(it->second));
    }
    matrix_lines_.emplace(id, line_of(node));
    std::vector<std::string> fluorochromes;
    std::vector<std::string> detectors;
    std::vector<double> values;
    bool have_fl = false;
    bool have_de = false;
    std::size_t rows = 0;
    for (const pugi::xml_node& c : elements(node)) {
      if (is_element(c, Ns::transforms, "fluorochromes") && !have_fl) {
        fluorochromes = dimension_names(c);
        have_fl = true;
      } else if (is_element(c, Ns::transforms, "detectors") && !have_de) {
        detectors = dimension_names(c);
        have_de = true;
      } else if (is_element(c, Ns::transforms, "spectrum")) {
        std::size_t n = 0;
        for (const pugi::xml_node& k : elements(c)) {
          if (!is_element(k, Ns::transforms, "coefficient")) unexpected(k, c, "transforms:coefficient elements");
          values.push_back(number(k, "value"));
          ++n;
        }
        if (have_de && n != detectors.size()) {
          fail(c, "has " + std::to_string(n) + " coefficients for " + std::to_string(detectors.size()) + " detectors");
        }
        ++rows;
      } else {
        unexpected(c, node, "one fluorochromes, one detectors and spectrum elements (transformations namespace)");
      }
    }
    if (!have_fl || !have_de) fail(node, "needs a fluorochromes and a detectors element");
    if (fluorochromes.empty()) fail(node, "names no fluorochromes");
    if (fluorochromes.size() != detectors.size()) {
      fail(node, std::to_string(fluorochromes.size()) + " fluorochromes over " + std::to_string(detectors.size()) +
                     " detectors: only square spectrum matrices (compensation) are supported, not spectral unmixing");
    }
    const std::size_t n = detectors.size();
    if (rows != n || values.size() != n * n) {
      fail(node, "has " + std::to_string(rows) + " spectrum rows for " + std::to_string(n) + " fluorochromes");
    }
    MatrixDef def;
    for (std::size_t i = 0; i < n; ++i) {
      if (!def.fluorochromes.insert(fluorochromes[i]).second) {
        fail(node, "fluorochrome '" + fluorochromes[i] + "' is listed twice");
      }
      if (!def.detectors.insert(detectors[i]).second) fail(node, "detector '" + detectors[i] + "' is listed twice");
    }
    try {
      const CompensationSource src{CompensationSource::Kind::gatingml, origin_ + "#" + id, source_sha_};
      if (boolean(node, "matrix-inverted-already")) {
        // The document holds S^-1; Compensation wants S, which is the inverse of what is given.
        const Compensation given(detectors, values, src);
        std::vector<double> s(n * n);
        for (std::size_t i = 0; i < n; ++i)
          for (std::size_t j = 0; j < n; ++j) s[i * n + j] = given.inverse(i, j);
        out_.compensations.emplace(id, Compensation(detectors, std::move(s), src));
      } else {
        out_.compensations.emplace(id, Compensation(detectors, std::move(values), src));
      }
    } catch (const CompensationError& e) {
      fail(node, std::string("spectrumMatrix '") + id + "': " + e.what());
    }
    out_.fluorochromes.emplace(id, std::move(fluorochromes));
    matrices_.emplace(id, std::move(def));
  }

  // ---------------------------------------------------------------------------------------------
  // Dimensions

  // Under a spectrum matrix, a gate dimension names one of its fluorochromes or one of its
  // detectors (FlowJo's Gating-ML export does the latter); either means the compensated column of
  // that detector, which the evaluator resolves. Any other channel (e.g. FSC-H) is read as measured.

  /// A gating:dimension or gating:divider: compensation-ref, transformation-ref and one
  /// fcs-dimension or new-dimension child. `extra_local` names other (gating) children the caller
  /// reads itself (a divider's values).
  Dimension read_dimension(const pugi::xml_node& node, std::string_view extra_local = {}) const {
    Dimension out;
    const std::string comp = required(node, "compensation-ref");
    if (comp == gml::kRefUncompensated) {
      out.compensation = kUncompensated;
    } else if (comp == gml::kRefFcs) {
      out.compensation = kFileCompensation;
    } else if (matrices_.count(comp) != 0) {
      out.compensation = comp;
    } else {
      fail(node, "compensation-ref '" + comp + "' is neither 'uncompensated', 'FCS' nor a spectrumMatrix id of " +
                     "the file" + known(matrices_));
    }
    std::optional<pugi::xml_node> which;
    for (const pugi::xml_node& c : elements(node)) {
      if (is_element(c, Ns::datatype, "fcs-dimension") || is_element(c, Ns::datatype, "new-dimension")) {
        if (which) unexpected(c, node, "a single data-type:fcs-dimension or data-type:new-dimension");
        which = c;
      } else if (extra_local.empty() || !is_element(c, Ns::gating, extra_local)) {
        unexpected(c, node, "data-type:fcs-dimension or data-type:new-dimension");
      }
    }
    if (!which) fail(node, "needs a data-type:fcs-dimension or data-type:new-dimension child");
    const pugi::xml_node dn = *which;
    if (is_element(dn, Ns::datatype, "fcs-dimension")) {
      out.channel = required(dn, "name");
    } else {
      const std::string ref = required(dn, "transformation-ref");
      const auto r = ratios_.find(ref);
      if (r == ratios_.end()) {
        fail(dn, "transformation-ref '" + ref + "' " +
                     (scales_.count(ref) != 0 ? std::string("is not an fratio; a new-dimension must refer to an fratio")
                                              : "names no transformation of the file" + known(ratios_)));
      }
      out.ratio = r->second.ratio;
    }
    if (const pugi::xml_attribute t = attr(node, "transformation-ref")) {
      const std::string ref = t.value();
      if (scales_.count(ref) == 0) {
        fail(node,
             "transformation-ref '" + ref + "' " +
                 (ratios_.count(ref) != 0
                      ? std::string("is an fratio, which makes a new dimension: use it in a data-type:new-dimension")
                      : "names no transformation of the file" + known(scales_)));
      }
      out.transform = ref;
    }
    return out;
  }

  template <typename Map>
  static std::string known(const Map& m) {
    if (m.empty()) return " (it defines none)";
    std::string s = " (known: ";
    bool first = true;
    for (const auto& kv : m) {
      s += (first ? "" : ", ") + kv.first;
      first = false;
    }
    return s + ")";
  }

  // ---------------------------------------------------------------------------------------------
  // Gates

  void claim_population_id(const pugi::xml_node& node, const std::string& id) {
    if (const auto it = id_nodes_.find(id); it != id_nodes_.end()) {
      fail(node, "id '" + id + "' is already used on line " + std::to_string(line_of(it->second)));
    }
    id_nodes_.emplace(id, node);
  }

  void add_population(const pugi::xml_node& node, const std::string& id, std::optional<std::string> parent,
                      const std::string& name, Gate gate) {
    out_.populations.push_back(Population{id, name, std::move(parent), std::move(gate)});
    population_nodes_.emplace(id, node);
  }

  void read_gate(const pugi::xml_node& node) {
    const std::string id = required(node, "id");
    std::optional<std::string> parent;
    if (const pugi::xml_attribute p = attr(node, "parent_id")) {
      parent = p.value();
      if (parent->empty()) fail(node, "attribute 'parent_id' is empty");
      parents_.emplace_back(node, *parent);
    }
    const pugi::xml_attribute name_attr = attr(node, "name");
    const std::string name = name_attr && *name_attr.value() != '\0' ? name_attr.value() : id;
    const std::string_view kind = local_of(node.name());
    claim_population_id(node, id);  // a QuadrantGate's id too: Gating-ML ids share one space
    if (kind == "QuadrantGate") {
      quadrant_gates_.insert(id);
      read_quadrants(node, id, parent);
      return;
    }
    Gate gate;
    if (kind == "RectangleGate")
      gate = read_rectangle(node);
    else if (kind == "PolygonGate")
      gate = read_polygon(node);
    else if (kind == "EllipsoidGate")
      gate = read_ellipsoid(node);
    else
      gate = read_boolean(node);
    add_population(node, id, std::move(parent), name, std::move(gate));
  }

  RectangleGate read_rectangle(const pugi::xml_node& node) const {
    RectangleGate g;
    for (const pugi::xml_node& c : elements(node)) {
      if (!is_element(c, Ns::gating, "dimension")) unexpected(c, node, "gating:dimension elements");
      g.dimensions.push_back(read_dimension(c));
      Interval range{optional_number(c, "min"), optional_number(c, "max")};
      if (range.min && range.max && *range.min > *range.max) {
        fail(c, "min " + gml::format_double(*range.min) + " is above max " + gml::format_double(*range.max));
      }
      g.ranges.push_back(range);
    }
    if (g.dimensions.empty()) fail(node, "needs at least one gating:dimension");
    return g;
  }

  std::vector<double> coordinates(const pugi::xml_node& node, std::string_view child_local) const {
    std::vector<double> out;
    for (const pugi::xml_node& c : elements(node)) {
      if (!is_element(c, Ns::gating, child_local))
        unexpected(c, node, "gating:" + std::string(child_local) + " elements");
      out.push_back(number(c, "value"));
    }
    return out;
  }

  PolygonGate read_polygon(const pugi::xml_node& node) const {
    std::vector<Dimension> dims;
    PolygonGate g;
    for (const pugi::xml_node& c : elements(node)) {
      if (is_element(c, Ns::gating, "dimension")) {
        dims.push_back(read_dimension(c));
      } else if (is_element(c, Ns::gating, "vertex")) {
        const std::vector<double> xy = coordinates(c, "coordinate");
        if (xy.size() != 2) fail(c, "a vertex needs exactly 2 coordinates, found " + std::to_string(xy.size()));
        g.vertices.push_back(Point{xy[0], xy[1]});
      } else {
        unexpected(c, node, "gating:dimension and gating:vertex elements");
      }
    }
    if (dims.size() != 2) fail(node, "a polygon needs exactly 2 dimensions, found " + std::to_string(dims.size()));
    if (g.vertices.size() < 3) {
      fail(node, "a polygon needs at least 3 vertices, found " + std::to_string(g.vertices.size()));
    }
    g.x = dims[0];
    g.y = dims[1];
    return g;
  }

  EllipsoidGate read_ellipsoid(const pugi::xml_node& node) const {
    EllipsoidGate g;
    std::optional<pugi::xml_node> mean;
    std::optional<pugi::xml_node> cov;
    std::optional<pugi::xml_node> dist;
    for (const pugi::xml_node& c : elements(node)) {
      if (is_element(c, Ns::gating, "dimension")) {
        g.dimensions.push_back(read_dimension(c));
      } else if (is_element(c, Ns::gating, "mean") && !mean) {
        mean = c;
      } else if (is_element(c, Ns::gating, "covarianceMatrix") && !cov) {
        cov = c;
      } else if (is_element(c, Ns::gating, "distanceSquare") && !dist) {
        dist = c;
      } else {
        unexpected(c, node,
                   "gating:dimension elements and one each of gating:mean, gating:covarianceMatrix, "
                   "gating:distanceSquare");
      }
    }
    const std::size_t n = g.dimensions.size();
    if (n < 2) fail(node, "an ellipsoid needs at least 2 dimensions, found " + std::to_string(n));
    if (!mean || !cov || !dist) fail(node, "needs gating:mean, gating:covarianceMatrix and gating:distanceSquare");
    g.mean = coordinates(*mean, "coordinate");
    if (g.mean.size() != n) {
      fail(*mean, "has " + std::to_string(g.mean.size()) + " coordinates for " + std::to_string(n) + " dimensions");
    }
    std::size_t rows = 0;
    for (const pugi::xml_node& r : elements(*cov)) {
      if (!is_element(r, Ns::gating, "row")) unexpected(r, *cov, "gating:row elements");
      const std::vector<double> entries = coordinates(r, "entry");
      if (entries.size() != n) {
        fail(r, "has " + std::to_string(entries.size()) + " entries for " + std::to_string(n) + " dimensions");
      }
      g.covariance.insert(g.covariance.end(), entries.begin(), entries.end());
      ++rows;
    }
    if (rows != n) fail(*cov, "has " + std::to_string(rows) + " rows for " + std::to_string(n) + " dimensions");
    g.distance_square = number(*dist, "value");
    if (g.distance_square < 0) fail(*dist, "distanceSquare must not be negative");
    return g;
  }

  BooleanGate read_boolean(const pugi::xml_node& node) {
    const auto kids = elements(node);
    if (kids.size() != 1) fail(node, "needs exactly one of gating:and, gating:or, gating:not");
    const pugi::xml_node& op = kids.front();
    BooleanGate g;
    if (is_element(op, Ns::gating, "and"))
      g.op = BooleanGate::Op::and_;
    else if (is_element(op, Ns::gating, "or"))
      g.op = BooleanGate::Op::or_;
    else if (is_element(op, Ns::gating, "not"))
      g.op = BooleanGate::Op::not_;
    else
      unexpected(op, node, "gating:and, gating:or or gating:not");
    for (const pugi::xml_node& r : elements(op)) {
      if (!is_element(r, Ns::gating, "gateReference")) unexpected(r, op, "gating:gateReference elements");
      g.operands.push_back(BooleanGate::Operand{required(r, "ref"), boolean(r, "use-as-complement")});
      references_.emplace_back(r, g.operands.back().ref);
    }
    const std::size_t n = g.operands.size();
    if (g.op == BooleanGate::Op::not_ && n != 1)
      fail(op, "gating:not needs exactly one gateReference, found " + std::to_string(n));
    if (g.op != BooleanGate::Op::not_ && n < 2) {
      fail(op, "gating:" + std::string(local_of(op.name())) + " needs at least two gateReference elements, found " +
                   std::to_string(n));
    }
    return g;
  }

  void read_quadrants(const pugi::xml_node& node, const std::string& gate_id,
                      const std::optional<std::string>& parent) {
    std::vector<QuadrantDivider> dividers;
    std::map<std::string, std::size_t> divider_index;
    std::vector<pugi::xml_node> quadrants;
    for (const pugi::xml_node& c : elements(node)) {
      if (is_element(c, Ns::gating, "divider")) {
        QuadrantDivider d;
        d.id = required(c, "id");
        if (!divider_index.emplace(d.id, dividers.size()).second) fail(c, "divider id '" + d.id + "' is used twice");
        d.dimension = read_dimension(c, "value");
        for (const pugi::xml_node& v : elements(c)) {
          if (is_element(v, Ns::gating, "value")) d.values.push_back(number_text(v, "divider value", v.child_value()));
        }
        if (d.values.empty()) fail(c, "a divider needs at least one gating:value");
        std::sort(d.values.begin(), d.values.end());  // cut points: their order carries no meaning
        if (std::adjacent_find(d.values.begin(), d.values.end()) != d.values.end()) {
          fail(c, "divider '" + d.id + "' lists a value twice");
        }
        dividers.push_back(std::move(d));
      } else if (is_element(c, Ns::gating, "Quadrant")) {
        quadrants.push_back(c);
      } else {
        unexpected(c, node, "gating:divider and gating:Quadrant elements");
      }
    }
    if (dividers.empty()) fail(node, "a QuadrantGate needs at least one gating:divider");
    if (quadrants.empty()) fail(node, "a QuadrantGate needs at least one gating:Quadrant");
    for (const pugi::xml_node& q : quadrants) {
      const std::string qid = required(q, "id");
      claim_population_id(q, qid);
      QuadrantGate g{gate_id, dividers, {}};
      std::set<std::size_t> used;
      for (const pugi::xml_node& p : elements(q)) {
        if (!is_element(p, Ns::gating, "position")) unexpected(p, q, "gating:position elements");
        const std::string ref = required(p, "divider_ref");
        const auto it = divider_index.find(ref);
        if (it == divider_index.end())
          fail(p, "divider_ref '" + ref + "' is not a divider of QuadrantGate '" + gate_id + "'");
        if (!used.insert(it->second).second)
          fail(p, "divider '" + ref + "' is positioned twice in quadrant '" + qid + "'");
        g.positions.push_back(QuadrantGate::Position{it->second, number(p, "location")});
      }
      if (g.positions.empty()) fail(q, "a Quadrant needs at least one gating:position");
      const pugi::xml_attribute name_attr = attr(q, "name");
      add_population(q, qid, parent, name_attr && *name_attr.value() != '\0' ? name_attr.value() : qid, std::move(g));
    }
  }

  /// Parents and boolean operands must name populations; a QuadrantGate id names none (its
  /// quadrants are the populations).
  void check_references() const {
    const auto check = [&](const pugi::xml_node& node, const std::string& ref, const char* what) {
      if (population_nodes_.count(ref) != 0) return;
      if (quadrant_gates_.count(ref) != 0) {
        fail(node, std::string(what) + " '" + ref + "' is a QuadrantGate; refer to one of its Quadrant ids instead");
      }
      fail(node, std::string(what) + " '" + ref + "' names no gate of the file");
    };
    for (const auto& [node, ref] : parents_) check(node, ref, "parent_id");
    for (const auto& [node, ref] : references_) check(node, ref, "gateReference");
  }

  std::string origin_;
  std::string_view text_;
  LineIndex lines_;
  pugi::xml_document doc_;
  std::string source_sha_;
  std::map<std::string, ScaleDef> scales_;
  std::map<std::string, RatioDef> ratios_;
  std::map<std::string, std::size_t> transform_lines_;
  std::map<std::string, MatrixDef> matrices_;
  std::map<std::string, std::size_t> matrix_lines_;
  std::map<std::string, pugi::xml_node> id_nodes_;          ///< gate and quadrant ids
  std::map<std::string, pugi::xml_node> population_nodes_;  ///< population id -> element
  std::set<std::string> quadrant_gates_;
  std::vector<std::pair<pugi::xml_node, std::string>> parents_;
  std::vector<std::pair<pugi::xml_node, std::string>> references_;
  GatingStrategy out_;
};

}  // namespace

GatingStrategy parse_gatingml(std::string_view xml, std::string_view origin) {
  return Reader(xml, std::string(origin)).read();
}

GatingStrategy read_gatingml(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw GatingError(file + ": cannot open the Gating-ML file: " + std::strerror(errno));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw GatingError(file + ": cannot read the Gating-ML file");
  return parse_gatingml(bytes, file);
}

fcs::ReadOptions gatingml_read_options() {
  fcs::ReadOptions o;
  o.transformation = fcs::Transformation::linearize_with_png_scaling;
  return o;
}

}  // namespace flowmrd::gating
