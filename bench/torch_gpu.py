# PyTorch CUDA side of `npm run bench:webgpu` (bench/webgpu.ts): the same figures on the same GPU.
# fp32 GEMM n^3 with TF32 off, and a GPT-2 124M (random weights, eager, KV cache) prefill and greedy
# decode at batch 1. Prints one JSON line. Run with the options JSON as argv[1].
import json, sys, time
import torch
import torch.nn.functional as F

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.set_grad_enabled(False)
o = json.loads(sys.argv[1])
dev = "cuda"

n, reps = o["gemmN"], o["repeats"]
a = torch.rand(n, n, device=dev) - 0.5
b = torch.rand(n, n, device=dev) - 0.5
for _ in range(3):
    a @ b
torch.cuda.synchronize()
t0 = time.perf_counter()
for _ in range(reps):
    c = a @ b
torch.cuda.synchronize()
gemm_ms = (time.perf_counter() - t0) / reps * 1e3

g = o["gpt2"]
L, C, H, V, P = g["nLayer"], g["nEmbd"], g["nHead"], g["vocabSize"], g["nPositions"]
D = C // H
torch.manual_seed(0)
lin = lambda i, j: (torch.rand(i, j, device=dev) - 0.5) * 0.1
W = dict(wte=lin(V, C), wpe=lin(P, C))
blocks = [dict(attn_w=lin(C, 3 * C), attn_b=torch.zeros(3 * C, device=dev), proj_w=lin(C, C),
               proj_b=torch.zeros(C, device=dev), fc_w=lin(C, 4 * C), fc_b=torch.zeros(4 * C, device=dev),
               fc2_w=lin(4 * C, C), fc2_b=torch.zeros(C, device=dev)) for _ in range(L)]
T, N = o["prompt"], o["decode"]
S = T + N


def forward(ids, kc, vc, past):
    t = ids.shape[1]
    x = W["wte"][ids] + W["wpe"][past:past + t]
    for i, blk in enumerate(blocks):
        h = F.layer_norm(x, (C,))
        q, k, v = (h @ blk["attn_w"] + blk["attn_b"]).split(C, dim=2)
        q, k, v = (z.view(1, t, H, D).transpose(1, 2) for z in (q, k, v))
        kc[i][:, :, past:past + t] = k
        vc[i][:, :, past:past + t] = v
        y = F.scaled_dot_product_attention(q, kc[i][:, :, :past + t], vc[i][:, :, :past + t], is_causal=t > 1)
        x = x + (y.transpose(1, 2).reshape(1, t, C) @ blk["proj_w"] + blk["proj_b"])
        h = F.layer_norm(x, (C,))
        x = x + (F.gelu(h @ blk["fc_w"] + blk["fc_b"], approximate="tanh") @ blk["fc2_w"] + blk["fc2_b"])
    return F.layer_norm(x[:, -1], (C,)) @ W["wte"].T


def greedy():
    kc = [torch.zeros(1, H, S, D, device=dev) for _ in range(L)]
    vc = [torch.zeros(1, H, S, D, device=dev) for _ in range(L)]
    ids = torch.tensor([[(i * 7919 + 11) % V for i in range(T)]], device=dev)
    t0 = time.perf_counter()
    tok = int(forward(ids, kc, vc, 0).argmax())
    prefill = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    for s in range(1, N):
        tok = int(forward(torch.tensor([[tok]], device=dev), kc, vc, T + s - 1).argmax())
    return prefill, (N - 1) / (time.perf_counter() - t0)


greedy()
prefill_ms, tok_s = greedy()
print(json.dumps(dict(gemm_ms=gemm_ms, gemm_tflops=2 * n ** 3 / (gemm_ms * 1e-3) / 1e12, prefill_ms=prefill_ms,
                      decode_tok_s=tok_s, device=torch.cuda.get_device_name(0))))
