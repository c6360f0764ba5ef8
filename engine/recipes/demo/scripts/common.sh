# Helpers sourced by every script of the demo recipe.
#
# The scripts simulate a QingCloud install inside the node's login directory,
# which is their working directory: their state goes to var/lib/qingcloud-demo/
# and the configuration to etc/qingcloud/ under it, never to the real /var or /etc.
# A lab node steers them through .lab-control/: "speed" divides every pause and
# "fail/<step>" makes a step fail (the file contains "once" or "always").

# The recipe's stage directory is the parent of this scripts directory.
SCRIPTS_DIR=$(dirname "$0")
if [ "$SCRIPTS_DIR" = . ]; then
    STAGE_DIR=..
else
    STAGE_DIR=$(dirname "$SCRIPTS_DIR")
fi
CONF_DIR=$STAGE_DIR/conf
STATE_DIR=var/lib/qingcloud-demo
CONTROL_DIR=.lab-control
PACKAGE_VERSION=20181001-1

log() {
    printf '%s\n' "$*"
}

fail() {
    printf '%s\n' "$*" >&2
    exit 1
}

usage_error() {
    printf 'usage: %s\n' "$*" >&2
    exit 2
}

# pause SECONDS: sleep SECONDS at speed 1, SECONDS / speed at another speed.
pause() {
    speed=1
    if [ -r "$CONTROL_DIR/speed" ]; then
        read -r speed < "$CONTROL_DIR/speed" || :
    fi
    seconds=$(awk -v d="$1" -v s="$speed" 'BEGIN { if (s + 0 <= 0) s = 1; printf "%.3f", d / s }')
    sleep "$seconds"
}

node_hostname() {
    if [ -r .lab-node/hostname ]; then
        read -r name < .lab-node/hostname || :
        printf '%s\n' "$name"
    else
        hostname
    fi
}

# check_injected_failure STEP: fail the way STEP would fail on a real node when
# the lab requested it. A "once" failure is removed by the run that reports it,
# a count N fails N runs, and "always" stays until it is cleared.
check_injected_failure() {
    marker=$CONTROL_DIR/fail/$1
    [ -f "$marker" ] || return 0

    mode=
    read -r mode < "$marker" || :
    case $mode in
        once) rm -f "$marker" ;;
        always) ;;
        *[!0-9]*|'') ;;
        *)
            # A count: fail that many runs, so that a step's retries fail too.
            if [ "$mode" -le 1 ]; then
                rm -f "$marker"
            else
                echo "$((mode - 1))" > "$marker.tmp" && mv "$marker.tmp" "$marker"
            fi
            mode="count $mode"
            ;;
    esac

    case $1 in
        preflight) reason="ntpdate: no server suitable for synchronization found" ;;
        distribute_config) reason="cp: cannot create regular file 'etc/qingcloud/settings.yaml': No space left on device" ;;
        install) reason="E: Sub-process /usr/bin/dpkg returned an error code (1)" ;;
        configure_network) reason="RTNETLINK answers: File exists (bridge br0)" ;;
        start_services) reason="Job for pitrix-ks-server.service failed because the control process exited with error code" ;;
        verify) reason="health check of zookeeper timed out after 30 s" ;;
        refresh_zone) reason="cannot write /etc/hosts: Read-only file system" ;;
        upgrade) reason="dpkg: error processing package pitrix-ks-server (--configure): subprocess installed post-installation script returned error exit status 1" ;;
        health_check) reason="service pitrix-ks-server did not answer on port 8443 within 60 s" ;;
        component_install) reason="E: Unable to locate package pitrix-vdi-server" ;;
        component_verify) reason="component endpoint returned HTTP 502" ;;
        *) reason="failed" ;;
    esac
    fail "$(node_hostname): step $1 failed: $reason (failure injected by the lab, mode $mode)"
}

# role_kind ROLE: print ks, vg or hyper; fail naming the accepted roles.
role_kind() {
    case $1 in
        ks-vm) echo ks ;;
        vg) echo vg ;;
        hyper | hyper-repl) echo hyper ;;
        *) fail "unknown role '$1': expected one of ks-vm, vg, hyper, hyper-repl" ;;
    esac
}

# check_sub_roles LIST: fail on a sub-role outside the catalog.
check_sub_roles() {
    for sub_role in $(split_list "$1"); do
        case $sub_role in
            seed | vbr | snapshot | vgateway | hyper) ;;
            *) fail "unknown sub-role '$sub_role': expected one of seed, vbr, snapshot, vgateway, hyper" ;;
        esac
    done
}

# split_list LIST: print a comma-separated list as words.
split_list() {
    printf '%s\n' "$1" | tr ',' ' '
}

# has_item ITEM LIST: succeed when ITEM is in the comma-separated LIST.
has_item() {
    case ",$(printf '%s' "$2" | tr -d ' ')," in
        *",$1,"*) return 0 ;;
    esac
    return 1
}

# yaml_value KEY FILE: print a top-level value of a flat YAML file; a list,
# flow or block style, is printed comma-separated.
yaml_value() {
    awk -v key="$1" '
        function unquote(v) {
            gsub(/^[ \t]+|[ \t]+$/, "", v)
            if (v ~ /^".*"$/ || v ~ /^\047.*\047$/) v = substr(v, 2, length(v) - 2)
            return v
        }
        function append(v) { if (v != "") out = out (out == "" ? "" : ",") v }
        in_list && /^[ \t]*- / { v = $0; sub(/^[ \t]*- /, "", v); append(unquote(v)); next }
        in_list { exit }
        index($0, key ":") == 1 {
            v = substr($0, length(key) + 2)
            sub(/[ \t]+#.*$/, "", v)
            gsub(/^[ \t]+|[ \t]+$/, "", v)
            if (v == "") { in_list = 1; next }
            if (v ~ /^\[.*\]$/) {
                n = split(substr(v, 2, length(v) - 2), parts, ",")
                for (i = 1; i <= n; i++) append(unquote(parts[i]))
            } else {
                out = unquote(v)
            }
            exit
        }
        END { print out }
    ' "$2"
}

# Service catalog: what a role's kind runs, then what each sub-role adds.
kind_services() {
    case $1 in
        ks) echo "zookeeper cassandra postgresql memcached pitrix-ks-server pitrix-ks-api" ;;
        vg) echo "keepalived haproxy" ;;
        hyper) echo "libvirtd lxcfs kdump netconsole" ;;
    esac
}

sub_role_services() {
    case $1 in
        seed) echo "apache2 dns ntp" ;;
        vbr) echo "openvswitch-switch pitrix-vbr" ;;
        snapshot) echo "pitrix-snapshot" ;;
        vgateway) echo "pitrix-vgateway" ;;
        hyper) echo "pitrix-hyper-agent" ;;
    esac
}

# node_services ROLE SUB_ROLES: every service the node runs once deployed.
node_services() {
    kind_services "$(role_kind "$1")"
    for sub_role in seed vbr snapshot vgateway hyper; do
        if has_item "$sub_role" "$2"; then
            sub_role_services "$sub_role"
        fi
    done
}
