// SPDX-License-Identifier: Apache-2.0
#include "cmd_transform.hpp"

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "command_error.hpp"
#include "exit_codes.hpp"
#include "flowmrd/gating/transform.hpp"
#include "number_format.hpp"
#include "output_sink.hpp"

namespace flowmrd::cli {

namespace {

constexpr const char* stdin_label = "<stdin>";

std::string read_stdin() {
  std::string text;
  std::vector<char> chunk(1 << 16);
  for (;;) {
    const std::size_t n = std::fread(chunk.data(), 1, chunk.size(), stdin);
    text.append(chunk.data(), n);
    if (n < chunk.size()) break;
  }
  if (std::ferror(stdin) != 0) {
    throw CommandError(ExitCode::input_invalid, std::string{stdin_label} + ": cannot read: " + std::strerror(errno));
  }
  return text;
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/// The number a token spells, or false. Accepts what std::from_chars accepts (decimal and
/// scientific notation, inf, infinity, nan, in any case, so R's "NaN", "Inf", "-Inf" too) plus a
/// leading '+'. Values beyond the double range become +-inf or 0, as strtod makes them.
bool parse_token(std::string_view token, double& value) {
  std::string_view t = token;
  if (t.size() > 1 && t.front() == '+' && t[1] != '+' && t[1] != '-') t.remove_prefix(1);
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (end != t.data() + t.size()) return false;
  if (ec == std::errc::result_out_of_range) {
    const std::string copy{t};
    value = std::strtod(copy.c_str(), nullptr);
    return true;
  }
  return ec == std::errc{};
}

/// Every number of the input, or a CommandError naming the first token that is not one.
std::vector<double> parse_numbers(std::string_view text) {
  std::vector<double> values;
  std::size_t line = 1;
  std::size_t line_start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_space(text[i])) {
      if (text[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
      ++i;
      continue;
    }
    const std::size_t begin = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    const std::string_view token = text.substr(begin, i - begin);
    double value = 0;
    if (!parse_token(token, value)) {
      constexpr std::size_t shown = 40;
      const std::string quoted =
          token.size() > shown ? std::string{token.substr(0, shown)} + "..." : std::string{token};
      throw CommandError(ExitCode::input_invalid,
                         std::string{stdin_label} + ": token " + std::to_string(values.size() + 1) + " ('" + quoted +
                             "', line " + std::to_string(line) + ", column " + std::to_string(begin - line_start + 1) +
                             ") is not a number");
    }
    values.push_back(value);
  }
  return values;
}

gating::Transform make_transform(const TransformOptions& options) {
  std::string text = options.name;
  for (std::size_t i = 0; i < options.params.size(); ++i) {
    text += i == 0 ? ':' : ',';
    text += options.params[i];
  }
  try {
    return gating::Transform(gating::TransformSpec::parse(text));
  } catch (const gating::TransformError& e) {
    throw CommandError(ExitCode::usage, e.what());
  }
}

}  // namespace

int run_transform(const TransformOptions& options) {
  // The transform first: a bad name or parameter is reported before any input is read.
  const gating::Transform transform = make_transform(options);
  const std::vector<double> values = parse_numbers(read_stdin());

  std::vector<double> results(values.size());
  if (options.inverse) {
    for (std::size_t i = 0; i < values.size(); ++i) results[i] = transform.inverse(values[i]);
  } else {
    transform.apply_exact(values, results);
  }

  OutputSink sink("-");
  for (const double r : results) {
    char* p = sink.reserve(max_shortest_chars + 1);
    p = write_shortest(p, r);
    *p++ = '\n';
    sink.commit(p);
  }
  sink.finish();
  return to_int(ExitCode::ok);
}

}  // namespace flowmrd::cli
