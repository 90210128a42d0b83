#!/usr/bin/env bash
# The test command (README "Tests"): rustfmt, clippy, rustdoc and every test with every backend
# compiled in, then the Python package's tests.
#
# To test every backend without a GPU it installs, when missing (README lists sizes):
#   - Debian: mesa-vulkan-drivers + libvulkan1 (lavapipe: the wgpu backend runs WGSL for real),
#     fonts-dejavu-core (text in figures), g++ (tools/cuda_host runs every .cu file on the CPU);
#   - PyPI into ./.venv: NVRTC + ptxas wheels (every .cu compiled and checked for spills), numpy,
#     gymnasium, pettingzoo, maturin, pytest, jax (the Python package, its tests and examples),
#     ray (the sweep's Ray executor);
#   - Debian: slurm-wlm + munge (the sweep's Slurm executor).
# The sweep tests run on real engines started here: a local Ray head (tools/ray_local.sh) and a
# single-node Slurm (tools/slurm_local.sh), both stopped when this script exits.
# Usage: tools/test.sh [--no-install] [extra cargo test args]
#   --no-install  install nothing; run what this machine already supports and say what was skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

INSTALL=1
if [ "${1:-}" = "--no-install" ]; then
  INSTALL=0
  shift
fi
SKIPPED=()
say() { printf '\n== %s\n' "$*"; }
skip() { SKIPPED+=("$*"); printf '   skipped: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
have_deb() { dpkg -s "$@" >/dev/null 2>&1; }
apt_install() {
  say "installing $* (apt)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- system packages -------------------------------------------------------------------------
HAVE_VULKAN=1
if ! have_deb mesa-vulkan-drivers libvulkan1; then
  if [ $INSTALL = 1 ]; then apt_install mesa-vulkan-drivers libvulkan1; else HAVE_VULKAN=0; fi
fi
FONT_OK=1
font_found() {
  [ -n "${MECRL_FONT:-}" ] && return 0
  for f in /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/TTF/DejaVuSans.ttf \
    /usr/share/fonts/dejavu/DejaVuSans.ttf /usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf \
    /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf; do
    [ -f "$f" ] && return 0
  done
  return 1
}
if ! font_found; then
  if [ $INSTALL = 1 ]; then apt_install fonts-dejavu-core; else FONT_OK=0; fi
fi
HAVE_GXX=1
if ! command -v g++ >/dev/null; then
  if [ $INSTALL = 1 ]; then apt_install g++; else HAVE_GXX=0; fi
fi

# --- Python environment (NVRTC/ptxas wheels, the Python package's tools) ----------------------
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
if [ ! -x "$PY" ] && [ $INSTALL = 1 ]; then
  say "creating $VENV"
  python3 -m venv "$VENV"
fi
HAVE_NVRTC=0
SITE=""
if [ -x "$PY" ]; then
  SITE=$("$PY" -c 'import site;print(site.getsitepackages()[0])')
  if ! "$PY" -c "import nvidia, numpy" 2>/dev/null || [ ! -x "$SITE/nvidia/cu13/bin/ptxas" ]; then
    if [ $INSTALL = 1 ]; then
      say "installing NVRTC, ptxas and numpy wheels"
      "$PY" -m pip install -q --disable-pip-version-check \
        nvidia-cuda-nvrtc==13.5.37 nvidia-cuda-nvcc==13.5.37 nvidia-cuda-cccl==13.3.5.0.6 numpy
    fi
  fi
  [ -x "$SITE/nvidia/cu13/bin/ptxas" ] && HAVE_NVRTC=1
fi

# --- what the tests require (a missing backend is a failure, unless --no-install found it missing)
if [ $HAVE_NVRTC = 1 ]; then
  export LD_LIBRARY_PATH="$SITE/nvidia/cu13/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export MECRL_PTXAS="$SITE/nvidia/cu13/bin/ptxas"
  export MECRL_CUDA_INCLUDE="$SITE/nvidia/cu13/include"
  export MECRL_REQUIRE_NVRTC=1
else
  skip "NVRTC/ptxas compile checks of the CUDA kernels (pip install nvidia-cuda-nvrtc==13.5.37 nvidia-cuda-nvcc==13.5.37 nvidia-cuda-cccl==13.3.5.0.6 into .venv)"
fi
if [ $HAVE_VULKAN = 1 ]; then
  export MECRL_REQUIRE_WGPU=1
else
  skip "wgpu parity tests on lavapipe (apt-get install mesa-vulkan-drivers libvulkan1)"
fi
if [ $HAVE_GXX = 1 ] && [ $HAVE_NVRTC = 1 ]; then
  export MECRL_REQUIRE_CUDA_HOST=1
else
  skip "CUDA host-shim parity tests (need g++ and the cccl headers of the NVRTC wheels)"
fi
EXTRA_SKIP=()
if [ $FONT_OK = 0 ]; then
  skip "tests that draw figures (apt-get install fonts-dejavu-core, or MECRL_FONT=/path/to/font.ttf)"
  # by name: the tests that write figures (keep in step with new ones)
  EXTRA_SKIP=(-- --skip experiment::plot --skip dirs_reproduce --skip figures --skip resume_is_bit_identical
    --skip run_dirs_trains --skip mrlco::pipeline)
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"
export MESA_SHADER_CACHE_DIR="$ROOT/target/mesa-cache"

# --- the sweep's engines: a local Ray head and a single-node Slurm ----------------------------
ENGINES=$(mktemp -d /tmp/mecrl-engines.XXXXXX)
RAY_UP=0
SLURM_UP=0
stop_engines() {
  [ $RAY_UP = 1 ] && tools/ray_local.sh stop "$ENGINES/ray" "$PY" >/dev/null 2>&1 || true
  [ $SLURM_UP = 1 ] && tools/slurm_local.sh stop "$ENGINES/slurm" >/dev/null 2>&1 || true
  rm -rf "$ENGINES"
}
trap stop_engines EXIT
if [ -x "$PY" ] && ! "$PY" -c "import ray" 2>/dev/null && [ $INSTALL = 1 ]; then
  say "installing ray (the sweep's Ray executor)"
  "$PY" -m pip install -q --disable-pip-version-check ray
fi
if [ -x "$PY" ] && "$PY" -c "import ray" 2>/dev/null; then
  say "starting a local Ray head"
  mkdir -p "$ENGINES/ray"
  MECRL_TEST_RAY_ADDRESS=$(tools/ray_local.sh start "$ENGINES/ray" "$PY" | tail -1)
  RAY_UP=1
  export MECRL_TEST_RAY_ADDRESS MECRL_TEST_RAY_PYTHON="$PY" MECRL_REQUIRE_RAY=1
  echo "   ray head at $MECRL_TEST_RAY_ADDRESS"
else
  skip "the sweep's Ray executor tests (pip install ray into .venv)"
fi
if [ $INSTALL = 1 ] || command -v slurmctld >/dev/null; then
  say "starting a single-node Slurm"
  mkdir -p "$ENGINES/slurm"
  [ $INSTALL = 1 ] || export SLURM_LOCAL_NO_INSTALL=1
  eval "$(tools/slurm_local.sh start "$ENGINES/slurm" | tail -1)"
  SLURM_UP=1
  export SLURM_CONF MECRL_REQUIRE_SLURM=1
  echo "   SLURM_CONF=$SLURM_CONF"
else
  skip "the sweep's Slurm executor tests (apt-get install slurm-wlm munge)"
fi

say "rustfmt"
cargo fmt --all -- --check

say "clippy (all targets, all features; the Python bindings)"
cargo clippy --all-targets --all-features -q -- -D warnings
cargo clippy -p mecrl-python -q -- -D warnings

say "rustdoc (warnings denied: broken links, private items, HTML in docs)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features -q

say "tests (all features: cpu, wgpu on lavapipe, CUDA host shim, NVRTC)"
if [ $# -gt 0 ] || [ ${#EXTRA_SKIP[@]} -gt 0 ]; then
  cargo test --all-features -q "$@" "${EXTRA_SKIP[@]}"
else
  cargo test --all-features -q
fi

say "the Rust examples (small runs)"
cargo run --all-features -q --example step_env
cargo run --all-features -q --example read_results -- configs/mec.toml

say "the Python package (python/: maturin wheel into $VENV) and its tests"
PY_OK=0
if [ -x "$PY" ]; then
  if "$PY" -c "import gymnasium, pettingzoo, maturin, pytest, jax" 2>/dev/null; then
    PY_OK=1
  elif [ $INSTALL = 1 ]; then
    "$PY" -m pip install -q --disable-pip-version-check gymnasium pettingzoo maturin pytest jax
    PY_OK=1
  fi
fi
if [ $PY_OK = 1 ]; then
  # built in place with the venv's maturin (no isolated build environment to download; its
  # PEP 517 hook runs `maturin` from PATH)
  PATH="$VENV/bin:$PATH" "$PY" -m pip install -q --disable-pip-version-check --no-build-isolation ./python
  "$PY" -m pytest -q -p no:cacheprovider python/tests
else
  skip "the Python package's tests (a .venv with gymnasium pettingzoo maturin pytest jax)"
fi

if [ ${#SKIPPED[@]} -gt 0 ]; then
  say "passed, with these parts skipped (--no-install):"
  printf '   - %s\n' "${SKIPPED[@]}"
else
  say "all tests passed"
fi
