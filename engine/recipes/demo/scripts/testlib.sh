# Helpers sourced by the demo's test scripts (testcase.sh, test_prepare.sh,
# test_clean.sh), after common.sh.
#
# The prepared test user and resources are kept in var/lib/qingcloud-demo/tests/
# under the login directory of the test runner. A lab node makes a test case or
# a preparation fail through .lab-control/test-fail/<name>, which contains
# "once", "always" or a count of runs to fail.

TEST_STATE_DIR=$STATE_DIR/tests

# test_failure_injected NAME: succeed when the lab asked this run of NAME to
# fail. A "once" request is removed by the run that consumes it, a count is
# lowered by one, and "always" stays until it is cleared.
test_failure_injected() {
    marker=$CONTROL_DIR/test-fail/$1
    [ -f "$marker" ] || return 1

    mode=
    read -r mode < "$marker" || :
    case $mode in
        once) rm -f "$marker" ;;
        always) ;;
        *[!0-9]*|'') return 1 ;;
        *)
            if [ "$mode" -le 1 ]; then
                rm -f "$marker"
            else
                echo "$((mode - 1))" > "$marker.tmp" && mv "$marker.tmp" "$marker"
            fi
            ;;
    esac
    return 0
}

# new_id PREFIX: print a QingCloud-style resource id, e.g. i-3kq9x0ab.
new_id() {
    suffix=$(LC_ALL=C tr -dc 'a-z0-9' < /dev/urandom | head -c 8)
    printf '%s-%s\n' "$1" "$suffix"
}

# now: print the time in seconds with fractions, for elapsed.
now() {
    date +%s.%N
}

# elapsed START: print the seconds since START (from now) with milliseconds.
elapsed() {
    awk -v start="$1" -v end="$(now)" 'BEGIN { printf "%.3f", end - start }'
}

# prepared_resource KIND: print the id of a prepared resource of KIND, or nothing.
prepared_resource() {
    [ -f "$TEST_STATE_DIR/resources" ] || return 0
    awk -v kind="$1" '$1 == kind { print $2; exit }' "$TEST_STATE_DIR/resources"
}
