# `cmake --install`: headers, libnodus.so/.a, the nodus CLI, nodus.pc and
# the CMake package (find_package(nodus CONFIG)). Included from the top
# CMakeLists.txt after the targets exist. Every destination is relative
# to the prefix, so --prefix and CPack can move it anywhere.
include(CMakePackageConfigHelpers)

install(TARGETS nodus nodus_static EXPORT nodusTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS nodus_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# What `nodus cluster` runs inside the node namespaces: the default C node
# and the kit's helpers, out of PATH (the CLI finds them relative to
# itself, testkit/kit_cluster.c).
foreach(helper echo_node nodus_kit_connect nodus_kit_delay)
  if(TARGET ${helper})
    install(TARGETS ${helper} RUNTIME DESTINATION ${NODUS_KIT_LIBEXEC})
  endif()
endforeach()
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/ ${CMAKE_BINARY_DIR}/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

set(NODUS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/nodus)
install(EXPORT nodusTargets NAMESPACE nodus:: DESTINATION ${NODUS_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/nodusConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/cmake/nodusConfig.cmake
                              INSTALL_DESTINATION ${NODUS_CMAKE_DIR})
# 0.x releases make no promise between minor versions.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmake/nodusConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cmake/nodusConfig.cmake
              ${CMAKE_BINARY_DIR}/cmake/nodusConfigVersion.cmake
        DESTINATION ${NODUS_CMAKE_DIR})

# nodus.pc finds the prefix from its own place (${pcfiledir}): the path
# back up from LIBDIR/pkgconfig, unless LIBDIR/INCLUDEDIR were set absolute.
file(RELATIVE_PATH NODUS_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" NODUS_PC_TO_PREFIX "${NODUS_PC_TO_PREFIX}")
foreach(kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
    set(NODUS_PC_${kind} "${CMAKE_INSTALL_${kind}}")
  else()
    set(NODUS_PC_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}")
  endif()
endforeach()
configure_file(${CMAKE_SOURCE_DIR}/cmake/nodus.pc.in ${CMAKE_BINARY_DIR}/nodus.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/nodus.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
