# Step verify: check that every service of ROLE and SUB_ROLES runs on this node.
# usage: verify.sh ROLE SUB_ROLES
. "$(dirname "$0")/common.sh"

check_injected_failure verify
[ $# -eq 2 ] || usage_error "verify.sh ROLE SUB_ROLES"
role=$1
sub_roles=$2
role_kind "$role" > /dev/null || exit 1
check_sub_roles "$sub_roles"
host=$(node_hostname)

services=$(node_services "$role" "$sub_roles")
log "Verifying services of $host (role $role, sub-roles ${sub_roles:-none})"
missing=
count=0
for service in $services; do
    pause 0.15
    count=$((count + 1))
    if [ -f "$STATE_DIR/services/$service.started" ]; then
        log "  $service: Normal"
    else
        log "  $service: Abnormal (not running)"
        missing="${missing:+$missing, }$service"
    fi
done

if [ -n "$missing" ]; then
    fail "$host: verify failed, services not running: $missing"
fi
log "All $count services of $host are Normal"
