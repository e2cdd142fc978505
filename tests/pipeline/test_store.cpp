// SPDX-License-Identifier: Apache-2.0
// The SQLite results store (pipeline/store.hpp, docs/store.md): round trips, replacement and
// the audit log, refusal of foreign and newer files, atomicity of record().
#include <gtest/gtest.h>

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flowmrd/pipeline/store.hpp"

namespace fs = std::filesystem;
using flowmrd::pipeline::AuditContext;
using flowmrd::pipeline::ResultStore;
using flowmrd::pipeline::SampleRecord;
using flowmrd::pipeline::StoreError;
using flowmrd::pipeline::StoredPlot;
using flowmrd::pipeline::StoredTube;
using Json = nlohmann::ordered_json;

namespace {

// Directories made by temp_dir(), removed when the test process ends.
struct TempDirs {
  std::vector<fs::path> dirs;
  ~TempDirs() {
    std::error_code ec;
    for (const auto& d : dirs) fs::remove_all(d, ec);
  }
};
TempDirs& temp_dirs() {
  static TempDirs dirs;
  return dirs;
}

// A fresh directory per test (tests may run in parallel under ctest -j).
fs::path temp_dir() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(::testing::TempDir()) /
                 ("flowmrd_store_" + std::string(info->name()) + "_" + std::to_string(::getpid()) + "_" +
                  std::to_string(counter++));
  fs::remove_all(dir);
  fs::create_directories(dir);
  temp_dirs().dirs.push_back(dir);
  return dir;
}

// A result shaped like `flowmrd analyze --json` writes it (schema flowmrd.result/1): only the
// fields the store reads, plus some it must ignore.
Json result_json(double percent, const std::string& status, bool cd19neg, const std::string& tube_sha) {
  Json j;
  j["schema"] = "flowmrd.result/1";
  j["timepoint"] = "eoi";
  Json mrd;
  mrd["status"] = status;
  mrd["blast_events"] = 245;
  mrd["denominator_events"] = 53353;
  mrd["percent"] = percent;
  mrd["lod_percent"] = 0.03748617697;
  mrd["lloq_percent"] = 0.09371544243;
  mrd["ci95_percent"] = Json::array({0.4035003897, 0.5204519984});
  mrd["sensitivity_one_in"] = 2667.65;
  mrd["sentence"] = "MRD positive, with a comma";
  j["mrd"] = mrd;
  j["flags"] = Json::array();
  j["flags"].push_back({{"id", "cd19_negative"}, {"raised", cd19neg}, {"events", 205}});
  j["flags"].push_back({{"id", "lineage_switch"}, {"raised", false}, {"events", 0}});
  j["flags"].push_back({{"id", "low_cellularity"}, {"raised", true}, {"events", 53353}});
  Json p;
  p["name"] = "Interfant-21";
  p["version"] = "1";
  p["timepoint"] = "eoi";
  p["status"] = "decided";
  p["risk_group"] = "HR";
  p["rule"] = {{"id", "hr-mrd"}, {"text", "HR: MRD >= 0.05%, at end of induction"}, {"unverified", false}};
  p["alerts"] = Json::array();
  p["alerts"].push_back({{"alert", "CD19-negative blasts; check"}, {"evaluable", true}});
  p["alerts"].push_back({{"alert", nullptr}, {"evaluable", false}});
  j["protocol"] = p;
  Json in;
  in["path"] = "samples/demo/p1-eoi.fcs";
  in["file"] = "p1-eoi.fcs";
  in["sha256"] = tube_sha;
  in["events"] = 60000;
  in["cytometer"] = "LSRFortessa";
  in["panel"] = {{"name", "combined-12color"}, {"version", "1.0.0"}};
  in["compensation"] = {{"kind", "file_keyword"}, {"origin", "$SPILLOVER"}};
  j["provenance"] = {{"software_version", "0.1.0"}, {"inputs", Json::array({in})}};
  return j;
}

SampleRecord ok_record(const std::string& patient, const std::string& sample, const std::string& timepoint,
                       const std::string& date, double percent = 0.4592056679) {
  SampleRecord r;
  r.patient = patient;
  r.sample = sample;
  r.timepoint = timepoint;
  r.protocol_timepoint = timepoint;
  r.date = date;
  r.protocol = "interfant-21";
  r.panel = "combined-12color";
  r.clinical = {{"age_days", "120"}, {"wbc", "350"}};
  r.tubes = {StoredTube{"tube1", "/data/" + sample + ".fcs", std::string(64, 'a')}};
  r.fingerprint = "fp-" + sample;
  r.ok = true;
  r.result_json = result_json(percent, "positive", true, std::string(64, 'a')).dump(2) + "\n";
  return r;
}

SampleRecord failed_record(const std::string& patient, const std::string& sample, const std::string& date) {
  SampleRecord r;
  r.patient = patient;
  r.sample = sample;
  r.timepoint = sample;
  r.date = date;
  r.tubes = {StoredTube{"tube1", "/data/" + sample + ".fcs", ""}};
  r.fingerprint = "fp-failed-" + sample;
  r.ok = false;
  r.error_kind = "input_invalid";
  r.error_message = "/data/" + sample + ".fcs: not an FCS file";
  return r;
}

AuditContext who() {
  AuditContext w;
  w.command_line = "flowmrd batch manifest.csv --out out";
  w.software_version = "0.1.0";
  w.user = "tester";
  w.host = "lab-pc";
  return w;
}

// Runs SQL directly on the file, returning the sqlite3 result code.
int raw_exec(const fs::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return rc;
}

std::int64_t raw_count(const fs::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
  std::int64_t n = -1;
  if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e.what();
  }
  return "(no StoreError)";
}

}  // namespace

TEST(Store, CreatesSchemaAndReopens) {
  const fs::path db = temp_dir() / "s.sqlite";
  {
    ResultStore s = ResultStore::open(db);
    EXPECT_EQ(s.schema_version(), flowmrd::pipeline::kStoreSchemaVersion);
    EXPECT_EQ(s.path(), db);
    EXPECT_TRUE(s.patients().empty());
    EXPECT_TRUE(s.timeline("nobody").empty());
  }
  ResultStore again = ResultStore::open(db);
  EXPECT_EQ(again.schema_version(), flowmrd::pipeline::kStoreSchemaVersion);
  ResultStore ro = ResultStore::open_read_only(db);
  EXPECT_EQ(ro.schema_version(), flowmrd::pipeline::kStoreSchemaVersion);
  sqlite3* h = nullptr;
  sqlite3_open(db.c_str(), &h);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(h);
}

TEST(Store, RoundTripOkSample) {
  const fs::path db = temp_dir() / "s.sqlite";
  ResultStore s = ResultStore::open(db);
  SampleRecord r = ok_record("P1", "p1-eoi", "eoi", "2024-03-01");
  r.plots = {StoredPlot{"p1-eoi-01.png", "B cells: CD45 vs CD10", "tube1", {0x89, 'P', 'N', 'G', 0, 1, 2, 0xff}},
             StoredPlot{"p1-eoi-02.png", "empty", "tube1", {}}};
  EXPECT_TRUE(s.record(r, who()));

  const auto st = s.sample_state("P1", "p1-eoi");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->fingerprint, "fp-p1-eoi");
  EXPECT_TRUE(st->ok);
  EXPECT_EQ(st->result_sha256.size(), 64u);
  EXPECT_FALSE(s.sample_state("P1", "other"));

  const auto tl = s.timeline("P1");
  ASSERT_EQ(tl.size(), 1u);
  const auto& t = tl[0];
  EXPECT_EQ(t.patient, "P1");
  EXPECT_EQ(t.sample, "p1-eoi");
  EXPECT_EQ(t.timepoint, "eoi");
  EXPECT_EQ(t.protocol_timepoint, "eoi");
  EXPECT_EQ(t.date, "2024-03-01");
  EXPECT_EQ(t.protocol, "interfant-21");
  EXPECT_EQ(t.panel, "combined-12color");
  EXPECT_FALSE(t.diagnosis);
  EXPECT_TRUE(t.ok);
  EXPECT_EQ(t.mrd_status, "positive");
  ASSERT_TRUE(t.mrd_percent);
  EXPECT_DOUBLE_EQ(*t.mrd_percent, 0.4592056679);
  EXPECT_DOUBLE_EQ(*t.lod_percent, 0.03748617697);
  EXPECT_DOUBLE_EQ(*t.lloq_percent, 0.09371544243);
  EXPECT_DOUBLE_EQ(*t.ci_low_percent, 0.4035003897);
  EXPECT_DOUBLE_EQ(*t.ci_high_percent, 0.5204519984);
  EXPECT_EQ(*t.blast_events, 245);
  EXPECT_EQ(*t.denominator_events, 53353);
  EXPECT_DOUBLE_EQ(*t.sensitivity_one_in, 2667.65);
  EXPECT_EQ(t.flags, (std::vector<std::string>{"cd19_negative", "low_cellularity"}));
  EXPECT_EQ(t.protocol_name, "Interfant-21");
  EXPECT_EQ(t.protocol_version, "1");
  EXPECT_EQ(t.protocol_status, "decided");
  EXPECT_EQ(t.risk_group, "HR");
  EXPECT_EQ(t.rule_id, "hr-mrd");
  EXPECT_EQ(t.rule_text, "HR: MRD >= 0.05%, at end of induction");
  EXPECT_EQ(t.alerts, (std::vector<std::string>{"CD19-negative blasts; check"}));
  EXPECT_EQ(t.result_json, r.result_json);
  EXPECT_EQ(t.result_sha256, st->result_sha256);
  EXPECT_EQ(t.fingerprint, "fp-p1-eoi");
  EXPECT_EQ(t.software_version, "0.1.0");
  EXPECT_EQ(t.recorded_at.size(), 20u);  // 2024-03-01T12:00:00Z
  EXPECT_EQ(t.recorded_at.back(), 'Z');
  ASSERT_EQ(t.tubes.size(), 1u);
  EXPECT_EQ(t.tubes[0].label, "tube1");
  EXPECT_EQ(t.tubes[0].path, "/data/p1-eoi.fcs");
  EXPECT_EQ(t.tubes[0].sha256, std::string(64, 'a'));

  // Plots: BLOBs come back byte for byte, in order, an empty PNG included.
  const auto plots = s.plots(t.sample_row);
  ASSERT_EQ(plots.size(), 2u);
  EXPECT_EQ(plots[0].name, "p1-eoi-01.png");
  EXPECT_EQ(plots[0].title, "B cells: CD45 vs CD10");
  EXPECT_EQ(plots[0].tube, "tube1");
  EXPECT_EQ(plots[0].png, r.plots[0].png);
  EXPECT_TRUE(plots[1].png.empty());
  EXPECT_TRUE(s.plots(t.sample_row + 100).empty());

  // Indexed columns and provenance as a lab's SQL sees them.
  EXPECT_EQ(raw_count(db, "SELECT cd19_negative FROM results"), 1);
  EXPECT_EQ(raw_count(db, "SELECT lineage_switch FROM results"), 0);
  EXPECT_EQ(raw_count(db, "SELECT events FROM provenance WHERE panel_name = 'combined-12color' AND "
                          "panel_version = '1.0.0' AND cytometer = 'LSRFortessa' AND "
                          "compensation_kind = 'file_keyword'"),
            60000);
  EXPECT_EQ(raw_count(db, "SELECT count(*) FROM sample_results WHERE mrd_status = 'positive' AND "
                          "timepoint = 'eoi'"),
            1);
  EXPECT_EQ(raw_count(db, "SELECT count(*) FROM samples WHERE json_extract(clinical, '$.age_days') = '120'"), 1);

  const auto pts = s.patients();
  ASSERT_EQ(pts.size(), 1u);
  EXPECT_EQ(pts[0].patient, "P1");
  EXPECT_EQ(pts[0].protocol, "interfant-21");
  EXPECT_EQ(pts[0].samples, 1u);
  EXPECT_EQ(pts[0].failed, 0u);
  EXPECT_EQ(pts[0].first_date, "2024-03-01");
  EXPECT_EQ(pts[0].last_date, "2024-03-01");
  EXPECT_EQ(pts[0].latest_timepoint, "eoi");
  EXPECT_DOUBLE_EQ(*pts[0].latest_mrd_percent, 0.4592056679);
  EXPECT_EQ(pts[0].latest_status, "positive");

  const auto audit = s.audit_log();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "recorded");
  EXPECT_EQ(audit[0].patient, "P1");
  EXPECT_EQ(audit[0].sample, "p1-eoi");
  EXPECT_EQ(audit[0].user, "tester");
  EXPECT_EQ(audit[0].host, "lab-pc");
  EXPECT_EQ(audit[0].command_line, "flowmrd batch manifest.csv --out out");
  EXPECT_EQ(audit[0].software_version, "0.1.0");
  const auto detail = nlohmann::json::parse(audit[0].detail);
  EXPECT_EQ(detail["fingerprint"], "fp-p1-eoi");
  EXPECT_EQ(detail["result_sha256"], st->result_sha256);
  EXPECT_EQ(detail["inputs"][0]["sha256"], std::string(64, 'a'));
  EXPECT_FALSE(detail.contains("previous_result_sha256"));
}

TEST(Store, MissingAndNullFieldsBecomeNull) {
  const fs::path db = temp_dir() / "s.sqlite";
  ResultStore s = ResultStore::open(db);
  SampleRecord r = ok_record("P1", "s1", "dx", "");
  Json j;
  j["schema"] = "flowmrd.result/1";
  j["mrd"] = {{"status", "not_evaluable"}, {"percent", nullptr}, {"ci95_percent", {nullptr, nullptr}}};
  j["flags"] = Json::array({Json{{"id", "cd19_negative"}}});  // no "raised"
  j["protocol"] = {{"status", "not requested"}};
  r.result_json = j.dump();
  r.tubes = {StoredTube{"t", "x.fcs", ""}};
  EXPECT_TRUE(s.record(r, who()));
  const auto t = s.timeline("P1").at(0);
  EXPECT_EQ(t.mrd_status, "not_evaluable");
  EXPECT_FALSE(t.mrd_percent);
  EXPECT_FALSE(t.ci_low_percent);
  EXPECT_FALSE(t.ci_high_percent);
  EXPECT_FALSE(t.blast_events);
  EXPECT_FALSE(t.sensitivity_one_in);
  EXPECT_TRUE(t.flags.empty());
  EXPECT_EQ(t.protocol_status, "not requested");
  EXPECT_EQ(t.risk_group, "");
  EXPECT_EQ(t.date, "");
  EXPECT_EQ(raw_count(db, "SELECT count(*) FROM results WHERE cd19_negative IS NULL AND mrd_percent IS NULL "
                          "AND risk_group IS NULL"),
            1);
  EXPECT_EQ(raw_count(db, "SELECT count(*) FROM samples WHERE date IS NULL"), 1);
  EXPECT_EQ(raw_count(db, "SELECT count(*) FROM provenance WHERE sha256 IS NULL AND panel_name IS NULL"), 1);

  // A result whose members have unexpected types is still recorded (the columns stay NULL).
  SampleRecord odd = ok_record("P1", "s2", "eoi", "");
  odd.result_json = R"({"mrd": [], "flags": {"a": 1}, "protocol": "x", "provenance": {"inputs": 3}})";
  EXPECT_TRUE(s.record(odd, who()));
  EXPECT_EQ(s.timeline("P1").size(), 2u);
}

TEST(Store, FailedSample) {
  const fs::path db = temp_dir() / "s.sqlite";
  ResultStore s = ResultStore::open(db);
  EXPECT_TRUE(s.record(failed_record("P2", "bad", "2024-01-02"), who()));
  const auto t = s.timeline("P2").at(0);
  EXPECT_FALSE(t.ok);
  EXPECT_EQ(t.error_kind, "input_invalid");
  EXPECT_EQ(t.error_message, "/data/bad.fcs: not an FCS file");
  EXPECT_FALSE(t.mrd_percent);
  EXPECT_EQ(t.result_json, "");
  EXPECT_EQ(t.result_sha256, "");
  ASSERT_EQ(t.tubes.size(), 1u);
  EXPECT_EQ(t.tubes[0].sha256, "");
  const auto st = s.sample_state("P2", "bad");
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->ok);
  EXPECT_EQ(st->result_sha256, "");
  const auto p = s.patients().at(0);
  EXPECT_EQ(p.samples, 1u);
  EXPECT_EQ(p.failed, 1u);
  EXPECT_EQ(p.latest_timepoint, "bad");
  EXPECT_FALSE(p.latest_mrd_percent);
  EXPECT_EQ(raw_count(db, "SELECT count(*) FROM results"), 0);
  const auto detail = nlohmann::json::parse(s.audit_log().at(0).detail);
  EXPECT_EQ(detail["status"], "failed");
  EXPECT_EQ(detail["error_kind"], "input_invalid");
  EXPECT_TRUE(detail["result_sha256"].is_null());
}

TEST(Store, ReplaceAndIdenticalRerecord) {
  const fs::path db = temp_dir() / "s.sqlite";
  ResultStore s = ResultStore::open(db);
  SampleRecord first = failed_record("P1", "p1-eoi", "2024-03-01");
  first.timepoint = "eoi";
  ASSERT_TRUE(s.record(first, who()));
  const std::int64_t row = s.timeline("P1").at(0).sample_row;

  SampleRecord second = ok_record("P1", "p1-eoi", "eoi", "2024-03-01");
  second.plots = {StoredPlot{"a.png", "A", "tube1", {1, 2, 3}}};
  ASSERT_TRUE(s.record(second, who()));
  // Identical: no change, no audit row (this is how --resume avoids duplicates).
  EXPECT_FALSE(s.record(second, who()));
  EXPECT_FALSE(s.record(second, who()));

  const auto tl = s.timeline("P1");
  ASSERT_EQ(tl.size(), 1u);
  EXPECT_TRUE(tl[0].ok);
  EXPECT_EQ(tl[0].sample_row, row);
  EXPECT_EQ(tl[0].error_message, "");
  EXPECT_EQ(s.plots(row).size(), 1u);
  EXPECT_EQ(raw_count(db, "SELECT count(*) FROM provenance"), 1);
  EXPECT_EQ(raw_count(db, "SELECT count(*) FROM timepoints"), 1);

  // A new result (different MRD) replaces the old one; rows hanging off the sample are renewed.
  SampleRecord third = ok_record("P1", "p1-eoi", "eoi", "2024-03-01", 0.01);
  third.fingerprint = "fp-new";
  ASSERT_TRUE(s.record(third, who()));
  EXPECT_DOUBLE_EQ(*s.timeline("P1").at(0).mrd_percent, 0.01);
  EXPECT_TRUE(s.plots(row).empty());
  EXPECT_EQ(raw_count(db, "SELECT count(*) FROM results"), 1);
  EXPECT_EQ(raw_count(db, "SELECT count(*) FROM samples"), 1);

  const auto audit = s.audit_log("P1");
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[0].action, "recorded");
  EXPECT_EQ(audit[1].action, "replaced");
  EXPECT_EQ(audit[2].action, "replaced");
  EXPECT_LT(audit[0].id, audit[1].id);
  const auto d1 = nlohmann::json::parse(audit[1].detail);
  EXPECT_EQ(d1["previous_status"], "failed");
  EXPECT_EQ(d1["previous_fingerprint"], "fp-failed-p1-eoi");
  EXPECT_TRUE(d1["previous_result_sha256"].is_null());
  const auto d2 = nlohmann::json::parse(audit[2].detail);
  EXPECT_EQ(d2["previous_fingerprint"], "fp-p1-eoi");
  EXPECT_EQ(d2["fingerprint"], "fp-new");
  EXPECT_EQ(d2["previous_result_sha256"], d1["result_sha256"]);
  EXPECT_NE(d2["result_sha256"], d1["result_sha256"]);

  // Moving the sample to another timepoint label leaves no orphan timepoint.
  SampleRecord moved = third;
  moved.timepoint = "day15";
  moved.fingerprint = "fp-moved";
  ASSERT_TRUE(s.record(moved, who()));
  EXPECT_EQ(raw_count(db, "SELECT count(*) FROM timepoints"), 1);
  EXPECT_EQ(s.timeline("P1").at(0).timepoint, "day15");
}

TEST(Store, AuditIsAppendOnly) {
  const fs::path db = temp_dir() / "s.sqlite";
  {
    ResultStore s = ResultStore::open(db);
    s.audit("batch-started", who(), R"({"manifest": "m.csv"})");
    s.audit("batch-finished", who());
    EXPECT_THROW(s.audit("bad", who(), "{not json"), StoreError);
    EXPECT_TRUE(s.record(ok_record("P1", "a", "eoi", "2024-01-01"), who()));
    const auto log = s.audit_log();
    ASSERT_EQ(log.size(), 3u);
    EXPECT_EQ(log[0].action, "batch-started");
    EXPECT_EQ(log[0].detail, R"({"manifest": "m.csv"})");
    EXPECT_EQ(log[0].patient, "");
    EXPECT_EQ(log[1].detail, "");
    EXPECT_EQ(s.audit_log("P1").size(), 1u);
    EXPECT_TRUE(s.audit_log("P9").empty());
  }
  EXPECT_EQ(raw_exec(db, "UPDATE audit SET action = 'x'") & 0xff, SQLITE_CONSTRAINT);
  EXPECT_EQ(raw_exec(db, "DELETE FROM audit") & 0xff, SQLITE_CONSTRAINT);
  EXPECT_EQ(raw_count(db, "SELECT count(*) FROM audit WHERE action != 'x'"), 3);
}

TEST(Store, TimelineOrder) {
  const fs::path db = temp_dir() / "s.sqlite";
  ResultStore s = ResultStore::open(db);
  // Recorded out of order on purpose.
  ASSERT_TRUE(s.record(ok_record("P1", "undated-b", "x", ""), who()));
  ASSERT_TRUE(s.record(ok_record("P1", "undated-a", "y", ""), who()));
  ASSERT_TRUE(s.record(ok_record("P1", "eoi", "eoi", "2024-03-01"), who()));
  ASSERT_TRUE(s.record(failed_record("P1", "day15", "2024-02-15"), who()));
  SampleRecord dx = ok_record("P1", "zz-dx", "dx", "2024-02-01");
  dx.diagnosis = true;
  ASSERT_TRUE(s.record(dx, who()));
  ASSERT_TRUE(s.record(ok_record("P1", "aa-same-day", "d", "2024-02-01"), who()));
  ASSERT_TRUE(s.record(ok_record("P0", "other", "eoi", "2023-01-01"), who()));

  std::vector<std::string> order;
  for (const auto& t : s.timeline("P1")) order.push_back(t.sample);
  EXPECT_EQ(order, (std::vector<std::string>{"zz-dx", "aa-same-day", "day15", "eoi", "undated-a", "undated-b"}));
  EXPECT_TRUE(s.timeline("P1")[0].diagnosis);

  const auto pts = s.patients();
  ASSERT_EQ(pts.size(), 2u);
  EXPECT_EQ(pts[0].patient, "P0");
  EXPECT_EQ(pts[1].patient, "P1");
  EXPECT_EQ(pts[1].samples, 6u);
  EXPECT_EQ(pts[1].failed, 1u);
  EXPECT_EQ(pts[1].first_date, "2024-02-01");
  EXPECT_EQ(pts[1].last_date, "2024-03-01");
  EXPECT_EQ(pts[1].latest_timepoint, "x");  // undated samples sort last
}

TEST(Store, ExportCsv) {
  const fs::path db = temp_dir() / "s.sqlite";
  ResultStore s = ResultStore::open(db);
  SampleRecord a = ok_record("P1", "p1-eoi", "eoi", "2024-03-01", 1.0 / 3.0);
  a.tubes.push_back(StoredTube{"tube2", "/data/with,comma.fcs", std::string(64, 'b')});
  ASSERT_TRUE(s.record(a, who()));
  SampleRecord f = failed_record("P0", "bad", "2024-01-02");
  f.error_message = "/data/bad.fcs: say \"no\"";
  ASSERT_TRUE(s.record(f, who()));

  const std::string header =
      "patient,sample,timepoint,protocol_timepoint,date,protocol,status,error,mrd_percent,mrd_status,lod_percent,"
      "lloq_percent,ci_low_percent,ci_high_percent,blast_events,denominator_events,flags,risk_group,rule_id,files,"
      "sha256,software_version\n";
  const std::string row_p0 = "P0,bad,bad,,2024-01-02,,failed,\"/data/bad.fcs: say \"\"no\"\"\",,,,,,,,,,,,"
                             "/data/bad.fcs,,0.1.0\n";
  const std::string row_p1 = "P1,p1-eoi,eoi,eoi,2024-03-01,interfant-21,ok,,0.3333333333,positive,0.03748617697,"
                             "0.09371544243,0.4035003897,0.5204519984,245,53353,cd19_negative;low_cellularity,HR,"
                             "hr-mrd,\"/data/p1-eoi.fcs;/data/with,comma.fcs\"," +
                             std::string(64, 'a') + ";" + std::string(64, 'b') + ",0.1.0\n";
  EXPECT_EQ(s.export_csv(), header + row_p0 + row_p1);
  EXPECT_EQ(s.export_csv("P1"), header + row_p1);
  EXPECT_EQ(s.export_csv("nobody"), header);
}

TEST(Store, DeterministicAcrossStores) {
  // Two stores that recorded the same records (in another order, at other times) export the
  // same CSV and the same timelines, apart from recorded_at and the audit log.
  const fs::path dir = temp_dir();
  ResultStore s1 = ResultStore::open(dir / "a.sqlite");
  ResultStore s2 = ResultStore::open(dir / "b.sqlite");
  const std::vector<SampleRecord> recs = {ok_record("P1", "a", "dx", "2024-01-01"),
                                          ok_record("P1", "b", "eoi", "2024-02-01"),
                                          failed_record("P2", "c", "2024-01-05"), ok_record("P2", "d", "x", "")};
  for (const auto& r : recs) s1.record(r, who());
  AuditContext other;  // another user, host and command line, the same software
  other.software_version = "0.1.0";
  other.command_line = "snakemake --cores 2";
  for (auto it = recs.rbegin(); it != recs.rend(); ++it) s2.record(*it, other);
  EXPECT_EQ(s1.export_csv(), s2.export_csv());
  for (const std::string p : {"P1", "P2"}) {
    auto t1 = s1.timeline(p);
    auto t2 = s2.timeline(p);
    ASSERT_EQ(t1.size(), t2.size());
    for (std::size_t i = 0; i < t1.size(); ++i) {
      EXPECT_EQ(t1[i].sample, t2[i].sample);
      EXPECT_EQ(t1[i].result_sha256, t2[i].result_sha256);
      EXPECT_EQ(t1[i].mrd_percent, t2[i].mrd_percent);
      EXPECT_EQ(t1[i].tubes.size(), t2[i].tubes.size());
    }
  }
}

TEST(Store, RefusesNewerSchema) {
  const fs::path db = temp_dir() / "s.sqlite";
  { ResultStore s = ResultStore::open(db); }
  ASSERT_EQ(raw_exec(db, "UPDATE schema_version SET version = 99"), SQLITE_OK);
  const std::string expected = db.string() + ": schema version 99 is newer than this flowmrd (" +
                               std::to_string(flowmrd::pipeline::kStoreSchemaVersion) + "); use a newer flowmrd";
  EXPECT_EQ(error_of([&] { ResultStore::open(db); }), expected);
  EXPECT_EQ(error_of([&] { ResultStore::open_read_only(db); }), expected);
}

TEST(Store, RefusesNewerSchemaMadeElsewhere) {
  // As another tool (or a later flowmrd) might have written it: a bare schema_version table.
  const fs::path db = temp_dir() / "s.sqlite";
  ASSERT_EQ(raw_exec(db, "CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES (99);"),
            SQLITE_OK);
  EXPECT_NE(error_of([&] { ResultStore::open(db); }).find("schema version 99 is newer"), std::string::npos);
}

TEST(Store, RefusesNotADatabase) {
  const fs::path dir = temp_dir();
  const fs::path junk = dir / "junk.sqlite";
  {
    std::ofstream out(junk, std::ios::binary);
    out << "this is not a database, just some junk bytes\n" << std::string(4096, '\x7f');
  }
  const auto size_before = fs::file_size(junk);
  const std::string e = error_of([&] { ResultStore::open(junk); });
  EXPECT_EQ(e, junk.string() + ": not an SQLite database (a flowmrd results store is one)");
  EXPECT_NE(error_of([&] { ResultStore::open_read_only(junk); }).find("not an SQLite database"), std::string::npos);
  EXPECT_EQ(fs::file_size(junk), size_before);  // untouched
  EXPECT_FALSE(fs::exists(dir / "junk.sqlite-wal"));

  // An SQLite database of something else is not taken over either.
  const fs::path other = dir / "other.sqlite";
  ASSERT_EQ(raw_exec(other, "CREATE TABLE t (x)"), SQLITE_OK);
  EXPECT_NE(error_of([&] { ResultStore::open(other); }).find("not a flowmrd results store"), std::string::npos);
  EXPECT_NE(error_of([&] { ResultStore::open_read_only(other); }).find("not a flowmrd results store"),
            std::string::npos);

  // A directory.
  EXPECT_NE(error_of([&] { ResultStore::open(dir); }).find("is a directory"), std::string::npos);
}

TEST(Store, ReadOnly) {
  const fs::path dir = temp_dir();
  EXPECT_EQ(error_of([&] { ResultStore::open_read_only(dir / "missing.sqlite"); }),
            (dir / "missing.sqlite").string() + ": no such store");
  EXPECT_FALSE(fs::exists(dir / "missing.sqlite"));

  const fs::path db = dir / "s.sqlite";
  {
    ResultStore w = ResultStore::open(db);
    ASSERT_TRUE(w.record(ok_record("P1", "a", "eoi", "2024-01-01"), who()));
  }
  ResultStore ro = ResultStore::open_read_only(db);
  EXPECT_EQ(ro.timeline("P1").size(), 1u);
  EXPECT_THROW(ro.record(ok_record("P1", "b", "eoi", "2024-01-01"), who()), StoreError);
  EXPECT_THROW(ro.audit("x", who()), StoreError);

  // An empty file (e.g. touched by a script) is not a store for readers.
  const fs::path empty = dir / "empty.sqlite";
  { std::ofstream out(empty); }
  EXPECT_NE(error_of([&] { ResultStore::open_read_only(empty); }).find("not a flowmrd results store"),
            std::string::npos);
  // ...but a writer may initialise it.
  EXPECT_EQ(ResultStore::open(empty).schema_version(), flowmrd::pipeline::kStoreSchemaVersion);
}

TEST(Store, RecordIsAtomic) {
  const fs::path db = temp_dir() / "s.sqlite";
  ResultStore s = ResultStore::open(db);
  ASSERT_TRUE(s.record(ok_record("P1", "a", "eoi", "2024-01-01"), who()));

  SampleRecord bad = ok_record("P2", "broken", "eoi", "2024-01-01");
  bad.result_json = "{\"mrd\": {\"percent\": 1.0";
  const std::string e = error_of([&] { s.record(bad, who()); });
  EXPECT_NE(e.find("patient P2 sample broken"), std::string::npos) << e;
  EXPECT_EQ(e.rfind(db.string() + ": ", 0), 0u) << e;

  // A failure inside the transaction, after the sample row was written: a trigger makes the
  // provenance insert of one tube fail.
  ASSERT_EQ(raw_exec(db, "CREATE TRIGGER boom BEFORE INSERT ON provenance WHEN NEW.label = 'boom' "
                         "BEGIN SELECT RAISE(ABORT, 'boom'); END;"),
            SQLITE_OK);
  SampleRecord half = ok_record("P1", "a", "eoi", "2024-01-01", 2.0);
  half.fingerprint = "changed";
  half.tubes.push_back(StoredTube{"boom", "/x.fcs", ""});
  EXPECT_THROW(s.record(half, who()), StoreError);

  // Nothing of either attempt is visible: the old P1/a stays as it was, P2 does not exist.
  EXPECT_EQ(s.patients().size(), 1u);
  EXPECT_TRUE(s.timeline("P2").empty());
  const auto t = s.timeline("P1").at(0);
  EXPECT_DOUBLE_EQ(*t.mrd_percent, 0.4592056679);
  EXPECT_EQ(t.fingerprint, "fp-a");
  EXPECT_EQ(t.tubes.size(), 1u);
  EXPECT_EQ(s.audit_log().size(), 1u);
  // And the store is still usable.
  EXPECT_TRUE(s.record(ok_record("P2", "ok", "eoi", "2024-01-01"), who()));
}

TEST(Store, SecondHandleSeesCommittedRecord) {
  const fs::path db = temp_dir() / "s.sqlite";
  ResultStore writer = ResultStore::open(db);
  ResultStore reader = ResultStore::open(db);
  ResultStore ro = ResultStore::open_read_only(db);
  ASSERT_TRUE(writer.record(ok_record("P1", "a", "eoi", "2024-01-01"), who()));
  EXPECT_EQ(reader.timeline("P1").size(), 1u);
  EXPECT_EQ(ro.timeline("P1").size(), 1u);
  // The second writer sees the first one's record as identical and writes nothing.
  EXPECT_FALSE(reader.record(ok_record("P1", "a", "eoi", "2024-01-01"), who()));
  EXPECT_EQ(ro.audit_log().size(), 1u);
}

TEST(Store, MovedHandle) {
  const fs::path db = temp_dir() / "s.sqlite";
  ResultStore a = ResultStore::open(db);
  ResultStore b = std::move(a);
  ASSERT_TRUE(b.record(ok_record("P1", "a", "eoi", "2024-01-01"), who()));
  ResultStore c = ResultStore::open(temp_dir() / "other.sqlite");
  c = std::move(b);
  EXPECT_EQ(c.timeline("P1").size(), 1u);
  EXPECT_EQ(c.path(), db);
}

TEST(Store, ReadersGoOnWhileAWriterHoldsTheLock) {
  // WAL: a report or `flowmrd db` reads the last committed state while a batch is mid-transaction.
  const fs::path db = temp_dir() / "s.sqlite";
  {
    ResultStore s = ResultStore::open(db);
    ASSERT_TRUE(s.record(ok_record("P1", "a", "eoi", "2024-01-01"), who()));
  }
  sqlite3* writer = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &writer), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(writer, "BEGIN IMMEDIATE; DELETE FROM results;", nullptr, nullptr, nullptr), SQLITE_OK);
  {
    ResultStore ro = ResultStore::open_read_only(db);
    const auto t = ro.timeline("P1");
    ASSERT_EQ(t.size(), 1u);
    EXPECT_TRUE(t[0].mrd_percent);  // the uncommitted delete is not visible
    ResultStore again = ResultStore::open(db);  // opening (no migration needed) takes no write lock
    EXPECT_EQ(again.patients().size(), 1u);
  }
  sqlite3_exec(writer, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(writer);
}
