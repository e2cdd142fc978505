// SPDX-License-Identifier: Apache-2.0
// Comparison of recomputed population counts with the counts FlowJo stored in a workspace. The
// tolerance and the explanations follow how FlowJo counts: rectangle and boolean gates are exact
// comparisons of event values, so they must agree event for event; polygons and ellipses are
// evaluated by FlowJo on its binned display (256 x 256 grid), so events within a bin of the edge
// can fall either side. A difference also propagates from a parent (or a boolean operand) to
// everything computed from it; the explanation says where it comes from.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "flowmrd/gating/flowjo.hpp"

namespace flowmrd::gating {

namespace {

/// Allowed |difference|: 2 events or 0.5 % of FlowJo's count, whichever is larger.
double tolerance(std::size_t flowjo) { return std::max(2.0, 0.005 * static_cast<double>(flowjo)); }

std::string signed_events(long long d) {
  std::string out = d > 0 ? "+" : "";
  out += std::to_string(d);
  out += (d == 1 || d == -1) ? " event" : " events";
  return out;
}

std::string percent_text(double p) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(2);
  s << (p > 0 ? "+" : "") << p << " %";
  return s.str();
}

bool is_binned(const Gate& g) { return std::holds_alternative<PolygonGate>(g) || std::holds_alternative<EllipsoidGate>(g); }

class Comparer {
 public:
  Comparer(const WorkspaceSample& sample, const GatingResult& result) : sample_(sample), result_(result) {}

  std::vector<FlowJoCountRow> rows() {
    std::vector<FlowJoCountRow> out;
    out.reserve(sample_.strategy.populations.size());
    for (const auto& pop : sample_.strategy.populations) out.push_back(row(pop));
    return out;
  }

 private:
  FlowJoCountRow row(const Population& pop) {
    FlowJoCountRow r;
    r.id = pop.id;
    r.path = sample_.strategy.path(pop.id);
    r.gate_kind = gate_kind_name(pop.gate);
    r.recomputed = recomputed(pop.id);
    const auto stored = sample_.stored_counts.find(pop.id);
    if (stored == sample_.stored_counts.end()) {
      r.explanation = "FlowJo stored no count";
      return r;
    }
    r.flowjo = stored->second;
    r.difference = static_cast<long long>(r.recomputed) - static_cast<long long>(*r.flowjo);
    r.difference_percent = *r.flowjo > 0 ? 100.0 * static_cast<double>(r.difference) / static_cast<double>(*r.flowjo)
                                         : (r.difference == 0 ? 0.0 : 100.0);
    r.within_tolerance = std::abs(static_cast<double>(r.difference)) <= tolerance(*r.flowjo);
    if (r.difference != 0) r.explanation = explain(pop, r);
    return r;
  }

  std::size_t recomputed(const std::string& id) const {
    try {
      return result_.count(id).events;
    } catch (const GatingError&) {
      throw GatingError("compare_flowjo_counts: sample '" + sample_.name + "': population '" + id +
                        "' is not in the gating result (was it computed with this sample's strategy?)");
    }
  }

  /// Difference of a population against FlowJo, nullopt when FlowJo stored no count.
  std::optional<long long> difference(const std::string& id) const {
    const auto s = sample_.stored_counts.find(id);
    if (s == sample_.stored_counts.end()) return std::nullopt;
    return static_cast<long long>(recomputed(id)) - static_cast<long long>(s->second);
  }

  /// The populations a population's events are computed from: its parent and boolean operands.
  std::vector<std::string> inputs(const Population& pop) const {
    std::vector<std::string> out;
    if (pop.parent) out.push_back(*pop.parent);
    if (const auto* b = std::get_if<BooleanGate>(&pop.gate)) {
      for (const auto& o : b->operands) out.push_back(o.ref);
    }
    return out;
  }

  std::string explain(const Population& pop, const FlowJoCountRow& r) const {
    const std::string by = signed_events(r.difference) + " (" + percent_text(r.difference_percent) + ")";
    std::string why;
    // Inherited: an input already differs from FlowJo (or cannot be checked).
    std::vector<std::string> differing;
    for (const auto& in : inputs(pop)) {
      const auto d = difference(in);
      if (!d) {
        differing.push_back("'" + sample_.strategy.path(in) + "' (no FlowJo count to check)");
      } else if (*d != 0) {
        differing.push_back("'" + sample_.strategy.path(in) + "' (" + signed_events(*d) + ")");
      }
    }
    if (!differing.empty()) {
      why = "inherited from ";
      for (std::size_t i = 0; i < differing.size(); ++i) why += (i ? ", " : "") + differing[i];
      if (is_binned(pop.gate)) {
        why += ", plus this " + std::string(gate_kind_name(pop.gate)) + " evaluated by FlowJo on binned display data";
      }
    } else if (is_binned(pop.gate)) {
      why = std::string(gate_kind_name(pop.gate)) +
            " gate: FlowJo evaluates it on binned display data (256 x 256 grid), not on exact event coordinates, "
            "so events within a bin of the edge can fall either side";
    } else {
      why = "not explained: " + std::string(gate_kind_name(pop.gate)) +
            " gates compare event values exactly and every input matches FlowJo";
    }
    if (sample_.event_count && *sample_.event_count != result_.events()) {
      why += "; note: the data set has " + std::to_string(result_.events()) + " events, FlowJo's sample " +
             std::to_string(*sample_.event_count);
    }
    return by + ": " + why;
  }

  const WorkspaceSample& sample_;
  const GatingResult& result_;
};

}  // namespace

std::vector<FlowJoCountRow> compare_flowjo_counts(const WorkspaceSample& sample, const GatingResult& result) {
  return Comparer(sample, result).rows();
}

}  // namespace flowmrd::gating
