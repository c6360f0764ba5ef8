# Check one service of this node the way `systemctl is-active` does: print its
# state, exit 0 when it is active and 3 when it is not.
# A service counts as running once the deploy's start_services step started it.
# On a lab node, .lab-control/service-stopped/<service> makes it report failed,
# and .lab-control/service-hang/<service> makes this check hang until the file
# is removed or the caller's timeout ends it.
# It does not source common.sh, and it starts no other process unless it hangs,
# because a check runs it once per service of the node, all at once.
# usage: service_status.sh SERVICE
if [ $# -ne 1 ]; then
    echo "usage: service_status.sh SERVICE" >&2
    exit 2
fi
service=$1
state_dir=var/lib/qingcloud-demo
control_dir=.lab-control

while [ -e "$control_dir/service-hang/$service" ]; do
    sleep 0.2
done

if [ -e "$control_dir/service-stopped/$service" ]; then
    echo "failed (stopped by the lab)"
    exit 3
fi
if [ -f "$state_dir/services/$service.started" ]; then
    echo "active"
    exit 0
fi
echo "inactive"
exit 3
