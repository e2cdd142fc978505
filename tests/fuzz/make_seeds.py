#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generate the seed corpus of tests/fuzz/corpus/: tiny hand-made FCS files.

Valid files cover FCS 2.0/3.0/3.1/3.2 with I/F/D/A data in both byte orders, supplemental TEXT,
$NEXTDATA chains and DATA offsets given only in TEXT; the rest are truncated or mutated copies
that exercise the reader's checks and named repairs. The output is deterministic: re-running the
script rewrites the same bytes.

Usage: tests/fuzz/make_seeds.py [OUTPUT_DIR]   (default: corpus/ beside this script)
"""

import struct
import sys
from pathlib import Path


def escape(token: bytes, delim: bytes) -> bytes:
    """FCS 3.1 section 3.2: a delimiter inside a keyword or value is written twice."""
    return token.replace(delim, delim + delim)


def text_segment(pairs, delim: bytes) -> bytes:
    out = delim
    for k, v in pairs:
        out += escape(k.encode("latin-1"), delim) + delim + escape(v.encode("latin-1"), delim) + delim
    return out


def fcs(version, keywords, data=b"", delim=b"/", offsets_in_text=True, header_data_zero=False,
        supplemental=None, gap=0):
    """One data set: HEADER, TEXT (at 58 + gap), optional supplemental TEXT, DATA.

    `keywords` excludes the offset keywords, which are added (for FCS 3.x) with values computed
    until the TEXT length is stable, as a writer must.
    """
    text_begin = 58 + gap
    begin = end = sbegin = send = 0
    while True:
        pairs = []
        if offsets_in_text:
            pairs += [("$BEGINANALYSIS", "0"), ("$ENDANALYSIS", "0"),
                      ("$BEGINSTEXT", str(sbegin)), ("$ENDSTEXT", str(send)),
                      ("$BEGINDATA", str(begin)), ("$ENDDATA", str(end))]
        text = text_segment(pairs + list(keywords), delim)
        text_end = text_begin + len(text) - 1
        pos = text_end + 1
        stext = b""
        if supplemental is not None:
            stext = text_segment(supplemental, delim)
            new_sbegin, new_send = pos, pos + len(stext) - 1
            pos = new_send + 1
        else:
            new_sbegin = new_send = 0
        new_begin, new_end = (pos, pos + len(data) - 1) if data else (0, 0)
        if (new_begin, new_end, new_sbegin, new_send) == (begin, end, sbegin, send):
            break
        begin, end, sbegin, send = new_begin, new_end, new_sbegin, new_send

    def field(v):
        return str(v).rjust(8).encode("ascii")

    hb, he = (0, 0) if header_data_zero else (begin, end)
    header = (b"FCS" + version.encode("ascii") + b"    " + field(text_begin) + field(text_end)
              + field(hb) + field(he) + field(0) + field(0))
    assert len(header) == 58
    return header + b" " * gap + text + stext + data


def params(names, bits, ranges, extra=()):
    kw = [("$PAR", str(len(names)))]
    for i, (n, b, r) in enumerate(zip(names, bits, ranges), start=1):
        kw += [(f"$P{i}N", n), (f"$P{i}B", str(b)), (f"$P{i}E", "0,0"), (f"$P{i}R", str(r))]
    return kw + list(extra)


def rows(fmt, values):
    return b"".join(struct.pack(fmt, *row) for row in values)


def seeds():
    s = {}

    # FCS 2.0, 16-bit integers, little endian, a log channel, no offset keywords (optional in 2.0).
    kw = [("$BYTEORD", "1,2"), ("$DATATYPE", "I"), ("$MODE", "L"), ("$NEXTDATA", "0"), ("$TOT", "3")]
    kw += params(["FSC-H", "FL1-H"], [16, 16], [1024, 1024])
    kw[kw.index(("$P2E", "0,0"))] = ("$P2E", "4,1")
    s["valid_2.0_int16_le.fcs"] = fcs("2.0", kw, rows("<HH", [(1, 2), (512, 1023), (1023, 0)]),
                                      offsets_in_text=False)

    # FCS 3.0, 32-bit integers, big endian, with gain and a $COMP matrix.
    kw = [("$BYTEORD", "4,3,2,1"), ("$DATATYPE", "I"), ("$MODE", "L"), ("$NEXTDATA", "0"), ("$TOT", "2")]
    kw += params(["A", "B"], [32, 32], [65536, 65536], [("$P1G", "2"), ("$COMP", "2,1,0.1,0.2,1")])
    s["valid_3.0_int32_be.fcs"] = fcs("3.0", kw, rows(">II", [(1, 40000), (65535, 3)]))
    # The same with a value above $PnR, which readers mask to the bits $PnR needs.
    s["repair_integer_above_range.fcs"] = fcs("3.0", kw, rows(">II", [(1, 70000), (65535, 3)]))

    # FCS 3.1, float32 little endian with $SPILLOVER and $PnS; `edit` changes its keywords.
    def float_le(edit=lambda kw: kw):
        kw = [("$BYTEORD", "1,2,3,4"), ("$DATATYPE", "F"), ("$MODE", "L"), ("$NEXTDATA", "0"), ("$TOT", "2")]
        kw += params(["FSC-A", "CD19"], [32, 32], [262144, 262144],
                     [("$P2S", "CD19 PE"), ("$SPILLOVER", "2,FSC-A,CD19,1,0.05,0,1")])
        return fcs("3.1", edit(kw), rows("<ff", [(1.5, -2.0), (1e6, 3.25)]))
    s["valid_3.1_float_le.fcs"] = float_le()

    # FCS 3.1, float64 big endian, '|' delimiter with an escaped delimiter in a value.
    kw = [("$BYTEORD", "4,3,2,1"), ("$DATATYPE", "D"), ("$MODE", "L"), ("$NEXTDATA", "0"), ("$TOT", "2")]
    kw += params(["X", "Y"], [64, 64], [1024, 1024], [("NOTE", "a|b")])
    s["valid_3.1_double_be.fcs"] = fcs("3.1", kw, rows(">dd", [(0.5, 1e-300), (-1.0, 2.0)]), delim=b"|")

    # FCS 3.0 ASCII: fixed width ($PnB = characters) and delimited ($PnB = *).
    kw = [("$BYTEORD", "1,2,3,4"), ("$DATATYPE", "A"), ("$MODE", "L"), ("$NEXTDATA", "0"), ("$TOT", "2")]
    kw += params(["A", "B"], [4, 3], [1024, 1024])
    s["valid_3.0_ascii_fixed.fcs"] = fcs("3.0", kw, b"0012345" + b"1023999")
    kw = [("$BYTEORD", "1,2,3,4"), ("$DATATYPE", "A"), ("$MODE", "L"), ("$NEXTDATA", "0"), ("$TOT", "3")]
    kw += params(["A", "B"], ["*", "*"], [1024, 1024])
    s["valid_3.0_ascii_delimited.fcs"] = fcs("3.0", kw, b"1 2\n30,40\r\n500 600\n")

    # FCS 3.2 with a per-parameter data type (mixed integer and float).
    kw = [("$BYTEORD", "1,2,3,4"), ("$DATATYPE", "I"), ("$MODE", "L"), ("$NEXTDATA", "0"), ("$TOT", "2")]
    kw += params(["Time", "FL1-A"], [32, 32], [4294967296, 262144], [("$P2DATATYPE", "F")])
    s["valid_3.2_mixed.fcs"] = fcs("3.2", kw, struct.pack("<If", 1, 2.5) + struct.pack("<If", 2, -1.0))

    # Supplemental TEXT holding $TOT and a marker.
    kw = [("$BYTEORD", "1,2,3,4"), ("$DATATYPE", "F"), ("$MODE", "L"), ("$NEXTDATA", "0")]
    kw += params(["A"], [32], [1024])
    s["valid_3.1_supplemental_text.fcs"] = fcs("3.1", kw, rows("<f", [(1.0,), (2.0,)]),
                                               supplemental=[("$TOT", "2"), ("$P1S", "CD3")])

    # DATA offsets only in TEXT (HEADER 0,0 as for files over 99,999,999 bytes), TEXT after a gap.
    kw = [("$BYTEORD", "1,2,3,4"), ("$DATATYPE", "F"), ("$MODE", "L"), ("$NEXTDATA", "0"), ("$TOT", "1")]
    kw += params(["A", "B"], [32, 32], [1024, 1024])
    s["valid_3.1_data_offsets_in_text.fcs"] = fcs("3.1", kw, rows("<ff", [(7.0, 8.0)]),
                                                  header_data_zero=True, gap=198)

    # Two data sets chained by $NEXTDATA (the second one's offsets are relative to its HEADER).
    def one(tot_rows, nextdata):
        kw = [("$BYTEORD", "1,2,3,4"), ("$DATATYPE", "F"), ("$MODE", "L"), ("$NEXTDATA", nextdata),
              ("$TOT", str(len(tot_rows)))]
        kw += params(["A"], [32], [1024])
        return fcs("3.1", kw, rows("<f", tot_rows))
    second = one([(3.0,), (4.0,)], "0")
    first = one([(1.0,)], "0")
    nd = len(first)
    while True:  # the $NEXTDATA digits change the first data set's length
        first = one([(1.0,)], str(nd).zfill(8))
        if len(first) == nd:
            break
        nd = len(first)
    s["valid_3.1_two_datasets.fcs"] = first + second

    # Zero events: $TOT 0 and no DATA segment.
    kw = [("$BYTEORD", "1,2,3,4"), ("$DATATYPE", "F"), ("$MODE", "L"), ("$NEXTDATA", "0"), ("$TOT", "0")]
    kw += params(["A"], [32], [1024])
    s["valid_3.1_no_events.fcs"] = fcs("3.1", kw)

    # ---- defects (each one a named repair or a clean error) ----
    base = s["valid_3.1_float_le.fcs"]
    s["bad_truncated_header.fcs"] = base[:40]
    s["bad_truncated_text.fcs"] = base[:120]
    s["bad_truncated_data.fcs"] = base[:-3]
    s["bad_not_fcs.fcs"] = b"FCX3.1    " + base[10:]
    s["bad_header_offsets_beyond_file.fcs"] = base[:18] + b"99999999" + base[26:]
    s["bad_header_offsets_not_numbers.fcs"] = base[:10] + b"    5x8 " + base[18:]

    def mutate(src, old, new):
        assert old in src, old
        return src.replace(old, new, 1)

    s["bad_tot_too_large.fcs"] = mutate(base, b"/$TOT/2/", b"/$TOT/9/")
    s["bad_par_huge.fcs"] = mutate(base, b"/$PAR/2/", b"/$PAR/9/")
    s["bad_byteord.fcs"] = mutate(base, b"/$BYTEORD/1,2,3,4/", b"/$BYTEORD/3,4,1,2/")
    s["bad_datatype.fcs"] = mutate(base, b"/$DATATYPE/F/", b"/$DATATYPE/Q/")
    s["bad_pnb_for_float.fcs"] = mutate(base, b"/$P1B/32/", b"/$P1B/16/")
    s["repair_missing_final_delimiter.fcs"] = mutate(base, b"1,0.05,0,1/", b"1,0.05,0,1 ")
    def rename(old, new):
        return lambda kw: [(new if k == old else k, v) for k, v in kw]

    def revalue(key, value):
        return lambda kw: [(k, value if k == key else v) for k, v in kw]

    s["repair_lowercase_keywords.fcs"] = float_le(rename("$TOT", " $tot "))
    s["repair_mode_u.fcs"] = mutate(base, b"/$MODE/L/", b"/$MODE/U/")
    s["repair_spillover_by_index.fcs"] = float_le(revalue("$SPILLOVER", "2,1,2,1,0.05,0,1"))
    s["repair_spillover_size.fcs"] = float_le(revalue("$SPILLOVER", "3,FSC-A,CD19,1,0.05,0,1"))
    s["repair_duplicate_keyword.fcs"] = float_le(lambda kw: kw + [("$P1S", "a"), ("$p1s", "b")])
    s["bad_nextdata_into_itself.fcs"] = mutate(base, b"/$NEXTDATA/0/", b"/$NEXTDATA/1/")
    s["bad_nextdata_beyond_file.fcs"] = mutate(base, b"/$NEXTDATA/0/", b"/$NEXTDATA/9/")
    # $ENDSTEXT pointing outside the file with no $BEGINSTEXT at all.
    s["bad_supplemental_text_end_only.fcs"] = mutate(base, b"/$BEGINSTEXT/0/$ENDSTEXT/0/",
                                                     b"/$BEGINSTE/0/$ENDSTEXT/999/")

    # Empty value written as a doubled delimiter (FCS 3.1 forbids empty values).
    kw = [("$BYTEORD", "1,2"), ("$DATATYPE", "I"), ("$INST", ""), ("$MODE", "L"), ("$NEXTDATA", "0"),
          ("$TOT", "1")]
    kw += params(["A"], [16], [1024])
    s["repair_empty_keyword_value.fcs"] = fcs("3.0", kw, rows("<H", [(5,)]))

    # 10-bit data in 16-bit words (Beckman), and integers above $PnR (masked).
    kw = [("$BYTEORD", "1,2"), ("$DATATYPE", "I"), ("$MODE", "L"), ("$NEXTDATA", "0"), ("$TOT", "2")]
    kw += params(["A"], [10], [1024])
    s["repair_bit_width_10.fcs"] = fcs("3.0", kw, rows("<H", [(1023,), (0xFFFF,)]))

    # $TOT missing; DATA one byte longer than $TOT x width; HEADER/TEXT DATA offsets disagree.
    s["repair_missing_tot.fcs"] = float_le(lambda kw: [(k, v) for k, v in kw if k != "$TOT"])
    end = int(base[34:42])
    assert len(str(end)) == len(str(end + 1))
    longer = base[:34] + str(end + 1).rjust(8).encode() + base[42:] + b"\0"
    s["repair_data_one_byte_longer.fcs"] = mutate(longer, f"/$ENDDATA/{end}/".encode(),
                                                  f"/$ENDDATA/{end + 1}/".encode())
    s["repair_data_offset_mismatch.fcs"] = base[:26] + str(int(base[26:34]) - 4).rjust(8).encode() + base[34:]

    # ASCII DATA with garbage, and a big $TOT with delimited ASCII.
    s["bad_ascii_garbage.fcs"] = s["valid_3.0_ascii_delimited.fcs"].replace(b"500 600", b"5x0 -6e")
    return s


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "corpus"
    out.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(seeds().items()):
        (out / name).write_bytes(data)
    print(f"wrote {len(seeds())} seeds to {out}")


if __name__ == "__main__":
    main()
