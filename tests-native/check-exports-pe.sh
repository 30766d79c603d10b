#!/usr/bin/env bash
# Fails when memsentry.dll exports anything but the symbols agent-c/memsentry.map
# lists (the Windows counterpart of check-exports.sh: the export table from
# `objdump -p`, since a PE file has no dynamic symbol table).
set -eu
objdump=$1 dll=$2 map=$3
expected=$(sed -n '/global:/,/local:/p' "$map" | grep -E '^[[:space:]]+[A-Za-z_][A-Za-z0-9_]*;' | tr -d ' ;\t' | sort)
# The name pointer table: lines like "	[   3] ms_agent_open" after its header.
actual=$("$objdump" -p "$dll" | sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' |
         sed -n 's/^[[:space:]]*\[[[:space:]]*[0-9]*\][[:space:]]*\([A-Za-z_][A-Za-z0-9_@]*\)$/\1/p' | sort)
if [ -z "$actual" ]; then
  echo "no export table found in $dll"
  exit 1
fi
if [ "$expected" != "$actual" ]; then
  echo "exported symbols differ from $map (< map, > library):"
  diff <(echo "$expected") <(echo "$actual") || true
  exit 1
fi
echo "exports match: $(echo "$actual" | wc -l) symbols"
