#!/usr/bin/env bash
# Builds libkernels4j.so with CMake (called by Maven from java-bindings, or by hand).
#   scripts/build-native.sh <build-dir> <output-dir>
# Keeps the full log as <build-dir>/build.log and the compiler's per-kernel register/spill report as
# <build-dir>/../ptxas-report.txt. K4J_GENCODES (a ;-separated list like
# "arch=compute_90a,code=sm_90a") narrows the targets for quick local iterations. K4J_VERSION (Maven
# passes the project version) is the library's version; unset, CMake reads it from pom.xml.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/java-bindings/target/native/build}"
out="${2:-$root/java-bindings/target/classes/native/linux-x86_64}"

die() { echo "kernels4j native build: $*" >&2; exit 1; }

command -v cmake >/dev/null 2>&1 ||
  die "cmake not found on PATH. Install CMake 3.25 or newer (e.g. apt-get install cmake)."
nvcc="${CUDACXX:-}"
if [ -z "$nvcc" ]; then
  for c in "$(command -v nvcc 2>/dev/null || true)" "${CUDA_HOME:-/nonexistent}/bin/nvcc" /usr/local/cuda/bin/nvcc; do
    if [ -n "$c" ] && [ -x "$c" ]; then nvcc="$c"; break; fi
  done
fi
[ -n "$nvcc" ] && [ -x "$nvcc" ] ||
  die "nvcc not found (looked at \$CUDACXX, PATH, \$CUDA_HOME/bin, /usr/local/cuda/bin). Install the CUDA toolkit 12.8 or newer (https://developer.nvidia.com/cuda-downloads) and put nvcc on PATH."

mkdir -p "$build" "$out"
log="$build/build.log"
# Always state the targets: CMake caches K4J_GENCODES, so a narrowed build must not stick.
extra=()
if [ -n "${K4J_GENCODES:-}" ]; then extra+=("-DK4J_GENCODES=${K4J_GENCODES}"); else extra+=("-UK4J_GENCODES"); fi
# Always state the version too (empty: CMake reads pom.xml), so a cached one cannot go stale.
extra+=("-DK4J_VERSION=${K4J_VERSION:-}")
# The CPU emulated device (emulator/) and its own tests: on unless K4J_EMULATOR=OFF / K4J_EMU_TESTS=OFF.
extra+=("-DK4J_EMULATOR=${K4J_EMULATOR:-ON}" "-DK4J_EMU_TESTS=${K4J_EMU_TESTS:-ON}")
jobs="${K4J_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"
{
  cmake -S "$root" -B "$build" -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_BUILD_TYPE=Release "${extra[@]}"
  cmake --build "$build" -j "$jobs"
} >"$log" 2>&1 || { tail -n 60 "$log" >&2; die "build failed; full log: $log"; }

cp "$build/libkernels4j.so" "$out/libkernels4j.so"
# The CPU emulated device (emulator/): one library per emulated architecture, beside the GPU one.
for lib in "$build"/emulator/libkernels4j-emu-sm*.so; do
  [ -e "$lib" ] && cp "$lib" "$out/"
done
# Register/spill report of every kernel and target (scripts/nvcc-log.sh keeps one log per object).
report="$build/../ptxas-report.txt"
{
  echo "# ptxas register/spill report, $(date -u +%Y-%m-%dT%H:%M:%SZ); targets: ${K4J_GENCODES:-default}"
  find "$build" -name '*.ptxas.log' | sort | while read -r f; do
    echo "## $(basename "${f%.o.ptxas.log}")"
    grep -E "ptxas info|bytes stack frame|warning" "$f" || true
  done
} >"$report"
echo "kernels4j native build: $out/libkernels4j.so ($(du -h "$out/libkernels4j.so" | cut -f1)), register report: $(cd "$build/.." && pwd)/ptxas-report.txt"
