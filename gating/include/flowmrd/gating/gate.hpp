// SPDX-License-Identifier: Apache-2.0
/// @file gate.hpp
/// Gates as Gating-ML 2.0 defines them. Every gate lives in named dimensions; a dimension says
/// which channel, which compensation and which scale transform give its coordinates, and the gate's
/// numbers are in that transformed space. Edge semantics (docs/gating.md):
///  - range/rectangle: min <= x < max per dimension (min inclusive, max exclusive); a missing side
///    is open;
///  - polygon: even-odd (crossing number) rule, the polygon closed from last vertex to first;
///  - ellipsoid: (x - mean)' inverse(covariance) (x - mean) <= distance_square;
///  - quadrant: per divider, the interval between consecutive divider values that holds the
///    quadrant's location, min inclusive, max exclusive;
///  - an event whose coordinate is not a number (a transform undefined there, e.g. flog of a
///    negative value) is in no range, polygon, ellipsoid or quadrant.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace flowmrd::gating {

/// Compensation reference of a dimension: no compensation.
inline constexpr const char* kUncompensated = "uncompensated";
/// Compensation reference of a dimension: the FCS file's own spillover matrix.
inline constexpr const char* kFileCompensation = "FCS";

/// Gating-ML 2.0 boundMin/boundMax of a transformation: a result below `min` becomes `min`, above
/// `max` becomes `max`; NaN stays NaN; an absent side does nothing.
struct Bounds {
  std::optional<double> min;
  std::optional<double> max;
  [[nodiscard]] double clamp(double v) const noexcept {
    if (min && v < *min) return *min;
    if (max && v > *max) return *max;
    return v;
  }
  [[nodiscard]] bool empty() const noexcept { return !min && !max; }
  friend bool operator==(const Bounds&, const Bounds&) = default;
};

/// Gating-ML 2.0 fratio(x1, x2; A, B, C) = A (x1 - B) / (x2 - C) as a derived dimension.
struct RatioDimension {
  std::string id;           ///< The ratio transform's id (for export).
  std::string numerator;    ///< $PnN of x1
  std::string denominator;  ///< $PnN of x2
  double a = 1.0, b = 0.0, c = 0.0;
  Bounds bounds;            ///< boundMin/boundMax of the ratio transformation itself
  friend bool operator==(const RatioDimension&, const RatioDimension&) = default;
};

/// A coordinate axis: channel (or ratio of two channels), compensation, transform.
struct Dimension {
  std::string channel;                       ///< $PnN; empty for a ratio dimension
  std::string compensation = kUncompensated; ///< kUncompensated, kFileCompensation or a matrix id of the strategy
  std::string transform;                     ///< Transform id of the strategy; empty = none
  std::optional<RatioDimension> ratio;       ///< Set for a Gating-ML new-dimension (fratio)

  /// Human-readable label, e.g. "FL1-H [FCS, Logicle1]".
  [[nodiscard]] std::string label() const;
  friend bool operator==(const Dimension&, const Dimension&) = default;
};

/// A half-open interval [min, max); either side may be absent (open).
struct Interval {
  std::optional<double> min;
  std::optional<double> max;
  [[nodiscard]] bool contains(double x) const noexcept {
    return (!min || x >= *min) && (!max || x < *max);  // NaN fails both comparisons only if a side is set
  }
  friend bool operator==(const Interval&, const Interval&) = default;
};

/// Range (1 dimension) or rectangle/hyper-rectangle gate.
struct RectangleGate {
  std::vector<Dimension> dimensions;
  std::vector<Interval> ranges;  ///< one per dimension
};

struct Point {
  double x = 0.0;
  double y = 0.0;
  friend bool operator==(const Point&, const Point&) = default;
};

/// Polygon in two dimensions (at least 3 vertices; not explicitly closed).
struct PolygonGate {
  Dimension x;
  Dimension y;
  std::vector<Point> vertices;
};

/// Ellipse or ellipsoid in any number of dimensions.
struct EllipsoidGate {
  std::vector<Dimension> dimensions;
  std::vector<double> mean;        ///< one per dimension
  std::vector<double> covariance;  ///< row-major, dimensions^2 values
  double distance_square = 1.0;
};

/// One divider of a Gating-ML quadrant gate: a dimension cut at one or more values.
struct QuadrantDivider {
  std::string id;
  Dimension dimension;
  std::vector<double> values;  ///< ascending
};

/// One quadrant of a Gating-ML quadrant gate. Each quadrant is its own population; `quadrant_gate`
/// ties the quadrants of one gate together (for export).
struct QuadrantGate {
  std::string quadrant_gate;              ///< id of the enclosing QuadrantGate
  std::vector<QuadrantDivider> dividers;  ///< all dividers of the enclosing gate
  /// Per position: index into `dividers` and the location value that picks the interval.
  struct Position {
    std::size_t divider = 0;
    double location = 0.0;
  };
  std::vector<Position> positions;
};

/// Boolean combination of other populations (their full membership, parents included).
struct BooleanGate {
  enum class Op { and_, or_, not_ };
  struct Operand {
    std::string ref;          ///< population id
    bool complement = false;  ///< Gating-ML use-as-complement
  };
  Op op = Op::and_;
  std::vector<Operand> operands;  ///< and/or: two or more; not: exactly one
};

using Gate = std::variant<RectangleGate, PolygonGate, EllipsoidGate, QuadrantGate, BooleanGate>;

/// "rectangle", "polygon", "ellipsoid", "quadrant", "boolean".
[[nodiscard]] const char* gate_kind_name(const Gate& gate) noexcept;

/// The dimensions a gate reads (empty for boolean gates).
[[nodiscard]] std::vector<Dimension> gate_dimensions(const Gate& gate);

}  // namespace flowmrd::gating
