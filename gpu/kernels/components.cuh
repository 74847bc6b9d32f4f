/* Connected components of the open vertices (the `components` operation),
 * by min-label hooking with pointer jumping, over plain vertex indices:
 *
 *   label[v] = v for open v, CAT_NONE for blocked ones; then repeat
 *     hook:     for each open v and open neighbour u with label[u] < label[v],
 *               lower label[label[v]] and label[v] to label[u] (atomicMin);
 *     shortcut: label[v] = label[label[v]], one jump per pass, passes
 *               repeated until none changes (pointer doubling: O(log)
 *               passes; following a whole chain per vertex would cost
 *               vertices × chain length on a grid);
 *   until a hook pass changes nothing.
 *
 * Labels only fall and are always indices of vertices of the same component;
 * the smallest index m of a component keeps label m (nothing smaller exists
 * there), so at the end every vertex holds its component's smallest index,
 * whatever order the threads ran in.
 *
 * q: [0] dims, then per axis a: [1 + 3a] size, [2 + 3a] stride, [3 + 3a] wrap.
 * blocked: one bit per vertex in index order (NULL: nothing blocked). */
#ifndef CATALYTIC_COMPONENTS_CUH
#define CATALYTIC_COMPONENTS_CUH

#define CAT_NONE 0xFFFFFFFFFFFFFFFFULL

CAT_FN int cat_open(const u64 *blocked, u64 v) {
  return blocked == 0 || ((blocked[v >> 6] >> (v & 63)) & 1ULL) == 0;
}

CAT_FN void cat_label_init_body(u64 first, u64 step, u64 n, const u64 *blocked, u64 *label) {
  for (u64 v = first; v < n; v += step) label[v] = cat_open(blocked, v) ? v : CAT_NONE;
}

/* Lowers label[v]'s root and label[v] to a smaller neighbour label. */
CAT_FN void cat_hook_pair(u64 *label, u64 v, u64 lu, u64 *changed) {
  u64 lv = label[v];
  if (lu < lv) {
    CAT_ATOMIC_MIN(&label[lv], lu);
    CAT_ATOMIC_MIN(&label[v], lu);
    *changed = 1;
  }
}

CAT_FN void cat_hook_body(u64 first, u64 step, u64 n, const u64 *q, const u64 *blocked,
                          u64 *label, u64 *changed) {
  u64 dims = q[0];
  for (u64 v = first; v < n; v += step) {
    if (label[v] == CAT_NONE) continue;
    for (u64 a = 0; a < dims; a++) {
      u64 size = q[1 + 3 * a], stride = q[2 + 3 * a], wrap = q[3 + 3 * a];
      u64 c = (v / stride) % size;
      /* Each edge once, from its lower end along the axis (and the wrap edge). */
      u64 u = CAT_NONE;
      if (c + 1 < size) u = v + stride;
      else if (wrap) u = v - c * stride;
      if (u == CAT_NONE || !cat_open(blocked, u)) continue;
      u64 lu = label[u], lv = label[v];
      if (lu < lv) cat_hook_pair(label, v, lu, changed);
      else if (lv < lu) cat_hook_pair(label, u, lv, changed);
    }
  }
}

CAT_FN void cat_shortcut_body(u64 first, u64 step, u64 n, u64 *label, u64 *changed) {
  for (u64 v = first; v < n; v += step) {
    u64 l = label[v];
    if (l == CAT_NONE) continue;
    u64 next = label[l];
    if (next < l) {
      label[v] = next;
      *changed = 1;
    }
  }
}

/* After convergence: each component's size and whether it touches the first
 * and last slice of axis 0 (bits 1 and 2), accumulated at its root; then the
 * roots are listed with both. */
CAT_FN void cat_tally_body(u64 first, u64 step, u64 n, u64 size0, const u64 *label, u64 *size,
                           u64 *span) {
  for (u64 v = first; v < n; v += step) {
    u64 l = label[v];
    if (l == CAT_NONE) continue;
    CAT_ATOMIC_ADD(&size[l], 1ULL);
    u64 x0 = v % size0;
    u64 bits = (x0 == 0 ? 1ULL : 0ULL) | (x0 == size0 - 1 ? 2ULL : 0ULL);
    if (bits) CAT_ATOMIC_OR(&span[l], bits);
  }
}

CAT_FN void cat_roots_body(u64 first, u64 step, u64 n, const u64 *label, const u64 *size,
                           const u64 *span, u64 *root_size, u64 *root_span, u64 *roots) {
  for (u64 v = first; v < n; v += step) {
    if (label[v] != v) continue;
    u64 j = CAT_ATOMIC_ADD(roots, 1ULL);
    root_size[j] = size[v];
    root_span[j] = span[v];
  }
}

#endif
