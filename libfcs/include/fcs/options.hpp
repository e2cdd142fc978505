// SPDX-License-Identifier: Apache-2.0
/// @file options.hpp
/// How to read a file: value conventions (flowCore-compatible by default) and named repairs.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fcs {

/// How channel values are derived from the stored numbers (flowCore `read.FCS` `transformation=`).
enum class Transformation {
  /// flowCore default "linearize": integer channels with $PnE f1>0 become 10^(f1*x/$PnR)*f2
  /// (f2=0 read as 1); everything else as stored.
  linearize,
  /// flowCore "linearize-with-PnG-scaling": as linearize, then linear channels are divided by $PnG.
  linearize_with_png_scaling,
  /// The stored numbers, unchanged (integers are still masked to their bit width).
  raw,
};

/// The named repairs. Each tolerates one documented defect of real instruments' files and, when
/// applied, adds an `Issue` with the repair's name as code. See docs/repairs.md for one paragraph
/// per repair with the instruments that need it. All default to on except where noted;
/// `ReadOptions::strict` turns every one off.
struct Repairs {
  /// TEXT written with a doubled delimiter for an empty value (`/$INST//`) rather than as an
  /// escaped delimiter; decided per TEXT segment by which reading yields well-formed keywords.
  bool empty_keyword_value = true;
  /// TEXT whose last value is not followed by the delimiter.
  bool missing_final_delimiter = true;
  /// Keyword names with surrounding blanks or in lower case (`$p1n`) are normalised.
  bool keyword_case_and_blanks = true;
  /// A keyword that appears twice in TEXT: the first value is kept.
  bool duplicate_keyword = true;
  /// HEADER and TEXT disagree on the DATA offsets: use the pair that fits $TOT x event width and
  /// does not overlap TEXT.
  bool data_offset_mismatch = true;
  /// FCS 3.x file without $BEGINDATA/$ENDDATA: the HEADER offsets are used.
  bool missing_data_keywords = true;
  /// DATA end offset one byte past the end of the file: the DATA that is there is read.
  bool data_end_past_eof = true;
  /// DATA end offset one byte past the data ($ENDDATA = begin + size) or longer than needed:
  /// the surplus bytes are ignored.
  bool data_segment_longer = true;
  /// $TOT missing or zero: events computed from the DATA length.
  bool missing_tot = true;
  /// $PnN missing: the channel is named from $PnS, else "P<n>".
  bool missing_channel_name = true;
  /// $PnB that cannot describe stored data (e.g. Beckman 10-bit data in 16-bit words): the
  /// storage width is derived from the DATA length.
  bool bit_width_from_data_length = true;
  /// Integer values larger than $PnR: masked to the bits $PnR needs (flowCore behaviour).
  bool mask_integer_to_range = true;
  /// $SPILLOVER naming channels by their 1-based index (Beckman Navios) instead of $PnN.
  bool spillover_channel_index = true;
  /// $SPILLOVER whose channel count disagrees with its number of values (Miltenyi MACSQuant).
  bool spillover_size = true;
  /// $NEXTDATA that points outside the file or into the current data set: chain ends there.
  bool bad_nextdata = true;
  /// $DATATYPE missing: assumed from $PnB (32 -> F, else I); off by default because it is a guess.
  bool missing_datatype = true;
  /// $PnG that is not a positive number (cyanoFilter files carry 0): gain 1 used.
  bool bad_gain = true;
  /// $PnE that is not "f1,f2": channel read as linear.
  bool bad_amplification = true;
  /// $PnR missing or not a number: the full integer range (or 0 for float data) is used.
  bool missing_range = true;
  /// $BYTEORD missing: little-endian assumed.
  bool missing_byteord = true;
  /// $MODE U/C (histogram modes deprecated in FCS 3.1) read as list mode when the DATA length
  /// matches list mode exactly.
  bool mode_as_list = true;
};

/// One entry of the repair catalogue: the issue code a repair reports is its `name`.
struct RepairInfo {
  const char* name;         ///< Issue code and field name, e.g. "empty_keyword_value".
  bool Repairs::*flag;      ///< The switch in `Repairs`.
  const char* summary;      ///< One line on the defect it tolerates.
};

/// Every named repair, in the order of `Repairs`' fields (used by the CLI and by tests).
[[nodiscard]] std::span<const RepairInfo> repair_catalog() noexcept;

/// Options for `read_file` / `read_bytes`.
struct ReadOptions {
  Transformation transformation = Transformation::linearize;
  /// Clip stored values above $PnR to $PnR before any decoding (flowCore `truncate_max_range=TRUE`).
  /// Never applied to files flowCore marked as already transformed, nor with Transformation::raw.
  bool truncate_max_range = true;
  /// Turn every repair off and fail on any defect (any warning becomes an error).
  bool strict = false;
  /// Individual repairs (ignored when `strict`).
  Repairs repairs{};
  /// Read keywords and channel tables only, not the events.
  bool skip_events = false;
  /// Read only this data set (1-based); all data sets when unset.
  std::optional<int> dataset;
  /// Cap on the bytes the reader may allocate for events (protects against hostile files).
  std::size_t max_event_bytes = std::size_t{64} << 30;
};

}  // namespace fcs
