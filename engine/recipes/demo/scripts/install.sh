# Step install: install the packages of ROLE and SUB_ROLES, skipping those already installed.
# usage: install.sh ROLE SUB_ROLES
. "$(dirname "$0")/common.sh"

check_injected_failure install
[ $# -eq 2 ] || usage_error "install.sh ROLE SUB_ROLES"
role=$1
sub_roles=$2
kind=$(role_kind "$role") || exit 1
check_sub_roles "$sub_roles"

kind_packages() {
    case $1 in
        ks)
            echo "pitrix-common pitrix-ks-zookeeper pitrix-ks-cassandra pitrix-ks-postgresql"
            echo "pitrix-ks-memcached pitrix-ks-server pitrix-ks-api"
            ;;
        vg) echo "pitrix-common keepalived haproxy" ;;
        hyper) echo "pitrix-common qemu-kvm libvirt-daemon-system libvirt-clients lxcfs kdump-tools" ;;
    esac
}

sub_role_packages() {
    case $1 in
        seed) echo "apache2 dnsmasq ntp pitrix-seed" ;;
        vbr) echo "openvswitch-switch pitrix-vbr" ;;
        snapshot) echo "pitrix-snapshot" ;;
        vgateway) echo "pitrix-vgateway pitrix-vgateway-agent" ;;
        hyper) echo "pitrix-hyper pitrix-hyper-agent" ;;
    esac
}

packages=$(kind_packages "$kind")
for sub_role in seed vbr snapshot vgateway hyper; do
    if has_item "$sub_role" "$sub_roles"; then
        packages="$packages $(sub_role_packages "$sub_role")"
    fi
done

package_dir=$STATE_DIR/packages
mkdir -p "$package_dir"
new=
for package in $packages; do
    if [ -f "$package_dir/$package" ]; then
        log "$package is already installed ($PACKAGE_VERSION), skipping"
    else
        new="$new $package"
    fi
done
set -- $new
total=$#

log "Reading package lists... Done"
pause 0.3
log "Building dependency tree... Done"
pause 0.2
if [ "$total" -eq 0 ]; then
    log "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded."
    exit 0
fi
log "The following NEW packages will be installed:"
log "  $*"
log "0 upgraded, $total newly installed, 0 to remove and 0 not upgraded."

done_count=0
for package in "$@"; do
    log "Selecting previously unselected package $package."
    log "Unpacking $package ($PACKAGE_VERSION) ..."
    pause 0.4
    log "Setting up $package ($PACKAGE_VERSION) ..."
    pause 0.35
    printf '%s\n' "$PACKAGE_VERSION" > "$package_dir/$package"
    done_count=$((done_count + 1))
    percent=$(awk -v d="$done_count" -v t="$total" 'BEGIN { printf "%3d%%", 100 * d / t }')
    log "Progress: [$percent] $done_count of $total packages"
done
log "Processing triggers for systemd ..."
pause 0.2
log "Installed $total packages for role $role"
