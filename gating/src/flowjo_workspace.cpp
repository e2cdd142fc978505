// SPDX-License-Identifier: Apache-2.0
// FlowJo 10 workspace (.wsp) import. Each <Sample> of the <SampleList> carries everything its
// analysis needs: the DataSet uri, the spillover matrices, one transform per parameter
// (<Transformations>), FlowJo's keywords and the complete gate tree under <SampleNode>. Group
// templates (<Groups>) and the workspace-wide <Matrices> are copies of what the samples hold and
// are not read.
//
// FlowJo stores gate coordinates in data units (compensated where the dimension name carries the
// matrix prefix, e.g. "Comp-CD3 APC-H7 FLR-A"), except ellipses, which it stores as foci and edge
// points on its 256 x 256 display grid. flowmrd's gates live in transformed space (Gating-ML), so
// every coordinate goes through the sample's transform of its dimension here; see docs/flowjo.md.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "fcs/sha256.hpp"
#include "flowjo_xml.hpp"
#include "flowmrd/gating/flowjo.hpp"

namespace flowmrd::gating {

namespace flowjo_detail {

namespace {

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

std::optional<double> parse_double(std::string_view text) {
  std::string t = trim(text);
  std::string_view v = t;
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);  // from_chars rejects a leading '+'
  double out = 0.0;
  const auto* end = v.data() + v.size();
  const auto [ptr, ec] = std::from_chars(v.data(), end, out);
  if (ec != std::errc{} || ptr != end || v.empty() || !std::isfinite(out)) return std::nullopt;
  return out;
}

}  // namespace

XmlDocument::XmlDocument(const std::filesystem::path& path) : path_(path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw GatingError(path.string() + ": cannot open the file");
  bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) throw GatingError(path.string() + ": read error");
  lines_ = LineIndex(bytes_);
  const auto result = doc_.load_buffer(bytes_.data(), bytes_.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!result) {
    const auto line = lines_.line(std::max<std::ptrdiff_t>(result.offset, 0));
    throw GatingError(path.string() + ":" + std::to_string(line) + ": not well-formed XML: " + result.description());
  }
  // Bind the prefixes the root declares for the Gating-ML namespaces (FlowJo's own are the defaults).
  for (const auto& a : root().attributes()) {
    const std::string_view name = a.name();
    if (name.substr(0, 6) != "xmlns:") continue;
    const std::string prefix = std::string(name.substr(6)) + ":";
    const std::string_view uri = a.value();
    if (uri == kGatingNs) gating_ = prefix;
    if (uri == kTransformsNs) transforms_ = prefix;
    if (uri == kDataTypeNs) data_type_ = prefix;
  }
}

std::string XmlDocument::sha256() const {
  return fcs::sha256_hex(std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes_.data()), bytes_.size()));
}

std::size_t XmlDocument::line(const pugi::xml_node& node) const {
  return lines_.line(node.offset_debug());
}

void XmlDocument::fail(const pugi::xml_node& node, const std::string& reason) const {
  std::string where = path_.string();
  if (const auto l = line(node); l > 0) where += ":" + std::to_string(l);
  throw GatingError(where + ": " + node.name() + ": " + reason);
}

std::optional<std::string> XmlDocument::text(const pugi::xml_node& node, const std::string& attr) {
  const auto a = node.attribute(attr.c_str());
  if (!a) return std::nullopt;
  return std::string(a.value());
}

std::string XmlDocument::required_text(const pugi::xml_node& node, const std::string& attr) const {
  auto t = text(node, attr);
  if (!t) fail(node, "attribute '" + attr + "' is missing");
  return *t;
}

std::optional<double> XmlDocument::number(const pugi::xml_node& node, const std::string& attr) const {
  const auto t = text(node, attr);
  if (!t) return std::nullopt;
  const auto v = parse_double(*t);
  if (!v) fail(node, "attribute '" + attr + "' is not a finite number: '" + *t + "'");
  return v;
}

double XmlDocument::required_number(const pugi::xml_node& node, const std::string& attr) const {
  const auto v = number(node, attr);
  if (!v) fail(node, "attribute '" + attr + "' is missing");
  return *v;
}

std::optional<long long> XmlDocument::integer(const pugi::xml_node& node, const std::string& attr) const {
  const auto t = text(node, attr);
  if (!t) return std::nullopt;
  const std::string v = trim(*t);
  long long out = 0;
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc{} || ptr != v.data() + v.size() || v.empty()) {
    fail(node, "attribute '" + attr + "' is not an integer: '" + *t + "'");
  }
  return out;
}

std::vector<pugi::xml_node> XmlDocument::elements(const pugi::xml_node& node) {
  std::vector<pugi::xml_node> out;
  for (const auto& c : node.children()) {
    if (c.type() == pugi::node_element) out.push_back(c);
  }
  return out;
}

std::vector<pugi::xml_node> XmlDocument::elements(const pugi::xml_node& node, const std::string& name) {
  std::vector<pugi::xml_node> out;
  for (const auto& c : node.children(name.c_str())) out.push_back(c);
  return out;
}

}  // namespace flowjo_detail

namespace {

using flowjo_detail::XmlDocument;
namespace fs = std::filesystem;

/// FlowJo's biex always has 4096 channels; its display shows them in 256 bins.
constexpr double kBiexChannels = 4096.0;
constexpr double kDisplayBins = 256.0;

/// A spillover matrix of one sample and how FlowJo names its outputs (prefix + detector + suffix).
struct MatrixRef {
  std::string id;
  std::string prefix;
  std::string suffix;
  std::vector<std::string> detectors;
};

/// A transform as this sample uses it, with the affine map from FlowJo's 256-bin display
/// coordinate p to the transformed value: t = scale * p + offset (used for ellipses only).
struct SampleTransform {
  std::string id;
  Transform transform;
  double display_scale = 0.0;
  double display_offset = 0.0;
};

/// One dimension of a gate, resolved against the sample's matrices and transforms.
struct ResolvedDim {
  Dimension dim;
  const SampleTransform* transform = nullptr;  // nullptr: no transform (identity)
};

/// A population as read, before boolean references are resolved.
struct NodeInfo {
  std::size_t index = 0;                 // in strategy.populations
  std::string name_path;                 // FlowJo's "A/B/C"
  std::string parent_path;               // "" at the root
  std::optional<long long> count;        // FlowJo's `count` attribute
  std::optional<std::size_t> parent;     // NodeInfo index
  pugi::xml_node element;
  std::vector<pugi::xml_node> dependents;  // boolean nodes: the <Dependent> elements
};

std::string uri_file_name(const std::string& uri) {
  std::string path = uri;
  if (const auto q = path.find_first_of("?#"); q != std::string::npos) path.resize(q);
  const auto slash = path.find_last_of("/\\");
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  // Percent-decoding: FlowJo writes spaces and other characters as %XX.
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '%' && i + 2 < name.size()) {
      int v = 0;
      const auto [ptr, ec] = std::from_chars(name.data() + i + 1, name.data() + i + 3, v, 16);
      if (ec == std::errc{} && ptr == name.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += name[i];
  }
  return out;
}

/// Reads one <Sample> into a WorkspaceSample.
class SampleReader {
 public:
  SampleReader(const XmlDocument& doc, pugi::xml_node sample) : doc_(doc), sample_(sample) {}

  WorkspaceSample read() {
    WorkspaceSample out;
    const auto dataset = sample_.child("DataSet");
    const auto node = sample_.child("SampleNode");
    if (!node) doc_.fail(sample_, "no <SampleNode> (the sample's gate tree)");
    out.uri = dataset ? XmlDocument::text(dataset, "uri").value_or("") : "";
    out.id = XmlDocument::text(node, "sampleID").value_or(dataset ? XmlDocument::text(dataset, "sampleID").value_or("") : "");
    out.name = XmlDocument::text(node, "name").value_or(uri_file_name(out.uri));
    out.event_count = event_count(node);

    read_matrices(out.strategy);
    index_transforms();

    if (const auto subs = node.child("Subpopulations")) walk(subs, std::nullopt, "", out.strategy);
    resolve_booleans(out.strategy);
    out.stored_counts = stored_counts(out.strategy, out.event_count);

    try {
      out.strategy.validate();
    } catch (const GatingError& e) {
      doc_.fail(node, std::string("sample '") + out.name + "': " + e.what());
    }
    return out;
  }

 private:
  // --- sample facts ---------------------------------------------------------------------------

  std::optional<std::size_t> event_count(const pugi::xml_node& node) const {
    if (const auto c = doc_.integer(node, "count"); c && *c >= 0) return static_cast<std::size_t>(*c);
    // No count on the node: FlowJo's copy of $TOT.
    for (const auto& kw : sample_.child("Keywords").children("Keyword")) {
      if (std::string_view(kw.attribute("name").value()) == "$TOT") {
        if (const auto t = doc_.integer(kw, "value"); t && *t >= 0) return static_cast<std::size_t>(*t);
      }
    }
    return std::nullopt;
  }

  // --- compensation ---------------------------------------------------------------------------

  void read_matrices(GatingStrategy& strategy) {
    for (const auto& m : XmlDocument::elements(sample_, doc_.transforms("spilloverMatrix"))) {
      MatrixRef ref;
      ref.id = doc_.required_text(m, "name");
      ref.prefix = XmlDocument::text(m, "prefix").value_or("");
      ref.suffix = XmlDocument::text(m, "suffix").value_or("");
      if (XmlDocument::text(m, "spectral").value_or("0") != "0") {
        doc_.fail(m, "spectral matrices (spectral=\"1\", unmixing) are not supported; only conventional spillover matrices");
      }
      if (strategy.compensations.contains(ref.id)) doc_.fail(m, "a second spillover matrix named '" + ref.id + "' in one sample");
      const auto params = m.child(doc_.data_type("parameters").c_str());
      if (!params) doc_.fail(m, "no <" + doc_.data_type("parameters") + "> list");
      for (const auto& p : XmlDocument::elements(params, doc_.data_type("parameter"))) {
        ref.detectors.push_back(doc_.required_text(p, doc_.data_type("name")));
      }
      if (ref.detectors.empty()) doc_.fail(m, "the matrix names no parameters");
      const std::size_t n = ref.detectors.size();
      std::vector<double> values(n * n, std::numeric_limits<double>::quiet_NaN());
      std::vector<bool> row_seen(n, false);
      for (const auto& row : XmlDocument::elements(m, doc_.transforms("spillover"))) {
        const std::size_t r = detector_index(ref, row, doc_.required_text(row, doc_.data_type("parameter")));
        if (row_seen[r]) doc_.fail(row, "second row for parameter '" + ref.detectors[r] + "'");
        row_seen[r] = true;
        for (const auto& co : XmlDocument::elements(row, doc_.transforms("coefficient"))) {
          const std::size_t c = detector_index(ref, co, doc_.required_text(co, doc_.data_type("parameter")));
          values[r * n + c] = doc_.required_number(co, doc_.transforms("value"));
        }
        for (std::size_t c = 0; c < n; ++c) {
          if (std::isnan(values[r * n + c])) doc_.fail(row, "no coefficient for parameter '" + ref.detectors[c] + "'");
        }
      }
      for (std::size_t r = 0; r < n; ++r) {
        if (!row_seen[r]) doc_.fail(m, "no <" + doc_.transforms("spillover") + "> row for parameter '" + ref.detectors[r] + "'");
      }
      try {
        CompensationSource source{CompensationSource::Kind::flowjo, doc_.path().string() + "#" + ref.id, doc_.sha256()};
        strategy.compensations.emplace(ref.id, Compensation(ref.detectors, std::move(values), std::move(source)));
      } catch (const CompensationError& e) {
        doc_.fail(m, std::string("matrix '") + ref.id + "': " + e.what());
      }
      matrices_.push_back(std::move(ref));
    }
  }

  std::size_t detector_index(const MatrixRef& m, const pugi::xml_node& where, const std::string& name) const {
    const auto it = std::find(m.detectors.begin(), m.detectors.end(), name);
    if (it == m.detectors.end()) doc_.fail(where, "parameter '" + name + "' is not in the matrix's parameter list");
    return static_cast<std::size_t>(it - m.detectors.begin());
  }

  // --- transforms -----------------------------------------------------------------------------

  void index_transforms() {
    const auto list = sample_.child("Transformations");
    for (const auto& t : XmlDocument::elements(list)) {
      const auto p = t.child(doc_.data_type("parameter").c_str());
      if (!p) doc_.fail(t, "no <" + doc_.data_type("parameter") + "> naming the channel");
      const std::string name = doc_.required_text(p, doc_.data_type("name"));
      if (transform_elements_.contains(name)) doc_.fail(t, "a second transform for parameter '" + name + "'");
      transform_elements_.emplace(name, t);
    }
  }

  /// The transform FlowJo uses for a gate dimension: the entry for the name as the gate writes it
  /// ("Comp-X"), else for the bare channel ("X"); nullptr when the sample has neither.
  const SampleTransform* transform_for(const std::string& gate_name, const std::string& channel, GatingStrategy& strategy) {
    std::string key = gate_name;
    if (!transform_elements_.contains(key)) key = channel;
    const auto el = transform_elements_.find(key);
    if (el == transform_elements_.end()) return nullptr;
    if (const auto done = transforms_.find(key); done != transforms_.end()) return done->second.get();
    auto st = std::make_unique<SampleTransform>(parse_transform(el->second, key));
    strategy.transforms[st->id] = st->transform.spec();
    return transforms_.emplace(key, std::move(st)).first->second.get();
  }

  SampleTransform parse_transform(const pugi::xml_node& el, const std::string& id) const {
    const std::string kind = local_name(el, doc_.transforms(""));
    const auto attr = [&](const char* n) { return doc_.transforms(n); };
    TransformSpec spec;
    double scale = 1.0 / kDisplayBins;  // display bins span the transform's 0..1 output
    double offset = 0.0;
    if (kind == "linear") {
      // FlowJo's linear axis runs from minRange to maxRange. flin(T, A) maps [-A, T] to [0, 1]:
      // A = minRange follows FlowKit and its Gating-ML export for minRange >= 0 (e.g. Time); a
      // negative minRange becomes A = -minRange so the axis maps exactly onto [0, 1].
      const double lo = doc_.required_number(el, attr("minRange"));
      const double hi = doc_.required_number(el, attr("maxRange"));
      if (hi <= lo) doc_.fail(el, "maxRange must be above minRange");
      const double a = lo >= 0.0 ? lo : -lo;
      spec = TransformSpec{TransformKind::flin, {{"T", hi}, {"A", a}}};
      // Display bin p is the data value lo + p (hi - lo) / 256; flin is affine in it.
      scale = (hi - lo) / kDisplayBins / (hi + a);
      offset = (lo + a) / (hi + a);
    } else if (kind == "log") {
      // FlowJo: (log10(x) - log10(offset)) / decades, i.e. Gating-ML flog with T = offset 10^decades
      // and M = decades (FlowJo clamps x below `offset` to it; flog does not, see docs/flowjo.md).
      const double off = doc_.required_number(el, attr("offset"));
      const double dec = doc_.required_number(el, attr("decades"));
      spec = TransformSpec{TransformKind::flog, {{"T", off * std::pow(10.0, dec)}, {"M", dec}}};
    } else if (kind == "logicle") {
      spec = TransformSpec{TransformKind::logicle,
                           {{"T", doc_.required_number(el, attr("T"))},
                            {"W", doc_.required_number(el, attr("W"))},
                            {"M", doc_.required_number(el, attr("M"))},
                            {"A", doc_.required_number(el, attr("A"))}}};
    } else if (kind == "fasinh") {
      // FlowJo's ArcSinh stores T, M, A plus display settings (length, maxRange, W); the scale
      // itself is Gating-ML fasinh(T, M, A) (checked against FlowJo's counts in the tests).
      spec = TransformSpec{TransformKind::fasinh,
                           {{"T", doc_.required_number(el, attr("T"))},
                            {"M", doc_.required_number(el, attr("M"))},
                            {"A", doc_.required_number(el, attr("A"))}}};
    } else if (kind == "biex") {
      if (const auto len = doc_.number(el, attr("length")); len && *len != kDisplayBins) {
        doc_.fail(el, "biex with length=" + XmlDocument::text(el, attr("length")).value_or("") +
                          " is not supported (FlowJo's biex table has 4096 channels shown in 256 bins; length must be 256)");
      }
      spec = TransformSpec{TransformKind::biex,
                           {{"negative", doc_.required_number(el, attr("neg"))},
                            {"width", doc_.required_number(el, attr("width"))},
                            {"positive", doc_.required_number(el, attr("pos"))},
                            {"max", doc_.required_number(el, attr("maxRange"))}}};
      scale = kBiexChannels / kDisplayBins;
    } else {
      doc_.fail(el, "transform '" + kind + "' is not supported (supported: linear, log, logicle, fasinh, biex)");
    }
    try {
      return SampleTransform{id, Transform(spec), scale, offset};
    } catch (const TransformError& e) {
      doc_.fail(el, e.what());
    }
  }

  static std::string local_name(const pugi::xml_node& el, const std::string& prefix) {
    std::string_view n = el.name();
    if (n.substr(0, prefix.size()) == prefix) n.remove_prefix(prefix.size());
    return std::string(n);
  }

  // --- dimensions -----------------------------------------------------------------------------

  ResolvedDim resolve_dimension(const pugi::xml_node& dim_el, GatingStrategy& strategy) {
    for (const char* ref : {"compensation-ref", "transformation-ref"}) {
      if (dim_el.attribute(doc_.gating(ref).c_str())) {
        doc_.fail(dim_el, "gating:" + std::string(ref) +
                              " on a FlowJo gate dimension is not supported (FlowJo takes compensation and transform from the sample)");
      }
    }
    const auto fcs_dim = dim_el.child(doc_.data_type("fcs-dimension").c_str());
    if (!fcs_dim) {
      if (dim_el.child(doc_.data_type("new-dimension").c_str())) {
        doc_.fail(dim_el, "derived (ratio) dimensions are not supported in FlowJo workspaces");
      }
      doc_.fail(dim_el, "no <" + doc_.data_type("fcs-dimension") + "> naming the channel");
    }
    const std::string name = doc_.required_text(fcs_dim, doc_.data_type("name"));
    ResolvedDim out;
    out.dim.channel = name;
    out.dim.compensation = kUncompensated;
    // "Comp-X" is channel X through the matrix whose prefix/suffix frame it and that lists X.
    const MatrixRef* hit = nullptr;
    std::string channel;
    for (const auto& m : matrices_) {
      if (name.size() <= m.prefix.size() + m.suffix.size()) continue;
      if (name.compare(0, m.prefix.size(), m.prefix) != 0) continue;
      if (name.compare(name.size() - m.suffix.size(), m.suffix.size(), m.suffix) != 0) continue;
      const std::string bare = name.substr(m.prefix.size(), name.size() - m.prefix.size() - m.suffix.size());
      if (std::find(m.detectors.begin(), m.detectors.end(), bare) == m.detectors.end()) continue;
      if (hit != nullptr) {
        doc_.fail(dim_el, "channel '" + name + "' matches two spillover matrices ('" + hit->id + "' and '" + m.id + "')");
      }
      hit = &m;
      channel = bare;
    }
    if (hit != nullptr) {
      out.dim.channel = channel;
      out.dim.compensation = hit->id;
    }
    out.transform = transform_for(name, out.dim.channel, strategy);
    if (out.transform != nullptr) out.dim.transform = out.transform->id;
    return out;
  }

  std::vector<ResolvedDim> dimensions(const pugi::xml_node& gate_el, GatingStrategy& strategy) {
    std::vector<ResolvedDim> dims;
    for (const auto& d : XmlDocument::elements(gate_el, doc_.gating("dimension"))) dims.push_back(resolve_dimension(d, strategy));
    if (dims.empty()) doc_.fail(gate_el, "the gate has no dimensions");
    return dims;
  }

  static double to_transformed(const ResolvedDim& d, double raw) {
    return d.transform != nullptr ? d.transform->transform.apply(raw) : raw;
  }

  std::vector<double> coordinates(const pugi::xml_node& vertex, std::size_t expected) const {
    std::vector<double> out;
    for (const auto& c : XmlDocument::elements(vertex, doc_.gating("coordinate"))) {
      out.push_back(doc_.required_number(c, doc_.data_type("value")));
    }
    if (out.size() != expected) {
      doc_.fail(vertex, "a vertex with " + std::to_string(out.size()) + " coordinates where the gate has " +
                            std::to_string(expected) + " dimensions");
    }
    return out;
  }

  // --- gates ----------------------------------------------------------------------------------

  Gate read_gate(const pugi::xml_node& gate_el, GatingStrategy& strategy) {
    if (const auto inside = doc_.integer(gate_el, "eventsInside"); inside && *inside != 1) {
      doc_.fail(gate_el, "eventsInside=\"" + std::to_string(*inside) +
                             "\" (a gate that keeps the events outside its shape) is not supported");
    }
    const std::string kind = local_name(gate_el, doc_.gating(""));
    if (kind == "RectangleGate") return rectangle(gate_el, strategy);
    if (kind == "PolygonGate") return polygon(gate_el, strategy);
    if (kind == "EllipsoidGate") return ellipse(gate_el, strategy);
    doc_.fail(gate_el, "gate type '" + kind + "' is not supported in FlowJo workspaces (supported: RectangleGate, "
                       "PolygonGate, EllipsoidGate, and FlowJo's AndNode/OrNode/NotNode boolean populations)");
  }

  Gate rectangle(const pugi::xml_node& gate_el, GatingStrategy& strategy) {
    RectangleGate g;
    const auto dim_els = XmlDocument::elements(gate_el, doc_.gating("dimension"));
    for (const auto& d : dim_els) {
      ResolvedDim rd = resolve_dimension(d, strategy);
      Interval iv;
      if (const auto lo = doc_.number(d, doc_.gating("min"))) iv.min = bound(rd, *lo, false);
      if (const auto hi = doc_.number(d, doc_.gating("max"))) iv.max = bound(rd, *hi, true);
      g.dimensions.push_back(std::move(rd.dim));
      g.ranges.push_back(iv);
    }
    if (g.dimensions.empty()) doc_.fail(gate_el, "the gate has no dimensions");
    return g;
  }

  /// A rectangle side in transformed space. A side the transform cannot place (flog of a value
  /// <= 0) or that lies at or beyond the top of biex's clipped 0..4096 range is left open: FlowJo
  /// keeps the events piled up at the axis ends inside a gate drawn past them.
  static std::optional<double> bound(const ResolvedDim& d, double raw, bool is_max) {
    const double t = to_transformed(d, raw);
    if (!std::isfinite(t)) return std::nullopt;
    if (is_max && d.transform != nullptr && d.transform->transform.spec().kind == TransformKind::biex && t >= kBiexChannels) {
      return std::nullopt;
    }
    return t;
  }

  Gate polygon(const pugi::xml_node& gate_el, GatingStrategy& strategy) {
    auto dims = dimensions(gate_el, strategy);
    if (dims.size() != 2) doc_.fail(gate_el, "a polygon needs 2 dimensions, found " + std::to_string(dims.size()));
    PolygonGate g;
    for (const auto& v : XmlDocument::elements(gate_el, doc_.gating("vertex"))) {
      const auto c = coordinates(v, 2);
      const Point p{to_transformed(dims[0], c[0]), to_transformed(dims[1], c[1])};
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
        doc_.fail(v, "vertex (" + std::to_string(c[0]) + ", " + std::to_string(c[1]) +
                         ") is outside the domain of the dimension's transform");
      }
      g.vertices.push_back(p);
    }
    if (g.vertices.size() < 3) doc_.fail(gate_el, "a polygon needs at least 3 vertices, found " + std::to_string(g.vertices.size()));
    g.x = std::move(dims[0].dim);
    g.y = std::move(dims[1].dim);
    return g;
  }

  /// FlowJo's ellipse: two foci and four edge points (two ends of the major axis, two of the
  /// minor), all on the 256 x 256 display grid. The major semi-axis a is the mean distance of the
  /// two edge points farthest from the centre; the minor one follows from the foci,
  /// b^2 = a^2 - c^2 (FlowJo's minor-axis points are rounded to the grid and less reliable).
  /// The display is affine in each transformed axis, so the ellipse stays an ellipse there.
  Gate ellipse(const pugi::xml_node& gate_el, GatingStrategy& strategy) {
    auto dims = dimensions(gate_el, strategy);
    if (dims.size() != 2) doc_.fail(gate_el, "a FlowJo ellipse needs 2 dimensions, found " + std::to_string(dims.size()));
    for (const auto& d : dims) {
      if (d.transform == nullptr) {
        doc_.fail(gate_el, "the sample has no transform for channel '" + d.dim.channel +
                               "', so the ellipse's display coordinates cannot be placed");
      }
    }
    const auto points = [&](const char* what, std::size_t n) {
      const auto el = gate_el.child(doc_.gating(what).c_str());
      if (!el) doc_.fail(gate_el, "no <" + doc_.gating(what) + ">");
      std::vector<std::array<double, 2>> out;
      for (const auto& v : XmlDocument::elements(el, doc_.gating("vertex"))) {
        const auto c = coordinates(v, 2);
        out.push_back({c[0], c[1]});
      }
      if (out.size() != n) doc_.fail(el, "expected " + std::to_string(n) + " vertices, found " + std::to_string(out.size()));
      return out;
    };
    const auto foci = points("foci", 2);
    const auto edge = points("edge", 4);

    const double cx = (foci[0][0] + foci[1][0]) / 2.0;
    const double cy = (foci[0][1] + foci[1][1]) / 2.0;
    const double c = std::hypot(foci[1][0] - foci[0][0], foci[1][1] - foci[0][1]) / 2.0;
    std::array<double, 4> dist{};
    for (std::size_t i = 0; i < 4; ++i) dist[i] = std::hypot(edge[i][0] - cx, edge[i][1] - cy);
    std::array<double, 4> sorted = dist;
    std::sort(sorted.begin(), sorted.end());
    const double a = (sorted[2] + sorted[3]) / 2.0;
    if (!(a > c) || !(a > 0.0)) {
      doc_.fail(gate_el, "degenerate ellipse: the edge points are not farther from the centre than the foci");
    }
    const double b = std::sqrt(a * a - c * c);
    // Major-axis direction: through the foci; for a circle (coincident foci) any direction.
    double ux = 1.0;
    double uy = 0.0;
    if (c > 0.0) {
      ux = (foci[1][0] - foci[0][0]) / (2.0 * c);
      uy = (foci[1][1] - foci[0][1]) / (2.0 * c);
    }
    // Display-space covariance D = a^2 u u' + b^2 v v' (v = u rotated by 90 degrees), so that
    // (p - centre)' D^-1 (p - centre) <= 1 is the ellipse.
    const double a2 = a * a;
    const double b2 = b * b;
    const double dxx = a2 * ux * ux + b2 * uy * uy;
    const double dyy = a2 * uy * uy + b2 * ux * ux;
    const double dxy = (a2 - b2) * ux * uy;
    // Into transformed space: t = s p + o per axis.
    const double sx = dims[0].transform->display_scale;
    const double sy = dims[1].transform->display_scale;
    EllipsoidGate g;
    g.mean = {sx * cx + dims[0].transform->display_offset, sy * cy + dims[1].transform->display_offset};
    g.covariance = {sx * sx * dxx, sx * sy * dxy, sx * sy * dxy, sy * sy * dyy};
    g.distance_square = 1.0;
    for (auto& d : dims) g.dimensions.push_back(std::move(d.dim));
    return g;
  }

  // --- the tree -------------------------------------------------------------------------------

  std::string unique_id(std::string id) {
    if (used_ids_.insert(id).second) return id;
    for (int k = 2;; ++k) {
      std::string alt = id + "#" + std::to_string(k);
      if (used_ids_.insert(alt).second) return alt;
    }
  }

  void walk(const pugi::xml_node& subpops, std::optional<std::size_t> parent, const std::string& parent_path,
            GatingStrategy& strategy) {
    for (const auto& el : XmlDocument::elements(subpops)) {
      const std::string_view tag = el.name();
      if (tag == "Statistic") continue;  // a statistic shown in the tree, not a population
      BooleanGate::Op op{};
      const bool is_boolean = tag == "AndNode" || tag == "OrNode" || tag == "NotNode";
      if (tag == "AndNode") op = BooleanGate::Op::and_;
      if (tag == "OrNode") op = BooleanGate::Op::or_;
      if (tag == "NotNode") op = BooleanGate::Op::not_;
      if (!is_boolean && tag != "Population") {
        doc_.fail(el, "unsupported node in <Subpopulations> (supported: Population, AndNode, OrNode, NotNode; Statistic is skipped)");
      }
      const std::string name = doc_.required_text(el, "name");
      NodeInfo info;
      info.name_path = parent_path.empty() ? name : parent_path + "/" + name;
      info.parent_path = parent_path;
      info.parent = parent;
      info.element = el;
      info.count = doc_.integer(el, "count");

      const auto gate_holder = el.child("Gate");
      std::string id = XmlDocument::text(gate_holder, doc_.gating("id")).value_or("");
      Population pop;
      pop.name = name;
      if (parent) pop.parent = strategy.populations[nodes_[*parent].index].id;
      if (is_boolean) {
        // FlowJo's boolean node may carry a <Gate> copying an operand's shape for display; the
        // population is defined by <Dependents> alone (FlowJo's counts confirm it).
        const auto deps = el.child("Dependents");
        if (!deps) doc_.fail(el, "a boolean node without <Dependents>");
        for (const auto& d : deps.children("Dependent")) info.dependents.push_back(d);
        const std::size_t need = op == BooleanGate::Op::not_ ? 1 : 2;
        if ((op == BooleanGate::Op::not_ && info.dependents.size() != 1) || info.dependents.size() < need) {
          doc_.fail(deps, std::string(tag) + " needs " + (op == BooleanGate::Op::not_ ? "exactly one" : "at least two") +
                              " <Dependent>, found " + std::to_string(info.dependents.size()));
        }
        BooleanGate b;
        b.op = op;
        pop.gate = b;
      } else {
        if (!gate_holder) doc_.fail(el, "a population without <Gate>");
        const auto shapes = XmlDocument::elements(gate_holder);
        if (shapes.size() != 1) doc_.fail(gate_holder, "expected one gate element, found " + std::to_string(shapes.size()));
        if (id.empty()) id = XmlDocument::text(shapes[0], doc_.gating("id")).value_or("");
        pop.gate = read_gate(shapes[0], strategy);
      }
      // FlowJo's gate ids are unique in practice; booleans without a <Gate> have none, so their
      // path names them. Either way a clash gets a deterministic "#2", "#3" suffix.
      pop.id = unique_id(id.empty() ? info.name_path : id);
      info.index = strategy.populations.size();
      strategy.populations.push_back(std::move(pop));
      nodes_.push_back(std::move(info));
      const std::size_t me = nodes_.size() - 1;
      const std::string my_path = nodes_[me].name_path;  // a copy: the recursion grows nodes_
      for (const auto& sub : el.children("Subpopulations")) walk(sub, me, my_path, strategy);
    }
  }

  /// <Dependent name="A/B/C"> is a path of population names from the sample root (FlowJo 10);
  /// a path relative to the boolean node's parent is accepted too.
  void resolve_booleans(GatingStrategy& strategy) {
    std::map<std::string, std::vector<std::size_t>> by_path;
    for (std::size_t i = 0; i < nodes_.size(); ++i) by_path[nodes_[i].name_path].push_back(i);
    for (const auto& n : nodes_) {
      if (n.dependents.empty()) continue;
      auto& gate = std::get<BooleanGate>(strategy.populations[n.index].gate);
      for (const auto& d : n.dependents) {
        const std::string ref = doc_.required_text(d, "name");
        auto hit = by_path.find(ref);
        if (hit == by_path.end() && !n.parent_path.empty()) hit = by_path.find(n.parent_path + "/" + ref);
        if (hit == by_path.end()) doc_.fail(d, "no population '" + ref + "' in this sample");
        if (hit->second.size() > 1) doc_.fail(d, "'" + ref + "' names " + std::to_string(hit->second.size()) + " populations");
        gate.operands.push_back({strategy.populations[nodes_[hit->second.front()].index].id, false});
      }
    }
  }

  /// FlowJo's stored counts, without the ones that are not results: a missing or negative
  /// `count`; a 0 above a population with events (FlowJo did not compute it); and every 0 of a
  /// sample in which no population has a positive count (the workspace was saved without
  /// computing the sample).
  std::map<std::string, std::size_t> stored_counts(const GatingStrategy& strategy, std::optional<std::size_t> events) const {
    std::map<std::string, std::size_t> out;
    const bool any_positive = std::any_of(nodes_.begin(), nodes_.end(), [](const NodeInfo& n) { return n.count && *n.count > 0; });
    const bool uncomputed = !any_positive && events.value_or(0) > 0;
    std::vector<bool> has_positive_descendant(nodes_.size(), false);
    for (std::size_t i = nodes_.size(); i-- > 0;) {  // children come after their parents
      const auto& n = nodes_[i];
      if (n.parent && (has_positive_descendant[i] || (n.count && *n.count > 0))) has_positive_descendant[*n.parent] = true;
    }
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const auto& n = nodes_[i];
      if (!n.count || *n.count < 0) continue;
      if (*n.count == 0 && (uncomputed || has_positive_descendant[i])) continue;
      out[strategy.populations[n.index].id] = static_cast<std::size_t>(*n.count);
    }
    return out;
  }

  const XmlDocument& doc_;
  pugi::xml_node sample_;
  std::vector<MatrixRef> matrices_;
  std::map<std::string, pugi::xml_node> transform_elements_;
  std::map<std::string, std::unique_ptr<SampleTransform>> transforms_;
  std::vector<NodeInfo> nodes_;
  std::set<std::string> used_ids_;
};

/// FlowJo 10 writes flowJoVersion="10.x"; older workspaces (FlowJo 7/9) have another structure.
void check_version(const XmlDocument& doc, const pugi::xml_node& root, const std::string& version) {
  int major = 0;
  const auto [ptr, ec] = std::from_chars(version.data(), version.data() + version.size(), major);
  if (ec != std::errc{} || ptr == version.data()) {
    doc.fail(root, "no FlowJo version (attribute flowJoVersion); only FlowJo 10 workspaces are supported");
  }
  if (major < 10) {
    doc.fail(root, "FlowJo " + version + " workspace: only FlowJo 10 workspaces are supported (re-save it in FlowJo 10)");
  }
}

}  // namespace

const WorkspaceSample* Workspace::find_sample(const std::string& key) const noexcept {
  for (const auto& s : samples) {
    if (s.name == key || s.id == key) return &s;
  }
  for (const auto& s : samples) {
    if (!s.uri.empty() && uri_file_name(s.uri) == key) return &s;
  }
  return nullptr;
}

Workspace read_flowjo_workspace(const std::filesystem::path& path) {
  const XmlDocument doc(path);
  const auto root = doc.root();
  const std::string_view root_name = root.name();
  if (root_name == "bdfacs") {
    doc.fail(root, "this is a BD FACSDiva experiment export, not a FlowJo workspace: FACSDiva XML is not supported "
                   "(open the experiment's FCS files in FlowJo 10 and save a .wsp, or export Gating-ML)");
  }
  if (root_name != "Workspace") {
    doc.fail(root, "not a FlowJo workspace: the root element is <" + std::string(root_name) + ">, expected <Workspace>");
  }
  Workspace ws;
  ws.path = path;
  ws.flowjo_version = XmlDocument::text(root, "flowJoVersion").value_or("");
  check_version(doc, root, ws.flowjo_version);
  const auto list = root.child("SampleList");
  if (!list) doc.fail(root, "no <SampleList>");
  for (const auto& s : list.children("Sample")) ws.samples.push_back(SampleReader(doc, s).read());
  return ws;
}

fcs::ReadOptions flowjo_read_options() {
  fcs::ReadOptions o;
  o.transformation = fcs::Transformation::linearize;
  o.truncate_max_range = false;
  return o;
}

}  // namespace flowmrd::gating
