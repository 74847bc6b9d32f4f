/* The GPU entry points: each runs its body (bfs.cuh, mask.cuh,
 * transform.cuh, components.cuh) as a grid-stride loop (cat_bfs_thin: a
 * block-stride loop). NVRTC compiles common.cuh + the bodies + this file as
 * one source (gpu/src/kernels.rs), so there are no #includes to resolve. */

#define CAT_THREAD_FIRST ((u64)blockIdx.x * blockDim.x + threadIdx.x)
#define CAT_THREAD_STEP ((u64)gridDim.x * blockDim.x)

extern "C" __global__ void cat_bfs_expand(const u64 *p, u64 par, const u64 *front_tiles,
                                          const u64 *front_bits, u64 *cand, u64 *touched,
                                          u64 *ctl) {
  cat_expand_body(CAT_THREAD_FIRST, CAT_THREAD_STEP, p, par, front_tiles, front_bits, cand,
                  touched, ctl);
}

extern "C" __global__ void cat_bfs_settle(u64 par, u64 next_code, u64 slot, const u64 *touched,
                                          u64 *cand, u64 *state, const u64 *blocked,
                                          u64 *front_tiles, u64 *front_bits, u64 *ctl,
                                          u64 stop_tile, u64 stop_mask) {
  cat_settle_body(CAT_THREAD_FIRST, CAT_THREAD_STEP, par, next_code, slot, touched, cand, state,
                  blocked, front_tiles, front_bits, ctl, stop_tile, stop_mask);
}

/* One block of CAT_THIN_THREADS (gpu/src/cuda.rs launches exactly that; the
 * bound keeps the register count low enough for the block to fit an SM),
 * running at most CAT_THIN_LEVELS levels (levels.rs THIN_LEVELS; the tests
 * keep both in step with the Rust constants).
 *
 * The counters move into shared memory for the launch: every level appends
 * to them and the barriers wait on those appends, and a shared-memory
 * atomic answers in tens of cycles where one in L2 takes hundreds. The body
 * reaches them through a generic pointer, as it does global memory. */
#define CAT_THIN_THREADS 1024
#define CAT_THIN_LEVELS 1024
extern "C" __global__ void __launch_bounds__(CAT_THIN_THREADS)
    cat_bfs_thin(const u64 *p, u64 level0, u64 max_levels, u64 thin_max, u64 *tiles0,
                 u64 *bits0, u64 *tiles1, u64 *bits1, u64 *cand, u64 *touched, u64 *state,
                 const u64 *blocked, u64 *ctl, u64 stop_tile, u64 stop_mask) {
  __shared__ u64 counters[CAT_CTL_LEVELS + CAT_THIN_LEVELS];
  if (max_levels > CAT_THIN_LEVELS) max_levels = CAT_THIN_LEVELS;
  u64 words = CAT_CTL_LEVELS + max_levels;
  for (u64 i = threadIdx.x; i < words; i += blockDim.x) counters[i] = ctl[i];
  __syncthreads();
  cat_thin_body(threadIdx.x, blockDim.x, p, level0, max_levels, thin_max, tiles0, bits0, tiles1,
                bits1, cand, touched, state, blocked, counters, stop_tile, stop_mask);
  __syncthreads();
  for (u64 i = threadIdx.x; i < words; i += blockDim.x) ctl[i] = counters[i];
}

extern "C" __global__ void cat_tile_mask(const u64 *p, u64 seed, u64 below, u64 all, u64 *mask) {
  cat_tile_mask_body(CAT_THREAD_FIRST, CAT_THREAD_STEP, p, seed, below, all, mask);
}

extern "C" __global__ void cat_vertex_mask(u64 n, u64 seed, u64 below, u64 all, u64 *mask) {
  cat_vertex_mask_body(CAT_THREAD_FIRST, CAT_THREAD_STEP, n, seed, below, all, mask);
}

extern "C" __global__ void cat_xor(unsigned char *data, u64 n, const unsigned char *key,
                                   u64 key_len) {
  cat_xor_body(CAT_THREAD_FIRST, CAT_THREAD_STEP, data, n, key, key_len);
}

extern "C" __global__ void cat_scale(float *data, u64 n, float factor) {
  cat_scale_body(CAT_THREAD_FIRST, CAT_THREAD_STEP, data, n, factor);
}

extern "C" __global__ void cat_label_init(u64 n, const u64 *blocked, u64 *label) {
  cat_label_init_body(CAT_THREAD_FIRST, CAT_THREAD_STEP, n, blocked, label);
}

extern "C" __global__ void cat_hook(u64 n, const u64 *q, const u64 *blocked, u64 *label,
                                    u64 *changed) {
  cat_hook_body(CAT_THREAD_FIRST, CAT_THREAD_STEP, n, q, blocked, label, changed);
}

extern "C" __global__ void cat_shortcut(u64 n, u64 *label, u64 *changed) {
  cat_shortcut_body(CAT_THREAD_FIRST, CAT_THREAD_STEP, n, label, changed);
}

extern "C" __global__ void cat_tally(u64 n, u64 size0, const u64 *label, u64 *size, u64 *span) {
  cat_tally_body(CAT_THREAD_FIRST, CAT_THREAD_STEP, n, size0, label, size, span);
}

extern "C" __global__ void cat_roots(u64 n, const u64 *label, const u64 *size, const u64 *span,
                                     u64 *root_size, u64 *root_span, u64 *roots) {
  cat_roots_body(CAT_THREAD_FIRST, CAT_THREAD_STEP, n, label, size, span, root_size, root_span,
                 roots);
}
