#!/bin/sh
# A real 3-node Slurm cluster on this one machine, for vhpc's tests and benchmarks (Debian 12, Slurm 22.05).
#
#   scripts/slurm-cluster.sh start    idempotent: munge key + munged, slurm.conf, bridge v13br0 (10.250.13.1/24),
#                                     network namespaces v13n1..v13n3 (10.250.13.11-13) each running one slurmd
#                                     with hostname n1..n3 (its own UTS namespace), slurmctld on the host;
#                                     returns once `sinfo` shows n[1-3] idle.
#   scripts/slurm-cluster.sh stop     stops the slurmds and slurmctld (by pid file), removes namespaces and bridge.
#   scripts/slurm-cluster.sh status   exit 0 when the cluster answers and its 3 nodes are up.
#
# slurmd is started with `nsenter --net=/run/netns/NS unshare --uts` rather than `ip netns exec` (which
# remounts /sys, hiding the cgroup mount: slurmd refuses to start). Names and addresses carry "13" (vhpc issue
# 13) so they never meet the ssh tests' vhpc-test-* namespaces on 10.100-249.y.0/24.
# MpiDefault stays none; the pmix and pmi2 plugins are usable (`srun --mpi=pmix`, `--mpi=pmi2`) because
# slurmd starts after libpmix2 is installed (install-deps.sh).
set -eu

NODES="1 2 3"
BRIDGE=v13br0
NET=10.250.13
CONF=/etc/slurm/slurm.conf
MARK="# vhpc test cluster (scripts/slurm-cluster.sh)"
LOGDIR=/var/log/slurm
# The checkout this script belongs to (the vhpc binary the tests run lives in it).
REPO=$(cd "$(dirname "$0")/.." && pwd -P)
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

# The daemons started here must not inherit the caller's descriptors: munged kept the descriptor of a
# `flock /tmp/vhpc-integration.lock make test` and held that lock for as long as it ran. (sh takes
# single-digit descriptors only; flock's is 3.)
for n in 3 4 5 6 7 8 9; do eval "exec $n>&-"; done

log() { echo "slurm-cluster: $*" >&2; }
die() { echo "slurm-cluster: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
command -v slurmctld >/dev/null || die "slurmctld is not installed (run scripts/install-deps.sh)"

# Exit 0 when all three nodes are known and none is down/drained/unknown.
nodes_up() {
  out=$(timeout 5 sinfo -h -N -n 'n[1-3]' -o '%N %T' 2>/dev/null) || return 1
  [ "$(echo "$out" | grep -cE '^n[1-3] (idle|mixed|allocated|completing)')" -eq 3 ]
}

start_munge() {
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    install -d -o munge -g munge -m 0700 /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "starting munged"
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    runuser -u munge -- munged
    i=0
    until munge -n 2>/dev/null | unmunge >/dev/null 2>&1; do
      i=$((i + 1)); [ $i -lt 50 ] || die "munged does not answer"
      sleep 0.1
    done
  fi
}

write_conf() {
  if [ -e "$CONF" ] && ! head -n 1 "$CONF" | grep -qF "$MARK"; then
    die "$CONF exists and was not written by this script; move it away to use the test cluster"
  fi
  host=$(hostname -s)
  tmp=$(mktemp "$CONF.XXXXXX")
  cat >"$tmp" <<EOF
$MARK
ClusterName=vhpc13
SlurmctldHost=$host($NET.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd/%n
SlurmctldPidFile=/run/slurmctld-v13.pid
SlurmdPidFile=/run/slurmd-%n.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
KillWait=2
MinJobAge=2
InactiveLimit=0
MessageTimeout=10
SlurmdTimeout=60
SchedulerParameters=sched_interval=1
NodeName=n1 NodeAddr=$NET.11 NodeHostname=n1 CPUs=64 RealMemory=1000 State=UNKNOWN
NodeName=n2 NodeAddr=$NET.12 NodeHostname=n2 CPUs=64 RealMemory=1000 State=UNKNOWN
NodeName=n3 NodeAddr=$NET.13 NodeHostname=n3 CPUs=64 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=n[1-3] Default=YES MaxTime=INFINITE State=UP
EOF
  chmod 0644 "$tmp"
  if [ -e "$CONF" ] && cmp -s "$tmp" "$CONF"; then rm -f "$tmp"; else mv "$tmp" "$CONF"; fi
}

start_network() {
  echo 1 >/proc/sys/net/ipv4/ip_forward
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  ip addr show dev "$BRIDGE" | grep -q "$NET.1/24" || ip addr add "$NET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  for k in $NODES; do
    ns=v13n$k
    [ -e /run/netns/$ns ] || ip netns add $ns
    if ! ip link show v13h$k >/dev/null 2>&1; then
      ip link add v13h$k type veth peer name eth0 netns $ns
    fi
    ip link set v13h$k master "$BRIDGE"
    ip link set v13h$k up
    ip -n $ns addr show dev eth0 | grep -q "$NET.1$k/24" || ip -n $ns addr add "$NET.1$k/24" dev eth0
    ip -n $ns link set eth0 up
    ip -n $ns link set lo up
    ip -n $ns route show default | grep -q . || ip -n $ns route add default via $NET.1
  done
}

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_daemons() {
  install -d -m 0755 "$LOGDIR"
  chown slurm:slurm "$LOGDIR"
  install -d -o slurm -g slurm -m 0755 /var/spool/slurmctld
  if ! pid_alive /run/slurmctld-v13.pid; then
    log "starting slurmctld"
    # -c: a fresh state; nodes and jobs of an earlier run are forgotten.
    slurmctld -c
  fi
  for k in $NODES; do
    install -d -m 0755 /var/spool/slurmd/n$k
    if ! pid_alive /run/slurmd-n$k.pid; then
      log "starting slurmd n$k in netns v13n$k"
      # Each node has its own /tmp (as real nodes do): the pmix plugin's per-step directories
      # (/tmp/spmix_appdir_UID_JOB.STEP) would otherwise collide between the nodes of one step.
      install -d -m 1777 /tmp/v13-n$k
      # A checkout under /tmp (a CI clone) must stay visible on the nodes at its own path: it is bound into
      # the node's /tmp before that covers the host's (rbind carries the submount along).
      keep=""
      case "$REPO" in /tmp/?*) keep="mkdir -p /tmp/v13-n$k${REPO#/tmp}; mount --bind $REPO /tmp/v13-n$k${REPO#/tmp};" ;; esac
      setsid nsenter --net=/run/netns/v13n$k unshare --uts --mount --propagation private \
        sh -c "hostname n$k; $keep mount --rbind /tmp/v13-n$k /tmp; exec slurmd -D -N n$k" \
        </dev/null >>"$LOGDIR/slurmd-n$k.out" 2>&1 &
    fi
  done
  i=0
  until nodes_up; do
    i=$((i + 1))
    [ $i -lt 300 ] || { sinfo -N >&2 || true; die "nodes n[1-3] not up after 30 s (logs in $LOGDIR)"; }
    [ $((i % 50)) -eq 0 ] && scontrol update nodename='n[1-3]' state=resume >/dev/null 2>&1 || true
    sleep 0.1
  done
}

stop_all() {
  for k in $NODES; do
    if pid_alive /run/slurmd-n$k.pid; then kill "$(cat /run/slurmd-n$k.pid)"; fi
  done
  if pid_alive /run/slurmctld-v13.pid; then kill "$(cat /run/slurmctld-v13.pid)"; fi
  i=0
  while [ $i -lt 50 ]; do
    alive=0
    for f in /run/slurmctld-v13.pid /run/slurmd-n1.pid /run/slurmd-n2.pid /run/slurmd-n3.pid; do
      pid_alive $f && alive=1
    done
    [ $alive = 0 ] && break
    i=$((i + 1)); sleep 0.1
  done
  for k in $NODES; do
    ip link del v13h$k 2>/dev/null || true
    [ -e /run/netns/v13n$k ] && ip netns del v13n$k
  done
  ip link del "$BRIDGE" 2>/dev/null || true
}

case "${1:-}" in
start)
  if pid_alive /run/slurmctld-v13.pid && nodes_up; then exit 0; fi
  start_munge
  write_conf
  start_network
  start_daemons
  log "up: $(sinfo -h -o '%P %D %T %N' | tr '\n' ' ')"
  ;;
stop)
  stop_all
  ;;
status)
  nodes_up
  ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
