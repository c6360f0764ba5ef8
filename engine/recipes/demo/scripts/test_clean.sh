# Delete the shared test resources and whatever test instances are left on the
# platform. The test user stays, so that later runs can use it again.
# usage: test_clean.sh
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/testlib.sh"

[ $# -eq 0 ] || usage_error "test_clean.sh"
host=$(node_hostname)

log "cleaning test resources from [$host]"
pause 0.5
if test_failure_injected clean_resources; then
    fail "$host: delete eip failed: eip is still associated with an instance that could not be stopped (failure injected by the lab)"
fi

leftovers=0
if [ -f "$TEST_STATE_DIR/leftovers" ]; then
    while read -r id; do
        [ -n "$id" ] || continue
        pause 0.5
        log "terminated leftover test instance [$id]"
        leftovers=$((leftovers + 1))
    done < "$TEST_STATE_DIR/leftovers"
    rm -f "$TEST_STATE_DIR/leftovers"
fi

deleted=0
if [ -f "$TEST_STATE_DIR/resources" ]; then
    # Delete in reverse order of creation: the image and EIP before the network they use.
    for kind in image eip security_group keypair vxnet; do
        id=$(prepared_resource "$kind")
        [ -n "$id" ] || continue
        pause 0.5
        log "deleted $kind [$id]"
        deleted=$((deleted + 1))
    done
    rm -f "$TEST_STATE_DIR/resources"
fi

if [ $((leftovers + deleted)) -eq 0 ]; then
    log "nothing to clean: no test resources are left"
else
    log "cleaned $deleted test resources and $leftovers leftover instances"
fi
