#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpora of tests/fuzz/corpus (committed; rerun only to change them):
#   python3 tests/fuzz/gen-seeds.py [PCI-FIXTURE-DIR]   (from the top of the repository)
# scenario: the example scenarios and a few short texts; uevent: the canned datagrams of
# tests/data/uevent; pci-dump: the small dumps of tests/data/pci, single devices cut out of
# edge.dump and the shared real-device fixtures when given; pci-cfg: the raw configuration
# spaces of those devices; vtd-prq: records in the target's input format (fuzz-vtd-prq.c).
import glob
import os
import shutil
import struct
import sys

C = "tests/fuzz/corpus"


def put(target, name, data):
    os.makedirs(os.path.join(C, target), exist_ok=True)
    with open(os.path.join(C, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def devices(text):
    """(header, {offset: byte}) for each device of an lspci -xxxx text."""
    out, cur = [], None
    for line in text.splitlines():
        line = line.rstrip("\r")
        head = line.split(" ", 1)[0]
        if len(head) >= 7 and head[-2] == "." and ":" in head and line != head:
            cur = (line, {})
            out.append(cur)
        elif not line:
            cur = None
        elif cur and ":" in line and not line[0].isspace():
            off, _, rest = line.partition(": ")
            try:
                base = int(off, 16)
                for i, b in enumerate(rest.split()):
                    cur[1][base + i] = int(b, 16)
            except ValueError:
                pass
    return out


def raw_space(regs):
    size = max(regs) + 1 if regs else 0
    return bytes(regs.get(i, 0) for i in range(size))


def dump_of(header, regs):
    lines = [header]
    space = raw_space(regs)
    for base in range(0, len(space), 16):
        lines.append("%02x: %s" % (base, " ".join("%02x" % b for b in space[base:base + 16])))
    return "\n".join(lines) + "\n\n"


for path in sorted(glob.glob("examples/scenarios/*.scn")):
    shutil.copy(path, os.path.join(C, "scenario", os.path.basename(path)))
put("scenario", "wait-stopped-timeout-0.scn",
    "device d rid=01:00.0 stop-markers=yes misbehave-rate=20\nbind b d pasid=1 handler=failure\n"
    "at 0 device-stop b\nat 0 wait-stopped b timeout=0 expect=any\nat +1us process budget=3\n")
put("scenario", "error-line.scn", "device d rid=01:00.0\nbind b d pasid=1\nat 0 frobnicate b\n")

for path in sorted(glob.glob("tests/data/uevent/*.bin")):
    shutil.copy(path, os.path.join(C, "uevent", os.path.basename(path)))

dumps = ["huge-offset.dump", "malformed.dump", "unterminated.dump", "truncated-cap.dump"]
for name in dumps:
    shutil.copy(os.path.join("tests/data/pci", name), os.path.join(C, "pci-dump", name))
sources = [("edge", open("tests/data/pci/edge.dump").read())]
if len(sys.argv) > 1:
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.lspci"))):
        name = os.path.basename(path)[:-len(".lspci")]
        sources.append((name, open(path).read()))
for name, text in sources:
    for i, (header, regs) in enumerate(devices(text)):
        put("pci-dump", "%s-%02d.dump" % (name, i), dump_of(header, regs))
        put("pci-cfg", "%s-%02d.bin" % (name, i), raw_space(regs))
# Device headers libpci takes but no function has (the requester ID would be wrong): refused.
put("pci-dump", "device-past-31.dump", "00:20.0 x\n00: cd ab 01 00 06 00 10 00 00 00 80 08 00 00 00 00\n\n")
put("pci-dump", "function-past-7.dump", "0000:00:01.9 x\n00: cd ab 01 00 06 00 10 00\n\n")
# Short dumps (64 bytes of two devices): mutations land on headers and offsets more often.
edge = devices(sources[0][1])
for i in range(0, len(edge) - 1, 2):
    text = "".join(dump_of(h, {k: v for k, v in r.items() if k < 0x40}) for h, r in edge[i:i + 2])
    put("pci-dump", "short-%02d.dump" % i, text)


def entry(rid, pasid, addr, prg, r=True, w=False, last=True, exec_=False, priv=False):
    qw0 = 1 | (rid << 16) | (exec_ << 52) | (priv << 53)
    if pasid is not None:
        qw0 |= 1 << 8 | pasid << 32
    qw1 = r | w << 1 | last << 2 | (prg & 0x1ff) << 3 | (addr & ~0xfff)
    return struct.pack("<QQQQ", qw0 & (2**64 - 1), qw1 & (2**64 - 1), 0, 0)


def record(ctl, e):
    return bytes([ctl]) + e


# Control bits: see fuzz-vtd-prq.c. 0x20 processes, 0x40 lets time pass, 0x80 rebinds PASID 1.
A, B = 0x0100, 0x0208
put("vtd-prq", "one-group-each-bond", b"\x01" + b"".join(record(0x60, e) for e in [
    entry(A, 1, 0x1000, 1), entry(A, 2, 0x2000, 2), entry(A, None, 0x3000, 3),
    entry(B, None, 0x4000, 4)]))
put("vtd-prq", "multi-page-groups", b"\x00" + b"".join(record(c, e) for c, e in [
    (0x00, entry(A, 1, 0x10000, 7, last=False)), (0x00, entry(A, 1, 0x11000, 7, last=False)),
    (0x20, entry(A, 1, 0x12000, 7)), (0x00, entry(A, 2, 0x20000, 8, w=True, last=False)),
    (0x60, entry(A, 2, 0x21000, 8, w=True))]))
put("vtd-prq", "stop-marker-and-rebind", b"\x01" + b"".join(record(c, e) for c, e in [
    (0x00, entry(A, 1, 0x5000, 9, last=False)), (0x00, entry(A, 1, 0, 0, r=False)),
    (0xa0, entry(A, 1, 0x6000, 10)), (0x60, entry(A, 1, 0x7000, 11))]))
put("vtd-prq", "malformed-and-unknown", b"\x01" + b"".join(record(c, e) for c, e in [
    (0x00, entry(A, 1, 0x8000_0000_0000, 12)),              # not canonical
    (0x00, entry(A, 1, 0x9000, 13, priv=True, w=True)),      # privileged data access
    (0x00, entry(A, 1, 0xa000, 14, exec_=True)),             # execute with read
    (0x00, entry(0x0707, 3, 0xb000, 15)),                    # unknown requester
    (0x00, entry(A, 9, 0xc000, 16)),                         # PASID without a bond
    (0x60, entry(A, 1, 0xd000, 17))]))
put("vtd-prq", "deferred-answers", b"\x00" + b"".join(
    record(0x20 if i % 3 == 2 else 0x00, entry(A, 1 + i % 2, 0x2000 + i * 0x4000, i))
    for i in range(24)))
