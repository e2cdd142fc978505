// SPDX-License-Identifier: Apache-2.0
// Test helper: builds FCS bytes by hand, so tests can produce every layout and every defect
// (independent of fcs::write_bytes, which only writes valid float32 files).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace fcs_test {

/// Keywords in order, then raw DATA bytes; `build()` lays out HEADER, TEXT and DATA.
struct FcsBuilder {
  std::string version = "FCS3.1";
  char delim = '/';
  std::vector<std::pair<std::string, std::string>> keywords;
  std::vector<std::byte> data;
  bool escape = true;               ///< double delimiters inside keywords/values
  bool write_data_keywords = true;  ///< write $BEGINDATA/$ENDDATA (self-consistent)
  bool header_data_offsets = true;  ///< write DATA offsets in the HEADER
  long header_data_end_adjust = 0;  ///< added to the HEADER's DATA end (off-by-one files)
  long text_data_begin_adjust = 0;  ///< added to $BEGINDATA only
  bool final_delimiter = true;
  std::size_t data_gap = 0;         ///< bytes between TEXT and DATA

  FcsBuilder& kw(std::string k, std::string v) {
    keywords.emplace_back(std::move(k), std::move(v));
    return *this;
  }

  template <class T>
  FcsBuilder& put(T value, bool big_endian) {
    unsigned char b[sizeof(T)];
    std::memcpy(b, &value, sizeof(T));
    if (big_endian) std::reverse(b, b + sizeof(T));
    for (unsigned char c : b) data.push_back(static_cast<std::byte>(c));
    return *this;
  }
  FcsBuilder& put_bytes(const std::string& s) {
    for (char c : s) data.push_back(static_cast<std::byte>(c));
    return *this;
  }

  std::string text_body(std::size_t begin_data, std::size_t end_data) const {
    std::string t(1, delim);
    auto esc = [&](const std::string& s) {
      std::string o;
      for (char c : s) {
        o += c;
        if (escape && c == delim) o += c;
      }
      return o;
    };
    auto add = [&](const std::string& k, const std::string& v) { t += esc(k) + delim + esc(v) + delim; };
    if (write_data_keywords) {
      add("$BEGINDATA", std::to_string(static_cast<long>(begin_data) + text_data_begin_adjust));
      add("$ENDDATA", std::to_string(end_data));
    }
    for (const auto& [k, v] : keywords) add(k, v);
    if (!final_delimiter) t.pop_back();
    return t;
  }

  std::vector<std::byte> build() const {
    const std::size_t text_begin = 58;
    // The TEXT length depends on the DATA offsets it contains: iterate to a fixed point.
    std::size_t begin_data = 0, end_data = 0;
    std::string text;
    for (int i = 0; i < 5; ++i) {
      text = text_body(begin_data, end_data);
      begin_data = text_begin + text.size() + data_gap;
      end_data = data.empty() ? begin_data : begin_data + data.size() - 1;
    }
    text = text_body(begin_data, end_data);
    std::string header = version + "    ";
    auto field = [&](std::size_t v) {
      std::string s = std::to_string(v);
      header += std::string(8 - s.size(), ' ') + s;
    };
    field(text_begin);
    field(text_begin + text.size() - 1);
    if (header_data_offsets) {
      field(begin_data);
      field(static_cast<std::size_t>(static_cast<long>(end_data) + header_data_end_adjust));
    } else {
      field(0);
      field(0);
    }
    field(0);
    field(0);
    std::vector<std::byte> out;
    for (char c : header) out.push_back(static_cast<std::byte>(c));
    for (char c : text) out.push_back(static_cast<std::byte>(c));
    out.insert(out.end(), data_gap, std::byte{' '});
    out.insert(out.end(), data.begin(), data.end());
    return out;
  }
};

/// Keywords for a simple list-mode data set: $PAR channels named P1..Pn.
inline FcsBuilder basic(char datatype, int bits, int par, std::size_t tot, const std::string& byteord,
                        const std::string& range = "1024") {
  FcsBuilder b;
  b.kw("$BYTEORD", byteord).kw("$DATATYPE", std::string(1, datatype)).kw("$MODE", "L");
  b.kw("$NEXTDATA", "0").kw("$PAR", std::to_string(par)).kw("$TOT", std::to_string(tot));
  for (int n = 1; n <= par; ++n) {
    const std::string p = "$P" + std::to_string(n);
    b.kw(p + "N", "P" + std::to_string(n)).kw(p + "B", std::to_string(bits)).kw(p + "E", "0,0").kw(p + "R", range);
  }
  return b;
}

}  // namespace fcs_test
