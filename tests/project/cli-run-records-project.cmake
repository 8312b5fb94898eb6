# SPDX-License-Identifier: GPL-3.0-or-later
# `icmil run --project P --slides DS` with DS outside P records DS in P/icmil-project.json, so the
# app opens P with its slides; also when the run then fails (here: a loop name it refuses).
# -DICMIL=<icmil> -DDIR=<scratch folder>
file(REMOVE_RECURSE "${DIR}")
file(MAKE_DIRECTORY "${DIR}/dataset/slides" "${DIR}/project")
file(WRITE "${DIR}/dataset/slides/s1.svs" "not a slide")
file(WRITE "${DIR}/dataset/labels.csv" "case_id,slide_id,label\nc1,s1,normal\n")
execute_process(COMMAND "${ICMIL}" run --project "${DIR}/project" --slides "${DIR}/dataset" --name "no name!"
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(rc EQUAL 0)
  message(FATAL_ERROR "icmil run accepted a bad loop name:\n${out}${err}")
endif()
if(NOT out MATCHES "slides ${DIR}/dataset, labels ${DIR}/dataset/labels.csv \\(recorded in icmil-project.json for the app\\)")
  message(FATAL_ERROR "icmil run did not say it recorded the inputs:\n${out}${err}")
endif()
file(READ "${DIR}/project/icmil-project.json" json)
string(JSON slides GET "${json}" slides)
string(JSON labels GET "${json}" labels)
if(NOT slides STREQUAL "${DIR}/dataset" OR NOT labels STREQUAL "${DIR}/dataset/labels.csv")
  message(FATAL_ERROR "icmil-project.json names slides '${slides}' and labels '${labels}'")
endif()
# The same again: nothing to record.
execute_process(COMMAND "${ICMIL}" run --project "${DIR}/project" --slides "${DIR}/dataset" --name "no name!"
                OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(out MATCHES "recorded in")
  message(FATAL_ERROR "icmil run recorded unchanged inputs again:\n${out}")
endif()
