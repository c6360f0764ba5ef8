# Step start_services: start this node's services of one phase.
# The recipe runs the phases across the zone in dependency order: seed (ks-vm
# nodes), then vg, then hyper. A fusion hyper node carries the seed, vbr and
# snapshot sub-roles itself, so its hyper phase starts those services first.
# Phases do not check each other: each one starts only its own services.
# usage: services.sh seed|vg|hyper
. "$(dirname "$0")/common.sh"

check_injected_failure start_services
[ $# -eq 1 ] || usage_error "services.sh seed|vg|hyper"
phase=$1
host=$(node_hostname)

node_conf=$CONF_DIR/node.yaml
[ -f "$node_conf" ] || fail "$host: $node_conf not found: run step distribute_config first"
role=$(yaml_value role "$node_conf")
sub_roles=$(yaml_value sub_roles "$node_conf")
kind=$(role_kind "$role") || exit 1
check_sub_roles "$sub_roles"

services=
add_kind() {
    if [ "$kind" = "$1" ]; then
        services="$services $(kind_services "$1")"
    fi
}
add_sub_role() {
    if has_item "$1" "$sub_roles"; then
        services="$services $(sub_role_services "$1")"
    fi
}

case $phase in
    seed) add_sub_role seed; add_kind ks; add_sub_role vbr; add_sub_role snapshot ;;
    vg) add_kind vg; add_sub_role vgateway ;;
    hyper)
        if [ "$kind" = hyper ]; then
            add_sub_role seed; add_sub_role vbr; add_sub_role snapshot
        fi
        add_kind hyper; add_sub_role hyper
        ;;
    *) fail "unknown service phase '$phase': expected one of seed, vg, hyper" ;;
esac

set -- $services
if [ $# -eq 0 ]; then
    log "$host has no services in phase $phase (role $role, sub-roles ${sub_roles:-none})"
    exit 0
fi

log "Starting services of phase $phase on $host (role $role): $*"
mkdir -p "$STATE_DIR/services"
for service in "$@"; do
    marker=$STATE_DIR/services/$service.started
    if [ -f "$marker" ]; then
        log "  $service.service is already running"
        continue
    fi
    log "  Starting $service.service ..."
    pause 0.3
    printf 'phase=%s\n' "$phase" > "$marker"
    log "  Started $service.service  [  OK  ]"
done
log "Phase $phase is running on $host"
