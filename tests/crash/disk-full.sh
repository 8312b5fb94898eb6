#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A full disk stops `icmil run` cleanly: on a tiny synthetic dataset, an uninterrupted run makes
# the reference; then the project is given too little space for it, at sizes that run out in
# different phases: by default tiling, extraction and iteration 1's training (by hand, more:
# --sizes "100 300 560 580 600 900 1600 1700 1800").
# Each run must exit with status 1 and one "error: " line naming the file it could not write
# ("No space left on device", or "File too large" under the file size limit), leave no
# temporary file, and leave the project readable: with space again, the same command resumes
# and its project is identical to the reference (timing fields aside, see crashlib.sh).
#
# The space: a tmpfs of that size mounted on the project folder (in a private mount namespace
# when unshare works, so nothing stays mounted). Where mounting is refused (no CAP_SYS_ADMIN), a
# file size limit instead (ulimit -f, as tests/slide's writeFailureLeavesNoFiles does): then the
# first file over the limit fails, with EFBIG, and the sizes are the limits (default "4 100":
# the tissue outlines, the calibrated embedder).
#
# Usage: disk-full.sh --icmil PATH --work DIR [--sizes "K1 K2 ..." (KiB)] [--mode tmpfs|fsize]
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ICMIL="" WORK="" sizes="" mode=""
while [ $# -gt 0 ]; do
    case "$1" in
    --icmil) ICMIL="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --sizes) sizes="$2"; shift 2 ;;
    --mode) mode="$2"; shift 2 ;;
    --inner) inner=1; shift ;;
    *) echo "disk-full.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
if [ -z "$ICMIL" ] || [ -z "$WORK" ]; then
    echo "usage: disk-full.sh --icmil PATH --work DIR [--sizes \"K1 K2 ...\"] [--mode tmpfs|fsize]" >&2
    exit 2
fi
ICMIL="$(cd "$(dirname "$ICMIL")" && pwd)/$(basename "$ICMIL")"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"

# tmpfs in a private mount namespace: this script again, inside `unshare --mount`.
if [ -z "${inner:-}" ] && [ "$mode" != fsize ] && unshare --mount --propagation private true 2>/dev/null; then
    exec unshare --mount --propagation private bash "$0" --icmil "$ICMIL" --work "$WORK" ${sizes:+--sizes "$sizes"} --mode tmpfs --inner
fi
# shellcheck source=crashlib.sh
source "$here/crashlib.sh"
cd "$WORK" || exit 2
mountpoint -q proj 2>/dev/null && umount proj
rm -rf proj ref
make_dataset || exit 1

if [ -z "$mode" ] || [ "$mode" = tmpfs ]; then
    mkdir -p proj
    if mount -t tmpfs -o size=64k tmpfs proj 2>/dev/null; then
        umount proj
        mode=tmpfs
        # Without a private namespace, nothing may stay mounted.
        [ -n "${inner:-}" ] || trap 'mountpoint -q "$WORK/proj" && umount "$WORK/proj"' EXIT
    elif [ "$mode" = tmpfs ]; then
        echo "disk-full: cannot mount a tmpfs here"
        exit 1
    else
        mode=fsize fallback=": no tmpfs can be mounted here"
    fi
    rmdir proj
fi
# The sizes (KiB): a tmpfs counts every file and folder in pages; a file size limit each file.
if [ -z "$sizes" ]; then
    [ "$mode" = tmpfs ] && sizes="100 580 1700" || sizes="4 100"
fi

if ! "$ICMIL" "${ICMIL_RUN_ARGS[@]}" >ref.log 2>&1; then
    cat ref.log
    echo "disk-full: the uninterrupted run failed"
    exit 1
fi
mv proj ref
echo "disk-full: out of space by $([ "$mode" = tmpfs ] && echo "a tmpfs on the project" || echo "a file size limit (ulimit -f, EFBIG)${fallback:-}")"

runs=0 passed=0
for size in $sizes; do
    runs=$((runs + 1))
    mkdir -p proj
    if [ "$mode" = tmpfs ]; then
        mount -t tmpfs -o size="${size}k" tmpfs proj || { echo "disk-full: mount failed"; exit 1; }
        "$ICMIL" "${ICMIL_RUN_ARGS[@]}" >full.log 2>&1
        rc=$?
    else
        # ulimit -f counts 1024-byte blocks in bash; SIGXFSZ ignored (across exec), a write over
        # the limit fails with EFBIG instead of killing the process.
        (trap '' XFSZ && ulimit -f "$size" && exec "$ICMIL" "${ICMIL_RUN_ARGS[@]}") >full.log 2>&1
        rc=$?
    fi
    problems=""
    errors=$(grep -c '^error: ' full.log)
    message=$(grep '^error: ' full.log | head -n 1)
    [ "$rc" -eq 1 ] || problems+=" exit status $rc, not 1;"
    [ "$errors" -eq 1 ] || problems+=" $errors 'error:' lines, not 1;"
    [[ "$message" =~ ^error:\ Cannot\ write\ .*\'proj/[^\']+\':\ (No\ space\ left\ on\ device|File\ too\ large)$ ]] ||
        problems+=" the error does not name a project file and the cause;"
    grep -q "^Leaving out" full.log && problems+=" slides left out for want of space;"
    left=$(leftovers proj)
    [ -z "$left" ] || problems+=" left $(echo $left);"
    # Space again: the same command resumes, to the reference's outputs.
    if [ "$mode" = tmpfs ]; then
        mount -o remount,size=64m proj || { echo "disk-full: remount failed"; exit 1; }
    fi
    "$ICMIL" "${ICMIL_RUN_ARGS[@]}" >resumed.log 2>&1
    rc=$?
    resumed=$(grep -o "Resuming the ICMIL loop.*" resumed.log || echo "no phase had finished: ran from the start")
    [ "$rc" -eq 0 ] || problems+=" the rerun with space failed (status $rc: $(grep '^error: ' resumed.log));"
    if [ "$rc" -eq 0 ] && ! compare_projects ref proj >compare.txt; then
        problems+=" the resumed project differs from the reference: $(tr '\n' ' ' <compare.txt);"
    fi
    echo "${size} KiB: ${message#error: }; rerun: $resumed${problems:+ -- FAILED:$problems}"
    [ -z "$problems" ] && passed=$((passed + 1))
    [ "$mode" = tmpfs ] && umount proj
    rm -rf proj
done
echo "disk-full: $passed/$runs passed"
[ "$passed" -eq "$runs" ]
