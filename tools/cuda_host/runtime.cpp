// runtime.cpp — the launch side of the CUDA host shim (see cuda_host.h, README.md). Compiled as
// its own translation unit: it uses the C++ standard library, the kernels must not.
#include <barrier>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cuda_host.h"

thread_local uint3 threadIdx = {0, 0, 0};
thread_local uint3 blockIdx = {0, 0, 0};
dim3 blockDim = {1, 1, 1};
dim3 gridDim = {1, 1, 1};

namespace {

// One OS thread per GPU thread of a block, kept alive between launches (never destroyed: the
// library is never unloaded). Blocks are handed to the workers one at a time; `sync` is the
// block's __syncthreads barrier, rebuilt for every block. A thread that returns drops out of it,
// as an exited GPU thread no longer takes part in bar.sync.
struct Pool {
    unsigned int size;
    std::barrier<> start;
    std::barrier<> done;
    std::unique_ptr<std::barrier<>> sync;
    void (*body)(void*) = nullptr;
    void* ctx = nullptr;
    uint3 block = {0, 0, 0};

    explicit Pool(unsigned int n) : size(n), start(n + 1), done(n + 1) {
        for (unsigned int t = 0; t < n; ++t) {
            std::thread([this, t] {
                for (;;) {
                    start.arrive_and_wait();
                    threadIdx = {t, 0, 0};
                    blockIdx = block;
                    body(ctx);
                    sync->arrive_and_drop();
                    done.arrive_and_wait();
                }
            }).detach();
        }
    }
};

Pool* pool_for(unsigned int n) {
    static std::mutex mu;
    static std::vector<Pool*> pools;
    std::lock_guard<std::mutex> g(mu);
    for (Pool* p : pools)
        if (p->size == n) return p;
    pools.push_back(new Pool(n));
    return pools.back();
}

// The pool running the current launch (null in sequential mode).
Pool* current = nullptr;
// __syncthreads was called by a kernel launched in sequential mode.
bool misuse = false;

} // namespace

void __syncthreads() {
    if (current != nullptr)
        current->sync->arrive_and_wait();
    else
        misuse = true;
}

extern "C" int mecrl_host_run_grid(unsigned int gx, unsigned int gy, unsigned int block, int threaded,
                                   void (*body)(void*), void* ctx) {
    gridDim = {gx, gy, 1};
    blockDim = {block, 1, 1};
    misuse = false;
    if (threaded) {
        Pool* p = pool_for(block);
        current = p;
        p->body = body;
        p->ctx = ctx;
        for (unsigned int by = 0; by < gy; ++by) {
            for (unsigned int bx = 0; bx < gx; ++bx) {
                p->block = {bx, by, 0};
                p->sync = std::make_unique<std::barrier<>>(block);
                p->start.arrive_and_wait();
                p->done.arrive_and_wait();
            }
        }
        current = nullptr;
        return 0;
    }
    for (unsigned int by = 0; by < gy; ++by) {
        for (unsigned int bx = 0; bx < gx; ++bx) {
            blockIdx = {bx, by, 0};
            for (unsigned int t = 0; t < block; ++t) {
                threadIdx = {t, 0, 0};
                body(ctx);
            }
        }
    }
    return misuse ? 1 : 0;
}
