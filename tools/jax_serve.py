"""The command line the JAX references of `mecrl bench` share (tools/bench_*_jax.py): integer
size arguments, `--serve` (first line: JSON {"jax_version", "device"}; then each stdin line
"NAME STEPS" is answered with the seconds per call of runner NAME), or a one-shot timing
(warm-up, then the median of `--reps` blocks of `--steps` calls) printed as JSON."""
import argparse
import json
import sys

import jax


def info():
    return {"jax_version": jax.__version__, "device": str(jax.devices()[0])}


def main(defaults, make_runners, timed, key):
    """`defaults`: (name, int default) pairs (with "steps" and "reps"); `make_runners(args)`:
    {name: fn(steps) -> seconds per call}; `timed`: the runner of the one-shot timing, reported
    under `key`."""
    ap = argparse.ArgumentParser()
    for name, default in defaults:
        ap.add_argument(f"--{name}", type=int, default=default)
    ap.add_argument("--serve", action="store_true", help="answer timing requests on stdin")
    x = ap.parse_args()
    rs = make_runners(x)
    if x.serve:
        print(json.dumps(info()), flush=True)
        for line in sys.stdin:
            name, steps = line.split()
            print(repr(rs[name](int(steps))), flush=True)
        return
    rs[timed](x.steps)  # warm-up (and compile)
    times = sorted(rs[timed](x.steps) for _ in range(x.reps))
    print(json.dumps({key: times[len(times) // 2], **info()}))
