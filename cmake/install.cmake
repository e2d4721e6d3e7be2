# cmake/install.cmake - install rules of cnnfilter, included from the top-level
# CMakeLists.txt after the targets `cnnfilter` and `cnnfilter_lib` are defined.
#
#   <bindir>/cnnfilter                                   the command
#   <libdir>/libcnnfilter.a                              the library
#   <includedir>/cnnfilter.h                             its API
#   <libdir>/pkgconfig/cnnfilter.pc                      pkg-config file
#   <mandir>/man1/cnnfilter.1                            manual page
#   <datadir>/bash-completion/completions/cnnfilter      bash completion
#   <datadir>/cnnfilter/kernels/*.json, README.md        kernel and pipeline files
#
# Components: Runtime (command, manual, completion, kernels) and Development
# (library, header, pkg-config file); `cmake --install BUILD` installs both.
# The command finds the kernels folder beside itself (../share/cnnfilter/kernels),
# so the installed tree may be moved or installed with --prefix.

include(GNUInstallDirs)

if(NOT TARGET cnnfilter OR NOT TARGET cnnfilter_lib)
  message(FATAL_ERROR "cmake/install.cmake: include it after the cnnfilter and "
                      "cnnfilter_lib targets are defined")
endif()
# The pkg-config file says -lcnnfilter: the archive must be libcnnfilter.a.
get_target_property(_cnf_lib_name cnnfilter_lib OUTPUT_NAME)
if(NOT _cnf_lib_name STREQUAL "cnnfilter")
  message(FATAL_ERROR "cmake/install.cmake: cnnfilter_lib must have OUTPUT_NAME "
                      "cnnfilter (libcnnfilter.a), not '${_cnf_lib_name}'")
endif()

get_filename_component(_cnf_src "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

install(TARGETS cnnfilter
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Runtime)
install(TARGETS cnnfilter_lib
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Development)
install(FILES "${_cnf_src}/include/cnnfilter.h"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT Development)

# pkg-config file.  It is configured when installing, not when configuring,
# so that its prefix is the one installed to: `cmake --install BUILD --prefix
# DIR` changes CMAKE_INSTALL_PREFIX only then.  DESTDIR is not part of it, as
# packaging expects.  Relative GNUInstallDirs folders are written under
# ${prefix}; absolute ones as they are.
set(_cnf_pc_in "${CMAKE_CURRENT_LIST_DIR}/cnnfilter.pc.in")
set(_cnf_pc_out "${CMAKE_CURRENT_BINARY_DIR}/cnnfilter.pc")
foreach(_cnf_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_cnf_dir}}")
    set(_cnf_pc_${_cnf_dir} "${CMAKE_INSTALL_${_cnf_dir}}")
  else()
    set(_cnf_pc_${_cnf_dir} "\${prefix}/${CMAKE_INSTALL_${_cnf_dir}}")
  endif()
endforeach()
install(CODE "
  set(PROJECT_VERSION [[${PROJECT_VERSION}]])
  set(CNF_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(CNF_PC_LIBDIR [[${_cnf_pc_LIBDIR}]])
  set(CNF_PC_INCLUDEDIR [[${_cnf_pc_INCLUDEDIR}]])
  configure_file([[${_cnf_pc_in}]] [[${_cnf_pc_out}]] @ONLY)
" COMPONENT Development)
install(FILES "${_cnf_pc_out}"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig" COMPONENT Development)

install(FILES "${_cnf_src}/doc/cnnfilter.1"
        DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" COMPONENT Runtime)
install(FILES "${_cnf_src}/completions/cnnfilter.bash"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
        RENAME cnnfilter COMPONENT Runtime)
install(DIRECTORY "${_cnf_src}/kernels/"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/cnnfilter/kernels" COMPONENT Runtime
        FILES_MATCHING PATTERN "*.json" PATTERN "README.md")
install(DIRECTORY "${_cnf_src}/examples/"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/cnnfilter/examples" COMPONENT Runtime
        FILES_MATCHING PATTERN "*.json" PATTERN "*.csv" PATTERN "README.md")
