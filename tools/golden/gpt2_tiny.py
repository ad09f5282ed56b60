#!/usr/bin/env python3
"""Writes the tiny GPT-2 goldens for test/models/gpt2.test.ts (never run in CI).

    /usr/bin/python3 tools/golden/gpt2_tiny.py        # Debian python3-torch 1.13, from the repo root

Outputs
  test/golden/gpt2-tiny/config.json + model.safetensors   Hugging Face layout: 'transformer.' prefix,
      tied lm_head (no lm_head.weight stored), attn.bias / attn.masked_bias buffers present (ignored).
  test/golden/gpt2-tiny-bin/config.json + pytorch_model.bin   same weights via torch.save: no prefix,
      an explicit lm_head.weight, no buffers.
  test/golden/gpt2-tiny-ref/reference.safetensors   float64 reference: logits of PROMPT (1,T,V),
      greedy continuation, cross-entropy loss of PROMPT[1:] given PROMPT[:-1], and its gradients.

transformers is not installed on Debian, so GPT2 below is a faithful re-statement of Hugging Face's
GPT2LMHeadModel math: pre-LN blocks, Conv1D weights (in, out), gelu_new (tanh), causal softmax
attention, final ln_f, lm_head tied to wte, layer_norm_epsilon 1e-5.
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from io_safetensors import write_safetensors  # noqa: E402  (the shared hand-written writer)

CFG = dict(model_type="gpt2", vocab_size=100, n_positions=64, n_embd=32, n_layer=2, n_head=4,
           n_inner=None, activation_function="gelu_new", layer_norm_epsilon=1e-5,
           bos_token_id=0, eos_token_id=0, architectures=["GPT2LMHeadModel"], tie_word_embeddings=True)
PROMPT = [3, 14, 15, 92, 65, 35, 89, 79]
NEW_TOKENS = 20
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "golden")


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def make_weights(g):
    """HF GPT-2 state dict (no prefix), random but well-conditioned values."""
    C, V, P, L = CFG["n_embd"], CFG["vocab_size"], CFG["n_positions"], CFG["n_layer"]
    r = lambda *s, std=0.2: torch.randn(*s, generator=g) * std
    w = {"wte.weight": r(V, C, std=0.3), "wpe.weight": r(P, C, std=0.5)}
    for i in range(L):
        p = f"h.{i}."
        w[p + "ln_1.weight"] = 1 + r(C, std=0.1)
        w[p + "ln_1.bias"] = r(C, std=0.1)
        w[p + "attn.c_attn.weight"] = r(C, 3 * C)
        w[p + "attn.c_attn.bias"] = r(3 * C, std=0.05)
        w[p + "attn.c_proj.weight"] = r(C, C)
        w[p + "attn.c_proj.bias"] = r(C, std=0.05)
        w[p + "ln_2.weight"] = 1 + r(C, std=0.1)
        w[p + "ln_2.bias"] = r(C, std=0.1)
        w[p + "mlp.c_fc.weight"] = r(C, 4 * C)
        w[p + "mlp.c_fc.bias"] = r(4 * C, std=0.05)
        w[p + "mlp.c_proj.weight"] = r(4 * C, C)
        w[p + "mlp.c_proj.bias"] = r(C, std=0.05)
    w["ln_f.weight"] = 1 + r(C, std=0.1)
    w["ln_f.bias"] = r(C, std=0.1)
    return w


def forward(w, ids):
    """ids (B,T) -> logits (B,T,V); every op as in transformers' modeling_gpt2.py."""
    C, NH, eps = CFG["n_embd"], CFG["n_head"], CFG["layer_norm_epsilon"]
    B, T = ids.shape
    hd = C // NH
    x = w["wte.weight"][ids] + w["wpe.weight"][torch.arange(T)]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (C,), w[p + ".weight"], w[p + ".bias"], eps)
    conv1d = lambda x, p: x @ w[p + ".weight"] + w[p + ".bias"]  # Conv1D: weight (in, out)
    for i in range(CFG["n_layer"]):
        p = f"h.{i}."
        q, k, v = conv1d(ln(x, p + "ln_1"), p + "attn.c_attn").split(C, dim=2)
        q, k, v = (t.view(B, T, NH, hd).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        att = att.masked_fill(~causal, torch.finfo(att.dtype).min).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + conv1d(y, p + "attn.c_proj")
        x = x + conv1d(gelu_new(conv1d(ln(x, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
    return ln(x, "ln_f") @ w["wte.weight"].T


def main():
    g = torch.Generator().manual_seed(1234)
    w32 = make_weights(g)
    for d in ("gpt2-tiny", "gpt2-tiny-bin", "gpt2-tiny-ref"):
        os.makedirs(os.path.join(ROOT, d), exist_ok=True)
    cfg = {k: v for k, v in CFG.items() if v is not None}
    for d in ("gpt2-tiny", "gpt2-tiny-bin"):
        with open(os.path.join(ROOT, d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)

    P = CFG["n_positions"]
    st = {"transformer." + k: v for k, v in w32.items()}
    for i in range(CFG["n_layer"]):  # old transformers versions saved these buffers
        st[f"transformer.h.{i}.attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)
        st[f"transformer.h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    write_safetensors(os.path.join(ROOT, "gpt2-tiny", "model.safetensors"), st)
    sd = dict(w32)
    sd["lm_head.weight"] = w32["wte.weight"].clone()
    torch.save(sd, os.path.join(ROOT, "gpt2-tiny-bin", "pytorch_model.bin"))

    # Reference in float64 from the float32 weights.
    w = {k: v.double().requires_grad_(True) for k, v in w32.items()}
    ids = torch.tensor([PROMPT])
    logits = forward(w, ids)
    loss = torch.nn.functional.cross_entropy(logits[0, :-1], ids[0, 1:])
    loss.backward()
    seq, margins = list(PROMPT), []
    with torch.no_grad():
        for _ in range(NEW_TOKENS):
            last = forward(w, torch.tensor([seq]))[0, -1]
            top2 = last.topk(2).values
            margins.append(float(top2[0] - top2[1]))
            seq.append(int(last.argmax()))
    assert min(margins) > 1e-3, f"greedy margin too small for a float32 comparison: {min(margins)}"
    ref = {
        "prompt": torch.tensor(PROMPT, dtype=torch.int32),
        "logits": logits.detach(),
        "greedy": torch.tensor(seq, dtype=torch.int32),
        "loss": loss.detach().reshape(1),
        "grad.wte.weight": w["wte.weight"].grad,
        "grad.h.0.attn.c_attn.weight": w["h.0.attn.c_attn.weight"].grad,
        "grad.h.1.mlp.c_fc.bias": w["h.1.mlp.c_fc.bias"].grad,
        "grad.ln_f.weight": w["ln_f.weight"].grad,
    }
    write_safetensors(os.path.join(ROOT, "gpt2-tiny-ref", "reference.safetensors"), ref)
    print("greedy", seq[len(PROMPT):], "min margin", min(margins), "loss", float(loss))


if __name__ == "__main__":
    main()
