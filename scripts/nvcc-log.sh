#!/usr/bin/env bash
# CMake compiler launcher for nvcc: runs the compile and keeps its diagnostics (the -Xptxas -v
# register/spill report) next to the object as <object>.ptxas.log, so that the report covers every
# kernel even after an incremental build recompiled only a few files.
out="" prev=""
for a in "$@"; do
  [ "$prev" = "-o" ] && out="$a"
  prev="$a"
done
if [ -z "$out" ]; then exec "$@"; fi
"$@" 2>"$out.ptxas.tmp"
rc=$?
cat "$out.ptxas.tmp" >&2
mv -f "$out.ptxas.tmp" "$out.ptxas.log"
exit $rc
