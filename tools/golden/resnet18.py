#!/usr/bin/python3
"""ResNet-18 golden: a torchvision resnet18 with random weights and random BatchNorm statistics,
saved with torch.save (zip format), plus eval-mode logits (float32) and train-mode gradients (float64) for a fixed input.
Run with Debian's python3 (python3-torch 1.13, python3-torchvision 0.14):
    /usr/bin/python3 tools/golden/resnet18.py
To keep the file small, every tensor of the state dict is an overlapping strided view
(`as_strided`) into one of three shared random storages of 2^16 floats; torch.save then writes just
those storages, and loading must honour storage sharing, offsets and strides."""
import os, json
import sys
import torch, torchvision

sys.path.insert(0, os.path.dirname(__file__))
from io_safetensors import write_safetensors  # noqa: E402

torch.manual_seed(0)
out_dir = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden')
model = torchvision.models.resnet18()
S = 1 << 16
base = torch.randn(S) * 0.05               # weights and biases
pos = torch.rand(S) * 0.9 + 0.3            # BN running_var and BN weight (positive)
small = torch.randn(S) * 0.002             # fc: keeps logits moderate, so top-5 probabilities are informative
primes = [61, 59, 53, 47, 43, 41, 37, 31]

sd = {}
for i, (k, v) in enumerate(model.state_dict().items()):
    if k.endswith('num_batches_tracked'):
        sd[k] = torch.tensor(i, dtype=torch.long)
        continue
    is_bn_scale = k.endswith('running_var') or ('bn' in k and k.endswith('weight')) or ('downsample.1.weight' in k)
    src = pos if is_bn_scale else small if k.startswith('fc.') else base
    shape = list(v.shape)
    strides = [primes[(i + d) % len(primes)] if d < len(shape) - 1 else 1 for d in range(len(shape))]
    extent = sum((n - 1) * s for n, s in zip(shape, strides)) + 1
    off = (i * 997) % max(1, S - extent)
    sd[k] = src.as_strided(shape, strides, off)
model.load_state_dict(sd)
torch.save(sd, os.path.join(out_dir, 'resnet18_strided.pth'))

g = torch.Generator().manual_seed(1)
x = torch.randn(2, 3, 64, 64, generator=g)
r = torch.randn(2, 1000, generator=g)
model.eval()
with torch.no_grad():
    logits_eval = model(x)
# NOTE: train-mode gradients are compared in float64. In float32, ReLU and max-pool make them
# non-smooth: a 1e-6 relative change in a conv output can flip an argmax or a ReLU mask and move a
# gradient by a few percent, so two correct float32 implementations disagree at 1e-3.
model64 = torchvision.models.resnet18().double()
model64.load_state_dict(sd)
model64.train()
out = model64(x.double())
(out * r.double()).sum().backward()
names = ['conv1.weight', 'bn1.weight', 'layer1.0.conv1.weight', 'layer4.1.bn2.bias', 'fc.bias']
tensors = {'x': x, 'r': r, 'logits_eval': logits_eval, 'logits_train64': out.detach()}
params = dict(model64.named_parameters())
for n in names:
    tensors['grad64.' + n] = params[n].grad
# BN running stats after one train-mode forward (momentum 0.1)
tensors['after.bn1.running_mean'] = model64.bn1.running_mean
tensors['after.bn1.running_var'] = model64.bn1.running_var

write_safetensors(os.path.join(out_dir, 'resnet18_expected.safetensors'), tensors)
print('logits_eval[0,:4]', logits_eval[0, :4].tolist())

# The classify recipe on a committed PNG (tools/golden/vision_transforms.py wrote it): top-5 classes.
from PIL import Image
import torchvision.transforms as T
tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
img = tf(Image.open(os.path.join(out_dir, 'vision', 'rgb.png')).convert('RGB')).unsqueeze(0)
model.load_state_dict(sd)  # undo the running-stat updates of the train-mode pass above
model.eval()
with torch.no_grad():
    p = model(img).softmax(1)
top = p.topk(5, 1)
with open(os.path.join(out_dir, 'resnet18_classify.json'), 'w') as f:
    json.dump({'image': 'vision/rgb.png', 'top5': top.indices[0].tolist(), 'probs': top.values[0].tolist()}, f)
print('top5', top.indices[0].tolist())
