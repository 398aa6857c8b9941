#!/usr/bin/env bash
# slurm-local.sh start|stop|status: a real one-node Slurm cluster on this machine (localhost only,
# no systemd, no DNS, no database) for mex's Slurm tests and benchmarks. Debian 12's slurm-wlm.
#
#   start   installs slurm-wlm and munge if missing, starts munged if none answers, writes
#           /etc/slurm/slurm.conf, starts slurmctld and slurmd and waits until the node is idle.
#           Idempotent: a cluster of ours already up with the same settings costs ~0.3 s.
#   stop    cancels the cluster's jobs and stops what start started, by pid file (never by name)
#   status  exit 0 when our cluster answers
#
# Environment: MEX_SLURM_CPUS (CPUs advertised, default 12: the machine is oversubscribed on
# purpose, since throughput is about one job per advertised CPU per scheduler second),
# MEX_SLURM_CGROUP=1 (cgroup confinement, so a job over --mem ends OUT_OF_MEMORY; needs a writable
# cgroup tree; without it an overrun ends FAILED 0:9, "Exceeded job memory limit"),
# MEX_SLURM_NO_INSTALL=1 (never run apt-get), MEX_SLURM_TIMEOUT (seconds to wait, default 60).
# It fails, with the daemons' logs, when the cluster cannot start: tests depending on it fail too.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
CGCONF=/etc/slurm/cgroup.conf
RUN=/run/mex-slurm
SPOOL=/var/spool/mex-slurm
LOG=/var/log/mex-slurm
MARK='# mex scripts/slurm-local.sh'
PORT=6817
cpus=${MEX_SLURM_CPUS:-12}
cgroup=${MEX_SLURM_CGROUP:-0}
timeout_s=${MEX_SLURM_TIMEOUT:-60}
settings="cpus=$cpus cgroup=$cgroup"

die() { printf 'slurm-local: %s\n' "$*" >&2; exit 1; }
[[ $cpus =~ ^[1-9][0-9]*$ ]] || die "MEX_SLURM_CPUS must be a positive integer, not '$cpus'"
cmd=${1:-}
case $cmd in start|stop|status) ;; *) echo "usage: slurm-local.sh start|stop|status" >&2; exit 2 ;; esac
if ((EUID != 0)); then
  command -v sudo >/dev/null || die "must run as root and there is no sudo"
  exec sudo -E "$0" "$@"
fi

ours() { head -n1 "$1" 2>/dev/null | grep -qF "$MARK"; }
alive() { # alive NAME: the pid in $RUN/NAME.pid runs, is no zombie, and is NAME
  local pid _ comm state
  [[ -s $RUN/$1.pid ]] || return 1
  pid=$(<"$RUN/$1.pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  read -r _ comm state _ 2>/dev/null <"/proc/$pid/stat" || return 1
  [[ $comm == "($1)" && $state != Z ]]
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
node_state() { timeout 10 sinfo -h -N -o '%t' 2>/dev/null | head -n1 || true; }
usable() { [[ $1 =~ ^(idle|mix|alloc|comp)$ ]]; }
up() { ours "$CONF" && alive slurmctld && alive slurmd && port_open && usable "$(node_state)"; }
logs() {
  local f
  for f in "$LOG/slurmctld.log" "$LOG/slurmd.log"; do
    [[ -s $f ]] && { echo "---- $f"; tail -n 20 "$f"; } >&2
  done
  return 0
}
stop_daemons() { # TERM what we started, wait up to 20 s, then KILL
  local name pid pids=() i
  for name in "$@"; do
    if alive "$name"; then pids+=("$(<"$RUN/$name.pid")"); kill -TERM "${pids[-1]}" 2>/dev/null || true; fi
    rm -f "$RUN/$name.pid"
  done
  for ((i = 0; i < 200; i++)); do
    local left=()
    for pid in "${pids[@]}"; do
      read -r _ _ state _ 2>/dev/null <"/proc/$pid/stat" && [[ $state != Z ]] && left+=("$pid")
    done
    ((${#left[@]})) || return 0
    sleep 0.1
  done
  kill -KILL "${left[@]}" 2>/dev/null || true
}

if [[ $cmd == status ]]; then up; exit; fi
if [[ $cmd == stop ]]; then
  if ours "$CONF" && alive slurmctld; then
    mapfile -t jobs < <(timeout 10 squeue -h -o '%i' 2>/dev/null || true)
    if ((${#jobs[@]})); then timeout 10 scancel "${jobs[@]}" 2>/dev/null || true; fi
  fi
  stop_daemons slurmd slurmctld munged
  echo "slurm-local: stopped"
  exit 0
fi

t0=$(date +%s%N)
if up && grep -qxF "# settings: $settings" "$CONF"; then
  echo "slurm-local: already up ($settings)"
  exit 0
fi

missing=()
for b in slurmctld slurmd sinfo sbatch munged; do command -v "$b" >/dev/null || missing+=("$b"); done
if ((${#missing[@]})); then
  [[ ${MEX_SLURM_NO_INSTALL:-0} == 1 ]] && die "missing ${missing[*]} and MEX_SLURM_NO_INSTALL=1"
  echo "slurm-local: installing slurm-wlm munge (missing: ${missing[*]})" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-cache policy slurm-wlm 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 slurm-wlm munge >/dev/null
fi
install -d -m 0755 "$RUN" "$SPOOL" "$SPOOL/ctld" "$SPOOL/d" "$LOG" /etc/slurm
for f in "$CONF" "$CGCONF"; do
  [[ -e $f ]] && ! ours "$f" && die "$f exists and was not written by this script; move it away first"
done

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
if ! munge_ok; then
  install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
  install -d -o munge -g munge -m 0711 /var/lib/munge
  install -d -o munge -g munge -m 0755 /run/munge
  [[ -s /etc/munge/munge.key ]] || mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key # munged refuses others' access
  runuser -u munge -- /usr/sbin/munged </dev/null || die "munged failed: /var/log/munge/munged.log"
  for ((i = 0; i < 50; i++)); do munge_ok && break; sleep 0.1; done
  munge_ok || die "munged does not answer: /var/log/munge/munged.log"
  cp /run/munge/munged.pid "$RUN/munged.pid"
fi

stop_daemons slurmd slurmctld # a dead one, or other settings: jobs survive and rejoin

node=$(hostname -s)
mem=$(slurmd -C | sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' | head -n1)
[[ $mem =~ ^[1-9][0-9]*$ ]] || die "cannot read the memory from slurmd -C"
if [[ $cgroup == 1 ]]; then
  track=$'ProctrackType=proctrack/cgroup\nTaskPlugin=task/cgroup\nJobAcctGatherParams=NoOverMemoryKill'
  printf '%s\n' "$MARK" CgroupPlugin=autodetect ConstrainRAMSpace=yes ConstrainSwapSpace=yes AllowedSwapSpace=0 >"$CGCONF"
else
  # no cgroups (works in containers): a job over its memory is found by 5 s polling and killed
  track=$'ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nJobAcctGatherParams=OverMemoryKill'
  rm -f "$CGCONF"
fi
touch "$LOG/jobcomp.log"
tmp=$(mktemp "$CONF.XXXXXX")
cat >"$tmp" <<CONFEOF
$MARK: rewritten on each start
# settings: $settings
ClusterName=mexlocal
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$PORT
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
$track
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
AccountingStorageType=accounting_storage/none
# no slurmdbd: sacct -c reads this completion log (ended jobs only)
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG/jobcomp.log
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
MinJobAge=300
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=5
InactiveLimit=0
Waittime=0
# schedule queued jobs every second instead of every 3
SchedulerParameters=batch_sched_delay=0
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus SocketsPerBoard=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=1-00:00:00 DefMemPerCPU=$((mem / cpus)) State=UP
CONFEOF
chmod 0644 "$tmp"
mv -f "$tmp" "$CONF"

slurmctld -i </dev/null || { logs; die "slurmctld failed to start"; }
for ((i = 0; i < 50; i++)); do timeout 5 scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.1; done
slurmd -N "$node" </dev/null || { logs; die "slurmd failed to start"; }
deadline=$(($(date +%s) + timeout_s))
resumed=0
while :; do
  st=$(node_state)
  usable "${st:-none}" && break
  if [[ $st == down* || $st == drain* ]] && ((!resumed)); then
    scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true
    resumed=1
  fi
  if (($(date +%s) >= deadline)); then logs; die "node not idle after ${timeout_s}s (state: ${st:-no answer})"; fi
  sleep 0.2
done
chmod 0666 "$LOG/jobcomp.log" # sacct -c opens it for appending, even to read
echo "slurm-local: up in $((($(date +%s%N) - t0) / 1000000)) ms ($settings, node $node)"
