// SPDX-License-Identifier: Apache-2.0
// Compensation::from_file: external spillover matrices. Formats (see docs/compensation.md):
//  * delimited text: CSV / TSV / semicolon, a header row of channel names, an optional first
//    column of row names; also FlowJo's text matrix (title line(s), then the same layout);
//  * FlowJo XML: a workspace-style <spilloverMatrix> (FlowJo 10 workspaces and .mtx exports) or
//    the older <CompensationMatrix> document;
//  * Gating-ML 2.0 <transforms:spectrumMatrix>.
#include "flowmrd/gating/compensation.hpp"

#include <pugixml.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "fcs/sha256.hpp"
#include "line_index.hpp"

namespace flowmrd::gating {

namespace {

using Kind = CompensationSource::Kind;

/// A matrix as read from a file, before validation and inversion.
struct ParsedMatrix {
  Kind kind = Kind::csv;
  std::vector<std::string> channels;
  std::vector<double> values;  ///< Row-major n x n.
  bool inverted_already = false;  ///< Gating-ML matrix-inverted-already="true".
};

[[noreturn]] void fail(const std::string& file, std::size_t line, const std::string& reason) {
  std::string msg = file;
  if (line != 0) msg += ":" + std::to_string(line);
  throw CompensationError(msg + ": " + reason);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string join_labels(const std::vector<std::string>& v, std::size_t limit = 32) {
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < limit; ++i) {
    if (i != 0) out += ", ";
    out += v[i];
  }
  if (v.size() > limit) out += ", ... (" + std::to_string(v.size()) + " in all)";
  return out;
}

/// A decimal number filling the whole (trimmed) field. `decimal_comma` also accepts one ',' as
/// the decimal mark (spreadsheets in many locales write "0,5" in semicolon- or tab-separated files).
std::optional<double> parse_number(std::string_view s, bool decimal_comma) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && ptr == s.data() + s.size()) return v;
  if (decimal_comma && std::count(s.begin(), s.end(), ',') == 1 && s.find('.') == std::string_view::npos) {
    std::string t(s);
    t[t.find(',')] = '.';
    auto [p2, ec2] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec2 == std::errc() && p2 == t.data() + t.size()) return v;
  }
  return std::nullopt;
}

/// A channel name as written in a header or row-name cell: blanks trimmed; FlowJo's compensated
/// notation `<FITC-A>` read as `FITC-A`; Cytobank's `PE-A :: CD33` (short name :: long name) read
/// as `PE-A`.
std::string normalise_name(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = trim(s.substr(1, s.size() - 2));
  if (const auto p = s.find("::"); p != std::string_view::npos) s = trim(s.substr(0, p));
  return std::string(s);
}

/// A square spillover matrix made from a FlowJo or Gating-ML file, with its channels named.
Compensation build(ParsedMatrix m, const std::string& file, const std::string& sha) {
  CompensationSource src{m.kind, file, sha};
  if (!m.inverted_already) return Compensation(std::move(m.channels), std::move(m.values), std::move(src));
  // The file holds S^-1: its inverse is S. Inverting through Compensation validates it the same way.
  const Compensation given(m.channels, m.values, src);
  const std::size_t n = given.size();
  std::vector<double> s(n * n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) s[i * n + j] = given.inverse(i, j);
  return Compensation(std::move(m.channels), std::move(s), std::move(src));
}

// ------------------------------------------------------------------------------------------------
// Delimited text

struct TextLine {
  std::size_t number = 0;  ///< 1-based line number in the file.
  std::string_view text;   ///< Without the line terminator.
};

/// Lines ending in "\n", "\r\n" or a lone "\r" (FlowJo's classic Mac text matrix ends lines with CR).
std::vector<TextLine> split_lines(std::string_view s) {
  std::vector<TextLine> out;
  std::size_t number = 1;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r') {
      out.push_back({number++, s.substr(start, i - start)});
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < s.size()) out.push_back({number, s.substr(start)});
  return out;
}

/// Field separators tried, in this order, for the first row of numbers.
enum class Sep { tab, semicolon, comma, blanks };

std::string sep_name(Sep s) {
  switch (s) {
    case Sep::tab: return "tab";
    case Sep::semicolon: return "semicolon";
    case Sep::comma: return "comma";
    case Sep::blanks: return "blank";
  }
  return "?";
}

/// Splits one line. Fields may be double-quoted (RFC 4180: a quote inside is doubled); blanks
/// around fields are trimmed. `blanks` splits on runs of spaces/tabs.
std::vector<std::string> split_fields(std::string_view line, Sep sep) {
  std::vector<std::string> out;
  if (sep == Sep::blanks) {
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i >= line.size()) break;
      const std::size_t b = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      out.emplace_back(line.substr(b, i - b));
    }
    return out;
  }
  const char c = sep == Sep::tab ? '\t' : sep == Sep::semicolon ? ';' : ',';
  std::string field;
  bool in_quotes = false;
  bool was_quoted = false;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || (!in_quotes && line[i] == c)) {
      out.push_back(was_quoted ? field : std::string(trim(field)));
      field.clear();
      was_quoted = false;
      continue;
    }
    const char ch = line[i];
    if (ch == '"') {
      if (in_quotes && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (in_quotes) {
        in_quotes = false;
      } else if (trim(field).empty()) {
        in_quotes = true;
        was_quoted = true;
        field.clear();
      } else {
        field += ch;
      }
    } else if (!in_quotes && was_quoted) {
      // Blanks after a closing quote are ignored; anything else stays (malformed, kept visible).
      if (std::isspace(static_cast<unsigned char>(ch)) == 0) field += ch;
    } else {
      field += ch;
    }
  }
  return out;
}

bool contains_sep(std::string_view line, Sep s) {
  switch (s) {
    case Sep::tab: return line.find('\t') != std::string_view::npos;
    case Sep::semicolon: return line.find(';') != std::string_view::npos;
    case Sep::comma: return line.find(',') != std::string_view::npos;
    case Sep::blanks: return true;
  }
  return false;
}

bool decimal_comma_allowed(Sep s) { return s == Sep::tab || s == Sep::semicolon; }

/// Whether the line is a row of numbers (all fields, or all after a first row-name field) when
/// split with `sep`; at least one number.
bool numeric_row(std::string_view line, Sep sep) {
  const auto f = split_fields(line, sep);
  if (f.empty()) return false;
  std::size_t numbers = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (parse_number(f[i], decimal_comma_allowed(sep))) ++numbers;
    else if (i != 0) return false;
  }
  return numbers >= 2 || (numbers == 1 && f.size() == 1);
}

/// The separator of a row of numbers: the first of tab, semicolon, comma that the line contains,
/// else blanks; nullopt when the line is not a row of numbers with it.
std::optional<Sep> numeric_row_sep(std::string_view line) {
  for (const Sep s : {Sep::tab, Sep::semicolon, Sep::comma, Sep::blanks}) {
    if (!contains_sep(line, s)) continue;
    if (numeric_row(line, s)) return s;
    return std::nullopt;
  }
  return std::nullopt;
}

bool has_extension(const std::filesystem::path& p, std::string_view ext) { return lower(p.extension().string()) == ext; }

ParsedMatrix parse_text(std::string_view text, const std::filesystem::path& path) {
  const std::string file = path.string();
  std::vector<TextLine> lines;
  for (const TextLine& l : split_lines(text))
    if (!trim(l.text).empty()) lines.push_back(l);
  if (lines.empty()) fail(file, 0, "the file is empty");

  // The matrix is the first run of rows of numbers that is as long as it is wide (n rows of n
  // values, or of a row name and n values) and follows a header line (one that is not itself a
  // row of numbers); so a title line that happens to hold numbers ("HRH 960814") is not taken
  // for the matrix. Without such a run, the first row of numbers is used, for the error messages.
  std::size_t first_row = lines.size();
  Sep sep = Sep::comma;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto s = numeric_row_sep(lines[i].text);
    if (!s) continue;
    if (first_row == lines.size()) {
      first_row = i;
      sep = *s;
    }
    const std::size_t width = split_fields(lines[i].text, *s).size();
    std::size_t run = 0;
    while (i + run < lines.size() && numeric_row(lines[i + run].text, *s) &&
           split_fields(lines[i + run].text, *s).size() == width) {
      ++run;
    }
    if (i > 0 && !numeric_row_sep(lines[i - 1].text) && (run == width || run + 1 == width)) {
      first_row = i;
      sep = *s;
      break;
    }
  }
  if (first_row == lines.size()) {
    fail(file, 0, "no row of numbers found: not a compensation matrix (expected a header row of channel names "
                  "followed by n rows of n numbers, separated by commas, tabs or semicolons)");
  }
  if (first_row == 0) {
    fail(file, lines[0].number, "the matrix has no header row of channel names before its first row of numbers");
  }
  const TextLine& header_line = lines[first_row - 1];
  // Lines before the header: FlowJo's title (and, in its classic format, a prefix/suffix line).
  // Lines starting with '#' are comments.
  bool preamble = false;
  for (std::size_t i = 0; i + 1 < first_row; ++i) preamble = preamble || trim(lines[i].text).front() != '#';

  // The header may start with '#' (FlowKit-style "# FITC-A,PE-A,...").
  std::string_view header_text = trim(header_line.text);
  if (!header_text.empty() && header_text.front() == '#') header_text = trim(header_text.substr(1));
  const std::vector<std::string> header = split_fields(header_text, sep);

  // Rows: every line from the first row of numbers on.
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = first_row; i < lines.size(); ++i) {
    if (!numeric_row(lines[i].text, sep)) {
      fail(file, lines[i].number,
           "expected a row of numbers separated by " + sep_name(sep) + "s (as the matrix's first row, line " +
               std::to_string(lines[first_row].number) + "), found '" + std::string(trim(lines[i].text)) + "'");
    }
    rows.push_back(split_fields(lines[i].text, sep));
  }
  const std::size_t m = rows.front().size();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != m) {
      fail(file, lines[first_row + r].number,
           "row has " + std::to_string(rows[r].size()) + " fields, the first row has " + std::to_string(m));
    }
  }
  const bool dc = decimal_comma_allowed(sep);
  const bool row_names = !parse_number(rows.front().front(), dc) || header.size() + 1 == m;
  const std::size_t n = row_names ? m - 1 : m;
  std::vector<std::string> names;
  if (header.size() == n) {
    for (const auto& h : header) names.push_back(normalise_name(h));
  } else if (row_names && header.size() == n + 1) {
    // A corner cell above the row names (R's write.csv writes "").
    for (std::size_t i = 1; i < header.size(); ++i) names.push_back(normalise_name(header[i]));
  } else {
    fail(file, header_line.number,
         "the header names " + std::to_string(header.size()) + " channels but the rows hold " + std::to_string(n) +
             " values" + (row_names ? " after their row names" : ""));
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (names[i].empty()) fail(file, header_line.number, "header column " + std::to_string(i + 1) + " has no channel name");
  }
  if (rows.size() != n) {
    // The first surplus row, or the last row when rows are missing.
    fail(file, lines[first_row + std::min(rows.size() - 1, n)].number,
         "a matrix over " + std::to_string(n) + " channels needs " + std::to_string(n) + " rows, found " +
             std::to_string(rows.size()));
  }
  ParsedMatrix pm;
  pm.kind = preamble || has_extension(path, ".mtx") ? Kind::flowjo : Kind::csv;
  pm.channels = names;
  pm.values.reserve(n * n);
  for (std::size_t r = 0; r < n; ++r) {
    const std::size_t line_no = lines[first_row + r].number;
    if (row_names) {
      const std::string rn = normalise_name(rows[r].front());
      if (rn != names[r]) {
        fail(file, line_no, "row name '" + rn + "' differs from header column " + std::to_string(r + 1) + " '" +
                                names[r] + "' (rows must list the channels in the header's order)");
      }
    }
    for (std::size_t c = row_names ? 1 : 0; c < m; ++c) {
      const auto v = parse_number(rows[r][c], dc);
      if (!v) fail(file, line_no, "'" + rows[r][c] + "' is not a number");
      pm.values.push_back(*v);
    }
  }
  // Percent rule: a diagonal of 100s (every diagonal value 100, as some editors show spillover
  // in percent) means the whole matrix is in percent; it is divided by 100. Any other diagonal
  // is read as fractions, as written.
  bool percent = true;
  for (std::size_t i = 0; i < n; ++i) percent = percent && std::fabs(pm.values[i * n + i] - 100.0) <= 1e-9;
  if (percent) {
    for (double& v : pm.values) v /= 100.0;
  }
  return pm;
}

// ------------------------------------------------------------------------------------------------
// XML (FlowJo and Gating-ML)

/// The part of an XML name after its namespace prefix ("transforms:spectrumMatrix" -> "spectrumMatrix").
/// Matching on local names accepts any prefix, and FlowJo's .mtx files that use prefixes without
/// declaring them.
std::string_view local_name(const char* name) {
  const std::string_view s(name);
  const auto p = s.rfind(':');
  return p == std::string_view::npos ? s : s.substr(p + 1);
}

pugi::xml_attribute attr(const pugi::xml_node& node, std::string_view local) {
  for (const pugi::xml_attribute& a : node.attributes())
    if (local_name(a.name()) == local) return a;
  return {};
}

std::vector<pugi::xml_node> children(const pugi::xml_node& node, std::string_view local) {
  std::vector<pugi::xml_node> out;
  for (const pugi::xml_node& c : node.children())
    if (c.type() == pugi::node_element && local_name(c.name()) == local) out.push_back(c);
  return out;
}

/// Parsing context: errors name the file, the line and the element.
struct XmlContext {
  std::string file;
  const LineIndex* lines = nullptr;

  [[noreturn]] void fail_at(const pugi::xml_node& node, const std::string& reason) const {
    fail(file, lines->line(node.offset_debug()), "<" + std::string(node.name()) + ">: " + reason);
  }
  std::string required(const pugi::xml_node& node, std::string_view attribute) const {
    const pugi::xml_attribute a = attr(node, attribute);
    if (!a) fail_at(node, "attribute '" + std::string(attribute) + "' is missing");
    return a.value();
  }
  double number(const pugi::xml_node& node, std::string_view attribute) const {
    const std::string s = required(node, attribute);
    const auto v = parse_number(s, false);
    if (!v) fail_at(node, "attribute '" + std::string(attribute) + "' = '" + s + "' is not a number");
    return *v;
  }
};

/// fcs-dimension names under a <fluorochromes> or <detectors> element.
std::vector<std::string> dimension_names(const XmlContext& ctx, const pugi::xml_node& node) {
  std::vector<std::string> out;
  for (const pugi::xml_node& c : node.children()) {
    if (c.type() != pugi::node_element) continue;
    out.push_back(ctx.required(c, "name"));
  }
  return out;
}

/// Gating-ML 2.0 (Transformations schema) spectrumMatrix: rows are fluorochromes, columns
/// detectors; each <spectrum> lists one fluorochrome's coefficients over the detectors.
ParsedMatrix parse_spectrum_matrix(const XmlContext& ctx, const pugi::xml_node& node) {
  const auto fl = children(node, "fluorochromes");
  const auto de = children(node, "detectors");
  if (fl.size() != 1) ctx.fail_at(node, "needs exactly one <fluorochromes> element");
  if (de.size() != 1) ctx.fail_at(node, "needs exactly one <detectors> element");
  const std::vector<std::string> fluorochromes = dimension_names(ctx, fl.front());
  std::vector<std::string> detectors = dimension_names(ctx, de.front());
  if (fluorochromes.size() != detectors.size()) {
    ctx.fail_at(node, std::to_string(fluorochromes.size()) + " fluorochromes over " + std::to_string(detectors.size()) +
                          " detectors: only square spectrum matrices (compensation) are supported, not spectral "
                          "unmixing");
  }
  const std::size_t n = detectors.size();
  if (n == 0) ctx.fail_at(node, "names no detectors");
  const auto spectra = children(node, "spectrum");
  if (spectra.size() != n) {
    ctx.fail_at(node, "has " + std::to_string(spectra.size()) + " <spectrum> rows for " + std::to_string(n) +
                          " fluorochromes");
  }
  ParsedMatrix pm;
  pm.kind = Kind::gatingml;
  for (const pugi::xml_node& row : spectra) {
    const auto coefs = children(row, "coefficient");
    if (coefs.size() != n) {
      ctx.fail_at(row, "has " + std::to_string(coefs.size()) + " coefficients for " + std::to_string(n) + " detectors");
    }
    for (const pugi::xml_node& c : coefs) pm.values.push_back(ctx.number(c, "value"));
  }
  const pugi::xml_attribute inv = attr(node, "matrix-inverted-already");
  if (inv) {
    const std::string v = lower(trim(inv.value()));
    if (v == "true" || v == "1") pm.inverted_already = true;
    else if (v != "false" && v != "0") ctx.fail_at(node, "matrix-inverted-already = '" + v + "' is not a boolean");
  }
  // Compensated values are written back to the detectors' columns: fluorochrome i's abundance
  // replaces detector i's reading.
  pm.channels = std::move(detectors);
  return pm;
}

/// A matrix given as rows of named coefficients (FlowJo's two XML forms): rows[r] = (row
/// channel, [(column channel, value)]), over `order` (or the rows' order when empty).
ParsedMatrix named_matrix(const XmlContext& ctx, const pugi::xml_node& node, std::vector<std::string> order,
                          const std::vector<std::pair<pugi::xml_node, std::string>>& rows,
                          std::string_view coef_element, std::string_view coef_name_attr) {
  if (order.empty()) {
    for (const auto& r : rows) order.push_back(r.second);
  }
  const std::size_t n = order.size();
  if (n == 0) ctx.fail_at(node, "names no channels");
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < n; ++i) {
    if (!index.emplace(order[i], i).second) ctx.fail_at(node, "channel '" + order[i] + "' is listed twice");
  }
  if (rows.size() != n) {
    ctx.fail_at(node, "has " + std::to_string(rows.size()) + " rows for " + std::to_string(n) + " channels");
  }
  ParsedMatrix pm;
  pm.kind = Kind::flowjo;
  pm.values.assign(n * n, 0.0);
  std::vector<bool> row_seen(n, false);
  for (const auto& [row_node, row_name] : rows) {
    const auto r = index.find(row_name);
    if (r == index.end()) ctx.fail_at(row_node, "row channel '" + row_name + "' is not one of the matrix's channels");
    if (row_seen[r->second]) ctx.fail_at(row_node, "row channel '" + row_name + "' appears twice");
    row_seen[r->second] = true;
    std::vector<bool> col_seen(n, false);
    for (const pugi::xml_node& c : children(row_node, coef_element)) {
      const std::string col_name = ctx.required(c, coef_name_attr);
      const auto col = index.find(col_name);
      if (col == index.end()) ctx.fail_at(c, "channel '" + col_name + "' is not one of the matrix's channels");
      if (col_seen[col->second]) ctx.fail_at(c, "channel '" + col_name + "' appears twice in row '" + row_name + "'");
      col_seen[col->second] = true;
      pm.values[r->second * n + col->second] = ctx.number(c, "value");
    }
    for (std::size_t j = 0; j < n; ++j) {
      if (!col_seen[j]) ctx.fail_at(row_node, "row '" + row_name + "' has no coefficient for channel '" + order[j] + "'");
    }
  }
  pm.channels = std::move(order);
  return pm;
}

/// FlowJo 10 <transforms:spilloverMatrix> (in workspaces, and the whole of an exported .mtx):
/// <data-type:parameters> gives the channel order, each <transforms:spillover data-type:parameter=R>
/// holds row R, each <transforms:coefficient data-type:parameter=C transforms:value=v> the
/// fraction of R's dye seen in channel C.
ParsedMatrix parse_spillover_matrix(const XmlContext& ctx, const pugi::xml_node& node) {
  std::vector<std::string> order;
  for (const pugi::xml_node& params : children(node, "parameters"))
    for (const pugi::xml_node& p : children(params, "parameter")) order.push_back(ctx.required(p, "name"));
  std::vector<std::pair<pugi::xml_node, std::string>> rows;
  for (const pugi::xml_node& r : children(node, "spillover")) rows.emplace_back(r, ctx.required(r, "parameter"));
  return named_matrix(ctx, node, std::move(order), rows, "coefficient", "parameter");
}

/// FlowJo 7/8 (Windows) <CompensationMatrix name=...>: <Channel name=R> rows of
/// <ChannelValue name=C value=v>.
ParsedMatrix parse_compensation_matrix(const XmlContext& ctx, const pugi::xml_node& node) {
  std::vector<std::pair<pugi::xml_node, std::string>> rows;
  for (const pugi::xml_node& r : children(node, "Channel")) rows.emplace_back(r, ctx.required(r, "name"));
  return named_matrix(ctx, node, {}, rows, "ChannelValue", "name");
}

struct XmlCandidate {
  pugi::xml_node node;
  std::string id;    ///< transforms:id (may be empty)
  std::string name;  ///< FlowJo's name attribute (may be empty)
  [[nodiscard]] std::string label() const {
    if (!id.empty() && !name.empty() && id != name) return "'" + id + "' (" + name + ")";
    return "'" + (id.empty() ? name : id) + "'";
  }
};

void collect_candidates(const pugi::xml_node& node, std::vector<XmlCandidate>& out) {
  for (const pugi::xml_node& c : node.children()) {
    if (c.type() != pugi::node_element) continue;
    const std::string_view ln = local_name(c.name());
    if (ln == "spectrumMatrix" || ln == "spilloverMatrix" || ln == "CompensationMatrix") {
      out.push_back({c, attr(c, "id").value(), attr(c, "name").value()});
    } else {
      collect_candidates(c, out);
    }
  }
}

ParsedMatrix parse_xml(const pugi::xml_document& doc, std::string_view text, const std::string& file,
                       const std::string& id) {
  const LineIndex lines(text);
  const XmlContext ctx{file, &lines};
  std::vector<XmlCandidate> found;
  collect_candidates(doc, found);
  if (found.empty()) {
    fail(file, 0, "XML without a compensation matrix: no Gating-ML <spectrumMatrix>, FlowJo <spilloverMatrix> or "
                  "<CompensationMatrix> element");
  }
  const XmlCandidate* chosen = nullptr;
  std::vector<std::string> labels;
  for (const XmlCandidate& c : found) {
    if (std::find(labels.begin(), labels.end(), c.label()) == labels.end()) labels.push_back(c.label());
  }
  if (!id.empty()) {
    // A workspace repeats one matrix under each sample that uses it: the first occurrence is read.
    for (const XmlCandidate& c : found) {
      if (c.id == id || c.name == id) {
        chosen = &c;
        break;
      }
    }
    if (chosen == nullptr) {
      fail(file, 0, "no compensation matrix with id or name '" + id + "'; the file holds " + join_labels(labels));
    }
  } else {
    if (labels.size() > 1) {
      fail(file, 0, "the file holds " + std::to_string(labels.size()) +
                        " different compensation matrices; choose one by id or name: " + join_labels(labels));
    }
    chosen = &found.front();
  }
  const std::string_view ln = local_name(chosen->node.name());
  if (ln == "spectrumMatrix") return parse_spectrum_matrix(ctx, chosen->node);
  if (ln == "spilloverMatrix") return parse_spillover_matrix(ctx, chosen->node);
  return parse_compensation_matrix(ctx, chosen->node);
}

}  // namespace

Compensation Compensation::from_file(const std::filesystem::path& path, const std::string& id) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(file, 0, std::string("cannot open the compensation matrix file: ") + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(file, 0, "cannot read the compensation matrix file");
  const std::string sha = fcs::sha256_hex(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));

  std::string_view text(bytes);
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
  const std::string_view start = trim(text);
  if (start.empty()) fail(file, 0, "the file is empty");

  if (start.front() == '<' && start.size() > 1 &&
      (start[1] == '?' || start[1] == '!' || std::isalpha(static_cast<unsigned char>(start[1])) != 0)) {
    pugi::xml_document doc;
    const pugi::xml_parse_result res = doc.load_buffer(bytes.data(), bytes.size(), pugi::parse_default,
                                                       pugi::encoding_auto);
    if (res) return build(parse_xml(doc, bytes, file, id), file, sha);
    const bool declared_xml = start[1] == '?' || start[1] == '!';
    if (declared_xml) {
      const LineIndex lines(bytes);
      fail(file, lines.line(res.offset), std::string("not well-formed XML: ") + res.description());
    }
    // Otherwise it may be a text matrix whose header starts with FlowJo's <FITC-A> notation.
  }
  if (!id.empty()) {
    fail(file, 0, "an id ('" + id + "') was given but text matrix files hold a single matrix");
  }
  return build(parse_text(text, path), file, sha);
}

}  // namespace flowmrd::gating
