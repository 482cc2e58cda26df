# SPDX-License-Identifier: GPL-2.0-or-later
# Debian packages, built by CPack: `cpack -G DEB -B packages` in a build
# tree configured with -DCMAKE_INSTALL_PREFIX=/usr (so that the
# configuration goes to /etc and lokerd looks for the app in /usr/share). lokerbuku: lokerd, lokerctl, the unit, its user, its device
# rules, the configuration to fill in, the documentation; lokerbuku-kiosk-ui:
# the touchscreen app and its Chromium launcher. lokerhub is not packaged.
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT lokerbuku)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT lokerbuku
	FILES_MATCHING PATTERN "*.md" PATTERN "*.yaml")

install(DIRECTORY ui/ DESTINATION ${CMAKE_INSTALL_DATADIR}/lokerbuku/ui
	COMPONENT kiosk-ui
	FILES_MATCHING PATTERN "*.html" PATTERN "*.css" PATTERN "*.js"
	PATTERN "*.json" PATTERN "*.svg" PATTERN "*.png" PATTERN "*.woff2"
	PATTERN dist EXCLUDE)
install(FILES ui/lokerbuku-kiosk-ui.service
	DESTINATION lib/systemd/system COMPONENT kiosk-ui)
install(FILES ui/dist/lokerbuku-kiosk-ui.sysusers
	RENAME lokerbuku-kiosk-ui.conf
	DESTINATION lib/sysusers.d COMPONENT kiosk-ui)
install(FILES ui/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}-kiosk-ui
	COMPONENT kiosk-ui)

set(CPACK_PACKAGE_NAME lokerbuku)
set(CPACK_PACKAGE_VENDOR "lokerbuku")
set(CPACK_PACKAGE_CONTACT "lokerbuku maintainers <lokerbuku@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL lokerbuku kiosk-ui)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# CPack asks dpkg for the architecture, which is the build machine's; a
# cross build (cmake/aarch64-linux-gnu.cmake) names its own.
if(CMAKE_CROSSCOMPILING AND CMAKE_SYSTEM_PROCESSOR STREQUAL aarch64)
	set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
endif()
# The synopsis of both packages is the project's description; each
# component's description is the text below it.
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
# Programs stripped, as Debian ships them (the build tree keeps the
# symbols); with the cross build's own strip.
set(CPACK_STRIP_FILES ON)
# Versions of the shared libraries from what the binaries link.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

set(CPACK_DEBIAN_LOKERBUKU_PACKAGE_NAME lokerbuku)
set(CPACK_COMPONENT_LOKERBUKU_DESCRIPTION
"The kiosk daemon. lokerd runs a self-service kiosk of library book pickup lockers: a patron
taps a member card or types a pickup code, the kiosk opens the lockers
holding the patron's reserved books, records the pickup in SQLite and
syncs with the library's server (Locker Sync API v1, e.g. SLiMS).")
# sysusers and udev at install (adduser is not needed); openssl for
# lokerbuku-provision.
set(CPACK_DEBIAN_LOKERBUKU_PACKAGE_DEPENDS "systemd (>= 247), openssl")
set(CPACK_DEBIAN_LOKERBUKU_PACKAGE_CONTROL_EXTRA
	${PROJECT_SOURCE_DIR}/firmware/dist/conffiles
	${PROJECT_SOURCE_DIR}/firmware/dist/postinst
	${PROJECT_SOURCE_DIR}/firmware/dist/prerm
	${PROJECT_SOURCE_DIR}/firmware/dist/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_KIOSK-UI_PACKAGE_NAME lokerbuku-kiosk-ui)
set(CPACK_DEBIAN_KIOSK-UI_PACKAGE_ARCHITECTURE all)
# cage (0.1.4, Debian 12) refuses to start without Xwayland, which it only
# recommends (integration-install runs it under the unit).
set(CPACK_DEBIAN_KIOSK-UI_PACKAGE_DEPENDS "lokerbuku (= ${PROJECT_VERSION}), chromium, cage, xwayland, curl, systemd (>= 247)")
set(CPACK_DEBIAN_KIOSK-UI_PACKAGE_CONTROL_EXTRA
	${PROJECT_SOURCE_DIR}/ui/dist/postinst
	${PROJECT_SOURCE_DIR}/ui/dist/prerm
	${PROJECT_SOURCE_DIR}/ui/dist/postrm)
set(CPACK_COMPONENT_KIOSK-UI_DESCRIPTION
"The kiosk's touchscreen, in Bahasa Indonesia and English: a web app served by
lokerd, shown by Chromium in kiosk mode under the cage Wayland compositor.")

include(CPack)
