# SPDX-License-Identifier: GPL-3.0-or-later
# CTest packaging_man_pages (cmake -P): the man pages cannot go stale silently.
#  1. every subcommand that `icmil --help` lists has a `.SS <name>` section in icmil.1; with
#     -DOPTIONS=ON (CTest packaging_man_page_options) also every long option of
#     `icmil <name> --help` appears in that section: one LibTorch start-up per subcommand, ~1 s each;
#  2. every long option of `icmil-studio --help` appears in icmil-studio.1;
#  3. both pages render without a warning (man --warnings, as lintian runs it; else groff -ww);
#  4. the AppStream metainfo has a <release> entry for the project version.
# Inputs: -DICMIL= -DSTUDIO= (the two binaries) -DICMIL_PAGE= -DSTUDIO_PAGE= -DMETAINFO= -DVERSION=
#         [-DOPTIONS=ON: only the per-subcommand option check]
cmake_minimum_required(VERSION 3.25)

# The binaries re-exec themselves to set OMP_WAIT_POLICY when it is unset; spare the 13 calls that.
set(ENV{OMP_WAIT_POLICY} PASSIVE)

set(failures "")
macro(fail msg)
  string(APPEND failures "  ${msg}\n")
endmacro()

function(help_text out)
  execute_process(COMMAND ${ARGN} --help OUTPUT_VARIABLE text ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "`${ARGN} --help` failed (${rc}): ${err}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# Long options of a --help text, without --help itself.
function(long_options text out)
  string(REGEX MATCHALL "(^|[ ,\n])--[a-z0-9][a-z0-9-]*" found "${text}")
  set(options "")
  foreach(o IN LISTS found)
    string(REGEX REPLACE "^[ ,\n]" "" o "${o}")
    if(NOT o STREQUAL "--help")
      list(APPEND options "${o}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES options)
  set(${out} "${options}" PARENT_SCOPE)
endfunction()

set(icmil_page "${ICMIL_PAGE}")
set(studio_page "${STUDIO_PAGE}")
file(READ "${icmil_page}" icmil_roff)
file(READ "${studio_page}" studio_roff)
# roff writes a minus as \-; compare against plain text.
string(REPLACE "\\-" "-" icmil_plain "${icmil_roff}")
string(REPLACE "\\-" "-" studio_plain "${studio_roff}")
file(STRINGS "${icmil_page}" icmil_lines)
list(TRANSFORM icmil_lines REPLACE "\\\\-" "-")

# 1. icmil subcommands and their options
help_text(top "${ICMIL}")
string(REGEX MATCH "\nSubcommands:\n.*" block "${top}")
string(REGEX MATCHALL "\n  [a-z][a-z0-9-]*" subs "${block}")
list(LENGTH subs count)
if(count EQUAL 0)
  fail("`icmil --help` lists no subcommands: has its format changed? (this test parses it)")
endif()
foreach(sub IN LISTS subs)
  string(STRIP "${sub}" sub)
  # The section of this subcommand: from `.SS name` to the next .SS or .SH line.
  set(section "")
  set(inside OFF)
  foreach(line IN LISTS icmil_lines)
    if(line MATCHES "^\\.S[SH] ")
      if(line MATCHES "^\\.SS \"?${sub}(\"| |$)")
        set(inside ON)
      else()
        set(inside OFF)
      endif()
    endif()
    if(inside)
      string(APPEND section "${line}\n")
    endif()
  endforeach()
  if(section STREQUAL "")
    fail("${icmil_page}: subcommand `${sub}` (listed by `icmil --help`) has no `.SS ${sub}` section")
    continue()
  endif()
  if(NOT OPTIONS)
    continue()
  endif()
  help_text(sub_help "${ICMIL}" "${sub}")
  long_options("${sub_help}" options)
  foreach(o IN LISTS options)
    if(NOT section MATCHES "${o}([^a-z0-9-]|$)")
      fail("${icmil_page}: option `${o}` of `icmil ${sub}` is not documented in its section")
    endif()
  endforeach()
endforeach()
if(OPTIONS)
  if(NOT failures STREQUAL "")
    message(FATAL_ERROR "packaging_man_page_options failed:\n${failures}")
  endif()
  message(STATUS "icmil.1 documents every option of its ${count} subcommands")
  return()
endif()

long_options("${top}" top_options)
foreach(o IN LISTS top_options)
  if(NOT icmil_plain MATCHES "${o}([^a-z0-9-]|$)")
    fail("${icmil_page}: option `${o}` of `icmil` is not documented")
  endif()
endforeach()

# 2. icmil-studio options
help_text(studio_help "${STUDIO}")
long_options("${studio_help}" studio_options)
foreach(o IN LISTS studio_options)
  if(NOT studio_plain MATCHES "${o}([^a-z0-9-]|$)")
    fail("${studio_page}: option `${o}` of `icmil-studio` is not documented")
  endif()
endforeach()

# 3. rendering
find_program(MAN man)
find_program(GROFF groff)
foreach(page IN ITEMS "${icmil_page}" "${studio_page}")
  if(MAN)
    set(ENV{LC_ALL} C.UTF-8)
    set(ENV{MANROFFSEQ} "")
    set(ENV{MANWIDTH} 80)
    execute_process(COMMAND ${MAN} --warnings -E UTF-8 -l -Tutf8 -Z "${page}"
      OUTPUT_QUIET ERROR_VARIABLE warnings RESULT_VARIABLE rc)
  elseif(GROFF)
    execute_process(COMMAND ${GROFF} -man -ww -z -Tutf8 "${page}"
      OUTPUT_QUIET ERROR_VARIABLE warnings RESULT_VARIABLE rc)
  else()
    message(FATAL_ERROR "neither man (man-db) nor groff found: run packaging/install-deps.sh")
  endif()
  if(NOT rc EQUAL 0 OR NOT warnings STREQUAL "")
    fail("${page} does not render cleanly (rc ${rc}):\n${warnings}")
  endif()
endforeach()

# 4. metainfo release
file(READ "${METAINFO}" metainfo)
string(FIND "${metainfo}" "<release version=\"${VERSION}\"" at)
if(at EQUAL -1)
  fail("${METAINFO}: no <release version=\"${VERSION}\" date=...> entry for the project version")
endif()

if(NOT failures STREQUAL "")
  message(FATAL_ERROR "packaging_man_pages failed:\n${failures}")
endif()
message(STATUS "man pages cover ${count} icmil subcommands and render cleanly; metainfo has release ${VERSION}")
