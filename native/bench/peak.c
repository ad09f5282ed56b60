// Machine limits for the benchmark: fp32 FMA peak (independent FMA chains, one set per thread) and
// memory bandwidth (STREAM triad a = b + s*c, 12 bytes per element; and a read-only sum over
// 384 MB, the limit for kernels that mostly stream one operand, like GEMV). Prints one JSON line.
// Build: cc -O3 -pthread native/bench/peak.c -o peak && ./peak [threads]
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#define CHAINS   12
#define ITERS    40000000L
#define REP12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

// 12 independent chains of FMAs in named registers: latency 4 x 2 pipes needs >= 8 in flight.
__attribute__((target("avx512f,fma"))) static float fma512(long n) {
  __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
#define DECL(i) __m512 a##i = _mm512_set1_ps((float)i);
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, x, y);
#define SUM(i)  s = _mm512_add_ps(s, a##i);
  REP12(DECL)
  for (long i = 0; i < n; i++) { REP12(STEP) __asm__ volatile("" ::: "memory"); }
  __m512 s = _mm512_setzero_ps();
  REP12(SUM)
  return _mm512_reduce_add_ps(s);
#undef DECL
#undef STEP
#undef SUM
}

__attribute__((target("avx2,fma"))) static float fma256(long n) {
  __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
#define DECL(i) __m256 a##i = _mm256_set1_ps((float)i);
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, x, y);
#define SUM(i)  s = _mm256_add_ps(s, a##i);
  REP12(DECL)
  for (long i = 0; i < n; i++) { REP12(STEP) __asm__ volatile("" ::: "memory"); }
  __m256 s = _mm256_setzero_ps();
  REP12(SUM)
  float o[8];
  _mm256_storeu_ps(o, s);
  return o[0];
#undef DECL
#undef STEP
#undef SUM
}

static int wide;
static volatile float sink;
static void *fma_thread(void *arg) {
  (void)arg;
  sink = wide ? fma512(ITERS) : fma256(ITERS);
  return NULL;
}

typedef struct {
  float *a, *b, *c;
  long lo, hi;
  float sum;
} triad_arg;
static void *triad_thread(void *p) {
  triad_arg *t = (triad_arg *)p;
  for (long i = t->lo; i < t->hi; i++) t->a[i] = t->b[i] + 3.0f * t->c[i];
  return NULL;
}

// Read bandwidth: a sum over b (4 bytes per element), 16 independent lanes.
static void *read_thread(void *p) {
  triad_arg *t = (triad_arg *)p;
  float l[16] = {0};
  for (long i = t->lo; i + 16 <= t->hi; i += 16)
    for (int k = 0; k < 16; k++) l[k] += t->b[i + k];
  for (int k = 1; k < 16; k++) l[0] += l[k];
  t->sum = l[0];
  return NULL;
}

static double run_read(int nt, float *b, long n) {
  pthread_t th[64];
  triad_arg args[64];
  double best = 1e9;
  for (int rep = 0; rep < 5; rep++) {
    double t = now();
    for (int i = 0; i < nt; i++) {
      args[i] = (triad_arg){NULL, b, NULL, n * i / nt, n * (i + 1) / nt, 0};
      pthread_create(&th[i], NULL, read_thread, &args[i]);
    }
    for (int i = 0; i < nt; i++) {
      pthread_join(th[i], NULL);
      sink += args[i].sum;
    }
    t = now() - t;
    if (t < best) best = t;
  }
  return 4.0 * n / best / 1e9;
}

static double run_fma(int nt) {
  pthread_t th[64];
  double t = now();
  for (int i = 0; i < nt; i++) pthread_create(&th[i], NULL, fma_thread, NULL);
  for (int i = 0; i < nt; i++) pthread_join(th[i], NULL);
  t = now() - t;
  return (double)nt * ITERS * CHAINS * (wide ? 16 : 8) * 2 / t / 1e9;
}

static double run_triad(int nt, float *a, float *b, float *c, long n) {
  pthread_t th[64];
  triad_arg args[64];
  double best = 1e9;
  for (int rep = 0; rep < 5; rep++) {
    double t = now();
    for (int i = 0; i < nt; i++) {
      args[i] = (triad_arg){a, b, c, n * i / nt, n * (i + 1) / nt, 0};
      pthread_create(&th[i], NULL, triad_thread, &args[i]);
    }
    for (int i = 0; i < nt; i++) pthread_join(th[i], NULL);
    t = now() - t;
    if (t < best) best = t;
  }
  return 12.0 * n / best / 1e9;
}

int main(int argc, char **argv) {
  int nt = argc > 1 ? atoi(argv[1]) : 2;
  if (nt < 1 || nt > 64) nt = 2;
  __builtin_cpu_init();
  wide = __builtin_cpu_supports("avx512f");
  if (!wide && !__builtin_cpu_supports("fma")) {
    printf("{\"error\":\"no FMA\"}\n");
    return 0;
  }
  double best1 = 0, bestn = 0;
  for (int rep = 0; rep < 3; rep++) {
    double g1 = run_fma(1), gn = run_fma(nt);
    if (g1 > best1) best1 = g1;
    if (gn > bestn) bestn = gn;
  }
  long n = 32L << 20;
  float *a = malloc(n * 4), *b = malloc(n * 4 * 3), *c = malloc(n * 4);
  if (!a || !b || !c) {
    printf("{\"error\":\"out of memory\"}\n");
    return 0;
  }
  for (long i = 0; i < n; i++) {
    a[i] = 0;
    c[i] = 2;
  }
  for (long i = 0; i < 3 * n; i++) b[i] = 1;
  double bw = run_triad(nt, a, b, c, n), bw1 = run_triad(1, a, b, c, n), rd = run_read(nt, b, 3 * n);
  printf("{\"threads\":%d,\"isa\":\"%s\",\"fmaGflops1\":%.1f,\"fmaGflops\":%.1f,\"triadGBs1\":%.1f,\"triadGBs\":%.1f,"
         "\"readGBs\":%.1f}\n",
         nt, wide ? "avx512" : "avx2", best1, bestn, bw1, bw, rd);
  return 0;
}
