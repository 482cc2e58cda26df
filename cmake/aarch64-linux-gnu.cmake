# SPDX-License-Identifier: GPL-2.0-or-later
# Cross-builds for arm64 with Debian's cross compiler and the arm64
# libraries installed through multiarch (tools/cross-build-arm64 installs
# both); CTest runs the arm64 programs under qemu-aarch64.
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(LOKERBUKU_TRIPLET aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${LOKERBUKU_TRIPLET}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${LOKERBUKU_TRIPLET})

# Headers and libraries from the arm64 side only: the cross libc in
# /usr/aarch64-linux-gnu, and Debian's multiarch libraries, which live in
# the build machine's own tree (/usr/lib/aarch64-linux-gnu: the "/" root,
# searched through CMAKE_LIBRARY_ARCHITECTURE). Programs (pkg-config,
# bash, jq) are the build machine's.
set(CMAKE_FIND_ROOT_PATH /usr/${LOKERBUKU_TRIPLET} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config reads the arm64 .pc files and never the build machine's: a
# library missing for arm64 is an error at configure time, not an amd64
# library at link time. The variables reach every pkg-config CMake runs,
# also when the build re-runs CMake.
set(ENV{PKG_CONFIG_LIBDIR}
	"/usr/lib/${LOKERBUKU_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# Debian's libnfc-dev cannot be installed for two architectures at once
# (it depends on libusb-dev, which is not Multi-Arch: same), so the arm64
# side has only the library, libnfc6:arm64. Its headers are the same on
# every architecture (/usr/include/nfc, from the build machine's
# libnfc-dev); what is missing is the .pc file and the link name, made
# here in the build tree, pointing at the arm64 library.
# CMake reads this file again for each of its compiler checks, with their
# scratch directory as CMAKE_BINARY_DIR, in the same process: the first
# reading, the project's own, chooses the directory for all.
set(LOKERBUKU_NFC_LIB /usr/lib/${LOKERBUKU_TRIPLET}/libnfc.so.6)
if(NOT EXISTS /usr/lib/${LOKERBUKU_TRIPLET}/pkgconfig/libnfc.pc
		AND EXISTS ${LOKERBUKU_NFC_LIB})
	if(NOT DEFINED ENV{LOKERBUKU_CROSS_NFC_DIR})
		set(ENV{LOKERBUKU_CROSS_NFC_DIR}
			${CMAKE_BINARY_DIR}/libnfc-${LOKERBUKU_TRIPLET})
		file(MAKE_DIRECTORY $ENV{LOKERBUKU_CROSS_NFC_DIR}/lib)
		file(CREATE_LINK ${LOKERBUKU_NFC_LIB}
			$ENV{LOKERBUKU_CROSS_NFC_DIR}/lib/libnfc.so SYMBOLIC)
		file(WRITE $ENV{LOKERBUKU_CROSS_NFC_DIR}/libnfc.pc
			"Name: libnfc\n"
			"Description: Near Field Communication (NFC) library (arm64 library only)\n"
			"Version: 1.8.0\n"
			"Libs: -L$ENV{LOKERBUKU_CROSS_NFC_DIR}/lib -lnfc\n"
			"Cflags:\n")
	endif()
	set(ENV{PKG_CONFIG_LIBDIR}
		"$ENV{PKG_CONFIG_LIBDIR}:$ENV{LOKERBUKU_CROSS_NFC_DIR}")
endif()

# CTest runs each arm64 test program through qemu's user-mode emulator:
# no binfmt_misc registration is needed. -L /: the ELF interpreter
# (/lib/ld-linux-aarch64.so.1) and every library are the multiarch ones
# of libc6:arm64 and the other :arm64 packages, which belong together.
# Not -L /usr/aarch64-linux-gnu: that directory's loader is the cross
# compiler's libc6-arm64-cross, a different build (2.36-8cross1 against
# libc6:arm64 2.36-9+deb12u14 on Debian 12) from the libc.so.6 the
# loader then finds through ld.so.cache, and with that mixed pair a
# forked child hangs before its first system call (test-store's
# refuses_a_database_it_cannot_write).
find_program(LOKERBUKU_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(LOKERBUKU_QEMU_AARCH64)
	set(CMAKE_CROSSCOMPILING_EMULATOR ${LOKERBUKU_QEMU_AARCH64} -L /)
endif()
