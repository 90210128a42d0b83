#!/usr/bin/env bash
# Start or stop a throw-away single-node Ray cluster for tests of the sweep's
# Ray executor.
#
#   tools/ray_local.sh start STATE_DIR PYTHON   # last stdout line: the address
#   tools/ray_local.sh stop  STATE_DIR PYTHON
#
# PYTHON is the interpreter of a venv with the `ray` package; the `ray` CLI next
# to it is used. STATE_DIR keeps this cluster's bookkeeping (address, temp dir,
# start log, and after `stop` a copy of Ray's logs in ray-logs/).
#
# Notes:
# * The head is bound to loopback only (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0:
#   without it Ray swaps 127.0.0.1 for the host's outside address). A driver
#   connecting to it must set the same variable before importing ray;
#   tools/sweep_ray.py does that itself for a loopback address.
# * Ray's temp dir is a short mktemp dir under /tmp (its socket paths must stay
#   under 108 bytes), recorded in STATE_DIR/temp_dir.
# * `stop` SIGKILLs only this cluster's processes (those naming its temp dir,
#   and all their descendants), not every Ray on the machine as `ray stop`
#   would, and waits until they are gone.
set -euo pipefail

usage() { echo "usage: $0 start|stop STATE_DIR PYTHON" >&2; exit 2; }
[ $# -eq 3 ] || usage
cmd=$1 state=$2 python=$3
ray_bin="$(dirname "$python")/ray"

export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 # loopback only (see above)
export RAY_DISABLE_DOCKER_CPU_WARNING=1
export RAY_USAGE_STATS_ENABLED=0

# Pids of this cluster: processes whose command line names its temp dir, plus
# all their descendants (ray::DashboardAgent, ray::IDLE workers and whatever
# the workers started).
cluster_pids() {
    local tmp=$1 roots=() all
    # "[/]tmp/..." so that this grep does not match its own command line
    mapfile -t roots < <(grep -la -- "[/]${tmp#/}/" /proc/[0-9]*/cmdline 2>/dev/null |
        sed -n 's|^/proc/\([0-9]*\)/cmdline$|\1|p' || true)
    [ ${#roots[@]} -gt 0 ] || return 0
    all=" ${roots[*]} "
    local table changed=1 pid ppid
    table=$(ps -eo pid=,ppid=)
    while [ $changed -eq 1 ]; do
        changed=0
        while read -r pid ppid; do
            if [[ $all == *" $ppid "* && $all != *" $pid "* ]]; then
                all+="$pid "
                changed=1
            fi
        done <<<"$table"
    done
    # shellcheck disable=SC2086 # word splitting trims the list
    echo $all
}

do_stop() {
    local tmp pids
    tmp=$(cat "$state/temp_dir" 2>/dev/null) || { echo "ray_local: no cluster recorded in $state" >&2; return 0; }
    [ -n "$tmp" ] || return 0
    pids=$(cluster_pids "$tmp")
    if [ -n "$pids" ]; then
        # SIGKILL as `ray stop --force` does: gcs_server and raylet may sit
        # on SIGTERM for over 10 s.
        # shellcheck disable=SC2086 # one argument per pid
        kill -KILL $pids 2>/dev/null || true
        for _ in $(seq 1 50); do # wait up to 10 s for them to go
            [ -n "$(cluster_pids "$tmp")" ] || break
            sleep 0.2
        done
    fi
    if [ -d "$tmp/session_latest/logs" ]; then
        rm -rf "$state/ray-logs"
        cp -rL "$tmp/session_latest/logs" "$state/ray-logs" 2>/dev/null || true
    fi
    rm -rf "$tmp"
    rm -f "$state/temp_dir" "$state/address"
    echo "ray_local: stopped" >&2
}

do_start() {
    [ -x "$ray_bin" ] || { echo "ray_local: no ray CLI at $ray_bin" >&2; exit 1; }
    mkdir -p "$state"
    if [ -s "$state/temp_dir" ]; then do_stop; fi
    local tmp port addr attempt ok=0
    for attempt in 1 2 3; do
        tmp=$(mktemp -d /tmp/rayl.XXXXXX)
        echo "$tmp" >"$state/temp_dir"
        port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        if "$ray_bin" start --head \
            --port="$port" \
            --num-cpus="$(nproc)" \
            --object-store-memory=$((256 * 1024 * 1024)) \
            --include-dashboard=false \
            --disable-usage-stats \
            --temp-dir="$tmp" >"$state/start.log" 2>&1; then
            ok=1
            break
        fi
        echo "ray_local: ray start failed (attempt $attempt), log:" >&2
        tail -n 20 "$state/start.log" >&2
        do_stop
    done
    [ $ok -eq 1 ] || exit 1
    addr="127.0.0.1:$port"
    # `ray start` returns once the GCS is up; make sure a driver can connect
    # and run a task.
    if ! timeout -s KILL 120 "$python" - "$addr" >>"$state/start.log" 2>&1 <<'EOF'; then
import sys, ray
ray.init(address=sys.argv[1], log_to_driver=False)
assert ray.get(ray.remote(lambda: 1).remote()) == 1
ray.shutdown()
EOF
        echo "ray_local: head started but no driver could use it, log:" >&2
        tail -n 20 "$state/start.log" >&2
        do_stop
        exit 1
    fi
    echo "$addr" >"$state/address"
    echo "$addr"
}

case $cmd in
    start) do_start ;;
    stop) do_stop ;;
    *) usage ;;
esac
