// Fused scaled-dot-product attention, forward and backward, flash-attention style: scores are formed
// one (QB x KB) block at a time with an online softmax, never the whole (T x T) matrix.
// Glossary: B batch, H heads, T sequence length, D head size; q, k, v, out (B,H,T,D) contiguous;
// lse (B,H,T) = log-sum-exp of each query's scaled, masked scores (saved for backward).
// out = softmax(q k^T * scale + causal mask) v.
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "ew.h"
#include "reduce.h"
#include "gemm.h"

#define QB 64
#define KB 64

typedef struct {
  const nb_gemm_impl *im;
  const nb_ew_impl *ew;     /* exp of the scores */
  const nb_reduce_impl *rd; /* row max and sum */
  float *out, *lse, *dq, *dk, *dv;
  const float *q, *k, *v, *dout, *o;
  int64_t B, H, T, D, nq;
  int64_t S, off;             /* forward: key count (T queries see S keys), query t at key position off + t */
  int64_t kbs, khs, vbs, vhs; /* forward: batch and head strides of k and v (rows of D contiguous) */
  int64_t R;                  /* forward: query heads per key/value head (grouped-query attention) */
  float scale;
  int causal;
  atomic_int failed; /* a task could not allocate its block buffers */
} attn_job;

// S (m, n) = scale * Q (m, D) @ K^T (D, n) with causal mask for query rows q0.. and keys k0..
// NOTE: one query row (a decoding step) goes to the GEMV kernels: the blocked GEMM's packing cost more
// than the products at that size.
static void scores(const attn_job *j, float *s, const float *q, const float *k, int64_t q0, int64_t m, int64_t k0,
                   int64_t n) {
  if (m == 1)
    j->im->gemv(s, q, 1, k, 1, j->D, j->D, 0, n);
  else
    nb_gemm_blocked(j->im, s, n, q, j->D, 1, k, 1, j->D, m, n, j->D);
  for (int64_t r = 0; r < m; r++) {
    float *row = s + r * n;
    for (int64_t c = 0; c < n; c++) row[c] = (j->causal && k0 + c > j->off + q0 + r) ? -INFINITY : row[c] * j->scale;
  }
}

// Forward for one (b,h) and one block of queries.
static void fwd_task(void *p, int64_t lo, int64_t hi) {
  const attn_job *j = (const attn_job *)p;
  const int64_t T = j->T, D = j->D;
  float *buf = (float *)malloc(sizeof(float) * (QB * KB + 2 * QB * D + 2 * QB));
  if (!buf) {
    atomic_store(&((attn_job *)p)->failed, 1);
    return;
  }
  float *s = buf, *acc = s + QB * KB, *tmp = acc + QB * D, *mx = tmp + QB * D, *l = mx + QB;
  for (int64_t t = lo; t < hi; t++) {
    int64_t bh = t / j->nq, q0 = (t % j->nq) * QB, m = T - q0 < QB ? T - q0 : QB, b = bh / j->H, h = bh % j->H;
    const float *q = j->q + (bh * T + q0) * D, *kb = j->k + b * j->kbs + h / j->R * j->khs,
                *vb = j->v + b * j->vbs + h / j->R * j->vhs;
    for (int64_t r = 0; r < m; r++) {
      mx[r] = -INFINITY;
      l[r] = 0;
    }
    memset(acc, 0, sizeof(float) * m * D);
    int64_t kend = j->causal && j->off + q0 + m < j->S ? j->off + q0 + m : j->S;
    for (int64_t k0 = 0; k0 < kend; k0 += KB) {
      int64_t n = kend - k0 < KB ? kend - k0 : KB;
      scores(j, s, q, kb + k0 * D, q0, m, k0, n);
      for (int64_t r = 0; r < m; r++) {
        float *row = s + r * n;
        float bm = (float)j->rd->reduce(NB_MAX, row, n, -INFINITY);
        float nm = bm > mx[r] ? bm : mx[r];
        float alpha = mx[r] == -INFINITY ? 0.0f : expf(mx[r] - nm);
        for (int64_t c = 0; c < n; c++) row[c] -= nm;
        j->ew->unary(NB_EXP, row, row, n, 0, 0);
        l[r] = l[r] * alpha + (float)j->rd->reduce(NB_SUM, row, n, 0.0);
        mx[r] = nm;
        for (int64_t d = 0; d < D; d++) acc[r * D + d] *= alpha;
      }
      if (m == 1)
        j->im->gemv(tmp, s, 1, vb + k0 * D, D, 1, n, 0, D); // P (1,n) @ V (n,D)
      else
        nb_gemm_blocked(j->im, tmp, D, s, n, 1, vb + k0 * D, D, 1, m, D, n); // P (m,n) @ V (n,D)
      for (int64_t i = 0; i < m * D; i++) acc[i] += tmp[i];
    }
    float *o = j->out + (bh * T + q0) * D;
    for (int64_t r = 0; r < m; r++) {
      float inv = 1.0f / l[r];
      for (int64_t d = 0; d < D; d++) o[r * D + d] = acc[r * D + d] * inv;
      j->lse[bh * T + q0 + r] = mx[r] + logf(l[r]);
    }
  }
  free(buf);
}

// Backward for one (b,h): every key block j against the query blocks that see it.
// dS = P * (dP - rowsum(dO * O)); dQ += scale dS K; dK += scale dS^T Q; dV += P^T dO.
static void bwd_task(void *p, int64_t lo, int64_t hi) {
  const attn_job *j = (const attn_job *)p;
  const int64_t T = j->T, D = j->D;
  float *buf = (float *)malloc(sizeof(float) * (2 * QB * KB + KB * D + QB * D + QB));
  if (!buf) {
    atomic_store(&((attn_job *)p)->failed, 1);
    return;
  }
  float *s = buf, *dp = s + QB * KB, *tk = dp + QB * KB, *tq = tk + KB * D, *dd = tq + QB * D;
  for (int64_t bh = lo; bh < hi; bh++) {
    const int64_t base = bh * T * D;
    const float *q = j->q + base, *k = j->k + base, *v = j->v + base, *dout = j->dout + base, *o = j->o + base;
    const float *lse = j->lse + bh * T;
    float *dq = j->dq + base, *dk = j->dk + base, *dv = j->dv + base;
    memset(dq, 0, sizeof(float) * T * D);
    memset(dk, 0, sizeof(float) * T * D);
    memset(dv, 0, sizeof(float) * T * D);
    for (int64_t q0 = 0; q0 < T; q0 += QB) {
      int64_t m = T - q0 < QB ? T - q0 : QB;
      for (int64_t r = 0; r < m; r++) {
        double acc = 0;
        for (int64_t d = 0; d < D; d++) acc += (double)dout[(q0 + r) * D + d] * o[(q0 + r) * D + d];
        dd[r] = (float)acc;
      }
      int64_t kend = j->causal ? q0 + m : T;
      for (int64_t k0 = 0; k0 < kend; k0 += KB) {
        int64_t n = kend - k0 < KB ? kend - k0 : KB;
        scores(j, s, q + q0 * D, k + k0 * D, q0, m, k0, n);
        for (int64_t r = 0; r < m; r++) {
          float *row = s + r * n;
          for (int64_t c = 0; c < n; c++) row[c] -= lse[q0 + r];
          j->ew->unary(NB_EXP, row, row, n, 0, 0); // P
        }
        nb_gemm_blocked(j->im, tk, D, s, 1, n, dout + q0 * D, D, 1, n, D, m); // P^T (n,m) @ dO (m,D)
        for (int64_t i = 0; i < n * D; i++) dv[k0 * D + i] += tk[i];
        nb_gemm_blocked(j->im, dp, n, dout + q0 * D, D, 1, v + k0 * D, 1, D, m, n, D); // dP = dO @ V^T
        for (int64_t r = 0; r < m; r++)
          for (int64_t c = 0; c < n; c++) s[r * n + c] *= (dp[r * n + c] - dd[r]) * j->scale; // dS * scale
        nb_gemm_blocked(j->im, tq, D, s, n, 1, k + k0 * D, D, 1, m, D, n);                    // dS (m,n) @ K (n,D)
        for (int64_t i = 0; i < m * D; i++) dq[q0 * D + i] += tq[i];
        nb_gemm_blocked(j->im, tk, D, s, 1, n, q + q0 * D, D, 1, n, D, m); // dS^T (n,m) @ Q (m,D)
        for (int64_t i = 0; i < n * D; i++) dk[k0 * D + i] += tk[i];
      }
    }
  }
  free(buf);
}

int nb_attention_f32(float *out, float *lse, const float *q, const float *k, const float *v, int64_t B, int64_t H,
                     int64_t T, int64_t D, float scale, int causal) {
  return nb_attention_kv_f32(out, lse, q, k, v, B, H, H, T, T, D, H * T * D, T * D, H * T * D, T * D, scale, causal);
}

int nb_attention_kv_f32(float *out, float *lse, const float *q, const float *k, const float *v, int64_t B, int64_t H,
                        int64_t KVH, int64_t T, int64_t S, int64_t D, int64_t kbs, int64_t khs, int64_t vbs,
                        int64_t vhs, float scale, int causal) {
  attn_job j = {.im = nb_gemm_select(nb_active_isa()),
                .ew = nb_ew_select(),
                .rd = nb_reduce_select(),
                .out = out,
                .lse = lse,
                .q = q,
                .k = k,
                .v = v,
                .B = B,
                .H = H,
                .T = T,
                .D = D,
                .nq = (T + QB - 1) / QB,
                .S = S,
                .off = S - T,
                .kbs = kbs,
                .khs = khs,
                .vbs = vbs,
                .vhs = vhs,
                .R = H / KVH,
                .scale = scale,
                .causal = causal};
  // a task is one block of at most QB queries (one, decoding) against S keys: both products
  nb_parallel_for(B * H * j.nq, (double)((T < QB ? T : QB) * S * D * 4), fwd_task, &j);
  return !atomic_load(&j.failed);
}

int nb_attention_bwd_f32(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                         const float *v, const float *o, const float *lse, int64_t B, int64_t H, int64_t T, int64_t D,
                         float scale, int causal) {
  attn_job j = {.im = nb_gemm_select(nb_active_isa()),
                .ew = nb_ew_select(),
                .rd = nb_reduce_select(),
                .lse = (float *)lse,
                .dq = dq,
                .dk = dk,
                .dv = dv,
                .q = q,
                .k = k,
                .v = v,
                .dout = dout,
                .o = o,
                .B = B,
                .H = H,
                .T = T,
                .D = D,
                .scale = scale,
                .causal = causal};
  nb_parallel_for(B * H, (double)(T * T * D * 4), bwd_task, &j);
  return !atomic_load(&j.failed);
}
