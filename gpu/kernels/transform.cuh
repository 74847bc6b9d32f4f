/* Element-wise transforms of a data field (docs/adr/0002-lattices.md): the same loops as
 * lattice/src/transform, one element per thread. */
#ifndef CATALYTIC_TRANSFORM_CUH
#define CATALYTIC_TRANSFORM_CUH

/* data[i] ^= key[i mod key_len]. */
CAT_FN void cat_xor_body(u64 first, u64 step, unsigned char *data, u64 n, const unsigned char *key,
                         u64 key_len) {
  for (u64 i = first; i < n; i += step) data[i] ^= key[i % key_len];
}

/* data[i] *= factor (f32, round to nearest like the CPU). */
CAT_FN void cat_scale_body(u64 first, u64 step, float *data, u64 n, float factor) {
  for (u64 i = first; i < n; i += step) data[i] = data[i] * factor;
}

#endif
