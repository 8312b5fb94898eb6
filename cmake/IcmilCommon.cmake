# SPDX-License-Identifier: GPL-3.0-or-later
# Build settings every target shares, and the include-root rule that makes the layering checkable.

# One INTERFACE target carries the language standard, warnings and Qt defines for every layer;
# core/common's library (icmil_common) passes it on, and every target links that.
add_library(icmil_build_settings INTERFACE)
target_compile_features(icmil_build_settings INTERFACE cxx_std_20)
set(CMAKE_CXX_EXTENSIONS OFF)
target_compile_options(icmil_build_settings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wold-style-cast -Wnon-virtual-dtor>
  $<$<AND:$<BOOL:${ICMIL_WERROR}>,$<CXX_COMPILER_ID:GNU,Clang>>:-Werror>)
target_compile_definitions(icmil_build_settings INTERFACE
  QT_NO_KEYWORDS                # Qt's `slots`/`signals` clash with LibTorch headers
  QT_NO_CAST_FROM_ASCII
  QT_NO_CAST_TO_ASCII
  ICMIL_VERSION="${PROJECT_VERSION}")

# icmil_include_root(<target> <prefix> <folder> [<prefix> <folder>]...)
#
# Gives <target> an include root of its own, <build>/include/<target>, that holds nothing but a
# symbolic link <prefix> -> <folder> per pair. `#include "<prefix>/…"` then compiles in <target>
# and in the targets that link it, and nowhere else: a layer that includes a header of a layer
# it does not link fails to compile (docs/ARCHITECTURE.md, "Layers").
function(icmil_include_root target)
  set(root "${CMAKE_BINARY_DIR}/include/${target}")
  set(pairs ${ARGN})
  list(LENGTH pairs count)
  math(EXPR odd "${count} % 2")
  if(count EQUAL 0 OR odd)
    message(FATAL_ERROR "icmil_include_root(${target}): expects <prefix> <folder> pairs")
  endif()
  while(pairs)
    list(POP_FRONT pairs prefix folder)
    get_filename_component(parent "${root}/${prefix}" DIRECTORY)
    file(MAKE_DIRECTORY "${parent}")
    file(CREATE_LINK "${folder}" "${root}/${prefix}" SYMBOLIC)
  endwhile()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${target} INTERFACE "${root}")
  else()
    target_include_directories(${target} PUBLIC "${root}")
  endif()
endfunction()

# ICMIL_SANITIZE (top-level CMakeLists.txt): every target of ours is compiled and linked with the
# sanitizers named. A UBSan finding aborts (no recovery), so a test with undefined behaviour fails
# instead of printing and passing. Line tables only (-g1): the reports name file and line, and the
# LibTorch-heavy units compile much faster than with full debug information.
if(ICMIL_SANITIZE)
  if(NOT ICMIL_SANITIZE MATCHES "^(address|undefined|address,undefined|undefined,address|thread)$")
    message(FATAL_ERROR "ICMIL_SANITIZE: '${ICMIL_SANITIZE}' is not one of address,undefined / address / undefined / thread")
  endif()
  set(_icmil_sanitize_flags -fsanitize=${ICMIL_SANITIZE} -fno-omit-frame-pointer)
  if(ICMIL_SANITIZE MATCHES "undefined")
    list(APPEND _icmil_sanitize_flags -fno-sanitize-recover=undefined)
  endif()
  # GCC's flow analysis sees the sanitizers' checks and warns of uninitialised values in
  # libstdc++ (std::regex, std::function) that are initialised (a known GCC false positive). The
  # plain build keeps the warning.
  target_compile_options(icmil_build_settings INTERFACE ${_icmil_sanitize_flags} -g1
    $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
  target_link_options(icmil_build_settings INTERFACE ${_icmil_sanitize_flags})
  message(STATUS "ICMIL_SANITIZE: building with ${_icmil_sanitize_flags}")
endif()
