#!/usr/bin/python3
"""torchaudio 0.13 / torch 1.13 parity goldens for nb.audio (FFT, STFT, transforms) and F.ctc_loss.

Run with Debian's torch (not a pyenv python):  /usr/bin/python3 tools/golden/audio.py
Writes test/golden/audio/audio.safetensors + audio.json. Each case in the JSON names an op, its options
(camelCase, as the nabla call takes them) and its tensors: '<case>.x' the input, '<case>.y' the output
(complex results as view_as_real), and where the op is differentiable '<case>.w' a random cotangent and
'<case>.gx' the gradient of sum(w * y) with respect to x. Never run in CI; the tests read the files.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio
import torchaudio.functional as AF
import torchaudio.transforms as T
from safetensors_out import write_safetensors

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'golden', 'audio')
torch.manual_seed(20)
tensors, cases = {}, []


def as_real(y):
    return torch.view_as_real(y) if y.is_complex() else y


def case(name, op, opts, x, fn, grad=True, extra=None):
    """Runs fn on x; records y, and with grad a cotangent w and dsum(w*y)/dx."""
    x = x.detach().clone().requires_grad_(grad)
    y = fn(x)
    yr = as_real(y)
    tensors[f'{name}.x'] = x.detach().numpy()
    tensors[f'{name}.y'] = yr.detach().numpy()
    if grad:
        w = torch.randn(yr.shape, dtype=yr.dtype)
        (gx,) = torch.autograd.grad((yr * w).sum(), x)
        tensors[f'{name}.w'] = w.numpy()
        tensors[f'{name}.gx'] = gx.numpy()
    for k, v in (extra or {}).items():
        tensors[f'{name}.{k}'] = v.detach().numpy() if torch.is_tensor(v) else v
    cases.append({'name': name, 'op': op, 'opts': opts, 'grad': grad, 'extra': sorted((extra or {}).keys())})


def sd(m):
    """The module's buffers, as 'sd.<state-dict key>': torchaudio builds them in float32."""
    return {f'sd.{k}': v for k, v in m.state_dict().items()}


def cplx(x):
    return torch.view_as_complex(x)


# ---- fft family (complex inputs as view_as_real (..., 2)) ----
for n in [8, 5, 12]:
    for norm in ['backward', 'ortho', 'forward']:
        z = torch.randn(3, n, 2, dtype=torch.float64)
        case(f'fft_n{n}_{norm}', 'fft', {'norm': norm}, z, lambda x: torch.fft.fft(cplx(x), norm=norm))
        case(f'ifft_n{n}_{norm}', 'ifft', {'norm': norm}, z, lambda x: torch.fft.ifft(cplx(x), norm=norm))
z = torch.randn(4, 3, 2, dtype=torch.float64)
case('fft_dim0_pad', 'fft', {'dim': 0, 'n': 6}, z, lambda x: torch.fft.fft(cplx(x), n=6, dim=0))
case('fft_trim', 'fft', {'n': 2}, z, lambda x: torch.fft.fft(cplx(x), n=2))
for n in [8, 7, 1, 400]:
    r = torch.randn(2, n, dtype=torch.float64)
    case(f'rfft_n{n}', 'rfft', {}, r, lambda x: torch.fft.rfft(x))
r = torch.randn(5, 3, dtype=torch.float64)
case('rfft_dim0_ortho', 'rfft', {'dim': 0, 'norm': 'ortho'}, r, lambda x: torch.fft.rfft(x, dim=0, norm='ortho'))
for k, n in [(5, None), (5, 9), (4, 6), (3, 8), (201, 400)]:
    z = torch.randn(2, k, 2, dtype=torch.float64)
    opts = {} if n is None else {'n': n}
    case(f'irfft_k{k}_n{n}', 'irfft', opts, z, lambda x: torch.fft.irfft(cplx(x), n=n))
z = torch.randn(2, 5, 2, dtype=torch.float64)
case('irfft_forward', 'irfft', {'norm': 'forward'}, z, lambda x: torch.fft.irfft(cplx(x), norm='forward'))

# ---- stft / istft ----
sig = torch.randn(2, 300, dtype=torch.float64)
win = torch.hann_window(48, dtype=torch.float64)
for center, mode, normalized, onesided in [
    (True, 'reflect', False, True),
    (True, 'constant', True, True),
    (False, 'reflect', False, True),
    (True, 'replicate', False, False),
]:
    nm = f'stft_c{int(center)}_{mode}_n{int(normalized)}_o{int(onesided)}'
    opts = {'nFft': 64, 'hopLength': 16, 'winLength': 48, 'window': 'hann', 'center': center, 'padMode': mode,
            'normalized': normalized, 'onesided': onesided}
    case(nm, 'stft', opts, sig, lambda x: torch.stft(x, 64, 16, 48, win, center, mode, normalized, onesided,
                                                          return_complex=True))
case('stft_rect_default_hop', 'stft', {'nFft': 32}, sig[0],
     lambda x: torch.stft(x, 32, return_complex=True, window=torch.ones(32, dtype=torch.float64)))

spec = torch.stft(sig, 64, 16, 48, win, return_complex=True)
for length in [None, 250, 300]:
    opts = {'nFft': 64, 'hopLength': 16, 'winLength': 48, 'window': 'hann'}
    if length is not None:
        opts['length'] = length
    case(f'istft_len{length}', 'istft', opts, torch.view_as_real(spec),
         lambda x: torch.istft(cplx(x), 64, 16, 48, win, length=length))
case('istft_normalized', 'istft', {'nFft': 64, 'hopLength': 16, 'window': 'hann64', 'normalized': True},
     torch.view_as_real(torch.stft(sig, 64, 16, window=torch.hann_window(64, dtype=torch.float64),
                                   normalized=True, return_complex=True)),
     lambda x: torch.istft(cplx(x), 64, 16, window=torch.hann_window(64, dtype=torch.float64), normalized=True))

# ---- transforms (float64 modules) ----
wave = torch.randn(2, 800, dtype=torch.float64) * 0.3
for nm, opts, mk in [
    ('spec_power2', {}, lambda: T.Spectrogram()),
    ('spec_power1_norm', {'power': 1, 'normalized': True, 'nFft': 128, 'hopLength': 40},
     lambda: T.Spectrogram(n_fft=128, hop_length=40, power=1, normalized=True)),
    ('spec_complex_pad', {'power': None, 'pad': 7, 'nFft': 64, 'winLength': 50},
     lambda: T.Spectrogram(n_fft=64, win_length=50, pad=7, power=None)),
    ('spec_frame_norm', {'power': 2, 'normalized': 'frame_length', 'nFft': 64},
     lambda: T.Spectrogram(n_fft=64, normalized='frame_length')),
]:
    m = mk().double()
    case(nm, 'Spectrogram', opts, wave, lambda x: m(x), extra=sd(m))

for nm, opts, mk in [
    ('mel_htk', {'nFft': 256, 'hopLength': 64, 'nMels': 40}, lambda: T.MelSpectrogram(n_fft=256, hop_length=64, n_mels=40)),
    ('mel_slaney_norm', {'sampleRate': 8000, 'nFft': 200, 'nMels': 32, 'norm': 'slaney', 'melScale': 'slaney',
                         'fMin': 50, 'fMax': 3800},
     lambda: T.MelSpectrogram(8000, n_fft=200, n_mels=32, norm='slaney', mel_scale='slaney', f_min=50, f_max=3800)),
    ('mel_slaney_scale_only', {'nFft': 400, 'nMels': 64, 'melScale': 'slaney'},
     lambda: T.MelSpectrogram(n_fft=400, n_mels=64, mel_scale='slaney')),
    ('mel_htk_norm', {'nFft': 400, 'nMels': 80, 'norm': 'slaney', 'power': 1},
     lambda: T.MelSpectrogram(n_fft=400, n_mels=80, norm='slaney', power=1)),
]:
    m = mk().double()
    case(nm, 'MelSpectrogram', opts, wave, lambda x: m(x), extra=sd(m))

for nm, opts, mk in [
    ('mfcc_default', {}, lambda: T.MFCC()),
    ('mfcc_logmels', {'nMfcc': 13, 'logMels': True, 'melkwargs': {'nFft': 256, 'nMels': 40, 'hopLength': 80}},
     lambda: T.MFCC(n_mfcc=13, log_mels=True, melkwargs={'n_fft': 256, 'n_mels': 40, 'hop_length': 80})),
    ('mfcc_nonorm', {'nMfcc': 20, 'norm': None, 'melkwargs': {'nFft': 200, 'nMels': 30}},
     lambda: T.MFCC(n_mfcc=20, norm=None, melkwargs={'n_fft': 200, 'n_mels': 30})),
]:
    m = mk().double()
    case(nm, 'MFCC', opts, wave, lambda x: m(x), extra=sd(m))

pw = torch.rand(2, 3, 10, 12, dtype=torch.float64) ** 4 + 1e-12
pw[0, 0, 0, :5] = 0
case('db_power', 'AmplitudeToDB', {'stype': 'power'}, pw, lambda x: T.AmplitudeToDB('power')(x))
case('db_power_top', 'AmplitudeToDB', {'stype': 'power', 'topDb': 40}, pw, lambda x: T.AmplitudeToDB('power', 40)(x))
case('db_mag_top_3d', 'AmplitudeToDB', {'stype': 'magnitude', 'topDb': 30}, pw[0],
     lambda x: T.AmplitudeToDB('magnitude', 30)(x))

tone = torch.sin(torch.arange(1000, dtype=torch.float64) * 0.05).unsqueeze(0) + 0.1 * torch.randn(1, 1000, dtype=torch.float64)
for nm, opts in [
    ('resample_16k_8k', {'origFreq': 16000, 'newFreq': 8000}),
    ('resample_8k_16k', {'origFreq': 8000, 'newFreq': 16000}),
    ('resample_441_160', {'origFreq': 44100, 'newFreq': 16000}),
    ('resample_kaiser', {'origFreq': 16000, 'newFreq': 12000, 'resamplingMethod': 'kaiser_window',
                         'lowpassFilterWidth': 8, 'rolloff': 0.9}),
]:
    kw = {'resampling_method': opts.get('resamplingMethod', 'sinc_interpolation'),
          'lowpass_filter_width': opts.get('lowpassFilterWidth', 6), 'rolloff': opts.get('rolloff', 0.99)}
    case(nm, 'resample', opts, tone, lambda x: AF.resample(x, opts['origFreq'], opts['newFreq'], **kw))

mag = T.Spectrogram(n_fft=128, hop_length=32).double()(wave)
for nm, opts in [('gl_momentum', {'nFft': 128, 'hopLength': 32, 'nIter': 5, 'momentum': 0.99}),
                 ('gl_plain_len', {'nFft': 128, 'hopLength': 32, 'nIter': 3, 'momentum': 0.0, 'length': 800})]:
    gl = T.GriffinLim(n_fft=128, hop_length=32, n_iter=opts['nIter'], momentum=opts['momentum'],
                      length=opts.get('length'), rand_init=False).double()
    case(nm, 'GriffinLim', {**opts, 'randInit': False}, mag, lambda x: gl(x), grad=False, extra=sd(gl))

# ---- WAV files: written by torchaudio.save (sox), expected values from torchaudio.load ----
wavs = []
sig = (torch.rand(3, 50, dtype=torch.float32) * 1.8 - 0.9)
for nm, ch, enc, bits in [('u8_mono', 1, 'PCM_U', 8), ('s16_stereo', 2, 'PCM_S', 16), ('s24_3ch', 3, 'PCM_S', 24),
                          ('s32_mono', 1, 'PCM_S', 32), ('f32_stereo', 2, 'PCM_F', 32), ('f64_mono', 1, 'PCM_F', 64)]:
    path = os.path.join(OUT, f'{nm}.wav')
    torchaudio.save(path, sig[:ch], 8000 + ch, encoding=enc, bits_per_sample=bits)
    y, sr = torchaudio.load(path)
    meta = torchaudio.info(path)
    tensors[f'wav.{nm}.y'] = y.numpy()
    wavs.append({'name': nm, 'sampleRate': sr, 'numChannels': meta.num_channels, 'numFrames': meta.num_frames,
                 'bitsPerSample': meta.bits_per_sample, 'encoding': meta.encoding,
                 'extensible': open(path, 'rb').read()[20:22] == b'\xfe\xff'})

with open(os.path.join(OUT, 'audio.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'torchaudio': torchaudio.__version__, 'cases': cases, 'wavs': wavs}, f,
              indent=1)
write_safetensors(os.path.join(OUT, 'audio.safetensors'), tensors)
print(f'{len(cases)} cases, {sum(v.nbytes for v in tensors.values())} bytes')

# ---- F.ctc_loss: values and gradients with respect to log_probs (ctc.safetensors + ctc.json) ----
ctensors, ccases = {}, []
def ctc_case(name, T, N, C, target_lengths, input_lengths, blank=0, reduction='mean', zero_infinity=False,
             layout='padded', repeats=False):
    g = torch.Generator().manual_seed(len(ccases) + 1)
    lp = torch.randn(T, N, C, dtype=torch.float64, generator=g).log_softmax(2).detach().requires_grad_()
    labels = [c for c in range(C) if c != blank]
    tg = []
    for n, s in enumerate(target_lengths):
        if repeats:
            seq = [labels[0]] * s
        else:
            seq = [labels[int(i)] for i in torch.randint(len(labels), (s,), generator=g)]
        tg.append(seq)
    if layout == 'padded':
        S = max(target_lengths + [1])
        targets = torch.tensor([seq + [labels[0]] * (S - len(seq)) for seq in tg], dtype=torch.int32)
    else:
        targets = torch.tensor([c for seq in tg for c in seq], dtype=torch.int32)
    loss = F.ctc_loss(lp, targets.long(), input_lengths, target_lengths, blank=blank, reduction=reduction,
                      zero_infinity=zero_infinity)
    w = torch.randn(loss.shape, dtype=torch.float64, generator=g)
    (gl,) = torch.autograd.grad((loss * w).sum(), lp)
    for k, v in {'lp': lp.detach(), 'targets': targets, 'loss': loss.detach(), 'w': w, 'grad': gl}.items():
        ctensors[f'{name}.{k}'] = v.numpy()
    ccases.append({'name': name, 'inputLengths': input_lengths, 'targetLengths': target_lengths, 'blank': blank,
                   'reduction': reduction, 'zeroInfinity': zero_infinity})

for red in ['mean', 'sum', 'none']:
    ctc_case(f'padded_{red}', 12, 3, 5, [3, 5, 1], [12, 10, 7], reduction=red)
    ctc_case(f'concat_{red}', 10, 2, 6, [4, 2], [10, 9], reduction=red, layout='concat')
ctc_case('blank_last', 9, 2, 4, [3, 2], [9, 8], blank=3)
ctc_case('repeats', 8, 1, 3, [3], [8], repeats=True)
ctc_case('empty_target', 6, 2, 4, [0, 2], [6, 5])
ctc_case('impossible_zero_inf', 4, 2, 4, [2, 4], [4, 3], zero_infinity=True, repeats=True)
ctc_case('impossible_zero_inf_none', 4, 2, 4, [1, 3], [4, 4], zero_infinity=True, repeats=True, reduction='none')
with open(os.path.join(OUT, 'ctc.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': ccases}, f, indent=1)
write_safetensors(os.path.join(OUT, 'ctc.safetensors'), ctensors)
print(f'{len(ccases)} ctc cases')
