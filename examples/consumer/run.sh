#!/usr/bin/env bash
# Builds examples/consumer against the kernels4j artifacts that `mvn install` put in the local Maven
# repository (not the reactor's target/ folders) and runs it as an application would: on the module
# path and on the class path, each on the CPU emulated device (an FP8 GEMM through the API, and the
# examples) and on the default GPU library (without a GPU: the probe answers, the API throws
# GpuUnavailableException, every example exits 2). Then checks that a missing platform jar is a
# clear GpuUnavailableException, not a crash. Exit code 0 when every run answered as expected.
#
#   mvn -B install [-DskipTests] && examples/consumer/run.sh [maven options, e.g. -o]
#
# K4J_CONSUMER_EMULATED_EXAMPLES: the examples run on the emulator; default all but
# MoeLayerExample, which takes minutes of CPU there and already runs in the build's emulated tests
# (ExamplesTest). "all" runs every one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
mvn="${MVN:-mvn}"

# The consumer names the version a user would write; it must be the version just installed.
version="$(sed -n 's:^  <version>\(.*\)</version>.*:\1:p' "$root/pom.xml" | head -n 1)"
wanted="$(sed -n 's:.*<kernels4j.version>\(.*\)</kernels4j.version>.*:\1:p' "$here/pom.xml")"
if [ "$version" != "$wanted" ]; then
  echo "consumer: examples/consumer/pom.xml depends on kernels4j $wanted, but the build is $version: update kernels4j.version there" >&2
  exit 1
fi

case "$(uname -m)" in
  x86_64 | amd64) natives_module=io.kernels4j.natives.linux.x86_64 ;;
  aarch64 | arm64) natives_module=io.kernels4j.natives.linux.aarch64 ;;
  *) echo "consumer: no kernels4j platform jar for $(uname -m)" >&2; exit 1 ;;
esac

echo "consumer: building examples/consumer against the installed kernels4j $version"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
"$mvn" -B -q -f "$here/pom.xml" "$@" compile >"$log" 2>&1 ||
  { cat "$log" >&2; echo "consumer: build failed (did \`mvn install\` run first, with this version?)" >&2; exit 1; }

deps="$(cat "$here/target/runtime-path.txt")"
natives_jar="$(tr ':' '\n' <<<"$deps" | grep -E 'kernels4j-java-bindings-.*-linux-[a-z0-9_]+\.jar$' || true)"
[ -n "$natives_jar" ] || { echo "consumer: the platform jar is not among the runtime dependencies: $deps" >&2; exit 1; }
deps_without_natives="$(tr ':' '\n' <<<"$deps" | grep -vxF "$natives_jar" | paste -sd: -)"

modules=(--module-path "$here/target/classes:$deps" --add-modules "$natives_module"
  --enable-native-access=io.kernels4j.bindings,io.kernels4j.ops -m com.example.consumer/com.example.consumer.Main)
classes=(--enable-native-access=ALL-UNNAMED -cp "$here/target/classes:$deps" com.example.consumer.Main)
on_module_path="running as module com.example.consumer, kernels4j-ops from module io.kernels4j.ops"
on_class_path="running as class path, kernels4j-ops from class path"

emulated="${K4J_CONSUMER_EMULATED_EXAMPLES:-Fp8GemmExample MlaDecodeExample SafetensorsFp8Example}"
[ "$emulated" = all ] && emulated=""
read -r -a emulated <<<"$emulated"

failed=0
# check NAME WANT PATTERN... -- JAVA_ARGUMENTS: runs java, wants exit code WANT ("gpu": 0 when the
# probe found a device, else 2 with GpuUnavailableException) and every PATTERN (grep -E) in the output.
check() {
  local name="$1" want="$2" out rc=0 p
  shift 2
  local patterns=()
  while [ "$1" != -- ]; do patterns+=("$1"); shift; done
  shift
  out="$("$java" "$@" 2>&1)" || rc=$?
  if [ "$want" = gpu ]; then
    if grep -q "available=true" <<<"$out"; then want=0; patterns+=("Fp8Gemm.dense .*PASS")
    else want=2; patterns+=("GpuUnavailableException\(" "reason=[A-Z_]+: "); fi
  fi
  local why=""
  [ "$rc" = "$want" ] || why="exit code $rc, expected $want"
  for p in "${patterns[@]}"; do grep -qE -- "$p" <<<"$out" || why="${why:+$why; }output lacks /$p/"; done
  # Native access granted as documented (module names on the module path) must leave no warning.
  ! grep -q "restricted method" <<<"$out" || why="${why:+$why; }a restricted-method warning"
  if [ -n "$why" ]; then
    echo "consumer: FAIL $name: $why; output:" >&2
    sed 's/^/    /' <<<"$out" >&2
    failed=1
  else
    echo "consumer: ok   $name (exit code $rc)"
    grep -E "^consumer: |^[A-Za-z0-9]+Example: " <<<"$out" | sed 's/^/    /'
  fi
}

check "module path, emulated device" 0 "$on_module_path" "emulated=true" "Fp8Gemm.dense .*PASS" -- \
  -Dkernels4j.device=emulator "${modules[@]}" "${emulated[@]}"
check "class path, emulated device" 0 "$on_class_path" "emulated=true" "Fp8Gemm.dense .*PASS" -- \
  -Dkernels4j.device=emulator "${classes[@]}" "${emulated[@]}"
check "module path, GPU library" gpu "$on_module_path" -- "${modules[@]}"
check "class path, GPU library" gpu "$on_class_path" -- "${classes[@]}"
# A user who forgets the platform jar (or, on the module path, to add it) gets the typed answer.
check "module path, platform jar not added" 2 "$on_module_path" "LIBRARY_NOT_LOADABLE" "platform jar" -- \
  --module-path "$here/target/classes:$deps" --enable-native-access=io.kernels4j.bindings,io.kernels4j.ops \
  -m com.example.consumer/com.example.consumer.Main Fp8GemmExample
check "class path, no platform jar" 2 "$on_class_path" "LIBRARY_NOT_LOADABLE" "platform jar" -- \
  --enable-native-access=ALL-UNNAMED -cp "$here/target/classes:$deps_without_natives" com.example.consumer.Main Fp8GemmExample

if [ "$failed" != 0 ]; then echo "consumer: FAILED" >&2; exit 1; fi
echo "consumer: every run answered as expected"
