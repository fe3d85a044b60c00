#!/usr/bin/env bash
# Runs every test: workflowcheck on the workflow code, then `go test` on all
# packages against a private PostgreSQL cluster (fsync off) that this script
# starts and stops. Extra arguments go to `go test -tags e2e` (default: every
# package and, beside them, the end-to-end tests as their own step).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PARCOURS_TEST_PG_PORT:-54339}"
# Under /tmp: the postgres user must reach it, whatever the clone's path.
DIR="${PARCOURS_TEST_PG_DIR:-/tmp/parcours-test-$PORT/postgres}"
BIN="$PWD/bin/parcours"

echo "== workflowcheck ./workflows/..."
bin/workflowcheck ./workflows/...

echo "== PostgreSQL for the tests (127.0.0.1:$PORT, $DIR)"
URL=$(PARCOURS_LOG_LEVEL=warn "$BIN" postgres start --dir "$DIR" --port "$PORT" --fsync-off)
trap 'PARCOURS_LOG_LEVEL=warn "$BIN" postgres stop --dir "$DIR" --port "$PORT" || true' EXIT

export PARCOURS_TEST_DATABASE_URL="$URL"
export PARCOURS_BIN="$BIN"
# The server's log, for the tests that check it holds no personal data.
export PARCOURS_TEST_PG_LOG="$DIR/postgres.log"
if [ -n "${RECORD_HISTORY:-}" ]; then
  export PARCOURS_RECORD_HISTORY="$RECORD_HISTORY"
fi

# The end-to-end tests (internal/e2e, build tag e2e) drive the real binary:
# they run as their own step, beside the other packages.
if [ $# -eq 0 ]; then
  # The two tiers run side by side: the end-to-end tests mostly wait (a
  # burst's instant, PostgreSQL held down, a process killed and its tasks
  # taken over), the others mostly compute. Each line says its tier; a
  # tier's time is printed when it ends; the script fails if either does.
  echo "== go test (unit, store, workflow, HTTP tiers: \"unit |\") and, beside it,"
  echo "   go test -tags e2e ./internal/e2e/ (the real binary: \"e2e |\")"
  tiers=$(mktemp -d)
  # Stopped (Ctrl-C, a CI timeout): the tiers too, before PostgreSQL.
  trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tiers"; PARCOURS_LOG_LEVEL=warn "$BIN" postgres stop --dir "$DIR" --port "$PORT" || true' EXIT
  tier() { # name, then go test's arguments
    local name=$1 start=$SECONDS rc=0
    shift
    go test "$@" 2>&1 | sed -u "s/^/$name | /" || rc=$?
    echo "$name | $((SECONDS - start)) s"
    echo "$rc" > "$tiers/$name"
  }
  # Many tests wait on clocks (an outage, a refused write, a burst's
  # instant) more than they compute: 4 at a time per package, not
  # GOMAXPROCS (2 here), keeps the machine busy without overloading it.
  tier unit -count=1 -timeout 30m -parallel 4 ./... &
  tier e2e -tags e2e -count=1 -timeout 40m -parallel 4 ./internal/e2e/ &
  wait
  for name in unit e2e; do
    if [ "$(cat "$tiers/$name")" != 0 ]; then
      echo "== the $name tier failed (lines \"$name | …\" above)"
      exit 1
    fi
  done
  # The fuzz tests, briefly (their seed corpus already ran above);
  # minimizing a new input is capped, or it takes the whole time. Budgets
  # are counts of executions, not durations: a duration's deadline races
  # the fuzzing workers on a loaded machine and fails a target with a bare
  # « context deadline exceeded » (go.dev/issue/75804, fixed in Go 1.27).
  # PARCOURS_FUZZTIME (10s, 5000x…) sets one budget for every target.
  echo "== fuzz (${PARCOURS_FUZZTIME:-a few seconds} each)"
  for target in FuzzReadFlux:10000x FuzzReadCSV:2500x; do
    go test -run '^$' -fuzz "^${target%%:*}\$" -fuzztime "${PARCOURS_FUZZTIME:-${target#*:}}" -fuzzminimizetime 50x ./internal/importer/
  done
  # The API's write endpoints: arbitrary bodies, 4xx in French, never a 5xx.
  go test -run '^$' -fuzz '^FuzzWriteEndpoints$' -fuzztime "${PARCOURS_FUZZTIME:-300x}" -fuzzminimizetime 50x ./internal/httpapi/
else
  echo "== go test $*"
  go test -tags e2e -count=1 -timeout 30m "$@"
fi
