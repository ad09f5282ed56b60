// torchvision-style transforms. Geometric transforms take an Image (8-bit, PIL semantics, as
// torchvision applies them to PIL images) or a (C, H, W) float tensor; ToTensor turns an Image into
// a tensor, Normalize works on tensors. Random transforms draw from nb's seeded default generator
// (or a Generator passed in).
// Every transform is called one way or the other, as a function or as a module is:
//   t(x)  ===  t.call(x)  ===  t.forward(x)        and String(t) is torchvision's repr, 'Resize(size=256)'.

import { Tensor } from '../tensor/tensor.js';
import { fromTypedArray, tensor } from '../tensor/creation.js';
import { type Generator, defaultGenerator } from '../tensor/random.js';
import { Image } from './image.js';
import { resamplePlanes } from './resample.js';
// Python's round() (half to even), which torchvision's crop offsets use
import { roundHalfEven } from '../util/math.js';

export type Input = Image | Tensor;
// biome-ignore lint/suspicious/noExplicitAny: Compose chains transforms of different types, so the default is untyped
export type Transform<I = any, O = any> = (x: I) => O;

/** A transform made here: a function that also answers to nn.Module's call(x) and forward(x). */
// biome-ignore lint/suspicious/noExplicitAny: as Transform
export interface TransformModule<I = any, O = any> {
  (x: I): O;
  /** As for an nn.Module: the transform applied to x (not Function.prototype.call). */
  call(x: I): O;
  forward(x: I): O;
  /** torchvision's repr: 'Resize(size=256)'. */
  readonly repr: string;
}

function transform<I, O>(repr: string, fn: (x: I) => O): TransformModule<I, O> {
  const t = ((x: I) => fn(x)) as TransformModule<I, O>;
  for (const k of ['call', 'forward'] as const) Object.defineProperty(t, k, { value: (x: I) => fn(x) });
  Object.defineProperty(t, 'repr', { value: repr });
  Object.defineProperty(t, 'toString', { value: () => repr });
  return t;
}

/** A value in torchvision's repr style: [256, 256], 0.5. */
function show(v: unknown): string {
  return Array.isArray(v) ? `[${v.map(show).join(', ')}]` : String(v);
}

function dims(x: Input): [number, number, number] {
  if (x instanceof Image) return [x.channels, x.height, x.width];
  if (!(x instanceof Tensor) || x.ndim !== 3) {
    throw new Error(
      `transforms: expected an Image or a (C, H, W) tensor, got ` +
        `${x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : typeof x}`,
    );
  }
  return [x.shape[0], x.shape[1], x.shape[2]];
}

function planes(img: Image): Uint8Array {
  const { width: W, height: H } = img,
    C = img.channels;
  const out = new Uint8Array(C * H * W);
  for (let i = 0; i < H * W; i++) for (let c = 0; c < C; c++) out[c * H * W + i] = img.data[i * C + c];
  return out;
}

function fromPlanes(p: Float32Array, like: Image, H: number, W: number): Image {
  const C = like.channels;
  const out = new Uint8Array(C * H * W);
  for (let i = 0; i < H * W; i++) for (let c = 0; c < C; c++) out[i * C + c] = p[c * H * W + i];
  return new Image(W, H, like.mode, out);
}

/** Resizes to exactly (h, w) with an antialiased bilinear filter. */
export function resizeTo(x: Input, h: number, w: number): Input {
  const [C, H, W] = dims(x);
  if (h === H && w === W) return x;
  if (x instanceof Image) return fromPlanes(resamplePlanes(planes(x), C, H, W, h, w, true), x, h, w);
  const src = x.to('float32').contiguous().toTypedArray() as Float32Array;
  return fromTypedArray(resamplePlanes(src, C, H, W, h, w, false), [C, h, w]);
}

/** Crops the box (top, left, height, width); parts outside the input are zero (torchvision pads). */
export function crop(x: Input, top: number, left: number, height: number, width: number): Input {
  const [C, H, W] = dims(x);
  if (x instanceof Image) {
    const out = new Uint8Array(height * width * C);
    for (let y = 0; y < height; y++)
      for (let xx = 0; xx < width; xx++) {
        const sy = top + y,
          sx = left + xx;
        if (sy < 0 || sy >= H || sx < 0 || sx >= W) continue;
        for (let c = 0; c < C; c++) out[(y * width + xx) * C + c] = x.data[(sy * W + sx) * C + c];
      }
    return new Image(width, height, x.mode, out);
  }
  const inside = top >= 0 && left >= 0 && top + height <= H && left + width <= W;
  return inside ? x.slice(1, top, top + height).slice(2, left, left + width) : padTensor(x, top, left, height, width);
}

function padTensor(x: Tensor, top: number, left: number, height: number, width: number): Tensor {
  const [C, H, W] = x.shape;
  const src = x.contiguous().toTypedArray();
  const out = new Float32Array(C * height * width);
  for (let c = 0; c < C; c++)
    for (let y = 0; y < height; y++)
      for (let xx = 0; xx < width; xx++) {
        const sy = top + y,
          sx = left + xx;
        if (sy >= 0 && sy < H && sx >= 0 && sx < W) out[(c * height + y) * width + xx] = src[(c * H + sy) * W + sx];
      }
  return fromTypedArray(out, [C, height, width]);
}

/** Resize(size): an int resizes the shorter side (keeping the aspect ratio); [h, w] resizes exactly. */
export function Resize(
  size: number | [number, number],
  opts: { maxSize?: number } = {},
): TransformModule<Input, Input> {
  const repr = `Resize(size=${show(size)}${opts.maxSize !== undefined ? `, max_size=${opts.maxSize}` : ''})`;
  return transform(repr, (x: Input) => {
    const [, H, W] = dims(x);
    if (Array.isArray(size)) return resizeTo(x, size[0], size[1]);
    const short = Math.min(H, W),
      long = Math.max(H, W);
    let newShort = size,
      newLong = Math.trunc((size * long) / short);
    if (opts.maxSize !== undefined && newLong > opts.maxSize) {
      newShort = Math.trunc((opts.maxSize * newShort) / newLong);
      newLong = opts.maxSize;
    }
    return W <= H ? resizeTo(x, newLong, newShort) : resizeTo(x, newShort, newLong);
  });
}

export function CenterCrop(size: number | [number, number]): TransformModule<Input, Input> {
  const [th, tw] = Array.isArray(size) ? size : [size, size];
  return transform(`CenterCrop(size=${show([th, tw])})`, (x: Input) => {
    const [, H, W] = dims(x);
    return crop(x, roundHalfEven((H - th) / 2), roundHalfEven((W - tw) / 2), th, tw);
  });
}

/** Image (H, W, C) uint8 -> (C, H, W) float32 in [0, 1]. Tensors pass through. */
export function ToTensor(): TransformModule<Input, Tensor> {
  return transform('ToTensor()', (x: Input) => (x instanceof Image ? x.toTensor() : x));
}

/** (x - mean) / std per channel on a (C, H, W) tensor. */
export function Normalize(mean: readonly number[], std: readonly number[]): TransformModule<Tensor, Tensor> {
  if (std.some((s) => s === 0))
    throw new Error(`Normalize: std evaluated to zero, leading to division by zero (std ${JSON.stringify(std)})`);
  const m = tensor([...mean]).reshape([-1, 1, 1]),
    s = tensor([...std]).reshape([-1, 1, 1]);
  return transform(`Normalize(mean=${show([...mean])}, std=${show([...std])})`, (x: Tensor) => {
    if (!(x instanceof Tensor)) throw new Error('Normalize: expected a tensor; apply ToTensor() first');
    if (x.ndim < 3 || (x.shape[x.ndim - 3] !== mean.length && mean.length !== 1)) {
      throw new Error(`Normalize: ${mean.length} channel means for a tensor of shape [${x.shape.join(', ')}]`);
    }
    return x.sub(m).div(s);
  });
}

/** Applies the transforms in order; they may be transforms from here or any functions. */
export function Compose(ts: Transform[]): TransformModule {
  if (!Array.isArray(ts) || ts.some((t) => typeof t !== 'function'))
    throw new Error('Compose: expected an array of transforms (functions), e.g. Compose([Resize(256), ToTensor()])');
  const lines = ts.map((t) => `    ${(t as Partial<TransformModule>).repr ?? (t.name || 'function')}\n`);
  const repr = `Compose(\n${lines.join('')})`;
  return transform(repr, (x: unknown) => ts.reduce((acc, t) => t(acc), x));
}

export function RandomHorizontalFlip(p = 0.5, gen?: Generator): TransformModule<Input, Input> {
  return transform(`RandomHorizontalFlip(p=${p})`, (x: Input) =>
    (gen ?? defaultGenerator()).random() < p ? hflip(x) : x,
  );
}

export function hflip(x: Input): Input {
  if (x instanceof Tensor) return x.flip([-1]);
  const { width: W, height: H } = x,
    C = x.channels;
  const out = new Uint8Array(x.data.length);
  for (let y = 0; y < H; y++)
    for (let xx = 0; xx < W; xx++)
      for (let c = 0; c < C; c++) {
        out[(y * W + xx) * C + c] = x.data[(y * W + (W - 1 - xx)) * C + c];
      }
  return new Image(W, H, x.mode, out);
}

/** Crops a random area (scale of the image, aspect ratio in ratio) and resizes it to size. */
export function RandomResizedCrop(
  size: number | [number, number],
  opts: { scale?: [number, number]; ratio?: [number, number]; generator?: Generator } = {},
): TransformModule<Input, Input> {
  const [oh, ow] = Array.isArray(size) ? size : [size, size];
  const scale = opts.scale ?? [0.08, 1],
    ratio = opts.ratio ?? [3 / 4, 4 / 3];
  const repr =
    `RandomResizedCrop(size=${show([oh, ow])}, scale=${show(scale)}, ` +
    `ratio=${show(ratio.map((r) => +r.toFixed(4)))})`;
  return transform(repr, (x: Input) => {
    const g = opts.generator ?? defaultGenerator();
    const [, H, W] = dims(x);
    const area = H * W;
    const logr = [Math.log(ratio[0]), Math.log(ratio[1])];
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = area * (scale[0] + (scale[1] - scale[0]) * g.random());
      const aspect = Math.exp(logr[0] + (logr[1] - logr[0]) * g.random());
      const w = roundHalfEven(Math.sqrt(target * aspect)),
        h = roundHalfEven(Math.sqrt(target / aspect));
      if (w > 0 && w <= W && h > 0 && h <= H) {
        const i = g.randint(0, H - h + 1),
          j = g.randint(0, W - w + 1);
        return resizeTo(crop(x, i, j, h, w), oh, ow);
      }
    }
    // fallback: a central crop with the ratio clamped into range
    const inRatio = W / H;
    let w = W,
      h = H;
    if (inRatio < ratio[0]) {
      w = W;
      h = roundHalfEven(w / ratio[0]);
    } else if (inRatio > ratio[1]) {
      h = H;
      w = roundHalfEven(h * ratio[1]);
    }
    return resizeTo(crop(x, Math.trunc((H - h) / 2), Math.trunc((W - w) / 2), h, w), oh, ow);
  });
}

/** Random brightness, contrast, saturation and hue changes, applied in a random order (tensor math in [0, 1]). */
export function ColorJitter(
  opts: { brightness?: number; contrast?: number; saturation?: number; hue?: number; generator?: Generator } = {},
): TransformModule<Input, Input> {
  const range = (v: number | undefined, center: number, lo: number): [number, number] | null =>
    v ? [Math.max(lo, center - v), center + v] : null;
  const b = range(opts.brightness, 1, 0),
    c = range(opts.contrast, 1, 0),
    s = range(opts.saturation, 1, 0);
  const h: [number, number] | null = opts.hue ? [-opts.hue, opts.hue] : null;
  if (opts.hue !== undefined && (opts.hue < 0 || opts.hue > 0.5))
    throw new Error(`ColorJitter: hue must be in [0, 0.5], got ${opts.hue}`);
  const f = (r: [number, number] | null) => (r ? show(r) : 'None');
  const repr = `ColorJitter(brightness=${f(b)}, contrast=${f(c)}, saturation=${f(s)}, hue=${f(h)})`;
  return transform(repr, (x: Input) => {
    const g = opts.generator ?? defaultGenerator();
    const wasImage = x instanceof Image;
    let t = x instanceof Image ? x.toTensor() : x;
    const pick = (r: [number, number]) => r[0] + (r[1] - r[0]) * g.random();
    for (const k of g.permutation(4)) {
      if (k === 0 && b) t = t.mul(pick(b)).clamp(0, 1);
      if (k === 1 && c) {
        const f = pick(c);
        const m = grayscale(t).mean();
        t = t
          .mul(f)
          .add(m.mul(1 - f))
          .clamp(0, 1);
      }
      if (k === 2 && s) {
        const f = pick(s);
        t = t
          .mul(f)
          .add(grayscale(t).mul(1 - f))
          .clamp(0, 1);
      }
      if (k === 3 && h) t = shiftHue(t, pick(h));
    }
    return wasImage ? Image.fromTensor(t) : t;
  });
}

function grayscale(t: Tensor): Tensor {
  if (t.shape[0] === 1) return t;
  const [r, g, b] = t.unbind(0);
  return r.mul(0.299).add(g.mul(0.587)).add(b.mul(0.114)).unsqueeze(0);
}

function shiftHue(t: Tensor, shift: number): Tensor {
  if (t.shape[0] !== 3) return t;
  const [, H, W] = t.shape;
  const v = t.contiguous().toTypedArray();
  const out = new Float32Array(v.length);
  const n = H * W;
  for (let i = 0; i < n; i++) {
    const r = v[i],
      g = v[n + i],
      b = v[2 * n + i];
    const mx = Math.max(r, g, b),
      mn = Math.min(r, g, b),
      d = mx - mn;
    let hh = 0;
    if (d > 0) hh = mx === r ? ((g - b) / d) % 6 : mx === g ? (b - r) / d + 2 : (r - g) / d + 4;
    hh = (((hh / 6 + shift) % 1) + 1) % 1;
    const sat = mx === 0 ? 0 : d / mx;
    const [rr, gg, bb] = hsvToRgb(hh, sat, mx);
    out[i] = rr;
    out[n + i] = gg;
    out[2 * n + i] = bb;
  }
  return fromTypedArray(out, [3, H, W]);
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6),
    f = h * 6 - i;
  const p = v * (1 - s),
    q = v * (1 - s * f),
    t = v * (1 - s * (1 - f));
  switch (i % 6) {
    case 0:
      return [v, t, p];
    case 1:
      return [q, v, p];
    case 2:
      return [p, v, t];
    case 3:
      return [p, q, v];
    case 4:
      return [t, p, v];
    default:
      return [v, p, q];
  }
}
