#!/usr/bin/env bash
# slurm-local.sh start|stop|status|stop-dbd [--dbd|--no-dbd]: a real one-node Slurm cluster on this
# machine (localhost only, no systemd, no DNS) for mex's Slurm tests and benchmarks. Debian 12's
# slurm-wlm; with accounting (the default), also MariaDB and slurmdbd, as on most real clusters.
#
#   start     installs slurm-wlm and munge (and slurmdbd, mariadb-server) if missing, starts munged
#             if none answers, then MariaDB and slurmdbd, registers the cluster, the users' account
#             and the QOS the tests use; writes /etc/slurm/slurm.conf, starts slurmctld and slurmd
#             and waits until the node is idle. Idempotent: a cluster of ours already up with the
#             same settings costs ~0.3 s; a dead slurmdbd alone is started again alone.
#   stop      cancels the cluster's jobs and stops what start started, by pid file (never by name)
#   status    exit 0 when our cluster answers (in the mode asked for); prints accounting=...
#   stop-dbd  stops slurmdbd alone (tests of an accounting outage; `start` brings it back)
#   --dbd / --no-dbd: with or without slurmdbd (default: MEX_SLURM_DBD, else with). Without it,
#             plain sacct fails ("accounting storage is disabled"); sacct -c reads the completion
#             log, which is kept in both modes.
#
# Environment: MEX_SLURM_CPUS (CPUs advertised, default 12: the machine is oversubscribed on
# purpose, since throughput is about one job per advertised CPU per scheduler second),
# MEX_SLURM_CGROUP=1 (cgroup confinement, so a job over --mem ends OUT_OF_MEMORY; needs a writable
# cgroup tree; without it an overrun ends FAILED 0:9, "Exceeded job memory limit"),
# MEX_SLURM_NO_INSTALL=1 (never run apt-get), MEX_SLURM_TIMEOUT (seconds to wait, default 60),
# MEX_SLURM_DBD=0|1 (accounting; default 1), MEX_SLURM_USERS (users given an association besides
# root and SUDO_USER: with AccountingStorageEnforce, a user without one cannot submit).
# With accounting: account "mex" for those users, and the QOS "mex-submit2" (MaxSubmitJobsPerUser=2)
# they may ask for with --qos; their default QOS stays "normal", so other jobs are not limited.
# It fails, with the daemons' logs, when the cluster cannot start: tests depending on it fail too.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
CGCONF=/etc/slurm/cgroup.conf
DBDCONF=/etc/slurm/slurmdbd.conf
RUN=/run/mex-slurm
SPOOL=/var/spool/mex-slurm
LOG=/var/log/mex-slurm
MARK='# mex scripts/slurm-local.sh'
PORT=6817
CLUSTER=mexlocal
DB=mex_slurm_acct_db
MYSOCK=/run/mysqld/mysqld.sock
QOS=mex-submit2
cpus=${MEX_SLURM_CPUS:-12}
cgroup=${MEX_SLURM_CGROUP:-0}
timeout_s=${MEX_SLURM_TIMEOUT:-60}
dbd=${MEX_SLURM_DBD:-1}
settings="cpus=$cpus cgroup=$cgroup"

die() { printf 'slurm-local: %s\n' "$*" >&2; exit 1; }
[[ $cpus =~ ^[1-9][0-9]*$ ]] || die "MEX_SLURM_CPUS must be a positive integer, not '$cpus'"
cmd=${1:-}
case $cmd in start | stop | status | stop-dbd) ;; *)
  echo "usage: slurm-local.sh start|stop|status|stop-dbd [--dbd|--no-dbd]" >&2
  exit 2
  ;;
esac
for a in "${@:2}"; do
  case $a in
  --dbd) dbd=1 ;;
  --no-dbd) dbd=0 ;;
  *) die "unknown option $a" ;;
  esac
done
[[ $dbd == 0 || $dbd == 1 ]] || die "MEX_SLURM_DBD must be 0 or 1, not '$dbd'"
# On its own line, not in "# settings:", so that a cluster in either mode reads as the same
# settings to an older copy of this script (which knows no accounting) and is left running.
accounting=none
((dbd)) && accounting=slurmdbd
if ((EUID != 0)); then
  command -v sudo >/dev/null || die "must run as root and there is no sudo"
  exec sudo -E "$0" "$@"
fi

# One start or stop at a time: two test runs may share the machine's cluster. The daemons are
# started with fd 9 closed, or they would hold the lock for good.
install -d -m 0755 "$RUN"
exec 9>"$RUN.lock"
flock -w 300 9 || die "another slurm-local.sh holds $RUN.lock"

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
same_conf() { grep -qxF "# settings: $settings" "$CONF" && grep -qxF "# accounting: $accounting" "$CONF"; }
my_ok() { mariadb-admin --socket="$MYSOCK" ping >/dev/null 2>&1; }
dbd_ok() { alive slurmdbd && timeout 10 sacctmgr -n -P show cluster format=cluster 2>/dev/null | grep -qx "$CLUSTER"; }
logs() {
  local f
  for f in "$LOG/slurmctld.log" "$LOG/slurmd.log" "$LOG/slurmdbd.log" "$LOG/mariadb.log"; do
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

if [[ $cmd == status ]]; then
  up || exit 1
  mode=none
  grep -qxF "# accounting: slurmdbd" "$CONF" && mode=slurmdbd
  echo "slurm-local: up, accounting=$mode"
  [[ $mode == "$accounting" ]] || exit 1
  [[ $mode == none ]] || dbd_ok
  exit
fi
if [[ $cmd == stop-dbd ]]; then
  stop_daemons slurmdbd
  echo "slurm-local: slurmdbd stopped"
  exit 0
fi
if [[ $cmd == stop ]]; then
  if ours "$CONF" && alive slurmctld; then
    mapfile -t jobs < <(timeout 10 squeue -h -o '%i' 2>/dev/null || true)
    if ((${#jobs[@]})); then timeout 10 scancel "${jobs[@]}" 2>/dev/null || true; fi
  fi
  stop_daemons slurmd slurmctld slurmdbd
  stop_daemons mariadbd munged # after slurmdbd, which writes to MariaDB as it ends
  echo "slurm-local: stopped"
  exit 0
fi

t0=$(date +%s%N)
ms() { echo $((($(date +%s%N) - t0) / 1000000)); }
if up && same_conf && { ((!dbd)) || dbd_ok; }; then
  echo "slurm-local: already up ($settings, accounting=$accounting)"
  exit 0
fi

missing=() packages=(slurm-wlm munge)
for b in slurmctld slurmd sinfo sbatch munged; do command -v "$b" >/dev/null || missing+=("$b"); done
if ((dbd)); then
  packages+=(slurmdbd mariadb-server)
  for b in slurmdbd mariadbd; do command -v "$b" >/dev/null || missing+=("$b"); done
fi
if ((${#missing[@]})); then
  [[ ${MEX_SLURM_NO_INSTALL:-0} == 1 ]] && die "missing ${missing[*]} and MEX_SLURM_NO_INSTALL=1"
  echo "slurm-local: installing ${packages[*]} (missing: ${missing[*]})" >&2
  export DEBIAN_FRONTEND=noninteractive
  for p in "${packages[@]}"; do # apt-get update only when the lists do not know a package yet
    apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]' || { apt-get update -qq && break; }
  done
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${packages[@]}" >/dev/null
  echo "slurm-local: installed in $(ms) ms" >&2
fi
install -d -m 0755 "$SPOOL" "$SPOOL/ctld" "$SPOOL/d" "$LOG" /etc/slurm
for f in "$CONF" "$CGCONF" "$DBDCONF"; do
  [[ -e $f ]] && ! ours "$f" && die "$f exists and was not written by this script; move it away first"
done

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
if ! munge_ok; then
  install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
  install -d -o munge -g munge -m 0711 /var/lib/munge
  install -d -o munge -g munge -m 0755 /run/munge
  [[ -s /etc/munge/munge.key ]] || mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key # munged refuses others' access
  runuser -u munge -- /usr/sbin/munged </dev/null 9>&- || die "munged failed: /var/log/munge/munged.log"
  for ((i = 0; i < 50; i++)); do munge_ok && break; sleep 0.1; done
  munge_ok || die "munged does not answer: /var/log/munge/munged.log"
  cp /run/munge/munged.pid "$RUN/munged.pid"
fi

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
if ((dbd)); then
  acct=$'AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=127.0.0.1'
  acct+=$'\n# limits (and with it associations) and qos: a QOS\'s MaxSubmitJobs refuses sbatch'
  acct+=$'\nAccountingStorageEnforce=limits,qos'
else
  acct=$'AccountingStorageType=accounting_storage/none\n# no slurmdbd: plain sacct fails, sacct -c reads the completion log'
fi
touch "$LOG/jobcomp.log"
# written now, put in place when slurmctld restarts; sacctmgr reads it before that
newconf=$(mktemp "$CONF.XXXXXX")
trap 'rm -f "$newconf"' EXIT
cat >"$newconf" <<CONFEOF
$MARK: rewritten on each start
# settings: $settings
# accounting: $accounting
ClusterName=$CLUSTER
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
$acct
# one line per ended job, in both modes: sacct -c reads it (ended jobs only)
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
if ((dbd)); then
  if ! my_ok; then
    install -d -o mysql -g mysql -m 0755 /run/mysqld
    [[ -d /var/lib/mysql/mysql ]] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null ||
      die "mariadb-install-db failed"
    touch "$LOG/mariadb.log" && chown mysql:mysql "$LOG/mariadb.log"
    # mariadbd does not daemonize: its own session, no terminal; it writes its pid file itself
    rm -f /run/mysqld/mysqld.pid
    (cd / && exec setsid /usr/sbin/mariadbd --user=mysql --skip-networking --socket="$MYSOCK" \
      --pid-file=/run/mysqld/mysqld.pid --log-error="$LOG/mariadb.log" </dev/null >/dev/null 2>&1 9>&-) &
    for ((i = 0; i < 300; i++)); do my_ok && break; sleep 0.1; done
    my_ok || { logs; die "mariadbd does not answer after 30 s"; }
    cp /run/mysqld/mysqld.pid "$RUN/mariadbd.pid"
  fi
  if ! alive slurmdbd; then
    tmp=$(mktemp "$DBDCONF.XXXXXX")
    cat >"$tmp" <<DBDEOF
$MARK: rewritten on each start
AuthType=auth/munge
DbdHost=$(hostname -s)
DbdAddr=127.0.0.1
SlurmUser=root
DebugLevel=info
LogFile=$LOG/slurmdbd.log
PidFile=$RUN/slurmdbd.pid
# root through MariaDB's unix socket (Debian's root@localhost authenticates by unix_socket)
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=$DB
DBDEOF
    chmod 0600 "$tmp" && mv -f "$tmp" "$DBDCONF" # slurmdbd refuses a config others can read
    slurmdbd </dev/null 9>&- || { logs; die "slurmdbd failed to start"; }
  fi
  # The cluster, an account for the users who submit, and the QOS the tests ask for. With
  # AccountingStorageEnforce=associations (implied by limits), a user without one cannot submit.
  export SLURM_CONF=$newconf
  for ((i = 0; i < 300; i++)); do timeout 5 sacctmgr -n show cluster >/dev/null 2>&1 && break; sleep 0.1; done
  sam() { timeout 20 sacctmgr -i "$@" >/dev/null || { logs; die "sacctmgr $* failed"; }; }
  known() { timeout 20 sacctmgr -n -P show "$1" format="$2" 2>/dev/null | grep -qx "$3"; }
  known cluster cluster "$CLUSTER" || sam add cluster "$CLUSTER"
  known qos name "$QOS" || sam add qos "$QOS" MaxSubmitJobsPerUser=2
  known account account mex || sam add account mex Cluster="$CLUSTER" Description=mex-tests Organization=mex
  read -ra users <<<"root ${SUDO_USER:-} ${MEX_SLURM_USERS:-}"
  for u in "${users[@]}"; do
    known user user "$u" || sam add user "$u" Account=mex Cluster="$CLUSTER"
    timeout 20 sacctmgr -n -P show assoc where user="$u" cluster="$CLUSTER" format=qos | grep -q "$QOS" ||
      sam modify user "$u" set QOS=normal,"$QOS" DefaultQOS=normal
  done
else
  # stopped on a switch to no accounting; MariaDB too, if we started it
  alive slurmdbd && stop_daemons slurmdbd mariadbd
fi
unset SLURM_CONF

if up && same_conf; then # only slurmdbd was missing: slurmctld reconnects to it by itself
  echo "slurm-local: slurmdbd up again in $(ms) ms"
  exit 0
fi
stop_daemons slurmd slurmctld # a dead one, or other settings: jobs survive and rejoin

chmod 0644 "$newconf"
mv -f "$newconf" "$CONF"

slurmctld -i </dev/null 9>&- || { logs; die "slurmctld failed to start"; }
for ((i = 0; i < 50; i++)); do timeout 5 scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.1; done
slurmd -N "$node" </dev/null 9>&- || { logs; die "slurmd failed to start"; }
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
echo "slurm-local: up in $(ms) ms ($settings, accounting=$accounting, node $node)"
