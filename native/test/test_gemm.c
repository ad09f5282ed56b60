// Validates every SGEMM variant (scalar, avx2, avx512 where the CPU has it) against gemm_ref on odd
// sizes, every transpose combination, GEMV shapes and strided batches, single- and multi-threaded.
// Build and run: sh native/test/run.sh
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "../include/nabla.h"
#include "../src/gemm/gemm.h"

static float frand(unsigned *s) {
  *s = *s * 1664525u + 1013904223u;
  return ((*s >> 8) / 16777216.0f) * 2 - 1;
}

static int check(const char *what, const float *c, const float *ref, int64_t n, int64_t K) {
  double tol = 1e-5 * (K + 1);
  for (int64_t i = 0; i < n; i++) {
    if (!(fabs(c[i] - ref[i]) <= tol * (1 + fabs(ref[i])))) {
      printf("FAIL %s at %lld: %g vs %g\n", what, (long long)i, c[i], ref[i]);
      return 1;
    }
  }
  return 0;
}

int main(void) {
  int fails = 0, runs = 0;
  unsigned seed = 1;
  const int64_t sizes[][3] = {
      {1, 1, 1},       {3, 5, 7},      {17, 33, 1},   {14, 32, 256},  {15, 33, 257}, {127, 129, 300},
      {1, 131, 77},    {77, 1, 131},   {6, 16, 16},   {200, 50, 600}, {1, 1000, 33}, {513, 17, 9},
      {1000, 77, 300}, {1500, 40, 70}, {33, 97, 1500}}; /* K past 2.5 KC blocks: accumulated passes */
  const nb_gemm_impl *impls[] = {&nb_gemm_scalar, &nb_gemm_avx2, &nb_gemm_avx512, &nb_gemm_avx512_8x48,
                                 &nb_gemm_avx2_t8x48};
  const int impl_isa[] = {NB_ISA_SCALAR, NB_ISA_AVX2, NB_ISA_AVX512, NB_ISA_AVX512, NB_ISA_AVX2};
  for (int v = 0; v < 5; v++) {
    int isa = impl_isa[v];
    if (isa > nb_cpu_isa()) continue;
    nb_set_isa(isa);
    const nb_gemm_impl *im = impls[v];
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      int64_t M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
      float *a = malloc(sizeof(float) * M * K * 2), *b = malloc(sizeof(float) * K * N * 2);
      float *c = malloc(sizeof(float) * M * N * 2), *ref = malloc(sizeof(float) * M * N * 2);
      for (int64_t i = 0; i < M * K * 2; i++) a[i] = frand(&seed);
      for (int64_t i = 0; i < K * N * 2; i++) b[i] = frand(&seed);
      for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
          int64_t rsa = ta ? 1 : K, csa = ta ? M : 1, rsb = tb ? 1 : N, csb = tb ? K : 1;
          char what[128];
          nb_gemm_ref(ref, N, a, rsa, csa, b, rsb, csb, M, N, K);
          nb_gemm_ref(ref + M * N, N, a + M * K, rsa, csa, b + K * N, rsb, csb, M, N, K);
          nb_gemm_blocked(im, c, N, a, rsa, csa, b, rsb, csb, M, N, K);
          snprintf(what, sizeof what, "%s blocked %lldx%lldx%lld ta=%d tb=%d", im->name, (long long)M, (long long)N,
                   (long long)K, ta, tb);
          fails += check(what, c, ref, M * N, K);
          runs++;
          for (int nt = 1; nt <= 2; nt++) {
            nb_set_num_threads(nt);
            int64_t aoff[2] = {0, M * K}, boff[2] = {0, K * N};
            nb_sgemm_batched(c, a, aoff, rsa, csa, b, boff, rsb, csb, 2, M, N, K);
            snprintf(what, sizeof what, "%s batched nt=%d %lldx%lldx%lld ta=%d tb=%d", im->name, nt, (long long)M,
                     (long long)N, (long long)K, ta, tb);
            fails += check(what, c, ref, 2 * M * N, K);
            runs++;
            nb_sgemm_batched(c, a, aoff, rsa, csa, b, boff, rsb, csb, 1, M, N, K);
            fails += check(what, c, ref, M * N, K);
            runs++;
          }
        }
      free(a);
      free(b);
      free(c);
      free(ref);
    }
  }
  printf("%d checks, %d failures\n", runs, fails);
  return fails != 0;
}
