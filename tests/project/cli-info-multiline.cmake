# SPDX-License-Identifier: GPL-3.0-or-later
# `icmil info` lists a slide's properties one per line; a value of several lines (Aperio's
# ImageDescription) continues indented under its value, never at the left margin where it would
# read as another key.
# -DICMIL=<icmil> -DDIR=<scratch folder>
file(REMOVE_RECURSE "${DIR}")
execute_process(COMMAND "${ICMIL}" synth --out "${DIR}" --slides 1 --size 2048x1536 --seed 3
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "icmil synth failed:\n${out}${err}")
endif()
file(GLOB slides "${DIR}/slides/*.svs")
list(GET slides 0 slide)
execute_process(COMMAND "${ICMIL}" info "${slide}" OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "icmil info failed:\n${out}${err}")
endif()
set(key "  tiff.ImageDescription = ")
string(LENGTH "${key}" width)
string(REPEAT " " ${width} indent)
if(NOT out MATCHES "\n${key}Aperio Image Library v10.0.50\n${indent}2048x1536 \\[0,0 2048x1536\\]")
  message(FATAL_ERROR "the ImageDescription's second line is not indented under its value:\n${out}")
endif()
if(out MATCHES "\r")
  message(FATAL_ERROR "a carriage return from the property went to the output:\n${out}")
endif()
