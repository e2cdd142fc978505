// SPDX-License-Identifier: Apache-2.0
/// @file rule_engine.hpp
/// Evaluation of a loaded protocol (flowmrd::panels::Protocol) against one patient's MRD results,
/// flags and clinical inputs. Semantics (docs/protocol-format.md, "Evaluation"):
/// - Risk: assign/undetermined rules are tried in file order; the first that is true decides.
///   A rule that cannot be decided because an input is absent stops the walk with status
///   `not_evaluable` ("not evaluable: missing X"): falling through to a later, usually lower,
///   risk group because data are missing would be unsafe.
/// - Alerts: every alert rule is evaluated independently; all true ones are reported, and the
///   ones that cannot be decided are listed as not evaluable.
/// - Conditions use three-valued logic: a missing input is "unknown"; all() is false as soon as
///   one child is false, any() is true as soon as one child is true, so a missing input only
///   matters when it could change the answer.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flowmrd/panels/protocol.hpp"

namespace flowmrd::pipeline {

/// Everything a protocol can ask about one patient. Every field is optional; absence is reported,
/// never guessed.
struct ProtocolInputs {
  std::map<std::string, double> mrd_percent;   ///< Timepoint id -> MRD in % (0.01 means 10^-4).
  std::map<std::string, bool> mrd_negative;    ///< Timepoint id -> result category "MRD negative".
  std::map<std::string, bool> cd19_negative;   ///< Timepoint id -> CD19-negative population flagged.
  std::map<std::string, bool> lineage_switch;  ///< Timepoint id -> lineage-switch population flagged.
  std::optional<double> age_days;              ///< Age at diagnosis, days.
  std::optional<double> wbc;                   ///< White cell count at diagnosis, x10^9/L.
  std::optional<std::string> kmt2a;            ///< "rearranged", "germline" or "unknown".
  std::optional<std::string> kmt2a_fusion;     ///< e.g. "KMT2A::AFF1".
  std::optional<std::string> cns;              ///< "positive" or "negative".
  std::optional<double> day8_pb_blasts_per_ul; ///< Day-8 peripheral blood blasts per microlitre.
};

/// How the risk part of an evaluation ended.
enum class RiskStatus {
  assigned,        ///< An assign rule fired; `risk_group` holds the group.
  undetermined,    ///< An undetermined rule fired: the source assigns no group here; see `message`.
  not_evaluable,   ///< A rule could not be decided for lack of an input; see `missing`.
  no_rule_matched, ///< Every rule was false (the protocol does not cover this patient).
};

/// "assigned", "undetermined", "not evaluable", "no rule matched".
[[nodiscard]] std::string to_string(RiskStatus status);

/// A rule that fired or could not be decided, for the report.
struct RuleRef {
  std::string id;
  std::string text;
  std::string condition;  ///< Rendered condition, e.g. "all(kmt2a == rearranged, age_days < 90)".
  bool unverified = false;
};

/// One alert rule's outcome.
struct AlertResult {
  RuleRef rule;
  std::string alert;                 ///< The alert text (empty when not evaluable).
  bool evaluable = true;             ///< False: an input it needs is absent.
  std::vector<std::string> missing;  ///< Absent inputs, "mrd_percent@eoi" / "age_days".
};

/// The outcome of evaluating one protocol.
struct Evaluation {
  std::string protocol;  ///< Protocol name.
  std::string version;   ///< Protocol file version.
  RiskStatus status = RiskStatus::no_rule_matched;
  std::string risk_group;            ///< Set when status == assigned.
  std::optional<RuleRef> rule;       ///< The deciding rule (assigned/undetermined) or the blocking one (not_evaluable).
  std::vector<std::string> missing;  ///< not_evaluable: inputs whose absence blocks the decision.
  std::string message;               ///< One line for humans: "HR (rule hr-mrd-eoi: ...)", "not evaluable: missing age_days".
  std::vector<AlertResult> alerts;   ///< Fired alerts, then not-evaluable alerts, each in file order.
  std::vector<RuleRef> notes;        ///< threshold_unknown rules: criteria the protocol has but no number for.
};

/// Evaluate a protocol. Pure and thread-safe.
/// @throws std::invalid_argument when an input holds an impossible value (kmt2a not one of the
///         three words, cns not positive/negative, a non-finite number), naming the input.
[[nodiscard]] Evaluation evaluate(const panels::Protocol& protocol, const ProtocolInputs& inputs);

}  // namespace flowmrd::pipeline
