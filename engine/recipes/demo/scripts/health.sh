# Step upgrade_nodes, after each node: check that the node runs VERSION and that
# every service of its role runs. The upgrade of the next node waits for this.
# Every line starts with the node's UTC time, as upgrade.sh writes them.
# usage: health.sh ROLE SUB_ROLES VERSION
. "$(dirname "$0")/common.sh"

[ $# -eq 3 ] || usage_error "health.sh ROLE SUB_ROLES VERSION"
role=$1
sub_roles=$2
version=$3
role_kind "$role" > /dev/null || exit 1
check_sub_roles "$sub_roles"
host=$(node_hostname)

stamp() {
    log "$(date -u '+%Y-%m-%d %H:%M:%S.%3N') $*"
}

stamp "health check of $host (role $role)"
if [ -f "$CONTROL_DIR/fail/health_check" ]; then
    stamp "  zookeeper: Abnormal (no answer on port 2181 within 10 s)"
fi
check_injected_failure health_check

release=
if [ -r "$STATE_DIR/release" ]; then
    read -r release < "$STATE_DIR/release" || :
fi
[ "$release" = "$version" ] || fail "$host: runs release '${release:-unknown}', expected $version"
stamp "  release: $release"

missing=
count=0
for service in $(node_services "$role" "$sub_roles"); do
    pause 0.05
    count=$((count + 1))
    if [ -f "$STATE_DIR/services/$service.started" ]; then
        stamp "  $service: Normal"
    else
        stamp "  $service: Abnormal (not running)"
        missing="${missing:+$missing, }$service"
    fi
done
[ -z "$missing" ] || fail "$host: health check failed, services not running: $missing"
stamp "$host is healthy: $count services Normal at $version"
