// SPDX-License-Identifier: Apache-2.0
/// @file transform.hpp
/// Scale transforms of one channel, each with its inverse: the Gating-ML 2.0 definitions (flin,
/// flog, fasinh, logicle, hyperlog), flowCore's parameterisations (arcsinhTransform,
/// logicleTransform) and FlowJo's biexponential. See docs/transforms.md for every formula.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace flowmrd::gating {

/// A transform name, as used on the command line and in result files.
enum class TransformKind {
  identity,          ///< no transform ("linear")
  flin,              ///< Gating-ML 2.0 flin(x; T, A) = (x + A) / (T + A)
  flog,              ///< Gating-ML 2.0 flog(x; T, M) = 1 + log10(x / T) / M
  fasinh,            ///< Gating-ML 2.0 fasinh(x; T, M, A)
  logicle,           ///< Gating-ML 2.0 logicle(x; T, W, M, A), 0..1 at T
  hyperlog,          ///< Gating-ML 2.0 hyperlog(x; T, W, M, A)
  biex,              ///< FlowJo biexponential (negative, width, positive, max), 0..4096 channels
  arcsinh,           ///< flowCore arcsinhTransform(a, b, c): asinh(a + b x) + c
  logicle_flowcore,  ///< flowCore logicleTransform(w, t, m, a): M x logicle(x; T, W, M, A)
};

/// Text names: "identity", "flin", "flog", "fasinh", "logicle", "hyperlog", "biex", "arcsinh",
/// "logicle-flowcore".
[[nodiscard]] std::string_view to_string(TransformKind kind) noexcept;
/// Parse a name (case-insensitive; "linear" = identity). Throws TransformError for unknown names.
[[nodiscard]] TransformKind transform_kind_from_string(std::string_view name);

/// A transform with its parameters, as written in options and results: "logicle:T=262144,W=0.5,M=4.5,A=0".
struct TransformSpec {
  TransformKind kind = TransformKind::identity;
  std::map<std::string, double> params;  ///< Keys as the CLI documents them (T, W, M, A; a, b, c; ...).

  /// Canonical text: name, then parameters in key order, numbers shortest round-trip.
  [[nodiscard]] std::string to_string() const;
  /// Parse "NAME" or "NAME:K=V,K=V". Missing parameters take the documented defaults.
  [[nodiscard]] static TransformSpec parse(std::string_view text);
  friend bool operator==(const TransformSpec&, const TransformSpec&) = default;
};

/// Invalid transform name or parameters (e.g. logicle with W > M/2). `what()` says which and why.
class TransformError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// An immutable, thread-safe transform. Cheap to copy (shares its precomputed tables).
class Transform {
 public:
  /// Identity.
  Transform();
  /// Validate parameters and precompute. @throws TransformError
  explicit Transform(const TransformSpec& spec);

  [[nodiscard]] const TransformSpec& spec() const noexcept;

  /// Exact value (within 1e-9 of the reference definitions).
  [[nodiscard]] double apply(double x) const;
  /// Exact inverse: apply(inverse(y)) == y within 1e-9.
  [[nodiscard]] double inverse(double y) const;

  /// Bulk fast path (table + interpolation for logicle, hyperlog and biex; error below 1e-6 in
  /// transformed units over the whole input range). `in` and `out` may alias; sizes must match.
  void apply(std::span<const float> in, std::span<float> out) const;
  void apply(std::span<const double> in, std::span<float> out) const;
  /// Bulk exact path (slow; used to check the fast one).
  void apply_exact(std::span<const double> in, std::span<double> out) const;

  class Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

/// Gating-ML 2.0 fratio(x1, x2; A, B, C) = A (x1 - B) / (x2 - C): the one two-channel transform.
[[nodiscard]] double fratio(double x1, double x2, double a, double b, double c);

}  // namespace flowmrd::gating
