// SPDX-License-Identifier: Apache-2.0
#include "text.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace fcs::detail {

namespace {

struct Token {
  std::string text;
  std::uint64_t offset;  // relative to the segment start
};

// FCS 3.1 §3.2.2: keywords and values are separated by the delimiter (the segment's first byte);
// a delimiter inside a keyword or value is written twice. `ended` reports whether the last token
// was closed by a delimiter.
std::vector<Token> split_escaped(std::string_view s, char delim, bool& ended) {
  std::vector<Token> tokens;
  std::string cur;
  std::size_t start = 1;
  ended = true;
  std::size_t i = 1;
  bool open = false;
  while (i < s.size()) {
    const char c = s[i];
    if (c == delim) {
      if (i + 1 < s.size() && s[i + 1] == delim) {
        cur += delim;
        open = true;
        i += 2;
        continue;
      }
      tokens.push_back({std::move(cur), start});
      cur.clear();
      open = false;
      start = i + 1;
      ++i;
      continue;
    }
    cur += c;
    open = true;
    ++i;
  }
  if (open) {
    tokens.push_back({std::move(cur), start});
    ended = false;
  }
  return tokens;
}

// The reading flowCore applies by default (emptyValue=TRUE): every delimiter ends a token, so a
// doubled delimiter is an empty value.
std::vector<Token> split_plain(std::string_view s, char delim, bool& ended) {
  std::vector<Token> tokens;
  std::size_t start = 1;
  ended = true;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == delim) {
      tokens.push_back({std::string(s.substr(start, i - start)), start});
      start = i + 1;
    }
  }
  if (start < s.size()) {
    tokens.push_back({std::string(s.substr(start)), start});
    ended = false;
  }
  return tokens;
}

// A keyword name that no writer would produce: empty, holding the delimiter or control bytes.
int implausible_names(const std::vector<Token>& tokens, char delim) {
  int bad = (tokens.size() % 2 != 0) ? 1 : 0;
  for (std::size_t k = 0; k < tokens.size(); k += 2) {
    std::string_view name = trim(tokens[k].text);
    if (name.empty() || name.find(delim) != std::string_view::npos) {
      ++bad;
      continue;
    }
    for (char c : name) {
      if (static_cast<unsigned char>(c) < 0x20) {
        ++bad;
        break;
      }
    }
  }
  return bad;
}

bool has_doubled(std::string_view s, char delim) {
  for (std::size_t i = 1; i + 1 < s.size(); ++i)
    if (s[i] == delim && s[i + 1] == delim) return true;
  return false;
}

}  // namespace

void parse_text(std::span<const std::byte> segment, std::uint64_t at, bool supplemental,
                Keywords& out, Context& ctx) {
  std::string_view s(reinterpret_cast<const char*>(segment.data()), segment.size());
  // Blanks or NULs after the final delimiter are padding, not a keyword.
  if (!s.empty()) {
    const std::size_t last = s.find_last_not_of(std::string_view(" \0\r\n", 4));
    if (last != std::string_view::npos && last > 0 && s[last] == s.front()) s = s.substr(0, last + 1);
  }
  if (s.empty()) return;
  const char delim = s.front();
  if (supplemental && s.size() == 1) return;

  // Three readings compete, and the one whose keyword names look like keyword names wins:
  //  1. the standard one: a doubled delimiter is an escaped delimiter (FCS 3.1 §3.2.2);
  //  2. flowCore's default: every delimiter ends a token, so "//" is an empty value;
  //  3. the standard one on a TEXT whose final delimiter is doubled (Accuri C6 ".../1567//").
  bool ended = true;
  std::vector<Token> tokens = split_escaped(s, delim, ended);
  if (has_doubled(s, delim)) {
    auto score = [&](const std::vector<Token>& t, bool closed) {
      return implausible_names(t, delim) + (closed ? 0 : 1);
    };
    int best = score(tokens, ended);
    bool plain_ended = true;
    std::vector<Token> plain = split_plain(s, delim, plain_ended);
    const int plain_score = score(plain, plain_ended);
    bool trimmed_ended = true;
    std::vector<Token> trimmed;
    int trimmed_score = best;
    if (!ended && s.size() >= 3 && s.back() == delim) {
      trimmed = split_escaped(s.substr(0, s.size() - 1), delim, trimmed_ended);
      trimmed_score = score(trimmed, trimmed_ended);
    }
    if (plain_score < best && plain_score <= trimmed_score) {
      if (!ctx.allowed(&Repairs::empty_keyword_value)) {
        ctx.fail(ErrorKind::invalid, "empty_keyword_value",
                 "TEXT has doubled delimiters that only make sense as empty values (FCS 3.1 §3.2.2 "
                 "reads them as escaped delimiters)",
                 at);
      }
      ctx.warn("empty_keyword_value",
               "doubled delimiters in TEXT read as empty values, as flowCore does by default", at);
      tokens = std::move(plain);
      ended = plain_ended;
    } else if (trimmed_score < best) {
      if (!ctx.allowed(&Repairs::missing_final_delimiter))
        ctx.fail(ErrorKind::invalid, "missing_final_delimiter", "TEXT ends with a doubled delimiter",
                 at + segment.size() - 1);
      ctx.warn("missing_final_delimiter", "TEXT ends with a doubled delimiter; read as its final delimiter",
               at + segment.size() - 1);
      tokens = std::move(trimmed);
      ended = trimmed_ended;
    }
  }
  if (!ended) {
    if (!ctx.allowed(&Repairs::missing_final_delimiter))
      ctx.fail(ErrorKind::invalid, "missing_final_delimiter",
               "TEXT does not end with its delimiter", at + segment.size() - 1);
    ctx.warn("missing_final_delimiter", "TEXT does not end with its delimiter; last value kept",
             at + segment.size() - 1);
  }
  if (tokens.size() % 2 != 0) {
    // An odd count: a keyword without value. The lone last token is dropped if it is blank.
    if (trim(tokens.back().text).empty()) {
      tokens.pop_back();
    } else {
      ctx.fail(ErrorKind::invalid, "odd_text_tokens",
               "TEXT has a keyword without a value ('" + tokens.back().text.substr(0, 40) + "')",
               at + tokens.back().offset);
    }
  }

  for (std::size_t k = 0; k + 1 < tokens.size(); k += 2) {
    std::string name = tokens[k].text;
    const std::uint64_t off = at + tokens[k].offset;
    const std::string_view trimmed = trim(name);
    if (trimmed.size() != name.size()) {
      if (trimmed.empty()) {
        ctx.fail(ErrorKind::invalid, "empty_keyword_name", "TEXT has an empty keyword name", off);
      }
      if (!ctx.allowed(&Repairs::keyword_case_and_blanks))
        ctx.fail(ErrorKind::invalid, "keyword_case_and_blanks",
                 "keyword name has surrounding blanks: '" + name + "'", off);
      ctx.warn("keyword_case_and_blanks", "blanks removed around keyword name '" + name + "'", off,
               std::string(trimmed));
      name = std::string(trimmed);
    }
    if (name.empty()) ctx.fail(ErrorKind::invalid, "empty_keyword_name", "TEXT has an empty keyword name", off);
    Keyword kw{std::move(name), std::move(tokens[k + 1].text), off, supplemental};
    if (const Keyword* prev = out.find(kw.name)) {
      if (prev->value == kw.value) {
        ctx.info("duplicate_keyword", "keyword repeated with the same value", off, kw.name);
        continue;
      }
      if (!ctx.allowed(&Repairs::duplicate_keyword))
        ctx.fail(ErrorKind::invalid, "duplicate_keyword",
                 "keyword appears twice with different values", off, kw.name);
      ctx.warn("duplicate_keyword",
               "keyword appears twice ('" + prev->value + "' then '" + kw.value + "'); first kept", off,
               kw.name);
      continue;
    }
    out.add(std::move(kw));
  }
}

}  // namespace fcs::detail
