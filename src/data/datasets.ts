// Ready-made datasets in the style of torchvision's root-folder loaders (nb.datasets):
//   digits()        scikit-learn's 8x8 digits, bundled with nabla (data/digits/, see its LICENSE.md)
//   MNIST, FashionMNIST   IDX files (gzip or not) from a root folder; nothing is downloaded
// Items are [image, label]: image float32 (1, H, W) scaled into [0, 1] (or whatever `transform`
// returns), label a number, so the default collate makes int32 labels (B).

import { existsSync, dirname, join, resolve, fileURLToPath } from '../platform/node.js';
import type { Tensor } from '../tensor/tensor.js';
import { Dataset, checkIndex } from './dataset.js';
import { readIdx } from './idx.js';
import { fromBuffer } from './util.js';

export type Transform<T = unknown> = (x: Tensor) => T;

/** uint8 images (N, H, W) and labels (N), converted to float32 (1, H, W) / scale on access. */
export class ImageClassificationDataset extends Dataset<[unknown, number]> {
  constructor(
    /** Raw pixels, N*H*W bytes, row-major. */
    readonly images: Uint8Array,
    readonly labels: Int32Array,
    readonly height: number,
    readonly width: number,
    /** Pixels are divided by this (255 for MNIST, 16 for the digits). */
    readonly scale: number,
    readonly classes: readonly string[],
    readonly transform?: Transform,
    readonly targetTransform?: (y: number) => unknown,
  ) {
    super();
    if (images.length !== labels.length * height * width) {
      throw new Error(
        `${this.constructor.name}: ${labels.length} labels but ${images.length / (height * width)} images of ` +
          `${height}x${width}`,
      );
    }
    // NOTE: the fast batch path applies only without transforms, so it matches collating items.
    if (transform || targetTransform) this.getBatch = undefined;
  }

  get length(): number {
    return this.labels.length;
  }

  /** Labels as an int32 tensor (N), like torchvision's `targets`. */
  get targets(): Tensor {
    return fromBuffer(this.labels.slice(), [this.labels.length], 'int32');
  }

  private pixels(indices: readonly number[]): Tensor {
    const hw = this.height * this.width;
    const out = new Float32Array(indices.length * hw);
    const s = 1 / this.scale;
    indices.forEach((i, k) => {
      const src = this.images.subarray(i * hw, (i + 1) * hw);
      for (let j = 0; j < hw; j++) out[k * hw + j] = src[j] * s;
    });
    return fromBuffer(out, [indices.length, 1, this.height, this.width], 'float32');
  }

  getItem(index: number): [unknown, number] {
    const i = checkIndex(index, this.length, this.constructor.name);
    const img = this.pixels([i]).squeeze(0);
    const y = this.labels[i];
    return [this.transform ? this.transform(img) : img, (this.targetTransform ? this.targetTransform(y) : y) as number];
  }

  /** [images float32 (B, 1, H, W), labels int32 (B)]. */
  override getBatch?(indices: readonly number[]): [Tensor, Tensor] {
    const idx = indices.map((i) => checkIndex(i, this.length, this.constructor.name));
    const y = Int32Array.from(idx, (i) => this.labels[i]);
    return [this.pixels(idx), fromBuffer(y, [y.length], 'int32')];
  }
}

/** Walks up from this module to the package root holding data/digits (works from src/ and dist/). */
export function bundledDigitsRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let k = 0; k < 6; k++) {
    const cand = join(dir, 'data', 'digits');
    if (existsSync(join(cand, 'digits-images-idx3-ubyte'))) return cand;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(
    'digits: cannot find the bundled data/digits folder above ' +
      dirname(fileURLToPath(import.meta.url)) +
      '; pass {root}',
  );
}

export interface DigitsOptions {
  /** Folder with digits-images-idx3-ubyte and digits-labels-idx1-ubyte; default the bundled copy. */
  root?: string;
  /** true: the first 1500 images; false: the remaining 297; omitted: all 1797. */
  train?: boolean;
  transform?: Transform;
  targetTransform?: (y: number) => unknown;
}

/** Number of digits in the conventional training split (the recipe: train on the first 1500). */
export const DIGITS_TRAIN_SIZE = 1500;

/**
 * scikit-learn's 8x8 handwritten digits (UCI; 1797 images, 10 classes, pixels 0..16 scaled to
 * [0, 1] by /16), in sklearn.datasets.load_digits() order. Class counts:
 * 178, 182, 177, 183, 181, 182, 181, 179, 174, 180.
 * @example const train = nb.datasets.digits({train: true}); const [x, y] = train.getItem(0); // x (1,8,8)
 */
export function digits(opts: DigitsOptions = {}): ImageClassificationDataset {
  const root = opts.root ?? bundledDigitsRoot();
  const imgs = readIdx(findFile(root, ['digits-images-idx3-ubyte', 'digits-images-idx3-ubyte.gz'], 'digits'));
  const labs = readIdx(findFile(root, ['digits-labels-idx1-ubyte', 'digits-labels-idx1-ubyte.gz'], 'digits'));
  checkImagesLabels(imgs.shape, labs.shape, imgs.type, labs.type, 'digits');
  const [n, h, w] = imgs.shape;
  let lo = 0,
    hi = n;
  if (opts.train === true) hi = Math.min(DIGITS_TRAIN_SIZE, n);
  else if (opts.train === false) lo = Math.min(DIGITS_TRAIN_SIZE, n);
  return new ImageClassificationDataset(
    (imgs.data as Uint8Array).slice(lo * h * w, hi * h * w),
    Int32Array.from((labs.data as Uint8Array).subarray(lo, hi)),
    h,
    w,
    16,
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    opts.transform,
    opts.targetTransform,
  );
}

function findFile(root: string, names: string[], what: string): string {
  const tried: string[] = [];
  for (const nm of names) {
    const p = resolve(root, nm);
    tried.push(p);
    if (existsSync(p)) return p;
  }
  throw new Error(`${what}: none of these files exist:\n  ${tried.join('\n  ')}`);
}

function checkImagesLabels(img: number[], lab: number[], it: string, lt: string, what: string): void {
  if (img.length !== 3 || it !== 'uint8')
    throw new Error(`${what}: expected uint8 images of shape (N, H, W), got ${it} [${img.join(', ')}]`);
  if (lab.length !== 1 || lt !== 'uint8')
    throw new Error(`${what}: expected uint8 labels of shape (N), got ${lt} [${lab.join(', ')}]`);
  if (img[0] !== lab[0]) throw new Error(`${what}: ${img[0]} images but ${lab[0]} labels`);
}

export interface MNISTOptions {
  /** The folder with the IDX files (also searched: root/MNIST/raw or root/FashionMNIST/raw). */
  root: string;
  /** Training set (default) or test set (t10k). */
  train?: boolean;
  transform?: Transform;
  targetTransform?: (y: number) => unknown;
  /** Must be false: nabla never downloads; put the files in root. */
  download?: boolean;
}

const MNIST_CLASSES = [
  '0 - zero',
  '1 - one',
  '2 - two',
  '3 - three',
  '4 - four',
  '5 - five',
  '6 - six',
  '7 - seven',
  '8 - eight',
  '9 - nine',
];
export const FASHION_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

function loadMnistLike(
  opts: MNISTOptions,
  kind: 'MNIST' | 'FashionMNIST',
  prefix: string,
  classes: string[],
): ImageClassificationDataset {
  if (!opts || typeof opts.root !== 'string')
    throw new Error(`${kind}: expected options with a root folder, e.g. ${kind}({root: 'data'})`);
  if (opts.download) throw new Error(`${kind}: download is not supported; put the IDX files in ${opts.root}`);
  const split = opts.train === false ? 't10k' : 'train';
  const dirs = [opts.root, join(opts.root, kind, 'raw'), join(opts.root, kind)];
  const candidates = (base: string) =>
    dirs.flatMap((d) => [base, `${prefix}-${base}`].flatMap((b) => [join(d, b), join(d, `${b}.gz`)]));
  const find = (base: string) => {
    const c = candidates(base);
    const hit = c.find((p) => existsSync(p));
    if (!hit)
      throw new Error(
        `${kind}: cannot find the ${split} ${base.includes('images') ? 'images' : 'labels'}; looked for:\n  ` +
          `${c.join('\n  ')}`,
      );
    return hit;
  };
  const imgs = readIdx(find(`${split}-images-idx3-ubyte`));
  const labs = readIdx(find(`${split}-labels-idx1-ubyte`));
  checkImagesLabels(imgs.shape, labs.shape, imgs.type, labs.type, kind);
  return new ImageClassificationDataset(
    imgs.data as Uint8Array,
    Int32Array.from(labs.data as Uint8Array),
    imgs.shape[1],
    imgs.shape[2],
    255,
    classes,
    opts.transform,
    opts.targetTransform,
  );
}

/**
 * MNIST from IDX files in `root`: torchvision's raw names (train-images-idx3-ubyte[.gz], ...)
 * or prefixed ones (mnist-t10k-images-idx3-ubyte.gz). Images float32 (1, 28, 28) in [0, 1].
 */
export function MNIST(opts: MNISTOptions): ImageClassificationDataset {
  return loadMnistLike(opts, 'MNIST', 'mnist', MNIST_CLASSES);
}

/** Fashion-MNIST, as MNIST (prefixed names: fashion-train-images-idx3-ubyte.gz, ...). */
export function FashionMNIST(opts: MNISTOptions): ImageClassificationDataset {
  return loadMnistLike(opts, 'FashionMNIST', 'fashion', FASHION_CLASSES);
}
