#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# SIGINT and SIGTERM stop `icmil run` cleanly within a second, in any phase: on a tiny synthetic
# dataset an uninterrupted run makes the reference; then one project is stopped again and again,
# each time by the other signal, at a moment drawn (seeded) from each phase of the loop in turn,
# and each stopped run is started again, resuming where the last one stopped (the moment: when the
# run's log shows the phase, plus a random part of the first third of its duration in the
# reference run). Each stop must come
# within --limit-ms of the signal, with exit status 130, the "Cancelled; run the same command again"
# line and no temporary file left; the last run goes to the end and its project must be identical
# to the reference (timing fields aside, see crashlib.sh).
#
# Usage: stop-signals.sh --icmil PATH --work DIR [--seed S (1)] [--limit-ms MS (1000)] [--rounds R (1)]
# (R rounds: each phase is stopped in R times, by alternating signals, before the run goes on)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ICMIL="" WORK="" seed=1 limit_ms=1000 rounds=1
while [ $# -gt 0 ]; do
    case "$1" in
    --icmil) ICMIL="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --limit-ms) limit_ms="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "stop-signals.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
if [ -z "$ICMIL" ] || [ -z "$WORK" ]; then
    echo "usage: stop-signals.sh --icmil PATH --work DIR [--seed S] [--limit-ms MS] [--rounds R]" >&2
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

if ! run_timestamped ref.log "${ICMIL_RUN_ARGS[@]}"; then
    cat ref.log
    echo "stop-signals: the uninterrupted run failed"
    exit 1
fi
mv proj ref
phase_windows <ref.log >ref.phases
mapfile -t phases < <(cut -d' ' -f1 ref.phases)

RANDOM=$seed
stops=0 failures=0 worst=0 signals=(INT TERM)
for ((p = 0; p < ${#phases[@]}; p++)); do
    read -r phase from to < <(sed -n "$((p + 1))p" ref.phases)
    for ((r = 0; r < rounds; r++)); do
        signal=${signals[$((stops % 2))]}
        stops=$((stops + 1))
        # Within the first third of the phase: a resumed run may go through it faster.
        offset_ms=$(((to - from) * (RANDOM % 1000) / 3000))
        "$ICMIL" "${ICMIL_RUN_ARGS[@]}" >stopped.log 2>&1 &
        pid=$!
        wait_for_phase "$pid" stopped.log "${phases[*]:p}"
        sleep "$((offset_ms / 1000)).$(printf '%03d' $((offset_ms % 1000)))"
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            echo "stop $stops: SIG$signal in $phase: the run ended (status $?) before the signal"
            failures=$((failures + 1))
            continue
        fi
        at=$(phase_keys <stopped.log | tail -n 1)
        t0=$(now_ms)
        kill -"$signal" "$pid"
        wait "$pid"
        rc=$?
        ms=$(($(now_ms) - t0))
        [ "$ms" -gt "$worst" ] && worst=$ms
        problems=""
        [ "$rc" -eq 130 ] || problems+=" exit status $rc, not 130;"
        [ "$ms" -le "$limit_ms" ] || problems+=" over ${limit_ms} ms;"
        grep -q "^Cancelled; run the same command again" stopped.log || problems+=" no 'Cancelled; run the same command again' line;"
        left=$(leftovers proj)
        [ -z "$left" ] || problems+=" left $(echo $left);"
        echo "stop $stops: SIG$signal in ${at:-startup} ($phase + ${offset_ms} ms): stopped in ${ms} ms, status $rc${problems:+ -- FAILED:$problems}"
        if [ -n "$problems" ]; then
            failures=$((failures + 1))
            tail -n 5 stopped.log | sed 's/^/    /'
        fi
    done
done

# A batch that takes seconds (ResNet-50 on the CPU, 64 patches): the loop cannot stop between
# batches within the second, so the process does not wait for it. A fresh project is stopped in
# its first extraction, and the same command again in the same phase. Each stop as above.
declare -A heavy=([--project]=heavy [--batch-size]=64 [--calibration-patches]=0)
heavy_args=()
for ((a = 0; a < ${#ICMIL_RUN_ARGS[@]}; a++)); do
    heavy_args+=("${ICMIL_RUN_ARGS[a]}")
    if [ -n "${heavy[${ICMIL_RUN_ARGS[a]}]:-}" ]; then
        heavy_args+=("${heavy[${ICMIL_RUN_ARGS[a]}]}")
        a=$((a + 1))
    fi
done
heavy_args+=(--embedder resnet50-trunc)
rm -rf heavy
for signal in TERM INT; do
    stops=$((stops + 1))
    "$ICMIL" "${heavy_args[@]}" >heavy.log 2>&1 &
    pid=$!
    wait_for_phase "$pid" heavy.log it0-extracting
    sleep 0.5
    at=$(phase_keys <heavy.log | tail -n 1)
    t0=$(now_ms)
    kill -"$signal" "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    ms=$(($(now_ms) - t0))
    [ "$ms" -gt "$worst" ] && worst=$ms
    problems=""
    [ "$rc" -eq 130 ] || problems+=" exit status $rc, not 130;"
    [ "$ms" -le "$limit_ms" ] || problems+=" over ${limit_ms} ms;"
    grep -q "^Cancelled; run the same command again" heavy.log || problems+=" no 'Cancelled; run the same command again' line;"
    left=$(leftovers heavy)
    [ -z "$left" ] || problems+=" left $(echo $left);"
    echo "stop $stops: SIG$signal in ${at:-startup} of a ResNet-50 loop$([ "$signal" = INT ] && echo ", run again"): stopped in ${ms} ms, status $rc${problems:+ -- FAILED:$problems}"
    if [ -n "$problems" ]; then
        failures=$((failures + 1))
        tail -n 5 heavy.log | sed 's/^/    /'
    fi
done
rm -rf heavy

# The last run: to the end, resuming.
"$ICMIL" "${ICMIL_RUN_ARGS[@]}" >final.log 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "stop-signals: the final run failed with status $rc:"
    tail -n 20 final.log
    failures=$((failures + 1))
elif ! compare_projects ref proj; then
    echo "stop-signals: the resumed project differs from the uninterrupted one"
    failures=$((failures + 1))
fi
echo "stop-signals: $((stops - failures < 0 ? 0 : stops - failures))/$stops stops clean, slowest ${worst} ms (limit ${limit_ms} ms), resumed project $([ "$rc" -eq 0 ] && echo finished || echo FAILED)"
[ "$failures" -eq 0 ]
