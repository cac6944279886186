#!/usr/bin/env bash
# CPU-only test of bin/gpu-validate's own logic (budget, skipping, timeouts, packing, labels, exit
# codes, signals) against a fake bundle whose kernels4j / run-tests / run-sanitizers are stand-ins; the
# peer step runs the real bin/torch-peer.py (numpy backend) on a synthetic dump. Needs python3 + numpy.
#   scripts/test-gpu-validate.sh     (prints one line per scenario; exit 0 when all pass)
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fake="$tmp/kernels4j"
mkdir -p "$fake/bin"
cp "$root/scripts/bundle-bin/gpu-validate" "$root/scripts/bundle-bin/torch-peer.py" "$root/scripts/bundle-bin/sass-report.py" "$fake/bin/"
mkdir -p "$fake/lib" "$tmp/cuda/bin" && : >"$fake/lib/libkernels4j.so"
# Stand-in cuobjdump and nvidia-smi (first on PATH in scenario 1b): SASS in cuobjdump's layout, the functions of each
# kernel family per architecture; FAKE_SASS_NO_HGMMA=1 drops the HGMMA of the Hopper GEMM.
cat >"$tmp/cuda/bin/cuobjdump" <<'SASS_EOF'
#!/usr/bin/env bash
[ "$1" = -sass ] || { echo "fake cuobjdump: $*?" >&2; exit 2; }
fn() { printf '\t\tFunction : %s\n\t.headerflags\t@"EF_CUDA_SM90"\n' "$1"; shift; local i=0 op
  for op in "$@"; do printf '        /*%04x*/                   %s R0, R1 ;   /* 0x000 */\n' $((i * 16)) "$op"; i=$((i + 1)); done; echo; }
for arch in sm_80 sm_89 sm_90a; do
  printf '\nFatbin elf code:\n================\narch = %s\ncode version = [1,8]\n\n\tcode for %s\n' "$arch" "$arch"
  fn _ZN3k4j7kernels4gemm19fp8_gemm_mma_kernelILi64ELi64ELNS1_8GemmModeE0EEEvNS1_10GemmParamsE LDC S2R EXIT
  fn _ZN3k4j7kernels4gemm13mma_tile_passEPKhS3_PKf LDG.E.128 HMMA.16816.F32 BRA RET.REL
  fn _ZN3k4j7kernels3mla17mla_decode_kernelENS1_12DecodeParamsE HMMA.16816.F32.BF16 STL.64 LDL.64 EXIT
  if [ "$arch" = sm_90a ]; then
    hg=HGMMA.64x128x32.F32.E4M3.E4M3; [ "${FAKE_SASS_NO_HGMMA:-0}" = 1 ] && hg=NOP
    fn _ZN3k4j7kernels4gemm21fp8_gemm_wgmma_kernelINS1_9WgmmaTileILi2ELi128EEELNS1_8GemmModeE0ELi1EEEvNS1_10GemmParamsE14CUtensorMap_stS7_S7_S7_ \
      USETMAXREG.DEALLOC.CTAPOOL UTMALDG.3D SYNCS.ARRIVE.TRANS64.RED.A1T0 WARPGROUP.ARRIVE "$hg" WARPGROUP.DEPBAR.LE UTMASTG.2D EXIT
    fn _ZN3k4j7kernels3mla23mla_decode_wgmma_kernelILb0EEEvNS1_12DecodeParamsE14CUtensorMap_st USETMAXREG.TRY_ALLOC.CTAPOOL UTMALDG.3D HGMMA.64x64x16.F32.BF16 EXIT
    fn _ZN3k4j7kernels3mla23mla_decode_wgmma_kernelILb1EEEvNS1_12DecodeParamsE14CUtensorMap_st LDG.E.128 HGMMA.64x256x16.F32.BF16 EXIT
  fi
done
SASS_EOF
printf '#!/bin/sh\necho "fake nvidia-smi $*"\n' >"$tmp/cuda/bin/nvidia-smi"
chmod +x "$tmp/cuda/bin/cuobjdump" "$tmp/cuda/bin/nvidia-smi"
echo "fake-commit" >"$fake/COMMIT"
cat >"$fake/bin/kernels4j" <<'EOF'
#!/usr/bin/env bash
# Stand-in CLI: FAKE_NODEV=1 (no device), FAKE_CHECK_SLEEP (seconds per check family), FAKE_FAIL=FAMILY.
cmd="$1"; shift
out=""; fam=""; list=0; args="$*"
while [ $# -gt 0 ]; do case "$1" in --out) out="$2"; shift ;; --list) list=1 ;; --filter|--cublaslt) shift ;; -*) ;; *) fam="$1" ;; esac; shift; done
case "$cmd" in
  info) echo "kernels4j fake"; if [ "${FAKE_NODEV:-0}" = 1 ]; then echo "devices: none (fake: no GPU)"; else echo "device 0: Fake H200, sm_90, 132 SMs"; fi ;;
  check) if [ $list = 1 ]; then echo "gemm	Fp8Gemm.dense	m=7 n=128 k=128"; echo "1 cases"; exit 0; fi
         mkdir -p "$out"; echo "[1/1] $fam case: PASS"; sleep "${FAKE_CHECK_SLEEP:-0}"
         echo "{}" >"$out/check-$fam.json"
         if [ "${FAKE_FAIL:-}" = "$fam" ]; then echo "check: 0 passed, 1 failed in 0 s"; exit 1; fi
         echo "check: 1 passed, 0 failed in 0 s" ;;
  bench) mkdir -p "$out"; echo "$args" >"$out/bench-$fam.args"; echo "bench: done" ;;
  dump) python3 - "$out" "$(dirname "$0")/torch-peer.py" <<'PY'
import importlib.util, os, sys
import numpy as np
spec = importlib.util.spec_from_file_location("tp", sys.argv[2]); tp = importlib.util.module_from_spec(spec); spec.loader.exec_module(tp)
os.makedirs(sys.argv[1], exist_ok=True); tp.synth_dump(sys.argv[1], np.random.default_rng(7)); print("dump: 4 of 4 cases")
PY
  ;;
  *) echo "fake kernels4j: $cmd?" >&2; exit 2 ;;
esac
EOF
cat >"$fake/bin/run-sanitizers" <<'EOF'
#!/usr/bin/env bash
echo "run-sanitizers $*"; echo "Result: PASS"
EOF
cat >"$fake/bin/run-tests" <<'EOF'
#!/usr/bin/env bash
echo "tests started"; sleep "${FAKE_TESTS_SLEEP:-1000}"; echo "[ 1 tests successful ]"
EOF
chmod +x "$fake"/bin/*
# No nvidia-smi and no GPU python on the test's PATH: a directory with python3 and the basics only.
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
files_ok() { local n; n=$(ls "$1" | wc -l); [ "$n" -le 8 ] && [ -f "$1/summary.md" ] && [ -f "$1/summary.json" ] &&
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1/summary.json"; }
gv="$fake/bin/gpu-validate"

# 1. A full run (90 s: room for a loaded machine): every step but the tests finishes; the tests hit the budget (timeout), the peer passes.
o="$tmp/o1"; FAKE_TESTS_SLEEP=1000 "$gv" "$o" --budget-seconds 90 >"$tmp/log1" 2>&1; rc=$?
if [ $rc = 1 ] && files_ok "$o" && grep -q '| check gemm | pass' "$o/summary.md" && grep -q '| peer torch | pass' "$o/summary.md" &&
   grep -q '| tests junit-gpu | TIMEOUT' "$o/summary.md" && grep -q '| bench gemm | pass' "$o/summary.md" &&
   tar -tzf "$o/peer.tar.gz" | grep 'peer/peer.json' >/dev/null && tar -tzf "$o/check.tar.gz" | grep 'check-moe.json' >/dev/null; then
  ok "full run: steps pass, tests time out within the budget, <= 8 files, peer PASS"
else bad "full run (rc $rc)"; cat "$o/summary.md" 2>/dev/null; tail -20 "$tmp/log1"; fi
secs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["usedSeconds"])' "$o/summary.json" 2>/dev/null)
if [ -n "$secs" ] && [ "$secs" -le 92 ]; then ok "full run stayed within its 90 s budget ($secs s)"; else bad "budget overrun: $secs s"; fi

# 1b. The SASS report: with a cuobjdump on PATH every expectation holds and the info archive has the
# report; a Hopper GEMM without HGMMA fails the info step and is named; the parser refuses non-SASS.
o="$tmp/o1b"; PATH="$tmp/cuda/bin:$PATH" "$gv" "$o" --budget-seconds 60 --steps check >"$tmp/log1b" 2>&1; rc=$?
o2="$tmp/o1c"; FAKE_SASS_NO_HGMMA=1 PATH="$tmp/cuda/bin:$PATH" "$gv" "$o2" --budget-seconds 60 --steps check >"$tmp/log1c" 2>&1; rc2=$?
echo "not sass" | python3 "$fake/bin/sass-report.py" - --out "$tmp/o1d" >/dev/null 2>&1; rc3=$?
if [ $rc = 0 ] && grep -q '| info sass | pass | [0-9]* | sass-report: 12 of 12 expectations hold' "$o/summary.md" &&
   tar -tzf "$o/info.tar.gz" | grep 'info/sass/sass-summary.md' >/dev/null && tar -tzf "$o/info.tar.gz" | grep 'sass-sm_90a-hopper.txt' >/dev/null &&
   [ $rc2 = 1 ] && grep -q '| info sass | FAIL (exit 1)' "$o2/summary.md" &&
   tar -xzOf "$o2/info.tar.gz" info/sass.log | grep 'FAIL fp8_gemm_wgmma: warpgroup MMA \[sm_90a\]: 1 of 1 fail' >/dev/null && [ $rc3 = 2 ]; then
  ok "SASS report: expectations hold, a kernel without HGMMA is named and fails, non-SASS input refused"
else bad "SASS report (rc $rc, $rc2, $rc3)"; cat "$o/summary.md" "$o2/summary.md" 2>/dev/null; tail -5 "$tmp/log1b"; fi

# 2. No device: exit 2, summary names it, nothing else run.
o="$tmp/o2"; FAKE_NODEV=1 "$gv" "$o" --budget-seconds 60 >"$tmp/log2" 2>&1; rc=$?
if [ $rc = 2 ] && files_ok "$o" && grep -q 'no device' "$o/summary.md" && [ ! -f "$o/check.tar.gz" ]; then ok "no device: exit 2, said so"
else bad "no device (rc $rc)"; fi

# 3. A slow check eats the budget: later steps are skipped with the reason.
o="$tmp/o3"; FAKE_CHECK_SLEEP=12 "$gv" "$o" --budget-seconds 45 --steps check,peer,bench >"$tmp/log3" 2>&1; rc=$?
if [ $rc = 1 ] && files_ok "$o" && grep -q 'skipped | 0 | not enough time' "$o/summary.md"; then ok "budget: later steps skipped with the reason"
else bad "budget skipping (rc $rc)"; cat "$o/summary.md"; fi

# 4. Emulated: labelled, bench and sanitizers skipped gracefully, exit 0 when the rest passes.
o="$tmp/o4"; KERNELS4J_DEVICE=emulator "$gv" "$o" --budget-seconds 60 --steps check,peer,bench,sanitize >"$tmp/log4" 2>&1; rc=$?
if [ $rc = 0 ] && files_ok "$o" && grep -q 'EMULATED' "$o/summary.md" && grep -q '| bench | skipped' "$o/summary.md" &&
   grep -q '| sanitize | skipped' "$o/summary.md" && grep -q '"emulated": true' "$o/summary.json"; then ok "emulated: labelled, GPU-only steps skipped, exit 0"
else bad "emulated (rc $rc)"; cat "$o/summary.md"; fi

# 4b. Emulated: the GPU-sized caps are scaled (gemm's 150 s x 3), a bad scale is bad usage.
o="$tmp/o4b"; KERNELS4J_DEVICE=emulator KERNELS4J_EMULATED_CAP_SCALE=3 "$gv" "$o" --budget-seconds 900 --steps check >"$tmp/log4b" 2>&1; rc=$?
KERNELS4J_DEVICE=emulator KERNELS4J_EMULATED_CAP_SCALE=x "$gv" "$tmp/o4c" --steps check >"$tmp/log4c" 2>&1; rc_bad=$?
if [ $rc = 0 ] && grep -q '== check gemm (timeout 450 s' "$tmp/log4b" && [ $rc_bad = 2 ] && grep -q 'CAP_SCALE must be' "$tmp/log4c"
then ok "emulated: caps scaled, bad scale refused"
else bad "emulated cap scale (rc $rc, bad $rc_bad)"; grep '== check' "$tmp/log4b"; cat "$tmp/log4c"; fi

# 5. A failing family fails the run; the other families still run.
o="$tmp/o5"; FAKE_FAIL=mla "$gv" "$o" --budget-seconds 60 --steps check >"$tmp/log5" 2>&1; rc=$?
if [ $rc = 1 ] && grep -q '| check mla | FAIL (exit 1)' "$o/summary.md" && grep -q '| check moe | pass' "$o/summary.md"; then ok "a failing family is reported, the rest run"
else bad "failing family (rc $rc)"; cat "$o/summary.md"; fi

# 6. Killed mid-step: the summary and the finished steps' archives remain.
o="$tmp/o6"; FAKE_CHECK_SLEEP=30 "$gv" "$o" --budget-seconds 120 --steps check >"$tmp/log6" 2>&1 &
pid=$!; sleep 6; kill -TERM "$pid"; wait "$pid"; rc=$?
if [ $rc = 1 ] && files_ok "$o" && grep -q 'interrupted' "$o/summary.md" && [ -f "$o/info.tar.gz" ]; then ok "killed mid-step: summary and finished archives kept"
else bad "killed mid-step (rc $rc)"; cat "$o/summary.md" 2>/dev/null; fi

# 7. Bad usage.
r=0
"$gv" >/dev/null 2>&1; [ $? = 2 ] || r=1
"$gv" "$tmp/o7" --budget-seconds abc >/dev/null 2>&1; [ $? = 2 ] || r=1
"$gv" "$tmp/o7" --steps check,frob >/dev/null 2>&1; [ $? = 2 ] || r=1
"$gv" "$tmp/o7" --nope >/dev/null 2>&1; [ $? = 2 ] || r=1
[ $r = 0 ] && ok "bad usage exits 2" || bad "bad usage"

[ $fails = 0 ] && echo "test-gpu-validate: PASS" || echo "test-gpu-validate: $fails FAILED"
exit $((fails > 0))
