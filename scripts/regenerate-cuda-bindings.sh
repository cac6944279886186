#!/usr/bin/env bash
# Regenerates the jextract CUDA runtime bindings (io.kernels4j.bindings.cuda) from the CUDA headers,
# with the filter list in java-bindings/jextract/cudart.args. Needs a jextract for JDK 25 on PATH
# (it is on neither Maven Central nor Debian, so it is not part of the build). The output is committed
# as generated; never edit it by hand: add a symbol to cudart.args and run this again.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cuda="${CUDA_HOME:-/usr/local/cuda}"
command -v jextract >/dev/null 2>&1 || { echo "jextract not found on PATH (https://jdk.java.net/jextract/)" >&2; exit 1; }
src="$root/java-bindings/src/main/java"
rm -rf "$src/io/kernels4j/bindings/cuda"
cd "$root/java-bindings/jextract"
jextract @cudart.args -I "$cuda/include" --output "$src" "$cuda/include/cuda_runtime_api.h"
echo "regenerated $src/io/kernels4j/bindings/cuda"
