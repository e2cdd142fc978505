// SPDX-License-Identifier: Apache-2.0
// Golden tests: every FCS file of the shared corpus (${FLOWMRD_SHARED_DATA}/fcs) against what
// flowCore 2.10.0 read.FCS made of it (golden/<file>.json, schema in fcs/README.md).
//
// One test per file and data set (golden/INDEX.tsv):
//  * ok / ok_with_option: events, channels ($PnN, $PnS, $PnR, minRange/maxRange), keywords (the
//    file's TEXT values, i.e. raw_text_values where flowCore changed them), spillover matrices,
//    and the variants linearize / linearize_no_truncate / png_scaling (per-channel min, max, sum,
//    sumsq over all events and every sampled row). `compensated` is not checked here.
//  * flowcore_failed: tests/libfcs/golden_expectations.tsv says whether we must read the data set
//    (then: required repair codes, keywords, n_events, and the second opinions of FlowIO/FlowKit
//    on the channels where their conventions coincide with ours) or fail (ErrorKind + message).
// Differences explained in golden_expectations.tsv (`known`) are reported, not failed.
// A summary table of every data set is printed when the test program ends.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fcs/fcs.hpp"
#include "golden_support.hpp"

namespace {

using golden::Case;
using golden::Checker;
using golden::Expectation;
using golden::json;
namespace fs = std::filesystem;

// ------------------------------------------------------------------------------------------------
// Shared state: expectations and the summary table

const golden::Expectations& expectations() {
  static const golden::Expectations e = [] {
    golden::Expectations x;
    x.load(golden::expectations_path());
    return x;
  }();
  return e;
}

struct SummaryRow {
  std::string label;
  std::string status;   // INDEX status
  std::string outcome;  // pass / KNOWN / FAIL / skip
  int failures = 0;
  int known = 0;
  std::string issues;   // issue codes the reader reported
  std::string detail;   // first failure or a note
};

std::vector<SummaryRow>& summary_rows() {
  static std::vector<SummaryRow> rows;
  return rows;
}
std::set<const Expectation*>& used_known() {
  static std::set<const Expectation*> s;
  return s;
}
/// Issue codes the reader reported that are not fcs::Repairs fields -> data sets reporting them.
std::map<std::string, std::vector<std::string>>& other_codes() {
  static std::map<std::string, std::vector<std::string>> m;
  return m;
}
std::set<std::string>& files_run() {
  static std::set<std::string> s;
  return s;
}

std::string clip(std::string s, std::size_t n) {
  for (char& ch : s) {
    if (ch == '\n' || ch == '\t') ch = ' ';
  }
  if (s.size() > n) s = s.substr(0, n - 3) + "...";
  return s;
}

/// Prints one line per data set after all tests ran (and writes it as TSV to
/// $FLOWMRD_GOLDEN_SUMMARY when that is set).
class SummaryEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    auto& rows = summary_rows();
    if (rows.empty()) return;
    std::map<std::string, int> count;
    for (const auto& r : rows) ++count[r.outcome];
    std::printf("\n==== fcs golden summary: %zu data set(s): %d pass, %d known-difference, %d FAIL, %d skipped ====\n",
                rows.size(), count["pass"], count["KNOWN"], count["FAIL"], count["skip"]);
    std::printf("%-5s %5s %5s %-15s %-40s %s\n", "", "fails", "known", "flowCore", "issues reported",
                "file [dataset] -- first failure / note");
    for (const auto& r : rows) {
      std::printf("%-5s %5d %5d %-15s %-40s %s%s%s\n", r.outcome.c_str(), r.failures, r.known, r.status.c_str(),
                  clip(r.issues.empty() ? "-" : r.issues, 40).c_str(), r.label.c_str(), r.detail.empty() ? "" : " -- ",
                  clip(r.detail, 200).c_str());
    }
    if (!other_codes().empty()) {
      std::printf("issue codes reported that are not fcs::Repairs fields (informational):\n");
      for (const auto& [code, where] : other_codes()) {
        std::printf("  %-28s %zu data set(s), e.g. %s\n", code.c_str(), where.size(), where.front().c_str());
      }
    }
    // Lines for files that are not in the corpus index (typo, or the file was removed).
    std::set<std::string> corpus;
    for (const auto& c : golden::load_cases()) corpus.insert(c.rel() + "#" + std::to_string(c.dataset));
    for (const auto& e : expectations().items()) {
      bool found = false;
      for (const auto& k : corpus) {
        if (k.rfind(e.file + "#", 0) == 0 && (e.dataset == 0 || k == e.file + "#" + std::to_string(e.dataset))) found = true;
      }
      if (!found) {
        std::printf("note: golden_expectations.tsv line %d names %s dataset %d, which is not in golden/INDEX.tsv\n",
                    e.line, e.file.c_str(), e.dataset);
      }
    }
    // `known` lines that matched nothing although their data set ran: probably stale.
    for (const auto& e : expectations().items()) {
      if (e.kind != "known" || used_known().count(&e) != 0) continue;
      const std::string key = e.file + "#" + std::to_string(e.dataset);
      const bool ran = files_run().count(key) != 0 || (e.dataset == 0 && files_run().count(e.file + "#*") != 0);
      if (ran) {
        std::printf("note: golden_expectations.tsv line %d (known %s for %s) matched no difference: stale?\n", e.line,
                    e.detail.c_str(), e.file.c_str());
      }
    }
    std::printf("==== end of fcs golden summary ====\n");
    if (const char* out = std::getenv("FLOWMRD_GOLDEN_SUMMARY"); out != nullptr && *out != '\0') {
      std::ofstream f(out, std::ios::binary);
      f << "outcome\tfailures\tknown\tflowcore_status\tissues\tfile_dataset\tdetail\n";
      for (const auto& r : rows) {
        f << r.outcome << '\t' << r.failures << '\t' << r.known << '\t' << r.status << '\t' << r.issues << '\t'
          << r.label << '\t' << clip(r.detail, 100000) << '\n';
      }
    }
  }
};

[[maybe_unused]] ::testing::Environment* const kSummaryEnvironment =
    ::testing::AddGlobalTestEnvironment(new SummaryEnvironment);

// ------------------------------------------------------------------------------------------------
// Reading

const char* kind_name(fcs::ErrorKind k) {
  switch (k) {
    case fcs::ErrorKind::io: return "io";
    case fcs::ErrorKind::invalid: return "invalid";
    case fcs::ErrorKind::unsupported: return "unsupported";
    case fcs::ErrorKind::argument: return "argument";
  }
  return "?";
}

std::optional<fcs::ErrorKind> kind_from_name(const std::string& s) {
  if (s == "io") return fcs::ErrorKind::io;
  if (s == "invalid") return fcs::ErrorKind::invalid;
  if (s == "unsupported") return fcs::ErrorKind::unsupported;
  if (s == "argument") return fcs::ErrorKind::argument;
  return std::nullopt;
}

struct ReadResult {
  std::optional<fcs::File> file;
  std::optional<fcs::ErrorKind> kind;  ///< Set when fcs::Error was thrown.
  std::string error;                   ///< what() of whatever was thrown.
  std::string issue_message;           ///< fcs::Error::issue().message.
};

ReadResult try_read(const fs::path& path, const fcs::ReadOptions& options) {
  ReadResult r;
  try {
    r.file.emplace(fcs::read_file(path, options));
  } catch (const fcs::Error& e) {
    r.kind = e.kind();
    r.error = e.what();
    r.issue_message = e.issue().message;
  } catch (const std::exception& e) {
    r.error = std::string("non-fcs exception: ") + e.what();
  } catch (...) {
    r.error = "unknown exception";
  }
  return r;
}

std::string describe_error(const ReadResult& r) {
  if (r.kind) return std::string("fcs::Error(") + kind_name(*r.kind) + "): " + r.error;
  return r.error;
}

const char* transformation_name(fcs::Transformation t) {
  switch (t) {
    case fcs::Transformation::linearize: return "linearize";
    case fcs::Transformation::linearize_with_png_scaling: return "linearize_with_png_scaling";
    case fcs::Transformation::raw: return "raw";
  }
  return "?";
}

std::string options_text(const fcs::ReadOptions& o) {
  return std::string("{transformation=") + transformation_name(o.transformation) +
         ", truncate_max_range=" + (o.truncate_max_range ? "true" : "false") +
         ", dataset=" + (o.dataset ? std::to_string(*o.dataset) : "all") + "}";
}

/// The data set numbered `k` in a File read with options.dataset = k.
const fcs::Dataset* pick(Checker& chk, const fcs::File& f, int k, const std::string& what) {
  for (const auto& d : f.datasets) {
    if (d.number == k) return &d;
  }
  if (f.datasets.size() == 1) {
    chk.mismatch("dataset_number", what + ": asked for dataset " + std::to_string(k) + ", got one numbered " +
                                       std::to_string(f.datasets[0].number));
    return &f.datasets[0];
  }
  chk.mismatch("dataset_number", what + ": asked for dataset " + std::to_string(k) + ", File.datasets has " +
                                     std::to_string(f.datasets.size()) + " data set(s), none numbered " +
                                     std::to_string(k));
  return nullptr;
}

const std::set<std::string>& repair_codes();

/// Remember the data set's issue codes that are not repair names (for the summary).
void note_other_codes(const fcs::Dataset& ds, const std::string& label) {
  std::set<std::string> seen;
  for (const auto& i : ds.issues) {
    if (repair_codes().count(i.code) == 0 && seen.insert(i.code).second) other_codes()[i.code].push_back(label);
  }
}

std::string issue_codes(const fcs::Dataset& ds) {
  std::vector<std::string> codes;
  for (const auto& i : ds.issues) {
    if (std::find(codes.begin(), codes.end(), i.code) == codes.end()) codes.push_back(i.code);
  }
  std::string out;
  for (const auto& c : codes) out += (out.empty() ? "" : ",") + c;
  return out;
}

std::string version_text(fcs::Version v) {
  switch (v) {
    case fcs::Version::fcs2_0: return "2";
    case fcs::Version::fcs3_0: return "3";
    case fcs::Version::fcs3_1: return "3.1";
    case fcs::Version::fcs3_2: return "3.2";
  }
  return "?";
}

const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string channel_label(const std::string& name, std::size_t index) {
  return "'" + name + "' ($P" + std::to_string(index + 1) + ")";
}

// ------------------------------------------------------------------------------------------------
// Checks

/// Golden channel table vs ours: $PnN, $PnS (flowCore: blank $PnS -> NA), $PnR, minRange/maxRange.
/// `identity`: names, descriptions, $PnR and the channel count (once per data set); otherwise the
/// variant's minRange/maxRange only.
void check_channels(Checker& chk, const fcs::Dataset& ds, const json& gch, const std::string& variant,
                    bool identity) {
  if (identity && ds.channels.size() != gch.size()) {
    chk.mismatch("channel_count", std::to_string(gch.size()) +
                                                 " channels expected, reader has " +
                                                 std::to_string(ds.channels.size()));
  }
  const std::size_t n = std::min(ds.channels.size(), gch.size());
  for (std::size_t i = 0; i < n; ++i) {
    const fcs::Channel& ch = ds.channels[i];
    const json& g = gch[i];
    const std::string gname = g.value("name", "");
    const std::string label = channel_label(gname, i);
    if (identity) {
      const std::string ours = golden::flowcore_text(ch.name);
      if (ours != gname) {
        chk.mismatch("channel:" + gname + ":name",
                     "$P" + std::to_string(i + 1) + "N: expected " + golden::quote(gname) + ", got " + golden::quote(ours));
      }
      const json* gdesc = member(g, "desc");
      const bool ours_blank = !ch.marker || golden::trim_view(*ch.marker).empty();
      if (gdesc == nullptr) {
        if (!ours_blank) {
          chk.mismatch("channel:" + gname + ":desc",
                       "channel " + label + " desc: expected null ($PnS absent or blank), got " + golden::quote(*ch.marker));
        }
      } else {
        const std::string want = gdesc->get<std::string>();
        const std::string got = ch.marker ? golden::flowcore_text(*ch.marker) : std::string();
        if (!ch.marker || got != want) {
          chk.mismatch("channel:" + gname + ":desc", "channel " + label + " desc ($PnS): expected " +
                                                         golden::quote(want) + ", got " +
                                                         (ch.marker ? golden::quote(got) : std::string("nullopt")));
        }
      }
      if (const json* r = member(g, "range")) {
        const double want = golden::num(*r);
        if (!golden::close(ch.range, want, 1e-12, 0)) {
          chk.mismatch("channel:" + gname + ":range", "channel " + label + " range ($PnR): expected " +
                                                          golden::fmt(want) + ", got " + golden::fmt(ch.range));
        }
      }
    }
    if (identity) continue;
    for (const auto& [field, ours] : {std::pair<const char*, double>{"minRange", ch.min_range},
                                      std::pair<const char*, double>{"maxRange", ch.max_range}}) {
      if (const json* r = member(g, field)) {
        const double want = golden::num(*r);
        if (!golden::close(ours, want) &&
            !chk.repeat(gname + "|" + field + "|" + golden::fmt(want) + "|" + golden::fmt(ours))) {
          chk.mismatch(variant + ":channel:" + gname + ":" + field,
                       variant + ": channel " + label + " " + field + " (Channel::" +
                           (std::string(field) == "minRange" ? "min_range" : "max_range") + "): expected " +
                           golden::fmt(want) + ", got " + golden::fmt(ours));
        }
      }
    }
  }
}

/// Values of one variant: per-channel stats over all events and every sampled row.
/// `map[j]` is our column for golden column j (-1: not compared); one failure per channel.
void compare_values(Checker& chk, const std::string& variant, const fcs::Dataset& ds, const json& v,
                    const std::vector<int>& map, const std::vector<std::string>& names) {
  const fcs::EventMatrix& ev = ds.events;
  const json* stats = member(v, "stats");
  const json* rows = member(v, "rows");
  const json* index = rows != nullptr ? member(*rows, "index") : nullptr;
  const json* values = rows != nullptr ? member(*rows, "values") : nullptr;
  const std::size_t n_rows = ev.rows();

  if (index != nullptr) {
    std::size_t beyond = 0;
    std::size_t first = 0;
    for (const auto& i : *index) {
      const auto idx = i.get<std::size_t>();
      if (idx >= n_rows && beyond++ == 0) first = idx;
    }
    if (beyond > 0) {
      chk.mismatch(variant + ":rows", variant + ": " + std::to_string(beyond) + " sampled row(s) beyond the " +
                                          std::to_string(n_rows) + " events read (first: row " + std::to_string(first) +
                                          ")");
    }
  }

  for (std::size_t j = 0; j < map.size(); ++j) {
    if (map[j] < 0) continue;
    const auto col = static_cast<std::size_t>(map[j]);
    const std::string& name = names[j];
    const std::string label = "channel " + channel_label(name, col);
    if (col >= ev.cols()) {
      chk.mismatch(variant + ":values:" + name, variant + ": " + label + " has no column in the event matrix (" +
                                                    std::to_string(ev.cols()) + " columns)");
      continue;
    }
    const std::vector<double> x = ev.column_as_double(col);
    std::ostringstream problems;
    int n_problems = 0;

    if (stats != nullptr && j < stats->size()) {
      const json& gs = (*stats)[j];
      const golden::Stats s = golden::compute_stats(x);
      auto check = [&](const char* what, double ours, double want, bool ok) {
        if (ok) return;
        problems << (n_problems++ ? "; " : "") << what << " expected " << golden::fmt(want) << " got "
                 << golden::fmt(ours);
      };
      if (const json* m = member(gs, "min")) check("min", s.min, golden::num(*m), golden::close(s.min, golden::num(*m)));
      if (const json* m = member(gs, "max")) check("max", s.max, golden::num(*m), golden::close(s.max, golden::num(*m)));
      if (const json* m = member(gs, "sum")) {
        check("sum", s.sum, golden::num(*m), golden::sum_close(s.sum, golden::num(*m), s));
      }
      if (const json* m = member(gs, "sumsq")) {
        check("sumsq", s.sumsq, golden::num(*m), golden::sumsq_close(s.sumsq, golden::num(*m), s));
      }
    }
    if (index != nullptr && values != nullptr) {
      std::size_t bad = 0;
      std::ostringstream first;
      for (std::size_t r = 0; r < index->size() && r < values->size(); ++r) {
        const auto idx = (*index)[r].get<std::size_t>();
        if (idx >= x.size()) continue;  // reported above
        const json& row = (*values)[r];
        if (j >= row.size()) continue;
        const double want = golden::num(row[j]);
        const double got = x[idx];
        if (!golden::close(got, want)) {
          if (bad++ < 3) first << (bad > 1 ? ", " : "") << "row " << idx << ": expected " << golden::fmt(want) << " got "
                               << golden::fmt(got);
        }
      }
      if (bad > 0) {
        problems << (n_problems++ ? "; " : "") << bad << "/" << index->size() << " sampled rows differ (" << first.str()
                 << (bad > 3 ? ", ..." : "") << ")";
      }
    }
    // The same difference in another variant (e.g. linearize and linearize_no_truncate) is shown once.
    if (n_problems > 0 && !chk.repeat(name + "|values|" + problems.str())) {
      const std::string type = ev.type(col) == fcs::ColumnType::f32 ? "f32" : "f64";
      chk.mismatch(variant + ":values:" + name, variant + ": " + label + " [" + type + "]: " + problems.str());
    }
  }
}

/// Keywords: the file's TEXT values as flowCore saw them. For a flowCore read, keys flowCore added
/// are skipped and raw_text_values replaces the values flowCore changed ($PnE, $DATATYPE, ...).
/// FCSversion (added by flowCore but not listed in flowcore_added) is the HEADER version.
void check_keywords(Checker& chk, const fcs::Dataset& ds, const json& gds) {
  const json* kw = member(gds, "keywords");
  if (kw == nullptr) return;
  std::set<std::string> added;
  if (const json* a = member(gds, "flowcore_added")) {
    for (const auto& k : *a) added.insert(k.get<std::string>());
  }
  const json* raw = member(gds, "raw_text_values");
  std::vector<std::string> keys;
  for (const auto& [k, v] : kw->items()) keys.push_back(k);
  if (raw != nullptr) {
    for (const auto& [k, v] : raw->items()) {
      if (!kw->contains(k)) keys.push_back(k);
    }
  }
  std::vector<std::pair<std::string, std::string>> bad;
  std::size_t checked = 0;
  for (const auto& key : keys) {
    if (added.count(key) != 0) continue;
    const std::string want =
        (raw != nullptr && raw->contains(key)) ? (*raw)[key].get<std::string>() : (*kw)[key].get<std::string>();
    ++checked;
    const std::optional<std::string> got = ds.keywords.get(key);
    if (!got && key == "FCSversion") {
      const std::string v = version_text(ds.version);
      if (v != want) {
        bad.emplace_back("keyword:FCSversion", "FCSversion (HEADER version): expected " + golden::quote(want) +
                                                   ", Dataset::version is " + golden::quote(v));
      }
      continue;
    }
    if (!got) {
      bad.emplace_back("keyword:" + key, golden::quote(key) + ": missing (expected " + golden::quote(want) + ")");
      continue;
    }
    const std::string norm = golden::flowcore_text(*got);
    if (norm != want) {
      bad.emplace_back("keyword:" + key,
                       golden::quote(key) + ": expected " + golden::quote(want) + ", got " + golden::quote(norm));
    }
  }
  chk.mismatch_group("keyword", bad);
  chk.note(std::to_string(checked) + " keywords compared");
}

/// Spillover: every matrix flowCore parsed is among ds.spillovers (same source keyword, channels,
/// values), and ds.spillover() is the one flowCore's compensate() would use.
void check_spillover(Checker& chk, const fcs::Dataset& ds, const json& gds) {
  const json* sp = member(gds, "spillover");
  if (sp == nullptr || sp->empty()) return;
  std::string ours_list;
  for (const auto& s : ds.spillovers) {
    ours_list += (ours_list.empty() ? "" : ", ") + s.source_keyword + "(" + std::to_string(s.size()) + ")";
  }
  if (ours_list.empty()) ours_list = "none";
  for (const auto& [key, m] : sp->items()) {
    const std::string id = "spillover:" + key;
    const fcs::Spillover* found = nullptr;
    for (const auto& s : ds.spillovers) {
      if (s.source_keyword == key) {
        found = &s;
        break;
      }
    }
    const auto& gch = m.at("channels");
    const auto& gm = m.at("matrix");
    if (found == nullptr) {
      chk.mismatch(id, "spillover " + key + " (" + std::to_string(gch.size()) + "x" + std::to_string(gch.size()) +
                           ") expected in Dataset::spillovers; reader has: " + ours_list);
      continue;
    }
    if (found->size() != gch.size() || found->values.size() != found->size() * found->size()) {
      chk.mismatch(id, "spillover " + key + ": expected " + std::to_string(gch.size()) + " channels, got " +
                           std::to_string(found->size()) + " channels and " + std::to_string(found->values.size()) +
                           " values");
      continue;
    }
    for (std::size_t i = 0; i < gch.size(); ++i) {
      const std::string g = gch[i].get<std::string>();
      const std::string& o = found->channels[i];
      // $SPILLOVER naming channels by index (Accuri, Beckman): flowCore keeps "3"; we may resolve
      // the name, so an index that matches channel_indices is accepted too.
      bool ok = golden::flowcore_text(o) == g;
      if (!ok && !g.empty() && std::all_of(g.begin(), g.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
          i < found->channel_indices.size()) {
        ok = found->channel_indices[i] == std::stoi(g);
      }
      if (!ok) {
        chk.mismatch(id, "spillover " + key + " channel " + std::to_string(i + 1) + ": expected " + golden::quote(g) +
                             ", got " + golden::quote(o) +
                             (i < found->channel_indices.size()
                                  ? " (index " + std::to_string(found->channel_indices[i]) + ")"
                                  : std::string()));
        break;
      }
    }
    std::size_t bad = 0;
    std::string first;
    for (std::size_t r = 0; r < gm.size() && r < found->size(); ++r) {
      for (std::size_t c = 0; c < gm[r].size() && c < found->size(); ++c) {
        const double want = golden::num(gm[r][c]);
        const double got = found->at(r, c);
        if (!golden::close(got, want, 1e-12, 1e-15) && bad++ == 0) {
          first = "[" + std::to_string(r) + "," + std::to_string(c) + "] expected " + golden::fmt(want) + " got " +
                  golden::fmt(got);
        }
      }
    }
    if (bad > 0) {
      chk.mismatch(id, "spillover " + key + ": " + std::to_string(bad) + " matrix value(s) differ, first " + first);
    }
  }
  // The preferred matrix: the one flowCore compensated with, else the first of SPILL, spillover, $SPILLOVER.
  std::string want;
  if (const json* v = member(gds, "variants")) {
    if (const json* comp = member(*v, "compensated")) want = comp->value("spill_keyword", "");
  }
  if (want.empty()) {
    for (const char* k : {"SPILL", "spillover", "$SPILLOVER"}) {
      if (sp->contains(k)) {
        want = k;
        break;
      }
    }
  }
  if (want.empty()) return;
  const fcs::Spillover* pref = ds.spillover();
  if (pref == nullptr || pref->source_keyword != want) {
    chk.mismatch("spillover:preferred", "Dataset::spillover() should be " + want + " (flowCore's choice), got " +
                                            (pref != nullptr ? pref->source_keyword : std::string("nullptr")) +
                                            "; spillovers: " + ours_list);
  }
}

const std::set<std::string>& repair_codes() {
  // The library's own catalogue, so a new repair needs no edit here.
  static const std::set<std::string> codes = [] {
    std::set<std::string> c;
    for (const fcs::RepairInfo& r : fcs::repair_catalog()) c.insert(r.name);
    return c;
  }();
  return codes;
}

/// Required (code) and forbidden (!code) issue codes from `read` and `repairs` lines.
void check_repairs(Checker& chk, const fcs::Dataset& ds, const std::vector<const Expectation*>& exps) {
  std::set<std::string> reported;
  for (const auto& i : ds.issues) reported.insert(i.code);
  const std::string have = reported.empty() ? "none" : issue_codes(ds);
  for (const auto* e : exps) {
    for (auto code : golden::split(e->detail, ',')) {
      code = std::string(golden::trim_view(code));
      if (code.empty() || code == "-") continue;
      const bool forbidden = code.front() == '!';
      if (forbidden) code = std::string(golden::trim_view(code.substr(1)));
      if (repair_codes().count(code) == 0) {
        ADD_FAILURE() << "golden_expectations.tsv line " << e->line << ": '" << code
                      << "' is not a repair code (a field of fcs::Repairs)";
        continue;
      }
      if (!forbidden && reported.count(code) == 0) {
        chk.mismatch("repairs:" + code, "repair " + code + " expected in Dataset::issues (expectations line " +
                                            std::to_string(e->line) + ": " + e->why + "); reported: " + have);
      }
      if (forbidden && reported.count(code) != 0) {
        std::string msg;
        for (const auto& i : ds.issues) {
          if (i.code == code) {
            msg = i.to_string();
            break;
          }
        }
        chk.mismatch("repairs:!" + code, "repair " + code + " must NOT be reported (expectations line " +
                                             std::to_string(e->line) + ": " + e->why + "); reader said: " + msg);
      }
    }
  }
}

/// Events, data type, version and flowCore's "already transformed" flag.
void check_basics(Checker& chk, const fcs::Dataset& ds, const json& gds, std::optional<std::uint64_t> n_events) {
  if (n_events) {
    if (ds.event_count != *n_events || ds.events.rows() != *n_events) {
      chk.mismatch("n_events", "events: expected " + std::to_string(*n_events) + ", Dataset::event_count = " +
                                   std::to_string(ds.event_count) + ", events.rows() = " +
                                   std::to_string(ds.events.rows()));
    }
  }
  if (ds.events.rows() > 0 && ds.events.cols() != ds.channels.size()) {
    chk.mismatch("n_columns", "event matrix has " + std::to_string(ds.events.cols()) + " columns for " +
                                  std::to_string(ds.channels.size()) + " channels");
  }
  const json* kw = member(gds, "keywords");
  if (kw == nullptr) return;
  const json* raw = member(gds, "raw_text_values");
  auto text_value = [&](const char* key) -> std::optional<std::string> {
    if (raw != nullptr && raw->contains(key)) return (*raw)[key].get<std::string>();
    if (kw->contains(key)) return (*kw)[key].get<std::string>();
    return std::nullopt;
  };
  if (const auto dt = text_value("$DATATYPE")) {
    const auto t = golden::trim_view(*dt);
    if (!t.empty() && std::toupper(static_cast<unsigned char>(t.front())) != ds.datatype) {
      chk.mismatch("datatype", "Dataset::datatype: expected '" + std::string(1, t.front()) + "' ($DATATYPE), got '" +
                                   std::string(1, ds.datatype) + "'");
    }
  }
  // flowCore-written files (keyword transformation=applied/custom in the file's own TEXT).
  std::set<std::string> added;
  if (const json* a = member(gds, "flowcore_added")) {
    for (const auto& k : *a) added.insert(k.get<std::string>());
  }
  if (member(gds, "flowcore_added") != nullptr) {
    bool want = false;
    if (kw->contains("transformation") && added.count("transformation") == 0) {
      const std::string v = (*kw)["transformation"].get<std::string>();
      want = v == "applied" || v == "custom";
    }
    if (ds.already_transformed != want) {
      chk.mismatch("already_transformed", std::string("Dataset::already_transformed: expected ") +
                                              (want ? "true" : "false") + " (keyword transformation in the file: " +
                                              (want ? (*kw)["transformation"].get<std::string>() : "none") + ")");
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Second opinions (FlowIO / FlowKit) for data sets flowCore cannot read

/// Which of our channels can be compared with a second-opinion column. FlowIO's preprocess (and
/// FlowKit's "raw" events, which are FlowIO-preprocessed too: verified on Stratedigm S1400 where
/// both agree on every column) multiply Time by $TIMESTEP, apply $PnE to integer AND float data
/// and divide every channel by $PnG. flowCore's png_scaling divides by $PnG only the channels it
/// did not log-decode, and it never decodes float data. Hence:
///  * flowkit_raw vs Transformation::raw: channels where preprocessing is the identity
///    (linear, $PnG 1, not a time channel scaled by $TIMESTEP != 1);
///  * flowio_preprocessed vs linearize_with_png_scaling, truncate_max_range=false: all channels
///    except time scaled by $TIMESTEP, float data with $PnE, log channels with $PnG != 1, and
///    $PnG <= 0 (flowCore divides linear integer and float channels by $PnG like FlowIO: golden
///    png_scaling of Guava Muse).
std::string comparability(const fcs::Channel& ch, const fcs::Dataset& ds, bool identity_only) {
  const auto ts = ds.timestep();
  const bool is_time = golden::icontains(ch.name, "time");
  if (is_time && ts && *ts != 1.0) return "time x $TIMESTEP " + golden::fmt_short(*ts);
  const bool is_float = ch.type != fcs::DataType::integer && ch.type != fcs::DataType::ascii;
  const bool log = ch.log_decades > 0;
  if (identity_only) {
    if (log) return "$PnE log";
    if (ch.gain != 1.0) return "$PnG " + golden::fmt_short(ch.gain);
    return {};
  }
  if (is_float && log) return "float with $PnE";
  if (ch.gain <= 0) return "$PnG " + golden::fmt_short(ch.gain);
  if (ch.gain != 1.0 && log) return "$PnG " + golden::fmt_short(ch.gain) + " on a log channel";
  return {};
}

void compare_second_opinion(Checker& chk, const Case& c, const json& gds, const std::string& name) {
  const json* vars = member(gds, "variants");
  const json* v = vars != nullptr ? member(*vars, name.c_str()) : nullptr;
  if (v == nullptr) return;
  const std::string reader = v->value("reader", name);
  if (const json* err = member(*v, "error")) {
    chk.note(name + " (" + reader + ") failed too: " + err->get<std::string>());
    return;
  }
  const bool identity_only = name == "flowkit_raw";
  fcs::ReadOptions o;
  o.dataset = c.dataset;
  o.truncate_max_range = false;
  o.transformation = identity_only ? fcs::Transformation::raw : fcs::Transformation::linearize_with_png_scaling;
  chk.begin_scope(name);
  ReadResult r = try_read(golden::corpus_dir() / c.file, o);
  if (!r.file) {
    chk.mismatch(name + ":read", "read with " + options_text(o) + " threw " + describe_error(r));
    return;
  }
  const fcs::Dataset* ds = pick(chk, *r.file, c.dataset, name);
  if (ds == nullptr) return;
  if (const json* n = member(*v, "n_events")) {
    if (ds->events.rows() != n->get<std::uint64_t>()) {
      chk.mismatch(name + ":n_events", name + " (" + reader + ") has " + std::to_string(n->get<std::uint64_t>()) +
                                           " events, we read " + std::to_string(ds->events.rows()));
    }
  }
  std::vector<std::string> cols;
  if (const json* cs = member(*v, "columns")) {
    for (const auto& x : *cs) cols.push_back(x.get<std::string>());
  }
  const json* stats = member(*v, "stats");
  const std::size_t n_cols = stats != nullptr ? stats->size() : cols.size();
  std::vector<int> map(n_cols, -1);
  std::vector<std::string> names(n_cols);
  std::vector<bool> taken(ds->channels.size(), false);
  std::string skipped;
  std::size_t compared = 0;
  for (std::size_t j = 0; j < n_cols; ++j) {
    int ours = -1;
    if (cols.empty()) {  // FlowIO gave no names ($PnN missing): by position
      if (j < ds->channels.size()) ours = static_cast<int>(j);
    } else {
      for (std::size_t i = 0; i < ds->channels.size(); ++i) {
        if (!taken[i] && golden::flowcore_text(ds->channels[i].name) == cols[j]) {
          ours = static_cast<int>(i);
          break;
        }
      }
    }
    names[j] = j < cols.size() ? cols[j] : (ours >= 0 ? ds->channels[static_cast<std::size_t>(ours)].name : "#" + std::to_string(j + 1));
    if (ours < 0) {
      chk.mismatch(name + ":column:" + names[j], name + " column " + golden::quote(names[j]) + " matches no channel");
      continue;
    }
    taken[static_cast<std::size_t>(ours)] = true;
    const std::string why = comparability(ds->channels[static_cast<std::size_t>(ours)], *ds, identity_only);
    if (!why.empty()) {
      skipped += (skipped.empty() ? "" : ", ") + names[j] + " (" + why + ")";
      continue;
    }
    map[j] = ours;
    ++compared;
  }
  compare_values(chk, name, *ds, *v, map, names);
  chk.note(name + " vs " + transformation_name(o.transformation) + ": " + std::to_string(compared) + "/" +
           std::to_string(n_cols) + " channels compared" + (skipped.empty() ? "" : "; skipped " + skipped));
  chk.end_scope();
}

/// `values` expectation: "row=v1,v2,...; row=..." on the default read.
void check_explicit_values(Checker& chk, const fcs::Dataset& ds, const Expectation& e) {
  for (const auto& part : golden::split(e.detail, ';')) {
    const auto item = golden::trim_view(part);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      ADD_FAILURE() << "golden_expectations.tsv line " << e.line << ": values item '" << item << "' is not row=v1,v2";
      continue;
    }
    const auto row = static_cast<std::size_t>(std::stoul(std::string(item.substr(0, eq))));
    const auto vals = golden::split(item.substr(eq + 1), ',');
    if (row >= ds.events.rows()) {
      chk.mismatch("values:row" + std::to_string(row), "row " + std::to_string(row) + " expected (line " +
                                                           std::to_string(e.line) + "), only " +
                                                           std::to_string(ds.events.rows()) + " events read");
      continue;
    }
    for (std::size_t j = 0; j < vals.size(); ++j) {
      const double want = std::stod(std::string(golden::trim_view(vals[j])));
      if (j >= ds.events.cols()) {
        chk.mismatch("values:row" + std::to_string(row), "row " + std::to_string(row) + ": column " +
                                                             std::to_string(j + 1) + " missing");
        break;
      }
      const double got = ds.events.value(row, j);
      if (!golden::close(got, want)) {
        chk.mismatch("values:row" + std::to_string(row),
                     "row " + std::to_string(row) + " channel " + channel_label(ds.channels[j].name, j) + ": expected " +
                         golden::fmt(want) + " got " + golden::fmt(got) + " (expectations line " +
                         std::to_string(e.line) + ")");
      }
    }
  }
}

/// `same_as` expectation: the events equal those of another file (same bytes, other HEADER).
void check_same_as(Checker& chk, const fcs::Dataset& ds, const Expectation& e) {
  fcs::ReadOptions o;
  o.dataset = 1;
  ReadResult r = try_read(golden::corpus_dir() / "files" / e.detail, o);
  if (!r.file || r.file->datasets.empty()) {
    chk.mismatch("same_as", "same_as " + e.detail + ": that file could not be read: " + describe_error(r));
    return;
  }
  const fcs::Dataset& other = r.file->datasets.front();
  if (other.events.rows() != ds.events.rows() || other.channels.size() != ds.channels.size()) {
    chk.mismatch("same_as", "same_as " + e.detail + ": " + std::to_string(ds.events.rows()) + "x" +
                                std::to_string(ds.channels.size()) + " vs " + std::to_string(other.events.rows()) +
                                "x" + std::to_string(other.channels.size()));
    return;
  }
  for (std::size_t j = 0; j < ds.channels.size() && j < ds.events.cols() && j < other.events.cols(); ++j) {
    const auto a = ds.events.column_as_double(j);
    const auto b = other.events.column_as_double(j);
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) {
        chk.mismatch("same_as", "same_as " + e.detail + ": " + channel_label(ds.channels[j].name, j) + " row " +
                                    std::to_string(i) + ": " + golden::fmt(a[i]) + " vs " + golden::fmt(b[i]));
        return;
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// The two kinds of data set

fs::path golden_json_path(const Case& c) { return golden::corpus_dir() / "golden" / (c.file + ".json"); }

void run_flowcore_read(const Case& c, const json& gds, Checker& chk, SummaryRow& row) {
  const fs::path path = golden::corpus_dir() / c.file;
  const auto& E = expectations();
  for (const char* k : {"read", "fail"}) {
    for (const auto* e : E.find(c.rel(), c.dataset, k)) {
      ADD_FAILURE() << "golden_expectations.tsv line " << e->line << ": '" << k
                    << "' is only for data sets flowCore cannot read; this one is " << c.status;
    }
  }
  fcs::ReadOptions base;
  base.dataset = c.dataset;
  chk.begin_scope("read");
  ReadResult r = try_read(path, base);
  if (!r.file) {
    chk.mismatch("read", "flowCore read this data set (" + c.status + (c.option.empty() ? "" : ", " + c.option) +
                             ") but fcs::read_file threw " + describe_error(r));
    return;
  }
  const fcs::Dataset* ds = pick(chk, *r.file, c.dataset, "linearize");
  if (ds == nullptr) return;
  row.issues = issue_codes(*ds);
  note_other_codes(*ds, c.label());

  if (const json* all = member(gds, "__dataset_count")) {
    const int want = all->get<int>();
    if (r.file->dataset_count != want) {
      chk.mismatch("dataset_count", "File::dataset_count: flowCore has " + std::to_string(want) +
                                        " data set(s), reader found " + std::to_string(r.file->dataset_count));
    }
  }
  const json* nev = member(gds, "n_events");
  check_basics(chk, *ds, gds, nev != nullptr ? std::optional<std::uint64_t>(nev->get<std::uint64_t>()) : std::nullopt);
  if (const json* gch = member(gds, "channels")) check_channels(chk, *ds, *gch, "linearize", true);
  chk.end_scope();
  check_keywords(chk, *ds, gds);
  chk.begin_scope("spillover");
  check_spillover(chk, *ds, gds);
  chk.begin_scope("repairs");
  check_repairs(chk, *ds, E.find(c.rel(), c.dataset, "repairs"));
  chk.begin_scope("values");
  for (const auto* v : E.find(c.rel(), c.dataset, "values")) check_explicit_values(chk, *ds, *v);
  for (const auto* v : E.find(c.rel(), c.dataset, "same_as")) check_same_as(chk, *ds, *v);
  chk.end_scope();

  const json* vars = member(gds, "variants");
  if (vars == nullptr) return;
  struct Variant {
    const char* name;
    fcs::Transformation t;
    bool truncate;
  };
  for (const Variant& var : {Variant{"linearize", fcs::Transformation::linearize, true},
                             Variant{"linearize_no_truncate", fcs::Transformation::linearize, false},
                             Variant{"png_scaling", fcs::Transformation::linearize_with_png_scaling, true}}) {
    const json* v = member(*vars, var.name);
    if (v == nullptr) {
      chk.note(std::string(var.name) + ": not in golden");
      continue;
    }
    if (const json* err = member(*v, "error")) {
      chk.note(std::string(var.name) + ": flowCore failed: " + err->dump());
      continue;
    }
    chk.begin_scope(var.name);
    std::optional<fcs::File> own;
    const fcs::Dataset* vds = ds;
    if (std::string(var.name) != "linearize") {
      fcs::ReadOptions o = base;
      o.transformation = var.t;
      o.truncate_max_range = var.truncate;
      ReadResult rv = try_read(path, o);
      if (!rv.file) {
        chk.mismatch(std::string(var.name) + ":read", "read with " + options_text(o) + " threw " + describe_error(rv));
        continue;
      }
      own = std::move(rv.file);
      vds = pick(chk, *own, c.dataset, var.name);
      if (vds == nullptr) continue;
    }
    const json* gch = member(*v, "channels");
    if (gch == nullptr) gch = member(gds, "channels");
    std::vector<int> map;
    std::vector<std::string> names;
    if (gch != nullptr) {
      check_channels(chk, *vds, *gch, var.name, false);
      for (std::size_t j = 0; j < gch->size(); ++j) {
        map.push_back(j < vds->channels.size() ? static_cast<int>(j) : -1);
        names.push_back((*gch)[j].value("name", "#" + std::to_string(j + 1)));
      }
    }
    compare_values(chk, var.name, *vds, *v, map, names);
    chk.end_scope();
  }
  if (member(*vars, "compensated") != nullptr) chk.note("compensated: not checked (compensation comes later)");
}

void run_flowcore_failed(const Case& c, const json& gds, Checker& chk, SummaryRow& row) {
  const fs::path path = golden::corpus_dir() / c.file;
  const auto& E = expectations();
  const auto reads = E.find(c.rel(), c.dataset, "read");
  const auto fails = E.find(c.rel(), c.dataset, "fail");
  fcs::ReadOptions base;
  base.dataset = c.dataset;
  chk.begin_scope("read");
  ReadResult r = try_read(path, base);
  const fcs::Dataset* ds = nullptr;
  if (r.file) {
    for (const auto& d : r.file->datasets) {
      if (d.number == c.dataset) ds = &d;
    }
    if (ds == nullptr && r.file->datasets.size() == 1) ds = &r.file->datasets[0];
    if (ds != nullptr) {
      row.issues = issue_codes(*ds);
      note_other_codes(*ds, c.label());
    }
  }
  const std::string outcome = r.file ? (ds != nullptr ? "we read " + std::to_string(ds->events.rows()) + " events x " +
                                                            std::to_string(ds->channels.size()) + " channels"
                                                      : std::string("we read the file but not this data set"))
                                     : "we throw " + describe_error(r);

  if (reads.size() + fails.size() != 1) {
    chk.mismatch("expectation", reads.empty() && fails.empty()
                                    ? "flowCore failed (" + c.flowcore_error +
                                          ") and golden_expectations.tsv has no read/fail line for this data set; " +
                                          outcome
                                    : "golden_expectations.tsv has several read/fail lines for this data set");
    return;
  }
  if (!fails.empty()) {
    const Expectation& e = *fails.front();
    const auto colon = e.detail.find(':');
    const std::string kind_s(golden::trim_view(e.detail.substr(0, colon)));
    const std::string sub = colon == std::string::npos ? std::string() : std::string(golden::trim_view(e.detail.substr(colon + 1)));
    const auto want_kind = kind_from_name(kind_s);
    if (!want_kind) {
      ADD_FAILURE() << "golden_expectations.tsv line " << e.line << ": '" << kind_s
                    << "' is not an ErrorKind (io, invalid, unsupported, argument)";
    }
    row.detail = outcome;
    if (r.file) {
      chk.mismatch("error:none", "expected fcs::Error(" + kind_s + (sub.empty() ? "" : ", \"" + sub + "\"") +
                                     ") (line " + std::to_string(e.line) + ": " + e.why + ") but " + outcome +
                                     (row.issues.empty() ? "" : ", issues " + row.issues));
      return;
    }
    if (!r.kind) {
      chk.mismatch("error:type", "expected fcs::Error, got " + r.error);
      return;
    }
    if (want_kind && *r.kind != *want_kind) {
      chk.mismatch("error:kind", std::string("expected ErrorKind::") + kind_s + ", got ErrorKind::" + kind_name(*r.kind) +
                                     ": " + r.error);
    }
    if (!sub.empty() && !golden::icontains(r.error, sub) && !golden::icontains(r.issue_message, sub)) {
      chk.mismatch("error:message", "error message should contain " + golden::quote(sub) + ": " + r.error);
    }
    return;
  }

  // `read`: we must read what flowCore could not.
  const Expectation& e = *reads.front();
  if (!r.file) {
    chk.mismatch("read", "expected to read this data set (line " + std::to_string(e.line) + ": " + e.why +
                             ") but " + outcome);
    return;
  }
  ds = pick(chk, *r.file, c.dataset, "linearize");
  if (ds == nullptr) return;
  std::vector<const Expectation*> rep = reads;
  for (const auto* x : E.find(c.rel(), c.dataset, "repairs")) rep.push_back(x);
  chk.begin_scope("repairs");
  check_repairs(chk, *ds, rep);

  // Events: the second opinion's count, else $TOT.
  chk.begin_scope("read");
  std::optional<std::uint64_t> n;
  std::string n_from;
  if (const json* vars = member(gds, "variants")) {
    for (const char* k : {"flowio_preprocessed", "flowkit_raw"}) {
      const json* v = member(*vars, k);
      if (v != nullptr && member(*v, "n_events") != nullptr && !n) {
        n = (*v)["n_events"].get<std::uint64_t>();
        n_from = k;
      }
    }
  }
  if (!n) {
    if (const json* kw = member(gds, "keywords"); kw != nullptr && kw->contains("$TOT")) {
      n = std::stoull((*kw)["$TOT"].get<std::string>());
      n_from = "$TOT";
    }
  }
  check_basics(chk, *ds, gds, n);
  chk.end_scope();
  check_keywords(chk, *ds, gds);
  chk.begin_scope("values");
  for (const auto* v : E.find(c.rel(), c.dataset, "values")) check_explicit_values(chk, *ds, *v);
  for (const auto* v : E.find(c.rel(), c.dataset, "same_as")) check_same_as(chk, *ds, *v);
  chk.end_scope();
  compare_second_opinion(chk, c, gds, "flowkit_raw");
  compare_second_opinion(chk, c, gds, "flowio_preprocessed");
  row.detail = outcome + (n_from.empty() ? "" : " (n_events checked against " + n_from + ")");
}

// ------------------------------------------------------------------------------------------------

class Golden : public ::testing::TestWithParam<Case> {};

TEST_P(Golden, MatchesFlowCore) {
  const Case& c = GetParam();
  if (c.placeholder) {
    GTEST_SKIP() << "shared FCS corpus not found (" << c.file << "); set FLOWMRD_SHARED_DATA";
  }
  const auto& E = expectations();
  ASSERT_TRUE(E.loaded()) << "missing " << golden::expectations_path();
  for (const auto& err : E.errors()) ADD_FAILURE() << "golden_expectations.tsv: " << err;

  json g;
  {
    std::ifstream in(golden_json_path(c), std::ios::binary);
    ASSERT_TRUE(in) << "cannot open " << golden_json_path(c);
    g = json::parse(in);
  }
  const json* gds = nullptr;
  for (const auto& d : g.at("datasets")) {
    if (d.value("dataset", 0) == c.dataset) gds = &d;
  }
  ASSERT_NE(gds, nullptr) << c.label() << ": no dataset " << c.dataset << " in " << golden_json_path(c);
  json ds_json = *gds;
  ds_json["__dataset_count"] = g.at("datasets").size();

  files_run().insert(c.rel() + "#" + std::to_string(c.dataset));
  files_run().insert(c.rel() + "#*");

  SummaryRow row;
  row.label = c.label();
  row.status = c.status;
  Checker chk(c.label(), E.find(c.rel(), c.dataset, "known"));
  try {
    if (c.status == "flowcore_failed") {
      run_flowcore_failed(c, ds_json, chk, row);
    } else {
      run_flowcore_read(c, ds_json, chk, row);
    }
  } catch (const std::exception& e) {  // e.g. an event matrix with fewer columns than channels
    chk.mismatch("exception", std::string("exception while comparing: ") + e.what());
  }
  chk.end_scope();
  for (const auto* k : chk.used_known()) used_known().insert(k);
  row.failures = chk.failures();
  row.known = chk.known();
  if (chk.failures() > 0 || HasFailure()) {
    row.outcome = "FAIL";
    if (!chk.first_failure().empty()) row.detail = chk.first_failure() + (row.detail.empty() ? "" : " | " + row.detail);
  } else {
    row.outcome = chk.known() > 0 ? "KNOWN" : "pass";
  }
  for (const auto& n : chk.notes()) {  // what the second opinions covered
    if (n.rfind("flowio", 0) == 0 || n.rfind("flowkit", 0) == 0) row.detail += (row.detail.empty() ? "" : "; ") + n;
  }
  std::string notes;
  for (const auto& n : chk.notes()) notes += (notes.empty() ? "" : "; ") + n;
  if (!notes.empty()) RecordProperty("notes", notes);
  summary_rows().push_back(row);
}

INSTANTIATE_TEST_SUITE_P(Corpus, Golden, ::testing::ValuesIn(golden::load_cases()),
                         [](const ::testing::TestParamInfo<Case>& param_info) { return param_info.param.name; });

}  // namespace
