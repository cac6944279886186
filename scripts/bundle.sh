#!/usr/bin/env bash
# Makes a self-contained GPU bundle: dist/kernels4j-bundle.tar.gz, for an x86-64 Linux host that has
# only an NVIDIA driver (no JDK, no Maven, no CUDA toolkit). Inside, under kernels4j/:
#   runtime/   a jlink'd JDK 25 runtime
#   lib/       every jar (with test-jars, test dependencies, the JUnit console launcher), libkernels4j.so and
#              the emulated device's libkernels4j-emu-sm*.so
#              (the CLI runs from these jars; the shaded kernels4j.jar would only duplicate them)
#   include/   kernels4j.h (the ABI self-check test reads it)
#   bin/       kernels4j (the CLI), run-tests (every test, GPU ones included), gpu-validate (the one
#              command of a GPU session), torch-peer.py, and every other launcher in scripts/bundle-bin/
#   README.md  scripts/bundle-README.md (how to use the bundle)
# Usage: scripts/bundle.sh [--out DIR]   (runs `mvn package -DskipTests`, incremental after a build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "bundle.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

java_home="${JAVA_HOME:-}"
if [ -z "$java_home" ] || ! "$java_home/bin/java" -version 2>&1 | grep -qE 'version "(2[5-9]|[3-9][0-9])'; then
  for c in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*25* /usr/lib/jvm/*; do
    if [ -x "$c/bin/jlink" ] && "$c/bin/java" -version 2>&1 | grep -qE 'version "(2[5-9]|[3-9][0-9])'; then java_home="$c"; break; fi
  done
fi
[ -n "$java_home" ] && [ -x "$java_home/bin/jlink" ] || { echo "bundle.sh: needs a JDK 25+ with jlink (set JAVA_HOME)" >&2; exit 1; }
export JAVA_HOME="$java_home"

cd "$root"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
b="$stage/kernels4j"
mkdir -p "$b/lib" "$b/bin" "$b/include"

echo "bundle.sh: building and collecting jars (mvn package -DskipTests dependency:copy-dependencies)"
# No -sources/-javadoc jars: they are for Maven Central, not for running.
mvn -q -B package -DskipTests -Dmaven.source.skip -Dmaven.javadoc.skip dependency:copy-dependencies \
  -DincludeScope=test -DexcludeGroupIds=io.kernels4j -DoutputDirectory="$b/lib"
for m in java-bindings ops validation bench examples; do
  # (the platform jar kernels4j-java-bindings-*-linux-x86_64.jar too: the loader tests read its resource)
  for j in "$m"/target/kernels4j-"$m"-*.jar; do
    case "$j" in *-sources.jar | *-javadoc.jar) continue ;; esac
    [ -f "$j" ] && cp "$j" "$b/lib/"
  done
done
mvn -q -B -N dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.11.4 \
  -DoutputDirectory="$b/lib" >/dev/null
mv "$b"/lib/junit-platform-console-standalone-*.jar "$b/lib/junit-platform-console-standalone.jar"
cp java-bindings/target/classes/native/linux-x86_64/libkernels4j.so "$b/lib/"
# The CPU emulated device's libraries (KERNELS4J_DEVICE=emulator: rehearsals without a GPU).
cp java-bindings/target/classes/native/linux-x86_64/libkernels4j-emu-sm*.so "$b/lib/" 2>/dev/null || true
cp native/include/*.h "$b/include/"
find scripts/bundle-bin -maxdepth 1 -type f -exec cp {} "$b/bin/" \; # files only (no __pycache__)
cp scripts/bundle-README.md "$b/README.md"
chmod +x "$b"/bin/*
git rev-parse HEAD 2>/dev/null >"$b/COMMIT" || echo unknown >"$b/COMMIT"
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then sed -i 's/$/+dirty/' "$b/COMMIT"; fi

echo "bundle.sh: jlink runtime"
# java.management/jdk.management for JMH, jdk.zipfs for the JUnit class-path scan of test-jars. No java.desktop (10 MiB more): plots are drawn from the
# JSON reports on a machine with a full JDK (`kernels4j plot`).
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.management,java.xml,java.sql,java.naming,jdk.unsupported,jdk.management,jdk.zipfs \
  --strip-debug --no-header-files --no-man-pages --output "$b/runtime"

mkdir -p "$out"
tar -C "$stage" -czf "$out/kernels4j-bundle.tar.gz" kernels4j
size=$(stat -c %s "$out/kernels4j-bundle.tar.gz")
echo "bundle.sh: $out/kernels4j-bundle.tar.gz ($((size / 1048576)) MiB)"
# The device tool carries at most 64 MiB (the bundle plus the ~3 MiB source tree) to a GPU machine.
if [ "$size" -gt $((56 * 1048576)) ]; then
  echo "bundle.sh: the bundle is over 56 MiB: it would not fit the 64 MiB a device call carries" >&2
  exit 1
fi
