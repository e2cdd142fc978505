// SPDX-License-Identifier: Apache-2.0
// Per-event labels CSV import. The rules (separator, quoting, header detection, column kinds,
// unlabeled values) are stated in labels.hpp and docs/qa.md; this file implements them in two
// steps: parse every record into per-column dictionaries of distinct values (so a million-row,
// thirty-column file costs four bytes per cell, not one std::string), then decide the header
// and the column kinds from those dictionaries and build the masks.
#include "flowmrd/gating/labels.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>

namespace flowmrd::gating {

const Mask* Labels::find(const std::string& name) const noexcept {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return &masks[i];
  }
  return nullptr;
}

namespace {

// ---------------------------------------------------------------------------------------------
// RFC 4180 records

struct Record {
  std::vector<std::string> fields;
  std::vector<bool> quoted;
  std::size_t line = 0;  // physical line where the record starts (1-based)
  [[nodiscard]] bool blank() const { return fields.size() == 1 && fields[0].empty() && !quoted[0]; }
};

class CsvReader {
 public:
  CsvReader(std::string_view text, std::string_view origin, char separator)
      : text_(text), origin_(origin), separator_(separator) {}

  // The next record, or false at the end of the text.
  bool next(Record& record) {
    if (pos_ >= text_.size()) return false;
    record.fields.clear();
    record.quoted.clear();
    record.line = line_;
    while (true) {
      std::string field;
      const bool quoted = read_field(field);
      record.fields.push_back(std::move(field));
      record.quoted.push_back(quoted);
      if (pos_ >= text_.size()) return true;
      const char c = text_[pos_];
      if (c == separator_) {
        ++pos_;
        continue;
      }
      consume_line_end();
      return true;
    }
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& reason) const {
    throw LabelsError(std::string{origin_} + ":" + std::to_string(line) + ": " + reason);
  }

  [[nodiscard]] bool at_line_end() const { return text_[pos_] == '\n' || text_[pos_] == '\r'; }

  // CRLF, LF and CR each end one line.
  void consume_line_end() {
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  [[nodiscard]] bool is_space(char c) const { return (c == ' ' || c == '\t') && c != separator_; }

  void skip_spaces() {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  }

  // Reads one field and leaves pos_ at the separator, the line end or the end of the text.
  bool read_field(std::string& out) {
    const std::size_t start = pos_;
    skip_spaces();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      read_quoted(out);
      skip_spaces();
      if (pos_ < text_.size() && text_[pos_] != separator_ && !at_line_end()) {
        fail(line_, std::string{"unexpected character '"} + text_[pos_] +
                        "' after a closing quote (a quote inside a quoted field is written \"\")");
      }
      return true;
    }
    pos_ = start;
    while (pos_ < text_.size() && text_[pos_] != separator_ && !at_line_end()) ++pos_;
    std::string_view raw = text_.substr(start, pos_ - start);
    while (!raw.empty() && is_space(raw.front())) raw.remove_prefix(1);
    while (!raw.empty() && is_space(raw.back())) raw.remove_suffix(1);
    out.assign(raw);
    return false;
  }

  void read_quoted(std::string& out) {
    const std::size_t opened = line_;
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= text_.size()) fail(opened, "quoted field is never closed");
      const char c = text_[pos_];
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          out.push_back('"');
          pos_ += 2;
          continue;
        }
        ++pos_;
        return;
      }
      if (c == '\r' || c == '\n') {
        // A line break inside quotes belongs to the value (RFC 4180 2.6); keep it as '\n'.
        consume_line_end();
        out.push_back('\n');
        continue;
      }
      out.push_back(c);
      ++pos_;
    }
  }

  std::string_view text_;
  std::string_view origin_;
  char separator_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

// Comma unless the first line has a tab and no comma (a tab-separated export).
char detect_separator(std::string_view text) {
  const std::string_view first = text.substr(0, text.find_first_of("\r\n"));
  if (first.find(',') == std::string_view::npos && first.find('\t') != std::string_view::npos) return '\t';
  return ',';
}

// ---------------------------------------------------------------------------------------------
// Values

std::optional<double> parse_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  double v = 0.0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

bool is_missing(std::string_view s) { return s.empty() || s == "NA"; }

// 0/1 membership values; nullopt when `s` is not one.
std::optional<bool> indicator_value(std::string_view s) {
  if (iequals(s, "true")) return true;
  if (iequals(s, "false")) return false;
  const auto v = parse_number(s);
  if (v && *v == 1.0) return true;
  if (v && *v == 0.0) return false;
  return std::nullopt;
}

// A data value rather than a column name: a number, a missing value or true/false.
bool numeric_or_missing(std::string_view s) {
  return is_missing(s) || parse_number(s).has_value() || indicator_value(s).has_value();
}

// The population a label value names; empty = none (empty, NA, 0). Integral numbers are written
// without a fraction so "2" and "2.0" name the same population.
std::string label_name(const std::string& s) {
  if (is_missing(s)) return {};
  const auto v = parse_number(s);
  if (!v) return s;
  if (*v == 0.0) return {};
  if (std::trunc(*v) == *v && std::fabs(*v) < 9.0e15) return std::to_string(static_cast<long long>(*v));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Columns as dictionaries of distinct values

struct ColumnData {
  std::unordered_map<std::string, std::uint32_t> index;
  std::vector<std::string> values;   // by id, in order of first appearance
  std::vector<std::size_t> counts;   // records holding each value (the first record included)
  std::vector<std::uint32_t> ids;    // one per record

  void add(std::string&& value) {
    auto [it, inserted] = index.try_emplace(std::move(value), static_cast<std::uint32_t>(values.size()));
    if (inserted) {
      values.push_back(it->first);
      counts.push_back(0);
    }
    ++counts[it->second];
    ids.push_back(it->second);
  }
  // Does `pred` hold for every value of the records after the first one?
  template <class Pred>
  [[nodiscard]] bool all_after_first(Pred pred) const {
    for (std::size_t v = 0; v < values.size(); ++v) {
      const std::size_t below = counts[v] - (ids.front() == v ? 1 : 0);
      if (below > 0 && !pred(values[v])) return false;
    }
    return true;
  }
};

struct Table {
  std::vector<ColumnData> columns;
  std::vector<std::size_t> lines;  // start line of each record
  std::vector<bool> first_quoted;  // quoting of the first record's fields
  [[nodiscard]] std::size_t records() const { return lines.size(); }
};

Table read_table(std::string_view text, std::string_view origin) {
  Table table;
  CsvReader reader(text, origin, detect_separator(text));
  Record record;
  std::vector<std::size_t> pending_blank_lines;  // blank lines count only if a record follows
  const auto add = [&](Record& r) {
    if (table.columns.empty()) {
      table.columns.resize(r.fields.size());
      table.first_quoted = r.quoted;
    } else if (r.fields.size() != table.columns.size()) {
      throw LabelsError(std::string{origin} + ":" + std::to_string(r.line) + ": " + std::to_string(r.fields.size()) +
                        " field(s), expected " + std::to_string(table.columns.size()) + " (as in line " +
                        std::to_string(table.lines.front()) + ")");
    }
    for (std::size_t c = 0; c < r.fields.size(); ++c) table.columns[c].add(std::move(r.fields[c]));
    table.lines.push_back(r.line);
  };
  while (reader.next(record)) {
    if (record.blank()) {
      pending_blank_lines.push_back(record.line);
      continue;
    }
    for (const std::size_t line : pending_blank_lines) {
      Record blank{{std::string{}}, {false}, line};
      add(blank);
    }
    pending_blank_lines.clear();
    add(record);
  }
  if (table.records() == 0) throw LabelsError(std::string{origin} + ": the file holds no rows");
  return table;
}

// ---------------------------------------------------------------------------------------------
// Header and column kinds

// A first-record field that reads as a column name: text that is not a number or a missing
// value, or R's quoted empty row-names header `""`.
bool header_like(const std::string& value, bool quoted, std::size_t columns) {
  if (value.empty()) return quoted && columns > 1;
  return !numeric_or_missing(value);
}

bool detect_header(const Table& t, const LabelsOptions& options) {
  if (options.header) return *options.header;
  bool all_numeric = true;
  for (std::size_t c = 0; c < t.columns.size(); ++c) {
    const ColumnData& col = t.columns[c];
    const std::string& first = col.values[col.ids.front()];
    if (!header_like(first, t.first_quoted[c], t.columns.size())) continue;
    all_numeric = false;
    // Text above numbers: a column name.
    if (t.records() > 1 && col.all_after_first([](const std::string& v) { return numeric_or_missing(v); }))
      return true;
  }
  if (all_numeric) return false;
  // Text above text. The row count settles it when the event count is known; otherwise a column
  // name is a value that does not occur again in its column.
  if (options.expected_events) return t.records() == *options.expected_events + 1;
  for (std::size_t c = 0; c < t.columns.size(); ++c) {
    const ColumnData& col = t.columns[c];
    const std::uint32_t first = col.ids.front();
    if (header_like(col.values[first], t.first_quoted[c], t.columns.size()) && col.counts[first] > 1) return false;
  }
  return true;
}

bool is_row_index(const ColumnData& col, const std::string& header, std::size_t first_row) {
  if (!(header.empty() || iequals(header, "event") || iequals(header, "index") || iequals(header, "id") ||
        iequals(header, "row"))) {
    return false;
  }
  const std::size_t rows = col.ids.size() - first_row;
  if (rows == 0) return false;
  // Row names 1..n (R) or 0..n-1 (pandas); decided by the first data row.
  const auto start = parse_number(col.values[col.ids[first_row]]);
  if (!start || (*start != 0.0 && *start != 1.0)) return false;
  for (std::size_t r = 0; r < rows; ++r) {
    const auto v = parse_number(col.values[col.ids[first_row + r]]);
    if (!v || *v != *start + static_cast<double>(r)) return false;
  }
  return true;
}

LabelsColumn::Kind column_kind(const ColumnData& col, std::size_t index, std::size_t columns, bool header,
                               const std::string& name) {
  const std::size_t first_row = header ? 1 : 0;
  if (!header && columns == 1) return LabelsColumn::Kind::label;  // FlowCAP: one integer label per event
  if (header && index == 0 && columns > 1 && is_row_index(col, name, first_row)) return LabelsColumn::Kind::row_index;
  for (std::size_t v = 0; v < col.values.size(); ++v) {
    const std::size_t below = col.counts[v] - (header && col.ids.front() == v ? 1 : 0);
    if (below > 0 && !indicator_value(col.values[v])) return LabelsColumn::Kind::label;
  }
  return LabelsColumn::Kind::indicator;
}

// ---------------------------------------------------------------------------------------------
// Populations

class Builder {
 public:
  Builder(const Table& table, std::string_view origin, bool header)
      : table_(table), origin_(origin), first_row_(header ? 1 : 0) {
    labels_.events = table.records() - first_row_;
    labels_.has_header = header;
  }

  void add_indicator(std::size_t c) {
    const ColumnData& col = table_.columns[c];
    const std::string& name = labels_.columns[c].header;
    if (name.empty()) {
      throw LabelsError(std::string{origin_} + ":" + std::to_string(table_.lines.front()) + ": column " +
                        std::to_string(c + 1) + " holds 0/1 values but its header is empty");
    }
    std::vector<char> member(col.values.size());
    for (std::size_t v = 0; v < col.values.size(); ++v) member[v] = indicator_value(col.values[v]).value_or(false);
    Mask mask(labels_.events);
    for (std::size_t r = 0; r < labels_.events; ++r) {
      if (member[col.ids[first_row_ + r]] != 0) mask.set(r);
    }
    add_population(name, std::move(mask), c);
  }

  void add_label_column(std::size_t c) {
    const ColumnData& col = table_.columns[c];
    // Value id -> population index within this column (-1 none yet), or -2 for "no population".
    std::vector<long> population_of(col.values.size(), -1);
    std::vector<std::string> names;
    std::vector<Mask> masks;
    std::map<std::string, std::size_t> by_name;
    for (std::size_t r = 0; r < labels_.events; ++r) {
      const std::uint32_t id = col.ids[first_row_ + r];
      if (population_of[id] == -1) {
        const std::string name = label_name(col.values[id]);
        if (name.empty()) {
          population_of[id] = -2;
        } else {
          auto [it, inserted] = by_name.try_emplace(name, names.size());
          if (inserted) {
            names.push_back(name);
            masks.emplace_back(labels_.events);
          }
          population_of[id] = static_cast<long>(it->second);
        }
      }
      if (population_of[id] >= 0) masks[static_cast<std::size_t>(population_of[id])].set(r);
    }
    for (std::size_t p = 0; p < names.size(); ++p) add_population(names[p], std::move(masks[p]), c);
  }

  Labels& labels() { return labels_; }

 private:
  void add_population(const std::string& name, Mask mask, std::size_t column) {
    for (std::size_t i = 0; i < labels_.names.size(); ++i) {
      if (labels_.names[i] != name) continue;
      if (labels_.masks[i] == mask) return;  // the same population twice (e.g. `population,blast`)
      std::size_t row = 0;
      while (labels_.masks[i].test(row) == mask.test(row)) ++row;
      throw LabelsError(std::string{origin_} + ":" + std::to_string(table_.lines[first_row_ + row]) +
                        ": population '" + name + "' is named by column " + std::to_string(origin_column_[i] + 1) +
                        " and column " + std::to_string(column + 1) + ", which disagree on this event");
    }
    labels_.names.push_back(name);
    labels_.masks.push_back(std::move(mask));
    origin_column_.push_back(column);
  }

  const Table& table_;
  std::string_view origin_;
  std::size_t first_row_;
  Labels labels_;
  std::vector<std::size_t> origin_column_;
};

}  // namespace

Labels parse_labels_csv(std::string_view text, std::string_view origin, const LabelsOptions& options) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  const Table table = read_table(text, origin);
  const bool header = detect_header(table, options);
  const std::size_t events = table.records() - (header ? 1 : 0);
  if (options.expected_events && events != *options.expected_events) {
    throw LabelsError(std::string{origin} + ": " + std::to_string(events) + " row(s) of labels" +
                      (header ? " after the header line" : " (no header line)") + ", but the data set has " +
                      std::to_string(*options.expected_events) + " events");
  }
  Builder builder(table, origin, header);
  Labels& labels = builder.labels();
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    const ColumnData& col = table.columns[c];
    LabelsColumn column;
    column.header = header ? col.values[col.ids.front()] : "column " + std::to_string(c + 1);
    column.kind = column_kind(col, c, table.columns.size(), header, column.header);
    labels.columns.push_back(column);
  }
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    switch (labels.columns[c].kind) {
      case LabelsColumn::Kind::indicator: builder.add_indicator(c); break;
      case LabelsColumn::Kind::label: builder.add_label_column(c); break;
      case LabelsColumn::Kind::row_index: break;
    }
  }
  return std::move(labels);
}

Labels read_labels_csv(const std::filesystem::path& path, const LabelsOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw LabelsError(path.string() + ": cannot open the labels file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw LabelsError(path.string() + ": cannot read the labels file");
  return parse_labels_csv(buffer.view(), path.string(), options);
}

Labels read_labels_csv(const std::filesystem::path& path, std::optional<std::size_t> expected_events) {
  LabelsOptions options;
  options.expected_events = expected_events;
  return read_labels_csv(path, options);
}

}  // namespace flowmrd::gating
