#!/usr/bin/env python3
"""Writes the attention goldens for test/models/attentions.test.ts (never run in CI).

    /usr/bin/python3 tools/golden/attentions_tiny.py        # Debian python3-torch 1.13, from the repo root

Outputs
  test/golden/gpt2-tiny-ref/attentions.safetensors   float64 attentions (output_attentions=True) of the tiny
      GPT-2 of gpt2_tiny.py (same seed, same weights) for a batch of two rows: PROMPT, and PROMPT[:5] right-padded
      with attention_mask 0 (mask (2,T), attentions.{l} (2,H,T,T), logits (2,T,V)).
  test/golden/llama-tiny/config.json + model.safetensors   a tiny Llama (grouped-query attention: 4 query heads
      over 2 key/value heads, untied lm_head) in Hugging Face's layout.
  test/golden/llama-tiny/reference.safetensors   float64 logits and attentions.{l} (1,H,T,T) of PROMPT.

transformers is not installed on Debian, so both models below restate transformers' eager attention:
softmax(q k^T / sqrt(D) + mask) with masked scores at the dtype's minimum, the probabilities returned per query
head after masking (GPT2Attention._attn, LlamaAttention with repeat_kv). Llama: RMSNorm, rotary embeddings in the
half-split (rotate_half) convention, SwiGLU MLP.
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from io_safetensors import write_safetensors  # noqa: E402
from gpt2_tiny import CFG as GPT2_CFG, PROMPT, gelu_new, make_weights  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "golden")
LLAMA_CFG = dict(model_type="llama", architectures=["LlamaForCausalLM"], vocab_size=100, hidden_size=32,
                 intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False,
                 attention_bias=False, bos_token_id=1, eos_token_id=2, hidden_act="silu")


def additive_mask(mask, T):
    """(B,T) 1/0 attention_mask -> (B,1,T,T) bias: 0 where causal and unpadded, the dtype's minimum elsewhere."""
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    ok = causal[None, None] & mask[:, None, None, :].bool()
    return torch.zeros(ok.shape, dtype=torch.float64).masked_fill(~ok, torch.finfo(torch.float64).min)


def gpt2_forward(w, ids, mask):
    """ids (B,T), mask (B,T) -> logits (B,T,V), attentions [L x (B,H,T,T)] (modeling_gpt2.py, eager)."""
    C, NH, eps = GPT2_CFG["n_embd"], GPT2_CFG["n_head"], GPT2_CFG["layer_norm_epsilon"]
    B, T = ids.shape
    hd = C // NH
    x = w["wte.weight"][ids] + w["wpe.weight"][torch.arange(T)]
    bias = additive_mask(mask, T)
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (C,), w[p + ".weight"], w[p + ".bias"], eps)
    conv1d = lambda x, p: x @ w[p + ".weight"] + w[p + ".bias"]
    atts = []
    for i in range(GPT2_CFG["n_layer"]):
        p = f"h.{i}."
        q, k, v = conv1d(ln(x, p + "ln_1"), p + "attn.c_attn").split(C, dim=2)
        q, k, v = (t.view(B, T, NH, hd).transpose(1, 2) for t in (q, k, v))
        att = ((q @ k.transpose(-1, -2)) / math.sqrt(hd) + bias).softmax(-1)
        atts.append(att)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + conv1d(y, p + "attn.c_proj")
        x = x + conv1d(gelu_new(conv1d(ln(x, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
    return ln(x, "ln_f") @ w["wte.weight"].T, atts


def llama_weights(g):
    C, F, V = LLAMA_CFG["hidden_size"], LLAMA_CFG["intermediate_size"], LLAMA_CFG["vocab_size"]
    H, KVH = LLAMA_CFG["num_attention_heads"], LLAMA_CFG["num_key_value_heads"]
    D = C // H
    r = lambda *s, std=0.2: torch.randn(*s, generator=g) * std
    w = {"model.embed_tokens.weight": r(V, C, std=0.5)}
    for i in range(LLAMA_CFG["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "self_attn.q_proj.weight"] = r(H * D, C, std=0.3)
        w[p + "self_attn.k_proj.weight"] = r(KVH * D, C, std=0.3)
        w[p + "self_attn.v_proj.weight"] = r(KVH * D, C)
        w[p + "self_attn.o_proj.weight"] = r(C, H * D)
        w[p + "mlp.gate_proj.weight"] = r(F, C)
        w[p + "mlp.up_proj.weight"] = r(F, C)
        w[p + "mlp.down_proj.weight"] = r(C, F)
        w[p + "input_layernorm.weight"] = 1 + r(C, std=0.1)
        w[p + "post_attention_layernorm.weight"] = 1 + r(C, std=0.1)
    w["model.norm.weight"] = 1 + r(C, std=0.1)
    w["lm_head.weight"] = r(V, C, std=0.3)
    return w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def llama_forward(w, ids):
    """ids (B,T) -> logits (B,T,V), attentions [L x (B,H,T,T)] (modeling_llama.py, eager, repeat_kv)."""
    C, H, KVH = LLAMA_CFG["hidden_size"], LLAMA_CFG["num_attention_heads"], LLAMA_CFG["num_key_value_heads"]
    eps, theta = LLAMA_CFG["rms_norm_eps"], LLAMA_CFG["rope_theta"]
    D, R = C // H, H // KVH
    B, T = ids.shape
    inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None]
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    rope = lambda t: t * cos + rotate_half(t) * sin
    rms = lambda x, p: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w[p + ".weight"]
    lin = lambda x, p: x @ w[p + ".weight"].T
    bias = additive_mask(torch.ones(B, T), T)
    x = w["model.embed_tokens.weight"][ids]
    atts = []
    for i in range(LLAMA_CFG["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms(x, p + "input_layernorm")
        q = rope(lin(h, p + "self_attn.q_proj").view(B, T, H, D).transpose(1, 2))
        k = rope(lin(h, p + "self_attn.k_proj").view(B, T, KVH, D).transpose(1, 2))
        v = lin(h, p + "self_attn.v_proj").view(B, T, KVH, D).transpose(1, 2)
        k, v = k.repeat_interleave(R, dim=1), v.repeat_interleave(R, dim=1)  # repeat_kv
        att = ((q @ k.transpose(-1, -2)) / math.sqrt(D) + bias).softmax(-1)
        atts.append(att)
        x = x + lin((att @ v).transpose(1, 2).reshape(B, T, C), p + "self_attn.o_proj")
        h = rms(x, p + "post_attention_layernorm")
        act = torch.nn.functional.silu(lin(h, p + "mlp.gate_proj")) * lin(h, p + "mlp.up_proj")
        x = x + lin(act, p + "mlp.down_proj")
    return lin(rms(x, "model.norm"), "lm_head"), atts


def main():
    torch.manual_seed(0)
    w = {k: v.double() for k, v in make_weights(torch.Generator().manual_seed(1234)).items()}
    T = len(PROMPT)
    ids = torch.tensor([PROMPT, PROMPT[:5] + [0] * (T - 5)])
    mask = torch.tensor([[1] * T, [1] * 5 + [0] * (T - 5)])
    logits, atts = gpt2_forward(w, ids, mask)
    ref = {"ids": ids.int(), "mask": mask.int(), "logits": logits}
    ref.update({f"attentions.{l}": a for l, a in enumerate(atts)})
    write_safetensors(os.path.join(ROOT, "gpt2-tiny-ref", "attentions.safetensors"), ref)

    w32 = llama_weights(torch.Generator().manual_seed(4321))
    d = os.path.join(ROOT, "llama-tiny")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(LLAMA_CFG, f, indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), w32)
    logits, atts = llama_forward({k: v.double() for k, v in w32.items()}, torch.tensor([PROMPT]))
    ref = {"ids": torch.tensor([PROMPT], dtype=torch.int32), "logits": logits}
    ref.update({f"attentions.{l}": a for l, a in enumerate(atts)})
    write_safetensors(os.path.join(d, "reference.safetensors"), ref)
    print("llama max attention", max(float(a.max()) for a in atts), "logit range", float(logits.abs().max()))


if __name__ == "__main__":
    main()
