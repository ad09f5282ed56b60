// Winograd F(4x4, 3x3) tile transforms (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016; interpolation points 0, ±1, ±2, ∞), vectorised over a run of R horizontally
// adjacent tiles. R is a multiple of the vector width (the caller rounds a run up and ignores the
// extra lanes, whose inputs it keeps finite and addressable): a remainder would run scalar. Included
// by conv_impl.h, so compiled once per ISA with that ISA's flags; the drivers are conv_winograd.c,
// conv_winograd_grad.c and conv_winograd_common.c. Runs are at most NB_WINO_MAXR tiles.
//   input:  V = B^T d B, d the 6x6 input patch of a tile (rows 4ti.., columns 4tj.. of the padded input)
//   output: Y = A^T M A, M the 6x6 products of a tile, Y its 4x4 outputs
// B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
// A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

// One 1-D input transform: (d0..d5) -> (v0..v5) = B^T d, written as v[k * vs].
#define WINO_BT(v, vs, d0, d1, d2, d3, d4, d5)                                                                         \
  do {                                                                                                                 \
    (v)[0 * (vs)] = 4.f * (d0)-5.f * (d2) + (d4);                                                                      \
    (v)[1 * (vs)] = -4.f * ((d1) + (d2)) + (d3) + (d4);                                                                \
    (v)[2 * (vs)] = 4.f * ((d1) - (d2)) - (d3) + (d4);                                                                 \
    (v)[3 * (vs)] = 2.f * ((d3) - (d1)) - (d2) + (d4);                                                                 \
    (v)[4 * (vs)] = 2.f * ((d1) - (d3)) - (d2) + (d4);                                                                 \
    (v)[5 * (vs)] = 4.f * (d1)-5.f * (d3) + (d5);                                                                      \
  } while (0)

// Row form of WINO_BT over n lanes: separate restrict rows so that the compiler vectorises it.
static inline void wino_bt_rows(float *restrict v0, float *restrict v1, float *restrict v2, float *restrict v3,
                                float *restrict v4, float *restrict v5, const float *restrict d0,
                                const float *restrict d1, const float *restrict d2, const float *restrict d3,
                                const float *restrict d4, const float *restrict d5, int64_t n) {
  for (int64_t l = 0; l < n; l++) {
    float v[6];
    WINO_BT(v, 1, d0[l], d1[l], d2[l], d3[l], d4[l], d5[l]);
    v0[l] = v[0];
    v1[l] = v[1];
    v2[l] = v[2];
    v3[l] = v[3];
    v4[l] = v[4];
    v5[l] = v[5];
  }
}

/* Padded input rows (4*ld floats in all: ld groups of four) into their four column phases, d[m*plane + u] = row[4u + m]
 * for u < ld; z (16 lanes) accumulates row * 0, NaN in some lane exactly when the row holds an Inf or a NaN. */
static void wino_phase_row(const float *restrict row, int64_t ld, float *restrict d, int64_t plane, float *restrict z) {
  float *restrict d0 = d, *restrict d1 = d + plane, *restrict d2 = d + 2 * plane, *restrict d3 = d + 3 * plane;
  for (int64_t u = 0; u < ld; u++) {
    d0[u] = row[4 * u];
    d1[u] = row[4 * u + 1];
    d2[u] = row[4 * u + 2];
    d3[u] = row[4 * u + 3];
  }
  int64_t i = 0;
  for (; i + 16 <= 4 * ld; i += 16)
    for (int l = 0; l < 16; l++) z[l] += row[i + l] * 0.f;
  for (; i < 4 * ld; i++) z[0] += row[i] * 0.f;
}

/* Tile l's patch element (r, s) is x[r*rs + off[s] + l] (the driver's phase planes, or a gathered
 * (36, lanes) block). v (36, vs): v[xi*vs + l] = V[xi] of tile l, l < R. */
static inline __attribute__((always_inline)) void wino_input_r(const float *restrict x, int64_t rs, const int64_t *off,
                                                               int64_t R, float *restrict v, int64_t vs) {
  float h[6][6][NB_WINO_MAXR]; /* [patch row][transformed column][tile] */
  for (int r = 0; r < 6; r++) {
    const float *p0 = x + r * rs + off[0], *p1 = x + r * rs + off[1], *p2 = x + r * rs + off[2];
    const float *p3 = x + r * rs + off[3], *p4 = x + r * rs + off[4], *p5 = x + r * rs + off[5];
    wino_bt_rows(h[r][0], h[r][1], h[r][2], h[r][3], h[r][4], h[r][5], p0, p1, p2, p3, p4, p5, R);
  }
  for (int s = 0; s < 6; s++) {
    float *vr = v + s * vs;
    wino_bt_rows(vr, vr + 6 * vs, vr + 12 * vs, vr + 18 * vs, vr + 24 * vs, vr + 30 * vs, h[0][s], h[1][s], h[2][s],
                 h[3][s], h[4][s], h[5][s], R);
  }
}

/* The few-tile input transforms (batch 1 on small maps: 16 tiles a call, one lane each), straight from
 * the input: tile l's patch element q (q = 6r + s, or 4r + s for F(2x2,3x3); m = 4 or 2 outputs a tile
 * side) of channel c is x[c*cs + idx[16q + l]], 0 where idx < 0 (padding, or no tile l). V^T of
 * channels [0, nc) goes to vt[(l / 8)*ps + xi*xs + c*8 + l % 8]: row panels of eight tiles, the second
 * only when `two`. Returns NaN when an input read is an Inf or a NaN. One gather a patch element for
 * 16 tiles replaced phase planes, a scalar copy of each patch into lanes and a repacking pass: 14x14
 * with 256 channels 206 -> 55 us (0.55 -> 0.46 ms a convolution); F(2x2,3x3) on 7x7 with 512
 * channels 96 -> 34 us. */
static inline __attribute__((always_inline)) void few_gather(const float *restrict xc, const int32_t *restrict idx,
                                                             int q, float *restrict d, float *restrict z) {
#if defined(__AVX512F__)
  const __m512i i = _mm512_loadu_si512(idx + 16 * q);
  const __m512 v =
      _mm512_mask_i32gather_ps(_mm512_setzero_ps(), _mm512_cmpge_epi32_mask(i, _mm512_setzero_si512()), i, xc, 4);
  _mm512_storeu_ps(d, v);
  _mm512_storeu_ps(z, _mm512_fmadd_ps(v, _mm512_setzero_ps(), _mm512_loadu_ps(z)));
#elif defined(__AVX2__)
  for (int h = 0; h < 16; h += 8) { /* lanes with idx < 0 are masked off and stay 0 */
    const __m256i i = _mm256_loadu_si256((const __m256i *)(idx + 16 * q + h));
    const __m256 m = _mm256_castsi256_ps(_mm256_cmpgt_epi32(i, _mm256_set1_epi32(-1)));
    const __m256 v = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), xc, i, m, 4);
    _mm256_storeu_ps(d + h, v);
    _mm256_storeu_ps(z + h, _mm256_fmadd_ps(v, _mm256_setzero_ps(), _mm256_loadu_ps(z + h)));
  }
#else
  for (int l = 0; l < 16; l++) {
    const int32_t i = idx[16 * q + l];
    d[l] = i >= 0 ? xc[i] : 0.f;
    z[l] += d[l] * 0.f;
  }
#endif
}

static inline __attribute__((always_inline)) void few_store(const float (*restrict v)[16], int points,
                                                            float *restrict vt, int64_t xs, int64_t ps, int two) {
  for (int xi = 0; xi < points; xi++) {
    for (int l = 0; l < 8; l++) vt[xi * xs + l] = v[xi][l];
    if (two)
      for (int l = 0; l < 8; l++) vt[ps + xi * xs + l] = v[xi][8 + l];
  }
}

// V = B^T d B of 16 tiles' 6x6 patches d (points in rows, tiles in lanes), F(4x4,3x3).
static inline __attribute__((always_inline)) void few_tf4(float (*restrict d)[16], float (*restrict v)[16]) {
  float h[6][6][16];
  for (int r = 0; r < 6; r++) /* h = d B, along the rows */
    wino_bt_rows(h[r][0], h[r][1], h[r][2], h[r][3], h[r][4], h[r][5], d[6 * r], d[6 * r + 1], d[6 * r + 2],
                 d[6 * r + 3], d[6 * r + 4], d[6 * r + 5], 16);
  for (int s = 0; s < 6; s++) /* v = B^T h, down the columns */
    wino_bt_rows(v[s], v[6 + s], v[12 + s], v[18 + s], v[24 + s], v[30 + s], h[0][s], h[1][s], h[2][s], h[3][s],
                 h[4][s], h[5][s], 16);
}

// The same for 4x4 patches, F(2x2,3x3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
static inline __attribute__((always_inline)) void few_tf2(float (*restrict d)[16], float (*restrict v)[16]) {
  float h[4][4][16];
  for (int r = 0; r < 4; r++) /* h = d B, along the rows */
    for (int l = 0; l < 16; l++) {
      const float d0 = d[4 * r][l], d1 = d[4 * r + 1][l], d2 = d[4 * r + 2][l], d3 = d[4 * r + 3][l];
      h[r][0][l] = d0 - d2;
      h[r][1][l] = d1 + d2;
      h[r][2][l] = d2 - d1;
      h[r][3][l] = d1 - d3;
    }
  for (int s = 0; s < 4; s++) /* v = B^T h, down the columns */
    for (int l = 0; l < 16; l++) {
      const float h0 = h[0][s][l], h1 = h[1][s][l], h2 = h[2][s][l], h3 = h[3][s][l];
      v[s][l] = h0 - h2;
      v[4 + s][l] = h1 + h2;
      v[8 + s][l] = h2 - h1;
      v[12 + s][l] = h1 - h3;
    }
}

static inline __attribute__((always_inline)) float few_input(const float *restrict x, int64_t cs,
                                                             const int32_t *restrict idx, int64_t nc,
                                                             float *restrict vt, int64_t xs, int64_t ps, int two,
                                                             const int m) {
  const int points = (m + 2) * (m + 2);
  float z[16] = {0};
  for (int64_t c = 0; c < nc; c++) {
    float d[36][16], v[36][16];
    for (int q = 0; q < points; q++) few_gather(x + c * cs, idx, q, d[q], z);
    if (m == 4)
      few_tf4(d, v);
    else
      few_tf2(d, v);
    few_store((const float(*)[16])v, points, vt + c * 8, xs, ps, two);
  }
  float t = 0.f;
  for (int l = 0; l < 16; l++) t += z[l];
  return t;
}

static float wino_input_few(const float *restrict x, int64_t cs, const int32_t *restrict idx, int64_t nc,
                            float *restrict vt, int64_t xs, int64_t ps, int two, int m) {
  return m == 2 ? few_input(x, cs, idx, nc, vt, xs, ps, two, 2) : few_input(x, cs, idx, nc, vt, xs, ps, two, 4);
}

// Runs are one vector or two at batch 1 (14 tiles to a 56x56 row, a gathered panel of 32): with the
// count constant the compiler drops the lane loops' control, which was most of a short run's cost.
static void wino_input(const float *restrict x, int64_t rs, const int64_t *off, int64_t R, float *restrict v,
                       int64_t vs) {
  if (R == 16)
    wino_input_r(x, rs, off, 16, v, vs);
  else if (R == 32)
    wino_input_r(x, rs, off, 32, v, vs);
  else
    wino_input_r(x, rs, off, R, v, vs);
}

// One 1-D output transform: (m0..m5) -> (o0..o3) = A^T m, written as o[k * os].
#define WINO_AT(o, os, m0, m1, m2, m3, m4, m5)                                                                         \
  do {                                                                                                                 \
    const float a12 = (m1) + (m2), s12 = (m1) - (m2), a34 = (m3) + (m4), s34 = (m3) - (m4);                            \
    (o)[0 * (os)] = (m0) + a12 + a34;                                                                                  \
    (o)[1 * (os)] = s12 + 2.f * s34;                                                                                   \
    (o)[2 * (os)] = a12 + 4.f * a34;                                                                                   \
    (o)[3 * (os)] = s12 + 8.f * s34 + (m5);                                                                            \
  } while (0)

/* m (36, ms): the products of R lanes, m[xi*ms + l]. o (4, 4R): o[a*4R + 4l + b] = Y[a][b] of lane l,
 * times sc[l] plus sh[l] where given (lanes are tiles of one channel, or channels of one tile). */
static void wino_output(const float *restrict m, int64_t ms, int64_t R, const float *restrict sc,
                        const float *restrict sh, float *restrict o) {
  float t[4][6][NB_WINO_MAXR]; /* [output row][product column][tile] */
  for (int s = 0; s < 6; s++)
    for (int64_t l = 0; l < R; l++)
      WINO_AT(&t[0][s][l], 6 * NB_WINO_MAXR, m[(0 + s) * ms + l], m[(6 + s) * ms + l], m[(12 + s) * ms + l],
              m[(18 + s) * ms + l], m[(24 + s) * ms + l], m[(30 + s) * ms + l]);
  for (int a = 0; a < 4; a++) {
    float q[4][NB_WINO_MAXR];
    for (int64_t l = 0; l < R; l++)
      WINO_AT(&q[0][l], NB_WINO_MAXR, t[a][0][l], t[a][1][l], t[a][2][l], t[a][3][l], t[a][4][l], t[a][5][l]);
    if (sc)
      for (int b = 0; b < 4; b++)
        for (int64_t l = 0; l < R; l++) q[b][l] *= sc[l];
    if (sh)
      for (int b = 0; b < 4; b++)
        for (int64_t l = 0; l < R; l++) q[b][l] += sh[l];
    float *oa = o + a * 4 * R;
    for (int64_t l = 0; l < R; l++)
      for (int b = 0; b < 4; b++) oa[4 * l + b] = q[b][l];
  }
}

/* Weights of up to 16 output channels: rows i < m of w (m, C, 3, 3), row stride ldw, ->
 * u[xi*xs + c*mr + i] = (G w_ic G^T)[xi] for i < min(mr, 16) (rows m <= i zero): a panel of U in the
 * microkernel's packed order (or 16 columns of a wider one), vectorised over the rows i. Returns NaN when a weight is
 * Inf or NaN. G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1] */
static float wino_weights(const float *restrict w, int64_t ldw, int64_t m, int64_t C, float *restrict u, int64_t xs,
                          int64_t mr) {
  enum { V = 16 };
  float z[V] = {0};
#define WINO_G(o, os, g0, g1, g2)                                                                                      \
  do {                                                                                                                 \
    (o)[0 * (os)] = (g0)*0.25f;                                                                                        \
    (o)[1 * (os)] = ((g0) + (g1) + (g2)) * (-1.f / 6);                                                                 \
    (o)[2 * (os)] = ((g0) - (g1) + (g2)) * (-1.f / 6);                                                                 \
    (o)[3 * (os)] = (g0) * (1.f / 24) + (g1) * (1.f / 12) + (g2) * (1.f / 6);                                          \
    (o)[4 * (os)] = (g0) * (1.f / 24) - (g1) * (1.f / 12) + (g2) * (1.f / 6);                                          \
    (o)[5 * (os)] = (g2);                                                                                              \
  } while (0)
  for (int64_t c = 0; c < C; c++) {
    float tap[9][V], t[6][3][V], r[36][V];
    for (int i = 0; i < V; i++)
      for (int q = 0; q < 9; q++) tap[q][i] = i < m ? w[i * ldw + c * 9 + q] : 0.f;
    for (int b = 0; b < 3; b++) /* t = G w, down the columns b */
      for (int i = 0; i < V; i++) {
        z[i] += (tap[b][i] + tap[3 + b][i] + tap[6 + b][i]) * 0.f;
        WINO_G(&t[0][b][i], 3 * V, tap[b][i], tap[3 + b][i], tap[6 + b][i]);
      }
    for (int a = 0; a < 6; a++) /* u = t G^T, along the rows a */
      for (int i = 0; i < V; i++) WINO_G(&r[6 * a][i], V, t[a][0][i], t[a][1][i], t[a][2][i]);
    // whole vectors, spilling into the next channels' lanes (rewritten next); exact at the end
    if ((C - c) * mr >= V)
      for (int xi = 0; xi < 36; xi++)
        for (int i = 0; i < V; i++) u[xi * xs + c * mr + i] = r[xi][i];
    else
      for (int xi = 0; xi < 36; xi++)
        for (int64_t i = 0; i < (mr < V ? mr : V); i++) u[xi * xs + c * mr + i] = r[xi][i];
  }
#undef WINO_G
  float s = 0.f;
  for (int i = 0; i < V; i++) s += z[i];
  return s;
}

// One 1-D output-gradient transform: (y0..y3) -> (m0..m5) = A y, written as m[k * ms]; the adjoint of
// WINO_AT. A = [1 0 0 0; 1 1 1 1; 1 -1 1 -1; 1 2 4 8; 1 -2 4 -8; 0 0 0 1]
#define WINO_A(m, ms, y0, y1, y2, y3)                                                                                  \
  do {                                                                                                                 \
    const float e02 = (y0) + (y2), o13 = (y1) + (y3);                                                                  \
    const float e4 = (y0) + 4.f * (y2), o8 = 2.f * (y1) + 8.f * (y3);                                                  \
    (m)[0 * (ms)] = (y0);                                                                                              \
    (m)[1 * (ms)] = e02 + o13;                                                                                         \
    (m)[2 * (ms)] = e02 - o13;                                                                                         \
    (m)[3 * (ms)] = e4 + o8;                                                                                           \
    (m)[4 * (ms)] = e4 - o8;                                                                                           \
    (m)[5 * (ms)] = (y3);                                                                                              \
  } while (0)

// Row form of WINO_A over n lanes, into rows m + r*ms (r < 6), each its own restrict pointer.
static inline void wino_a_rows_(float *restrict m0, float *restrict m1, float *restrict m2, float *restrict m3,
                                float *restrict m4, float *restrict m5, const float *restrict y0,
                                const float *restrict y1, const float *restrict y2, const float *restrict y3,
                                int64_t n) {
  for (int64_t l = 0; l < n; l++) {
    float m[6];
    WINO_A(m, 1, y0[l], y1[l], y2[l], y3[l]);
    m0[l] = m[0];
    m1[l] = m[1];
    m2[l] = m[2];
    m3[l] = m[3];
    m4[l] = m[4];
    m5[l] = m[5];
  }
}
static inline void wino_a_rows(float *m, int64_t ms, const float *y0, const float *y1, const float *y2, const float *y3,
                               int64_t n) {
  wino_a_rows_(m, m + ms, m + 2 * ms, m + 3 * ms, m + 4 * ms, m + 5 * ms, y0, y1, y2, y3, n);
}

/* Output gradients: tile l's element (a, b) of dY is y[a*rs + b*plane + l] (phase planes of dy by
 * column mod 4). dm (36, ms): dm[xi*ms + l] = (A dY A^T)[xi] of tile l, l < R. */
static void wino_dy(const float *restrict y, int64_t rs, int64_t plane, int64_t R, float *restrict dm, int64_t ms) {
  float h[4][6][NB_WINO_MAXR]; /* [dY row][transformed column][tile] */
  for (int a = 0; a < 4; a++) {
    const float *p0 = y + a * rs, *p1 = p0 + plane, *p2 = p1 + plane, *p3 = p2 + plane;
    wino_a_rows(h[a][0], NB_WINO_MAXR, p0, p1, p2, p3, R);
  }
  for (int s = 0; s < 6; s++) wino_a_rows(dm + s * ms, 6 * ms, h[0][s], h[1][s], h[2][s], h[3][s], R);
}

/* Weight gradients of one output channel: du (36, C) (du[xi*us + c], the gradient of U) ->
 * dw (C, 3, 3) = G^T dU G per input channel, the adjoint of the weight transform. */
static void wino_dw(const float *restrict du, int64_t us, int64_t C, float *restrict dw) {
  enum { V = 64 };
#define WINO_GT(o, os, u0, u1, u2, u3, u4, u5)                                                                         \
  do {                                                                                                                 \
    (o)[0 * (os)] = (u0)*0.25f - ((u1) + (u2)) * (1.f / 6) + ((u3) + (u4)) * (1.f / 24);                               \
    (o)[1 * (os)] = ((u2) - (u1)) * (1.f / 6) + ((u3) - (u4)) * (1.f / 12);                                            \
    (o)[2 * (os)] = -((u1) + (u2)) * (1.f / 6) + ((u3) + (u4)) * (1.f / 6) + (u5);                                     \
  } while (0)
  for (int64_t c0 = 0; c0 < C; c0 += V) {
    const int64_t cn = C - c0 < V ? C - c0 : V;
    float s[3][6][V], o[9][V];
    for (int j = 0; j < 6; j++) /* s = G^T dU, down the columns j */
      for (int64_t c = 0; c < cn; c++) {
        const float *u = du + c0 + c;
        WINO_GT(&s[0][j][c], 6 * V, u[(0 + j) * us], u[(6 + j) * us], u[(12 + j) * us], u[(18 + j) * us],
                u[(24 + j) * us], u[(30 + j) * us]);
      }
    for (int a = 0; a < 3; a++) /* dw = s G, along the rows a */
      for (int64_t c = 0; c < cn; c++)
        WINO_GT(&o[3 * a][c], V, s[a][0][c], s[a][1][c], s[a][2][c], s[a][3][c], s[a][4][c], s[a][5][c]);
    for (int64_t c = 0; c < cn; c++)
      for (int q = 0; q < 9; q++) dw[(c0 + c) * 9 + q] = o[q][c];
  }
#undef WINO_GT
}
