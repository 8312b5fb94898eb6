# SPDX-License-Identifier: GPL-3.0-or-later
# With stdout not a terminal (a log file, nohup, a batch job), icmil prints flushed progress lines
# instead of the terminal's bar, so a log shows how far a run got.
# -DICMIL=<icmil> -DDIR=<scratch folder>
file(REMOVE_RECURSE "${DIR}")
set(ENV{ICMIL_PROGRESS_SECONDS} 0)
execute_process(COMMAND "${ICMIL}" synth --out "${DIR}" --slides 2 --size 2048x1536 --seed 5
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "icmil synth failed:\n${out}${err}")
endif()
if(NOT out MATCHES "progress: 1/2 +[0-9]+%" OR NOT out MATCHES "progress: 2/2 100%")
  message(FATAL_ERROR "no progress lines in the log:\n${out}")
endif()
if(err MATCHES "\r")
  message(FATAL_ERROR "a terminal's progress bar went to a log:\n${err}")
endif()
