#!/usr/bin/env bash
# Run `make test` several times in a row, each time in a fresh clone of the current commit,
# optionally with a second fresh clone running `make test` beside it. This is how the suite
# is shown to be free of flaky tests under load, and to share no port, folder or account
# between two runs on one machine. Not part of `make test` (it runs the suite many times).
#
#   scripts/soak_tests.sh              three runs, one after the other, nothing beside them
#   scripts/soak_tests.sh --beside 3   three runs, each with a second clone's `make test` beside it
#
# Logs go to build/soak/<time>/; the script prints one line per run and exits non-zero when
# any run (the one beside included) failed.
set -euo pipefail

beside=0
if [[ "${1:-}" == "--beside" ]]; then
    beside=1
    shift
fi
runs="${1:-3}"
repo="$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)"
commit="$(git -C "$repo" rev-parse --short HEAD)"
logs="$repo/build/soak/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$logs"
work="$(mktemp -d /tmp/soak-XXXXXX)"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM  # so that the clean-up above runs when the script is stopped

# One fresh clone's `make test`; prints "<exit code> <seconds> <pytest's last line>".
run_in_fresh_clone() {
    local name="$1" dir="$work/$1" start status
    git clone --quiet "$repo" "$dir"
    git -C "$dir" checkout --quiet "$commit"
    start=$(date +%s)
    set +e
    # Each run builds the class server's environment of its own (the hub tests' accounts
    # run it), so that two runs side by side never reinstall the course under each other.
    (cd "$dir" && CI=true make test HUB_ENV="/opt/samskaping-kurs/soak-$name") > "$logs/$name.log" 2>&1 < /dev/null
    status=$?
    set -e
    rm -rf "/opt/samskaping-kurs/soak-$name" "/opt/samskaping-kurs/soak-$name"-*
    echo "$status $(( $(date +%s) - start )) $(grep -E '(passed|failed)' "$logs/$name.log" | tail -n 1)"
    rm -rf "$dir"
}

echo "Commit $commit, $runs runs$([[ $beside == 1 ]] && echo ", each with a second make test beside it"); logs in $logs"
failed=0
for i in $(seq 1 "$runs"); do
    if [[ $beside == 1 ]]; then
        run_in_fresh_clone "run$i-beside" > "$work/beside.out" &
        other=$!
    fi
    result="$(run_in_fresh_clone "run$i")"
    echo "run $i: exit ${result%% *}, $(echo "$result" | cut -d' ' -f2) s: $(echo "$result" | cut -d' ' -f3-)"
    [[ "${result%% *}" == 0 ]] || failed=1
    if [[ $beside == 1 ]]; then
        wait "$other"
        result="$(cat "$work/beside.out")"
        echo "run $i beside: exit ${result%% *}, $(echo "$result" | cut -d' ' -f2) s: $(echo "$result" | cut -d' ' -f3-)"
        [[ "${result%% *}" == 0 ]] || failed=1
    fi
done
exit "$failed"
