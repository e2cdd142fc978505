// SPDX-License-Identifier: Apache-2.0
// The batch manifest parser (docs/manifest.md): RFC 4180 CSV -> tubes grouped into samples,
// samples into patients. File-level problems throw ManifestError; row-level problems mark the
// sample with `error` so that a batch still runs every other sample.
#include "flowmrd/pipeline/manifest.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>

namespace flowmrd::pipeline {

namespace {

namespace fs = std::filesystem;

// ---- CSV tokenizer ------------------------------------------------------------------------------

struct Record {
  std::size_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string trim(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && is_blank(s[b])) ++b;
  while (e > b && is_blank(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  });
  return out;
}

/// Split RFC 4180 text into records. Lines starting with '#' (at the start of a record) and
/// records whose fields are all empty are skipped. Throws ManifestError for text that is not CSV.
std::vector<Record> tokenize(std::string_view text, const std::string& file) {
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF) {
    text.remove_prefix(3);
  }
  std::vector<Record> records;
  std::size_t i = 0;
  std::size_t line = 1;
  const std::size_t n = text.size();

  // Consume a line ending at text[i] ("\r\n", "\n" or "\r"); returns false when none is there.
  auto end_of_line = [&]() -> bool {
    if (i < n && text[i] == '\r') {
      ++i;
      if (i < n && text[i] == '\n') ++i;
      ++line;
      return true;
    }
    if (i < n && text[i] == '\n') {
      ++i;
      ++line;
      return true;
    }
    return false;
  };

  while (i < n) {
    // A comment line: skipped up to its end, quotes and all.
    if (text[i] == '#') {
      while (i < n && text[i] != '\n' && text[i] != '\r') ++i;
      end_of_line();
      continue;
    }
    Record rec;
    rec.line = line;
    bool record_done = false;
    while (!record_done) {
      std::string field;
      std::size_t j = i;
      while (j < n && is_blank(text[j])) ++j;
      if (j < n && text[j] == '"') {
        // Quoted field (leading blanks before the quote are tolerated).
        const std::size_t open_line = line;
        i = j + 1;
        bool closed = false;
        while (i < n) {
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (c == '\r' || c == '\n') {
            // A line break inside quotes belongs to the field (normalised to "\n").
            end_of_line();
            field += '\n';
            continue;
          }
          field += c;
          ++i;
        }
        if (!closed) {
          throw ManifestError(file + ":" + std::to_string(open_line) +
                              ": a quoted field is never closed (missing '\"')");
        }
        while (i < n && is_blank(text[i])) ++i;
        if (i < n && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
          throw ManifestError(file + ":" + std::to_string(line) + ": unexpected character '" +
                              std::string(1, text[i]) +
                              "' after a closing quote (a quote inside a field is written \"\")");
        }
      } else {
        while (i < n && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
          if (text[i] == '"') {
            throw ManifestError(file + ":" + std::to_string(line) +
                                ": a quote inside an unquoted field (quote the whole field and "
                                "write the quote as \"\")");
          }
          field += text[i];
          ++i;
        }
      }
      rec.fields.push_back(trim(field));
      if (i < n && text[i] == ',') {
        ++i;
        continue;
      }
      end_of_line();
      record_done = true;
    }
    const bool empty = std::all_of(rec.fields.begin(), rec.fields.end(),
                                   [](const std::string& f) { return f.empty(); });
    if (!empty) records.push_back(std::move(rec));
  }
  return records;
}

// ---- columns ------------------------------------------------------------------------------------

enum class Col {
  patient, sample, timepoint, protocol_timepoint, date, tube, file, panel, protocol,
  age_days, wbc, kmt2a, kmt2a_fusion, cns, day8_pb_blasts_per_ul,
  extra,    // unknown (or known extra: truth, comment)
  ignored,  // a column without a name
};

struct ColumnName {
  std::string_view name;
  Col col;
};

constexpr std::array<ColumnName, 15> kKnownColumns = {{
    {"patient", Col::patient},
    {"sample", Col::sample},
    {"timepoint", Col::timepoint},
    {"protocol_timepoint", Col::protocol_timepoint},
    {"date", Col::date},
    {"tube", Col::tube},
    {"file", Col::file},
    {"panel", Col::panel},
    {"protocol", Col::protocol},
    {"age_days", Col::age_days},
    {"wbc", Col::wbc},
    {"kmt2a", Col::kmt2a},
    {"kmt2a_fusion", Col::kmt2a_fusion},
    {"cns", Col::cns},
    {"day8_pb_blasts_per_ul", Col::day8_pb_blasts_per_ul},
}};

bool is_number_column(Col c) { return c == Col::age_days || c == Col::wbc || c == Col::day8_pb_blasts_per_ul; }

struct Column {
  std::string name;  // canonical (lower-case) for known columns, trimmed as written for extras
  Col col = Col::extra;
};

// ---- values -------------------------------------------------------------------------------------

bool valid_date(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t k = 0; k < s.size(); ++k) {
    if (k == 4 || k == 7) continue;
    if (s[k] < '0' || s[k] > '9') return false;
  }
  const int y = std::stoi(s.substr(0, 4));
  const unsigned m = static_cast<unsigned>(std::stoi(s.substr(5, 2)));
  const unsigned d = static_cast<unsigned>(std::stoi(s.substr(8, 2)));
  return std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}}.ok();
}

bool non_negative_number(const std::string& s) {
  if (s.empty()) return false;
  double v = 0.0;
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, v);
  return ec == std::errc{} && ptr == end && std::isfinite(v) && v >= 0.0;
}

bool is_diagnosis_label(const std::string& s) {
  const std::string l = lower(s);
  return l == "dx" || l == "diagnosis";
}

std::string squote(const std::string& s) { return "'" + s + "'"; }

// ---- samples under construction -----------------------------------------------------------------

/// A value of a sample that all its rows must agree on, and the line that first gave it.
struct Agreed {
  std::string value;
  std::size_t line = 0;
};

struct Building {
  ManifestSample sample;
  std::map<std::string, Agreed> agreed;  // column name -> value
  std::vector<std::string> clinical_order;  // clinical columns in column order (all of them)
  std::map<std::string, std::size_t> files;  // normalised path -> line
  bool sample_from_timepoint = false;
};

}  // namespace

bool is_safe_id(std::string_view id) {
  if (id.empty() || id.size() > 64 || id.front() == '.') return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

Manifest parse_manifest(std::string_view text, const std::filesystem::path& path) {
  const std::string file = path.string();
  auto at = [&](std::size_t line) { return file + ":" + std::to_string(line) + ": "; };

  std::vector<Record> records = tokenize(text, file);
  if (records.empty()) {
    throw ManifestError(file + ": no header row (expected columns patient, timepoint, file, ...)");
  }

  Manifest m;
  m.path = path;

  // Header.
  const Record& header = records.front();
  std::vector<Column> columns;
  std::map<std::string, std::size_t> seen;  // lower-case name -> index
  std::vector<std::string> unknown;
  for (std::size_t c = 0; c < header.fields.size(); ++c) {
    const std::string& written = header.fields[c];
    m.columns.push_back(written);
    Column col;
    if (written.empty()) {
      col.col = Col::ignored;
      columns.push_back(col);
      continue;
    }
    const std::string key = lower(written);
    if (const auto it = seen.find(key); it != seen.end()) {
      throw ManifestError(at(header.line) + "column " + squote(written) + " appears twice (columns " +
                          std::to_string(it->second + 1) + " and " + std::to_string(c + 1) + ")");
    }
    seen.emplace(key, c);
    const auto known = std::find_if(kKnownColumns.begin(), kKnownColumns.end(),
                                    [&](const ColumnName& k) { return k.name == key; });
    if (known != kKnownColumns.end()) {
      col.name = std::string(known->name);
      col.col = known->col;
    } else {
      col.name = written;
      col.col = Col::extra;
      if (key != "truth" && key != "comment") unknown.push_back(written);
    }
    columns.push_back(col);
  }
  std::vector<std::string> missing;
  for (const char* required : {"patient", "timepoint", "file"}) {
    if (seen.find(required) == seen.end()) missing.emplace_back(required);
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& s : missing) list += (list.empty() ? "" : ", ") + s;
    throw ManifestError(at(header.line) + "required column" + (missing.size() > 1 ? "s " : " ") + list +
                        " missing (the header is: " +
                        [&] {
                          std::string h;
                          for (const auto& s : m.columns) h += (h.empty() ? "" : ",") + s;
                          return h;
                        }() +
                        ")");
  }
  if (!unknown.empty()) {
    std::string list;
    for (const auto& s : unknown) list += (list.empty() ? "" : ", ") + squote(s);
    m.warnings.push_back(at(header.line) + "unknown column" + (unknown.size() > 1 ? "s " : " ") + list +
                         " (kept with the sample, not used by the analysis)");
  }
  const bool has_sample_column = seen.count("sample") > 0;
  const fs::path base = path.parent_path();

  std::vector<Building> building;
  std::map<std::pair<std::string, std::string>, std::size_t> index;  // (patient, sample) -> building
  bool warned_unnamed = false;

  for (std::size_t r = 1; r < records.size(); ++r) {
    const Record& rec = records[r];
    auto cell = [&](Col which) -> std::string {
      for (std::size_t c = 0; c < columns.size() && c < rec.fields.size(); ++c) {
        if (columns[c].col == which) return rec.fields[c];
      }
      return {};
    };
    const std::string patient = cell(Col::patient);
    const std::string timepoint = cell(Col::timepoint);
    std::string sample_id = cell(Col::sample);
    const bool from_timepoint = sample_id.empty();
    if (from_timepoint) sample_id = timepoint;

    const auto key = std::make_pair(patient, sample_id);
    auto found = index.find(key);
    const bool first_row = found == index.end();
    if (first_row) {
      found = index.emplace(key, building.size()).first;
      Building b;
      b.sample.patient = patient;
      b.sample.sample = sample_id;
      b.sample.line = rec.line;
      b.sample_from_timepoint = from_timepoint;
      building.push_back(std::move(b));
    }
    Building& b = building[found->second];
    ManifestSample& s = b.sample;
    const std::string who = "sample " + patient + "/" + sample_id + ": ";
    auto fail = [&](const std::string& reason) {
      if (s.error.empty()) s.error = at(rec.line) + reason;
    };

    // Fields beyond the header: an error only when one holds a value (spreadsheets often
    // export trailing empty fields on some rows).
    const auto beyond = rec.fields.begin() + static_cast<std::ptrdiff_t>(std::min(columns.size(), rec.fields.size()));
    const bool extra_values =
        std::any_of(beyond, rec.fields.end(), [](const std::string& f) { return !f.empty(); });
    if (extra_values) {
      fail("row has " + std::to_string(rec.fields.size()) + " fields but the header has " +
           std::to_string(columns.size()) + " columns (quote a value that contains a comma)");
    }
    if (patient.empty()) {
      fail("column patient is empty");
    } else if (!is_safe_id(patient)) {
      fail("column patient: " + squote(patient) +
           " is not a valid id (1-64 characters of A-Z a-z 0-9 . _ -, not starting with '.')");
    }
    if (timepoint.empty()) fail("column timepoint is empty");
    if (!sample_id.empty() && !is_safe_id(sample_id)) {
      fail(std::string(from_timepoint && has_sample_column ? "column sample is empty and the timepoint "
                       : from_timepoint                    ? "the sample id is the timepoint, and "
                                                           : "column sample: ") +
           squote(sample_id) + " is not a valid id (1-64 characters of A-Z a-z 0-9 . _ -, not starting with '.')");
    }

    // Values all rows of the sample must agree on.
    auto agree = [&](const std::string& name, const std::string& value) {
      if (value.empty()) return;
      auto& a = b.agreed[name];
      if (a.value.empty()) {
        a.value = value;
        a.line = rec.line;
      } else if (a.value != value) {
        fail(who + "column " + name + " is " + squote(value) + " here but " + squote(a.value) + " on line " +
             std::to_string(a.line));
      }
    };
    agree("timepoint", timepoint);

    for (std::size_t c = 0; c < columns.size(); ++c) {
      const Column& col = columns[c];
      const std::string value = c < rec.fields.size() ? rec.fields[c] : std::string{};
      switch (col.col) {
        case Col::protocol_timepoint:
        case Col::panel:
        case Col::protocol:
          agree(col.name, value);
          break;
        case Col::date:
          if (!value.empty() && !valid_date(value)) {
            fail("column date: " + squote(value) + " is not a date (expected YYYY-MM-DD, e.g. 2026-03-02)");
          } else {
            agree(col.name, value);
          }
          break;
        case Col::age_days:
        case Col::wbc:
        case Col::day8_pb_blasts_per_ul:
        case Col::kmt2a:
        case Col::kmt2a_fusion:
        case Col::cns: {
          if (first_row) b.clinical_order.push_back(col.name);
          std::string v = value;
          if (v.empty()) break;
          if (is_number_column(col.col)) {
            if (!non_negative_number(v)) {
              fail("column " + col.name + ": " + squote(v) + " is not a non-negative number");
              break;
            }
          } else if (col.col == Col::kmt2a) {
            v = lower(v);
            if (v != "rearranged" && v != "germline" && v != "unknown") {
              fail("column kmt2a: " + squote(value) + " is not one of rearranged, germline, unknown");
              break;
            }
          } else if (col.col == Col::cns) {
            v = lower(v);
            if (v != "positive" && v != "negative") {
              fail("column cns: " + squote(value) + " is not one of positive, negative");
              break;
            }
          }
          agree(col.name, v);
          break;
        }
        case Col::extra:
          if (first_row) s.extra.emplace_back(col.name, value);
          break;
        case Col::ignored:
          if (!value.empty() && !warned_unnamed) {
            warned_unnamed = true;
            m.warnings.push_back(at(rec.line) + "column " + std::to_string(c + 1) +
                                 " has no name in the header; its values are ignored");
          }
          break;
        case Col::patient:
        case Col::sample:
        case Col::timepoint:
        case Col::tube:
        case Col::file:
          break;
      }
    }

    // The tube.
    const std::string file_cell = cell(Col::file);
    if (file_cell.empty()) {
      fail("column file is empty");
    } else {
      ManifestTube t;
      t.file = file_cell;
      const fs::path p(file_cell);
      t.path = p.is_absolute() ? p : base / p;
      t.label = cell(Col::tube);
      if (t.label.empty()) t.label = p.filename().string();
      t.line = rec.line;
      const std::string norm = t.path.lexically_normal().generic_string();
      if (const auto it = b.files.find(norm); it != b.files.end()) {
        fail(who + "file " + squote(file_cell) + " is listed twice (also on line " + std::to_string(it->second) +
             ")");
      } else {
        b.files.emplace(norm, rec.line);
        s.tubes.push_back(std::move(t));
      }
    }
  }

  // Finish the samples.
  std::map<std::string, std::size_t> patient_index;
  std::map<std::string, std::size_t> diagnosis_line;  // patient -> line of its diagnosis sample
  for (Building& b : building) {
    ManifestSample& s = b.sample;
    auto value = [&](const std::string& name) {
      const auto it = b.agreed.find(name);
      return it == b.agreed.end() ? std::string{} : it->second.value;
    };
    s.timepoint = value("timepoint");
    s.protocol_timepoint = value("protocol_timepoint");
    s.date = value("date");
    s.panel = value("panel");
    s.protocol = value("protocol");
    for (const std::string& name : b.clinical_order) {
      const std::string v = value(name);
      if (!v.empty()) s.clinical.emplace_back(name, v);
    }
    s.diagnosis = is_diagnosis_label(s.timepoint) || is_diagnosis_label(s.protocol_timepoint);
    if (s.diagnosis) {
      if (const auto it = diagnosis_line.find(s.patient); it != diagnosis_line.end()) {
        s.diagnosis = false;
        if (s.error.empty()) {
          s.error = at(s.line) + "patient " + s.patient + " already has a diagnosis sample (line " +
                    std::to_string(it->second) + ")";
        }
      } else {
        diagnosis_line.emplace(s.patient, s.line);
      }
    }
    const std::size_t k = m.samples.size();
    m.samples.push_back(std::move(s));
    auto [pit, inserted] = patient_index.emplace(m.samples.back().patient, m.patients.size());
    if (inserted) m.patients.push_back(ManifestPatient{m.samples.back().patient, {}});
    m.patients[pit->second].samples.push_back(k);
  }

  // Time order within each patient: diagnosis first, then by date when every sample has one.
  for (ManifestPatient& p : m.patients) {
    const bool all_dated = std::all_of(p.samples.begin(), p.samples.end(),
                                       [&](std::size_t k) { return !m.samples[k].date.empty(); });
    std::stable_sort(p.samples.begin(), p.samples.end(), [&](std::size_t a, std::size_t b) {
      const ManifestSample& sa = m.samples[a];
      const ManifestSample& sb = m.samples[b];
      if (sa.diagnosis != sb.diagnosis) return sa.diagnosis;
      if (all_dated) return sa.date < sb.date;
      return false;
    });
  }
  return m;
}

Manifest load_manifest(const std::filesystem::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw ManifestError(path.string() + ": is a folder, not a manifest file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ManifestError(path.string() + ": cannot open the manifest for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ManifestError(path.string() + ": cannot read the manifest");
  return parse_manifest(ss.str(), path);
}

}  // namespace flowmrd::pipeline
