# Step preflight: check that this node can take ROLE with SUB_ROLES.
# usage: preflight.sh ROLE SUB_ROLES
. "$(dirname "$0")/common.sh"

check_injected_failure preflight
[ $# -eq 2 ] || usage_error "preflight.sh ROLE SUB_ROLES"
role=$1
sub_roles=$2
kind=$(role_kind "$role") || exit 1
check_sub_roles "$sub_roles"
host=$(node_hostname)

log "Preflight of $host for role $role (sub-roles: ${sub_roles:-none})"
pause 0.3
log "  kernel: $(uname -sr)"
if [ -r /etc/os-release ]; then
    os=$(. /etc/os-release && printf '%s' "$PRETTY_NAME")
    log "  operating system: $os"
fi
pause 0.3

cpuinfo=/proc/cpuinfo
if [ -r .lab-node/cpuinfo ]; then
    cpuinfo=.lab-node/cpuinfo
fi
if grep -qwE 'vmx|svm' "$cpuinfo"; then
    log "  CPU virtualisation: available"
elif [ "$kind" = hyper ]; then
    fail "$host: role $role runs virtual machines but the CPU has no virtualisation (vmx or svm flag missing in $cpuinfo)"
else
    log "  CPU virtualisation: not available (not needed by role $role)"
fi
pause 0.4

log "  checking required commands: awk sed grep tar gzip"
for command in awk sed grep tar gzip; do
    command -v "$command" > /dev/null || fail "$host: required command '$command' not found in PATH"
done
pause 0.4
log "  checking time synchronisation ... offset within 30 s"
pause 0.5
log "  checking apt sources ... qingcloud-$PACKAGE_VERSION reachable"
pause 0.5

mkdir -p "$STATE_DIR"
printf 'role=%s\nsub_roles=%s\n' "$role" "$sub_roles" > "$STATE_DIR/preflight"
log "Preflight of $host passed"
