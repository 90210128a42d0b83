# Source me: the environment of the AC/DDPG tests (lavapipe wgpu, NVRTC and the CUDA host shim).
export XDG_RUNTIME_DIR=/tmp/xdg-acddpg; mkdir -p $XDG_RUNTIME_DIR; chmod 700 $XDG_RUNTIME_DIR
SITE=$(/work/main/.venv/bin/python -c 'import site;print(site.getsitepackages()[0])')
export LD_LIBRARY_PATH=$SITE/nvidia/cu13/lib MECRL_PTXAS=$SITE/nvidia/cu13/bin/ptxas MECRL_CUDA_INCLUDE=$SITE/nvidia/cu13/include MECRL_REQUIRE_NVRTC=1 MECRL_REQUIRE_WGPU=1 MECRL_REQUIRE_CUDA_HOST=1
export CARGO_TARGET_DIR=/work/target-acddpg
