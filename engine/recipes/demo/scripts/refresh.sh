# Scale-out: bring a node up to date with its zone's members.
# "hosts" installs the zone's hosts list the engine staged (the demo keeps it in
# etc/qingcloud/hosts, where a real node has /etc/hosts). "members" makes the
# services running on this node reload the member list. A node whose services
# have not started yet has nothing to reload, because services read the list
# when they start.
# usage: refresh.sh hosts ZONE | refresh.sh members ZONE
. "$(dirname "$0")/common.sh"

[ $# -eq 2 ] || usage_error "refresh.sh hosts|members ZONE"
action=$1
zone=$2
host=$(node_hostname)

staged=$CONF_DIR/hosts.$zone
[ -f "$staged" ] || fail "$host: $staged not found: run step distribute_config first"

# new_names OLD NEW: print the hostnames NEW lists and OLD does not, space-separated.
# Lines of OLD are recognised by FILENAME, because NR == FNR also holds in NEW when OLD is empty.
new_names() {
    awk -v old="$1" 'FILENAME == old { if ($0 !~ /^#/ && NF >= 2) seen[$2] = 1; next }
         $0 !~ /^#/ && NF >= 2 && !($2 in seen) { printf "%s%s", sep, $2; sep = " " }' "$1" "$2"
}

# change_note OLD NEW: print " (new: NAMES)" when NEW adds hosts to an existing OLD, else nothing.
change_note() {
    [ -f "$1" ] || return 0
    added=$(new_names "$1" "$2")
    [ -z "$added" ] || printf ' (new: %s)' "$added"
}

# member_count FILE: how many hosts FILE lists.
member_count() {
    awk '$0 !~ /^#/ && NF >= 2 { count++ } END { print count + 0 }' "$1"
}

count=$(member_count "$staged")

case $action in
    hosts)
        target=etc/qingcloud/hosts
        note=$(change_note "$target" "$staged")
        mkdir -p etc/qingcloud
        cp "$staged" "$target.new"
        mv "$target.new" "$target"
        pause 0.2
        log "/$target lists the $count members of zone $zone$note"
        ;;
    members)
        check_injected_failure refresh_zone
        record=$STATE_DIR/members.$zone
        note=$(change_note "$record" "$staged")

        running=
        for marker in "$STATE_DIR"/services/*.started; do
            [ -f "$marker" ] || continue
            name=${marker##*/}
            running="$running ${name%.started}"
        done
        set -- $running
        if [ $# -eq 0 ]; then
            log "$host runs no services yet; they read the $count members of zone $zone when they start"
        else
            log "Reloading the member list of zone $zone on $host: $count members$note"
            for service in "$@"; do
                pause 0.2
                log "  $service.service reloaded"
            done
        fi
        mkdir -p "$STATE_DIR"
        cp "$staged" "$record.new"
        mv "$record.new" "$record"
        log "$host knows the $count members of zone $zone"
        ;;
    *) usage_error "refresh.sh hosts|members ZONE" ;;
esac
