#!/usr/bin/python3
"""PyTorch parity goldens for nb.nn layers -> test/golden/nn_layers.safetensors.

Run with Debian's torch (python3-torch 1.13): /usr/bin/python3 tools/golden/nn_layers.py
For each case: the module (float64, fixed seed) and its state_dict, the inputs, the outputs, random
weights w_i, and the gradients of sum_i sum(out_i * w_i) with respect to every float input and every
parameter. Batch-norm cases in training also record the buffers after the forward.
Tensor names: <case>/sd/<key>, <case>/in<i>, <case>/out<i>, <case>/w<i>, <case>/gin<i>,
<case>/grad/<key>, <case>/after/<key>, <case>/x/<name> (masks and other call arguments).
"""
import json
import os
import struct

import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'nn_layers.safetensors')
tensors = {}


def put(name, t):
    tensors[name] = t.detach().contiguous().clone()


def case(name, make, inputs, call=None, train=False, extra=None, after=False, seed=0):
    torch.manual_seed(seed)
    m = make().double()
    m.train(train)
    for k, v in m.state_dict().items():
        put(f'{name}/sd/{k}', v)
    for i, x in enumerate(inputs):
        put(f'{name}/in{i}', x)
    for k, v in (extra or {}).items():
        put(f'{name}/x/{k}', v)
    ins = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
    out = call(m, *ins) if call else m(*ins)
    outs = flatten(out)
    g = torch.Generator().manual_seed(1000 + seed)
    loss = 0
    for i, o in enumerate(outs):
        w = torch.randn(o.shape, generator=g)
        put(f'{name}/out{i}', o)
        put(f'{name}/w{i}', w)
        loss = loss + (o * w).sum()
    loss.backward()
    for i, x in enumerate(ins):
        if x.is_floating_point():
            put(f'{name}/gin{i}', x.grad if x.grad is not None else torch.zeros_like(x))
    for k, p in m.named_parameters():
        put(f'{name}/grad/{k}', p.grad if p.grad is not None else torch.zeros_like(p))
    if after:
        for k, v in m.state_dict().items():
            put(f'{name}/after/{k}', v)


def flatten(o):
    if isinstance(o, torch.Tensor):
        return [o]
    out = []
    for x in o:
        if x is not None:
            out.extend(flatten(x))
    return out


def rn(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def with_stats(m):
    """Random affine parameters and running statistics, so eval-mode cases test them."""
    with torch.no_grad():
        g = torch.Generator().manual_seed(7)
        if getattr(m, 'weight', None) is not None:
            m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.copy_(torch.randn(m.bias.shape, generator=g))
        if getattr(m, 'running_mean', None) is not None:
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g))
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.num_batches_tracked.fill_(3)
    return m


def causal_float(n):
    return torch.triu(torch.full((n, n), float('-inf')), 1)


# ---- linear ----
case('linear', lambda: nn.Linear(6, 5), [rn(3, 6, seed=1)])
case('linear_nobias', lambda: nn.Linear(6, 5, bias=False), [rn(2, 3, 6, seed=2)])
case('bilinear', lambda: nn.Bilinear(4, 3, 5), [rn(3, 4, seed=3), rn(3, 3, seed=4)])
# ---- conv ----
case('conv1d', lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), [rn(2, 3, 9, seed=5)])
case('conv1d_same', lambda: nn.Conv1d(2, 3, 4, padding='same'), [rn(2, 2, 7, seed=6)])
case('conv2d', lambda: nn.Conv2d(3, 4, 3, padding=1), [rn(2, 3, 6, 6, seed=7)])
case('conv2d_groups', lambda: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2), [rn(2, 4, 7, 6, seed=8)])
case('conv2d_same', lambda: nn.Conv2d(2, 3, 4, padding='same', bias=False), [rn(1, 2, 5, 6, seed=9)])
case('conv1d_same_reflect', lambda: nn.Conv1d(2, 3, 4, padding='same', padding_mode='reflect'), [rn(2, 2, 7, seed=30)])
case('conv2d_reflect', lambda: nn.Conv2d(2, 3, 3, padding=1, padding_mode='reflect'), [rn(2, 2, 5, 5, seed=10)])
case('conv_transpose2d', lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), [rn(2, 3, 4, 4, seed=11)])
case('conv_transpose2d_groups', lambda: nn.ConvTranspose2d(4, 6, (2, 3), stride=(1, 2), groups=2, dilation=(2, 1)), [rn(1, 4, 3, 3, seed=12)])
# ---- pooling ----
case('maxpool1d', lambda: nn.MaxPool1d(3, stride=2, padding=1, return_indices=True), [rn(2, 3, 9, seed=13)])
case('maxpool2d', lambda: nn.MaxPool2d(2), [rn(2, 3, 6, 6, seed=14)])
case('maxpool2d_ceil', lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True, return_indices=True), [rn(1, 2, 8, 8, seed=15)])
case('avgpool2d', lambda: nn.AvgPool2d(3, stride=2, padding=1), [rn(2, 2, 7, 7, seed=16)])
case('avgpool2d_nopad', lambda: nn.AvgPool2d(2, stride=2, padding=1, ceil_mode=True, count_include_pad=False), [rn(1, 2, 5, 5, seed=17)])
case('adaptive_avgpool2d', lambda: nn.AdaptiveAvgPool2d((3, 2)), [rn(2, 3, 7, 5, seed=18)])
# ---- normalisation ----
case('batchnorm1d_train', lambda: nn.BatchNorm1d(4), [rn(6, 4, seed=19)], train=True, after=True)
case('batchnorm1d_eval', lambda: with_stats(nn.BatchNorm1d(3)), [rn(2, 3, 5, seed=20)])
case('batchnorm2d_train', lambda: with_stats(nn.BatchNorm2d(3, momentum=0.3)), [rn(4, 3, 3, 3, seed=21)], train=True, after=True)
case('batchnorm2d_cma', lambda: with_stats(nn.BatchNorm2d(3, momentum=None)), [rn(4, 3, 2, 2, seed=22)], train=True, after=True)
case('batchnorm2d_eval', lambda: with_stats(nn.BatchNorm2d(3)), [rn(2, 3, 4, 4, seed=23)])
case('layernorm', lambda: with_stats(nn.LayerNorm((3, 4))), [rn(2, 3, 4, seed=24)])
case('groupnorm', lambda: with_stats(nn.GroupNorm(2, 6)), [rn(2, 6, 3, 3, seed=25)])
case('embedding', lambda: nn.Embedding(10, 4, padding_idx=1), [torch.tensor([[0, 1, 2, 3, 1], [9, 1, 5, 5, 0], [7, 8, 1, 2, 4]])])
# ---- resampling ----
case('upsample_nearest', lambda: nn.Upsample(scale_factor=2, mode='nearest'), [rn(1, 2, 3, 4, seed=26)])
case('upsample_nearest_size', lambda: nn.Upsample(size=(5, 7), mode='nearest'), [rn(1, 2, 3, 4, seed=27)])
case('upsample_bilinear', lambda: nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False), [rn(1, 2, 3, 4, seed=28)])
case('upsample_bilinear_ac', lambda: nn.Upsample(size=(5, 7), mode='bilinear', align_corners=True), [rn(1, 2, 3, 4, seed=29)])
# ---- activations ----
ACTS = {
    'relu': nn.ReLU(), 'leaky_relu': nn.LeakyReLU(0.2), 'gelu': nn.GELU(), 'gelu_tanh': nn.GELU('tanh'),
    'silu': nn.SiLU(), 'tanh': nn.Tanh(), 'sigmoid': nn.Sigmoid(), 'softmax': nn.Softmax(dim=1),
    'log_softmax': nn.LogSoftmax(dim=-1), 'elu': nn.ELU(0.7), 'softplus': nn.Softplus(beta=2, threshold=5),
}
for i, (k, a) in enumerate(ACTS.items()):
    case(f'act_{k}', lambda a=a: a, [rn(3, 5, seed=40 + i) * 2])
# ---- recurrent ----
case('rnn_tanh', lambda: nn.RNN(4, 5, num_layers=2), [rn(6, 3, 4, seed=60), rn(2, 3, 5, seed=61)])
case('rnn_relu_bi', lambda: nn.RNN(4, 5, nonlinearity='relu', bidirectional=True, batch_first=True), [rn(3, 6, 4, seed=62)])
case('lstm', lambda: nn.LSTM(4, 5, num_layers=2, bidirectional=True), [rn(6, 3, 4, seed=63), rn(4, 3, 5, seed=64), rn(4, 3, 5, seed=65)],
     call=lambda m, x, h, c: m(x, (h, c)))
case('lstm_batch_first', lambda: nn.LSTM(4, 5, batch_first=True), [rn(3, 6, 4, seed=66)])
case('lstm_unbatched', lambda: nn.LSTM(4, 5), [rn(6, 4, seed=67)])
case('gru', lambda: nn.GRU(4, 5, num_layers=2, bidirectional=True, batch_first=True), [rn(3, 6, 4, seed=68), rn(4, 3, 5, seed=69)])
case('rnn_cell', lambda: nn.RNNCell(4, 5), [rn(3, 4, seed=70), rn(3, 5, seed=71)])
case('lstm_cell', lambda: nn.LSTMCell(4, 5), [rn(3, 4, seed=72), rn(3, 5, seed=73), rn(3, 5, seed=74)], call=lambda m, x, h, c: m(x, (h, c)))
case('gru_cell', lambda: nn.GRUCell(4, 5), [rn(3, 4, seed=75), rn(3, 5, seed=76)])
# ---- attention ----
amask = rn(4, 5, seed=80)
kpm = torch.tensor([[False, False, False, True, True], [False, False, False, False, False]])
case('mha', lambda: nn.MultiheadAttention(8, 2), [rn(4, 2, 8, seed=81), rn(5, 2, 8, seed=82), rn(5, 2, 8, seed=83)],
     call=lambda m, q, k, v: m(q, k, v, attn_mask=amask, key_padding_mask=kpm), extra={'attn_mask': amask, 'key_padding_mask': kpm})
bmask = torch.triu(torch.ones(4, 4, dtype=torch.bool), 1)
case('mha_self_bool', lambda: nn.MultiheadAttention(8, 2, batch_first=True), [rn(2, 4, 8, seed=84)],
     call=lambda m, x: m(x, x, x, attn_mask=bmask, average_attn_weights=False), extra={'attn_mask': bmask})
case('mha_kdim', lambda: nn.MultiheadAttention(8, 2, kdim=6, vdim=5), [rn(3, 2, 8, seed=85), rn(4, 2, 6, seed=86), rn(4, 2, 5, seed=87)])
# ---- transformer ----
cm = causal_float(5)
case('encoder_layer', lambda: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0), [rn(5, 2, 8, seed=90)],
     call=lambda m, x: m(x, src_mask=cm), extra={'src_mask': cm})
kpm2 = torch.tensor([[False] * 5, [False, False, False, False, True]])
case('encoder_layer_norm_first', lambda: nn.TransformerEncoderLayer(8, 2, 16, 0.0, activation='gelu', batch_first=True, norm_first=True),
     [rn(2, 5, 8, seed=91)], call=lambda m, x: m(x, src_key_padding_mask=kpm2), extra={'src_key_padding_mask': kpm2})
cm4 = causal_float(4)
case('decoder_layer', lambda: nn.TransformerDecoderLayer(8, 2, 16, 0.0), [rn(4, 2, 8, seed=92), rn(5, 2, 8, seed=93)],
     call=lambda m, t, mem: m(t, mem, tgt_mask=cm4), extra={'tgt_mask': cm4})
case('decoder_layer_norm_first', lambda: nn.TransformerDecoderLayer(8, 2, 16, 0.0, norm_first=True, batch_first=True), [rn(2, 4, 8, seed=94), rn(2, 5, 8, seed=95)])
case('encoder', lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, 0.0), 2, norm=nn.LayerNorm(8)), [rn(5, 2, 8, seed=96)])
case('transformer', lambda: nn.Transformer(8, 2, 2, 1, 16, 0.0), [rn(5, 2, 8, seed=97), rn(4, 2, 8, seed=98)],
     call=lambda m, s, t: m(s, t, tgt_mask=cm4), extra={'tgt_mask': cm4})


def write(path, ts):
    codes = {torch.float64: ('F64', '<f8'), torch.float32: ('F32', '<f4'), torch.int64: ('I64', '<i8'), torch.bool: ('BOOL', '|b1')}
    header, blobs, off = {}, [], 0
    for k, t in ts.items():
        code, _ = codes[t.dtype]
        b = t.numpy().astype(codes[t.dtype][1]).tobytes()
        header[k] = {'dtype': code, 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header['__metadata__'] = {'generator': 'tools/golden/nn_layers.py', 'torch': torch.__version__}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


write(OUT, tensors)
print(f'wrote {len(tensors)} tensors, {os.path.getsize(OUT)} bytes to {os.path.normpath(OUT)}')
