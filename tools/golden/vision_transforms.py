#!/usr/bin/python3
"""Goldens for nabla's image input: PNG/JPEG files and what torchvision 0.14's transforms make of
them (on PIL images, as ImageFolder + transforms do). Run with Debian's python3:
/usr/bin/python3 tools/golden/vision_transforms.py  -> test/golden/vision/*.png, *.jpg, *.npy"""
import os
import numpy as np
from PIL import Image
import torchvision.transforms as T

out = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'vision')
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(1234)

def smooth(h, w, c):
    # a smooth random picture (random images would make resampling errors invisible)
    y, x = np.mgrid[0:h, 0:w]
    chans = [127 + 120 * np.sin(x / (3 + k) + y / (5 + 2 * k) + rng.random() * 6) for k in range(c)]
    img = np.stack(chans, -1) + rng.normal(0, 8, (h, w, c))
    return np.clip(img, 0, 255).astype(np.uint8)

Image.fromarray(smooth(37, 53, 3)).save(os.path.join(out, 'rgb.png'))
Image.fromarray(smooth(41, 29, 1)[:, :, 0], 'L').save(os.path.join(out, 'gray.png'))
Image.fromarray(smooth(23, 31, 4), 'RGBA').save(os.path.join(out, 'rgba.png'))
Image.fromarray(smooth(48, 64, 3)).save(os.path.join(out, 'rgb.jpg'), quality=95)

norm = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
cases = {
    'rgb_resize24_crop20_norm': ('rgb.png', T.Compose([T.Resize(24), T.CenterCrop(20), T.ToTensor(), norm])),
    'gray_as_rgb_resize16': ('gray.png', T.Compose([T.Resize(16), T.ToTensor()])),
    'rgba_as_rgb_upscale': ('rgba.png', T.Compose([T.Resize((50, 60)), T.ToTensor()])),
    'rgb_crop_larger_than_image': ('rgb.png', T.Compose([T.CenterCrop(45), T.ToTensor()])),
    'jpeg_resize32': ('rgb.jpg', T.Compose([T.Resize(32), T.ToTensor()])),
}
for name, (src, tf) in cases.items():
    img = Image.open(os.path.join(out, src)).convert('RGB')
    np.save(os.path.join(out, name + '.npy'), tf(img).numpy().astype(np.float32))
print('wrote', sorted(os.listdir(out)))
