#!/usr/bin/env bash
# Every C++ file of the tree is laid out as .clang-format says (`make format`
# applies it). clang-format 14, as Debian 12 ships it: another version may
# lay out the same code differently.
set -euo pipefail
root=${1:?usage: format_test.sh SOURCE_DIR}
cd "$root"
cf=$(command -v clang-format-14 || true)
if [ -z "$cf" ]; then
  echo "format: clang-format-14 not found (make deps installs it)" >&2
  exit 1
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
else
  mapfile -t files < <(find model drivers actors services apps test -name '*.[ch]pp' | sort)
fi
[ "${#files[@]}" -gt 0 ] || { echo "format: no C++ files found under $root" >&2; exit 1; }
if ! out=$("$cf" --dry-run --Werror "${files[@]}" 2>&1); then
  echo "$out" | head -60
  echo "format: the files above differ from .clang-format; run make format" >&2
  exit 1
fi
echo "format: ${#files[@]} files match .clang-format"
