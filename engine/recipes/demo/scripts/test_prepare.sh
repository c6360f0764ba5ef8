# Prepare what the test cases use: "user" creates the test user and its API
# access key, "res" the shared test resources (VxNet, key pair, security group,
# EIP, image). Both are idempotent: what exists already is kept.
# usage: test_prepare.sh user|res
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/testlib.sh"

[ $# -eq 1 ] || usage_error "test_prepare.sh user|res"
what=$1
host=$(node_hostname)
mkdir -p "$TEST_STATE_DIR"

case $what in
    user) step=prepare_user ;;
    res) step=prepare_resources ;;
    *) usage_error "test_prepare.sh user|res" ;;
esac

if [ "$what" = user ]; then
    if [ -f "$TEST_STATE_DIR/user" ]; then
        log "test user $(cat "$TEST_STATE_DIR/user") exists already, keeping it"
        exit 0
    fi
    log "creating test user qcitest@qingcloud.com on [$host]"
    pause 1.5
    if test_failure_injected "$step"; then
        fail "$host: create user failed: IAM server returned [5000] 'connection refused by account_server' (failure injected by the lab)"
    fi
    user_id=$(new_id usr)
    log "user [$user_id] created, role [user], balance [100000]"
    pause 1
    log "access key [$(new_id ak | tr 'a-z' 'A-Z')] created for user [$user_id]"
    printf '%s\n' "$user_id" > "$TEST_STATE_DIR/user"
    log "test user ready"
    exit 0
fi

log "preparing shared test resources on [$host]"
if test_failure_injected "$step"; then
    pause 1
    fail "$host: create vxnet failed: quota of vxnets exceeded for the test user (failure injected by the lab)"
fi
for kind in vxnet keypair security_group eip image; do
    existing=$(prepared_resource "$kind")
    if [ -n "$existing" ]; then
        log "$kind [$existing] exists already, keeping it"
        continue
    fi
    case $kind in
        vxnet) id=$(new_id vxnet); detail="192.168.100.0/24" ;;
        keypair) id=$(new_id kp); detail="ssh-rsa 2048" ;;
        security_group) id=$(new_id sg); detail="rules: tcp 22, icmp" ;;
        eip) id=$(new_id eip); detail="bandwidth 2 Mbps" ;;
        image) id=$(new_id img); detail="copied from xenial5x64a" ;;
    esac
    pause 1
    log "created $kind [$id] ($detail)"
    printf '%s %s\n' "$kind" "$id" >> "$TEST_STATE_DIR/resources"
done
log "test resources ready"
