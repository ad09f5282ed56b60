#!/usr/bin/python3
"""PyTorch side of bench/resnet18.ts: torchvision resnet18 inference at batch 1 and 8 and one SGD
(momentum 0.9) training step at batch 8, 224x224, median ms as JSON on stdout. With --export PATH it
also writes the model as ONNX for onnxruntime-node. Run with Debian's /usr/bin/python3 and
OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 GOMP_SPINCOUNT=0."""
import json, sys, time, statistics
import torch, torchvision

torch.set_num_threads(int(__import__('os').environ.get('OMP_NUM_THREADS', '2')))
reps = int(sys.argv[sys.argv.index('--repeats') + 1]) if '--repeats' in sys.argv else 5
model = torchvision.models.resnet18()
if '--export' in sys.argv:
    path = sys.argv[sys.argv.index('--export') + 1]
    torch.onnx.export(model.eval(), torch.randn(1, 3, 224, 224), path, input_names=['x'], output_names=['y'],
                      dynamic_axes={'x': {0: 'n'}, 'y': {0: 'n'}}, opset_version=13)
    # the same weights for nabla, so the benchmark can check both compute the same logits
    header, blobs, off = {}, [], 0
    for k, v in model.state_dict().items():
        b = v.detach().contiguous().to(torch.float32 if v.is_floating_point() else torch.int32).numpy().tobytes()
        header[k] = {'dtype': 'F32' if v.is_floating_point() else 'I32', 'shape': list(v.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header).encode(); h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path.replace('.onnx', '.safetensors'), 'wb') as f:
        f.write(len(h).to_bytes(8, 'little')); f.write(h); [f.write(b) for b in blobs]

def med(fn):
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append((time.perf_counter() - t) * 1000)
    return statistics.median(ts)

model.eval()
out = {}
with torch.no_grad():
    for b in (1, 8):
        x = torch.randn(b, 3, 224, 224)
        out[f'infer_b{b}'] = med(lambda: model(x))
model.train()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = torch.randn(8, 3, 224, 224), torch.randint(0, 1000, (8,))
def step():
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
out['train_b8'] = med(step)
out['version'] = torch.__version__
print(json.dumps(out))
