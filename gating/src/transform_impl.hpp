// SPDX-License-Identifier: Apache-2.0
/// @file transform_impl.hpp
/// Private: the interface each transform kind implements behind `Transform`, the factories that
/// build them from a completed, validated `TransformSpec`, and the parameter-error helpers they
/// share so every message has the same shape ("logicle: W must be <= M/2 (W=3, M=4.5)").
#pragma once

#include <array>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "flowmrd/gating/transform.hpp"

namespace flowmrd::gating {

/// One transform kind with its parameters. Immutable after construction, so a `Transform` can
/// share it between threads and copies.
class Transform::Impl {
 public:
  explicit Impl(TransformSpec spec) : spec_(std::move(spec)) {}
  virtual ~Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  Impl(Impl&&) = delete;
  Impl& operator=(Impl&&) = delete;

  /// The completed spec (every parameter present, keys canonical).
  [[nodiscard]] const TransformSpec& spec() const noexcept { return spec_; }

  [[nodiscard]] virtual double apply(double x) const = 0;
  [[nodiscard]] virtual double inverse(double y) const = 0;

  /// Bulk fast path. The default rounds the exact value to float, which is right for the kinds
  /// that are a few arithmetic operations anyway (flin, flog, fasinh, arcsinh, identity).
  virtual void apply_fast(std::span<const float> in, std::span<float> out) const;
  virtual void apply_fast(std::span<const double> in, std::span<float> out) const;
  /// Bulk exact path. The default calls `apply` per value.
  virtual void apply_exact(std::span<const double> in, std::span<double> out) const;

 private:
  TransformSpec spec_;
};

namespace detail {

using ImplPtr = std::shared_ptr<const Transform::Impl>;

/// The value of a parameter of a completed spec (the key is always present after completion).
[[nodiscard]] double param(const TransformSpec& spec, std::string_view key);

/// Shortest round-trip text of a number, for messages and canonical spec text.
[[nodiscard]] std::string format_number(double value);

/// Throws TransformError "<transform>: <rule> (<k1>=<v1>, <k2>=<v2>)".
[[noreturn]] void fail_parameter(std::string_view transform, std::string_view rule,
                                 std::initializer_list<std::pair<std::string_view, double>> values);

/// Throws unless `value` is finite: "<transform>: <key> must be a finite number".
void require_finite(std::string_view transform, std::string_view key, double value);

/// Gating-ML 2.0 constraints shared by logicle and hyperlog: T > 0, M > 0, 0 <= W <= M/2 (W > 0
/// for hyperlog), -W <= A <= M - 2W. `keys` spell T, W, M, A as the caller's convention does
/// ({"T","W","M","A"}, or flowCore's {"t","w","m","a"}). @throws TransformError
void validate_twma(std::string_view transform, const std::array<std::string_view, 4>& keys, double t, double w,
                   double m, double a, bool w_may_be_zero);

// Factories. Each validates the parameters of `spec` (already completed with defaults) and
// throws TransformError naming the transform, the parameter and the violated constraint.
[[nodiscard]] ImplPtr make_identity(TransformSpec spec);   // transform.cpp
[[nodiscard]] ImplPtr make_flin(TransformSpec spec);       // simple_transforms.cpp
[[nodiscard]] ImplPtr make_flog(TransformSpec spec);       // simple_transforms.cpp
[[nodiscard]] ImplPtr make_fasinh(TransformSpec spec);     // simple_transforms.cpp
[[nodiscard]] ImplPtr make_arcsinh(TransformSpec spec);    // simple_transforms.cpp
[[nodiscard]] ImplPtr make_logicle(TransformSpec spec);    // logicle.cpp: logicle and logicle-flowcore
[[nodiscard]] ImplPtr make_hyperlog(TransformSpec spec);   // hyperlog.cpp
[[nodiscard]] ImplPtr make_biex(TransformSpec spec);       // biex.cpp

}  // namespace detail
}  // namespace flowmrd::gating
