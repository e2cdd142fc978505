// SPDX-License-Identifier: Apache-2.0
#include "flowmrd/gating/strategy.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace flowmrd::gating {

const Population* GatingStrategy::find(const std::string& id) const noexcept {
  const auto i = index_of(id);
  return i ? &populations[*i] : nullptr;
}

std::optional<std::size_t> GatingStrategy::index_of(const std::string& id) const noexcept {
  for (std::size_t i = 0; i < populations.size(); ++i) {
    if (populations[i].id == id) return i;
  }
  return std::nullopt;
}

std::string GatingStrategy::path(const std::string& id) const {
  std::vector<const Population*> chain;
  const Population* p = find(id);
  if (p == nullptr) throw GatingError("unknown population '" + id + "'");
  // Bounded walk: a cycle (rejected by validate) must not hang a caller that skipped it.
  while (p != nullptr && chain.size() <= populations.size()) {
    chain.push_back(p);
    p = p->parent ? find(*p->parent) : nullptr;
  }
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if (!out.empty()) out += '/';
    out += (*it)->name;
  }
  return out;
}

namespace {

std::string where(const Population& p) { return std::string{"population '"} + p.id + "' (" + gate_kind_name(p.gate) + " gate)"; }

void check_dimension(const GatingStrategy& s, const Population& p, const Dimension& d) {
  if (d.ratio) {
    if (d.ratio->numerator.empty() || d.ratio->denominator.empty()) {
      throw GatingError(where(p) + ": ratio dimension '" + d.ratio->id + "' needs two channels");
    }
  } else if (d.channel.empty()) {
    throw GatingError(where(p) + ": a dimension has no channel name");
  }
  if (d.compensation != kUncompensated && d.compensation != kFileCompensation &&
      !s.compensations.contains(d.compensation)) {
    throw GatingError(where(p) + ": dimension " + d.label() + " refers to unknown compensation '" + d.compensation + "'");
  }
  if (!d.transform.empty() && !s.transforms.contains(d.transform)) {
    throw GatingError(where(p) + ": dimension " + d.label() + " refers to unknown transform '" + d.transform + "'");
  }
}

void check_finite(const Population& p, double v, const char* what) {
  if (!std::isfinite(v)) throw GatingError(where(p) + ": " + what + " is not a finite number");
}

void check_gate(const GatingStrategy& s, const Population& p) {
  for (const auto& d : gate_dimensions(p.gate)) check_dimension(s, p, d);
  if (const auto* r = std::get_if<RectangleGate>(&p.gate)) {
    if (r->dimensions.empty()) throw GatingError(where(p) + ": no dimensions");
    if (r->ranges.size() != r->dimensions.size()) {
      throw GatingError(where(p) + ": " + std::to_string(r->ranges.size()) + " ranges for " +
                        std::to_string(r->dimensions.size()) + " dimensions");
    }
    for (const auto& iv : r->ranges) {
      if (iv.min) check_finite(p, *iv.min, "a minimum");
      if (iv.max) check_finite(p, *iv.max, "a maximum");
    }
  } else if (const auto* poly = std::get_if<PolygonGate>(&p.gate)) {
    if (poly->vertices.size() < 3) {
      throw GatingError(where(p) + ": a polygon needs at least 3 vertices, found " + std::to_string(poly->vertices.size()));
    }
    for (const auto& v : poly->vertices) {
      check_finite(p, v.x, "a vertex coordinate");
      check_finite(p, v.y, "a vertex coordinate");
    }
  } else if (const auto* e = std::get_if<EllipsoidGate>(&p.gate)) {
    const std::size_t n = e->dimensions.size();
    if (n == 0) throw GatingError(where(p) + ": no dimensions");
    if (e->mean.size() != n || e->covariance.size() != n * n) {
      throw GatingError(where(p) + ": mean has " + std::to_string(e->mean.size()) + " and covariance " +
                        std::to_string(e->covariance.size()) + " values for " + std::to_string(n) + " dimensions");
    }
    for (double v : e->mean) check_finite(p, v, "a mean coordinate");
    for (double v : e->covariance) check_finite(p, v, "a covariance entry");
    check_finite(p, e->distance_square, "distance_square");
    if (e->distance_square < 0) throw GatingError(where(p) + ": distance_square is negative");
  } else if (const auto* q = std::get_if<QuadrantGate>(&p.gate)) {
    if (q->positions.empty()) throw GatingError(where(p) + ": a quadrant needs at least one position");
    for (const auto& pos : q->positions) {
      if (pos.divider >= q->dividers.size()) throw GatingError(where(p) + ": a position refers to a missing divider");
      check_finite(p, pos.location, "a quadrant location");
    }
    for (const auto& div : q->dividers) {
      if (div.values.empty()) throw GatingError(where(p) + ": divider '" + div.id + "' has no values");
      if (!std::is_sorted(div.values.begin(), div.values.end())) {
        throw GatingError(where(p) + ": divider '" + div.id + "' values are not ascending");
      }
      for (double v : div.values) check_finite(p, v, "a divider value");
      check_dimension(s, p, div.dimension);
    }
  } else if (const auto* b = std::get_if<BooleanGate>(&p.gate)) {
    if (b->op == BooleanGate::Op::not_ && b->operands.size() != 1) {
      throw GatingError(where(p) + ": 'not' takes exactly one operand, found " + std::to_string(b->operands.size()));
    }
    if (b->op != BooleanGate::Op::not_ && b->operands.size() < 2) {
      throw GatingError(where(p) + ": 'and'/'or' take at least two operands, found " + std::to_string(b->operands.size()));
    }
    for (const auto& op : b->operands) {
      if (s.find(op.ref) == nullptr) throw GatingError(where(p) + ": refers to unknown population '" + op.ref + "'");
    }
  }
}

}  // namespace

void GatingStrategy::validate() const {
  for (const auto& [id, b] : transform_bounds) {
    if (!transforms.contains(id)) throw GatingError("bounds given for unknown transform '" + id + "'");
    if (b.min && b.max && *b.min > *b.max) throw GatingError("transform '" + id + "': boundMin is above boundMax");
  }
  std::set<std::string> ids;
  for (const auto& p : populations) {
    if (p.id.empty()) throw GatingError("a population has an empty id");
    if (!ids.insert(p.id).second) throw GatingError("population id '" + p.id + "' is used twice");
  }
  for (const auto& p : populations) {
    if (p.parent && !ids.contains(*p.parent)) {
      throw GatingError(where(p) + ": parent '" + *p.parent + "' does not exist");
    }
    check_gate(*this, p);
  }
  (void)evaluation_order();
}

std::vector<std::size_t> GatingStrategy::evaluation_order() const {
  // Depth-first topological sort; definition order among independent populations is kept, so the
  // order (and everything derived from it) is deterministic.
  enum class Mark { none, active, done };
  std::vector<Mark> mark(populations.size(), Mark::none);
  std::vector<std::size_t> order;
  order.reserve(populations.size());

  auto deps = [&](std::size_t i) {
    std::vector<std::size_t> out;
    const Population& p = populations[i];
    if (p.parent) {
      if (auto j = index_of(*p.parent)) out.push_back(*j);
    }
    if (const auto* b = std::get_if<BooleanGate>(&p.gate)) {
      for (const auto& op : b->operands) {
        if (auto j = index_of(op.ref)) out.push_back(*j);
      }
    }
    return out;
  };

  // Iterative DFS so deep trees cannot overflow the stack.
  for (std::size_t root = 0; root < populations.size(); ++root) {
    if (mark[root] != Mark::none) continue;
    std::vector<std::pair<std::size_t, std::vector<std::size_t>>> stack;
    stack.emplace_back(root, deps(root));
    mark[root] = Mark::active;
    while (!stack.empty()) {
      auto& [node, pending] = stack.back();
      if (pending.empty()) {
        mark[node] = Mark::done;
        order.push_back(node);
        stack.pop_back();
        continue;
      }
      const std::size_t next = pending.front();
      pending.erase(pending.begin());
      if (mark[next] == Mark::done) continue;
      if (mark[next] == Mark::active) {
        throw GatingError("population '" + populations[next].id + "' depends on itself (cycle through its parent or boolean operands)");
      }
      mark[next] = Mark::active;
      stack.emplace_back(next, deps(next));
    }
  }
  return order;
}

}  // namespace flowmrd::gating
