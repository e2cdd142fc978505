// SPDX-License-Identifier: Apache-2.0
// `flowmrd db patients|timeline|export|audit`: read-only views of the results store
// (docs/store.md). Every sub-command opens the store read-only, so it can run while a batch is
// writing (WAL) and can never create or migrate a store by accident.
#include "cmd_db.hpp"

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cmd_analyze.hpp"
#include "command_error.hpp"
#include "exit_codes.hpp"
#include "flowmrd/pipeline/mrd_statistics.hpp"
#include "flowmrd/pipeline/store.hpp"
#include "text_table.hpp"

namespace flowmrd::cli {

namespace {

namespace fp = flowmrd::pipeline;
using Json = nlohmann::ordered_json;

struct DbOptions {
  std::string db;
  std::string patient;
  std::string output;
  bool json = false;
};

fp::ResultStore open_store(const std::string& path) {
  try {
    return fp::ResultStore::open_read_only(path);
  } catch (const fp::StoreError& e) {
    throw CommandError(ExitCode::input_invalid, e.what());
  }
}

// Runs a query; a store that fails while being read (locked for too long, damaged) is an input
// problem, reported as "FILE: reason" like a failure to open it.
template <typename F>
auto query(F&& f) {
  try {
    return f();
  } catch (const fp::StoreError& e) {
    throw CommandError(ExitCode::input_invalid, e.what());
  }
}

// An unknown --patient is a usage error: the message lists who is known so a typo is obvious.
void require_patient(const fp::ResultStore& store, const std::string& patient) {
  if (patient.empty()) return;
  const auto rows = query([&] { return store.patients(); });
  std::string known;
  for (const auto& p : rows) {
    if (p.patient == patient) return;
    known += (known.empty() ? "" : ", ") + p.patient;
  }
  throw CommandError(ExitCode::usage,
                     store.path().string() + ": no patient '" + patient + "' " +
                         (rows.empty() ? "(the store has no patients)" : "(known patients: " + known + ")"));
}

void print(const std::string& text) {
  std::cout << text;
  std::cout.flush();
  if (!std::cout) throw CommandError(ExitCode::output_failed, "<stdout>: write failed");
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }
Json text_or_null(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }
Json number_or_null(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }
Json integer_or_null(const std::optional<std::int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

std::string percent(const std::optional<double>& v) { return v ? fp::format_percent(*v, 2) : "-"; }

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

Json json_document(const char* schema, const fp::ResultStore& store) {
  Json j;
  j["schema"] = schema;
  j["store"] = store.path().string();
  j["schema_version"] = store.schema_version();
  return j;
}

// ---------------------------------------------------------------------------------------------

int run_patients(const DbOptions& o) {
  const fp::ResultStore store = open_store(o.db);
  const auto rows = query([&] { return store.patients(); });
  if (o.json) {
    Json j = json_document("flowmrd.db.patients/1", store);
    Json list = Json::array();
    for (const auto& p : rows) {
      Json pj;
      pj["patient"] = p.patient;
      pj["protocol"] = text_or_null(p.protocol);
      pj["samples"] = p.samples;
      pj["failed"] = p.failed;
      pj["first_date"] = text_or_null(p.first_date);
      pj["last_date"] = text_or_null(p.last_date);
      pj["latest_timepoint"] = text_or_null(p.latest_timepoint);
      pj["latest_mrd_percent"] = number_or_null(p.latest_mrd_percent);
      pj["latest_status"] = text_or_null(p.latest_status);
      list.push_back(std::move(pj));
    }
    j["patients"] = std::move(list);
    print(j.dump(2) + "\n");
    return to_int(ExitCode::ok);
  }
  if (rows.empty()) {
    print(store.path().string() + ": the store has no patients\n");
    return to_int(ExitCode::ok);
  }
  using A = TextTable::Align;
  TextTable table({"patient", "protocol", "samples", "failed", "first", "last", "latest", "MRD %", "status"},
                  {A::left, A::left, A::right, A::right, A::left, A::left, A::left, A::right, A::left});
  for (const auto& p : rows) {
    table.add_row({p.patient, or_dash(p.protocol), std::to_string(p.samples), std::to_string(p.failed),
                   or_dash(p.first_date), or_dash(p.last_date), or_dash(p.latest_timepoint),
                   percent(p.latest_mrd_percent), or_dash(p.latest_status)});
  }
  std::string out;
  table.render(out, "");
  print(out);
  return to_int(ExitCode::ok);
}

// ---------------------------------------------------------------------------------------------

std::string timepoint_cell(const fp::TimelineRow& r) {
  std::string s = or_dash(r.timepoint);
  if (!r.protocol_timepoint.empty() && r.protocol_timepoint != r.timepoint) s += " (" + r.protocol_timepoint + ")";
  return s;
}

std::string ci_cell(const fp::TimelineRow& r) {
  if (!r.ci_low_percent || !r.ci_high_percent) return "-";
  // One digit more than the MRD itself, so a narrow interval around 12% reads 11.7-12.3, not 12-12.
  return fp::format_percent(*r.ci_low_percent, 3) + "-" + fp::format_percent(*r.ci_high_percent, 3);
}

// "HR (rule hr-mrd)", or the evaluation status when no risk group was decided.
std::string risk_cell(const fp::TimelineRow& r) {
  std::string s = !r.risk_group.empty() ? r.risk_group : r.protocol_status;
  if (!r.rule_id.empty()) s += (s.empty() ? "" : " ") + std::string("(") + r.rule_id + ")";
  return or_dash(s);
}

Json timeline_json(const fp::TimelineRow& r) {
  Json j;
  j["sample"] = r.sample;
  j["timepoint"] = text_or_null(r.timepoint);
  j["protocol_timepoint"] = text_or_null(r.protocol_timepoint);
  j["date"] = text_or_null(r.date);
  j["diagnosis"] = r.diagnosis;
  j["protocol"] = text_or_null(r.protocol);
  j["panel"] = text_or_null(r.panel);
  j["status"] = r.ok ? "ok" : "failed";
  j["error_kind"] = text_or_null(r.error_kind);
  j["error_message"] = text_or_null(r.error_message);
  Json tubes = Json::array();
  for (const auto& t : r.tubes)
    tubes.push_back({{"label", t.label}, {"path", t.path}, {"sha256", text_or_null(t.sha256)}});
  j["tubes"] = std::move(tubes);
  j["fingerprint"] = r.fingerprint;
  j["mrd_status"] = text_or_null(r.mrd_status);
  j["mrd_percent"] = number_or_null(r.mrd_percent);
  j["lod_percent"] = number_or_null(r.lod_percent);
  j["lloq_percent"] = number_or_null(r.lloq_percent);
  j["ci95_percent"] = (r.ci_low_percent && r.ci_high_percent) ? Json::array({*r.ci_low_percent, *r.ci_high_percent})
                                                              : Json(nullptr);
  j["blast_events"] = integer_or_null(r.blast_events);
  j["denominator_events"] = integer_or_null(r.denominator_events);
  j["sensitivity_one_in"] = number_or_null(r.sensitivity_one_in);
  j["flags"] = r.flags;
  j["protocol_name"] = text_or_null(r.protocol_name);
  j["protocol_version"] = text_or_null(r.protocol_version);
  j["protocol_status"] = text_or_null(r.protocol_status);
  j["risk_group"] = text_or_null(r.risk_group);
  j["rule_id"] = text_or_null(r.rule_id);
  j["rule_text"] = text_or_null(r.rule_text);
  j["alerts"] = r.alerts;
  j["result_sha256"] = text_or_null(r.result_sha256);
  j["recorded_at"] = r.recorded_at;
  j["software_version"] = text_or_null(r.software_version);
  return j;
}

int run_timeline(const DbOptions& o) {
  const fp::ResultStore store = open_store(o.db);
  require_patient(store, o.patient);
  const auto rows = query([&] { return store.timeline(o.patient); });
  if (o.json) {
    Json j = json_document("flowmrd.db.timeline/1", store);
    j["patient"] = o.patient;
    Json list = Json::array();
    for (const auto& r : rows) list.push_back(timeline_json(r));
    j["samples"] = std::move(list);
    print(j.dump(2) + "\n");
    return to_int(ExitCode::ok);
  }
  std::string protocol;
  std::size_t failed = 0;
  for (const auto& r : rows) {
    if (!r.protocol.empty()) protocol = r.protocol;
    if (!r.ok) ++failed;
  }
  std::string out = "patient " + o.patient + (protocol.empty() ? "" : ", protocol " + protocol) + ": " +
                    std::to_string(rows.size()) + " sample(s)" +
                    (failed ? ", " + std::to_string(failed) + " failed" : "") + "\n\n";
  using A = TextTable::Align;
  TextTable table({"date", "timepoint", "sample", "MRD %", "status", "95% CI %", "flags", "risk (rule)"},
                  {A::left, A::left, A::left, A::right, A::left, A::left, A::left, A::left});
  std::vector<std::string> notes;
  for (const auto& r : rows) {
    if (!r.ok) {
      table.add_row({or_dash(r.date), timepoint_cell(r), r.sample, "FAILED", or_dash(r.error_kind), "-", "-",
                     or_dash(r.error_message)});
      continue;
    }
    table.add_row({or_dash(r.date), timepoint_cell(r), r.sample, percent(r.mrd_percent), or_dash(r.mrd_status),
                   ci_cell(r), r.flags.empty() ? "-" : join(r.flags, ", "), risk_cell(r)});
    for (const auto& a : r.alerts) notes.push_back(r.sample + ": " + a);
  }
  table.render(out, "");
  if (!notes.empty()) {
    out += "\nalerts:\n";
    for (const auto& n : notes) out += "  " + n + "\n";
  }
  print(out);
  return to_int(ExitCode::ok);
}

// ---------------------------------------------------------------------------------------------

int run_export(const DbOptions& o) {
  const fp::ResultStore store = open_store(o.db);
  require_patient(store, o.patient);
  const std::string csv = query([&] { return store.export_csv(o.patient); });
  write_atomically(o.output.empty() ? "-" : o.output, csv);
  return to_int(ExitCode::ok);
}

// ---------------------------------------------------------------------------------------------

// One short line for the text view; the full detail is in --json.
std::string audit_summary(const fp::AuditRow& a) {
  if (a.detail.empty()) return "-";
  const Json d = Json::parse(a.detail, nullptr, false);
  if (d.is_discarded()) return a.detail;
  if (d.is_object() && d.contains("fingerprint")) {
    auto str = [&](const char* key) {
      const auto it = d.find(key);
      return it != d.end() && it->is_string() ? it->get<std::string>() : std::string{};
    };
    auto short_hash = [](const std::string& h) { return h.empty() ? std::string{"none"} : h.substr(0, 12); };
    std::string s = str("status");
    if (s == "failed") s += " " + str("error_kind");
    else s += " result " + short_hash(str("result_sha256"));
    if (d.contains("previous_status")) {
      s += " (was " + str("previous_status") +
           (str("previous_status") == "ok" ? " " + short_hash(str("previous_result_sha256")) : "") + ")";
    }
    return s;
  }
  std::string s = d.dump();
  if (s.size() > 72) s = s.substr(0, 69) + "...";
  return s;
}

int run_audit(const DbOptions& o) {
  const fp::ResultStore store = open_store(o.db);
  require_patient(store, o.patient);
  const auto rows = query([&] { return store.audit_log(o.patient); });
  if (o.json) {
    Json j = json_document("flowmrd.db.audit/1", store);
    j["patient"] = text_or_null(o.patient);
    Json list = Json::array();
    for (const auto& a : rows) {
      Json aj;
      aj["id"] = a.id;
      aj["at"] = a.at;
      aj["user"] = text_or_null(a.user);
      aj["host"] = text_or_null(a.host);
      aj["command_line"] = text_or_null(a.command_line);
      aj["software_version"] = text_or_null(a.software_version);
      aj["action"] = a.action;
      aj["patient"] = text_or_null(a.patient);
      aj["sample"] = text_or_null(a.sample);
      Json detail = a.detail.empty() ? Json(nullptr) : Json::parse(a.detail, nullptr, false);
      aj["detail"] = detail.is_discarded() ? Json(a.detail) : detail;
      list.push_back(std::move(aj));
    }
    j["entries"] = std::move(list);
    print(j.dump(2) + "\n");
    return to_int(ExitCode::ok);
  }
  if (rows.empty()) {
    print(store.path().string() + ": no audit entries\n");
    return to_int(ExitCode::ok);
  }
  using A = TextTable::Align;
  TextTable table({"id", "at (UTC)", "user@host", "version", "action", "patient", "sample", "detail"},
                  {A::right});
  for (const auto& a : rows) {
    table.add_row({std::to_string(a.id), a.at, or_dash(a.user) + "@" + or_dash(a.host), or_dash(a.software_version),
                   a.action, or_dash(a.patient), or_dash(a.sample), audit_summary(a)});
  }
  std::string out;
  table.render(out, "");
  print(out);
  return to_int(ExitCode::ok);
}

}  // namespace

std::function<int()> add_db_command(CLI::App& app) {
  auto patients = std::make_shared<DbOptions>();
  auto timeline = std::make_shared<DbOptions>();
  auto exp = std::make_shared<DbOptions>();
  auto audit = std::make_shared<DbOptions>();
  CLI::App* cmd = app.add_subcommand(
      "db", "Read the results store written by 'flowmrd batch': patients, timelines, CSV export, audit log");
  cmd->require_subcommand(1);

  auto add_db = [](CLI::App* sub, DbOptions& o) {
    sub->add_option("--db", o.db, "The results store (SQLite), e.g. OUT/flowmrd.sqlite; opened read-only")
        ->required()
        ->type_name("FILE");
  };

  CLI::App* p = cmd->add_subcommand("patients", "List patients: protocol, samples, failures, dates, latest MRD");
  add_db(p, *patients);
  p->add_flag("--json", patients->json, "Print JSON (schema flowmrd.db.patients/1) instead of a table");

  CLI::App* t = cmd->add_subcommand("timeline", "One patient's samples in time order with MRD, CI, flags, risk");
  add_db(t, *timeline);
  t->add_option("--patient", timeline->patient, "Patient id")->required()->type_name("ID");
  t->add_flag("--json", timeline->json, "Print JSON (schema flowmrd.db.timeline/1) instead of a table");

  CLI::App* e = cmd->add_subcommand("export", "Write every sample (or one patient's) as CSV");
  add_db(e, *exp);
  e->add_option("--patient", exp->patient, "Only this patient")->type_name("ID");
  e->add_option("-o,--output", exp->output, "Output CSV, written atomically (default: standard output)")
      ->type_name("OUT.csv");

  CLI::App* a = cmd->add_subcommand("audit", "Show the append-only audit log (who recorded what, when)");
  add_db(a, *audit);
  a->add_option("--patient", audit->patient, "Only this patient's entries")->type_name("ID");
  a->add_flag("--json", audit->json, "Print JSON (schema flowmrd.db.audit/1) instead of a table");

  return [cmd, p, t, e, a, patients, timeline, exp, audit]() -> int {
    if (cmd->got_subcommand(p)) return run_patients(*patients);
    if (cmd->got_subcommand(t)) return run_timeline(*timeline);
    if (cmd->got_subcommand(e)) return run_export(*exp);
    if (cmd->got_subcommand(a)) return run_audit(*audit);
    throw CommandError(ExitCode::usage, "db: give 'patients', 'timeline', 'export' or 'audit'");
  };
}

}  // namespace flowmrd::cli
