# Step upgrade_nodes: upgrade this node's QingCloud packages to VERSION from PACKAGE.
# The engine copied PACKAGE and PACKAGE.sha256 to the stage's packages directory
# first. The node's services stop for the upgrade and start again at its end.
# A node already at VERSION is left alone, so a re-run after a failure is safe.
# Every line starts with the node's UTC time, so the job log shows when each node
# was being upgraded.
# usage: upgrade.sh ROLE SUB_ROLES PACKAGE VERSION INSTALLED_VERSION
. "$(dirname "$0")/common.sh"

[ $# -eq 5 ] || usage_error "upgrade.sh ROLE SUB_ROLES PACKAGE VERSION INSTALLED_VERSION"
role=$1
sub_roles=$2
package=$3
version=$4
installed=$5
role_kind "$role" > /dev/null || exit 1
check_sub_roles "$sub_roles"
host=$(node_hostname)

stamp() {
    log "$(date -u '+%Y-%m-%d %H:%M:%S.%3N') $*"
}

# The release file exists once a node has been upgraded; before that the node
# runs the version the platform was deployed with.
release_file=$STATE_DIR/release
current=$installed
if [ -r "$release_file" ]; then
    read -r current < "$release_file" || :
fi
stamp "upgrading $host (role $role) from $current to $version with $package"
if [ "$current" = "$version" ]; then
    stamp "$host is already at $version, nothing to do"
    exit 0
fi

package_dir=$STAGE_DIR/packages
[ -f "$package_dir/$package" ] || fail "$host: $package_dir/$package not found: run step distribute_package first"
if ! (cd "$package_dir" && sha256sum -c --status "$package.sha256"); then
    fail "$host: $package does not match $package.sha256; the copy is damaged, run UpgradeQingCloud again to copy it anew"
fi
stamp "$package: checksum OK"
packaged=$(tar -xzOf "$package_dir/$package" --wildcards '*/VERSION' 2> /dev/null) || :
[ "$packaged" = "$version" ] || fail "$host: $package contains version '${packaged:-none}', expected $version"

services=$(node_services "$role" "$sub_roles")
for service in $services; do
    marker=$STATE_DIR/services/$service.started
    [ -f "$marker" ] || continue
    stamp "Stopping $service.service ..."
    pause 0.1
    rm -f "$marker"
done

if [ -f "$CONTROL_DIR/fail/upgrade" ]; then
    stamp "dpkg: error processing archive pitrix-common_${version}_amd64.deb (--unpack): trying to overwrite '/usr/lib/pitrix/common.so', which is also in package pitrix-base"
fi
check_injected_failure upgrade

# The package carries QingCloud's own pitrix-* packages; third-party ones
# (haproxy, qemu-kvm, ...) keep the version the deploy installed.
package_state=$STATE_DIR/packages
mkdir -p "$package_state"
count=0
for record in "$package_state"/pitrix-*; do
    [ -f "$record" ] || continue
    name=${record##*/}
    old=
    read -r old < "$record" || :
    if [ "$old" = "$version" ]; then
        continue
    fi
    stamp "Preparing to unpack .../${name}_${version}_amd64.deb ..."
    stamp "Unpacking $name ($version) over (${old:-unknown}) ..."
    pause 0.15
    stamp "Setting up $name ($version) ..."
    printf '%s\n' "$version" > "$record"
    count=$((count + 1))
done
stamp "Processing triggers for systemd ..."
pause 0.1

mkdir -p "$STATE_DIR/services"
for service in $services; do
    stamp "Starting $service.service ..."
    pause 0.1
    printf 'phase=upgrade\n' > "$STATE_DIR/services/$service.started"
done

printf '%s\n' "$version" > "$release_file.new"
mv "$release_file.new" "$release_file"
stamp "$host upgraded from $current to $version: $count packages"
