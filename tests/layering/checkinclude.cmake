# SPDX-License-Identifier: GPL-3.0-or-later
# Compiles a one-line probe, `#include "<HEADER>"`, with exactly the include directories that
# target <LAYER> compiles with (ROOTS, '|'-separated), and checks the outcome:
#   EXPECT=refused  the header must not be found (the layer may not use the header's layer);
#   EXPECT=found    the probe must compile (a control: the mechanism sees what a layer may use).
# cmake -DCOMPILER=… -DLAYER=… -DHEADER=… -DROOTS=… -DEXPECT=… -DPROBE_DIR=… -P checkinclude.cmake
string(REPLACE "|" ";" roots "${ROOTS}")
set(flags)
foreach(root IN LISTS roots)
  list(APPEND flags "-I${root}")
endforeach()
string(MAKE_C_IDENTIFIER "${LAYER}_${HEADER}" probe)
set(probe "${PROBE_DIR}/${probe}.cpp")
file(WRITE "${probe}" "#include \"${HEADER}\"\n")
execute_process(COMMAND "${COMPILER}" -std=c++20 -fsyntax-only ${flags} "${probe}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(EXPECT STREQUAL "refused")
  if(rc EQUAL 0)
    message(FATAL_ERROR "${LAYER} may not include \"${HEADER}\", but it compiles: an include root leaks")
  endif()
  if(NOT err MATCHES "${HEADER}: No such file or directory")
    message(FATAL_ERROR "the probe failed, but not for the missing header:\n${err}")
  endif()
  message(STATUS "${LAYER} cannot include \"${HEADER}\", as it should not")
else()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${LAYER} should be able to include \"${HEADER}\":\n${err}")
  endif()
  message(STATUS "${LAYER} includes \"${HEADER}\"")
endif()
