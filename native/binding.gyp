# nabla native addon. The AVX2/FMA and AVX-512 kernels live in their own static libraries so only
# those files get the wide-ISA flags; the addon picks a path at runtime by cpuid (src/core/cpu_features.c),
# so the binary runs on any x86-64. Never -march=native.
{
  "target_defaults": {
    "cflags_c": ["-std=gnu11", "-O3", "-fPIC", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wno-unused-function"],
    "cflags!": ["-O2"],
    # every family folder, so that sources include each other's headers by basename
    "include_dirs": ["include", "src", "src/core", "src/gemm", "src/elementwise", "src/reduce", "src/norm",
                     "src/indexing", "src/optim", "src/conv", "src/pool", "src/attention", "src/quant"],
  },
  "targets": [
    {
      "target_name": "nabla",
      "include_dirs": ["src"],
      "sources": [
        "src/napi/register.c", "src/napi/addon.c", "src/napi/addon_nn.c",
        "src/core/cpu_features.c", "src/core/threadpool.c", "src/core/layout.c",
        "src/gemm/gemm.c", "src/gemm/gemm_ref.c", "src/gemm/pack.c",
        "src/elementwise/elementwise.c", "src/elementwise/mask.c", "src/elementwise/ew_scalar.c",
        "src/reduce/reduce.c", "src/reduce/reduce_scalar.c",
        "src/norm/norm.c", "src/norm/norm_scalar.c",
        "src/indexing/indexing.c",
        "src/optim/optim.c", "src/optim/optim_scalar.c",
        "src/conv/conv.c", "src/conv/conv_common.c", "src/conv/conv_scalar.c", "src/conv/conv_direct.c",
        "src/conv/conv_winograd.c", "src/conv/conv_winograd_common.c", "src/conv/conv_winograd_grad.c",
        "src/conv/conv_winograd_f2.c",
        "src/pool/pool.c", "src/pool/pool_scalar.c",
        "src/attention/attention.c",
        "src/quant/quant.c", "src/napi/addon_quant.c",
        "src/quant/qconv.c", "src/quant/qconv_scalar.c", "src/napi/addon_qconv.c",
      ],
      "libraries": ["-lpthread", "-lm"],
      "conditions": [
        ["target_arch=='x64'", { "dependencies": ["nabla_avx2", "nabla_avx512", "nabla_quant_avx2", "nabla_quant_avx512",
                                                   "nabla_quant_vnni512", "nabla_quant_avxvnni", "nabla_quant_amx"] }],
      ],
    },
  ],
  "variables": { "nabla_mpi%": 0 },
  "conditions": [
    # nb.distributed's MPI glue, its own addon so that nabla.node never needs libmpi: built when
    # scripts/build-native.mjs finds mpicc (it sets GYP_DEFINES=nabla_mpi=1).
    ["nabla_mpi==1", {
      "targets": [
        {
          "target_name": "nabla_mpi",
          "sources": ["src/distributed/mpi.c"],
          "cflags_c": ["<!@(mpicc --showme:compile)"],
          "libraries": ["<!@(mpicc --showme:link)", "-lpthread", "-ldl"],
        },
      ],
    }],
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "nabla_avx2",
          "type": "static_library",
          "sources": [
            "src/gemm/gemm_avx2.c", "src/elementwise/ew_avx2.c", "src/reduce/reduce_avx2.c", "src/norm/norm_avx2.c",
            "src/optim/optim_avx2.c", "src/conv/conv_avx2.c", "src/pool/pool_avx2.c",
          ],
          "cflags_c": ["-mavx2", "-mfma"],
        },
        {
          "target_name": "nabla_avx512",
          "type": "static_library",
          "sources": [
            "src/gemm/gemm_avx512.c", "src/elementwise/ew_avx512.c", "src/reduce/reduce_avx512.c", "src/norm/norm_avx512.c",
            "src/optim/optim_avx512.c", "src/conv/conv_avx512.c", "src/pool/pool_avx512.c",
          ],
          "cflags_c": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mfma", "-mavx2"],
        },
        # The quantized products, in libraries of their own: the VNNI, BF16 and AMX instructions are not on
        # every AVX-512 or AVX2 machine, so no other code is compiled with those flags; and no float
        # contraction, so that the int8 epilogue rounds as the scalar path and the JS reference do.
        {
          "target_name": "nabla_quant_avx2",
          "type": "static_library",
          "sources": ["src/quant/quant_avx2.c", "src/quant/qconv_avx2.c"],
          "cflags_c": ["-mavx2", "-mfma", "-ffp-contract=off"],
        },
        {
          "target_name": "nabla_quant_avx512",
          "type": "static_library",
          "sources": ["src/quant/quant_avx512.c", "src/quant/qconv_avx512.c"],
          "cflags_c": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mfma", "-mavx2", "-ffp-contract=off"],
        },
        {
          "target_name": "nabla_quant_vnni512",
          "type": "static_library",
          "sources": ["src/quant/quant_vnni512.c"],
          "cflags_c": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mavx512vnni", "-mavx512bf16",
                       "-mfma", "-mavx2", "-ffp-contract=off"],
        },
        {
          "target_name": "nabla_quant_avxvnni",
          "type": "static_library",
          "sources": ["src/quant/quant_avxvnni.c"],
          "cflags_c": ["-mavx2", "-mfma", "-mavxvnni", "-ffp-contract=off"],
        },
        {
          "target_name": "nabla_quant_amx",
          "type": "static_library",
          "sources": ["src/quant/quant_amx.c"],
          "cflags_c": ["-mamx-tile", "-mamx-int8", "-mamx-bf16", "-ffp-contract=off"],
        },
      ],
    }],
  ],
}
