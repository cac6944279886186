#!/usr/bin/env python3
"""The SASS of libkernels4j.so, read for the instructions the kernels were written to use.

    cuobjdump -sass lib/libkernels4j.so | bin/sass-report.py - --out DIR
    bin/sass-report.py SASS.txt --out DIR

Counts, per architecture and kernel function, the instructions that say whether a kernel compiled to
what it was meant to be (Hopper warpgroup MMA HGMMA, TMA UTMALDG/UTMASTG, mbarrier SYNCS, setmaxnreg
USETMAXREG, warpgroup fences, Ampere/Ada MMA HMMA/QMMA) and local-memory traffic (LDL/STL: spills or
a stack frame), then checks the expectations below. Writes DIR/sass-summary.md, DIR/sass-summary.json
and DIR/sass-sm_90a-hopper.txt (the sm_90a SASS of the Hopper kernel families, to read by eye).
Exit status: 0 every expectation holds, 1 one does not (each is named), 2 bad input (no SASS).
Expectations for a target the library was not built for (K4J_GENCODES) are reported "n/a".
Only the Python standard library; c++filt (binutils) demangles names when it is on PATH.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, OrderedDict

# "/*0a40*/   @!P0 HGMMA.64x128x32.F32.E4M3.E4M3 R24, gdesc[UR4], R24, gsb0 ;"
INSN = re.compile(r"^\s*/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P[0-9T]+\s+)?([A-Z][A-Z0-9_]*)((?:\.[A-Za-z0-9_]+)*)")
ARCH = re.compile(r"^\s*code for (sm_\w+)")
FUNC = re.compile(r"^\s*Function\s*:\s*(\S+)")
ENCODING = re.compile(r"^\s*/\* 0x[0-9a-f]+ \*/\s*$")  # the second encoding word of an instruction, alone on its line
# The columns of the report: base opcodes, or "OP.SUFFIX" for a sub-form.
COLUMNS = ["HGMMA", "HMMA", "QMMA", "UTMALDG", "UTMASTG", "SYNCS", "USETMAXREG", "WARPGROUP.ARRIVE",
           "WARPGROUP.DEPBAR", "BAR", "LDL", "STL"]

# What each family must compile to: (name, arch, pattern on the mangled name, how to aggregate, test, why).
# "each": every matching function must pass; "any": the matching functions together (a kernel whose
# inner loop is a __noinline__ helper has its MMAs in that helper).
EXPECT = [
    ("fp8_gemm_wgmma: warpgroup MMA", "sm_90a", r"fp8_gemm_wgmma_kernel", "each", lambda c: c["HGMMA"] > 0,
     "every Hopper GEMM kernel issues HGMMA (wgmma.mma_async)"),
    ("fp8_gemm_wgmma: TMA loads", "sm_90a", r"fp8_gemm_wgmma_kernel", "each", lambda c: c["UTMALDG"] > 0,
     "A, B and the A scales arrive by TMA (cp.async.bulk.tensor)"),
    ("fp8_gemm_wgmma: TMA store epilogue", "sm_90a", r"fp8_gemm_wgmma_kernel", "each", lambda c: c["UTMASTG"] > 0,
     "D leaves through shared memory and a TMA store"),
    ("fp8_gemm_wgmma: register reallocation", "sm_90a", r"fp8_gemm_wgmma_kernel", "each",
     lambda c: c["USETMAXREG"] > 0, "producer and consumer warpgroups rebalance registers (setmaxnreg)"),
    ("mla_decode_wgmma: warpgroup MMA", "sm_90a", r"mla_decode_wgmma_kernel", "each", lambda c: c["HGMMA"] > 0,
     "Q.K^T and P.V issue HGMMA"),
    ("mla_decode_wgmma (BF16 cache): TMA page loads", "sm_90a", r"mla_decode_wgmma_kernelILb0E", "each",
     lambda c: c["UTMALDG"] > 0, "BF16 pages arrive by TMA"),
]
for arch in ("sm_80", "sm_89", "sm_90a"):
    EXPECT += [
        (f"fp8_gemm_mma: tensor-core MMA ({arch})", arch, r"fp8_gemm_mma_kernel|mma_tile_pass", "any",
         lambda c: c["HMMA"] + c["QMMA"] > 0, "the portable GEMM runs on mma.sync"),
        (f"mla_decode (mma.sync): tensor-core MMA ({arch})", arch, r"mla_decode_kernel", "any",
         lambda c: c["HMMA"] > 0, "the portable MLA decode runs on mma.sync (BF16)"),
    ]
HOPPER = re.compile(r"fp8_gemm_wgmma_kernel|mla_decode_wgmma_kernel")


def parse(lines):
    """Yields (arch, function, Counter, [lines]) for every function listing."""
    arch, func, counts, body = "unknown", None, None, []
    for line in lines:
        m = ARCH.match(line)
        if m:
            if func:
                yield arch, func, counts, body
            # The library's only sm_90 machine code is the sm_90a image (compute_90 is PTX): name it so
            # whichever way this cuobjdump prints it.
            arch, func, counts, body = ("sm_90a" if m.group(1) == "sm_90" else m.group(1)), None, None, []
            continue
        m = FUNC.match(line)
        if m:
            if func:
                yield arch, func, counts, body
            func, counts, body = m.group(1), Counter(), [line]
            continue
        if func is None:
            continue
        m = INSN.match(line)
        if m:
            op, sub = m.group(1), m.group(2)
            counts["total"] += 1
            counts[op] += 1
            if sub:
                counts[op + "." + sub[1:].split(".")[0]] += 1
        if HOPPER.search(func) and not ENCODING.match(line):
            body.append(line)
    if func:
        yield arch, func, counts, body


def demangle(names):
    tool = shutil.which("c++filt")
    if not tool or not names:
        return {n: n for n in names}
    try:
        out = subprocess.run([tool], input="\n".join(names), capture_output=True, text=True, timeout=60).stdout
        lines = out.splitlines()
        if len(lines) == len(names):
            return dict(zip(names, lines))
    except (OSError, subprocess.SubprocessError):
        pass
    return {n: n for n in names}


def check(functions):
    results = []
    built = {a for a, _ in functions}
    for name, arch, pattern, how, test, why in EXPECT:
        if arch not in built:  # a library built for fewer targets (K4J_GENCODES): said, not failed
            results.append({"expectation": name, "arch": arch, "ok": None, "why": why,
                            "detail": f"no {arch} code in this library (not built for it)"})
            continue
        rx = re.compile(pattern)
        hits = [(f, c) for (a, f), c in functions.items() if a == arch and rx.search(f)]
        if not hits:
            results.append({"expectation": name, "arch": arch, "ok": False, "why": why,
                            "detail": f"no {arch} function matches /{pattern}/"})
            continue
        if how == "each":
            bad = [f for f, c in hits if not test(c)]
            ok, detail = not bad, (f"all {len(hits)} functions" if not bad else f"{len(bad)} of {len(hits)} fail: " + ", ".join(bad[:4]))
        else:
            total = Counter()
            for _, c in hits:
                total.update(c)
            ok, detail = test(total), f"{len(hits)} functions together"
        results.append({"expectation": name, "arch": arch, "ok": ok, "why": why, "detail": detail})
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sass", help="cuobjdump -sass output, or - for standard input")
    ap.add_argument("--out", required=True, help="folder for the reports")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    src = sys.stdin if args.sass == "-" else open(args.sass, errors="replace")
    functions, hopper_text = OrderedDict(), OrderedDict()
    for arch, func, counts, body in parse(src):
        key = (arch, func)
        if key in functions:  # the same kernel in two objects of the library: keep the larger listing
            if counts["total"] <= functions[key]["total"]:
                continue
        functions[key] = counts
        if arch == "sm_90a" and HOPPER.search(func):
            hopper_text[key] = "\n".join(body)
    if not functions:
        print("sass-report: no function listings in the input (is it cuobjdump -sass output?)", file=sys.stderr)
        return 2
    names = demangle(sorted({f for _, f in functions}))
    results = check(functions)
    archs = sorted({a for a, _ in functions})

    with open(os.path.join(args.out, "sass-sm_90a-hopper.txt"), "w") as f:
        f.write("\n\n".join(hopper_text.values()) + "\n")
    rows = []
    for (arch, func), c in functions.items():
        rows.append(OrderedDict([("arch", arch), ("function", names.get(func, func)), ("mangled", func),
                                 ("instructions", c["total"])] + [(k, c[k]) for k in COLUMNS]))
    with open(os.path.join(args.out, "sass-summary.json"), "w") as f:
        json.dump({"kind": "sass-report", "architectures": archs, "functions": rows, "expectations": results}, f, indent=1)

    def short(n, width=110):
        return n if len(n) <= width else n[: width - 3] + "..."

    failed = [r for r in results if r["ok"] is False]
    checked = [r for r in results if r["ok"] is not None]
    if not checked:
        print(f"sass-report: no code for sm_80, sm_89 or sm_90a in the input (architectures: {', '.join(archs)})",
              file=sys.stderr)
        return 2
    md = ["# SASS of libkernels4j.so", "",
          f"Architectures: {', '.join(archs)}; {len(functions)} function listings. Expectations: "
          f"{len(checked) - len(failed)} of {len(checked)} hold"
          + (f" ({len(results) - len(checked)} not applicable: targets not built)." if len(checked) < len(results) else "."), "",
          "| expectation | arch | holds | detail |", "| --- | --- | --- | --- |"]
    md += [f"| {r['expectation']} | {r['arch']} | {'n/a' if r['ok'] is None else 'yes' if r['ok'] else '**NO**'} | {r['detail']} |"
           for r in results]
    md += ["", "Kernels of interest (LDL/STL: local memory, i.e. spills or a stack frame):", "",
           "| arch | function | instr | " + " | ".join(COLUMNS) + " |", "| --- " * (len(COLUMNS) + 3) + "|"]
    interest = re.compile(r"wgmma|mma|mla_decode|_kernel")
    for r in rows:
        if interest.search(r["mangled"]):
            md.append(f"| {r['arch']} | `{short(r['function'])}` | {r['instructions']} | "
                      + " | ".join(str(r[k]) for k in COLUMNS) + " |")
    with open(os.path.join(args.out, "sass-summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    for r in results:
        print(f"{'n/a ' if r['ok'] is None else 'ok  ' if r['ok'] else 'FAIL'} {r['expectation']} [{r['arch']}]: {r['detail']}")
    print(f"sass-report: {len(checked) - len(failed)} of {len(checked)} expectations hold "
          f"({len(functions)} functions, {', '.join(archs)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
