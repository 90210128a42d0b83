#!/usr/bin/env bash
# The test command (README): installs what the tests need on a bare machine, then runs
# rustfmt, clippy and every test with every backend compiled in:
#   - lavapipe (Mesa's software Vulkan) so the wgpu backend runs WGSL for real;
#   - NVRTC + ptxas from PyPI wheels (in .venv) so every .cu is compiled and checked for spills;
#   - g++ runs the same .cu files on the CPU through tools/cuda_host (the parity tests);
#   - a TrueType font (DejaVu) for the PNG/SVG figures;
#   - gymnasium, pettingzoo, maturin, pytest and jax (PyPI) for the Python package (built into
#     .venv) and its examples.
# Usage: tools/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

say() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

if ! dpkg -s mesa-vulkan-drivers libvulkan1 >/dev/null 2>&1; then
  say "installing lavapipe (mesa-vulkan-drivers)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers libvulkan1 >/dev/null
fi
if ! dpkg -s fonts-dejavu-core >/dev/null 2>&1 && [ -z "${MECRL_FONT:-}" ]; then
  say "installing a TrueType font for the figures (fonts-dejavu-core)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends fonts-dejavu-core >/dev/null
fi
if ! command -v g++ >/dev/null; then
  say "installing g++"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends g++ >/dev/null
fi

VENV="$ROOT/.venv"
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then
  say "creating $VENV"
  python3 -m venv "$VENV"
fi
if ! "$PY" -c "import nvidia, numpy" 2>/dev/null || [ ! -x "$("$PY" -c 'import site;print(site.getsitepackages()[0])')/nvidia/cu13/bin/ptxas" ]; then
  say "installing NVRTC, ptxas and numpy wheels"
  "$PY" -m pip install -q --disable-pip-version-check \
    nvidia-cuda-nvrtc==13.5.37 nvidia-cuda-nvcc==13.5.37 nvidia-cuda-cccl==13.3.5.0.6 numpy
fi
SITE=$("$PY" -c 'import site;print(site.getsitepackages()[0])')
export LD_LIBRARY_PATH="$SITE/nvidia/cu13/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export MECRL_PTXAS="$SITE/nvidia/cu13/bin/ptxas"
export MECRL_CUDA_INCLUDE="$SITE/nvidia/cu13/include"
# In this script a missing backend is a failure, not a skip.
export MECRL_REQUIRE_NVRTC=1 MECRL_REQUIRE_WGPU=1 MECRL_REQUIRE_CUDA_HOST=1
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"
export MESA_SHADER_CACHE_DIR="$ROOT/target/mesa-cache"

say "rustfmt"
cargo fmt --all -- --check

say "clippy (all targets, all features; the Python bindings)"
cargo clippy --all-targets --all-features -q -- -D warnings
cargo clippy -p mecrl-python -q -- -D warnings

say "rustdoc (warnings denied: broken links, private items, HTML in docs)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features -q

say "tests (all features: cpu, wgpu on lavapipe, CUDA host shim, NVRTC)"
cargo test --all-features -q "$@"

say "the Python package (python/: maturin wheel into $VENV) and its tests"
if ! "$PY" -c "import gymnasium, pettingzoo, maturin, pytest, jax" 2>/dev/null; then
  "$PY" -m pip install -q --disable-pip-version-check gymnasium pettingzoo maturin pytest jax
fi
# built in place with the venv's maturin (no isolated build environment to download; its
# PEP 517 hook runs `maturin` from PATH)
PATH="$VENV/bin:$PATH" "$PY" -m pip install -q --disable-pip-version-check --no-build-isolation ./python
"$PY" -m pytest -q -p no:cacheprovider python/tests

say "all tests passed"
