#!/bin/sh
# Builds and runs the C-level gemm benchmark with the addon's flags (binding.gyp).
# Usage: sh native/bench/run.sh [threads]
set -e
cd "$(dirname "$0")/.."
out=${TMPDIR:-/tmp}/nabla_bench_gemm
S=src
CC="gcc -O3 -std=gnu11 -fno-math-errno -fno-trapping-math -Iinclude -I$S/core -I$S/gemm -I$S/elementwise"
AVX2="-mavx2 -mfma"
AVX512="-mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma -mavx2"
$CC -c $S/gemm/gemm_avx2.c $AVX2 -o $out.gemm_avx2.o
$CC -c $S/elementwise/ew_avx2.c $AVX2 -o $out.ew_avx2.o
$CC -c $S/gemm/gemm_avx512.c $AVX512 -o $out.gemm_avx512.o
$CC -c $S/elementwise/ew_avx512.c $AVX512 -o $out.ew_avx512.o
$CC bench/bench_gemm.c $S/gemm/gemm.c $S/gemm/gemm_ref.c $S/gemm/pack.c $S/core/cpu_features.c $S/core/threadpool.c \
  $S/core/layout.c $S/elementwise/elementwise.c $S/elementwise/ew_scalar.c \
  $out.gemm_avx2.o $out.ew_avx2.o $out.gemm_avx512.o $out.ew_avx512.o -lpthread -lm -o $out
"$out" "$@"
