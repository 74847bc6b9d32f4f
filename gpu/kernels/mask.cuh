/* The seeded blocking rule (lattice/src/spec.rs) computed where the search
 * runs, instead of on the host and copied over: vertex v is blocked iff
 * all || splitmix64(seed ^ v) < below (SeededRule in the lattice crate).
 *
 *   tile_mask:   one word per tile of the BFS layout (bfs.cuh's `p`): bit b
 *                of tile t is set iff b is a valid bit and its vertex is
 *                blocked, as lattice/src/engine/sweep.rs::blocked_mask builds.
 *   vertex_mask: one bit per vertex in index order (components.cuh). */
#ifndef CATALYTIC_MASK_CUH
#define CATALYTIC_MASK_CUH

/* SplitMix64 as published (lattice/src/spec.rs::splitmix64; never change). */
CAT_FN u64 cat_splitmix64(u64 x) {
  u64 z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

CAT_FN int cat_seeded_blocks(u64 seed, u64 below, u64 all, u64 v) {
  return all || cat_splitmix64(seed ^ v) < below;
}

CAT_FN void cat_tile_mask_body(u64 first, u64 step, const u64 *p, u64 seed, u64 below, u64 all,
                               u64 *mask) {
  u64 dims = p[0], tiles = p[1];
  for (u64 t = first; t < tiles; t += step) {
    u64 rest = t, last_set = 0, corner = 0;
    for (u64 a = 0; a < dims; a++) {
      u64 g = CAT_AXIS(p, a, CAT_GRID);
      u64 c = rest % g;
      rest /= g;
      if (c + 1 == g) last_set |= 1ULL << a;
      /* The tile side is span / bit_step + 1, a power of two. */
      u64 side = (CAT_AXIS(p, a, CAT_SPAN) >> CAT_AXIS(p, a, CAT_SHIFT)) + 1;
      corner += c * side * CAT_AXIS(p, a, CAT_VSTRIDE);
    }
    u64 bits = CAT_VALID(p, dims, last_set), word = 0;
    while (bits != 0) {
      u64 b = (u64)CAT_CTZ(bits);
      bits &= bits - 1;
      u64 v = corner;
      for (u64 a = 0; a < dims; a++) {
        u64 top = CAT_AXIS(p, a, CAT_SPAN) >> CAT_AXIS(p, a, CAT_SHIFT);
        v += ((b >> CAT_AXIS(p, a, CAT_SHIFT)) & top) * CAT_AXIS(p, a, CAT_VSTRIDE);
      }
      if (cat_seeded_blocks(seed, below, all, v)) word |= 1ULL << b;
    }
    mask[t] = word;
  }
}

CAT_FN void cat_vertex_mask_body(u64 first, u64 step, u64 n, u64 seed, u64 below, u64 all,
                                 u64 *mask) {
  u64 words = (n + 63) / 64;
  for (u64 w = first; w < words; w += step) {
    u64 word = 0;
    for (u64 b = 0; b < 64 && 64 * w + b < n; b++)
      if (cat_seeded_blocks(seed, below, all, 64 * w + b)) word |= 1ULL << b;
    mask[w] = word;
  }
}

#endif
