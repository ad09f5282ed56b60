#!/usr/bin/python3
"""PyTorch side of bench/resnet18.ts: torchvision resnet18 inference at batch 1 and 8 and one SGD
(momentum 0.9) training step at batch 8, 224x224, median ms as JSON on stdout. With --export PATH it
also writes the model as ONNX for onnxruntime-node. Run with Debian's /usr/bin/python3 and
OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 GOMP_SPINCOUNT=0."""
import json, os, sys, time, statistics
import torch, torchvision

torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '2')))
reps = int(sys.argv[sys.argv.index('--repeats') + 1]) if '--repeats' in sys.argv else 5
model = torchvision.models.resnet18()
if '--export' in sys.argv:
    path = sys.argv[sys.argv.index('--export') + 1]
    torch.onnx.export(model.eval(), torch.randn(1, 3, 224, 224), path, input_names=['x'], output_names=['y'],
                      dynamic_axes={'x': {0: 'n'}, 'y': {0: 'n'}}, opset_version=13)
    # the same weights for nabla, so the benchmark can check both compute the same logits
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'golden'))
    from io_safetensors import write_safetensors
    write_safetensors(path.replace('.onnx', '.safetensors'), model.state_dict())

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
