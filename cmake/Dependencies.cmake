# Finds every third-party package plantd uses (all from Debian, see
# deploy/install-deps.sh) and gives each a target to link.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

# CAF 0.17 ships neither a CMake config nor a .pc file.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
add_library(caf::core INTERFACE IMPORTED)
set_target_properties(caf::core PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES "${CAF_CORE_LIBRARY};Threads::Threads")
add_library(caf::io INTERFACE IMPORTED)
set_target_properties(caf::io PROPERTIES
  INTERFACE_LINK_LIBRARIES "${CAF_IO_LIBRARY};caf::core")

find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
pkg_check_modules(MODBUS REQUIRED IMPORTED_TARGET libmodbus)
find_package(RocksDB CONFIG REQUIRED)
pkg_check_modules(XLSXWRITER REQUIRED IMPORTED_TARGET xlsxwriter)
# Reading .xlsx (daily entries an energy manager fills in): a zip of XML.
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
pkg_check_modules(EXPAT REQUIRED IMPORTED_TARGET expat)
# Access: Argon2id password hashes and random tokens (libsodium); plantd's
# own TLS certificate (OpenSSL).
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
find_package(OpenSSL REQUIRED)
# systemd's notify protocol (READY=1, WATCHDOG=1).
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
# The uplink: Prometheus remote-write over HTTP(S) (libcurl), snappy bodies.
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(SNAPPY REQUIRED IMPORTED_TARGET snappy)
# /metrics: a small HTTP server (header-only).
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

if(PLANTD_BUILD_TESTS)
  find_package(Catch2 2 CONFIG REQUIRED)
endif()
if(PLANTD_BUILD_BENCH)
  find_package(benchmark CONFIG)
endif()
