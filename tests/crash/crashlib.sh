# SPDX-License-Identifier: GPL-3.0-or-later
# Shared by the crash-safety scripts in this folder (sourced, not run): a tiny synthetic dataset,
# the `icmil run` command on it, the loop's phases in a progress log, and the comparison of a
# project with a reference one.

# ICMIL (the icmil binary) and WORK (a scratch folder, made here) must be set by the caller.
export ICMIL_PROGRESS_SECONDS=0 # a progress line per update, flushed: the scripts follow the phases
export OMP_WAIT_POLICY=PASSIVE  # no spinning threads: the machine is shared with the other tests

# The dataset: 6 small synthetic slides (2 train, 2 val, 2 test), made once per WORK.
make_dataset()
{
    if [ ! -f "$WORK/ds/labels.csv" ]; then
        "$ICMIL" synth --out "$WORK/ds" --slides 6 --size 2048x1536 --seed 3 --threads 1 >"$WORK/synth.log" 2>&1 || {
            cat "$WORK/synth.log" >&2
            echo "icmil synth failed" >&2
            return 1
        }
    fi
}

# The loop on the tiniest settings that still go through every phase: batch-norm calibration,
# tiling and extraction, classifier training and prediction, fine-tuning, re-extraction,
# retraining. Runs in "$WORK" on the project "proj" (relative: the paths recorded are the same in
# every run).
ICMIL_RUN_ARGS=(run --project proj --slides ds --iterations 1 --device cpu --level 0 --patch-size 256 --preset bwh_biopsy
    --batch-size 32 --readers 2 --embed-dim 32 --attention-dim 16 --lr 1e-3 --epochs 10 --finetune-epochs 2
    --finetune-patches 96 --finetune-batch 16 --finetune-val-max 16 --calibration-patches 64 --embedder-seed 7 --seed 1)

# The phase a line of `icmil run`'s log belongs to ("it0-extracting", "it1-fine-tuning", ...), in
# $phase, empty for a line that names none; the "... done" line ends its phase.
phase_of()
{
    phase=""
    local re='it ([0-9]+) (calibrating|extracting|training|fine-tuning|classifier epoch|fine-tune epoch|calibrate done|extract done|train done|finetune done)'
    [[ "$1" =~ $re ]] || return 0
    case "${BASH_REMATCH[2]}" in
    calibrat*) phase="it${BASH_REMATCH[1]}-calibrating" ;;
    extract*) phase="it${BASH_REMATCH[1]}-extracting" ;;
    fine*) phase="it${BASH_REMATCH[1]}-fine-tuning" ;;
    *) phase="it${BASH_REMATCH[1]}-training" ;;
    esac
}

# The phases of a log's lines (stdin), one per line that names one.
phase_keys()
{
    local line phase
    while IFS= read -r line; do
        phase_of "$line"
        [ -n "$phase" ] && echo "$phase"
    done
    return 0
}

# Runs `icmil` with the arguments given, its output (stdout and stderr) in the file $1 with each
# line preceded by the milliseconds since the start. Returns icmil's status.
run_timestamped()
{
    local out="$1" start line
    shift
    start=$(now_ms)
    "$ICMIL" "$@" 2>&1 | while IFS= read -r line; do
        echo "$(($(now_ms) - start)) $line"
    done >"$out"
    return "${PIPESTATUS[0]}"
}

# The phases of a timestamped log (run_timestamped) as lines "PHASE START_MS END_MS", in order:
# a phase runs from its first line to the first line of the next (the first from 0, the last to
# its own last line, the "... done" that ends the loop).
phase_windows()
{
    local ms line phase current="" first=0 last=0
    while read -r ms line; do
        phase_of "$line"
        [ -n "$phase" ] || continue
        if [ "$phase" != "$current" ]; then
            [ -n "$current" ] && echo "$current $first $ms"
            [ -n "$current" ] && first=$ms
            current=$phase
        fi
        last=$ms
    done
    [ -n "$current" ] && echo "$current $first $last"
    return 0
}

# Waits until the log $2 of the process $1 has a line of one of the phases $3 (a space-separated
# list), or the process ends.
wait_for_phase()
{
    local line phase
    while IFS= read -r line; do
        phase_of "$line"
        [ -n "$phase" ] && [[ " $3 " == *" $phase "* ]] && return 0
    done < <(tail -n +1 -s 0.01 -f --pid="$1" "$2" 2>/dev/null)
    return 0
}

# Files whose content holds timings (seconds, patches per second) print with those fields blanked;
# every other file prints as it is. Nothing else in a loop's outputs may differ between runs: the
# loop is deterministic for a fixed seed on the CPU.
normalised()
{
    case "$(basename "$1")" in
    state.json | training_log.json)
        sed -E 's/"(seconds|patches_per_second)": [-+0-9.eE]+/"\1": T/' "$1" ;;
    iterations.csv | training_log.csv)
        awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) t[i] = ($i ~ /seconds$/) } { s = ""; for (i = 1; i <= NF; i++) s = s (i > 1 ? "," : "") (t[i] ? "T" : $i); print s }' "$1" ;;
    *) cat "$1" ;;
    esac
}
NORMALISED_FILES="state.json, training_log.json (\"seconds\", \"patches_per_second\"); iterations.csv, training_log.csv (*seconds columns)"

# Temporary or half-written files of any writer in the project.
leftovers()
{
    [ -d "$1" ] || return 0
    find "$1" \( -name '*.partial' -o -name '*.tmp' -o -name '*.part' -o -name '*~' -o -name '.#*' \) -print
}

# Compares project $2 with reference $1: the same folders and files, each byte-identical (timings
# aside, see `normalised`). Prints the differences; returns non-zero when there are any.
compare_projects()
{
    local ref="$1" got="$2" bad=0 f
    if ! diff <(cd "$ref" && find . | LC_ALL=C sort) <(cd "$got" && find . | LC_ALL=C sort) >"$WORK/tree.diff"; then
        echo "  the files differ from the reference's:"
        sed 's/^/    /' "$WORK/tree.diff"
        bad=1
    fi
    while IFS= read -r f; do
        [ -f "$got/$f" ] || continue
        if ! cmp -s <(normalised "$ref/$f") <(normalised "$got/$f"); then
            echo "  differs from the reference: $f"
            bad=1
        fi
    done < <(cd "$ref" && find . -type f | LC_ALL=C sort)
    local left
    left=$(leftovers "$got")
    if [ -n "$left" ]; then
        echo "  temporary files left:"
        echo "$left" | sed 's/^/    /'
        bad=1
    fi
    return $bad
}

# Milliseconds since the epoch.
now_ms()
{
    local us=${EPOCHREALTIME/[.,]/}
    echo $((10#$us / 1000))
}
