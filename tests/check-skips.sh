#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs one test executable and fails it when it skipped something that tests/allowed-skips.txt
# does not list. A skip is a pass to CTest and to both harnesses (Qt Test's QSKIP, enginecheck's
# SKIP), so a test that skips in exactly the case it guards could never fail; this wrapper, which
# every test registered by icmil_add_qt_test and icmil_add_engine_test goes through, is the one
# place where a skip is allowed, with its reason.
#   check-skips.sh ALLOWED_FILE TEST_NAME COMMAND [ARGS...]
set -uo pipefail
allowed="$1"
name="$2"
shift 2

log=$(mktemp "${TMPDIR:-/tmp}/icmil-test-output.XXXXXX")
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Qt Test:     "SKIP   : TstFoo::bar() reason"
# enginecheck: "SKIP bar: reason"
unlisted=0
while IFS= read -r reason; do
  [ -n "$reason" ] || continue
  if ! awk -F '|' -v name="$name" -v reason="$reason" '
      /^[[:space:]]*(#|$)/ { next }
      { t = $1; r = $2; gsub(/^[[:space:]]+|[[:space:]]+$/, "", t); gsub(/^[[:space:]]+|[[:space:]]+$/, "", r) }
      t == name && r == reason { found = 1 }
      END { exit found ? 0 : 1 }' "$allowed"; then
    echo "check-skips: $name skipped \"$reason\", which $(basename "$allowed") does not allow (a skip is not a pass)"
    unlisted=1
  fi
done < <(sed -n -E -e 's/^SKIP   : [^(]+\([^)]*\) (.*)$/\1/p' -e 's/^SKIP [^:]+: (.*)$/\1/p' "$log")

if [ "$status" -ne 0 ]; then
  exit "$status"
fi
exit "$unlisted"
