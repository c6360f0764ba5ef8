# Step configure_network: bond the NICs, bridge the management network and, on
# hyper nodes, prepare the VBC network.
# usage: network.sh ROLE MGMT_IP
. "$(dirname "$0")/common.sh"

check_injected_failure configure_network
[ $# -eq 2 ] || usage_error "network.sh ROLE MGMT_IP"
role=$1
mgmt_ip=$2
kind=$(role_kind "$role") || exit 1
host=$(node_hostname)
case $mgmt_ip in
    *.*.*.* | *:*) ;;
    *) fail "$host: invalid management address '$mgmt_ip': expected an IPv4 or IPv6 address" ;;
esac

log "Configuring networks of $host (role $role, management address $mgmt_ip)"
pause 0.4
log "  bond0: mode 802.3ad, slaves eth0 eth1, miimon 100"
pause 0.4
log "  br0: bridge on bond0, address $mgmt_ip/24"
pause 0.4
interfaces="bond0 br0"
case $kind in
    vg)
        log "  br-pub: bridge for elastic IPs on bond0.100"
        pause 0.3
        interfaces="$interfaces br-pub"
        ;;
    hyper)
        log "  br-vbc: bridge for the VBC network, vxlan local $mgmt_ip"
        pause 0.3
        log "  VBC: forwarding enabled, return route to be added on the management gateway via $mgmt_ip"
        pause 0.3
        interfaces="$interfaces br-vbc"
        ;;
esac
log "  ifup $interfaces ... done"
pause 0.5

# Rewritten on every run, so a second run leaves the same file.
mkdir -p "$STATE_DIR/network"
{
    printf 'role=%s\n' "$role"
    printf 'mgmt_ip=%s\n' "$mgmt_ip"
    printf 'interfaces=%s\n' "$interfaces"
} > "$STATE_DIR/network/interfaces"
log "Networks of $host are up"
