#!/usr/bin/env bash
# make deb's package: built by CPack from this build tree, lintian clean of
# errors, with its conffile, unit, maintainer scripts and binaries.
set -euo pipefail
build=${1:?build dir}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$build"
cpack -G DEB -B "$out" >/dev/null
deb=$(ls "$out"/plantd_*.deb)
lintian --fail-on error "$deb"
# Each output is read whole before it is searched: grep -q in a pipe stops
# reading at its first match, and under pipefail the writer's SIGPIPE fails
# the test at random (dpkg-deb: "paste subprocess was killed by signal").
conffiles=$(dpkg-deb -I "$deb" conffiles)
grep -qx /etc/plantd/plant.json <<<"$conffiles"
# libcurl is loaded by the uplink when it starts, not linked: named by hand.
depends=$(dpkg-deb -f "$deb" Depends)
grep -q "libcurl4" <<<"$depends" || { echo "Depends lacks libcurl4: $depends"; exit 1; }
postinst=$(dpkg-deb -I "$deb" postinst)
grep -q "adduser --system" <<<"$postinst"
files=$(dpkg-deb -c "$deb")
for f in ./usr/bin/plantd ./usr/bin/plantctl ./usr/bin/plant-sim \
         ./lib/systemd/system/plantd.service ./etc/plantd/plant.json \
         ./usr/share/doc/plantd/copyright; do
  grep -q " $f\$" <<<"$files" || { echo "missing $f"; exit 1; }
done
unit=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/plantd.service)
grep -q "^Type=notify$" <<<"$unit"
echo "package: $(basename "$deb") is lintian clean of errors"
