"""Run sweep points as tasks on an existing Ray cluster (the sweep's Ray executor).

Usage:
    PYTHON tools/sweep_ray.py --address HOST:PORT --mecrl MECRL_BIN --dir SWEEP_DIR \
        --indices 0,1,2 --retries R [--cpus-per-point C] [--connect-timeout S]

Each point is one Ray task (num_cpus=C) that runs
`MECRL_BIN sweep run-point SWEEP_DIR --index I` with RAYON_NUM_THREADS=C
(exit 0: done; 2: the point failed; anything else: crashed). Ray itself
re-runs a task whose worker process died, up to R times (max_retries=R); on
top of that a point whose attempt failed (nonzero exit, or a Ray error such as
WorkerCrashedError once Ray's own retries are used up) is submitted again until
it has been attempted R+1 times.

Events go to stdout as JSON lines, one per line, flushed:
    {"event":"submitted","count":n}
    {"event":"done","index":i,"rc":0,"host":h,"pid":p,"attempt":k}
    {"event":"failed","index":i,"rc":rc,"stderr":"...","attempt":k,"final":b}
        final: no further attempt follows (b false: a "retry" event comes next)
        rc is the exit status, -N when killed by signal N, null for a Ray error
        (then "stderr" holds the error's text)
    {"event":"retry","index":i,"attempt":k}       k: the attempt now submitted
    {"event":"end","done":d,"failed":f}
Nothing else is written to stdout: before ray is imported, file descriptor 1
is moved aside for the events and pointed at stderr, where all of Ray's own
output (and anything else) goes.

Exit status: 0 all points done, 1 some failed, 3 Ray could not be used
(no connection within --connect-timeout, or no node can give C CPUs).

When the Ray worker running a point dies, the raylet kills the worker's child
processes (Ray's kill_child_processes_on_worker_exit, on by default); the point's
process also gets PR_SET_PDEATHSIG=SIGKILL, so that a retried point never runs
beside an orphan of its earlier attempt even without the raylet.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading

STDERR_TAIL = 4000  # characters of a failed point's stderr that are kept


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--address", required=True, help="Ray cluster, HOST:PORT")
    ap.add_argument("--mecrl", required=True, help="the mecrl binary")
    ap.add_argument("--dir", required=True, help="the sweep directory")
    ap.add_argument("--cwd", default=None, help="working directory of the points (default: the worker's)")
    ap.add_argument("--indices", required=True, help="comma-separated point indices")
    ap.add_argument("--retries", type=int, default=0, help="retries per point")
    ap.add_argument("--cpus-per-point", type=int, default=1)
    ap.add_argument("--connect-timeout", type=float, default=60.0, help="seconds")
    args = ap.parse_args()
    args.indices = [int(s) for s in args.indices.split(",") if s.strip()]
    if args.retries < 0 or args.cpus_per_point < 1:
        ap.error("--retries must be >= 0 and --cpus-per-point >= 1")
    return args


def fail_ray(msg):
    print(f"sweep_ray: {msg}", file=sys.stderr, flush=True)
    os._exit(3)  # also works from the watchdog thread and past a hung ray.init


def run_point(mecrl, sweep_dir, index, cpus, cwd):
    """Body of the Ray task: run one point, return what the driver reports."""
    import ctypes

    parent = os.getpid()
    prctl = ctypes.CDLL(None).prctl  # looked up before fork: no dlopen in the child

    def die_with_parent():  # runs in the child between fork and exec
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the worker died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    proc = subprocess.run(
        [mecrl, "sweep", "run-point", sweep_dir, "--index", str(index)],
        env=dict(os.environ, RAYON_NUM_THREADS=str(cpus)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=die_with_parent,
        cwd=cwd if cwd and os.path.isdir(cwd) else None,
    )
    tail = proc.stderr.decode("utf-8", "replace")[-STDERR_TAIL:]
    return index, proc.returncode, tail, socket.gethostname(), os.getpid()


def exit_with_parent():
    """The sweep (mecrl) that started this driver died: stop, so Ray cancels our tasks."""
    parent = os.getppid()
    while True:
        threading.Event().wait(0.5)
        if os.getppid() != parent:
            os._exit(4)


def main():
    args = parse_args()
    threading.Thread(target=exit_with_parent, daemon=True).start()

    # Keep stdout for the events only: whatever else writes to fd 1 (Ray's
    # C++ core, libraries) lands on stderr.
    events = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def emit(**ev):
        events.write(json.dumps(ev) + "\n")
        events.flush()

    host, _, port = args.address.rpartition(":")
    if host in ("127.0.0.1", "localhost", "::1", "[::1]"):
        # Without this Ray replaces a loopback address with the host's outside
        # address and never reaches a head bound to loopback (see ray_local.sh).
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except (OSError, ValueError) as e:
        fail_ray(f"cannot reach the Ray cluster at {args.address}: {e}")

    try:
        import ray
    except ImportError as e:
        fail_ray(f"cannot import ray with {sys.executable}: {e}")

    # ray.init retries forever (and ignores SIGTERM) when the GCS does not answer.
    watchdog = threading.Timer(
        args.connect_timeout,
        fail_ray,
        [f"no connection to the Ray cluster at {args.address} within {args.connect_timeout:g} s"],
    )
    watchdog.daemon = True
    watchdog.start()
    try:
        ray.init(address=args.address, log_to_driver=False, logging_level="WARNING")
    except Exception as e:  # ConnectionError, RuntimeError, ...
        fail_ray(f"cannot connect to the Ray cluster at {args.address}: {e}")
    watchdog.cancel()

    node_cpus = [n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"]]
    if max(node_cpus, default=0) < args.cpus_per_point:
        fail_ray(f"no node of the Ray cluster has {args.cpus_per_point} CPUs (nodes: {node_cpus})")

    task = ray.remote(run_point).options(
        num_cpus=args.cpus_per_point, max_retries=args.retries, retry_exceptions=False
    )
    pending = {}  # ObjectRef -> (index, attempt)

    def submit(index, attempt):
        ref = task.remote(args.mecrl, args.dir, index, args.cpus_per_point, args.cwd)
        pending[ref] = (index, attempt)

    for i in args.indices:
        submit(i, 1)
    emit(event="submitted", count=len(args.indices))

    done = failed = 0
    while pending:
        [ref], _ = ray.wait(list(pending), num_returns=1)
        index, attempt = pending.pop(ref)
        try:
            _, rc, err, host, pid = ray.get(ref)
        except ray.exceptions.RayError as e:
            rc, err, host, pid = None, f"{type(e).__name__}: {e}"[-STDERR_TAIL:], None, None
        if rc == 0:
            done += 1
            emit(event="done", index=index, rc=0, host=host, pid=pid, attempt=attempt)
            continue
        emit(event="failed", index=index, rc=rc, stderr=err, attempt=attempt, final=attempt > args.retries)
        if attempt <= args.retries:
            emit(event="retry", index=index, attempt=attempt + 1)
            submit(index, attempt + 1)
        else:
            failed += 1

    emit(event="end", done=done, failed=failed)
    ray.shutdown()
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
