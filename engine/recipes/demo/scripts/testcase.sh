# Run one case of the platform's test suite, the way QingCloud's unittest-based
# cases report: the API calls the case makes with their times, then unittest's
# summary ("Ran 1 test in 1.234s", then "OK" or "FAILED (failures=1)").
# A failing case exits 1 and leaves its instance behind for test_clean.sh.
# usage: testcase.sh CASE
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/testlib.sh"

[ $# -eq 1 ] || usage_error "testcase.sh CASE"
name=$1
host=$(node_hostname)

vxnet=$(prepared_resource vxnet)
[ -n "$vxnet" ] || vxnet=$(new_id vxnet)
keypair=$(prepared_resource keypair)
[ -n "$keypair" ] || keypair=$(new_id kp)
instance=$(new_id i)
other=$(new_id i)

# Each case sets: test_id (unittest's name of the test), steps (lines of
# "SECONDS ACTION" at lab speed 1), check (the final verification), and how
# that verification fails: check_cmd run on the guest and reason.
case $name in
    vm-instance-capture)
        image=$(new_id img)
        test_id="test_capture_instance (cases.instance.test_capture.CaptureInstanceTest)"
        steps="2.5 run instance [$instance] with image [xenial5x64a] in vxnet [$vxnet]
2 stop instance [$instance]
4 capture instance [$instance] as image [$image]
2.5 run instance [$other] from image [$image]"
        check="login to instance [$other] with keypair [$keypair]"
        check_cmd="safe-guest-sh $other \"date +%Y-%m-%d_%H:%M:%S -u\" 10"
        reason="instance $other started from image $image did not answer within 10 s"
        ;;
    vm-instance-volume)
        volume=$(new_id vol)
        test_id="test_volume_lifecycle (cases.instance.test_volume.InstanceVolumeTest)"
        steps="2 run instance [$instance] with image [xenial5x64a] in vxnet [$vxnet]
1.5 create volume [$volume] of 10 GB
1.5 attach volume [$volume] to instance [$instance]
3 migrate instance [$instance] with volume [$volume] to another hyper node
2 back up volume [$volume]"
        check="read the test file back from volume [$volume] on instance [$instance]"
        check_cmd="safe-guest-sh $instance \"md5sum /mnt/$volume/testfile\" 10"
        reason="checksum of /mnt/$volume/testfile differs after the migration"
        ;;
    lb-vxnet)
        lb=$(new_id lb)
        test_id="test_lb_in_vxnet (cases.network.test_loadbalancer.VxnetLoadBalancerTest)"
        steps="2 run backend instances [$instance, $other] in vxnet [$vxnet]
2.5 create loadbalancer [$lb] in vxnet [$vxnet]
1.5 add listener tcp:80 with backends [$instance, $other] to [$lb]
2 apply loadbalancer [$lb]"
        check="fetch http://$lb/ through the loadbalancer 10 times"
        check_cmd="curl -s -m 10 http://$lb/"
        reason="only 1 of 2 backends answered through loadbalancer $lb"
        ;;
    vm-instance-lifecycle)
        test_id="test_instance_lifecycle (cases.instance.test_lifecycle.InstanceLifecycleTest)"
        steps="2 run instance [$instance] with image [xenial5x64a] in vxnet [$vxnet]
1.5 stop instance [$instance]
1.5 start instance [$instance]
2 restart instance [$instance]
1 terminate instance [$instance]"
        check="instance [$instance] reaches status [ceased]"
        check_cmd="describe-instances $instance --status ceased"
        reason="instance $instance stayed in status [terminated] for 300 s"
        ;;
    vm-instance-migrate)
        test_id="test_live_migrate (cases.instance.test_migrate.LiveMigrateTest)"
        steps="2 run instance [$instance] with image [xenial5x64a] in vxnet [$vxnet]
1 start a ping from instance [$instance] to its gateway
4 live-migrate instance [$instance] to another hyper node"
        check="ping from instance [$instance] lost no more than 3 packets"
        check_cmd="safe-guest-sh $instance \"ping -c 20 -i 0.2 192.168.100.1\" 10"
        reason="ping from $instance lost 14 of 20 packets during the migration"
        ;;
    eip-associate)
        eip=$(prepared_resource eip)
        [ -n "$eip" ] || eip=$(new_id eip)
        test_id="test_eip_associate (cases.network.test_eip.EipAssociateTest)"
        steps="2 run instance [$instance] with image [xenial5x64a] in vxnet [$vxnet]
1 allocate eip [$eip] with bandwidth 2 Mbps
1.5 associate eip [$eip] with instance [$instance]"
        check="reach instance [$instance] through eip [$eip]"
        check_cmd="nc -z -w 10 $eip 22"
        reason="port 22 of eip $eip did not answer: no route from the vgateway"
        ;;
    vxnet-basic)
        test_vxnet=$(new_id vxnet)
        test_id="test_vxnet_join_leave (cases.network.test_vxnet.VxnetTest)"
        steps="1 create vxnet [$test_vxnet]
2 run instances [$instance, $other] in vxnet [$test_vxnet]
1.5 leave vxnet [$test_vxnet] with instance [$other]
1.5 join vxnet [$test_vxnet] with instance [$other]"
        check="ping instance [$other] from instance [$instance] in vxnet [$test_vxnet]"
        check_cmd="safe-guest-sh $instance \"ping -c 3 $other\" 10"
        reason="instance $other got no address in vxnet $test_vxnet after joining it again"
        ;;
    security-group)
        group=$(prepared_resource security_group)
        [ -n "$group" ] || group=$(new_id sg)
        test_id="test_security_group_rules (cases.network.test_security_group.SecurityGroupTest)"
        steps="2 run instance [$instance] with security group [$group]
1.5 add rule tcp:8080 accept to security group [$group]
1 apply security group [$group]
1.5 remove rule tcp:8080 from security group [$group]"
        check="port 8080 of instance [$instance] is closed after the rule was removed"
        check_cmd="nc -z -w 10 $instance 8080"
        reason="port 8080 of $instance still accepted connections after the rule was removed"
        ;;
    volume-snapshot)
        volume=$(new_id vol)
        snapshot=$(new_id ss)
        test_id="test_snapshot_rollback (cases.storage.test_snapshot.SnapshotTest)"
        steps="2 run instance [$instance] with volume [$volume]
1.5 write the test file to volume [$volume]
3 create snapshot [$snapshot] of volume [$volume]
2.5 roll volume [$volume] back to snapshot [$snapshot]"
        check="the test file of volume [$volume] matches the snapshot"
        check_cmd="safe-guest-sh $instance \"md5sum /mnt/$volume/testfile\" 10"
        reason="rollback of $volume to $snapshot ended in status [failed]"
        ;;
    image-custom)
        image=$(new_id img)
        test_id="test_custom_image (cases.image.test_custom_image.CustomImageTest)"
        steps="2 run instance [$instance] with image [xenial5x64a]
3.5 build image [$image] from instance [$instance]
1 share image [$image] with the test user
1 delete image [$image]"
        check="image [$image] reaches status [deleted]"
        check_cmd="describe-images $image --status deleted"
        reason="image $image stayed in status [pending] for 600 s"
        ;;
    router-vxnet)
        router=$(new_id rtr)
        test_id="test_router_port_forwarding (cases.network.test_router.RouterTest)"
        steps="2 create router [$router]
1.5 connect vxnet [$vxnet] to router [$router]
2 run instance [$instance] in vxnet [$vxnet]
1.5 forward port 10022 of router [$router] to instance [$instance]:22"
        check="reach instance [$instance] through port 10022 of router [$router]"
        check_cmd="nc -z -w 10 $router 10022"
        reason="port forwarding of router $router did not reach $instance:22"
        ;;
    keypair-login)
        test_keypair=$(new_id kp)
        test_id="test_keypair_login (cases.instance.test_keypair.KeypairLoginTest)"
        steps="1 create keypair [$test_keypair]
2 run instance [$instance] with keypair [$test_keypair]
1.5 attach keypair [$keypair] to instance [$instance]"
        check="log in to instance [$instance] with keypair [$test_keypair]"
        check_cmd="ssh -i $test_keypair.pem root@$instance true"
        reason="login to $instance with keypair $test_keypair was denied"
        ;;
    *)
        fail "unknown test case '$name'"
        ;;
esac

failing=no
if test_failure_injected "$name"; then
    failing=yes
fi

started=$(now)
log "$test_id ..."
while read -r seconds action; do
    [ -n "$action" ] || continue
    step_started=$(now)
    pause "$seconds"
    log "$action ok, exec_time is [$(elapsed "$step_started")]s"
done <<STEPS
$steps
STEPS

pause 1
if [ "$failing" = yes ]; then
    # The case retries its check once before it gives up.
    log "cmd [$check_cmd] on [$host] timed out after [10]s, exec_time is [10.002]s"
    log "cmd [$check_cmd] on [$host] timed out after [10]s, exec_time is [10.004]s"
fi
for prefix in tmp kp; do
    log "removed file [/tmp/$prefix-$(new_id x | cut -c3-)] on remote host [$host]"
done

if [ "$failing" = yes ]; then
    mkdir -p "$TEST_STATE_DIR"
    printf '%s\n' "$instance" >> "$TEST_STATE_DIR/leftovers"
    log "FAIL"
    log "======================================================================"
    log "FAIL: $test_id"
    log "----------------------------------------------------------------------"
    log "AssertionError: $check failed: $reason (failure injected by the lab)"
    log "----------------------------------------------------------------------"
    log "Ran 1 test in $(elapsed "$started")s"
    log ""
    log "FAILED (failures=1)"
    exit 1
fi

log "$check ok"
log "----------------------------------------------------------------------"
log "Ran 1 test in $(elapsed "$started")s"
log ""
log "OK"
