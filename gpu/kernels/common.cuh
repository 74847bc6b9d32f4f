/* Shared by every kernel file: the few things that differ between the GPU
 * (NVRTC compiles these files as CUDA C++) and the host (the test build
 * compiles the same files as plain C, single-threaded, see host.c), so each
 * kernel's body is one function that both run.
 *
 * A body takes (first, step): the GPU passes its global thread index and the
 * grid's thread count (a grid-stride loop); the host passes (0, 1) and so
 * walks every item in order on one thread. */
#ifndef CATALYTIC_COMMON_CUH
#define CATALYTIC_COMMON_CUH

typedef unsigned long long u64;
typedef unsigned int u32;

#ifdef CATALYTIC_HOST
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
