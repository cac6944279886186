#!/usr/bin/env bash
# Runs the CPU emulator's own tests (PTX instruction tables, execution semantics, negative controls)
# built by scripts/build-native.sh. Called by Maven in java-bindings' test phase.
#   scripts/test-emulator.sh [build-dir]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/java-bindings/target/native/build}"
if [ ! -f "$build/emulator/CTestTestfile.cmake" ]; then
  echo "kernels4j emulator tests: not built (K4J_EMULATOR=OFF or K4J_EMU_TESTS=OFF); nothing to run"
  exit 0
fi
ctest --test-dir "$build/emulator" --output-on-failure -j "${K4J_BUILD_JOBS:-2}" --timeout 300
