#!/usr/bin/env bash
# A one-node SLURM cluster on localhost for the cluster test:  slurm.sh start|stop STATEDIR
# start: writes STATEDIR/slurm.conf, starts munged, slurmctld and slurmd, waits for the node to be idle.
# stop: stops only the daemons this script started (by their pid files in STATEDIR).
# Clients need SLURM_CONF=STATEDIR/slurm.conf. Run as root (slurmd must be able to become any user).
set -euo pipefail
action=${1:?usage: slurm.sh start|stop STATEDIR}
state=$(mkdir -p "${2:?usage: slurm.sh start|stop STATEDIR}" && cd "$2" && pwd)
export SLURM_CONF="$state/slurm.conf"
# The nested `srun` of each job step runs with SLURM_* variables stripped (the jobstep plugin does
# that), so it finds the configuration only at the system path: link ours there while we run.
SYSTEM_CONF=/etc/slurm/slurm.conf

stop() {
    local state=${1:-$state} SLURM_CONF=${1:-$state}/slurm.conf
    for daemon in slurmd slurmctld munged; do
        pidfile="$state/$daemon.pid"
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$pidfile"
    done
    if [ -f "$state/munge.dir" ]; then rm -rf "$(cat "$state/munge.dir")" "$state/munge.dir"; fi
    if [ "$(readlink "$SYSTEM_CONF" 2>/dev/null)" = "$SLURM_CONF" ]; then rm -f "$SYSTEM_CONF"; fi
}

start() {
    for bin in munged slurmctld slurmd sinfo sbatch squeue; do
        command -v "$bin" >/dev/null || { echo "slurm.sh: $bin not found (run .ci/slurm-setup.sh)" >&2; exit 3; }
    done
    mkdir -p "$state"/{spool/ctld,spool/d,log}
    # munged runs as user munge, which cannot enter a private temp folder (pytest's are 0700):
    # its socket, log and pid go to a folder of its own, recorded for `stop`.
    munge_dir=$(mktemp -d /tmp/robustcurves-munge.XXXXXX)
    chmod 755 "$munge_dir" && chown munge:munge "$munge_dir"
    echo "$munge_dir" > "$state/munge.dir"
    key=/etc/munge/munge.key
    if [ ! -s "$key" ]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
        chown munge:munge "$key" && chmod 400 "$key"
    fi
    cpus=$(nproc)
    mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
    mem=$((mem * 9 / 10))
    cat > "$SLURM_CONF" <<CONF
ClusterName=robustcurves-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$munge_dir/munge.socket
StateSaveLocation=$state/spool/ctld
SlurmdSpoolDir=$state/spool/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# finished jobs stay visible to squeue well past the plugin's first status check
MinJobAge=300
SchedulerType=sched/backfill
NodeName=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
    # A link left by an interrupted run of this test (its controller gone): stop what is left of it.
    leftover=$(readlink "$SYSTEM_CONF" 2>/dev/null || true)
    if [ -n "$leftover" ] && [ "$leftover" != "$SLURM_CONF" ] && grep -qx 'ClusterName=robustcurves-test' "$leftover" 2>/dev/null &&
        ! kill -0 "$(cat "$(dirname "$leftover")/slurmctld.pid" 2>/dev/null || echo none)" 2>/dev/null; then
        echo "slurm.sh: stopping the leftovers of an interrupted run in $(dirname "$leftover")" >&2
        stop "$(dirname "$leftover")"
    fi
    if [ -e "$SYSTEM_CONF" ] && [ "$(readlink "$SYSTEM_CONF")" != "$SLURM_CONF" ]; then
        echo "slurm.sh: $SYSTEM_CONF exists and is not this test's; refusing to replace it" >&2
        exit 4
    fi
    mkdir -p "$(dirname "$SYSTEM_CONF")" && ln -sfn "$SLURM_CONF" "$SYSTEM_CONF"
    # munged as user munge, with its socket, log and pid in a folder it can write
    sudo_munge() { if command -v runuser >/dev/null; then runuser -u munge -- "$@"; else su -s /bin/sh munge -c "$*"; fi; }
    sudo_munge munged --socket="$munge_dir/munge.socket" --pid-file="$munge_dir/munged.pid" \
        --log-file="$munge_dir/munged.log" --force
    for _ in $(seq 50); do [ -s "$munge_dir/munged.pid" ] && break; sleep 0.1; done
    cp "$munge_dir/munged.pid" "$state/munged.pid"
    slurmctld
    slurmd -N localhost
    for _ in $(seq 120); do
        if sinfo -h -N -o '%T' 2>/dev/null | grep -qx idle; then echo "SLURM up: SLURM_CONF=$SLURM_CONF"; return 0; fi
        sleep 0.5
    done
    echo "slurm.sh: the node did not become idle; logs in $state/log" >&2
    tail -n 20 "$state"/log/*.log >&2 || true
    return 1
}

case "$action" in
    start) stop; start ;;
    stop) stop ;;
    *) echo "usage: slurm.sh start|stop STATEDIR" >&2; exit 2 ;;
esac
