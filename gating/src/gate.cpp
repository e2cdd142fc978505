// SPDX-License-Identifier: Apache-2.0
#include "flowmrd/gating/gate.hpp"

namespace flowmrd::gating {

std::string Dimension::label() const {
  std::string out;
  if (ratio) {
    out = "ratio " + ratio->id + "(" + ratio->numerator + ", " + ratio->denominator + ")";
  } else {
    out = channel;
  }
  out += " [" + compensation;
  if (!transform.empty()) out += ", " + transform;
  out += "]";
  return out;
}

const char* gate_kind_name(const Gate& gate) noexcept {
  switch (gate.index()) {
    case 0: return "rectangle";
    case 1: return "polygon";
    case 2: return "ellipsoid";
    case 3: return "quadrant";
    default: return "boolean";
  }
}

std::vector<Dimension> gate_dimensions(const Gate& gate) {
  if (const auto* r = std::get_if<RectangleGate>(&gate)) return r->dimensions;
  if (const auto* p = std::get_if<PolygonGate>(&gate)) return {p->x, p->y};
  if (const auto* e = std::get_if<EllipsoidGate>(&gate)) return e->dimensions;
  if (const auto* q = std::get_if<QuadrantGate>(&gate)) {
    std::vector<Dimension> dims;
    for (const auto& pos : q->positions) dims.push_back(q->dividers.at(pos.divider).dimension);
    return dims;
  }
  return {};
}

}  // namespace flowmrd::gating
