#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the small demo FCS files bundled in samples/demo/ (deterministic; standard library only).

Until the bone-marrow simulator exists (samples/, issue 5) these stand in for real tubes:
  demo_bm_8color.fcs   FCS 3.1, float32 little-endian, B-lineage MRD panel names in $PnS, a
                       $SPILLOVER matrix applied to the data, 20,000 events.
  demo_calibur.fcs     FCS 2.0, 16-bit integers big-endian, 4-decade log amplification ($PnE 4,0)
                       on the fluorescence channels, as a FACSCalibur writes them, 5,000 events.
Run: python3 samples/demo/make_demo.py  (rewrites both files next to this script)
"""
import math
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def fcs_bytes(version, keywords, data, delim="/"):
    """HEADER + TEXT + DATA with self-consistent $BEGINDATA/$ENDDATA."""
    def text_for(begin, end):
        kv = [("$BEGINDATA", str(begin)), ("$ENDDATA", str(end))] + keywords
        body = delim
        for k, v in kv:
            body += k.replace(delim, delim * 2) + delim + v.replace(delim, delim * 2) + delim
        return body.encode("latin-1")
    begin = end = 0
    for _ in range(5):
        text = text_for(begin, end)
        begin = 58 + len(text)
        end = begin + len(data) - 1
    text = text_for(begin, end)
    header = version.encode() + b"    " + b"".join(
        b"%8d" % v for v in (58, 58 + len(text) - 1, begin, end, 0, 0))
    return header + text + data


def bm_8color(rng):
    channels = [("FSC-A", None), ("FSC-H", None), ("SSC-A", None), ("FITC-A", "CD58 FITC"),
                ("PE-A", "CD10 PE"), ("PerCP-Cy5-5-A", "CD34 PerCP-Cy5.5"), ("PE-Cy7-A", "CD19 PE-Cy7"),
                ("APC-A", "CD38 APC"), ("APC-H7-A", "CD20 APC-H7"), ("V500-A", "CD45 V500"),
                ("Time", None)]
    fluor = [c for c, m in channels if m]
    # Populations: (fraction, FSC, SSC, {marker: log10 intensity})
    pops = [
        (0.55, 90e3, 120e3, {"CD45 V500": 3.4, "CD38 APC": 2.2}),                         # granulocytes
        (0.20, 55e3, 15e3, {"CD45 V500": 4.0, "CD38 APC": 2.5}),                          # lymphocytes
        (0.08, 60e3, 18e3, {"CD45 V500": 3.9, "CD19 PE-Cy7": 3.8, "CD20 APC-H7": 3.9}),  # mature B
        (0.04, 58e3, 14e3, {"CD45 V500": 3.2, "CD19 PE-Cy7": 3.6, "CD10 PE": 3.7, "CD38 APC": 4.0,
                            "CD34 PerCP-Cy5.5": 3.2}),                                    # hematogones
        (0.06, 80e3, 30e3, {"CD45 V500": 3.7, "CD38 APC": 3.0}),                          # monocytes
        (0.07, 40e3, 10e3, {"CD45 V500": 1.5}),                                           # nucleated red cells
    ]
    n = 20000
    spill_names = fluor
    k = len(spill_names)
    spill = [[1.0 if i == j else 0.0 for j in range(k)] for i in range(k)]
    spill[0][1] = 0.18   # FITC into PE
    spill[1][2] = 0.09   # PE into PerCP-Cy5.5
    spill[1][3] = 0.04   # PE into PE-Cy7
    spill[4][5] = 0.12   # APC into APC-H7
    cols = {c: [] for c, _ in channels}
    for e in range(n):
        r = rng.random()
        acc = 0.0
        for frac, fsc, ssc, markers in pops:
            acc += frac
            if r <= acc:
                break
        cols["FSC-A"].append(max(0.0, rng.gauss(fsc, fsc * 0.12)))
        cols["FSC-H"].append(cols["FSC-A"][-1] * rng.uniform(0.62, 0.7))
        cols["SSC-A"].append(max(0.0, rng.gauss(ssc, ssc * 0.2)))
        true = []
        for c, m in channels:
            if m:
                level = markers.get(m, 1.3)
                true.append(10 ** rng.gauss(level, 0.18) - 30 + rng.gauss(0, 25))
        for j, c in enumerate(spill_names):
            cols[c].append(sum(true[i] * spill[i][j] for i in range(k)))
        cols["Time"].append(e * 0.05)
    kw = [("$BYTEORD", "1,2,3,4"), ("$DATATYPE", "F"), ("$MODE", "L"), ("$NEXTDATA", "0"),
          ("$PAR", str(len(channels))), ("$TOT", str(n)), ("$CYT", "flowmrd demo (synthetic)"),
          ("$DATE", "20-NOV-2026"), ("$BTIM", "09:00:00"), ("$ETIM", "09:03:20"), ("$TIMESTEP", "0.01"),
          ("$FIL", "demo_bm_8color.fcs"), ("$SRC", "synthetic bone marrow, B-lineage MRD tube")]
    for i, (c, m) in enumerate(channels, 1):
        kw += [(f"$P{i}N", c), (f"$P{i}B", "32"), (f"$P{i}E", "0,0"), (f"$P{i}R", "262144")]
        if m:
            kw.append((f"$P{i}S", m))
    kw.append(("$SPILLOVER", ",".join([str(k)] + spill_names + [repr(v) for row in spill for v in row])))
    data = bytearray()
    for e in range(n):
        for c, _ in channels:
            data += struct.pack("<f", cols[c][e])
    return fcs_bytes("FCS3.1", kw, bytes(data))


def calibur(rng):
    names = ["FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL4-H"]
    n = 5000
    kw = [("$BYTEORD", "4,3,2,1"), ("$DATATYPE", "I"), ("$MODE", "L"), ("$NEXTDATA", "0"),
          ("$PAR", str(len(names))), ("$TOT", str(n)), ("$CYT", "FACSCalibur (synthetic demo)"),
          ("$DATE", "20-Nov-26")]
    for i, c in enumerate(names, 1):
        kw += [(f"$P{i}N", c), (f"$P{i}B", "16"), (f"$P{i}R", "1024"),
               (f"$P{i}E", "0,0" if i <= 2 else "4,0")]
    data = bytearray()
    for _ in range(n):
        for i in range(len(names)):
            v = int(min(1023, max(0, rng.gauss(400 if i < 2 else 300, 120))))
            data += struct.pack(">H", v)
    return fcs_bytes("FCS2.0", kw, bytes(data), delim="\\")


def main():
    rng = random.Random(20261120)
    with open(os.path.join(HERE, "demo_bm_8color.fcs"), "wb") as f:
        f.write(bm_8color(rng))
    with open(os.path.join(HERE, "demo_calibur.fcs"), "wb") as f:
        f.write(calibur(rng))


if __name__ == "__main__":
    main()
