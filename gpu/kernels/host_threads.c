/* The BFS bodies compiled as plain C for the host, run by n POSIX threads at
 * once (gpu/build.rs): thread i passes (i, n) as a GPU thread passes its
 * index and the grid's size, atomics are real, and a barrier stands for the
 * block's __syncthreads (thin) or for the boundary between two launches
 * (wide). With n = 1 that is the plain in-order run; with more, the tests
 * exercise the counters' resets and appends racing, and every thread
 * leaving the thin loop at the same level. Every host BFS batch runs here. */
#define _POSIX_C_SOURCE 200809L
#define CATALYTIC_HOST 1
#define CATALYTIC_HOST_THREADS 1
#include <pthread.h>
#include <stddef.h>
#include "common.cuh"
#include "bfs.cuh"

_Thread_local pthread_barrier_t *cat_block_barrier;

/* What every thread of one run needs. */
typedef struct {
  u64 wide, level0, levels, thin_max;
  const u64 *p;
  u64 *tiles0, *bits0, *tiles1, *bits1, *cand, *touched, *state;
  const u64 *blocked;
  u64 *ctl;
  u64 stop_tile, stop_mask, threads;
  pthread_barrier_t barrier;
} cat_run;

typedef struct {
  cat_run *run;
  u64 index;
} cat_thread;

/* Wide: `levels` levels, each pass followed by a barrier, as each launch is
 * by the next one's start. Thin: the block body itself. */
static void *cat_thread_main(void *arg) {
  cat_thread *t = arg;
  cat_run *r = t->run;
  u64 i = t->index, n = r->threads;
  cat_block_barrier = &r->barrier;
  if (!r->wide) {
    cat_thin_body(i, n, r->p, r->level0, r->levels, r->thin_max, r->tiles0, r->bits0, r->tiles1,
                  r->bits1, r->cand, r->touched, r->state, r->blocked, r->ctl, r->stop_tile,
                  r->stop_mask);
    return NULL;
  }
  for (u64 k = 0; k < r->levels; k++) {
    u64 level = r->level0 + k, par = level & 1ULL;
    u64 *cur_tiles = par ? r->tiles1 : r->tiles0, *cur_bits = par ? r->bits1 : r->bits0;
    u64 *next_tiles = par ? r->tiles0 : r->tiles1, *next_bits = par ? r->bits0 : r->bits1;
    cat_expand_body(i, n, r->p, par, cur_tiles, cur_bits, r->cand, r->touched, r->ctl);
    CAT_SYNC();
    cat_settle_body(i, n, par, (level + 1) % 3, k, r->touched, r->cand, r->state, r->blocked,
                    next_tiles, next_bits, r->ctl, r->stop_tile, r->stop_mask);
    CAT_SYNC();
  }
  return NULL;
}

/* Runs one batch on `threads` threads (at most 64); 0 on success. Test code
 * only (the tests' HostExec). */
int cat_host_bfs_threads(u64 threads, u64 wide, u64 level0, u64 levels, u64 thin_max,
                         const u64 *p, u64 *tiles0, u64 *bits0, u64 *tiles1, u64 *bits1,
                         u64 *cand, u64 *touched, u64 *state, const u64 *blocked, u64 *ctl,
                         u64 stop_tile, u64 stop_mask) {
  if (threads == 0 || threads > 64) return -1;
  cat_run run = {.wide = wide, .level0 = level0, .levels = levels, .thin_max = thin_max,
                 .p = p, .tiles0 = tiles0, .bits0 = bits0, .tiles1 = tiles1, .bits1 = bits1,
                 .cand = cand, .touched = touched, .state = state, .blocked = blocked,
                 .ctl = ctl, .stop_tile = stop_tile, .stop_mask = stop_mask, .threads = threads};
  if (pthread_barrier_init(&run.barrier, NULL, (unsigned)threads) != 0) return -1;
  pthread_t ids[64];
  cat_thread args[64];
  u64 started = 0;
  int failed = 0;
  for (; started < threads; started++) {
    args[started] = (cat_thread){&run, started};
    if (pthread_create(&ids[started], NULL, cat_thread_main, &args[started]) != 0) {
      failed = 1;
      break;
    }
  }
  /* A thread that failed to start would leave the others at the barrier
   * forever: abort the process rather than hang (never seen in practice). */
  if (failed && started > 0) __builtin_trap();
  for (u64 k = 0; k < started; k++) pthread_join(ids[k], NULL);
  pthread_barrier_destroy(&run.barrier);
  return failed ? -1 : 0;
}
