# Editable configuration files of the demo recipe: put a file's default copy on a
# node, or make the services that read it reread it after a change.
# usage: config_file.sh install NAME | config_file.sh reload NAME
. "$(dirname "$0")/common.sh"

[ $# -eq 2 ] || usage_error "config_file.sh install|reload NAME"
action=$1
name=$2
host=$(node_hostname)

case $name in
    server.yaml) target=etc/qingcloud/server.yaml ;;
    *) fail "$host: unknown configuration file '$name': expected server.yaml" ;;
esac

case $action in
    install)
        # A file already in place may carry an operator's changes, so a re-run keeps it.
        if [ -f "$target" ]; then
            log "/$target is already in place, keeping it"
            exit 0
        fi
        mkdir -p "$(dirname "$target")"
        cp "$STAGE_DIR/files/$name" "$target.new"
        mv "$target.new" "$target"
        log "installed /$target ($(wc -c < "$target") bytes)"
        ;;
    reload)
        # The lab makes a reload fail with .lab-control/fail/reload_config ("once" or "always").
        marker=$CONTROL_DIR/fail/reload_config
        if [ -f "$marker" ]; then
            mode=
            read -r mode < "$marker" || :
            [ "$mode" = always ] || rm -f "$marker"
            fail "$host: reloading the services that read /$target failed: pitrix-ks-server exited with status 1 (failure injected by the lab)"
        fi
        [ -s "$target" ] || fail "$host: /$target is missing or empty; nothing to reload"
        log "reloading the services that read /$target ($(wc -c < "$target") bytes)"
        pause 0.2
        log "services reloaded"
        ;;
    *) usage_error "config_file.sh install|reload NAME" ;;
esac
