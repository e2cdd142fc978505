// SPDX-License-Identifier: Apache-2.0
// Transform names, parameter sets (keys, defaults, canonical text) and the dispatch from a
// TransformSpec to the implementation of its kind.
#include "flowmrd/gating/transform.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "transform_impl.hpp"

namespace flowmrd::gating {

namespace {

/// A parameter as the CLI and result files spell it, with the default a missing one takes.
struct ParamDef {
  std::string_view key;
  double default_value;
};

/// Name and parameters of a kind. Parameters are listed in canonical order (the order of the
/// convention's own signature: Gating-ML T, W, M, A; flowCore w, t, m, a; FlowJo's biex order).
struct KindDef {
  TransformKind kind;
  std::string_view name;
  std::span<const ParamDef> params;
};

// Defaults: Gating-ML 2.0 defines none; these are the customary 18-bit scale values (flowCore's
// logicleTransform defaults T = 262144, W = 0.5, M = 4.5, A = 0) so a bare "logicle" is usable.
constexpr std::array<ParamDef, 2> flin_params{{{"T", 262144}, {"A", 0}}};
constexpr std::array<ParamDef, 2> flog_params{{{"T", 262144}, {"M", 4.5}}};
constexpr std::array<ParamDef, 3> fasinh_params{{{"T", 262144}, {"M", 4.5}, {"A", 0}}};
constexpr std::array<ParamDef, 4> logicle_params{{{"T", 262144}, {"W", 0.5}, {"M", 4.5}, {"A", 0}}};
constexpr std::array<ParamDef, 4> hyperlog_params{{{"T", 262144}, {"W", 0.5}, {"M", 4.5}, {"A", 0}}};
// FlowJo's defaults for an 18-bit channel (as FlowKit's WSPBiexTransform): positive decades
// log10(262144) - 1.
constexpr std::array<ParamDef, 4> biex_params{
    {{"negative", 0}, {"width", -10}, {"positive", 4.418539922}, {"max", 262144}}};
// flowCore arcsinhTransform() and logicleTransform() defaults.
constexpr std::array<ParamDef, 3> arcsinh_params{{{"a", 1}, {"b", 1}, {"c", 0}}};
constexpr std::array<ParamDef, 4> logicle_flowcore_params{{{"w", 0.5}, {"t", 262144}, {"m", 4.5}, {"a", 0}}};

constexpr std::array<KindDef, 9> kinds{{
    {TransformKind::identity, "identity", {}},
    {TransformKind::flin, "flin", flin_params},
    {TransformKind::flog, "flog", flog_params},
    {TransformKind::fasinh, "fasinh", fasinh_params},
    {TransformKind::logicle, "logicle", logicle_params},
    {TransformKind::hyperlog, "hyperlog", hyperlog_params},
    {TransformKind::biex, "biex", biex_params},
    {TransformKind::arcsinh, "arcsinh", arcsinh_params},
    {TransformKind::logicle_flowcore, "logicle-flowcore", logicle_flowcore_params},
}};

const KindDef& def_of(TransformKind kind) {
  for (const KindDef& d : kinds) {
    if (d.kind == kind) return d;
  }
  throw TransformError("unknown transform kind " + std::to_string(static_cast<int>(kind)));
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) noexcept {
  const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string key_list(const KindDef& def) {
  if (def.params.empty()) return "none";
  std::string out;
  for (const ParamDef& p : def.params) {
    if (!out.empty()) out += ", ";
    out += p.key;
  }
  return out;
}

/// The canonical spelling of `key` for `def`. Keys match case-insensitively: within one kind no
/// two keys differ only in case, and "logicle:t=..." should not fail for want of a capital.
const ParamDef& find_param(const KindDef& def, std::string_view key) {
  for (const ParamDef& p : def.params) {
    if (iequals(p.key, key)) return p;
  }
  throw TransformError(std::string{def.name} + ": unknown parameter '" + std::string{key} + "' (expected " +
                       key_list(def) + ")");
}

/// Every parameter of the kind present, keys canonical, nothing else.
TransformSpec complete(const TransformSpec& spec) {
  const KindDef& def = def_of(spec.kind);
  TransformSpec out;
  out.kind = spec.kind;
  for (const auto& [key, value] : spec.params) {
    const ParamDef& p = find_param(def, key);
    if (!out.params.emplace(std::string{p.key}, value).second) {
      throw TransformError(std::string{def.name} + ": parameter '" + std::string{p.key} + "' given twice");
    }
  }
  for (const ParamDef& p : def.params) out.params.emplace(std::string{p.key}, p.default_value);
  return out;
}

double parse_number(std::string_view name, std::string_view key, std::string_view text) {
  std::string_view t = trim(text);
  // std::from_chars takes no leading '+'; a user may well write one.
  if (t.size() > 1 && t.front() == '+' && t[1] != '-' && t[1] != '+') t.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (t.empty() || ec != std::errc{} || end != t.data() + t.size() || !std::isfinite(value)) {
    throw TransformError(std::string{name} + ": parameter " + std::string{key} + " must be a finite number, got '" +
                         std::string{text} + "'");
  }
  return value;
}

detail::ImplPtr make_impl(TransformSpec spec) {
  switch (spec.kind) {
    case TransformKind::identity: return detail::make_identity(std::move(spec));
    case TransformKind::flin: return detail::make_flin(std::move(spec));
    case TransformKind::flog: return detail::make_flog(std::move(spec));
    case TransformKind::fasinh: return detail::make_fasinh(std::move(spec));
    case TransformKind::logicle: return detail::make_logicle(std::move(spec));
    case TransformKind::hyperlog: return detail::make_hyperlog(std::move(spec));
    case TransformKind::biex: return detail::make_biex(std::move(spec));
    case TransformKind::arcsinh: return detail::make_arcsinh(std::move(spec));
    case TransformKind::logicle_flowcore: return detail::make_logicle(std::move(spec));
  }
  throw TransformError("unknown transform kind " + std::to_string(static_cast<int>(spec.kind)));
}

class IdentityTransform final : public Transform::Impl {
 public:
  using Impl::Impl;
  [[nodiscard]] double apply(double x) const override { return x; }
  [[nodiscard]] double inverse(double y) const override { return y; }
};

void check_sizes(std::size_t in, std::size_t out) {
  if (in != out) throw std::invalid_argument("Transform::apply: input and output sizes differ");
}

}  // namespace

// ---- names -------------------------------------------------------------------------------------

std::string_view to_string(TransformKind kind) noexcept {
  for (const KindDef& d : kinds) {
    if (d.kind == kind) return d.name;
  }
  return "unknown";
}

TransformKind transform_kind_from_string(std::string_view name) {
  const std::string_view n = trim(name);
  if (iequals(n, "linear")) return TransformKind::identity;
  for (const KindDef& d : kinds) {
    if (iequals(d.name, n)) return d.kind;
  }
  std::string known;
  for (const KindDef& d : kinds) known += (known.empty() ? "" : ", ") + std::string{d.name};
  throw TransformError("unknown transform '" + std::string{name} + "' (expected one of " + known + ")");
}

// ---- TransformSpec -----------------------------------------------------------------------------

std::string TransformSpec::to_string() const {
  std::string out{gating::to_string(kind)};
  const KindDef* def = nullptr;
  for (const KindDef& d : kinds) {
    if (d.kind == kind) def = &d;
  }
  char separator = ':';
  const auto append = [&](std::string_view key, double value) {
    out += separator;
    out += key;
    out += '=';
    out += detail::format_number(value);
    separator = ',';
  };
  // Canonical keys in the convention's order first, anything else (a spec built by hand and not
  // yet completed) after them in key order.
  if (def != nullptr) {
    for (const ParamDef& p : def->params) {
      if (const auto it = params.find(std::string{p.key}); it != params.end()) append(it->first, it->second);
    }
  }
  for (const auto& [key, value] : params) {
    const bool canonical = def != nullptr && std::any_of(def->params.begin(), def->params.end(),
                                                         [&](const ParamDef& p) { return p.key == key; });
    if (!canonical) append(key, value);
  }
  return out;
}

TransformSpec TransformSpec::parse(std::string_view text) {
  const std::size_t colon = text.find(':');
  TransformSpec spec;
  spec.kind = transform_kind_from_string(text.substr(0, colon));
  const std::string_view name = gating::to_string(spec.kind);
  if (colon != std::string_view::npos) {
    std::string_view rest = text.substr(colon + 1);
    while (!trim(rest).empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      const std::size_t eq = item.find('=');
      if (eq == std::string_view::npos) {
        throw TransformError(std::string{name} + ": parameter '" + std::string{item} +
                             "' has no value (expected KEY=VALUE)");
      }
      const std::string_view key = trim(item.substr(0, eq));
      const ParamDef& p = find_param(def_of(spec.kind), key);
      const double value = parse_number(name, p.key, item.substr(eq + 1));
      if (!spec.params.emplace(std::string{p.key}, value).second) {
        throw TransformError(std::string{name} + ": parameter '" + std::string{p.key} + "' given twice");
      }
    }
  }
  return complete(spec);
}

// ---- Transform ---------------------------------------------------------------------------------

Transform::Transform() {
  // Immutable and shared: the identity needs no allocation per default-constructed Transform.
  static const std::shared_ptr<const Impl> identity = detail::make_identity(TransformSpec{});
  impl_ = identity;
}

Transform::Transform(const TransformSpec& spec) : impl_(make_impl(complete(spec))) {}

const TransformSpec& Transform::spec() const noexcept { return impl_->spec(); }

double Transform::apply(double x) const { return impl_->apply(x); }

double Transform::inverse(double y) const { return impl_->inverse(y); }

void Transform::apply(std::span<const float> in, std::span<float> out) const {
  check_sizes(in.size(), out.size());
  impl_->apply_fast(in, out);
}

void Transform::apply(std::span<const double> in, std::span<float> out) const {
  check_sizes(in.size(), out.size());
  impl_->apply_fast(in, out);
}

void Transform::apply_exact(std::span<const double> in, std::span<double> out) const {
  check_sizes(in.size(), out.size());
  impl_->apply_exact(in, out);
}

void Transform::Impl::apply_fast(std::span<const float> in, std::span<float> out) const {
  check_sizes(in.size(), out.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = static_cast<float>(apply(static_cast<double>(in[i])));
}

void Transform::Impl::apply_fast(std::span<const double> in, std::span<float> out) const {
  check_sizes(in.size(), out.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = static_cast<float>(apply(in[i]));
}

void Transform::Impl::apply_exact(std::span<const double> in, std::span<double> out) const {
  check_sizes(in.size(), out.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = apply(in[i]);
}

double fratio(double x1, double x2, double a, double b, double c) { return a * (x1 - b) / (x2 - c); }

// ---- helpers shared by the implementations -----------------------------------------------------

namespace detail {

ImplPtr make_identity(TransformSpec spec) { return std::make_shared<const IdentityTransform>(std::move(spec)); }

double param(const TransformSpec& spec, std::string_view key) {
  const auto it = spec.params.find(std::string{key});
  if (it == spec.params.end()) {
    throw TransformError(std::string{to_string(spec.kind)} + ": parameter " + std::string{key} + " missing");
  }
  return it->second;
}

std::string format_number(double value) {
  std::array<char, 64> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  if (ec != std::errc{}) return "?";
  return std::string(buffer.data(), end);
}

void fail_parameter(std::string_view transform, std::string_view rule,
                    std::initializer_list<std::pair<std::string_view, double>> values) {
  std::string message{transform};
  message += ": ";
  message += rule;
  if (values.size() > 0) {
    message += " (";
    bool first = true;
    for (const auto& [key, value] : values) {
      if (!first) message += ", ";
      first = false;
      message += key;
      message += '=';
      message += format_number(value);
    }
    message += ')';
  }
  throw TransformError(message);
}

void require_finite(std::string_view transform, std::string_view key, double value) {
  if (!std::isfinite(value)) {
    throw TransformError(std::string{transform} + ": " + std::string{key} + " must be a finite number (" +
                         std::string{key} + "=" + format_number(value) + ")");
  }
}

}  // namespace detail
}  // namespace flowmrd::gating
