// Image input against torchvision 0.14 on PIL images (goldens by tools/golden/vision_transforms.py).
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nb from 'nabla';
import { golden } from '../helpers/data.js';
import { assertClose } from '../helpers/assert.js';

const T = nb.vision.transforms;
const g = (f: string) => golden(join('vision', f));
const norm = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);

const cases: [string, string, nb.vision.transforms.Transform][] = [
  ['rgb_resize24_crop20_norm', 'rgb.png', T.Compose([T.Resize(24), T.CenterCrop(20), T.ToTensor(), norm])],
  ['gray_as_rgb_resize16', 'gray.png', T.Compose([T.Resize(16), T.ToTensor()])],
  ['rgba_as_rgb_upscale', 'rgba.png', T.Compose([T.Resize([50, 60]), T.ToTensor()])],
  ['rgb_crop_larger_than_image', 'rgb.png', T.Compose([T.CenterCrop(45), T.ToTensor()])],
];

for (const [name, file, tf] of cases) {
  test(`PNG preprocessing matches torchvision within 1/255: ${name}`, async () => {
    const want = await nb.io.loadNpy(g(`${name}.npy`));
    const got = tf(nb.vision.readImage(g(file), 'RGB')) as nb.Tensor;
    // Normalize divides by std >= 0.224, so 1/255 in pixel units is at most 1/(255*0.224) after it
    assertClose(got, want, { atol: name.endsWith('norm') ? 1 / (255 * 0.224) : 1 / 255, rtol: 0 });
  });
}

test('JPEG decodes to the right size and close to libjpeg (IDCTs differ slightly)', async () => {
  const want = await nb.io.loadNpy(g('jpeg_resize32.npy'));
  const got = T.Compose([T.Resize(32), T.ToTensor()])(nb.vision.readImage(g('rgb.jpg'), 'RGB')) as nb.Tensor;
  assert.deepEqual([...got.shape], [...want.shape]);
  const meanAbs = got.sub(want).abs().mean().item();
  // NOTE: jpeg-js upsamples chroma differently from libjpeg (measured ~2.1/255 mean on this file)
  assert.ok(meanAbs < 3 / 255, `mean abs difference ${meanAbs}`);
});

test('modes: grayscale and RGBA files keep their mode until converted', () => {
  assert.equal(nb.vision.readImage(g('gray.png')).mode, 'L');
  assert.equal(nb.vision.readImage(g('rgba.png')).mode, 'RGBA');
  const rgb = nb.vision.readImage(g('gray.png'), 'RGB');
  assert.equal(rgb.channels, 3);
  assert.equal(rgb.data[0], rgb.data[1]);
});

test('bad images give clear errors naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-img-'));
  const png = readFileSync(g('rgb.png'));
  writeFileSync(join(dir, 'trunc.png'), png.subarray(0, 100));
  writeFileSync(join(dir, 'bogus.gif'), Buffer.from('GIF89a....'));
  const bad = Buffer.from(png);
  bad.writeUInt32BE(1 << 30, 16);
  writeFileSync(join(dir, 'huge.png'), bad);
  assert.throws(() => nb.vision.readImage(join(dir, 'trunc.png')), /trunc\.png.*corrupt or truncated PNG/);
  assert.throws(() => nb.vision.readImage(join(dir, 'bogus.gif')), /bogus\.gif.*unsupported image format/);
  assert.throws(() => nb.vision.readImage(join(dir, 'huge.png')), /huge\.png/);
  assert.throws(() => nb.vision.readImage(join(dir, 'missing.png')), /missing\.png/);
});

test('encodePng round-trips', () => {
  const img = nb.vision.readImage(g('rgb.png'));
  const back = nb.vision.decodeImage(nb.vision.encodePng(img));
  assert.deepEqual(Buffer.from(back.convert('RGB').data), Buffer.from(img.data));
});

test('random transforms are seeded and keep shapes', () => {
  const img = nb.vision.readImage(g('rgb.png'), 'RGB');
  const tf = T.Compose([
    T.RandomResizedCrop(16),
    T.RandomHorizontalFlip(),
    T.ColorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }),
    T.ToTensor(),
  ]);
  nb.manualSeed(3);
  const a = tf(img) as nb.Tensor;
  nb.manualSeed(3);
  const b = tf(img) as nb.Tensor;
  assert.deepEqual([...a.shape], [3, 16, 16]);
  assertClose(a, b, { atol: 0, rtol: 0 });
  const t = nb.vision.readImage(g('rgb.png'), 'RGB').toTensor();
  assertClose(T.hflip(T.hflip(t) as nb.Tensor) as nb.Tensor, t, { atol: 0, rtol: 0 });
});

test('ImageFolder lists sorted classes and loads RGB samples', () => {
  const root = mkdtempSync(join(tmpdir(), 'nabla-if-'));
  for (const [cls, files] of [
    ['dog', ['b.png', 'a.png']],
    ['cat', ['x.png']],
  ] as const) {
    mkdirSync(join(root, cls));
    for (const f of files) copyFileSync(g('gray.png'), join(root, cls, f));
  }
  writeFileSync(join(root, 'cat', 'notes.txt'), 'not an image');
  const ds = new nb.vision.ImageFolder(root, { transform: T.Compose([T.Resize([8, 8]), T.ToTensor()]) });
  assert.deepEqual(ds.classes, ['cat', 'dog']);
  assert.equal(ds.length, 3);
  assert.deepEqual(ds.targets, [0, 1, 1]);
  assert.ok(ds.samples[1][0].endsWith(join('dog', 'a.png')));
  const [x, y] = ds.getItem(2);
  assert.deepEqual([...(x as nb.Tensor).shape], [3, 8, 8]);
  assert.equal(y, 1);
  assert.throws(() => new nb.vision.ImageFolder(join(root, 'nope')), /ImageFolder\(.*nope\)/);
});

test('ImageNet class names ship with nabla', () => {
  assert.equal(nb.vision.IMAGENET_CLASSES.length, 1000);
  assert.equal(nb.vision.IMAGENET_CLASSES[0], 'tench');
  assert.equal(nb.vision.IMAGENET_CLASSES[999], 'toilet tissue');
});

test(
  'every transform is called one way or the other: t(x), t.call(x) and t.forward(x) agree; repr as ' + 'torchvision',
  () => {
    const x = nb
      .arange(0, 2 * 6 * 8, 1)
      .reshape([2, 6, 8])
      .div(96);
    const pipeline = T.Compose([T.Resize(4), T.CenterCrop(3), T.Normalize([0.5, 0.5], [0.25, 0.25])]);
    const a = pipeline(x);
    assertClose(pipeline.call(x), a);
    assertClose(pipeline.forward(x), a);
    for (const t of [T.Resize([3, 5]), T.CenterCrop(4), T.ToTensor(), T.RandomHorizontalFlip(1)]) {
      assertClose(t.call(x) as nb.Tensor, t(x) as nb.Tensor);
      assertClose(t.forward(x) as nb.Tensor, t(x) as nb.Tensor);
    }
    assert.equal(String(T.Resize(256)), 'Resize(size=256)');
    assert.equal(String(T.CenterCrop(224)), 'CenterCrop(size=[224, 224])');
    assert.equal(String(T.Normalize([0.5], [0.2])), 'Normalize(mean=[0.5], std=[0.2])');
    assert.equal(
      String(
        T.Compose([
          T.ToTensor(),
          function halve(t: nb.Tensor) {
            return t.div(2);
          },
        ]),
      ),
      'Compose(\n    ToTensor()\n    halve\n)',
    );
    // a plain function in Compose is applied as is
    assertClose(T.Compose([(t: nb.Tensor) => t.mul(2)])(x), x.mul(2));
    assert.throws(
      () => T.Compose([T.ToTensor(), 3 as unknown as nb.vision.transforms.Transform]),
      /Compose: expected an array/,
    );
  },
);
