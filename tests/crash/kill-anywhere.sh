#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Kill-anywhere test of `icmil run`: on a tiny synthetic dataset, an uninterrupted run makes the
# reference outputs; then, K times, the same command is killed with SIGKILL at a moment drawn
# (seeded) from one of the loop's phases, and run again to completion. Each time the project must
# end up byte-identical to the reference (timing fields aside, see crashlib.sh) with no
# temporary or half-written file left.
#
# The moments: the phases seen in the reference's progress log (it0-calibrating, it0-extracting,
# it0-training, it1-fine-tuning, it1-extracting, it1-training) share the K kills evenly, in order;
# a kill waits until the run's log shows its phase (the first phase: from the start, so startup
# is in it) and then a random fraction of that phase's duration in the reference run.
#
# Usage: kill-anywhere.sh --icmil PATH --work DIR [--kills K (20)] [--seed S (1)]
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ICMIL="" WORK="" kills=20 seed=1
while [ $# -gt 0 ]; do
    case "$1" in
    --icmil) ICMIL="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --kills) kills="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) echo "kill-anywhere.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
if [ -z "$ICMIL" ] || [ -z "$WORK" ]; then
    echo "usage: kill-anywhere.sh --icmil PATH --work DIR [--kills K] [--seed S]" >&2
    exit 2
fi
ICMIL="$(cd "$(dirname "$ICMIL")" && pwd)/$(basename "$ICMIL")"
# shellcheck source=crashlib.sh
source "$here/crashlib.sh"

mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
cd "$WORK" || exit 2
rm -rf proj ref
make_dataset || exit 1
started=$(now_ms)

# The reference.
t0=$(now_ms)
if ! run_timestamped ref.log "${ICMIL_RUN_ARGS[@]}"; then
    cat ref.log
    echo "kill-anywhere: the uninterrupted run failed"
    exit 1
fi
reference_ms=$(($(now_ms) - t0))
mv proj ref
phase_windows <ref.log >ref.phases
mapfile -t phases < <(cut -d' ' -f1 ref.phases)
echo "kill-anywhere: reference run ${reference_ms} ms; phases (ms from the start): $(awk '{printf "%s %d-%d; ", $1, $2, $3}' ref.phases)"
echo "kill-anywhere: compared byte for byte: every file and folder of the project; timings blanked in $NORMALISED_FILES"

RANDOM=$seed
passed=0 killed=0
for ((i = 0; i < kills; i++)); do
    p=$((i * ${#phases[@]} / kills))
    read -r phase from to < <(sed -n "$((p + 1))p" ref.phases)
    [ "$p" -eq 0 ] && from=0
    offset_ms=$(((to - from) * (RANDOM % 1000) / 1000))
    # The last phase ends the run: its first two thirds, so that a faster run is still in it.
    [ "$p" -eq $((${#phases[@]} - 1)) ] && offset_ms=$((offset_ms * 2 / 3))
    rm -rf proj
    "$ICMIL" "${ICMIL_RUN_ARGS[@]}" >killed.log 2>&1 &
    pid=$!
    # Until the log shows the phase (or a later one), then the offset into it.
    [ "$p" -gt 0 ] && wait_for_phase "$pid" killed.log "${phases[*]:p}"
    sleep "$((offset_ms / 1000)).$(printf '%03d' $((offset_ms % 1000)))"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    at=$(phase_keys <killed.log | tail -n 1)
    if [ "$rc" -eq 137 ]; then
        what="killed in ${at:-startup}"
        killed=$((killed + 1))
    else
        what="not killed: it ended first with status $rc"
    fi
    # The same command again, to the end.
    "$ICMIL" "${ICMIL_RUN_ARGS[@]}" >resumed.log 2>&1
    rc=$?
    if grep -q "^Resuming the ICMIL loop" resumed.log; then
        resumed=$(grep -o "Resuming the ICMIL loop.*" resumed.log)
    elif grep -q "^it 0 .* done$" killed.log; then # the state says every phase is done
        resumed="every phase had finished: nothing to redo"
    else
        resumed="no phase had finished: ran from the start"
    fi
    echo "kill $((i + 1))/$kills: $phase + ${offset_ms} ms: $what; rerun: $resumed"
    if [ "$rc" -ne 0 ]; then
        echo "  the rerun failed with status $rc:"
        tail -n 20 resumed.log | sed 's/^/    /'
        cp killed.log "kill-$((i + 1))-killed.log"
        continue
    fi
    if compare_projects ref proj; then
        passed=$((passed + 1))
    else
        cp killed.log "kill-$((i + 1))-killed.log"
        cp resumed.log "kill-$((i + 1))-resumed.log"
        rm -rf "kill-$((i + 1))-proj" && cp -a proj "kill-$((i + 1))-proj"
    fi
done
rm -rf proj
echo "kill-anywhere: $passed/$kills passed ($killed of them killed mid-run, the others ended before their moment) in $((($(now_ms) - started) / 1000)) s (seed $seed)"
[ "$passed" -eq "$kills" ] && [ "$killed" -gt 0 ]
