# Steps install_components and verify_components: install an add-on component
# (vdi or v2v) on this node, or check that its services run. Installing a
# component that is already installed changes nothing.
# The lab makes a step fail with .lab-control/fail/component_install or
# .lab-control/fail/component_verify.
# usage: component.sh install|verify NAME ROLE
. "$(dirname "$0")/common.sh"

[ $# -eq 3 ] || usage_error "component.sh install|verify NAME ROLE"
action=$1
name=$2
role=$3
role_kind "$role" > /dev/null || exit 1
host=$(node_hostname)

case $name in
    vdi) packages="pitrix-vdi-server pitrix-vdi-broker"; services="pitrix-vdi-server pitrix-vdi-broker" ;;
    v2v) packages="virt-v2v pitrix-v2v-agent"; services="pitrix-v2v-agent" ;;
    *) fail "$host: unknown component '$name': expected vdi or v2v" ;;
esac

component_dir=$STATE_DIR/components
case $action in
    install)
        check_injected_failure component_install
        if [ -f "$component_dir/$name" ]; then
            log "component $name is already installed on $host, skipping"
            exit 0
        fi
        log "Installing component $name on $host (role $role)"
        log "The following NEW packages will be installed:"
        log "  $packages"
        for package in $packages; do
            log "Unpacking $package ($PACKAGE_VERSION) ..."
            pause 0.2
            log "Setting up $package ($PACKAGE_VERSION) ..."
        done
        mkdir -p "$STATE_DIR/services" "$component_dir"
        for service in $services; do
            log "  Starting $service.service ..."
            pause 0.15
            printf 'component=%s\n' "$name" > "$STATE_DIR/services/$service.started"
            log "  Started $service.service  [  OK  ]"
        done
        printf '%s\n' "$packages" > "$component_dir/$name"
        log "component $name installed on $host"
        ;;
    verify)
        check_injected_failure component_verify
        [ -f "$component_dir/$name" ] || fail "$host: component $name is not installed: run step install_components first"
        missing=
        for service in $services; do
            pause 0.05
            if [ -f "$STATE_DIR/services/$service.started" ]; then
                log "  $service: Normal"
            else
                log "  $service: Abnormal (not running)"
                missing="${missing:+$missing, }$service"
            fi
        done
        [ -z "$missing" ] || fail "$host: component $name is not running: $missing"
        log "component $name runs on $host"
        ;;
    *) usage_error "component.sh install|verify NAME ROLE" ;;
esac
