#!/usr/bin/env bash
# Installs what plantd needs to build, test and run, from Debian 12 packages.
# Idempotent: installs only what is missing (and runs apt-get update first,
# only then). Run as root, or with sudo available.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config
  # libraries
  libcaf-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libmodbus-dev librocksdb-dev libfmt-dev libspdlog-dev libcli11-dev libxlsxwriter-dev libzip-dev libexpat1-dev
  libsodium-dev libssl-dev openssl libsystemd-dev
  # the uplink: Prometheus remote-write (HTTP(S) and snappy)
  libcurl4-openssl-dev libsnappy-dev
  # /metrics
  libcpp-httplib-dev
  catch2 libbenchmark-dev tzdata
  # make fuzz: clang and its libFuzzer/sanitizer runtimes (only recommended by clang-14)
  clang-14 libclang-rt-14-dev
  # make test checks the code's layout against .clang-format
  clang-format-14
  # test peers: independent gRPC and Modbus implementations
  python3 python3-grpcio python3-grpc-tools python3-protobuf python3-pymodbus
  python3-serial python3-serial-asyncio mbpoll socat grpc-proto
  # test peer: a spreadsheet written by another program (daily entries as .xlsx)
  python3-openpyxl
  # the uplink's real receiver
  victoria-metrics
  # make deb: checked by lintian
  lintian
)

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
