// SPDX-License-Identifier: Apache-2.0
/// @file golden_support.hpp
/// Helpers for the golden tests (test_golden.cpp): the shared corpus index, the expectations file,
/// numeric comparison with flowCore's doubles, and a checker that turns mismatches into precise,
/// capped GoogleTest failures (or "known differences" when the expectations file explains them).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace golden {

using json = nlohmann::json;
namespace fs = std::filesystem;

// ------------------------------------------------------------------------------------------------
// Paths

// Set by tests/CMakeLists.txt; the fallbacks only keep a bare syntax check compiling.
#ifndef FLOWMRD_SHARED_DATA
#define FLOWMRD_SHARED_DATA ""
#endif
#ifndef FLOWMRD_SOURCE_DIR
#define FLOWMRD_SOURCE_DIR "."
#endif

/// ${FLOWMRD_SHARED_DATA}/fcs: files/, golden/, README.md. The environment variable
/// FLOWMRD_SHARED_DATA, when set, overrides the path compiled in.
inline fs::path corpus_dir() {
  const char* env = std::getenv("FLOWMRD_SHARED_DATA");
  return fs::path(env != nullptr && *env != '\0' ? env : FLOWMRD_SHARED_DATA) / "fcs";
}
inline fs::path expectations_path() {
  return fs::path(FLOWMRD_SOURCE_DIR) / "tests" / "libfcs" / "golden_expectations.tsv";
}

// ------------------------------------------------------------------------------------------------
// Small string helpers

inline std::string_view trim_view(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

inline std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline bool icontains(std::string_view hay, std::string_view needle) {
  return lower(hay).find(lower(needle)) != std::string::npos;
}

/// Printable form of a keyword value or name for messages: quoted, control bytes escaped,
/// truncated to `max` characters.
inline std::string quote(std::string_view s, std::size_t max = 80) {
  std::string out = "\"";
  std::size_t n = 0;
  for (const char ch : s) {
    if (n++ >= max) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  out += "\"";
  return out;
}

/// flowCore returns bytes that are not UTF-8 as "<xx>" text, and the golden JSON holds no other
/// non-ASCII character (G11's UTF-8 "™" comes back as "<e2><84><a2>" too). So the raw bytes we
/// keep are compared after turning every byte >= 0x80 into "<xx>" (lower-case hex).
inline std::string flowcore_text(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (const char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<%02x>", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

/// Glob match with `*` (any run) and `?` (one character); case-sensitive.
inline bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

/// Rows of a tab-separated file; blank lines and lines starting with '#' are skipped.
/// Each row is paired with its 1-based line number.
inline std::vector<std::pair<int, std::vector<std::string>>> read_tsv(const fs::path& path) {
  std::vector<std::pair<int, std::vector<std::string>>> rows;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim_view(line).empty() || trim_view(line).front() == '#') continue;
    rows.emplace_back(n, split(line, '\t'));
  }
  return rows;
}

// ------------------------------------------------------------------------------------------------
// Numbers

/// A golden number: JSON number or one of the strings "NaN", "Inf", "-Inf".
inline double num(const json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Inf") return std::numeric_limits<double>::infinity();
    if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  }
  if (j.is_null()) return std::numeric_limits<double>::quiet_NaN();
  throw std::runtime_error("golden: not a number: " + j.dump());
}

/// a (ours) vs b (expected): NaN matches NaN, infinities match by sign, otherwise
/// |a-b| <= max(abs_tol, rel * |b|).
inline bool close(double a, double b, double rel = 1e-6, double abs_tol = 1e-9) {
  if (std::isnan(b) || std::isnan(a)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(b) || std::isinf(a)) return a == b;
  return std::fabs(a - b) <= std::max(abs_tol, rel * std::fabs(b));
}

inline std::string fmt(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

/// Short form for notes (6 significant digits).
inline std::string fmt_short(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

/// Neumaier-compensated sum in long double: exact enough to compare with math.fsum.
class Accumulator {
 public:
  void add(long double x) {
    const long double t = sum_ + x;
    if (std::fabs(sum_) >= std::fabs(x)) {
      c_ += (sum_ - t) + x;
    } else {
      c_ += (x - t) + sum_;
    }
    sum_ = t;
  }
  [[nodiscard]] double value() const { return static_cast<double>(sum_ + c_); }

 private:
  long double sum_ = 0;
  long double c_ = 0;
};

/// Per-channel statistics as the golden JSON computes them: min/max are NaN if any value is NaN,
/// sum and sumsq over all events (sumsq of the double products, as Python's x*x).
struct Stats {
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
  double sum = 0, sumsq = 0;
  double sum_abs = 0;  ///< Scale for the tolerance on `sum` when it cancels to near zero.
  std::size_t n = 0;
};

template <class Span>
Stats compute_stats(const Span& values) {
  Stats s;
  Accumulator sum, sumsq, sumabs;
  bool any_nan = false;
  double mn = std::numeric_limits<double>::infinity();
  double mx = -std::numeric_limits<double>::infinity();
  for (const auto v : values) {
    const auto x = static_cast<double>(v);
    if (std::isnan(x)) any_nan = true;
    mn = std::min(mn, x);
    mx = std::max(mx, x);
    sum.add(x);
    sumsq.add(x * x);
    sumabs.add(std::fabs(x));
  }
  s.n = static_cast<std::size_t>(values.size());
  if (s.n > 0 && !any_nan) {
    s.min = mn;
    s.max = mx;
  }
  s.sum = any_nan ? std::numeric_limits<double>::quiet_NaN() : sum.value();
  s.sumsq = any_nan ? std::numeric_limits<double>::quiet_NaN() : sumsq.value();
  s.sum_abs = sumabs.value();
  return s;
}

/// Tolerances for the stats: each value may differ by rel 1e-6 (abs 1e-9 near zero), so
/// |Δsum| <= 1e-6 |sum| + 1e-9 (Σ|x| + n): the Σ|x| term covers sums that cancel to ~0;
/// |Δsumsq| <= 1e-6 sumsq + 2e-9 Σ|x| + 1e-18 n (sumsq never cancels).
inline bool sum_close(double ours, double expected, const Stats& s) {
  if (std::isnan(expected) || std::isinf(expected) || std::isnan(ours) || std::isinf(ours)) {
    return close(ours, expected);
  }
  const double n = static_cast<double>(s.n);
  return std::fabs(ours - expected) <= 1e-6 * std::fabs(expected) + 1e-9 * (s.sum_abs + n);
}
inline bool sumsq_close(double ours, double expected, const Stats& s) {
  if (std::isnan(expected) || std::isinf(expected) || std::isnan(ours) || std::isinf(ours)) {
    return close(ours, expected);
  }
  const double n = static_cast<double>(s.n);
  return std::fabs(ours - expected) <= 1e-6 * std::fabs(expected) + 2e-9 * s.sum_abs + 1e-18 * n;
}

// ------------------------------------------------------------------------------------------------
// INDEX.tsv

struct Case {
  std::string file;        ///< As in INDEX.tsv: "files/<owner>__<repo>/<path>".
  int dataset = 1;         ///< 1-based.
  std::string status;      ///< ok / ok_with_option / flowcore_failed.
  std::string option;      ///< read_options_used (flowCore option that was needed).
  std::string flowcore_error;
  std::string name;        ///< GoogleTest parameter name.
  bool placeholder = false;  ///< Shared data missing: the single test skips.

  /// Path relative to fcs/files (the key used in golden_expectations.tsv).
  [[nodiscard]] std::string rel() const {
    constexpr std::string_view prefix = "files/";
    return file.rfind(prefix, 0) == 0 ? file.substr(prefix.size()) : file;
  }
  [[nodiscard]] std::string label() const { return rel() + " [dataset " + std::to_string(dataset) + "]"; }
};

inline void PrintTo(const Case& c, std::ostream* os) { *os << c.label(); }

inline std::string sanitize(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    if (std::isalnum(static_cast<unsigned char>(ch)) != 0) {
      out += ch;
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? std::string("x") : out;
}

/// Every row of golden/INDEX.tsv, named "<owner__repo>_<file name>_ds<k>" (the full path when
/// two files would get the same name). One placeholder case when the corpus is absent.
inline std::vector<Case> load_cases() {
  std::vector<Case> cases;
  const fs::path index = corpus_dir() / "golden" / "INDEX.tsv";
  std::error_code ec;
  if (!fs::exists(index, ec)) {
    Case c;
    c.placeholder = true;
    c.name = "shared_data_missing";
    c.file = index.string();
    cases.push_back(c);
    return cases;
  }
  std::map<std::string, int> column;
  bool header = true;
  for (auto& [line, row] : read_tsv(index)) {
    (void)line;
    if (header) {
      for (std::size_t i = 0; i < row.size(); ++i) column[row[i]] = static_cast<int>(i);
      header = false;
      continue;
    }
    auto get = [&](const char* name) -> std::string {
      const auto it = column.find(name);
      if (it == column.end() || static_cast<std::size_t>(it->second) >= row.size()) return {};
      return row[static_cast<std::size_t>(it->second)];
    };
    Case c;
    c.file = get("file");
    c.dataset = std::stoi(get("dataset"));
    c.status = get("status");
    c.option = get("read_options_used");
    c.flowcore_error = get("flowcore_error");
    cases.push_back(std::move(c));
  }
  // Names: owner__repo + basename, unless that collides.
  auto short_name = [](const Case& c) {
    const std::string rel = c.rel();
    const auto first = rel.find('/');
    const auto last = rel.rfind('/');
    return sanitize(rel.substr(0, first) + "_" + rel.substr(last + 1)) + "_ds" + std::to_string(c.dataset);
  };
  std::map<std::string, int> count;
  for (const auto& c : cases) ++count[short_name(c)];
  std::set<std::string> used;
  for (auto& c : cases) {
    std::string n = short_name(c);
    if (count[n] > 1) n = sanitize(c.rel()) + "_ds" + std::to_string(c.dataset);
    std::string unique = n;
    for (int i = 2; used.count(unique) != 0; ++i) unique = n + "_" + std::to_string(i);
    used.insert(unique);
    c.name = unique;
  }
  return cases;
}

// ------------------------------------------------------------------------------------------------
// golden_expectations.tsv

/// One line of tests/libfcs/golden_expectations.tsv (see the header of that file).
struct Expectation {
  std::string file;      ///< Relative to fcs/files.
  int dataset = 0;       ///< 0 = every data set of the file ("*").
  std::string kind;      ///< read / fail / repairs / known / values / same_as.
  std::string detail;
  std::string why;
  int line = 0;
};

class Expectations {
 public:
  void load(const fs::path& path) {
    std::error_code ec;
    loaded_ = fs::exists(path, ec);
    if (!loaded_) return;
    for (auto& [line, row] : read_tsv(path)) {
      Expectation e;
      e.line = line;
      if (row.size() < 3) {
        errors_.push_back("line " + std::to_string(line) + ": fewer than 3 tab-separated columns");
        continue;
      }
      e.file = std::string(trim_view(row[0]));
      const std::string ds(trim_view(row[1]));
      try {
        e.dataset = (ds == "*" || ds.empty()) ? 0 : std::stoi(ds);
      } catch (const std::exception&) {
        errors_.push_back("line " + std::to_string(line) + ": bad dataset '" + ds + "'");
        continue;
      }
      e.kind = std::string(trim_view(row[2]));
      if (row.size() > 3) e.detail = std::string(trim_view(row[3]));
      if (row.size() > 4) e.why = std::string(trim_view(row[4]));
      static const std::set<std::string> kinds = {"read", "fail", "repairs", "known", "values", "same_as"};
      if (kinds.count(e.kind) == 0) {
        errors_.push_back("line " + std::to_string(line) + ": unknown expectation '" + e.kind + "'");
        continue;
      }
      items_.push_back(std::move(e));
    }
  }
  [[nodiscard]] bool loaded() const { return loaded_; }
  [[nodiscard]] const std::vector<std::string>& errors() const { return errors_; }
  [[nodiscard]] std::vector<const Expectation*> find(const std::string& file, int dataset,
                                                     std::string_view kind) const {
    std::vector<const Expectation*> out;
    for (const auto& e : items_) {
      if (e.file == file && (e.dataset == 0 || e.dataset == dataset) && e.kind == kind) out.push_back(&e);
    }
    return out;
  }
  [[nodiscard]] const std::vector<Expectation>& items() const { return items_; }

 private:
  bool loaded_ = false;
  std::vector<Expectation> items_;
  std::vector<std::string> errors_;
};

// ------------------------------------------------------------------------------------------------
// Checker: precise, capped failures; known differences

/// Collects the mismatches of one test case. Each mismatch has an id ("keyword:$P1N",
/// "linearize:row:FSC-A", ...). An id matched by a `known` expectation counts as a known
/// difference (printed once, not a failure). Within a scope at most `cap` failures are emitted;
/// the rest are counted and summarised when the scope ends.
class Checker {
 public:
  Checker(std::string label, std::vector<const Expectation*> known)
      : label_(std::move(label)), known_(std::move(known)) {}
  ~Checker() { end_scope(); }
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  void begin_scope(std::string name, int cap = 5) {
    end_scope();
    scope_ = std::move(name);
    cap_ = cap;
    emitted_ = 0;
    suppressed_ = 0;
  }
  void end_scope() {
    if (suppressed_ > 0) {
      ADD_FAILURE() << label_ << " [" << scope_ << "]: " << suppressed_
                    << " further mismatch(es) not shown (" << emitted_ << " shown above)";
    }
    scope_.clear();
    suppressed_ = 0;
    emitted_ = 0;
  }

  /// The known expectation matching `id`, or nullptr.
  [[nodiscard]] const Expectation* known_for(const std::string& id) const {
    for (const auto* e : known_) {
      if (glob_match(e->detail, id)) return e;
    }
    return nullptr;
  }

  /// Record a mismatch. Returns true when it was a real failure (not a known difference).
  bool mismatch(const std::string& id, const std::string& message) {
    if (const auto* e = known_for(id)) {
      ++known_count_;
      used_known_.insert(e);
      if (known_printed_++ < 5) {
        const bool first = explained_.insert(e).second;
        std::printf("[ known    ] %s: %s {id %s; golden_expectations.tsv line %d%s%s}\n", label_.c_str(),
                    message.c_str(), id.c_str(), e->line, first ? ": " : "", first ? e->why.c_str() : "");
      }
      return false;
    }
    ++failure_count_;
    // Messages usually name their variant already; only prefix the scope when they do not.
    const bool named = !scope_.empty() && message.rfind(scope_ + ":", 0) == 0;
    const std::string text = (scope_.empty() || named) ? message : scope_ + ": " + message;
    if (first_failure_.empty()) first_failure_ = text;
    if (cap_ > 0 && emitted_ >= cap_) {
      ++suppressed_;
      return true;
    }
    ++emitted_;
    ADD_FAILURE() << label_ << ": " << text << "  {id " << id << "}";
    return true;
  }

  /// True when `key` was seen before in this test (used to report a difference that repeats
  /// identically in several variants only once).
  bool repeat(const std::string& key) { return !repeats_.insert(key).second; }

  /// Many mismatches of one kind (keywords): one failure with the count and the first 5.
  /// `items` are (id, message) pairs.
  void mismatch_group(const std::string& what, const std::vector<std::pair<std::string, std::string>>& items) {
    std::vector<std::string> real;
    for (const auto& [id, msg] : items) {
      if (const auto* e = known_for(id)) {
        ++known_count_;
        used_known_.insert(e);
        continue;
      }
      real.push_back(msg);
    }
    if (real.empty()) return;
    failure_count_ += static_cast<int>(real.size());
    std::ostringstream os;
    os << real.size() << " " << what << " mismatch(es)";
    for (std::size_t i = 0; i < real.size() && i < 5; ++i) os << "\n    " << real[i];
    if (real.size() > 5) os << "\n    ...";
    if (first_failure_.empty()) first_failure_ = std::to_string(real.size()) + " " + what + " mismatch(es), first: " + real[0];
    ADD_FAILURE() << label_ << ": " << os.str();
  }

  void note(const std::string& s) { notes_.push_back(s); }

  [[nodiscard]] int failures() const { return failure_count_; }
  [[nodiscard]] int known() const { return known_count_; }
  [[nodiscard]] const std::string& first_failure() const { return first_failure_; }
  [[nodiscard]] const std::vector<std::string>& notes() const { return notes_; }
  [[nodiscard]] const std::set<const Expectation*>& used_known() const { return used_known_; }
  [[nodiscard]] const std::string& label() const { return label_; }

 private:
  std::string label_;
  std::vector<const Expectation*> known_;
  std::set<const Expectation*> used_known_;
  std::set<const Expectation*> explained_;
  std::string scope_;
  int cap_ = 5;
  int emitted_ = 0;
  int suppressed_ = 0;
  int failure_count_ = 0;
  int known_count_ = 0;
  int known_printed_ = 0;
  std::string first_failure_;
  std::vector<std::string> notes_;
  std::set<std::string> repeats_;
};

}  // namespace golden
