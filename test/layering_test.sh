#!/usr/bin/env bash
# The one direction of dependencies (DESIGN.md §2):
#   model <- drivers <- actors <- services <- apps
# A folder may include only its own headers and those of folders to its left;
# model/ stays pure (std, fmt, absl time).
set -u
root=${1:?source dir}
cd "$root" || exit 2
status=0
check() {  # folder, forbidden include pattern
  local hits
  hits=$(grep -rnE "#include *[<\"]($2)" "$1" 2>/dev/null)
  if [ -n "$hits" ]; then
    echo "$1/ must not include ($2):"
    echo "$hits"
    status=1
  fi
}
check model 'drivers/|actors/|services/|apps/|plantd/v1/|caf/|grpc|modbus|rocksdb/|spdlog/|google/protobuf'
check drivers 'actors/|services/|apps/|plantd/v1/|caf/|grpc'
check actors 'services/|apps/|plantd/v1/|grpc'
check services 'apps/'
# The store's schema is drivers/store's alone: no record key is built or
# parsed above it (drivers/store/energy_records.hpp and store.hpp name them).
keys=$(grep -rnE '"(hour|entry|reading|counter|model-journal|energy|state|series|config|document|uplink)/' \
  actors services apps 2>/dev/null | grep -vE '^[^:]+:[0-9]+: *//')
if [ -n "$keys" ]; then
  echo "store keys belong in drivers/store:"
  echo "$keys"
  status=1
fi
# A ';' in a test case's name cuts it in CMake's lists: ctest would run a
# filter that matches nothing (caught by --warn NoTests; named here).
names=$(find test -name '*.cpp' -print0 | xargs -0 perl -0ne \
  'while (/TEST_CASE(?:_METHOD)?\((?:[\w<>:]+,\s*)?((?:"(?:[^"\\]|\\.)*"\s*)+)/g) { my $n = $1; print "$ARGV: $n\n" if $n =~ /;/ }')
if [ -n "$names" ]; then
  echo "test names must not contain ';':"
  echo "$names"
  status=1
fi
[ $status -eq 0 ] && echo "layering: every include points left"
exit $status
