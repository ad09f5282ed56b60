#!/usr/bin/python3
"""Writes GPT-2 124M (random weights, the same model as tools/bench/gpt2_torch.py) as two ONNX
graphs for the onnxruntime-node peer of bench/gpt2_decode.ts: prefill.onnx (ids (1,128) -> last
logits (V), keys and values (L,1,H,128,D)) and decode.onnx (one token, its position and the past
keys/values (L,1,H,P,D) -> logits and the keys/values extended to P+1). Usage:
    /usr/bin/python3 tools/bench/gpt2_onnx.py OUT_DIR"""
import math, os, sys
import torch
import torch.nn.functional as F

C, NL, H, V, P, T = 768, 12, 12, 50257, 1024, 128
D = C // H
g = torch.Generator().manual_seed(0)
rnd = lambda *s: torch.empty(*s).uniform_(-0.05, 0.05, generator=g)

class GPT2(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = torch.nn.Parameter(rnd(V, C)), torch.nn.Parameter(rnd(P, C))
        self.qkv = torch.nn.ModuleList(torch.nn.Linear(C, 3 * C) for _ in range(NL))
        self.proj = torch.nn.ModuleList(torch.nn.Linear(C, C) for _ in range(NL))
        self.fc = torch.nn.ModuleList(torch.nn.Linear(C, 4 * C) for _ in range(NL))
        self.fc2 = torch.nn.ModuleList(torch.nn.Linear(4 * C, C) for _ in range(NL))

    def blocks(self, x, pos_past_k, past_v, causal):
        # x (1,t,C); past_k/past_v (L,1,H,P,D) or None -> x, new keys and values (L,1,H,P+t,D)
        ks, vs = [], []
        t = x.shape[1]
        for i in range(NL):
            h = F.layer_norm(x, (C,))
            q, k, v = self.qkv[i](h).split(C, -1)
            q, k, v = (z.reshape(1, t, H, D).transpose(1, 2) for z in (q, k, v))
            if pos_past_k is not None:
                k, v = torch.cat([pos_past_k[i], k], 2), torch.cat([past_v[i], v], 2)
            ks.append(k); vs.append(v)
            s = q @ k.transpose(-1, -2) / math.sqrt(D)
            if causal:
                s = s + torch.full((t, t), float('-inf')).triu(1)
            y = (s.softmax(-1) @ v).transpose(1, 2).reshape(1, t, C)
            x = x + self.proj[i](y)
            x = x + self.fc2[i](F.gelu(self.fc[i](F.layer_norm(x, (C,))), approximate='tanh'))
        return x, torch.stack(ks), torch.stack(vs)

class Prefill(GPT2):
    def forward(self, ids):
        x, k, v = self.blocks(self.wte[ids] + self.wpe[:T], None, None, True)
        return F.layer_norm(x[0, -1], (C,)) @ self.wte.T, k, v

class Decode(GPT2):
    def forward(self, ids, pos, past_k, past_v):
        x, k, v = self.blocks(self.wte[ids] + self.wpe[pos], past_k, past_v, False)
        return F.layer_norm(x[0, -1], (C,)) @ self.wte.T, k, v

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
prefill = Prefill().eval()
decode = Decode().eval()
decode.load_state_dict(prefill.state_dict())
with torch.no_grad():
    torch.onnx.export(prefill, (torch.zeros(1, T, dtype=torch.long),), os.path.join(out, 'prefill.onnx'),
                      input_names=['ids'], output_names=['logits', 'k', 'v'], opset_version=14)
    pk = torch.zeros(NL, 1, H, T, D)
    torch.onnx.export(decode, (torch.zeros(1, 1, dtype=torch.long), torch.tensor([T]), pk, pk),
                      os.path.join(out, 'decode.onnx'), input_names=['ids', 'pos', 'past_k', 'past_v'],
                      output_names=['logits', 'k', 'v'], opset_version=14,
                      dynamic_axes={'past_k': {3: 'p'}, 'past_v': {3: 'p'}, 'k': {3: 'p1'}, 'v': {3: 'p1'}})
print('wrote', out)
