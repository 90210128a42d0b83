"""`mecrl.run` and `mecrl.reproduce`: the CLI's runs and reproductions from Python, with the
same run directories, their CSV tables read back as columns of numpy arrays."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

from . import _native


def read_csv(path: Path) -> dict:
    """A CSV file as {column: numpy array} (float64 where every value parses, else str)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    head, body = rows[0], rows[1:]
    out = {}
    for k, name in enumerate(head):
        col = [r[k] if k < len(r) else "" for r in body]
        try:
            out[name] = np.array([float(x) for x in col], dtype=np.float64)
        except ValueError:
            out[name] = np.array(col, dtype=str)
    return out


def _tables(d: Path) -> dict:
    return {p.stem: read_csv(p) for p in sorted(d.glob("*.csv"))}


def run(config, backend: str | None = None, seed: int | None = None, out: str | os.PathLike | None = None) -> dict:
    """Run a config (a path to a TOML file, or TOML text) as `mecrl run` does; `backend`,
    `seed` and `out` override the config's. Returns {"dir", "table", "summary", "results"}:
    the run directory, the printed table, the manifest's summary and every CSV of the
    directory as columns."""
    path = Path(config) if isinstance(config, os.PathLike) or (isinstance(config, str) and "\n" not in config
                                                                and Path(config).is_file()) else None
    if path is not None:
        text, name = path.read_text(), str(path)
    elif isinstance(config, str):
        text, name = config, "<python>"
    else:
        raise _native.Error(f"config error: config = {type(config).__name__}: expected a TOML file path or TOML text")
    d, table, summary = _native.run(text, name, backend, seed, None if out is None else str(out))
    d = Path(d)
    return {"dir": d, "table": table, "summary": json.loads(summary), "results": _tables(d)}


def reproduce(system: str, quick: bool = False, seed: int = 1, out: str | os.PathLike | None = None,
              backend: str = "cpu", profile: str = "mecrl") -> dict:
    """`mecrl reproduce <system> [--quick]` (dirs, mrlco, mappo, o2o, crbdrqn): the paper's tables and figures in
    `out` (default runs/reproduce-<system>[-quick][-calibrated], resumable). `profile` (dirs only):
    the `mec` constants, "mecrl" or "calibrated" (docs/mec.md "Profiles"). Returns {"dir", "summary",
    "tables"}: the directory, the summary (markdown) and every CSV there as columns."""
    tail = ("-quick" if quick else "") + ("" if profile == "mecrl" else f"-{profile}")
    d = Path(out) if out is not None else Path("runs") / (f"reproduce-{system}" + tail)
    md = _native.reproduce(system, str(d), quick, seed, backend, profile)
    return {"dir": d, "summary": md, "tables": _tables(d)}
