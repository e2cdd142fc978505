// SPDX-License-Identifier: Apache-2.0
#include "channels.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "value_rules.hpp"

namespace fcs::detail {

namespace {

std::string pkey(int n, const char* suffix) { return "$P" + std::to_string(n) + suffix; }

DataType type_of(char c) {
  switch (c) {
    case 'I': return DataType::integer;
    case 'F': return DataType::float32;
    case 'D': return DataType::float64;
    default: return DataType::ascii;
  }
}

}  // namespace

std::vector<Channel> read_channels(const Keywords& kw, char datatype, Version version, Context& ctx) {
  const auto par = kw.get_uint("$PAR");
  if (!par) {
    const Keyword* k = kw.find("$PAR");
    ctx.fail(ErrorKind::invalid, "missing_par",
             k ? "$PAR is not a number: '" + k->value + "'" : "required keyword $PAR is missing",
             k ? std::optional<std::uint64_t>(k->offset) : std::nullopt, "$PAR");
  }
  // A hostile $PAR must not drive allocation: every parameter needs at least its $PnB keyword
  // in TEXT, so more parameters than keywords is impossible.
  if (*par > kw.size()) {
    ctx.fail(ErrorKind::invalid, "bad_par",
             "$PAR = " + std::to_string(*par) + " exceeds the number of keywords in TEXT", kw.find("$PAR")->offset,
             "$PAR");
  }
  std::vector<Channel> out;
  out.reserve(*par);
  for (int n = 1; n <= static_cast<int>(*par); ++n) {
    Channel c;
    c.index = n;
    if (auto s = kw.get(pkey(n, "S")); s && !trim(*s).empty()) c.marker = std::string(trim(*s));
    if (auto name = kw.get(pkey(n, "N")); name && !trim(*name).empty()) {
      c.name = std::string(trim(*name));
    } else {
      if (!ctx.allowed(&Repairs::missing_channel_name))
        ctx.fail(ErrorKind::invalid, "missing_channel_name",
                 "required keyword " + pkey(n, "N") + " (channel name) is missing", std::nullopt, pkey(n, "N"));
      c.name = c.marker ? *c.marker : "P" + std::to_string(n);
      ctx.warn("missing_channel_name", pkey(n, "N") + " missing; channel named '" + c.name + "'", std::nullopt,
               pkey(n, "N"));
    }

    char t = datatype;
    if (version == Version::fcs3_2) {
      if (auto pt = kw.get_trimmed(pkey(n, "DATATYPE"))) {
        if (pt->size() == 1 && (*pt == "I" || *pt == "F" || *pt == "D")) t = (*pt)[0];
        else
          ctx.fail(ErrorKind::invalid, "bad_pndatatype", "unknown " + pkey(n, "DATATYPE") + " '" + *pt + "'",
                   kw.find(pkey(n, "DATATYPE"))->offset, pkey(n, "DATATYPE"));
      }
    }
    c.type = type_of(t);

    const Keyword* b = kw.find(pkey(n, "B"));
    if (!b) ctx.fail(ErrorKind::invalid, "missing_pnb", "required keyword " + pkey(n, "B") + " is missing",
                     std::nullopt, pkey(n, "B"));
    if (c.type == DataType::ascii && trim(b->value) == "*") {
      c.bits = 0;  // delimited ASCII
    } else {
      const auto bits = parse_uint(b->value);
      if (!bits || *bits == 0 || *bits > 64)
        ctx.fail(ErrorKind::invalid, "bad_pnb", pkey(n, "B") + " = '" + b->value + "' is not a width of 1 to 64",
                 b->offset, pkey(n, "B"));
      c.bits = static_cast<int>(*bits);
    }
    if (c.type == DataType::ascii) {
      // ASCII $PnB counts characters, not bits (FCS 3.1 §3.3.2).
      c.storage_bits = c.bits * 8;
    } else {
      c.storage_bits = (c.bits + 7) / 8 * 8;
    }
    if (c.type == DataType::float32 && c.bits != 32)
      ctx.fail(ErrorKind::invalid, "bad_pnb", "$DATATYPE F needs " + pkey(n, "B") + " = 32, found " + b->value,
               b->offset, pkey(n, "B"));
    if (c.type == DataType::float64 && c.bits != 64)
      ctx.fail(ErrorKind::invalid, "bad_pnb", "$DATATYPE D needs " + pkey(n, "B") + " = 64, found " + b->value,
               b->offset, pkey(n, "B"));

    if (auto r = kw.get_double(pkey(n, "R")); r && std::isfinite(*r)) {
      c.range = *r;
    } else {
      // flowCore keeps going without $PnR (range NA); we use the full integer range or 0.
      const Keyword* rk = kw.find(pkey(n, "R"));
      if (!ctx.allowed(&Repairs::missing_range))
        ctx.fail(ErrorKind::invalid, "missing_range", pkey(n, "R") + " is missing or not a number",
                 rk ? std::optional<std::uint64_t>(rk->offset) : std::nullopt, pkey(n, "R"));
      ctx.warn("missing_range",
               rk ? pkey(n, "R") + " is not a number: '" + rk->value + "'" : pkey(n, "R") + " is missing",
               rk ? std::optional<std::uint64_t>(rk->offset) : std::nullopt, pkey(n, "R"));
      c.range = c.type == DataType::integer ? std::ldexp(1.0, c.bits) : 0;
    }

    if (auto e = kw.get(pkey(n, "E"))) {
      c.amplification_given = true;
      const std::string& v = *e;
      const auto comma = v.find(',');
      auto f1 = parse_double(comma == std::string::npos ? v : v.substr(0, comma));
      auto f2 = comma == std::string::npos ? std::optional<double>(0.0) : parse_double(v.substr(comma + 1));
      if (!f1 || !f2 || *f1 < 0) {
        if (!ctx.allowed(&Repairs::bad_amplification))
          ctx.fail(ErrorKind::invalid, "bad_amplification", pkey(n, "E") + " = '" + v + "' is not 'f1,f2'",
                   kw.find(pkey(n, "E"))->offset, pkey(n, "E"));
        ctx.warn("bad_amplification", pkey(n, "E") + " = '" + v + "' is not 'f1,f2'; channel read as linear",
                 kw.find(pkey(n, "E"))->offset, pkey(n, "E"));
      } else {
        c.log_decades = *f1;
        c.log_offset = *f2;
      }
    }
    if (auto g = kw.get_double(pkey(n, "G"))) {
      if (std::isfinite(*g) && *g > 0) {
        c.gain = *g;
      } else {
        // flowCore divides by it anyway (Inf/NaN values); a gain of 0 cannot be meant.
        if (!ctx.allowed(&Repairs::bad_gain))
          ctx.fail(ErrorKind::invalid, "bad_gain", pkey(n, "G") + " is not a positive gain", kw.find(pkey(n, "G"))->offset,
                   pkey(n, "G"));
        ctx.warn("bad_gain", pkey(n, "G") + " = '" + kw.get(pkey(n, "G")).value_or("") + "' is not a positive gain; 1 used",
                 kw.find(pkey(n, "G"))->offset, pkey(n, "G"));
      }
    }
    if (auto v = kw.get_double(pkey(n, "V"))) c.voltage = *v;
    if (auto d = kw.get_trimmed(pkey(n, "D"))) c.detector = *d;
    out.push_back(std::move(c));
  }
  return out;
}

void assign_masks(std::vector<Channel>& channels) {
  for (Channel& c : channels) {
    if (c.type != DataType::integer) continue;
    // flowCore keeps x mod 2^ceil(log2 $PnR) when that needs fewer bits than are stored: the
    // upper bits are flags or garbage on some instruments (fcsparser's fake_bitmask_error file).
    const int w = std::min(c.storage_bits, 64);
    std::uint64_t mask = w >= 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << w) - 1);
    if (c.range > 0) {
      const double bits = std::ceil(std::log2(c.range));
      if (bits < static_cast<double>(c.bits)) mask = bits <= 0 ? 0 : ((std::uint64_t{1} << static_cast<int>(bits)) - 1);
    }
    c.mask = mask;
  }
}

std::vector<double> column_minima(const EventMatrix& events) {
  std::vector<double> out(events.cols(), std::numeric_limits<double>::infinity());
  for (std::size_t j = 0; j < events.cols(); ++j) {
    auto scan = [&](auto span) {
      for (auto v : span)
        if (!std::isnan(v) && static_cast<double>(v) < out[j]) out[j] = static_cast<double>(v);
    };
    if (events.type(j) == ColumnType::f32) scan(events.f32(j));
    else scan(events.f64(j));
  }
  return out;
}

void assign_value_ranges(std::vector<Channel>& channels, const std::vector<double>& column_min, const Keywords& kw,
                         const ReadOptions& options, bool already_transformed) {
  for (std::size_t j = 0; j < channels.size(); ++j) {
    Channel& c = channels[j];
    const std::string n = std::to_string(c.index);
    // Files written by flowCore carry the ranges it computed.
    const auto written_max = kw.get_double("flowCore_$P" + n + "Rmax");
    const double r = written_max ? *written_max + 1 : c.range;

    // The data's minimum, NaN ignored, floored at -111 (flowCore's realMin).
    const double col_min = j < column_min.size() ? column_min[j] : std::numeric_limits<double>::infinity();
    double real_min = std::max(-111.0, col_min);
    if (c.amplification_given) real_min = std::min(c.log_offset, real_min);
    if (!std::isfinite(real_min)) real_min = 0;
    // flowCore takes the stored minimum only for files it wrote with transformation=custom.
    if (already_transformed && iequals(kw.get_trimmed("transformation").value_or(""), "custom")) {
      if (auto m = kw.get_double("flowCore_$P" + n + "Rmin")) real_min = *m;
    }

    if (log_decoded(c, options.transformation, already_transformed)) {
      const double f2 = c.log_offset == 0 ? 1.0 : c.log_offset;
      c.min_range = std::pow(10.0, real_min / (r - 1) * c.log_decades) * f2;
      c.max_range = std::pow(10.0, c.log_decades) * f2;
    } else {
      c.min_range = real_min;
      c.max_range = r - 1;
    }
  }
}

std::uint64_t event_width(const std::vector<Channel>& channels) noexcept {
  std::uint64_t bits = 0;
  for (const Channel& c : channels) {
    if (c.type == DataType::ascii && c.bits == 0) return 0;
    bits += static_cast<std::uint64_t>(c.storage_bits);
  }
  return bits / 8;
}

}  // namespace fcs::detail
