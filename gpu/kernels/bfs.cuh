/* The level step of the fast CPU engine (lattice/src/engine/sweep.rs) as two
 * data-parallel passes over explicit lists, so that a GPU runs it with one
 * thread per item and no locks:
 *
 *   expand(L): for each frontier tile (tile, bits at distance L), compute the
 *              moves exactly as sweep.rs::expand does and OR each move's
 *              candidate bits into cand[target]; the first writer of a target
 *              (atomicOr saw 0) appends it to the touched list.
 *   settle(L): for each touched tile, keep the candidates that are neither
 *              reached nor blocked, write them into the 2-bit state with code
 *              (L+1) mod 3, append (tile, bits) to the next frontier, count
 *              them, and raise `done` when the stop vertex is among them.
 *
 * The states are therefore the CPU engine's, bit for bit. Each pass also
 * resets the counter the other parity will use next, so a level needs no
 * extra launch and no host round trip.
 *
 * thin(L0): while the frontier is small, many levels run in one launch of
 *            one block: expand and settle as above, separated by block
 *            barriers instead of kernel boundaries. A level's cost is then a
 *            barrier, not two dependent launches (~10 µs), which is what long
 *            thin searches (2-D) spend their time on.
 *
 * `p` is the flattened layout of lattice/src/engine/device.rs (keep in step):
 * [0] dims, [1] tiles, [2 + 13a + k] per axis, then valid bits per last-set. */
#ifndef CATALYTIC_BFS_CUH
#define CATALYTIC_BFS_CUH

#define CAT_MAX_DIMS 10
#define CAT_PER_AXIS 13
#define CAT_AXIS(p, a, k) ((p)[2 + CAT_PER_AXIS * (a) + (k)])
#define CAT_VALID(p, dims, set) ((p)[2 + CAT_PER_AXIS * (dims) + (set)])
enum {
  CAT_STEP = 0, CAT_SPAN, CAT_LAST_SPAN, CAT_GRID, CAT_TSTRIDE, CAT_NOT_FIRST,
  CAT_NOT_LAST, CAT_FIRST, CAT_LAST, CAT_END, CAT_WRAP, CAT_SHIFT, CAT_VSTRIDE
};

/* The list state of one search; every pointer is into device (or host) memory.
 * ctl: [0..1] frontier counts by parity, [2..3] touched counts by parity,
 *      [4] done, [5] levels a thin launch ran,
 *      [6..] vertices labelled per level of the current batch. */
#define CAT_CTL_DONE 4
#define CAT_CTL_RAN 5
#define CAT_CTL_LEVELS 6

/* ORs `bits` into cand[target]; the first writer lists the target. */
CAT_FN void cat_send(u64 target, u64 bits, u64 *cand, u64 *touched, u64 *touched_count) {
  if (bits == 0) return;
  u64 old = CAT_ATOMIC_OR(&cand[target], bits);
  if (old == 0) {
    u64 slot = CAT_ATOMIC_ADD(touched_count, 1ULL);
    touched[slot] = target;
  }
}

/* The moves out of frontier bits f of one tile (sweep.rs::expand). */
CAT_FN void cat_expand_tile(const u64 *p, u64 tile, u64 f, u64 *cand, u64 *touched,
                            u64 *touched_count) {
  u64 dims = p[0];
  u64 coords[CAT_MAX_DIMS];
  u64 rest = tile, last_set = 0, own = 0;
  for (u64 a = 0; a < dims; a++) {
    u64 g = CAT_AXIS(p, a, CAT_GRID);
    coords[a] = rest % g;
    rest /= g;
    if (coords[a] + 1 == g) last_set |= 1ULL << a;
    u64 s = CAT_AXIS(p, a, CAT_STEP);
    own |= (cat_shl(f, s) & CAT_AXIS(p, a, CAT_NOT_FIRST)) |
           (cat_shr(f, s) & CAT_AXIS(p, a, CAT_NOT_LAST));
  }
  own &= CAT_VALID(p, dims, last_set);
  cat_send(tile, own, cand, touched, touched_count);
  for (u64 a = 0; a < dims; a++) {
    u64 c = coords[a], g = CAT_AXIS(p, a, CAT_GRID), stride = CAT_AXIS(p, a, CAT_TSTRIDE);
    u64 wrap = CAT_AXIS(p, a, CAT_WRAP);
    u64 low = f & CAT_AXIS(p, a, CAT_FIRST);
    if (low != 0) {
      if (c > 0) {
        cat_send(tile - stride, low << CAT_AXIS(p, a, CAT_SPAN), cand, touched, touched_count);
      } else if (wrap) {
        cat_send(tile + (g - 1) * stride, low << CAT_AXIS(p, a, CAT_LAST_SPAN), cand, touched,
                 touched_count);
      }
    }
    if (c + 1 < g) {
      u64 high = f & CAT_AXIS(p, a, CAT_LAST);
      if (high != 0)
        cat_send(tile + stride, high >> CAT_AXIS(p, a, CAT_SPAN), cand, touched, touched_count);
    } else if (wrap) {
      u64 high = f & CAT_AXIS(p, a, CAT_END);
      if (high != 0)
        cat_send(tile - c * stride, high >> CAT_AXIS(p, a, CAT_LAST_SPAN), cand, touched,
                 touched_count);
    }
  }
}

/* expand(L): frontier list of parity `par` → candidates and the touched list. */
CAT_FN void cat_expand_body(u64 first, u64 step, const u64 *p, u64 par, const u64 *front_tiles,
                            const u64 *front_bits, u64 *cand, u64 *touched, u64 *ctl) {
  if (ctl[CAT_CTL_DONE]) return;
  /* The other parity's frontier was consumed by expand(L-1): settle(L) fills it. */
  if (first == 0) ctl[1 - par] = 0;
  u64 n = ctl[par];
  for (u64 i = first; i < n; i += step)
    cat_expand_tile(p, front_tiles[i], front_bits[i], cand, touched, &ctl[2 + par]);
}

/* settle(L): touched list of parity `par` → states (code next_code), the next
 * frontier (parity 1 - par), the level count in ctl[CAT_CTL_LEVELS + slot]. */
CAT_FN void cat_settle_body(u64 first, u64 step, u64 par, u64 next_code, u64 slot,
                            const u64 *touched, u64 *cand, u64 *state, const u64 *blocked,
                            u64 *front_tiles, u64 *front_bits, u64 *ctl, u64 stop_tile,
                            u64 stop_mask) {
  /* No early return on `done`: a level, once expanded, settles completely. */
  /* Used by expand(L-1)'s settle; expand(L+1) appends to it next. */
  if (first == 0) ctl[2 + (1 - par)] = 0;
  u64 n = ctl[2 + par];
  u64 labelled = 0;
  for (u64 i = first; i < n; i += step) {
    u64 t = touched[i];
    u64 c = cand[t];
    cand[t] = 0;
    u64 s0 = state[2 * t], s1 = state[2 * t + 1];
    u64 fresh = c & ~(s0 | s1);
    if (blocked) fresh &= ~blocked[t];
    if (fresh == 0) continue;
    if (next_code != 1) state[2 * t] = s0 | fresh;
    if (next_code != 0) state[2 * t + 1] = s1 | fresh;
    u64 j = CAT_ATOMIC_ADD(&ctl[1 - par], 1ULL);
    front_tiles[j] = t;
    front_bits[j] = fresh;
    labelled += CAT_POPC(fresh);
    if (t == stop_tile && (fresh & stop_mask)) ctl[CAT_CTL_DONE] = 1;
  }
  if (labelled) CAT_ATOMIC_ADD(&ctl[CAT_CTL_LEVELS + slot], labelled);
}

/* thin(L0): levels L0, L0+1, … in one block, `first`/`step` being the
 * thread's index and the block's size. Stops before a level whose frontier is
 * empty or holds more than `thin_max` tiles (a wide level is faster as the
 * two grid-wide launches), after the stop vertex's level, or after
 * `max_levels`; ctl[CAT_CTL_RAN] says how many ran, level L0 + k counting
 * into slot k. The first level always runs, so a launch makes progress.
 *
 * Every thread reads the same counters at the top of a level: they were
 * last written before the barrier that ended the previous level, and within
 * a level a pass writes only the counters of the other parity. So all
 * threads leave the loop together and every barrier is reached by all. */
CAT_FN void cat_thin_body(u64 first, u64 step, const u64 *p, u64 level0, u64 max_levels,
                          u64 thin_max, u64 *tiles0, u64 *bits0, u64 *tiles1, u64 *bits1,
                          u64 *cand, u64 *touched, u64 *state, const u64 *blocked, u64 *ctl,
                          u64 stop_tile, u64 stop_mask) {
  /* Read through volatile: another thread of the block wrote them. */
  volatile u64 *counters = ctl;
  u64 k = 0;
  for (; k < max_levels; k++) {
    u64 level = level0 + k, par = level & 1ULL;
    u64 n = counters[par];
    if (n == 0 || counters[CAT_CTL_DONE] || (k > 0 && n > thin_max)) break;
    u64 *cur_tiles = par ? tiles1 : tiles0, *cur_bits = par ? bits1 : bits0;
    u64 *next_tiles = par ? tiles0 : tiles1, *next_bits = par ? bits0 : bits1;
    cat_expand_body(first, step, p, par, cur_tiles, cur_bits, cand, touched, ctl);
    CAT_SYNC();
    cat_settle_body(first, step, par, (level + 1) % 3, k, touched, cand, state, blocked,
                    next_tiles, next_bits, ctl, stop_tile, stop_mask);
    CAT_SYNC();
  }
  if (first == 0) ctl[CAT_CTL_RAN] = k;
}

#endif
