#!/bin/sh
# Builds and runs the C-level gemm test (no Node needed). Usage: sh native/test/run.sh
set -e
cd "$(dirname "$0")/.."
out=${TMPDIR:-/tmp}/nabla_test_gemm
S=src
AVX512="-mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma -mavx2"
gcc -O2 -std=gnu11 -Wall -c $S/gemm/gemm_avx512.c $AVX512 -o $out.avx512.o
gcc -O2 -std=gnu11 -Wall -c $S/ew_avx512.c $AVX512 -o $out.ew_avx512.o
gcc -O2 -std=gnu11 -Wall -c $S/gemm/gemm_avx2.c -mavx2 -mfma -o $out.avx2.o
gcc -O2 -std=gnu11 -Wall -c $S/ew_avx2.c -mavx2 -mfma -o $out.ew_avx2.o
gcc -O2 -std=gnu11 -Wall -g test/test_gemm.c $S/gemm/gemm.c $S/gemm/gemm_ref.c $S/gemm/pack.c $S/cpu_features.c \
  $S/threadpool.c $S/strided.c $S/ew_scalar.c $out.avx512.o $out.avx2.o $out.ew_avx512.o $out.ew_avx2.o -lpthread -lm -o $out
"$out"
