#!/usr/bin/python3
"""PyTorch reference for examples/fashion-mnist.ts: the same small CNN and recipe on Fashion-MNIST
(60k train / 10k test from ../shared/data), 2 threads. Writes test/golden/fashion_cnn.json with the
test accuracy per epoch, so nabla's run can be compared with it.
    OMP_NUM_THREADS=2 GOMP_SPINCOUNT=0 /usr/bin/python3 tools/golden/fashion_cnn.py"""
import gzip, json, os, time
import numpy as np
import torch, torch.nn as nn

torch.manual_seed(0)
torch.set_num_threads(2)
here = os.path.dirname(__file__)
data = os.environ.get('NABLA_SHARED_DATA', os.path.join(here, '..', '..', '..', 'shared', 'data'))

def idx(name, offset):
    with gzip.open(os.path.join(data, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)

xtr = torch.tensor(idx('fashion-train-images-idx3-ubyte.gz', 16).reshape(-1, 1, 28, 28), dtype=torch.float32) / 255
ytr = torch.tensor(idx('fashion-train-labels-idx1-ubyte.gz', 8), dtype=torch.long)
xte = torch.tensor(idx('fashion-t10k-images-idx3-ubyte.gz', 16).reshape(-1, 1, 28, 28), dtype=torch.float32) / 255
yte = torch.tensor(idx('fashion-t10k-labels-idx1-ubyte.gz', 8), dtype=torch.long)

model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
EPOCHS, BATCH = 3, 64
accs, t0 = [], time.time()
for epoch in range(EPOCHS):
    model.train()
    perm = torch.randperm(len(xtr))
    for i in range(0, len(xtr), BATCH):
        idx_b = perm[i:i + BATCH]
        opt.zero_grad()
        loss = loss_fn(model(xtr[idx_b]), ytr[idx_b])
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    accs.append(acc)
    print(f'epoch {epoch + 1}: test accuracy {acc:.4f} ({time.time() - t0:.1f}s)', flush=True)
with open(os.path.join(here, '..', '..', 'test', 'golden', 'fashion_cnn.json'), 'w') as f:
    json.dump({'recipe': 'conv16-relu-pool-conv32-relu-pool-linear, Adam 1e-3, batch 64, 3 epochs, torch.manual_seed(0)',
               'test_accuracy_per_epoch': accs, 'seconds': time.time() - t0, 'torch': torch.__version__}, f, indent=1)
