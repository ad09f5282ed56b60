# nabla native addon. The AVX2/FMA and AVX-512 kernels live in their own static libraries so only
# those files get the wide-ISA flags; the addon picks a path at runtime by cpuid (src/cpu_features.c),
# so the binary runs on any x86-64. Never -march=native.
{
  "target_defaults": {
    "cflags_c": ["-std=gnu11", "-O3", "-fPIC", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wno-unused-function"],
    "cflags!": ["-O2"],
    "include_dirs": ["include"],
  },
  "targets": [
    {
      "target_name": "nabla",
      "include_dirs": ["src"],
      "sources": [
        "src/napi/register.c", "src/napi/addon.c", "src/napi/addon_nn.c", "src/cpu_features.c", "src/threadpool.c",
        "src/strided.c", "src/reduce.c", "src/ew_scalar.c", "src/conv.c", "src/conv_direct.c", "src/conv_winograd.c", "src/conv_winograd_grad.c", "src/conv_winograd_f2.c", "src/pool.c", "src/nn.c", "src/attention.c", "src/mask.c",
        "src/gemm/gemm.c", "src/gemm/gemm_ref.c", "src/gemm/pack.c",
      ],
      "libraries": ["-lpthread", "-lm"],
      "conditions": [
        ["target_arch=='x64'", { "dependencies": ["nabla_avx2", "nabla_avx512"] }],
      ],
    },
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "nabla_avx2",
          "type": "static_library",
          "sources": ["src/gemm/gemm_avx2.c", "src/ew_avx2.c"],
          "cflags_c": ["-mavx2", "-mfma"],
        },
        {
          "target_name": "nabla_avx512",
          "type": "static_library",
          "sources": ["src/gemm/gemm_avx512.c", "src/ew_avx512.c"],
          "cflags_c": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mfma", "-mavx2"],
        },
      ],
    }],
  ],
}
