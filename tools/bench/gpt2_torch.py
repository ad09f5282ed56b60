#!/usr/bin/python3
"""PyTorch side of bench/gpt2_decode.ts: GPT-2 124M fp32 (random weights; transformers is not
installed, so the model is written out here with the same math as Hugging Face's), a 128-token
prompt then 64 greedy tokens with a KV cache. Prints {"prefill_ms", "decode_tok_s"} (best of N) as JSON.
Run with Debian's /usr/bin/python3 and OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 GOMP_SPINCOUNT=0."""
import json, math, os, sys, time
import torch
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '2')))
reps = int(sys.argv[sys.argv.index('--repeats') + 1]) if '--repeats' in sys.argv else 3
C, NL, H, V, P, T, N = 768, 12, 12, 50257, 1024, 128, 64
D = C // H
g = torch.Generator().manual_seed(0)
rnd = lambda *s: torch.empty(*s).uniform_(-0.05, 0.05, generator=g)
ones, zeros = torch.ones(C), torch.zeros(C)
wte, wpe = rnd(V, C), rnd(P, C)
layers = [dict(qkv_w=rnd(3 * C, C), qkv_b=torch.zeros(3 * C), proj_w=rnd(C, C), fc_w=rnd(4 * C, C),
               fc_b=torch.zeros(4 * C), fc2_w=rnd(C, 4 * C)) for _ in range(NL)]

def forward(ids, past, kc, vc):
    # ids (1, t) -> logits of the last position (V); kc, vc (NL, 1, H, T+N, D) filled in place
    t = ids.shape[1]
    x = wte[ids] + wpe[past:past + t]
    mask = torch.full((t, past + t), float('-inf')).triu(past + 1) if t > 1 else None
    for i, w in enumerate(layers):
        h = F.layer_norm(x, (C,), ones, zeros)
        q, k, v = F.linear(h, w['qkv_w'], w['qkv_b']).split(C, -1)
        q, k, v = (z.view(1, t, H, D).transpose(1, 2) for z in (q, k, v))
        kc[i, :, :, past:past + t] = k
        vc[i, :, :, past:past + t] = v
        s = q @ kc[i, :, :, :past + t].transpose(-1, -2) / math.sqrt(D)
        if mask is not None:
            s = s + mask
        y = (s.softmax(-1) @ vc[i, :, :, :past + t]).transpose(1, 2).reshape(1, t, C)
        x = x + F.linear(y, w['proj_w'], zeros)
        h = F.layer_norm(x, (C,), ones, zeros)
        x = x + F.linear(F.gelu(F.linear(h, w['fc_w'], w['fc_b']), approximate='tanh'), w['fc2_w'], zeros)
    return F.layer_norm(x[0, -1], (C,), ones, zeros) @ wte.T

prompt = torch.tensor([[(i * 7919) % V for i in range(T)]])
best_prefill, best_decode = float('inf'), 0.0
with torch.no_grad():
    for r in range(reps + 1):
        kc, vc = torch.zeros(NL, 1, H, T + N, D), torch.zeros(NL, 1, H, T + N, D)
        t0 = time.perf_counter()
        nxt = int(forward(prompt, 0, kc, vc).argmax())
        t1 = time.perf_counter()
        for i in range(1, N):
            nxt = int(forward(torch.tensor([[nxt]]), T + i - 1, kc, vc).argmax())
        t2 = time.perf_counter()
        if r > 0:  # the first run warms up
            best_prefill = min(best_prefill, (t1 - t0) * 1000)
            best_decode = max(best_decode, (N - 1) / (t2 - t1))
print(json.dumps({'prefill_ms': best_prefill, 'decode_tok_s': best_decode, 'torch': torch.__version__}))
