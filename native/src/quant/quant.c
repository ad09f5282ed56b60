// Quantized products, the driver: weight packing, dynamic activation quantization (QNNPACK's scheme),
// the split of columns over the thread pool, and the choice of a path at run time: AMX (Intel, when
// the kernel grants the tile state), then AVX512-VNNI / AVX512-BF16, then AVX-VNNI, then AVX2, then
// scalar. Glossary and packed layouts in quant.h.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nabla.h"
#include "quant.h"
#if defined(__x86_64__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#endif

/* ---- cpu features the other families do not need ---- */
enum { F_VNNI512 = 1, F_BF16_512 = 2, F_AVXVNNI = 4, F_AMX_INT8 = 8, F_AMX_BF16 = 16 };
static int features = -1;

static int detect_features(void) {
  int f = 0;
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    if ((c >> 11) & 1) f |= F_VNNI512;
    if (((d >> 24) & 1) && ((d >> 25) & 1)) f |= F_AMX_INT8;
    if (((d >> 24) & 1) && ((d >> 22) & 1)) f |= F_AMX_BF16;
  }
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
    if ((a >> 4) & 1) f |= F_AVXVNNI;
    if ((a >> 5) & 1) f |= F_BF16_512;
  }
#endif
  return f;
}

static int has(int what) {
  if (features < 0) features = detect_features();
  return (features & what) == what;
}

/* ---- AMX: the tile data state is off until the process asks the kernel for it ---- */
static int amx_state = -1; /* -1 not asked, 0 unusable, 1 usable */
static char amx_why[160] = "not asked yet";

int nb_amx_usable(void) {
  if (amx_state >= 0) return amx_state;
  amx_state = 0;
  if (!has(F_AMX_INT8) && !has(F_AMX_BF16)) {
    snprintf(amx_why, sizeof amx_why, "this CPU has no AMX (cpuid leaf 7: amx_tile, amx_int8, amx_bf16)");
    return 0;
  }
#if defined(__x86_64__) && defined(__linux__)
  // NOTE: Linux keeps the 8 KB tile state out of every thread's signal frame until the process asks
  // once (arch_prctl ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA = 18); a tile instruction before that faults.
  long rc = syscall(SYS_arch_prctl, 0x1023, 18);
  if (rc != 0) {
    snprintf(amx_why, sizeof amx_why, "the kernel refused the AMX tile state (arch_prctl ARCH_REQ_XCOMP_PERM: %s)",
             strerror(errno));
    fprintf(stderr, "nabla: %s; int8/bf16 products use AVX-512 instead\n", amx_why);
    return 0;
  }
  amx_state = 1;
  snprintf(amx_why, sizeof amx_why, "granted");
  return 1;
#else
  snprintf(amx_why, sizeof amx_why, "AMX needs Linux's arch_prctl permission; not asked on this OS");
  return 0;
#endif
}

const char *nb_amx_status(void) {
  nb_amx_usable();
  return amx_why;
}

/* ---- path choice: automatic (the best the active ISA allows) or forced by name (tests, benchmarks) ---- */
typedef struct {
  const char *name;
  nb_q8_gemm_fn q8;
  nb_bf16_gemm_fn bf16;
  nb_woq_fn woq;
  nb_q4_fn q4; /* for the group sizes q4_kernel says */
  const char *bf16_name, *woq_name;
} path;

#if defined(__x86_64__)
void nb_q8_gemm_avx2(const uint8_t *, int64_t, int64_t, const int8_t *, int64_t, int64_t, int64_t, int64_t,
                     const nb_q8_epi *);
void nb_q8_gemm_avxvnni(const uint8_t *, int64_t, int64_t, const int8_t *, int64_t, int64_t, int64_t, int64_t,
                        const nb_q8_epi *);
void nb_q8_gemm_vnni512(const uint8_t *, int64_t, int64_t, const int8_t *, int64_t, int64_t, int64_t, int64_t,
                        const nb_q8_epi *);
void nb_q8_gemm_amx(const uint8_t *, int64_t, int64_t, const int8_t *, int64_t, int64_t, int64_t, int64_t,
                    const nb_q8_epi *);
void nb_bf16_gemm_avx512bf16(const uint16_t *, int64_t, int64_t, const uint16_t *, int64_t, int64_t, int64_t, int64_t,
                             const float *, float *, int64_t);
void nb_bf16_gemm_amx(const uint16_t *, int64_t, int64_t, const uint16_t *, int64_t, int64_t, int64_t, int64_t,
                      const float *, float *, int64_t);
void nb_woq_avx2(const float *, int64_t, int64_t, const uint8_t *, const float *, int, int64_t, int64_t, int64_t,
                 int64_t, const float *, float *, int64_t);
void nb_woq_avx512(const float *, int64_t, int64_t, const uint8_t *, const float *, int, int64_t, int64_t, int64_t,
                   int64_t, const float *, float *, int64_t);
void nb_q4_avx2(const nb_q4_act *, int64_t, const uint8_t *, const float *, int64_t, int64_t, int64_t, int64_t,
                const float *, float *, int64_t);
void nb_q4_vnni512(const nb_q4_act *, int64_t, const uint8_t *, const float *, int64_t, int64_t, int64_t, int64_t,
                   const float *, float *, int64_t);
#endif

/* The int4 kernel for group size G: a SIMD kernel's vectors (32 bytes for AVX2, 64 for AVX-512) must
 * hold whole groups or lie in one group; the next narrower kernel takes the other sizes. */
static nb_q4_fn q4_kernel(nb_q4_fn f, int64_t G) {
#if defined(__x86_64__)
  if (f == nb_q4_vnni512 && (G == 32 || G == 64 || G % 128 == 0)) return f;
  if (f != nb_q4_scalar && (G == 32 || G % 64 == 0)) return nb_q4_avx2;
#endif
  (void)f, (void)G;
  return nb_q4_scalar;
}

static int forced = -1; /* index into the names below, -1 automatic */
static const char *const PATH_NAMES[] = {"scalar", "avx2", "avxvnni", "avx512", "amx"};

/* Whether this machine (and the active ISA cap) can run a path. */
static int path_available(int p) {
  int isa = nb_active_isa();
  switch (p) {
  case 0:
    return 1;
  case 1:
    return isa >= NB_ISA_AVX2;
  case 2:
    return isa >= NB_ISA_AVX2 && has(F_AVXVNNI);
  case 3:
    return isa >= NB_ISA_AVX512 && has(F_VNNI512);
  case 4:
    return isa >= NB_ISA_AVX512 && has(F_VNNI512) && has(F_AMX_INT8) && nb_amx_usable();
  }
  return 0;
}

static path current(void) {
  path r = {"scalar", nb_q8_gemm_scalar, nb_bf16_gemm_scalar, nb_woq_scalar, nb_q4_scalar, "scalar", "scalar"};
#if defined(__x86_64__)
  int p = forced;
  if (p < 0 || !path_available(p))
    for (p = 4; p > 0 && !path_available(p); p--) {}
  int isa = nb_active_isa();
  if (p >= 1) r = (path){"avx2", nb_q8_gemm_avx2, nb_bf16_gemm_scalar, nb_woq_avx2, nb_q4_avx2, "scalar", "avx2"};
  if (p == 2) r.name = "avxvnni", r.q8 = nb_q8_gemm_avxvnni;
  if (p >= 3) r.name = "avx512", r.q8 = nb_q8_gemm_vnni512;
  // NOTE: the weight-only kernels need no VNNI, so every AVX-512 machine runs them, unless a narrower path is forced.
  if (isa >= NB_ISA_AVX512 && p >= 1 && (forced < 0 || p >= 3)) {
    r.woq = nb_woq_avx512, r.woq_name = "avx512";
    if (has(F_VNNI512)) r.q4 = nb_q4_vnni512;
  }
  if (p >= 3 && has(F_BF16_512)) r.bf16 = nb_bf16_gemm_avx512bf16, r.bf16_name = "avx512";
  if (p == 4) {
    r.name = "amx", r.q8 = nb_q8_gemm_amx;
    if (has(F_AMX_BF16)) r.bf16 = nb_bf16_gemm_amx, r.bf16_name = "amx";
  }
#endif
  return r;
}

int nb_quant_set_path(const char *name) {
  if (!name || !strcmp(name, "auto")) {
    forced = -1;
    return 1;
  }
  for (int p = 0; p < 5; p++)
    if (!strcmp(name, PATH_NAMES[p])) {
      if (!path_available(p)) return 0;
      forced = p;
      return 1;
    }
  return 0;
}

void nb_quant_paths(const char **int8, const char **bf16, const char **woq, int *avail) {
  path r = current();
  *int8 = r.name;
  *bf16 = r.bf16_name;
  *woq = r.woq_name;
  int m = 0;
  for (int p = 0; p < 5; p++) m |= path_available(p) << p;
  *avail = m;
}

nb_q8_gemm_fn nb_q8_active(void) { return current().q8; }

/* ---- packing ---- */
void nb_q8_pack(int8_t *bp, int32_t *colsum, const int8_t *w, int64_t N, int64_t K) {
  const int64_t KP = nb_q8_kp(K), P = nb_q_panels(N);
  memset(bp, 0, (size_t)(P * KP * 16));
  for (int64_t n = 0; n < N; n++) {
    int8_t *dst = bp + (n / 16) * KP * 16 + (n % 16) * 4;
    const int8_t *src = w + n * K;
    int32_t s = 0;
    for (int64_t k = 0; k < K; k++) {
      dst[(k / 4) * 64 + (k % 4)] = src[k];
      s += src[k];
    }
    colsum[n] = s;
  }
}

void nb_bf16_pack(uint16_t *bp, const uint16_t *w, int64_t N, int64_t K) {
  const int64_t KP = nb_bf16_kp(K), P = nb_q_panels(N);
  memset(bp, 0, (size_t)(P * KP * 16) * sizeof(uint16_t));
  for (int64_t n = 0; n < N; n++) {
    uint16_t *dst = bp + (n / 16) * KP * 16 + (n % 16) * 2;
    const uint16_t *src = w + n * K;
    for (int64_t k = 0; k < K; k++) dst[(k / 2) * 32 + (k % 2)] = src[k];
  }
}

/* ---- QNNPACK's dynamic activation parameters (ATen quant_utils ChooseQuantizationParams, no
 * sparsity, no power-of-two scale): the range always holds 0, [0,255] (or [0,127] with reduce_range) ---- */
void nb_q8_choose_qparams(float mn, float mx, int reduce_range, float *scale, int32_t *zp) {
  const int qmin = 0, qmax = reduce_range ? 127 : 255;
  if (mn > 0.f) mn = 0.f;
  if (mx < 0.f) mx = 0.f;
  double s = ((double)mx - (double)mn) / (qmax - qmin);
  if ((float)s == 0.f || isinf(1.f / (float)s)) s = 0.1;
  const float sf = (float)s;
  const double zmin = qmin - mn / (double)sf, zmax = qmax - mx / (double)sf;
  const double emin = fabs((double)qmin) - fabs(mn / (double)sf), emax = fabs((double)qmax) - fabs(mx / (double)sf);
  const double z0 = emin < emax ? zmin : zmax;
  *zp = z0 < qmin ? qmin : z0 > qmax ? qmax : (int32_t)nearbyint(z0);
  *scale = sf;
}

/* ---- the parallel driver ---- */
typedef struct {
  path pa;
  int kind; /* 0 int8, 1 bf16, 2 weight-only int8, 3 int4 */
  const void *x;
  int64_t ldx, M, N, K;
  const void *bp;
  nb_q8_epi e;
  const float *scales, *bias;
  float *y;
  int bits;
  int64_t G;
  nb_q4_act a;
  nb_q4_fn q4;
  int64_t unit; /* columns per unit of work */
} qjob;

static void qtask(void *ctx, int t, int nt) {
  const qjob *j = (const qjob *)ctx;
  const int64_t units = (j->N + j->unit - 1) / j->unit, per = units / nt, rem = units % nt;
  const int64_t u0 = t * per + (t < rem ? t : rem), u1 = u0 + per + (t < rem);
  const int64_t n0 = u0 * j->unit, n1 = u1 * j->unit < j->N ? u1 * j->unit : j->N;
  if (n0 >= n1) return;
  if (j->kind == 0)
    j->pa.q8((const uint8_t *)j->x, j->ldx, j->M, (const int8_t *)j->bp, j->K, n0, n1, j->N, &j->e);
  else if (j->kind == 1)
    j->pa.bf16((const uint16_t *)j->x, j->ldx, j->M, (const uint16_t *)j->bp, j->K, n0, n1, j->N, j->bias, j->y, j->N);
  else if (j->kind == 2)
    j->pa.woq((const float *)j->x, j->ldx, j->M, (const uint8_t *)j->bp, j->scales, j->bits, j->G, j->K, n0, n1,
              j->bias, j->y, j->N);
  else
    j->q4(&j->a, j->M, (const uint8_t *)j->bp, j->scales, j->G, j->K, n0, n1, j->bias, j->y, j->N);
}

static void run(qjob *j, double macs) {
  int nt = nb_num_threads();
  const int64_t units = (j->N + j->unit - 1) / j->unit;
  if (macs < 1 << 17) nt = 1;
  if (nt > units) nt = (int)units;
  if (nt <= 1)
    qtask(j, 0, 1);
  else
    nb_parallel(qtask, j, nt);
}

/* Row-major copy of xq (M,K) with rows padded to KP zero bytes (the kernels read whole k-groups and
 * AMX whole 64-byte rows). NULL when out of memory. */
static uint8_t *padded_u8(const uint8_t *xq, int64_t M, int64_t K, int64_t KP) {
  uint8_t *p = (uint8_t *)aligned_alloc(64, (size_t)((M * KP + 63) / 64 * 64));
  if (!p) return NULL;
  for (int64_t i = 0; i < M; i++) {
    memcpy(p + i * KP, xq + i * K, (size_t)K);
    memset(p + i * KP + K, 0, (size_t)(KP - K));
  }
  return p;
}

int nb_q8_gemm(float *y, uint8_t *yq, float ys, int32_t yz, const uint8_t *xq, int32_t xz, float xs, const int8_t *bp,
               const int32_t *colsum, const float *ws, const float *bias, int64_t M, int64_t N, int64_t K) {
  const int64_t KP = nb_q8_kp(K);
  uint8_t *xp = padded_u8(xq, M, K, KP);
  if (!xp) return 0;
  qjob j = {.pa = current(), .kind = 0, .x = xp, .ldx = KP, .M = M, .N = N, .K = K, .bp = bp, .unit = 32};
  j.e = (nb_q8_epi){xz, xs, ws, colsum, bias, y, yq, N, 1.f / ys, yz};
  run(&j, (double)M * N * K);
  free(xp);
  return 1;
}

/* y (M,N) = dequant(quant(x) @ w^T) + bias with x (M,K) [rsx,csx] quantized per tensor on the fly. */
int nb_q8_linear_dynamic(float *y, const float *x, int64_t rsx, int64_t csx, int64_t M, int64_t K, const int8_t *bp,
                         const int32_t *colsum, const float *ws, const float *bias, int64_t N, int reduce_range) {
  float mn = INFINITY, mx = -INFINITY;
  for (int64_t i = 0; i < M; i++) {
    const float *xr = x + i * rsx;
    if (csx == 1) {
      // NOTE: a loop of its own so that the compiler vectorizes it (a stride would not let it)
      for (int64_t k = 0; k < K; k++) {
        mn = xr[k] < mn ? xr[k] : mn;
        mx = xr[k] > mx ? xr[k] : mx;
      }
    } else {
      for (int64_t k = 0; k < K; k++) {
        const float v = xr[k * csx];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
      }
    }
  }
  if (M * K == 0) mn = mx = 0.f;
  float xs;
  int32_t xz;
  nb_q8_choose_qparams(mn, mx, reduce_range, &xs, &xz);
  const int64_t KP = nb_q8_kp(K);
  uint8_t *xp = (uint8_t *)aligned_alloc(64, (size_t)((M * KP + 63) / 64 * 64));
  if (!xp) return 0;
  const float inv = 1.f / xs, qmax = reduce_range ? 127.f : 255.f, fz = (float)xz;
  for (int64_t i = 0; i < M; i++) {
    uint8_t *r = xp + i * KP;
    const float *xr = x + i * rsx;
    // NOTE: adding and subtracting 1.5 * 2^23 rounds half to even as nearbyintf does (|v| < 2^22 after the
    // clamp), without the libm call the baseline x86-64 build would make; NaN becomes code 0, as in JS.
#define QUANT_ROW(stride)                                                                                              \
  for (int64_t k = 0; k < K; k++) {                                                                                    \
    float v = xr[k * (stride)] * inv;                                                                                  \
    v = v < -4e6f ? -4e6f : v > 4e6f ? 4e6f : v;                                                                       \
    const float q = (v + 12582912.f) - 12582912.f + fz;                                                                \
    r[k] = (uint8_t)(q >= 0.f ? (q > qmax ? qmax : q) : 0.f);                                                          \
  }
    if (csx == 1) {
      QUANT_ROW(1)
    } else {
      QUANT_ROW(csx)
    }
#undef QUANT_ROW
    memset(r + K, 0, (size_t)(KP - K));
  }
  qjob j = {.pa = current(), .kind = 0, .x = xp, .ldx = KP, .M = M, .N = N, .K = K, .bp = bp, .unit = 32};
  j.e = (nb_q8_epi){xz, xs, ws, colsum, bias, y, NULL, N, 1.f, 0};
  run(&j, (double)M * N * K);
  free(xp);
  return 1;
}

/* y (M,N) = bf16(x) @ w^T + bias: x rounded to bf16, products summed in f32. */
int nb_bf16_linear(float *y, const float *x, int64_t rsx, int64_t csx, int64_t M, int64_t K, const uint16_t *bp,
                   const float *bias, int64_t N) {
  const int64_t KP = nb_bf16_kp(K);
  uint16_t *xb = (uint16_t *)aligned_alloc(64, (size_t)((M * KP * 2 + 63) / 64 * 64));
  if (!xb) return 0;
  for (int64_t i = 0; i < M; i++) {
    for (int64_t k = 0; k < K; k++) xb[i * KP + k] = nb_f32_to_bf16(x[i * rsx + k * csx]);
    memset(xb + i * KP + K, 0, (size_t)(KP - K) * 2);
  }
  qjob j = {.pa = current(), .kind = 1, .x = xb, .ldx = KP, .M = M, .N = N, .K = K, .bp = bp, .bias = bias, .y = y};
  j.unit = 32;
  run(&j, (double)M * N * K);
  free(xb);
  return 1;
}

/* The int4 kernels' activations (nb_q4_act in quant.h) from x (M,K) rows ldx apart, into one buffer of
 * 4 * M * ld bytes (lo, hi, corr, dl). */
static void q4_prepare(nb_q4_act *a, uint8_t *buf, const float *x, int64_t ldx, int64_t M, int64_t K, int64_t G,
                       int64_t ld) {
  int8_t *lo = (int8_t *)buf, *hi = lo + M * ld;
  int32_t *corr = (int32_t *)(hi + M * ld);
  float *dl = (float *)(corr + M * ld / 4);
  memset(buf, 0, (size_t)(4 * M * ld));
  const int64_t ng = (K + G - 1) / G, half = G / 2;
  for (int64_t i = 0; i < M; i++) {
    const float *xr = x + i * ldx;
    for (int64_t g = 0; g < ng; g++) {
      const int64_t k0 = g * G, k1 = k0 + G < K ? k0 + G : K;
      float amax = 0.f;
      for (int64_t k = k0; k < k1; k++) amax = fabsf(xr[k]) > amax ? fabsf(xr[k]) : amax;
      const float d = amax / 127.f, id = d != 0.f ? 1.f / d : 0.f;
      for (int64_t k = k0; k < k1; k++) {
        float v = xr[k] * id;
        v = v > 127.f ? 127.f : v < -127.f ? -127.f : v;
        // NOTE: adding and subtracting 1.5 * 2^23 rounds half to even as rint does, without a libm call.
        const int8_t c = v == v ? (int8_t)((v + 12582912.f) - 12582912.f) : 0;
        const int64_t j = k - k0, p = i * ld + g * half + (j < half ? j : j - half);
        (j < half ? lo : hi)[p] = c;
        corr[p / 4] -= 8 * c;
      }
      for (int64_t p = g * half; p < (g + 1) * half; p += 4) dl[i * ld / 4 + p / 4] = d;
    }
  }
  *a = (nb_q4_act){lo, hi, corr, dl, ld};
}

/* y (M,N) = x (M,K) contiguous rows (stride ldx) @ deq(q)^T + bias, weight-only int8/int4 (quant.h). */
int nb_woq_linear(float *y, const float *x, int64_t ldx, int64_t M, int64_t K, const uint8_t *q, const float *scales,
                  int bits, int64_t G, const float *bias, int64_t N) {
  qjob j = {.pa = current(), .kind = 2, .x = x, .ldx = ldx, .M = M, .N = N, .K = K, .bp = q, .scales = scales};
  j.bias = bias, j.y = y, j.bits = bits, j.G = G, j.unit = 16;
  if (bits == 8) {
    run(&j, (double)M * N * K);
    return 1;
  }
  const int64_t ld = ((K + G - 1) / G * G / 2 + 63) / 64 * 64;
  uint8_t *buf = (uint8_t *)aligned_alloc(64, (size_t)(4 * M * ld));
  if (!buf) return 0;
  q4_prepare(&j.a, buf, x, ldx, M, K, G, ld);
  j.kind = 3, j.q4 = q4_kernel(j.pa.q4, G);
  run(&j, (double)M * N * K);
  free(buf);
  return 1;
}

/* ---- scalar kernels ---- */
void nb_q8_gemm_scalar(const uint8_t *xq, int64_t ldx, int64_t M, const int8_t *bp, int64_t K, int64_t n0, int64_t n1,
                       int64_t N, const nb_q8_epi *e) {
  (void)N;
  const int64_t KP = nb_q8_kp(K), KG = (K + 3) / 4;
  int32_t acc[16];
  for (int64_t p = n0 / 16; p * 16 < n1; p++) {
    const int8_t *panel = bp + p * KP * 16;
    const int64_t nc = n1 - p * 16 < 16 ? n1 - p * 16 : 16;
    for (int64_t i = 0; i < M; i++) {
      const uint8_t *a = xq + i * ldx;
      memset(acc, 0, sizeof acc);
      for (int64_t g = 0; g < KG; g++) {
        const int8_t *b = panel + g * 64;
        const int32_t a0 = a[4 * g], a1 = a[4 * g + 1], a2 = a[4 * g + 2], a3 = a[4 * g + 3];
        for (int j = 0; j < 16; j++)
          acc[j] += a0 * b[4 * j] + a1 * b[4 * j + 1] + a2 * b[4 * j + 2] + a3 * b[4 * j + 3];
      }
      for (int64_t j = 0; j < nc; j++) nb_q8_store(e, i, p * 16 + j, acc[j]);
    }
  }
}

void nb_bf16_gemm_scalar(const uint16_t *xb, int64_t ldx, int64_t M, const uint16_t *bp, int64_t K, int64_t n0,
                         int64_t n1, int64_t N, const float *bias, float *y, int64_t ldy) {
  (void)N;
  const int64_t KP = nb_bf16_kp(K), KG = (K + 1) / 2;
  float acc[16];
  for (int64_t p = n0 / 16; p * 16 < n1; p++) {
    const uint16_t *panel = bp + p * KP * 16;
    const int64_t nc = n1 - p * 16 < 16 ? n1 - p * 16 : 16;
    for (int64_t i = 0; i < M; i++) {
      const uint16_t *a = xb + i * ldx;
      for (int j = 0; j < 16; j++) acc[j] = 0.f;
      for (int64_t g = 0; g < KG; g++) {
        const uint16_t *b = panel + g * 32;
        const float a0 = nb_bf16_to_f32(a[2 * g]), a1 = nb_bf16_to_f32(a[2 * g + 1]);
        for (int j = 0; j < 16; j++) acc[j] += a0 * nb_bf16_to_f32(b[2 * j]) + a1 * nb_bf16_to_f32(b[2 * j + 1]);
      }
      for (int64_t j = 0; j < nc; j++) y[i * ldy + p * 16 + j] = acc[j] + (bias ? bias[p * 16 + j] : 0.f);
    }
  }
}

void nb_q4_scalar(const nb_q4_act *a, int64_t M, const uint8_t *q, const float *scales, int64_t G, int64_t K,
                  int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy) {
  const int64_t ng = (K + G - 1) / G, half = G / 2, rowb = ng * half;
  for (int64_t n = n0; n < n1; n++) {
    const uint8_t *r = q + n * rowb;
    for (int64_t i = 0; i < M; i++) {
      const int8_t *lo = a->lo + i * a->ld, *hi = a->hi + i * a->ld;
      float acc = 0.f;
      for (int64_t g = 0; g < ng; g++) {
        int32_t s = 0;
        for (int64_t p = g * half; p < (g + 1) * half; p++) s += lo[p] * ((r[p] & 15) - 8) + hi[p] * ((r[p] >> 4) - 8);
        acc += (float)s * (scales[n * ng + g] * a->dl[i * a->ld / 4 + g * half / 4]);
      }
      y[i * ldy + n] = acc + (bias ? bias[n] : 0.f);
    }
  }
}

void nb_woq_scalar(const float *x, int64_t ldx, int64_t M, const uint8_t *q, const float *scales, int bits, int64_t G,
                   int64_t K, int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy) {
  (void)bits, (void)G;
  for (int64_t n = n0; n < n1; n++) {
    const int8_t *r = (const int8_t *)q + n * K;
    for (int64_t i = 0; i < M; i++) {
      const float *a = x + i * ldx;
      float acc = 0.f;
      for (int64_t k = 0; k < K; k++) acc += a[k] * (float)r[k];
      y[i * ldy + n] = acc * scales[n] + (bias ? bias[n] : 0.f);
    }
  }
}
