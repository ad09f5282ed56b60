// SGEMM/GEMV benchmark in llm.c dev/cpu style: validate each variant against gemm_ref, then time it.
// Usage: sh native/bench/run.sh [threads]
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "../include/nabla.h"
#include "../src/gemm/gemm.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void run(int64_t M, int64_t N, int64_t K, int tb) {
  float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
  float *c = malloc(sizeof(float) * M * N), *ref = malloc(sizeof(float) * M * N);
  for (int64_t i = 0; i < M * K; i++) a[i] = (float)rand() / RAND_MAX - 0.5f;
  for (int64_t i = 0; i < K * N; i++) b[i] = (float)rand() / RAND_MAX - 0.5f;
  int64_t rsb = tb ? 1 : N, csb = tb ? K : 1, zero = 0;
  int64_t vm = M < 64 ? M : 64; /* validate the first rows only: the reference is slow */
  nb_gemm_ref(ref, N, a, K, 1, b, rsb, csb, vm, N, K);
  for (int isa = 0; isa <= nb_cpu_isa(); isa++) {
    nb_set_isa(isa);
    nb_sgemm_batched(c, a, &zero, K, 1, b, &zero, rsb, csb, 1, M, N, K);
    for (int64_t i = 0; i < vm * N; i++)
      if (!(fabsf(c[i] - ref[i]) <= 1e-4f * (1 + fabsf(ref[i])) * sqrtf((float)K))) {
        printf("%s: MISMATCH at %lld: %g vs %g\n", nb_isa_name(isa), (long long)i, c[i], ref[i]);
        exit(1);
      }
    int reps = 0;
    double t0 = now(), best = 1e9;
    while (now() - t0 < 1.0 || reps < 3) {
      double t = now();
      nb_sgemm_batched(c, a, &zero, K, 1, b, &zero, rsb, csb, 1, M, N, K);
      t = now() - t;
      if (t < best) best = t;
      reps++;
    }
    double gf = 2.0 * M * N * K / best / 1e9, gbs = 4.0 * (M * K + K * N + M * N) / best / 1e9;
    if (isa == NB_ISA_AVX512 && getenv("NB_VARIANT")) {
      /* time the alternative microkernel through the single-thread blocked driver */
      const nb_gemm_impl *alt = &nb_gemm_avx512_8x48;
      double b2 = 1e9;
      for (int r = 0; r < 5; r++) {
        double t = now();
        nb_gemm_blocked(alt, c, N, a, K, 1, b, rsb, csb, M, N, K);
        t = now() - t;
        if (t < b2) b2 = t;
      }
      double t1 = 1e9;
      for (int r = 0; r < 5; r++) {
        double t = now();
        nb_gemm_blocked(nb_gemm_select(isa), c, N, a, K, 1, b, rsb, csb, M, N, K);
        t = now() - t;
        if (t < t1) t1 = t;
      }
      printf("  1-thread blocked: %s %.1f GFLOP/s, 8x48 %.1f GFLOP/s\n", nb_gemm_select(isa)->name,
             2.0 * M * N * K / t1 / 1e9, 2.0 * M * N * K / b2 / 1e9);
    }
    printf("%-7s %5lldx%5lldx%5lld tb=%d  %8.3f ms  %7.1f GFLOP/s  %6.1f GB/s\n", nb_isa_name(isa), (long long)M,
           (long long)N, (long long)K, tb, best * 1e3, gf, gbs);
  }
  free(a);
  free(b);
  free(c);
  free(ref);
}

int main(int argc, char **argv) {
  if (argc > 1) nb_set_num_threads(atoi(argv[1]));
  printf("threads %d, cpu isa %s\n", nb_num_threads(), nb_isa_name(nb_cpu_isa()));
  run(1024, 1024, 1024, 0);
  run(128, 2304, 768, 0);
  run(128, 3072, 768, 0);
  run(128, 768, 3072, 1);
  run(1, 50257, 768, 0);
  run(1, 50257, 768, 1);
  return 0;
}
