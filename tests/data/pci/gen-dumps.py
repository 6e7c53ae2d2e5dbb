#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Regenerates the synthetic lspci -xxxx dumps of this directory (see README). The dumps are
# committed; run this only to change them: python3 gen-dumps.py (in this directory).

ATS, PRI, PASID, VSEC = 0x0F, 0x13, 0x1B, 0x0B


def le(buf, off, width, val):
    for i in range(width):
        buf[off + i] = (val >> (8 * i)) & 0xff


def device(vendor, devid, caps, pcie=True, size=4096):
    """caps: (offset, id, version, {reg offset: (width, value)}[, next]) in chain order;
    next, when given, overrides the pointer to the following entry (to build a loop)."""
    cfg = bytearray(size)
    le(cfg, 0x00, 2, vendor)
    le(cfg, 0x02, 2, devid)
    le(cfg, 0x04, 2, 0x0006)
    le(cfg, 0x0a, 2, 0x0880)          # class: system peripheral
    if pcie:
        le(cfg, 0x06, 2, 0x0010)      # capability list present
        cfg[0x34] = 0x40
        le(cfg, 0x40, 4, 0x00920010)  # PCI Express v2, root complex integrated endpoint
    for i, (off, cid, ver, regs, *loop) in enumerate(caps):
        nxt = loop[0] if loop else caps[i + 1][0] if i + 1 < len(caps) else 0
        if off < size:
            le(cfg, off, 4, cid | ver << 16 | nxt << 20)
            for r, (w, v) in regs.items():
                le(cfg, off + r, w, v)
    return cfg


def ats(off, cap, ctrl):
    return (off, ATS, 1, {4: (2, cap), 6: (2, ctrl)})


def pasid(off, cap, ctrl):
    return (off, PASID, 1, {4: (2, cap), 6: (2, ctrl)})


def pri(off, ctrl, status, capacity, alloc):
    return (off, PRI, 1, {4: (2, ctrl), 6: (2, status), 8: (4, capacity), 12: (4, alloc)})


def hexdump(cfg, upto=None):
    n = len(cfg) if upto is None else upto
    lines = []
    for base in range(0, n, 16):
        row = cfg[base:min(base + 16, n)]
        lines.append("%02x: %s" % (base, " ".join("%02x" % b for b in row)))
    return lines


def block(slot, title, cfg, upto=None):
    return ["%s %s" % (slot, title)] + hexdump(cfg, upto) + [""]


def write(name, lines, final_newline=True):
    with open(name, "w", newline="") as f:
        f.write("\n".join(lines))
        if final_newline:
            f.write("\n")


V = 0xabcd
edge = []
edge += ["# Synthetic config spaces for the libpci helpers; see README. Lines like this one are",
         "# not dump syntax, so libpci ignores them.", ""]
# Two devices where every flag differs between them and from its neighbours in the same
# register, so a decoder reading a wrong bit gets one of them wrong.
edge += block("00:01.0", "varied-a", device(V, 0x0001, [
    ats(0x100, 0x0025, 0x0003), pasid(0x110, 0x1002, 0x0005), pri(0x120, 0x0001, 0x8001, 0x100, 0x80)]))
edge += block("00:02.0", "varied-b", device(V, 0x0002, [
    (0x100, VSEC, 1, {4: (4, 0x01000000)}), pasid(0x140, 0x0d04, 0x0006), ats(0x200, 0x005a, 0x801f),
    pri(0x300, 0x0002, 0x0102, 0x12345, 0x12345)]))
edge += block("00:03.0", "rf-uprgi", device(V, 0x0003, [
    ats(0x100, 0x0000, 0x8000), pri(0x110, 0x0000, 0x0103, 0x20, 0x20), pasid(0x120, 0x1406, 0x0001)]))
edge += block("00:04.0", "enabled-not-stopped", device(V, 0x0004, [
    ats(0x100, 0x0000, 0x8000), pasid(0x110, 0x1400, 0x0001), pri(0x120, 0x0001, 0x0000, 0x200, 0x100)]))
edge += block("00:05.0", "capacity-0", device(V, 0x0005, [
    ats(0x100, 0x0000, 0x8000), pri(0x110, 0x0000, 0x0100, 0, 0)]))
edge += block("00:06.0", "no-pasid", device(V, 0x0006, [
    ats(0x100, 0x0001, 0x8000), pri(0x110, 0x0000, 0x8100, 0x40, 0)]))
edge += block("00:07.0", "alloc-over-capacity", device(V, 0x0007, [
    ats(0x100, 0x0000, 0x8000), pri(0x110, 0x0000, 0x0100, 0x10, 0x20)]))
edge += block("00:08.0", "not-pcie", device(V, 0x0008, [
    ats(0x100, 0x0000, 0x8000), pri(0x110, 0x0000, 0x0100, 0x10, 0x10)], pcie=False))
edge += block("00:09.0", "ext-cap-loop", device(V, 0x0009, [
    (0x100, VSEC, 1, {4: (4, 0x01000000)}), ats(0x180, 0x0002, 0x8001) + (0x100,)]))
edge += block("00:0a.0", "pasid-only", device(V, 0x000a, [pasid(0x100, 0x0806, 0x0007)]))
edge += block("00:0b.0", "reset-reads-one", device(V, 0x000b, [
    ats(0x100, 0x001f, 0x0010), pri(0x110, 0x0002, 0x0000, 0xffffffff, 0xfffffffe)]))
edge += block("00:0c.0", "config-256", device(V, 0x000c, [
    ats(0x100, 0x0000, 0x8000), pri(0x110, 0x0000, 0x0100, 0x10, 0)]), upto=256)
edge += block("0001:02:00.0", "domain-1", device(V, 0x000d, [
    pasid(0x100, 0x1406, 0x0001), ats(0x110, 0x0003, 0x8002), pri(0x120, 0x0000, 0x8100, 0x400, 0x200)]))
write("edge.dump", edge)

# The same kind of devices with noise libpci must skip: text, comments, CRLF, indented hex,
# hex before any device, a header without its trailing space, spaces-only lines.
g = ["garbage before any device", "00: ff ff ff ff", "0000:00:05.0", ""]
dev = block("00:01.0", "varied-a with noise", device(V, 0x0101, [
    ats(0x100, 0x0025, 0x0003), pasid(0x110, 0x1002, 0x0005), pri(0x120, 0x0001, 0x8001, 0x100, 0x80)]))
g += dev[:3] + ["\tCapabilities: [100 v1] looks like lspci text", "  20: 11 11 11 11", "   "] + \
    [dev[3] + "\r"] + dev[4:]
dev = block("00:02.0", "enabled-not-stopped with noise", device(V, 0x0102, [
    ats(0x100, 0x0000, 0x8000), pasid(0x110, 0x1400, 0x0001), pri(0x120, 0x0001, 0x0000, 0x200, 0x100)]))
g += dev[:20] + ["zz: 00 00", "random words: 12 34", "#120: 00"] + dev[20:]
write("garbage.dump", g)

ok = device(V, 0x0201, [ats(0x100, 0, 0x8000), pri(0x110, 0, 0x0100, 0x10, 0)])
lines = block("00:01.0", "malformed", ok)
lines[5] = "40: 10 00 9 00"
write("malformed.dump", lines)

lines = block("00:01.0", "unterminated", ok)[:-1]
lines[-1] = lines[-1][:20]
write("unterminated.dump", lines, final_newline=False)

lines = block("00:01.0", "long line", ok)
lines[1] = lines[1] + " " * 300
write("long-line.dump", lines)

# PRI header at 0x110 present, its registers cut off: the dump ends 4 bytes into the capability.
cut = device(V, 0x0202, [ats(0x100, 0, 0x8000), pri(0x110, 0, 0x0100, 0x10, 0)])
write("truncated-cap.dump", block("00:01.0", "truncated inside PRI", cut, upto=0x114))

# A hex offset of 2^31: libpci 3.9 scans it into an int, which goes negative and passes its
# "at most 4096" check (lspci -F crashes); the helpers must refuse the file before libpci.
lines = block("00:01.0", "huge offset", ok, upto=0x40)
lines.insert(-1, "80000000: 41")
write("huge-offset.dump", lines)
