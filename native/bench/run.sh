#!/bin/sh
# Builds and runs the C-level gemm benchmark with the addon's flags. Usage: sh native/bench/run.sh [threads]
set -e
cd "$(dirname "$0")/.."
out=${TMPDIR:-/tmp}/nabla_bench_gemm
S=src
gcc -O3 -std=gnu11 -c $S/gemm/gemm_avx512.c -mavx512f -mfma -o $out.avx512.o
gcc -O3 -std=gnu11 -c $S/gemm/gemm_avx2.c -mavx2 -mfma -o $out.avx2.o
gcc -O3 -std=gnu11 bench/bench_gemm.c $S/gemm/gemm.c $S/gemm/gemm_ref.c $S/gemm/pack.c $S/cpu_features.c \
  $S/threadpool.c $out.avx512.o $out.avx2.o -lpthread -lm -o $out
"$out" "$@"
