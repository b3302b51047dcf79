# make deb: a Debian package of plantd, plantctl and plant-sim (CPack).
#   /usr/bin/{plantd,plantctl,plant-sim}
#   /lib/systemd/system/plantd.service   hardened, Type=notify, watchdog
#   /etc/plantd/plant.json               conffile (the single-cabinet example)
#   /usr/share/plantd/examples/          the example plants
#   /var/lib/plantd                      made by systemd (StateDirectory=)
# postinst adds the plantd system user (groups dialout, gpio if present).
include(GNUInstallDirs)
install(TARGETS plantd plantctl plant-sim RUNTIME DESTINATION bin)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/plantd.service
  DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/examples/single-cabinet.json
  DESTINATION /etc/plantd RENAME plant.json)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/examples/single-cabinet.json
  ${CMAKE_SOURCE_DIR}/deploy/examples/five-cabinets.json
  ${CMAKE_SOURCE_DIR}/deploy/examples/twenty-cabinets.json
  DESTINATION share/plantd/examples)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION share/doc/plantd)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/debian/copyright DESTINATION share/doc/plantd)
# Debian's changelog of a native package, compressed as policy wants.
set(changelog ${CMAKE_BINARY_DIR}/package/changelog)
file(WRITE ${changelog}
"plantd (${PROJECT_VERSION}) unstable; urgency=medium\n\n  * Built from the plantd source tree.\n\n -- plantd authors <authors@plantd.dev>  Mon, 30 Nov 2026 00:00:00 +0000\n")
add_custom_command(OUTPUT ${changelog}.gz
  COMMAND gzip -9 -n -c ${changelog} > ${changelog}.gz
  DEPENDS ${changelog})
add_custom_target(plantd_changelog ALL DEPENDS ${changelog}.gz)
install(FILES ${changelog}.gz DESTINATION share/doc/plantd RENAME changelog.gz)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME plantd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "plantd authors <authors@plantd.dev>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "plant controller for C&I battery storage")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"plantd dispatches the battery cabinets of a commercial or industrial
storage site over Modbus (self-consumption, time-of-use, export and demand
limits), keeps the plant safe through faults, stores telemetry and alarms,
and runs the enterprise's energy-carbon accounting. plantctl is its command
line; plant-sim simulates a plant for commissioning practice.")
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libcurl4: loaded by the uplink when it starts (not linked, so not found by shlibdeps).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, socat, libcurl4")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/deploy/debian/conffiles
  ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
  ${CMAKE_SOURCE_DIR}/deploy/debian/prerm
  ${CMAKE_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
