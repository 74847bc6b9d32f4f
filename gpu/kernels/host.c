/* The kernel bodies compiled as plain C for the host (gpu/build.rs), so the
 * tests run the very code the GPU runs, on one thread, on any machine (the
 * BFS bodies: host_threads.c, on one thread or several). */
#define CATALYTIC_HOST 1
#include <stddef.h>
#include "common.cuh"
#include "bfs.cuh"
#include "mask.cuh"
#include "transform.cuh"
#include "components.cuh"

void cat_host_tile_mask(const u64 *p, u64 seed, u64 below, u64 all, u64 *mask) {
  cat_tile_mask_body(0, 1, p, seed, below, all, mask);
}

void cat_host_vertex_mask(u64 n, u64 seed, u64 below, u64 all, u64 *mask) {
  cat_vertex_mask_body(0, 1, n, seed, below, all, mask);
}

void cat_host_xor(unsigned char *data, u64 n, const unsigned char *key, u64 key_len) {
  cat_xor_body(0, 1, data, n, key, key_len);
}

void cat_host_scale(float *data, u64 n, float factor) { cat_scale_body(0, 1, data, n, factor); }

void cat_host_label_init(u64 n, const u64 *blocked, u64 *label) {
  cat_label_init_body(0, 1, n, blocked, label);
}

void cat_host_hook(u64 n, const u64 *q, const u64 *blocked, u64 *label, u64 *changed) {
  cat_hook_body(0, 1, n, q, blocked, label, changed);
}

void cat_host_shortcut(u64 n, u64 *label, u64 *changed) {
  cat_shortcut_body(0, 1, n, label, changed);
}

void cat_host_tally(u64 n, u64 size0, const u64 *label, u64 *size, u64 *span) {
  cat_tally_body(0, 1, n, size0, label, size, span);
}

void cat_host_roots(u64 n, const u64 *label, const u64 *size, const u64 *span, u64 *root_size,
                    u64 *root_span, u64 *roots) {
  cat_roots_body(0, 1, n, label, size, span, root_size, root_span, roots);
}
