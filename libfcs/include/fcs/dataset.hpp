// SPDX-License-Identifier: Apache-2.0
/// @file dataset.hpp
/// One data set of an FCS file: HEADER facts, keywords, channels, spillover, events and issues.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fcs/channel.hpp"
#include "fcs/event_matrix.hpp"
#include "fcs/issue.hpp"
#include "fcs/keywords.hpp"
#include "fcs/options.hpp"
#include "fcs/spillover.hpp"

namespace fcs {

/// FCS standard version from the HEADER.
enum class Version { fcs2_0, fcs3_0, fcs3_1, fcs3_2 };
[[nodiscard]] std::string to_string(Version v);

/// Byte order of numeric DATA.
enum class ByteOrder {
  little,  ///< $BYTEORD 1,2,3,4 (or 1,2)
  big,     ///< $BYTEORD 4,3,2,1 (or 2,1)
};

/// A byte range [begin, end] of the file, inclusive as FCS writes it; `empty()` when absent.
struct Segment {
  std::uint64_t begin = 0;  ///< Absolute offset of the first byte.
  std::uint64_t end = 0;    ///< Absolute offset of the last byte.
  [[nodiscard]] bool empty() const noexcept { return end < begin || (begin == 0 && end == 0); }
  [[nodiscard]] std::uint64_t size() const noexcept { return empty() ? 0 : end - begin + 1; }
};

/// One data set (an FCS file may chain several with $NEXTDATA).
struct Dataset {
  int number = 1;                   ///< 1-based position in the $NEXTDATA chain.
  Version version = Version::fcs3_1;
  std::uint64_t offset = 0;         ///< Absolute offset of this data set's HEADER.
  Segment text, supplemental_text, data, analysis;  ///< Absolute, as finally used.

  Keywords keywords;                ///< Primary then supplemental TEXT, in file order.
  Keywords analysis_keywords;       ///< ANALYSIS segment keywords, if any.
  std::vector<Channel> channels;    ///< One per $PAR, in parameter order.
  char datatype = 'F';              ///< $DATATYPE: 'I', 'F', 'D' or 'A'.
  ByteOrder byte_order = ByteOrder::little;
  char mode = 'L';                  ///< $MODE as read ('L' list mode).
  std::uint64_t event_count = 0;    ///< Events read (equals $TOT unless a repair changed it).
  std::vector<Spillover> spillovers;  ///< Every matrix found; see `preferred_spillover`.

  EventMatrix events;               ///< event_count x channels.size(); empty with skip_events.
  /// True when flowCore would treat this data set as already transformed
  /// (keyword transformation=applied/custom): no $PnE decoding and no $PnG scaling.
  bool already_transformed = false;
  /// How the values were derived (the options of the read, kept for provenance and export).
  Transformation transformation = Transformation::linearize;
  bool truncated = true;            ///< Whether values above $PnR were clipped.
  Issues issues;                    ///< Repairs applied and other findings for this data set.

  // Typed access to common keywords ------------------------------------------------------
  [[nodiscard]] std::optional<std::uint64_t> tot() const { return keywords.get_uint("$TOT"); }
  [[nodiscard]] std::optional<std::string> cytometer() const { return keywords.get_trimmed("$CYT"); }
  [[nodiscard]] std::optional<std::string> date() const { return keywords.get_trimmed("$DATE"); }
  [[nodiscard]] std::optional<std::string> begin_time() const { return keywords.get_trimmed("$BTIM"); }
  [[nodiscard]] std::optional<std::string> end_time() const { return keywords.get_trimmed("$ETIM"); }
  [[nodiscard]] std::optional<double> timestep() const { return keywords.get_double("$TIMESTEP"); }
  /// Index (0-based) of the channel whose $PnN equals `name` exactly, or -1.
  [[nodiscard]] int find_channel(std::string_view name) const noexcept;
  /// The matrix flowCore would compensate with by default, or nullptr.
  [[nodiscard]] const Spillover* spillover() const noexcept { return preferred_spillover(spillovers); }
};

}  // namespace fcs
