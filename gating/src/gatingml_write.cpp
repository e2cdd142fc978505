// SPDX-License-Identifier: Apache-2.0
// Gating-ML 2.0 export (docs/gatingml.md): spectrum matrices, scale transformations, fratio
// dimensions, then the gates in population order (the quadrants of one QuadrantGate written
// together where the first of them stands). Numbers are written in their shortest round-trip form
// so that reading the text back gives the same strategy bit for bit. Whatever Gating-ML 2.0 cannot
// express is a GatingError naming the population or transform, never an approximation.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <pugixml.hpp>
#include <set>
#include <sstream>
#include <utility>
#include <variant>
#include <vector>

#include "flowmrd/gating/gatingml.hpp"
#include "gatingml_common.hpp"

namespace flowmrd::gating {

namespace {

[[noreturn]] void fail(const std::string& reason) { throw GatingError("Gating-ML export: " + reason); }

/// Gating-ML ids are XML IDs (NCNames) sharing one space per document. flowmrd ids may hold any
/// text (FlowJo names, "CD19+"), so ids that are not NCNames are rewritten: every other character
/// becomes '_', a leading digit/'-'/'.' gets a '_' in front, and a clash gets a "_2", "_3", ...
/// suffix. Population display names are kept in gating:name.
class IdAllocator {
 public:
  IdAllocator() {
    // The reserved compensation references never name a matrix.
    used_.insert(std::string(gml::kRefFcs));
    used_.insert(std::string(gml::kRefUncompensated));
  }

  std::string take(const std::string& wanted) {
    std::string base = wanted.empty() ? std::string("id") : wanted;
    for (char& c : base) {
      const auto u = static_cast<unsigned char>(c);
      const bool ok = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '_' ||
                      c == '-' || c == '.' || u >= 0x80;
      if (!ok) c = '_';
    }
    if (!gml::is_ncname(base)) base.insert(base.begin(), '_');
    std::string id = base;
    for (int k = 2; used_.count(id) != 0; ++k) id = base + "_" + std::to_string(k);
    used_.insert(id);
    return id;
  }

 private:
  std::set<std::string> used_;
};

/// XSD double text: shortest round-trip decimal, INF / -INF for infinities.
std::string xsd_double(double v, const std::string& what) {
  if (std::isnan(v)) fail(what + " is not a number (NaN)");
  if (std::isinf(v)) return v > 0 ? "INF" : "-INF";
  return gml::format_double(v);
}

/// Parameter keys of the Gating-ML scale transformations, in the order the specification lists them.
const std::vector<std::string>* gatingml_params(TransformKind kind) {
  static const std::map<TransformKind, std::vector<std::string>> keys{
      {TransformKind::flin, {"T", "A"}},
      {TransformKind::flog, {"T", "M"}},
      {TransformKind::fasinh, {"T", "M", "A"}},
      {TransformKind::logicle, {"T", "W", "M", "A"}},
      {TransformKind::hyperlog, {"T", "W", "M", "A"}},
  };
  const auto it = keys.find(kind);
  return it == keys.end() ? nullptr : &it->second;
}

bool same_dividers(const std::vector<QuadrantDivider>& a, const std::vector<QuadrantDivider>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].id != b[i].id || !(a[i].dimension == b[i].dimension) || a[i].values != b[i].values) return false;
  }
  return true;
}

class Writer {
 public:
  explicit Writer(const GatingStrategy& s) : s_(s) {}

  std::string write() {
    s_.validate();
    assign_population_ids();
    pugi::xml_node decl = doc_.append_child(pugi::node_declaration);
    decl.append_attribute("version") = "1.0";
    decl.append_attribute("encoding") = "UTF-8";
    root_ = doc_.append_child("gating:Gating-ML");
    root_.append_attribute("xmlns:gating") = std::string(gml::kGatingNs).c_str();
    root_.append_attribute("xmlns:transforms") = std::string(gml::kTransformsNs).c_str();
    root_.append_attribute("xmlns:data-type") = std::string(gml::kDataTypeNs).c_str();
    write_matrices();
    write_transforms();
    write_ratios();
    write_gates();
    std::ostringstream out;
    doc_.save(out, "  ", pugi::format_indent, pugi::encoding_utf8);
    return out.str();
  }

 private:
  // ---------------------------------------------------------------------------------------------
  // Ids

  void assign_population_ids() {
    for (const Population& p : s_.populations) population_ids_.emplace(p.id, ids_.take(p.id));
    for (const Population& p : s_.populations) {
      if (const auto* q = std::get_if<QuadrantGate>(&p.gate);
          q != nullptr && quadrant_ids_.count(q->quadrant_gate) == 0) {
        quadrant_ids_.emplace(q->quadrant_gate,
                              ids_.take(q->quadrant_gate.empty() ? p.id + "_quadrants" : q->quadrant_gate));
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Matrices and transformations

  static void set(pugi::xml_node node, const char* name, const std::string& value) {
    node.append_attribute(name) = value.c_str();
  }

  static void fcs_dimension(pugi::xml_node parent, const std::string& name) {
    set(parent.append_child("data-type:fcs-dimension"), "data-type:name", name);
  }

  void write_matrices() {
    for (const auto& [id, comp] : s_.compensations) {
      if (id == gml::kRefFcs || id == gml::kRefUncompensated) {
        fail("compensation '" + id + "': the id is reserved by Gating-ML for compensation-ref");
      }
      const std::size_t n = comp.size();
      if (n < 2) fail("compensation '" + id + "': Gating-ML spectrum matrices need at least 2 channels");
      const std::string xml_id = ids_.take(id);
      matrix_ids_.emplace(id, xml_id);
      pugi::xml_node m = root_.append_child("transforms:spectrumMatrix");
      set(m, "transforms:id", xml_id);
      // Fluorochrome names as read from Gating-ML; a matrix from elsewhere names its outputs like
      // its detectors (what gate dimensions then use).
      const auto names = s_.fluorochromes.find(id);
      const std::vector<std::string>& fluorochromes = names != s_.fluorochromes.end() ? names->second : comp.channels();
      if (fluorochromes.size() != n) {
        fail("compensation '" + id + "': " + std::to_string(fluorochromes.size()) + " fluorochrome names for " +
             std::to_string(n) + " channels");
      }
      pugi::xml_node fl = m.append_child("transforms:fluorochromes");
      for (const std::string& c : fluorochromes) fcs_dimension(fl, c);
      pugi::xml_node de = m.append_child("transforms:detectors");
      for (const std::string& c : comp.channels()) fcs_dimension(de, c);
      for (std::size_t i = 0; i < n; ++i) {
        pugi::xml_node row = m.append_child("transforms:spectrum");
        for (std::size_t j = 0; j < n; ++j) {
          set(row.append_child("transforms:coefficient"), "transforms:value",
              xsd_double(comp.spillover(i, j), "compensation '" + id + "' coefficient"));
        }
      }
    }
  }

  /// Transform ids some gate dimension refers to.
  std::set<std::string> used_transforms() const {
    std::set<std::string> used;
    for (const Population& p : s_.populations)
      for (const Dimension& d : gate_dimensions(p.gate))
        if (!d.transform.empty()) used.insert(d.transform);
    return used;
  }

  /// transforms:boundMin / boundMax on a transformation element.
  static void bounds(pugi::xml_node t, const Bounds& b, const std::string& what) {
    if (b.min) set(t, "transforms:boundMin", xsd_double(*b.min, what + " boundMin"));
    if (b.max) set(t, "transforms:boundMax", xsd_double(*b.max, what + " boundMax"));
  }

  void write_transforms() {
    const std::set<std::string> used = used_transforms();
    for (const auto& [id, given] : s_.transforms) {
      const auto b = s_.transform_bounds.find(id);
      const Bounds bound = b != s_.transform_bounds.end() ? b->second : Bounds{};
      TransformSpec spec = given;
      if (spec.kind == TransformKind::identity) {
        // Gating-ML has no identity: unbounded, dimensions are written without a reference;
        // bounded, it is written as flin(T = 1, A = 0), which is x itself.
        if (bound.empty()) continue;
        spec = TransformSpec{TransformKind::flin, {{"T", 1.0}, {"A", 0.0}}};
      }
      const std::vector<std::string>* keys = gatingml_params(spec.kind);
      if (keys == nullptr) {
        if (used.count(id) == 0) continue;  // nothing depends on it; Gating-ML has no place for it
        fail("transform '" + id + "' (" + spec.to_string() +
             ") has no Gating-ML 2.0 equivalent (Gating-ML defines flin, flog, fasinh, logicle, hyperlog)");
      }
      const TransformSpec full = Transform(spec).spec();  // defaults filled in
      const std::string xml_id = ids_.take(id);
      transform_ids_.emplace(id, xml_id);
      pugi::xml_node t = root_.append_child("transforms:transformation");
      set(t, "transforms:id", xml_id);
      bounds(t, bound, "transform '" + id + "'");
      pugi::xml_node f = t.append_child(("transforms:" + std::string(to_string(spec.kind))).c_str());
      for (const std::string& k : *keys) {
        const auto it = full.params.find(k);
        if (it == full.params.end()) fail("transform '" + id + "': parameter " + k + " missing");
        set(f, ("transforms:" + k).c_str(), xsd_double(it->second, "transform '" + id + "' parameter " + k));
      }
    }
  }

  /// One fratio transformation per distinct ratio definition, in order of first use.
  void write_ratios() {
    for (const Population& p : s_.populations) {
      for (const Dimension& d : gate_dimensions(p.gate)) {
        if (!d.ratio) continue;
        const RatioDimension& r = *d.ratio;
        const bool known =
            std::any_of(ratio_ids_.begin(), ratio_ids_.end(), [&](const auto& e) { return e.first == r; });
        if (known) continue;
        if (r.numerator.empty() || r.denominator.empty()) {
          fail("population '" + p.id + "': ratio dimension '" + r.id + "' lacks a channel");
        }
        const std::string xml_id = ids_.take(r.id.empty() ? "ratio" : r.id);
        ratio_ids_.emplace_back(r, xml_id);
        pugi::xml_node t = root_.append_child("transforms:transformation");
        set(t, "transforms:id", xml_id);
        bounds(t, r.bounds, "fratio '" + r.id + "'");
        pugi::xml_node f = t.append_child("transforms:fratio");
        set(f, "transforms:A", xsd_double(r.a, "fratio '" + r.id + "' A"));
        set(f, "transforms:B", xsd_double(r.b, "fratio '" + r.id + "' B"));
        set(f, "transforms:C", xsd_double(r.c, "fratio '" + r.id + "' C"));
        fcs_dimension(f, r.numerator);
        fcs_dimension(f, r.denominator);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Gates

  /// compensation-ref, transformation-ref and the fcs-dimension / new-dimension child.
  void dimension(pugi::xml_node el, const Dimension& d, const std::string& where) const {
    if (d.compensation == kUncompensated) {
      set(el, "gating:compensation-ref", std::string(gml::kRefUncompensated));
    } else if (d.compensation == kFileCompensation) {
      set(el, "gating:compensation-ref", std::string(gml::kRefFcs));
    } else {
      const auto m = matrix_ids_.find(d.compensation);
      if (m == matrix_ids_.end()) fail(where + ": compensation '" + d.compensation + "' is not in the strategy");
      set(el, "gating:compensation-ref", m->second);
    }
    if (!d.transform.empty()) {
      const auto spec = s_.transforms.find(d.transform);
      if (spec == s_.transforms.end()) fail(where + ": transform '" + d.transform + "' is not in the strategy");
      if (const auto t = transform_ids_.find(d.transform); t != transform_ids_.end()) {
        set(el, "gating:transformation-ref", t->second);
      }  // else an unbounded identity: no transform
    }
    if (d.ratio) {
      const auto it =
          std::find_if(ratio_ids_.begin(), ratio_ids_.end(), [&](const auto& e) { return e.first == *d.ratio; });
      set(el.append_child("data-type:new-dimension"), "data-type:transformation-ref", it->second);
    } else {
      if (d.channel.empty()) fail(where + ": a dimension names no channel");
      fcs_dimension(el, d.channel);
    }
  }

  pugi::xml_node gate_element(const char* kind, const std::string& id, const std::string& name,
                              const std::optional<std::string>& parent) {
    pugi::xml_node g = root_.append_child(kind);
    set(g, "gating:id", id);
    if (parent) set(g, "gating:parent_id", population_ids_.at(*parent));
    // The schemas allow any further attribute on a gate; gating:name carries flowmrd's display
    // name when it differs from the id (read back by read_gatingml).
    if (!name.empty() && name != id) set(g, "gating:name", name);
    return g;
  }

  static void value_element(pugi::xml_node parent, const char* name, double v, const std::string& what) {
    set(parent.append_child(name), "data-type:value", xsd_double(v, what));
  }

  void write_gates() {
    for (const Population& p : s_.populations) {
      const std::string where = "population '" + p.id + "'";
      const std::string& id = population_ids_.at(p.id);
      const std::string name = id != p.id && p.name == p.id ? p.id : p.name;  // keep the original id readable
      if (const auto* r = std::get_if<RectangleGate>(&p.gate)) {
        pugi::xml_node g = gate_element("gating:RectangleGate", id, name, p.parent);
        if (r->dimensions.empty() || r->dimensions.size() != r->ranges.size()) fail(where + ": malformed rectangle");
        for (std::size_t i = 0; i < r->dimensions.size(); ++i) {
          pugi::xml_node d = g.append_child("gating:dimension");
          dimension(d, r->dimensions[i], where);
          if (r->ranges[i].min) set(d, "gating:min", xsd_double(*r->ranges[i].min, where + " min"));
          if (r->ranges[i].max) set(d, "gating:max", xsd_double(*r->ranges[i].max, where + " max"));
        }
      } else if (const auto* poly = std::get_if<PolygonGate>(&p.gate)) {
        pugi::xml_node g = gate_element("gating:PolygonGate", id, name, p.parent);
        dimension(g.append_child("gating:dimension"), poly->x, where);
        dimension(g.append_child("gating:dimension"), poly->y, where);
        for (const Point& v : poly->vertices) {
          pugi::xml_node vx = g.append_child("gating:vertex");
          value_element(vx, "gating:coordinate", v.x, where + " vertex");
          value_element(vx, "gating:coordinate", v.y, where + " vertex");
        }
      } else if (const auto* e = std::get_if<EllipsoidGate>(&p.gate)) {
        write_ellipsoid(*e, id, name, p.parent, where);
      } else if (const auto* q = std::get_if<QuadrantGate>(&p.gate)) {
        if (written_quadrant_gates_.insert(q->quadrant_gate).second) write_quadrant_gate(p, *q);
      } else {
        write_boolean(std::get<BooleanGate>(p.gate), id, name, p.parent);
      }
    }
  }

  void write_ellipsoid(const EllipsoidGate& e, const std::string& id, const std::string& name,
                       const std::optional<std::string>& parent, const std::string& where) {
    pugi::xml_node g = gate_element("gating:EllipsoidGate", id, name, parent);
    const std::size_t n = e.dimensions.size();
    if (n < 2) fail(where + ": Gating-ML ellipsoids need at least 2 dimensions");
    for (const Dimension& d : e.dimensions) dimension(g.append_child("gating:dimension"), d, where);
    pugi::xml_node mean = g.append_child("gating:mean");
    for (const double m : e.mean) value_element(mean, "gating:coordinate", m, where + " mean");
    pugi::xml_node cov = g.append_child("gating:covarianceMatrix");
    for (std::size_t i = 0; i < n; ++i) {
      pugi::xml_node row = cov.append_child("gating:row");
      for (std::size_t j = 0; j < n; ++j)
        value_element(row, "gating:entry", e.covariance.at(i * n + j), where + " covariance");
    }
    value_element(g, "gating:distanceSquare", e.distance_square, where + " distanceSquare");
  }

  void write_boolean(const BooleanGate& b, const std::string& id, const std::string& name,
                     const std::optional<std::string>& parent) {
    pugi::xml_node g = gate_element("gating:BooleanGate", id, name, parent);
    const char* op = b.op == BooleanGate::Op::and_  ? "gating:and"
                     : b.op == BooleanGate::Op::or_ ? "gating:or"
                                                    : "gating:not";
    pugi::xml_node o = g.append_child(op);
    for (const BooleanGate::Operand& operand : b.operands) {
      pugi::xml_node r = o.append_child("gating:gateReference");
      set(r, "gating:ref", population_ids_.at(operand.ref));
      if (operand.complement) set(r, "gating:use-as-complement", "true");
    }
  }

  /// The whole QuadrantGate of `first` (its first quadrant in population order): its quadrants
  /// must agree on dividers and parent, as they came from one Gating-ML element.
  void write_quadrant_gate(const Population& first, const QuadrantGate& q) {
    const std::string where = "quadrant gate '" + q.quadrant_gate + "'";
    std::vector<const Population*> members;
    for (const Population& p : s_.populations) {
      const auto* other = std::get_if<QuadrantGate>(&p.gate);
      if (other == nullptr || other->quadrant_gate != q.quadrant_gate) continue;
      if (!same_dividers(other->dividers, q.dividers)) {
        fail(where + ": quadrants '" + first.id + "' and '" + p.id + "' have different dividers");
      }
      if (p.parent != first.parent)
        fail(where + ": quadrants '" + first.id + "' and '" + p.id + "' have different parents");
      members.push_back(&p);
    }
    pugi::xml_node g = gate_element("gating:QuadrantGate", quadrant_ids_.at(q.quadrant_gate), {}, first.parent);
    std::vector<std::string> divider_ids;
    for (const QuadrantDivider& d : q.dividers) {
      if (d.values.empty()) fail(where + ": divider '" + d.id + "' has no values");
      divider_ids.push_back(ids_.take(d.id.empty() ? "divider" : d.id));
      pugi::xml_node el = g.append_child("gating:divider");
      set(el, "gating:id", divider_ids.back());
      dimension(el, d.dimension, where);
      for (const double v : d.values) {
        el.append_child("gating:value").text().set(xsd_double(v, where + " divider value").c_str());
      }
    }
    for (const Population* p : members) {
      const auto& quadrant = std::get<QuadrantGate>(p->gate);
      pugi::xml_node el = g.append_child("gating:Quadrant");
      const std::string& id = population_ids_.at(p->id);
      set(el, "gating:id", id);
      const std::string name = id != p->id && p->name == p->id ? p->id : p->name;
      if (!name.empty() && name != id) set(el, "gating:name", name);
      if (quadrant.positions.empty()) fail("population '" + p->id + "': a quadrant needs at least one position");
      for (const QuadrantGate::Position& pos : quadrant.positions) {
        if (pos.divider >= divider_ids.size()) fail("population '" + p->id + "': position refers to no divider");
        pugi::xml_node pe = el.append_child("gating:position");
        set(pe, "gating:divider_ref", divider_ids[pos.divider]);
        set(pe, "gating:location", xsd_double(pos.location, "population '" + p->id + "' location"));
      }
    }
  }

  const GatingStrategy& s_;
  pugi::xml_document doc_;
  pugi::xml_node root_;
  IdAllocator ids_;
  std::map<std::string, std::string> population_ids_;
  std::map<std::string, std::string> quadrant_ids_;
  std::map<std::string, std::string> matrix_ids_;
  std::map<std::string, std::string> transform_ids_;
  std::vector<std::pair<RatioDimension, std::string>> ratio_ids_;
  std::set<std::string> written_quadrant_gates_;
};

}  // namespace

std::string write_gatingml(const GatingStrategy& strategy) { return Writer(strategy).write(); }

}  // namespace flowmrd::gating
