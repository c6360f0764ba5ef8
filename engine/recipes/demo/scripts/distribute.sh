# Step distribute_config: install the configuration the engine staged for this node.
# usage: distribute.sh ZONE ROLE
. "$(dirname "$0")/common.sh"

check_injected_failure distribute_config
[ $# -eq 2 ] || usage_error "distribute.sh ZONE ROLE"
zone=$1
role=$2
role_kind "$role" > /dev/null || exit 1
host=$(node_hostname)

files="variables.$zone.yaml settings.$zone.yaml node.yaml"
missing=
for file in $files; do
    [ -f "$CONF_DIR/$file" ] || missing="${missing:+$missing, }$file"
done
if [ -n "$missing" ]; then
    fail "$host: configuration not staged, missing in $CONF_DIR: $missing"
fi

staged_role=$(yaml_value role "$CONF_DIR/node.yaml")
staged_zone=$(yaml_value zone_id "$CONF_DIR/node.yaml")
if [ "$staged_role" != "$role" ] || [ "$staged_zone" != "$zone" ]; then
    fail "$host: node.yaml is for role '$staged_role' in zone '$staged_zone', but this step runs role '$role' in zone '$zone'"
fi

log "Distributing configuration of zone $zone to $host"
mkdir -p etc/qingcloud
for file in $files; do
    pause 0.3
    cp "$CONF_DIR/$file" "etc/qingcloud/$file.new"
    mv "etc/qingcloud/$file.new" "etc/qingcloud/$file"
    log "  installed /etc/qingcloud/$file ($(wc -c < "etc/qingcloud/$file") bytes)"
done
pause 0.4
log "Configuration of zone $zone is in place on $host"
