/* The kernel bodies compiled as plain C for the host (gpu/build.rs), so the
 * tests run the very code the GPU runs, on one thread, on any machine. */
#define CATALYTIC_HOST 1
#include <stddef.h>
#include "common.cuh"
#include "bfs.cuh"
#include "transform.cuh"

void cat_host_bfs_expand(const u64 *p, u64 par, const u64 *front_tiles, const u64 *front_bits,
                         u64 *cand, u64 *touched, u64 *ctl) {
  cat_expand_body(0, 1, p, par, front_tiles, front_bits, cand, touched, ctl);
}

void cat_host_bfs_settle(u64 par, u64 next_code, u64 slot, const u64 *touched, u64 *cand,
                         u64 *state, const u64 *blocked, u64 *front_tiles, u64 *front_bits,
                         u64 *ctl, u64 stop_tile, u64 stop_mask) {
  cat_settle_body(0, 1, par, next_code, slot, touched, cand, state, blocked, front_tiles,
                  front_bits, ctl, stop_tile, stop_mask);
}

void cat_host_xor(unsigned char *data, u64 n, const unsigned char *key, u64 key_len) {
  cat_xor_body(0, 1, data, n, key, key_len);
}

void cat_host_scale(float *data, u64 n, float factor) { cat_scale_body(0, 1, data, n, factor); }
