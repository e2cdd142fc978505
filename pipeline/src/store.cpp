// SPDX-License-Identifier: Apache-2.0
// The SQLite results store (docs/store.md). The SQLite C API is used directly through three
// small RAII types (Db, Stmt, Transaction) so that every handle is released and every failed
// transaction rolled back on the exception path; nothing else in flowmrd sees sqlite3.h.
//
// The schema is created and upgraded only through `kMigrations` (step i brings version i to
// i + 1), all steps in one transaction, so an interrupted upgrade leaves the old schema intact.
#include "flowmrd/pipeline/store.hpp"
#include "flowmrd/pipeline/text_escape.hpp"

#include <pwd.h>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <span>
#include <string_view>
#include <system_error>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "fcs/sha256.hpp"

namespace flowmrd::pipeline {

namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// ---------------------------------------------------------------------------------------------
// Schema migrations. Never edit a released step: add a new one and bump kStoreSchemaVersion.

// Step 0 -> 1: the initial schema. `patient` is the natural key (a TEXT foreign key) rather than
// an integer id so that a lab's ad-hoc SQL needs no join to name a patient.
constexpr const char* kMigration1 = R"sql(
CREATE TABLE schema_version (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
INSERT INTO schema_version (id, version) VALUES (1, 0);

CREATE TABLE patients (
  patient    TEXT PRIMARY KEY NOT NULL,
  first_seen TEXT NOT NULL,
  protocol   TEXT
);

CREATE TABLE timepoints (
  id                 INTEGER PRIMARY KEY,
  patient            TEXT NOT NULL REFERENCES patients(patient),
  label              TEXT NOT NULL,
  protocol_timepoint TEXT,
  date               TEXT,
  UNIQUE (patient, label)
);

CREATE TABLE samples (
  id               INTEGER PRIMARY KEY,
  patient          TEXT NOT NULL REFERENCES patients(patient),
  sample           TEXT NOT NULL,
  timepoint_id     INTEGER REFERENCES timepoints(id),
  date             TEXT,
  diagnosis        INTEGER NOT NULL DEFAULT 0 CHECK (diagnosis IN (0, 1)),
  protocol         TEXT,
  panel            TEXT,
  clinical         TEXT NOT NULL DEFAULT '{}',
  fingerprint      TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
  error_kind       TEXT,
  error_message    TEXT,
  recorded_at      TEXT NOT NULL,
  software_version TEXT,
  UNIQUE (patient, sample)
);
CREATE INDEX samples_timepoint ON samples(timepoint_id);

CREATE TABLE results (
  sample_id          INTEGER PRIMARY KEY REFERENCES samples(id) ON DELETE CASCADE,
  result_json        TEXT NOT NULL,
  result_sha256      TEXT NOT NULL,
  mrd_percent        REAL,
  mrd_status         TEXT,
  lod_percent        REAL,
  lloq_percent       REAL,
  ci_low_percent     REAL,
  ci_high_percent    REAL,
  blast_events       INTEGER,
  denominator_events INTEGER,
  sensitivity_one_in REAL,
  flags              TEXT NOT NULL DEFAULT '',
  cd19_negative      INTEGER,
  lineage_switch     INTEGER,
  protocol_name      TEXT,
  protocol_version   TEXT,
  protocol_status    TEXT,
  risk_group         TEXT,
  rule_id            TEXT,
  rule_text          TEXT,
  alerts             TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX results_mrd_percent ON results(mrd_percent);
CREATE INDEX results_mrd_status ON results(mrd_status);
CREATE INDEX results_risk_group ON results(risk_group);

CREATE TABLE plots (
  id        INTEGER PRIMARY KEY,
  sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
  ordinal   INTEGER NOT NULL,
  name      TEXT NOT NULL,
  title     TEXT,
  tube      TEXT,
  png       BLOB NOT NULL,
  UNIQUE (sample_id, ordinal)
);

CREATE TABLE provenance (
  id                INTEGER PRIMARY KEY,
  sample_id         INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
  ordinal           INTEGER NOT NULL,
  label             TEXT NOT NULL,
  path              TEXT NOT NULL,
  sha256            TEXT,
  panel_name        TEXT,
  panel_version     TEXT,
  cytometer         TEXT,
  events            INTEGER,
  compensation_kind TEXT,
  UNIQUE (sample_id, ordinal)
);
CREATE INDEX provenance_sha256 ON provenance(sha256);

CREATE TABLE audit (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  at               TEXT NOT NULL,
  user             TEXT,
  host             TEXT,
  command_line     TEXT,
  software_version TEXT,
  action           TEXT NOT NULL,
  patient          TEXT,
  sample           TEXT,
  detail           TEXT
);
CREATE INDEX audit_patient ON audit(patient);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
  SELECT RAISE(ABORT, 'audit is append-only: rows cannot be changed');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
  SELECT RAISE(ABORT, 'audit is append-only: rows cannot be deleted');
END;

CREATE VIEW sample_results AS
SELECT s.patient, s.sample, t.label AS timepoint, t.protocol_timepoint, s.date, s.diagnosis,
       s.protocol, s.panel, s.status, s.error_kind, s.error_message,
       r.mrd_percent, r.mrd_status, r.lod_percent, r.lloq_percent, r.ci_low_percent,
       r.ci_high_percent, r.blast_events, r.denominator_events, r.sensitivity_one_in, r.flags,
       r.cd19_negative, r.lineage_switch, r.protocol_name, r.protocol_version,
       r.protocol_status, r.risk_group, r.rule_id, r.rule_text, r.alerts, r.result_sha256,
       s.fingerprint, s.recorded_at, s.software_version, s.id AS sample_row
FROM samples s
LEFT JOIN timepoints t ON t.id = s.timepoint_id
LEFT JOIN results r ON r.sample_id = s.id;
)sql";

constexpr std::array<const char*, 1> kMigrations = {kMigration1};
static_assert(kMigrations.size() == static_cast<std::size_t>(kStoreSchemaVersion),
              "one migration step per schema version");

// Timeline order, shared by timeline(), patients() and export_csv() so they cannot disagree.
constexpr const char* kTimelineOrder = "(s.date IS NULL), s.date, s.diagnosis DESC, s.sample";

// ---------------------------------------------------------------------------------------------
// RAII over the C API.

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& reason) {
  throw StoreError(path.string() + ": " + reason);
}

class Db {
 public:
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)) {}
  Db& operator=(Db&& o) noexcept {
    if (this != &o) {
      close();
      db_ = std::exchange(o.db_, nullptr);
      path_ = std::move(o.path_);
    }
    return *this;
  }
  ~Db() { close(); }

  void open(const std::filesystem::path& path, int flags) {
    path_ = path;
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    db_ = db;  // sqlite3_open_v2 may hand back a handle even on failure: close() frees it
    if (rc != SQLITE_OK) {
      const std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
      close();
      fail(path, "cannot open store: " + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
  }

  [[nodiscard]] sqlite3* get() const { return db_; }
  void set_path(const std::filesystem::path& path) { path_ = path; }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  [[noreturn]] void error(const std::string& what, int rc) const {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_NOTADB) msg = "not an SQLite database (a flowmrd results store is one)";
    if ((rc & 0xff) == SQLITE_BUSY) msg += " (another process holds the store; try again)";
    fail(path_, what + ": " + msg);
  }

  void exec(const char* sql, const std::string& what) const {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      if ((rc & 0xff) == SQLITE_NOTADB) msg = "not an SQLite database (a flowmrd results store is one)";
      fail(path_, what + ": " + msg);
    }
  }

 private:
  void close() noexcept {
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
  }
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

class Stmt {
 public:
  Stmt(const Db& db, const char* sql) : db_(&db) {
    const int rc = sqlite3_prepare_v2(db.get(), sql, -1, &stmt_, nullptr);
    if (rc != SQLITE_OK) db.error("cannot prepare query", rc);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(stmt_); }

  // Binding: index is 1-based as in SQLite. Empty text binds NULL when asked (`null_if_empty`),
  // which is how "" fields of the records become NULL columns.
  Stmt& text(int i, const std::string& s, bool null_if_empty = false) {
    if (null_if_empty && s.empty()) return null(i);
    check(sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& integer(int i, std::int64_t v) {
    check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  Stmt& real(int i, std::optional<double> v) {
    if (!v) return null(i);
    check(sqlite3_bind_double(stmt_, i, *v));
    return *this;
  }
  Stmt& integer(int i, std::optional<std::int64_t> v) { return v ? integer(i, *v) : null(i); }
  Stmt& blob(int i, const std::vector<std::uint8_t>& b) {
    // A zero-length blob still binds as a blob (not NULL): the column is NOT NULL.
    check(sqlite3_bind_blob(stmt_, i, b.empty() ? "" : static_cast<const void*>(b.data()),
                            static_cast<int>(b.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& null(int i) {
    check(sqlite3_bind_null(stmt_, i));
    return *this;
  }

  /// true: a row is available; false: done.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_->error("query failed", rc);
  }
  void run() {
    while (step()) {
    }
  }

  [[nodiscard]] bool is_null(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  [[nodiscard]] std::string str(int c) const {
    const auto* p = sqlite3_column_text(stmt_, c);
    if (!p) return {};
    return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c))};
  }
  [[nodiscard]] std::int64_t i64(int c) const { return sqlite3_column_int64(stmt_, c); }
  [[nodiscard]] std::optional<double> opt_real(int c) const {
    if (is_null(c)) return std::nullopt;
    return sqlite3_column_double(stmt_, c);
  }
  [[nodiscard]] std::optional<std::int64_t> opt_i64(int c) const {
    if (is_null(c)) return std::nullopt;
    return sqlite3_column_int64(stmt_, c);
  }
  [[nodiscard]] std::vector<std::uint8_t> bytes(int c) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, c));
    const int n = sqlite3_column_bytes(stmt_, c);
    if (!p || n <= 0) return {};
    return {p, p + n};
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) db_->error("cannot bind a value", rc);
  }
  const Db* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so a transaction
// never fails half-way because another writer got there first; the destructor rolls back
// whatever was not committed.
class Transaction {
 public:
  explicit Transaction(const Db& db) : db_(db) { db_.exec("BEGIN IMMEDIATE", "cannot start a transaction"); }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (!done_) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    db_.exec("COMMIT", "cannot commit");
    done_ = true;
  }

 private:
  const Db& db_;
  bool done_ = false;
};

// ---------------------------------------------------------------------------------------------
// Helpers.

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string current_user() {
  for (const char* var : {"USER", "LOGNAME"}) {
    if (const char* v = std::getenv(var); v && *v) return v;
  }
  // Services and containers often run without USER: the account name is the next best thing.
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwuid_r(getuid(), &pw, buf.data(), buf.size(), &found) == 0 && found && found->pw_name && *found->pw_name)
    return found->pw_name;
  return "uid " + std::to_string(static_cast<long long>(getuid()));
}

std::string current_host() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

std::string sha256_of(const std::string& text) {
  return fcs::sha256_hex(std::as_bytes(std::span(text.data(), text.size())));
}

std::string file_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    const auto pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

// Tolerant readers of the result JSON: a missing key, a null or a value of another type gives
// "absent", never an exception, because an older or hand-edited result must still be recordable.
const Json* member(const Json* j, const char* key) {
  if (!j || !j->is_object()) return nullptr;
  const auto it = j->find(key);
  if (it == j->end() || it->is_null()) return nullptr;
  return &*it;
}
std::optional<double> number(const Json* j) {
  if (!j || !j->is_number()) return std::nullopt;
  return j->get<double>();
}
std::optional<std::int64_t> integer(const Json* j) {
  if (!j || !j->is_number()) return std::nullopt;
  if (j->is_number_float()) return static_cast<std::int64_t>(j->get<double>());
  return j->get<std::int64_t>();
}
std::string string(const Json* j) { return j && j->is_string() ? j->get<std::string>() : std::string{}; }

// The indexed columns of `results`, taken from a flowmrd.result/1 text.
struct Extracted {
  std::string mrd_status;
  std::optional<double> mrd_percent, lod_percent, lloq_percent, ci_low, ci_high, sensitivity;
  std::optional<std::int64_t> blast_events, denominator_events;
  std::vector<std::string> flags;
  std::optional<std::int64_t> cd19_negative, lineage_switch;
  std::string protocol_name, protocol_version, protocol_status, risk_group, rule_id, rule_text;
  std::vector<std::string> alerts;
  struct Input {
    std::string path, file, sha256, panel_name, panel_version, cytometer, compensation_kind;
    std::optional<std::int64_t> events;
  };
  std::vector<Input> inputs;
};

Extracted extract(const Json& root) {
  Extracted e;
  if (const Json* mrd = member(&root, "mrd")) {
    e.mrd_status = string(member(mrd, "status"));
    e.mrd_percent = number(member(mrd, "percent"));
    e.lod_percent = number(member(mrd, "lod_percent"));
    e.lloq_percent = number(member(mrd, "lloq_percent"));
    if (const Json* ci = member(mrd, "ci95_percent"); ci && ci->is_array() && ci->size() == 2) {
      e.ci_low = number(&(*ci)[0]);
      e.ci_high = number(&(*ci)[1]);
    }
    e.blast_events = integer(member(mrd, "blast_events"));
    e.denominator_events = integer(member(mrd, "denominator_events"));
    e.sensitivity = number(member(mrd, "sensitivity_one_in"));
  }
  if (const Json* flags = member(&root, "flags"); flags && flags->is_array()) {
    for (const Json& f : *flags) {
      const std::string id = string(member(&f, "id"));
      const Json* raised = member(&f, "raised");
      if (id.empty() || !raised || !raised->is_boolean()) continue;
      const bool on = raised->get<bool>();
      if (on) e.flags.push_back(id);
      if (id == "cd19_negative") e.cd19_negative = on ? 1 : 0;
      if (id == "lineage_switch") e.lineage_switch = on ? 1 : 0;
    }
  }
  if (const Json* p = member(&root, "protocol")) {
    e.protocol_name = string(member(p, "name"));
    e.protocol_version = string(member(p, "version"));
    e.protocol_status = string(member(p, "status"));
    e.risk_group = string(member(p, "risk_group"));
    if (const Json* rule = member(p, "rule")) {
      e.rule_id = string(member(rule, "id"));
      e.rule_text = string(member(rule, "text"));
    }
    if (const Json* alerts = member(p, "alerts"); alerts && alerts->is_array()) {
      for (const Json& a : *alerts) {
        std::string text = string(member(&a, "alert"));
        if (!text.empty()) e.alerts.push_back(std::move(text));
      }
    }
  }
  if (const Json* prov = member(&root, "provenance")) {
    if (const Json* inputs = member(prov, "inputs"); inputs && inputs->is_array()) {
      for (const Json& in : *inputs) {
        Extracted::Input x;
        x.path = string(member(&in, "path"));
        x.file = string(member(&in, "file"));
        x.sha256 = string(member(&in, "sha256"));
        x.cytometer = string(member(&in, "cytometer"));
        x.events = integer(member(&in, "events"));
        if (const Json* panel = member(&in, "panel")) {
          x.panel_name = string(member(panel, "name"));
          x.panel_version = string(member(panel, "version"));
        }
        x.compensation_kind = string(member(member(&in, "compensation"), "kind"));
        e.inputs.push_back(std::move(x));
      }
    }
  }
  return e;
}

// The result's provenance entry that describes a tube: same SHA-256 when both are known, else
// same file name, else the entry at the tube's position (a result lists its tubes in order).
const Extracted::Input* input_for(const Extracted& e, const StoredTube& tube, std::size_t index) {
  if (!tube.sha256.empty()) {
    for (const auto& in : e.inputs)
      if (in.sha256 == tube.sha256) return &in;
  }
  const std::string name = file_name(tube.path);
  for (const auto& in : e.inputs)
    if (!name.empty() && (in.file == name || file_name(in.path) == name)) return &in;
  return index < e.inputs.size() ? &e.inputs[index] : nullptr;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

std::string csv_number(std::optional<double> v) {
  if (!v) return {};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", *v);
  return buf;
}

std::string csv_number(std::optional<std::int64_t> v) { return v ? std::to_string(*v) : std::string{}; }

bool starts_with_sqlite_header(const std::filesystem::path& path, bool& empty) {
  std::ifstream in(path, std::ios::binary);
  char header[16] = {};
  in.read(header, sizeof header);
  empty = in.gcount() == 0;
  return in.gcount() == 16 && std::memcmp(header, "SQLite format 3\0", 16) == 0;
}

// The schema version of an open database; 0 = no flowmrd tables at all (a new, empty file).
int read_version(const Db& db) {
  Stmt has(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  has.step();
  if (has.i64(0) == 0) {
    Stmt any(db, "SELECT count(*) FROM sqlite_master");
    any.step();
    if (any.i64(0) != 0)
      fail(db.path(), "an SQLite database but not a flowmrd results store (no schema_version table)");
    return 0;
  }
  Stmt v(db, "SELECT max(version) FROM schema_version");
  if (!v.step() || v.is_null(0)) fail(db.path(), "not a flowmrd results store (schema_version is empty)");
  return static_cast<int>(v.i64(0));
}

void refuse_newer(const Db& db, int version) {
  if (version > kStoreSchemaVersion) {
    fail(db.path(), "schema version " + std::to_string(version) + " is newer than this flowmrd (" +
                        std::to_string(kStoreSchemaVersion) + "); use a newer flowmrd");
  }
}

void configure(Db& db, bool writable) {
  // Another process (a report, `flowmrd db`, the lab's own sqlite3) may hold a lock briefly:
  // wait for it rather than fail.
  sqlite3_busy_timeout(db.get(), 10000);
  db.exec("PRAGMA foreign_keys = ON", "cannot enable foreign keys");
  if (writable) {
    // WAL lets readers go on while the batch writes; the setting is persistent in the file.
    Stmt wal(db, "PRAGMA journal_mode = WAL");
    wal.run();
  }
}

}  // namespace

// -----------------------------------------------------------------------------------------------

struct ResultStore::Impl {
  Db db;
  std::filesystem::path path;
  int version = 0;
  bool read_only = false;
};

ResultStore::ResultStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ResultStore::ResultStore(ResultStore&&) noexcept = default;
ResultStore& ResultStore::operator=(ResultStore&&) noexcept = default;
ResultStore::~ResultStore() = default;

const std::filesystem::path& ResultStore::path() const { return impl_->path; }
int ResultStore::schema_version() const { return impl_->version; }

ResultStore ResultStore::open(const std::filesystem::path& path) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  if (exists) {
    if (std::filesystem::is_directory(path, ec)) fail(path, "is a directory, not a results store");
    bool empty = false;
    // Checked before SQLite sees the file: SQLite would only notice on the first query, and
    // opening a stray file read-write must never touch it.
    if (!starts_with_sqlite_header(path, empty) && !empty)
      fail(path, "not an SQLite database (a flowmrd results store is one)");
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->db.open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  configure(impl->db, true);

  int version = read_version(impl->db);
  refuse_newer(impl->db, version);
  if (version < kStoreSchemaVersion) {
    Transaction tx(impl->db);
    version = read_version(impl->db);  // another process may have migrated meanwhile
    refuse_newer(impl->db, version);
    for (int step = version; step < kStoreSchemaVersion; ++step) {
      impl->db.exec(kMigrations[static_cast<std::size_t>(step)],
                    "cannot migrate schema version " + std::to_string(step) + " to " + std::to_string(step + 1));
    }
    Stmt set(impl->db, "UPDATE schema_version SET version = ?");
    set.integer(1, std::int64_t{kStoreSchemaVersion}).run();
    tx.commit();
    version = kStoreSchemaVersion;
  }
  impl->version = version;
  return ResultStore(std::move(impl));
}

ResultStore ResultStore::open_read_only(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(path, "no such store");
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a directory, not a results store");
  bool empty = false;
  if (!starts_with_sqlite_header(path, empty)) {
    fail(path, empty ? "empty file, not a flowmrd results store"
                     : "not an SQLite database (a flowmrd results store is one)");
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->read_only = true;
  // When we may write the file and its folder, the connection is opened read-write but with
  // query_only set: no statement can change the store, and the last connection to close still
  // checkpoints and removes the -wal/-shm files instead of leaving them behind. Otherwise (an
  // archived store, another user's store) it is a true read-only connection, which needs the
  // WAL index; when that cannot be created and no -wal file exists (so every commit is in the
  // main file), the file is opened as immutable.
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const bool writable = ::access(path.c_str(), W_OK) == 0 && ::access(dir.c_str(), W_OK) == 0;
  int version = 0;
  try {
    impl->db.open(path, writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY);
    configure(impl->db, false);
    if (writable) impl->db.exec("PRAGMA query_only = ON", "cannot open read-only");
    version = read_version(impl->db);
  } catch (const StoreError&) {
    std::filesystem::path wal = path;
    wal += "-wal";
    if (writable || std::filesystem::exists(wal, ec)) throw;
    std::string uri = "file:";
    for (const char c : std::filesystem::absolute(path, ec).string()) {
      if (c == '%' || c == '?' || c == '#') {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned>(static_cast<unsigned char>(c)));
        uri += buf;
      } else {
        uri += c;
      }
    }
    uri += "?immutable=1";
    impl->db = Db{};
    impl->db.open(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
    impl->db.set_path(path);
    configure(impl->db, false);
    version = read_version(impl->db);
  }
  if (version == 0) fail(path, "not a flowmrd results store (no schema)");
  refuse_newer(impl->db, version);
  if (version < kStoreSchemaVersion) {
    fail(path, "schema version " + std::to_string(version) + " is older than this flowmrd (" +
                   std::to_string(kStoreSchemaVersion) +
                   "); open it once with a writing command (flowmrd batch) to migrate it");
  }
  impl->version = version;
  return ResultStore(std::move(impl));
}

namespace {

void insert_audit(const Db& db, const std::string& at, const std::string& action, const AuditContext& who,
                  const std::string& patient, const std::string& sample, const std::string& detail) {
  Stmt ins(db,
           "INSERT INTO audit (at, user, host, command_line, software_version, action, patient, sample, detail) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ins.text(1, at)
      .text(2, who.user.empty() ? current_user() : who.user)
      .text(3, who.host.empty() ? current_host() : who.host)
      .text(4, who.command_line, true)
      .text(5, who.software_version, true)
      .text(6, action)
      .text(7, patient, true)
      .text(8, sample, true)
      .text(9, detail, true)
      .run();
}

}  // namespace

bool ResultStore::record(const SampleRecord& r, const AuditContext& who) {
  const Db& db = impl_->db;
  if (impl_->read_only) fail(impl_->path, "opened read-only: cannot record");
  const std::string which = "patient " + r.patient + " sample " + r.sample;
  if (r.patient.empty() || r.sample.empty()) fail(impl_->path, "cannot record a sample without patient and sample id");

  // Everything that can fail without the database is done before the transaction starts.
  std::optional<Extracted> ex;
  std::string result_sha;
  const bool has_result = r.ok && !r.result_json.empty();
  if (has_result) {
    Json parsed;
    try {
      parsed = Json::parse(r.result_json);
    } catch (const Json::exception& e) {
      fail(impl_->path, which + ": result is not valid JSON: " + e.what());
    }
    if (!parsed.is_object()) fail(impl_->path, which + ": result JSON is not an object");
    ex = extract(parsed);
    result_sha = sha256_of(r.result_json);
  }
  OrderedJson clinical = OrderedJson::object();
  for (const auto& [k, v] : r.clinical) clinical[k] = v;
  const std::string now = utc_now();

  Transaction tx(db);

  // The sample as recorded before, if it was.
  std::optional<std::int64_t> row;
  std::string old_fingerprint, old_status, old_sha;
  {
    Stmt q(db,
           "SELECT s.id, s.fingerprint, s.status, r.result_sha256 FROM samples s "
           "LEFT JOIN results r ON r.sample_id = s.id WHERE s.patient = ? AND s.sample = ?");
    q.text(1, r.patient).text(2, r.sample);
    if (q.step()) {
      row = q.i64(0);
      old_fingerprint = q.str(1);
      old_status = q.str(2);
      old_sha = q.str(3);
    }
  }
  const std::string status = r.ok ? "ok" : "failed";
  if (row && old_fingerprint == r.fingerprint && old_status == status && old_sha == result_sha) {
    return false;  // identical: the Transaction destructor rolls back the (empty) transaction
  }

  {
    Stmt p(db,
           "INSERT INTO patients (patient, first_seen, protocol) VALUES (?, ?, ?) "
           "ON CONFLICT (patient) DO UPDATE SET protocol = coalesce(excluded.protocol, protocol)");
    p.text(1, r.patient).text(2, now).text(3, r.protocol, true).run();
  }

  std::optional<std::int64_t> timepoint_id;
  if (!r.timepoint.empty()) {
    Stmt t(db,
           "INSERT INTO timepoints (patient, label, protocol_timepoint, date) VALUES (?, ?, ?, ?) "
           "ON CONFLICT (patient, label) DO UPDATE SET "
           "protocol_timepoint = coalesce(excluded.protocol_timepoint, protocol_timepoint), "
           "date = coalesce(excluded.date, date)");
    t.text(1, r.patient).text(2, r.timepoint).text(3, r.protocol_timepoint, true).text(4, r.date, true).run();
    Stmt id(db, "SELECT id FROM timepoints WHERE patient = ? AND label = ?");
    id.text(1, r.patient).text(2, r.timepoint);
    id.step();
    timepoint_id = id.i64(0);
  }

  if (row) {
    // A replacement keeps the sample's rowid (plots() callers may hold it) and re-inserts the
    // rows that hang off it.
    for (const char* sql : {"DELETE FROM results WHERE sample_id = ?", "DELETE FROM plots WHERE sample_id = ?",
                            "DELETE FROM provenance WHERE sample_id = ?"}) {
      Stmt d(db, sql);
      d.integer(1, *row).run();
    }
    Stmt u(db,
           "UPDATE samples SET timepoint_id = ?, date = ?, diagnosis = ?, protocol = ?, panel = ?, clinical = ?, "
           "fingerprint = ?, status = ?, error_kind = ?, error_message = ?, recorded_at = ?, software_version = ? "
           "WHERE id = ?");
    u.integer(1, timepoint_id)
        .text(2, r.date, true)
        .integer(3, std::int64_t{r.diagnosis ? 1 : 0})
        .text(4, r.protocol, true)
        .text(5, r.panel, true)
        .text(6, clinical.dump())
        .text(7, r.fingerprint)
        .text(8, status)
        .text(9, r.ok ? std::string{} : r.error_kind, true)
        .text(10, r.ok ? std::string{} : r.error_message, true)
        .text(11, now)
        .text(12, who.software_version, true)
        .integer(13, *row)
        .run();
  } else {
    Stmt i(db,
           "INSERT INTO samples (patient, sample, timepoint_id, date, diagnosis, protocol, panel, clinical, "
           "fingerprint, status, error_kind, error_message, recorded_at, software_version) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    i.text(1, r.patient)
        .text(2, r.sample)
        .integer(3, timepoint_id)
        .text(4, r.date, true)
        .integer(5, std::int64_t{r.diagnosis ? 1 : 0})
        .text(6, r.protocol, true)
        .text(7, r.panel, true)
        .text(8, clinical.dump())
        .text(9, r.fingerprint)
        .text(10, status)
        .text(11, r.ok ? std::string{} : r.error_kind, true)
        .text(12, r.ok ? std::string{} : r.error_message, true)
        .text(13, now)
        .text(14, who.software_version, true)
        .run();
    row = sqlite3_last_insert_rowid(db.get());
  }
  // A sample moved to another timepoint label may leave its old timepoint without samples.
  {
    Stmt d(db,
           "DELETE FROM timepoints WHERE patient = ? AND id NOT IN "
           "(SELECT timepoint_id FROM samples WHERE patient = ? AND timepoint_id IS NOT NULL)");
    d.text(1, r.patient).text(2, r.patient).run();
  }

  if (ex) {
    const Extracted& e = *ex;
    OrderedJson alerts = OrderedJson::array();
    for (const auto& a : e.alerts) alerts.push_back(a);
    Stmt i(db,
           "INSERT INTO results (sample_id, result_json, result_sha256, mrd_percent, mrd_status, lod_percent, "
           "lloq_percent, ci_low_percent, ci_high_percent, blast_events, denominator_events, sensitivity_one_in, "
           "flags, cd19_negative, lineage_switch, protocol_name, protocol_version, protocol_status, risk_group, "
           "rule_id, rule_text, alerts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    i.integer(1, *row)
        .text(2, r.result_json)
        .text(3, result_sha)
        .real(4, e.mrd_percent)
        .text(5, e.mrd_status, true)
        .real(6, e.lod_percent)
        .real(7, e.lloq_percent)
        .real(8, e.ci_low)
        .real(9, e.ci_high)
        .integer(10, e.blast_events)
        .integer(11, e.denominator_events)
        .real(12, e.sensitivity)
        .text(13, join(e.flags, ";"))
        .integer(14, e.cd19_negative)
        .integer(15, e.lineage_switch)
        .text(16, e.protocol_name, true)
        .text(17, e.protocol_version, true)
        .text(18, e.protocol_status, true)
        .text(19, e.risk_group, true)
        .text(20, e.rule_id, true)
        .text(21, e.rule_text, true)
        .text(22, alerts.dump())
        .run();
  }

  for (std::size_t k = 0; k < r.plots.size(); ++k) {
    const StoredPlot& p = r.plots[k];
    Stmt i(db, "INSERT INTO plots (sample_id, ordinal, name, title, tube, png) VALUES (?, ?, ?, ?, ?, ?)");
    i.integer(1, *row)
        .integer(2, static_cast<std::int64_t>(k))
        .text(3, p.name)
        .text(4, p.title, true)
        .text(5, p.tube, true)
        .blob(6, p.png)
        .run();
  }

  for (std::size_t k = 0; k < r.tubes.size(); ++k) {
    const StoredTube& t = r.tubes[k];
    const Extracted::Input* in = ex ? input_for(*ex, t, k) : nullptr;
    Stmt i(db,
           "INSERT INTO provenance (sample_id, ordinal, label, path, sha256, panel_name, panel_version, cytometer, "
           "events, compensation_kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    i.integer(1, *row)
        .integer(2, static_cast<std::int64_t>(k))
        .text(3, t.label)
        .text(4, t.path)
        .text(5, t.sha256, true);
    if (in) {
      i.text(6, in->panel_name, true)
          .text(7, in->panel_version, true)
          .text(8, in->cytometer, true)
          .integer(9, in->events)
          .text(10, in->compensation_kind, true);
    } else {
      for (int c = 6; c <= 10; ++c) i.null(c);
    }
    i.run();
  }

  OrderedJson detail;
  detail["status"] = status;
  detail["fingerprint"] = r.fingerprint;
  detail["result_sha256"] = result_sha.empty() ? OrderedJson(nullptr) : OrderedJson(result_sha);
  if (!r.ok) {
    detail["error_kind"] = r.error_kind;
    detail["error_message"] = r.error_message;
  }
  OrderedJson inputs = OrderedJson::array();
  for (const auto& t : r.tubes) {
    OrderedJson ij;
    ij["label"] = t.label;
    ij["path"] = t.path;
    ij["sha256"] = t.sha256.empty() ? OrderedJson(nullptr) : OrderedJson(t.sha256);
    inputs.push_back(std::move(ij));
  }
  detail["inputs"] = std::move(inputs);
  const bool replaced = !old_status.empty();
  if (replaced) {
    detail["previous_status"] = old_status;
    detail["previous_fingerprint"] = old_fingerprint;
    detail["previous_result_sha256"] = old_sha.empty() ? OrderedJson(nullptr) : OrderedJson(old_sha);
  }
  insert_audit(db, now, replaced ? "replaced" : "recorded", who, r.patient, r.sample, detail.dump());

  tx.commit();
  return true;
}

void ResultStore::audit(const std::string& action, const AuditContext& who, const std::string& detail) {
  if (impl_->read_only) fail(impl_->path, "opened read-only: cannot write the audit log");
  if (action.empty()) fail(impl_->path, "an audit row needs an action");
  if (!detail.empty() && !Json::accept(detail))
    fail(impl_->path, "audit detail for '" + action + "' is not valid JSON");
  Transaction tx(impl_->db);
  insert_audit(impl_->db, utc_now(), action, who, "", "", detail);
  tx.commit();
}

std::optional<ResultStore::SampleState> ResultStore::sample_state(const std::string& patient,
                                                                  const std::string& sample) const {
  Stmt q(impl_->db,
         "SELECT s.fingerprint, s.status, r.result_sha256 FROM samples s "
         "LEFT JOIN results r ON r.sample_id = s.id WHERE s.patient = ? AND s.sample = ?");
  q.text(1, patient).text(2, sample);
  if (!q.step()) return std::nullopt;
  SampleState st;
  st.fingerprint = q.str(0);
  st.ok = q.str(1) == "ok";
  st.result_sha256 = q.str(2);
  return st;
}

namespace {

// One query for timeline() and export_csv(): `where` selects the patient (or all).
std::vector<TimelineRow> load_rows(const Db& db, const std::string& patient, bool all) {
  std::string sql =
      "SELECT s.id, s.patient, s.sample, t.label, t.protocol_timepoint, s.date, s.protocol, s.panel, s.diagnosis, "
      "s.status, s.error_kind, s.error_message, s.fingerprint, r.mrd_status, r.mrd_percent, r.lod_percent, "
      "r.lloq_percent, r.ci_low_percent, r.ci_high_percent, r.blast_events, r.denominator_events, "
      "r.sensitivity_one_in, r.flags, r.protocol_name, r.protocol_version, r.protocol_status, r.risk_group, "
      "r.rule_id, r.rule_text, r.alerts, r.result_json, r.result_sha256, s.recorded_at, s.software_version "
      "FROM samples s LEFT JOIN timepoints t ON t.id = s.timepoint_id LEFT JOIN results r ON r.sample_id = s.id ";
  sql += all ? "ORDER BY s.patient, " : "WHERE s.patient = ? ORDER BY ";
  sql += kTimelineOrder;
  Stmt q(db, sql.c_str());
  if (!all) q.text(1, patient);
  std::vector<TimelineRow> rows;
  while (q.step()) {
    TimelineRow t;
    t.sample_row = q.i64(0);
    t.patient = q.str(1);
    t.sample = q.str(2);
    t.timepoint = q.str(3);
    t.protocol_timepoint = q.str(4);
    t.date = q.str(5);
    t.protocol = q.str(6);
    t.panel = q.str(7);
    t.diagnosis = q.i64(8) != 0;
    t.ok = q.str(9) == "ok";
    t.error_kind = q.str(10);
    t.error_message = q.str(11);
    t.fingerprint = q.str(12);
    t.mrd_status = q.str(13);
    t.mrd_percent = q.opt_real(14);
    t.lod_percent = q.opt_real(15);
    t.lloq_percent = q.opt_real(16);
    t.ci_low_percent = q.opt_real(17);
    t.ci_high_percent = q.opt_real(18);
    t.blast_events = q.opt_i64(19);
    t.denominator_events = q.opt_i64(20);
    t.sensitivity_one_in = q.opt_real(21);
    t.flags = split(q.str(22), ';');
    t.protocol_name = q.str(23);
    t.protocol_version = q.str(24);
    t.protocol_status = q.str(25);
    t.risk_group = q.str(26);
    t.rule_id = q.str(27);
    t.rule_text = q.str(28);
    if (const std::string a = q.str(29); !a.empty()) {
      const Json alerts = Json::parse(a, nullptr, false);
      if (alerts.is_array())
        for (const Json& x : alerts)
          if (x.is_string()) t.alerts.push_back(x.get<std::string>());
    }
    t.result_json = q.str(30);
    t.result_sha256 = q.str(31);
    t.recorded_at = q.str(32);
    t.software_version = q.str(33);
    rows.push_back(std::move(t));
  }
  // Tubes: one query for all rows rather than one per sample.
  if (!rows.empty()) {
    std::string tsql =
        "SELECT p.sample_id, p.label, p.path, p.sha256 FROM provenance p JOIN samples s ON s.id = p.sample_id ";
    tsql += all ? "" : "WHERE s.patient = ? ";
    tsql += "ORDER BY p.sample_id, p.ordinal";
    Stmt tq(db, tsql.c_str());
    if (!all) tq.text(1, patient);
    std::unordered_map<std::int64_t, std::vector<StoredTube>> tubes;
    while (tq.step()) tubes[tq.i64(0)].push_back(StoredTube{tq.str(1), tq.str(2), tq.str(3)});
    for (auto& row : rows) {
      if (auto it = tubes.find(row.sample_row); it != tubes.end()) row.tubes = std::move(it->second);
    }
  }
  return rows;
}

}  // namespace

std::vector<TimelineRow> ResultStore::timeline(const std::string& patient) const {
  return load_rows(impl_->db, patient, false);
}

std::vector<PatientRow> ResultStore::patients() const {
  std::vector<PatientRow> out;
  std::vector<TimelineRow> rows = load_rows(impl_->db, "", true);
  // Patients without samples cannot exist (a patient row is only written with a sample), but
  // the patients table is the authority on who is known.
  Stmt q(impl_->db, "SELECT patient FROM patients ORDER BY patient");
  std::size_t k = 0;
  while (q.step()) {
    PatientRow p;
    p.patient = q.str(0);
    while (k < rows.size() && rows[k].patient < p.patient) ++k;
    const TimelineRow* latest = nullptr;
    const TimelineRow* latest_ok = nullptr;
    for (; k < rows.size() && rows[k].patient == p.patient; ++k) {
      const TimelineRow& r = rows[k];
      ++p.samples;
      if (!r.ok) ++p.failed;
      if (!r.protocol.empty()) p.protocol = r.protocol;
      if (!r.date.empty()) {
        if (p.first_date.empty() || r.date < p.first_date) p.first_date = r.date;
        if (p.last_date.empty() || r.date > p.last_date) p.last_date = r.date;
      }
      latest = &r;
      if (r.ok) latest_ok = &r;
    }
    if (latest_ok) {
      p.latest_timepoint = latest_ok->timepoint;
      p.latest_mrd_percent = latest_ok->mrd_percent;
      p.latest_status = latest_ok->mrd_status;
    } else if (latest) {
      p.latest_timepoint = latest->timepoint;
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<StoredPlot> ResultStore::plots(std::int64_t sample_row) const {
  Stmt q(impl_->db, "SELECT name, title, tube, png FROM plots WHERE sample_id = ? ORDER BY ordinal");
  q.integer(1, sample_row);
  std::vector<StoredPlot> out;
  while (q.step()) out.push_back(StoredPlot{q.str(0), q.str(1), q.str(2), q.bytes(3)});
  return out;
}

std::vector<AuditRow> ResultStore::audit_log(const std::string& patient) const {
  std::string sql =
      "SELECT id, at, user, host, command_line, software_version, action, patient, sample, detail FROM audit ";
  if (!patient.empty()) sql += "WHERE patient = ? ";
  sql += "ORDER BY id";
  Stmt q(impl_->db, sql.c_str());
  if (!patient.empty()) q.text(1, patient);
  std::vector<AuditRow> out;
  while (q.step()) {
    AuditRow a;
    a.id = q.i64(0);
    a.at = q.str(1);
    a.user = q.str(2);
    a.host = q.str(3);
    a.command_line = q.str(4);
    a.software_version = q.str(5);
    a.action = q.str(6);
    a.patient = q.str(7);
    a.sample = q.str(8);
    a.detail = q.str(9);
    out.push_back(std::move(a));
  }
  return out;
}

std::string ResultStore::export_csv(const std::string& patient) const {
  const std::vector<TimelineRow> rows = load_rows(impl_->db, patient, patient.empty());
  std::string out =
      "patient,sample,timepoint,protocol_timepoint,date,protocol,status,error,mrd_percent,mrd_status,lod_percent,"
      "lloq_percent,ci_low_percent,ci_high_percent,blast_events,denominator_events,flags,risk_group,rule_id,files,"
      "sha256,software_version\n";
  for (const TimelineRow& r : rows) {
    std::vector<std::string> files, hashes;
    for (const auto& t : r.tubes) {
      files.push_back(t.path);
      hashes.push_back(t.sha256);
    }
    const std::string error = r.ok ? "" : (r.error_message.empty() ? r.error_kind : r.error_message);
    const std::array<std::string, 22> fields = {
        r.patient, r.sample, r.timepoint, r.protocol_timepoint, r.date, r.protocol, r.ok ? "ok" : "failed", error,
        csv_number(r.mrd_percent), r.mrd_status, csv_number(r.lod_percent), csv_number(r.lloq_percent),
        csv_number(r.ci_low_percent), csv_number(r.ci_high_percent), csv_number(r.blast_events),
        csv_number(r.denominator_events), join(r.flags, ";"), r.risk_group, r.rule_id, join(files, ";"),
        join(hashes, ";"), r.software_version};
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i) out += ',';
      out += csv_field(fields[i]);
    }
    out += '\n';
  }
  return out;
}

}  // namespace flowmrd::pipeline
