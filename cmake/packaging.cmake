# `cpack -G DEB`: one Debian package, libnodus, with everything
# `cmake --install` puts (library, headers, nodus.pc, CMake package, CLI).
set(NODUS_PACKAGE_MAINTAINER "nodus maintainers <maintainers@users.noreply.h-seed-2f95a244.example>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_PACKAGE_NAME libnodus)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Erlang/OTP distribution for C")
set(CPACK_PACKAGE_DESCRIPTION
    "libnodus makes a C program a real node of an Erlang/Elixir cluster: it \
connects, is seen in nodes(), answers ping and rpc, and has processes that \
Erlang code sends to, links and monitors. It also builds, prints, matches \
and encodes Erlang terms. This package has the shared and static library, \
the headers, pkg-config and CMake files, and the nodus command line.")
set(CPACK_PACKAGE_CONTACT "${NODUS_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${NODUS_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr) # tests/package relies on it
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Run-time dependencies come from dpkg-shlibdeps (libuv1, libssl3, zlib1g,
# libc6). The headers, libnodus.a, nodus.pc (Requires.private) and the CMake
# package (find_dependency, pkg_check_modules) need the -dev packages too.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libuv1-dev, libc-ares-dev, libpq-dev, libssl-dev, zlib1g-dev, pkg-config")
# A shlibs file for packages built against libnodus.so.0, and the
# ldconfig trigger Debian's own library packages have.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/cmake/debian/triggers)
include(CPack)
