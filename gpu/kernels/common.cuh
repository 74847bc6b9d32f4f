/* Shared by every kernel file: the few things that differ between the GPU
 * (NVRTC compiles these files as CUDA C++) and the host (the test build
 * compiles the same files as plain C, see host.c and host_threads.c), so
 * each kernel's body is one function that both run.
 *
 * A body takes (first, step): the GPU passes its global thread index and the
 * grid's thread count (a grid-stride loop); the host passes (0, 1) and so
 * walks every item in order on one thread, or, in the threaded host build
 * (CATALYTIC_HOST_THREADS), (i, n) on n POSIX threads with real atomics and
 * a barrier for the block's, so the bodies' concurrency is tested too. */
#ifndef CATALYTIC_COMMON_CUH
#define CATALYTIC_COMMON_CUH

typedef unsigned long long u64;
typedef unsigned int u32;

#if defined(CATALYTIC_HOST) && defined(CATALYTIC_HOST_THREADS)
#include <pthread.h>
#define CAT_FN static inline
#define CAT_ATOMIC_OR(p, v) __atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define CAT_ATOMIC_ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define CAT_ATOMIC_MIN(p, v) cat_threads_min((p), (v))
#define CAT_POPC(x) ((u64)__builtin_popcountll(x))
#define CAT_CTZ(x) ((u64)__builtin_ctzll(x))
/* The barrier of the threads running this "block" (host_threads.c). */
extern _Thread_local pthread_barrier_t *cat_block_barrier;
#define CAT_SYNC() ((void)pthread_barrier_wait(cat_block_barrier))
static inline u64 cat_threads_min(u64 *p, u64 v) {
  u64 old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
  while (v < old && !__atomic_compare_exchange_n(p, &old, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
  }
  return old;
}
#elif defined(CATALYTIC_HOST)
#define CAT_FN static inline
#define CAT_ATOMIC_OR(p, v) cat_host_or((p), (v))
#define CAT_ATOMIC_ADD(p, v) cat_host_add((p), (v))
#define CAT_ATOMIC_MIN(p, v) cat_host_min((p), (v))
#define CAT_POPC(x) ((u64)__builtin_popcountll(x))
#define CAT_CTZ(x) ((u64)__builtin_ctzll(x))
/* One thread runs every item in order: nothing to wait for. */
#define CAT_SYNC() ((void)0)
/* One thread: the old value is what was there. */
static inline u64 cat_host_or(u64 *p, u64 v) { u64 old = *p; *p = old | v; return old; }
static inline u64 cat_host_add(u64 *p, u64 v) { u64 old = *p; *p = old + v; return old; }
static inline u64 cat_host_min(u64 *p, u64 v) { u64 old = *p; if (v < old) *p = v; return old; }
#else
#define CAT_FN __device__ __forceinline__
#define CAT_ATOMIC_OR(p, v) atomicOr((p), (v))
#define CAT_ATOMIC_ADD(p, v) atomicAdd((p), (v))
#define CAT_ATOMIC_MIN(p, v) atomicMin((p), (v))
#define CAT_POPC(x) ((u64)__popcll(x))
/* Trailing zeros of a non-zero word: the lowest set bit's index. */
#define CAT_CTZ(x) ((u64)(__ffsll((long long)(x)) - 1))
/* Waits for every thread of the block, and makes their writes visible to it. */
#define CAT_SYNC() __syncthreads()
#endif

/* Shifts that give 0 for a shift of 64 or more (C leaves those undefined). */
CAT_FN u64 cat_shl(u64 x, u64 s) { return s >= 64 ? 0 : x << s; }
CAT_FN u64 cat_shr(u64 x, u64 s) { return s >= 64 ? 0 : x >> s; }

#endif
