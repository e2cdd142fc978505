// SPDX-License-Identifier: Apache-2.0
/// @file protocol.hpp
/// Treatment-protocol threshold rules (`panels/protocols/*.toml`): the data model, and the loader
/// and validator. Evaluation lives in `flowmrd::pipeline` (rule_engine.hpp); this module only
/// guarantees that a loaded protocol is well formed. The file format is in docs/protocol-format.md.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace flowmrd::panels {

/// A protocol file is malformed. `what()` is "FILE:LINE: FIELD: reason"; the parts are also
/// available separately so the CLI and tests need not parse the message.
class ProtocolError : public std::runtime_error {
 public:
  ProtocolError(std::string file, std::size_t line, std::string field, const std::string& reason);

  /// Path of the offending file as given to the loader.
  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  /// 1-based line of the offending value (0 when the file could not be read at all).
  [[nodiscard]] std::size_t line() const noexcept { return line_; }
  /// Dotted path of the offending field, e.g. "rule[3].all[0].op" (empty for whole-file errors).
  [[nodiscard]] const std::string& field() const noexcept { return field_; }

 private:
  std::string file_;
  std::size_t line_;
  std::string field_;
};

/// Where a timepoint sample comes from.
enum class Tissue { bone_marrow, peripheral_blood };

/// One sampling point of a protocol ("eoi" = end of induction, BM, day 33, flow).
struct Timepoint {
  std::string id;           ///< Referenced by conditions; lowercase, e.g. "d15", "eoi", "blin1".
  Tissue tissue = Tissue::bone_marrow;
  std::optional<int> day;   ///< Treatment day; nullopt for event-defined points (after blinatumomab cycle 1).
  std::string method;       ///< "FCM", "PCR", "count", ... as written by the protocol.
  std::string description;  ///< Free text for reports.
};

/// The quantities a condition can test. Per-timepoint inputs need `timepoint`, clinical inputs
/// (from the sample manifest) must not have one.
enum class Input {
  mrd_percent,            ///< per timepoint, number: MRD in % of the protocol's denominator.
  mrd_negative,           ///< per timepoint, bool: result category "MRD negative" (< LOD, sufficient sensitivity).
  cd19_negative,          ///< per timepoint, bool: CD19-negative blast population flagged.
  lineage_switch,         ///< per timepoint, bool: myelomonocytic lineage-switch population flagged.
  age_days,               ///< clinical, number: age at diagnosis in days.
  wbc,                    ///< clinical, number: white cell count at diagnosis, x10^9/L.
  kmt2a,                  ///< clinical, text: "rearranged", "germline" or "unknown".
  kmt2a_fusion,           ///< clinical, text: fusion partner as "KMT2A::AFF1" (HGNC "::" notation).
  cns,                    ///< clinical, text: "positive" or "negative" (CNS involvement).
  day8_pb_blasts_per_ul,  ///< clinical, number: day-8 peripheral-blood blasts per microlitre.
};

/// The value type an input carries.
enum class ValueType { number, boolean, text };

/// Comparison operators as written in the file ("<", "<=", ">", ">=", "==", "!=").
enum class Op { lt, le, gt, ge, eq, ne };

/// The spelling of an input in protocol files and messages ("mrd_percent", ...).
[[nodiscard]] std::string_view to_string(Input input) noexcept;
/// The spelling of an operator ("<", ">=", ...).
[[nodiscard]] std::string_view to_string(Op op) noexcept;
/// "BM" or "PB".
[[nodiscard]] std::string_view to_string(Tissue tissue) noexcept;
/// Parse an input name; nullopt when unknown.
[[nodiscard]] std::optional<Input> parse_input(std::string_view name) noexcept;
/// Parse an operator; nullopt when unknown.
[[nodiscard]] std::optional<Op> parse_op(std::string_view op) noexcept;
/// Value type of an input.
[[nodiscard]] ValueType value_type(Input input) noexcept;
/// True for inputs measured per timepoint (mrd_percent, mrd_negative, cd19_negative, lineage_switch).
[[nodiscard]] bool needs_timepoint(Input input) noexcept;

/// A constant in a condition.
using Value = std::variant<double, bool, std::string>;

/// A condition tree: a leaf comparison, or `all`/`any` over children. An empty `all` is true.
struct Condition {
  enum class Kind { leaf, all, any };
  Kind kind = Kind::leaf;
  // leaf only:
  Input input = Input::mrd_percent;
  std::string timepoint;  ///< Empty for clinical inputs.
  Op op = Op::eq;
  Value value;
  // all / any only:
  std::vector<Condition> children;
  std::size_t line = 0;   ///< Source line, for messages.
};

/// Human-readable rendering, e.g. "mrd_percent@eoi >= 1" or "all(kmt2a == rearranged, age_days < 183)".
[[nodiscard]] std::string to_string(const Condition& c);

/// What a rule produces when it fires.
enum class Outcome {
  assign,        ///< A risk group; the first firing assign/undetermined rule decides.
  undetermined,  ///< The source assigns no group in this case (e.g. MRD exactly at a gap); first-match like assign.
  alert,         ///< An alert; every firing alert rule is reported.
  note,          ///< Documentation only: a criterion whose number the source does not give. Never fires.
};

/// One ordered rule.
struct Rule {
  std::string id;        ///< Unique within the protocol, e.g. "hr-mrd-eoi".
  std::string text;      ///< The criterion as the source writes it.
  Outcome outcome = Outcome::assign;
  std::string result;    ///< Risk group (assign), alert text (alert), reason (undetermined), or the
                         ///< `threshold_unknown` statement (note).
  Condition when;        ///< Kind::all with no children for `otherwise = true`.
  bool unverified = false;  ///< The rule, or its reading of the source, is [U] in domain-notes.md.
  std::string comment;   ///< Why the rule is written this way (optional).
  std::size_t line = 0;
};

/// A loaded, validated protocol.
struct Protocol {
  std::string name;     ///< "Interfant-21".
  std::string version;  ///< Version of this file (recorded in results for provenance).
  std::string source;   ///< Citation.
  std::string file;     ///< Path it was loaded from (empty for load_protocol_string without a label).
  std::vector<Timepoint> timepoints;
  std::vector<Rule> rules;  ///< In file order; order matters for assign/undetermined.

  /// The timepoint with this id, or nullptr.
  [[nodiscard]] const Timepoint* find_timepoint(std::string_view id) const noexcept;
  /// The rule with this id, or nullptr.
  [[nodiscard]] const Rule* find_rule(std::string_view id) const noexcept;
};

/// Load and validate one protocol file.
/// @throws ProtocolError naming file, line and field for any syntax or validation error.
[[nodiscard]] Protocol load_protocol(const std::filesystem::path& path);

/// Parse and validate protocol text; `label` stands for the file name in errors.
/// @throws ProtocolError as load_protocol.
[[nodiscard]] Protocol load_protocol_string(std::string_view toml_text, const std::string& label = "<string>");

/// Load every `*.toml` in a directory, sorted by file name.
/// @throws ProtocolError for the first bad file, or when the directory cannot be read, or when two
///         files declare the same protocol name.
[[nodiscard]] std::vector<Protocol> load_protocols(const std::filesystem::path& dir);

}  // namespace flowmrd::panels
