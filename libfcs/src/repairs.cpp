// SPDX-License-Identifier: Apache-2.0
#include <array>

#include "fcs/options.hpp"

namespace fcs {

namespace {
// Kept in the order of Repairs' fields; docs/repairs.md has a paragraph for each.
constexpr std::array<RepairInfo, 21> catalog{{
    {"empty_keyword_value", &Repairs::empty_keyword_value, "doubled delimiters in TEXT read as empty values"},
    {"missing_final_delimiter", &Repairs::missing_final_delimiter, "TEXT not closed by its delimiter"},
    {"keyword_case_and_blanks", &Repairs::keyword_case_and_blanks, "blanks around keyword names removed"},
    {"duplicate_keyword", &Repairs::duplicate_keyword, "keyword repeated with another value: first kept"},
    {"data_offset_mismatch", &Repairs::data_offset_mismatch, "HEADER and TEXT disagree on DATA offsets"},
    {"missing_data_keywords", &Repairs::missing_data_keywords, "$BEGINDATA/$ENDDATA missing: HEADER used"},
    {"data_end_past_eof", &Repairs::data_end_past_eof, "DATA end offset past the end of the file"},
    {"data_segment_longer", &Repairs::data_segment_longer, "DATA longer than $TOT x event width"},
    {"missing_tot", &Repairs::missing_tot, "$TOT missing: counted from DATA length"},
    {"missing_channel_name", &Repairs::missing_channel_name, "$PnN missing: named from $PnS or P<n>"},
    {"bit_width_from_data_length", &Repairs::bit_width_from_data_length, "$PnB not whole bytes: rounded up"},
    {"mask_integer_to_range", &Repairs::mask_integer_to_range, "integer bits above $PnR masked off"},
    {"spillover_channel_index", &Repairs::spillover_channel_index, "spillover channels named by index"},
    {"spillover_size", &Repairs::spillover_size, "spillover count disagrees with its contents"},
    {"bad_nextdata", &Repairs::bad_nextdata, "$NEXTDATA outside the file: chain ends"},
    {"missing_datatype", &Repairs::missing_datatype, "$DATATYPE missing: guessed from $P1B"},
    {"bad_gain", &Repairs::bad_gain, "$PnG not positive: gain 1 used"},
    {"bad_amplification", &Repairs::bad_amplification, "$PnE malformed: channel read as linear"},
    {"missing_range", &Repairs::missing_range, "$PnR missing: full bit range used"},
    {"missing_byteord", &Repairs::missing_byteord, "$BYTEORD missing: little-endian assumed"},
    {"mode_as_list", &Repairs::mode_as_list, "$MODE U/C with list-shaped DATA read as list mode"},
}};
// Every field of Repairs is a bool switch with an entry here.
static_assert(sizeof(Repairs) == catalog.size() * sizeof(bool), "a Repairs field is missing from the catalogue");
}  // namespace

std::span<const RepairInfo> repair_catalog() noexcept { return catalog; }

}  // namespace fcs
