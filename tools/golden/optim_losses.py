#!/usr/bin/python3
"""PyTorch parity goldens for nabla's losses, optimisers and LR schedulers.

Run with Debian's torch 1.13 (not a pyenv python):  /usr/bin/python3 tools/golden/optim_losses.py
Writes, under test/golden/:
  losses.safetensors + losses.json   every loss case: inputs, outputs, input gradients (float64)
  optim.safetensors  + optim.json    each optimiser config: parameters after each of 5 steps
  sched.json                         each scheduler: the LR (and momentum) sequence over 30 steps
safetensors are written by hand (8-byte LE header length, JSON header, raw LE data) so that the
script needs only torch and numpy. Never run in CI; the tests read the committed files.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'golden')
torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        arr = np.array(arr, order="C", copy=True)  # NOTE: ascontiguousarray would make 0-dim arrays 1-dim
        if arr.dtype == np.float64:
            dt = 'F64'
        elif arr.dtype == np.int32:
            dt = 'I32'
        else:
            raise ValueError(f'{name}: unsupported dtype {arr.dtype}')
        b = arr.astype(arr.dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': dt, 'shape': list(arr.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header['__metadata__'] = metadata
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def np64(t):
    return t.detach().numpy().astype(np.float64)


# ---------------------------------------------------------------- losses
loss_tensors, loss_cases = {}, []


def loss_case(name, fn_ts, fn_torch, x, target, opts_ts, opts_torch, extra=None, target_grad=False):
    """x requires grad; for reduction 'none' the gradient is of sum(out * gy)."""
    x = x.clone().requires_grad_(True)
    tgt = target.clone()
    if target_grad:
        tgt.requires_grad_(True)
    out = fn_torch(x, tgt, **opts_torch)
    gy = torch.randn(out.shape) if out.dim() > 0 else torch.ones(())
    (out * gy).sum().backward()
    loss_tensors[f'{name}.x'] = np64(x)
    loss_tensors[f'{name}.target'] = tgt.detach().numpy().astype(np.int32 if tgt.dtype == torch.int64 else np.float64)
    loss_tensors[f'{name}.out'] = np64(out)
    loss_tensors[f'{name}.gy'] = np64(gy)
    loss_tensors[f'{name}.gx'] = np64(x.grad)
    if target_grad:
        loss_tensors[f'{name}.gtarget'] = np64(tgt.grad)
    for k, v in (extra or {}).items():
        loss_tensors[f'{name}.{k}'] = np64(v)
    loss_cases.append({'name': name, 'fn': fn_ts, 'opts': opts_ts, 'tensors': sorted((extra or {}).keys()),
                       'targetGrad': target_grad})


RED = ['none', 'mean', 'sum']
N, C = 6, 5
logits = torch.randn(N, C) * 2
labels = torch.randint(0, C, (N,))
labels_ign = labels.clone(); labels_ign[1] = -100; labels_ign[4] = -100
labels_ign2 = labels.clone(); labels_ign2[2] = 2; labels_ign2[0] = 2
w = torch.rand(C) + 0.5
probs = torch.softmax(torch.randn(N, C), 1)
x4 = torch.randn(2, C, 3, 2)
t4 = torch.randint(0, C, (2, 3, 2)); t4[0, 1, 1] = -100
for r in RED:
    loss_case(f'ce_{r}', 'crossEntropy', F.cross_entropy, logits, labels, {'reduction': r}, {'reduction': r})
    loss_case(f'ce_w_ign_{r}', 'crossEntropy', F.cross_entropy, logits, labels_ign,
              {'reduction': r, 'weight': 'weight'}, {'reduction': r, 'weight': w}, {'weight': w})
    loss_case(f'ce_ls_{r}', 'crossEntropy', F.cross_entropy, logits, labels_ign,
              {'reduction': r, 'labelSmoothing': 0.1}, {'reduction': r, 'label_smoothing': 0.1})
    loss_case(f'ce_ls_w_{r}', 'crossEntropy', F.cross_entropy, logits, labels_ign2,
              {'reduction': r, 'labelSmoothing': 0.2, 'weight': 'weight', 'ignoreIndex': 2},
              {'reduction': r, 'label_smoothing': 0.2, 'weight': w, 'ignore_index': 2}, {'weight': w})
    loss_case(f'ce_prob_{r}', 'crossEntropy', F.cross_entropy, logits, probs, {'reduction': r}, {'reduction': r})
    loss_case(f'ce_prob_ls_w_{r}', 'crossEntropy', F.cross_entropy, logits, probs,
              {'reduction': r, 'labelSmoothing': 0.3, 'weight': 'weight'},
              {'reduction': r, 'label_smoothing': 0.3, 'weight': w}, {'weight': w})
    loss_case(f'ce_4d_{r}', 'crossEntropy', F.cross_entropy, x4, t4, {'reduction': r, 'weight': 'weight'},
              {'reduction': r, 'weight': w}, {'weight': w})
    loss_case(f'ce_4d_ls_{r}', 'crossEntropy', F.cross_entropy, x4, t4, {'reduction': r, 'labelSmoothing': 0.15},
              {'reduction': r, 'label_smoothing': 0.15})
    lp = torch.log_softmax(logits, 1)
    loss_case(f'nll_{r}', 'nllLoss', F.nll_loss, lp, labels, {'reduction': r}, {'reduction': r})
    loss_case(f'nll_w_ign_{r}', 'nllLoss', F.nll_loss, lp, labels_ign2, {'reduction': r, 'weight': 'weight', 'ignoreIndex': 2},
              {'reduction': r, 'weight': w, 'ignore_index': 2}, {'weight': w})
loss_case('ce_unbatched', 'crossEntropy', F.cross_entropy, logits[0], labels[0], {}, {})
loss_case('ce_large_logits', 'crossEntropy', F.cross_entropy, logits * 1000, labels, {}, {})

a, b = torch.randn(4, 3), torch.randn(4, 3)
for r in RED:
    loss_case(f'mse_{r}', 'mseLoss', F.mse_loss, a, b, {'reduction': r}, {'reduction': r}, target_grad=True)
    loss_case(f'l1_{r}', 'l1Loss', F.l1_loss, a, b, {'reduction': r}, {'reduction': r}, target_grad=True)
    for beta in (1.0, 0.5, 0.0):
        loss_case(f'smoothl1_{beta}_{r}', 'smoothL1Loss', F.smooth_l1_loss, a, b, {'reduction': r, 'beta': beta},
                  {'reduction': r, 'beta': beta}, target_grad=True)
    for delta in (1.0, 0.7):
        loss_case(f'huber_{delta}_{r}', 'huberLoss', F.huber_loss, a, b, {'reduction': r, 'delta': delta},
                  {'reduction': r, 'delta': delta}, target_grad=True)

p = torch.rand(4, 3) * 0.9 + 0.05
y = (torch.rand(4, 3) > 0.5).double()
ysoft = torch.rand(4, 3)
ew = torch.rand(4, 3) + 0.5
pw = torch.rand(3) * 2 + 0.2
z = torch.randn(4, 3) * 3
for r in RED:
    loss_case(f'bce_{r}', 'binaryCrossEntropy', F.binary_cross_entropy, p, y, {'reduction': r}, {'reduction': r})
    loss_case(f'bce_w_{r}', 'binaryCrossEntropy', F.binary_cross_entropy, p, ysoft, {'reduction': r, 'weight': 'weight'},
              {'reduction': r, 'weight': ew}, {'weight': ew})
    loss_case(f'bcel_{r}', 'binaryCrossEntropyWithLogits', F.binary_cross_entropy_with_logits, z, y,
              {'reduction': r}, {'reduction': r})
    loss_case(f'bcel_pw_w_{r}', 'binaryCrossEntropyWithLogits', F.binary_cross_entropy_with_logits, z, ysoft,
              {'reduction': r, 'weight': 'weight', 'posWeight': 'posWeight'},
              {'reduction': r, 'weight': ew, 'pos_weight': pw}, {'weight': ew, 'posWeight': pw})
loss_case('bce_edges', 'binaryCrossEntropy', F.binary_cross_entropy, torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5]),
          torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0]), {'reduction': 'none'}, {'reduction': 'none'})
loss_case('bcel_extreme', 'binaryCrossEntropyWithLogits', F.binary_cross_entropy_with_logits,
          torch.tensor([-1000.0, 1000.0, 0.0, 50.0, -50.0]), torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0]),
          {'reduction': 'none'}, {'reduction': 'none'})

lq = torch.log_softmax(torch.randn(4, 5), 1)
tq = torch.softmax(torch.randn(4, 5), 1)
tq[0, 2] = 0.0
for r in RED + ['batchmean']:
    loss_case(f'kl_{r}', 'klDiv', F.kl_div, lq, tq, {'reduction': r}, {'reduction': r})
    loss_case(f'kl_log_{r}', 'klDiv', F.kl_div, lq, torch.log_softmax(torch.randn(4, 5), 1),
              {'reduction': r, 'logTarget': True}, {'reduction': r, 'log_target': True}, target_grad=True)

write_safetensors(os.path.join(OUT, 'losses.safetensors'), loss_tensors)
with open(os.path.join(OUT, 'losses.json'), 'w') as f:
    json.dump({'generator': 'tools/golden/optim_losses.py', 'torch': torch.__version__, 'cases': loss_cases}, f, indent=1)

# ---------------------------------------------------------------- optimisers
STEPS = 5
p0_init, p1_init = torch.randn(3, 4), torch.randn(5)
grads = [(torch.randn(3, 4), torch.randn(5)) for _ in range(STEPS)]
opt_tensors = {'p0.init': np64(p0_init), 'p1.init': np64(p1_init),
               'p0.grads': np.stack([np64(g[0]) for g in grads]), 'p1.grads': np.stack([np64(g[1]) for g in grads])}
opt_cases = []

OPTS = {
    'sgd': (torch.optim.SGD, {'lr': 0.1}, {'lr': 0.1}),
    'sgd_momentum': (torch.optim.SGD, {'lr': 0.1, 'momentum': 0.9}, {'lr': 0.1, 'momentum': 0.9}),
    'sgd_dampening_wd': (torch.optim.SGD, {'lr': 0.1, 'momentum': 0.9, 'dampening': 0.5, 'weight_decay': 0.01},
                         {'lr': 0.1, 'momentum': 0.9, 'dampening': 0.5, 'weightDecay': 0.01}),
    'sgd_nesterov_wd': (torch.optim.SGD, {'lr': 0.05, 'momentum': 0.8, 'nesterov': True, 'weight_decay': 0.1},
                        {'lr': 0.05, 'momentum': 0.8, 'nesterov': True, 'weightDecay': 0.1}),
    'sgd_maximize': (torch.optim.SGD, {'lr': 0.1, 'momentum': 0.5, 'maximize': True},
                     {'lr': 0.1, 'momentum': 0.5, 'maximize': True}),
    'adam': (torch.optim.Adam, {'lr': 0.01}, {'lr': 0.01}),
    'adam_wd_amsgrad': (torch.optim.Adam, {'lr': 0.02, 'betas': (0.8, 0.9), 'weight_decay': 0.1, 'amsgrad': True},
                        {'lr': 0.02, 'betas': [0.8, 0.9], 'weightDecay': 0.1, 'amsgrad': True}),
    'adam_maximize_eps': (torch.optim.Adam, {'lr': 0.01, 'eps': 1e-3, 'maximize': True},
                          {'lr': 0.01, 'eps': 1e-3, 'maximize': True}),
    'adamw': (torch.optim.AdamW, {'lr': 0.01}, {'lr': 0.01}),
    'adamw_wd_amsgrad': (torch.optim.AdamW, {'lr': 0.05, 'weight_decay': 0.3, 'amsgrad': True},
                         {'lr': 0.05, 'weightDecay': 0.3, 'amsgrad': True}),
    'rmsprop': (torch.optim.RMSprop, {'lr': 0.01}, {'lr': 0.01}),
    'rmsprop_centered_momentum_wd': (torch.optim.RMSprop, {'lr': 0.01, 'alpha': 0.9, 'momentum': 0.5, 'centered': True, 'weight_decay': 0.1},
                                     {'lr': 0.01, 'alpha': 0.9, 'momentum': 0.5, 'centered': True, 'weightDecay': 0.1}),
    'rmsprop_maximize': (torch.optim.RMSprop, {'lr': 0.01, 'maximize': True, 'momentum': 0.3},
                         {'lr': 0.01, 'maximize': True, 'momentum': 0.3}),
    'adagrad': (torch.optim.Adagrad, {'lr': 0.1}, {'lr': 0.1}),
    'adagrad_opts': (torch.optim.Adagrad, {'lr': 0.1, 'lr_decay': 0.1, 'weight_decay': 0.1, 'initial_accumulator_value': 0.5, 'eps': 1e-6},
                     {'lr': 0.1, 'lrDecay': 0.1, 'weightDecay': 0.1, 'initialAccumulatorValue': 0.5, 'eps': 1e-6}),
}
TS_NAME = {torch.optim.SGD: 'SGD', torch.optim.Adam: 'Adam', torch.optim.AdamW: 'AdamW',
           torch.optim.RMSprop: 'RMSprop', torch.optim.Adagrad: 'Adagrad'}


def run_opt(name, cls, kw, kw_ts, groups=None, groups_ts=None):
    p0 = p0_init.clone().requires_grad_(True)
    p1 = p1_init.clone().requires_grad_(True)
    opt = cls(groups(p0, p1) if groups else [p0, p1], **kw)
    hist0, hist1 = [], []
    for s in range(STEPS):
        p0.grad, p1.grad = grads[s][0].clone(), grads[s][1].clone()
        opt.step()
        hist0.append(np64(p0))
        hist1.append(np64(p1))
    opt_tensors[f'{name}.p0'] = np.stack(hist0)
    opt_tensors[f'{name}.p1'] = np.stack(hist1)
    opt_cases.append({'name': name, 'optimizer': TS_NAME[cls], 'opts': kw_ts, 'groups': groups_ts})


for name, (cls, kw, kw_ts) in OPTS.items():
    run_opt(name, cls, kw, kw_ts)
run_opt('sgd_groups', torch.optim.SGD, {'lr': 0.1, 'momentum': 0.9}, {'lr': 0.1, 'momentum': 0.9},
        lambda p0, p1: [{'params': [p0]}, {'params': [p1], 'lr': 0.01, 'nesterov': True}],
        [{}, {'lr': 0.01, 'nesterov': True}])
run_opt('adam_groups', torch.optim.Adam, {'lr': 0.01}, {'lr': 0.01},
        lambda p0, p1: [{'params': [p0], 'weight_decay': 0.5}, {'params': [p1], 'lr': 0.1, 'betas': (0.5, 0.6)}],
        [{'weightDecay': 0.5}, {'lr': 0.1, 'betas': [0.5, 0.6]}])

# clipGradNorm_: total norm and clipped grads for several norm types
for nt in (2.0, 1.0, float('inf'), 3.0):
    g0, g1 = grads[0][0].clone(), grads[0][1].clone()
    q0, q1 = torch.zeros(3, 4, requires_grad=True), torch.zeros(5, requires_grad=True)
    q0.grad, q1.grad = g0, g1
    total = torch.nn.utils.clip_grad_norm_([q0, q1], 1.5, norm_type=nt)
    key = 'inf' if math.isinf(nt) else str(nt)
    opt_tensors[f'clip_{key}.total'] = np64(total.reshape(1))
    opt_tensors[f'clip_{key}.g0'] = np64(q0.grad)
    opt_tensors[f'clip_{key}.g1'] = np64(q1.grad)

write_safetensors(os.path.join(OUT, 'optim.safetensors'), opt_tensors)
with open(os.path.join(OUT, 'optim.json'), 'w') as f:
    json.dump({'generator': 'tools/golden/optim_losses.py', 'torch': torch.__version__, 'steps': STEPS, 'cases': opt_cases}, f, indent=1)

# ---------------------------------------------------------------- schedulers
S = torch.optim.lr_scheduler
SCHED_STEPS = 30
sched_cases = []
metrics = [1.0, 0.9, 0.85, 0.86, 0.87, 0.849, 0.84, 0.845, 0.846, 0.847, 0.848, 0.7, 0.71, 0.72, 0.73,
           0.74, 0.75, 0.76, 0.6, 0.61, 0.62, 0.63, 0.64, 0.65, 0.66, 0.67, 0.68, 0.69, 0.7, 0.71]


def sched_case(name, make_opt, opt_ts, make_sched, sched_ts, plateau=False, lam=None):
    p = torch.zeros(2, requires_grad=True)
    q = torch.zeros(2, requires_grad=True)
    opt = make_opt(p, q)
    sch = make_sched(opt)
    lrs, moms = [], []

    def record():
        lrs.append([g['lr'] for g in opt.param_groups])
        g = opt.param_groups[0]
        moms.append(g['betas'][0] if 'betas' in g else g.get('momentum', 0.0))

    record()
    for s in range(SCHED_STEPS):
        p.grad, q.grad = torch.ones(2), torch.ones(2)
        opt.step()
        if plateau:
            sch.step(metrics[s])
        else:
            sch.step()
        record()
    sched_cases.append({'name': name, 'optimizer': opt_ts, 'scheduler': sched_ts, 'lambda': lam,
                        'lrs': lrs, 'momentum': moms})


def sgd2(p, q):
    return torch.optim.SGD([{'params': [p]}, {'params': [q], 'lr': 0.05}], lr=0.1, momentum=0.9)


SGD2 = {'type': 'SGD', 'groups': [{}, {'lr': 0.05}], 'opts': {'lr': 0.1, 'momentum': 0.9}}
ADAM = {'type': 'Adam', 'groups': [{}], 'opts': {'lr': 0.001, 'betas': [0.9, 0.99]}}


def adam1(p, q):
    return torch.optim.Adam([p, q], lr=0.001, betas=(0.9, 0.99))


ADAM['groups'] = None
sched_case('step', sgd2, SGD2, lambda o: S.StepLR(o, 7, gamma=0.5), {'type': 'StepLR', 'args': [7], 'opts': {'gamma': 0.5}})
sched_case('multistep', sgd2, SGD2, lambda o: S.MultiStepLR(o, [5, 12, 12, 20], gamma=0.3),
           {'type': 'MultiStepLR', 'args': [[5, 12, 12, 20]], 'opts': {'gamma': 0.3}})
sched_case('exponential', sgd2, SGD2, lambda o: S.ExponentialLR(o, 0.9), {'type': 'ExponentialLR', 'args': [0.9], 'opts': {}})
sched_case('cosine_10', sgd2, SGD2, lambda o: S.CosineAnnealingLR(o, 10, eta_min=0.001),
           {'type': 'CosineAnnealingLR', 'args': [10], 'opts': {'etaMin': 0.001}})
sched_case('cosine_30', sgd2, SGD2, lambda o: S.CosineAnnealingLR(o, 30), {'type': 'CosineAnnealingLR', 'args': [30], 'opts': {}})
sched_case('linear_warmup', sgd2, SGD2, lambda o: S.LinearLR(o, start_factor=0.25, total_iters=8),
           {'type': 'LinearLR', 'args': [], 'opts': {'startFactor': 0.25, 'totalIters': 8}})
sched_case('linear_decay', sgd2, SGD2, lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=10),
           {'type': 'LinearLR', 'args': [], 'opts': {'startFactor': 1.0, 'endFactor': 0.1, 'totalIters': 10}})
sched_case('linear_default', sgd2, SGD2, lambda o: S.LinearLR(o), {'type': 'LinearLR', 'args': [], 'opts': {}})
sched_case('lambda', sgd2, SGD2, lambda o: S.LambdaLR(o, lambda e: 1.0 / (1.0 + 0.5 * e)),
           {'type': 'LambdaLR', 'args': [], 'opts': {}}, lam='inv')
sched_case('onecycle_cos', sgd2, SGD2, lambda o: S.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=30),
           {'type': 'OneCycleLR', 'args': [[1.0, 0.5]], 'opts': {'totalSteps': 30}})
sched_case('onecycle_linear_3phase_adam', adam1, ADAM,
           lambda o: S.OneCycleLR(o, max_lr=0.01, epochs=3, steps_per_epoch=10, pct_start=0.25, anneal_strategy='linear',
                                  three_phase=True, div_factor=10.0, final_div_factor=100.0),
           {'type': 'OneCycleLR', 'args': [0.01], 'opts': {'epochs': 3, 'stepsPerEpoch': 10, 'pctStart': 0.25,
                                                           'annealStrategy': 'linear', 'threePhase': True,
                                                           'divFactor': 10.0, 'finalDivFactor': 100.0}})
sched_case('sequential_warmup_cosine', sgd2, SGD2,
           lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5), S.CosineAnnealingLR(o, 25)], milestones=[5]),
           {'type': 'SequentialLR', 'children': [{'type': 'LinearLR', 'args': [], 'opts': {'startFactor': 0.1, 'totalIters': 5}},
                                                 {'type': 'CosineAnnealingLR', 'args': [25], 'opts': {}}], 'milestones': [5]})
sched_case('sequential_exp_step', sgd2, SGD2,
           lambda o: S.SequentialLR(o, [S.ExponentialLR(o, 0.9), S.StepLR(o, 3, 0.5)], milestones=[10]),
           {'type': 'SequentialLR', 'children': [{'type': 'ExponentialLR', 'args': [0.9], 'opts': {}},
                                                 {'type': 'StepLR', 'args': [3], 'opts': {'gamma': 0.5}}], 'milestones': [10]})
sched_case('plateau_min', sgd2, SGD2, lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=2, threshold=0.01, cooldown=1, min_lr=0.01),
           {'type': 'ReduceLROnPlateau', 'args': [], 'opts': {'factor': 0.5, 'patience': 2, 'threshold': 0.01, 'cooldown': 1, 'minLr': 0.01}},
           plateau=True)
sched_case('plateau_max_abs', sgd2, SGD2, lambda o: S.ReduceLROnPlateau(o, mode='max', factor=0.3, patience=1, threshold=0.05,
                                                                       threshold_mode='abs', min_lr=[0.001, 0.002]),
           {'type': 'ReduceLROnPlateau', 'args': [], 'opts': {'mode': 'max', 'factor': 0.3, 'patience': 1, 'threshold': 0.05,
                                                              'thresholdMode': 'abs', 'minLr': [0.001, 0.002]}},
           plateau=True)
sched_case('plateau_default', sgd2, SGD2, lambda o: S.ReduceLROnPlateau(o, patience=3),
           {'type': 'ReduceLROnPlateau', 'args': [], 'opts': {'patience': 3}}, plateau=True)

with open(os.path.join(OUT, 'sched.json'), 'w') as f:
    json.dump({'generator': 'tools/golden/optim_losses.py', 'torch': torch.__version__, 'steps': SCHED_STEPS,
               'metrics': metrics, 'cases': sched_cases}, f, indent=1)
print('wrote', len(loss_cases), 'loss cases,', len(opt_cases), 'optimiser cases,', len(sched_cases), 'scheduler cases')
