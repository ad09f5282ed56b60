// ImageFolder: a dataset over root/<class>/<image> (torchvision.datasets.ImageFolder). Classes are
// the sub-folder names in sorted order; samples are listed once, sorted, and decoded lazily.

import { readdirSync, statSync, extname, join } from '../platform/node.js';
import { type Image, readImage } from './image.js';
import { Dataset } from '../data/dataset.js';

export const IMG_EXTENSIONS = ['.jpg', '.jpeg', '.png'];

export interface ImageFolderOptions<T> {
  /** Applied to each loaded image (default: the Image itself). */
  transform?: (img: Image) => T;
  targetTransform?: (target: number) => number;
  /** Defaults to reading the file and converting it to RGB, as torchvision's default loader does. */
  loader?: (path: string) => Image;
  extensions?: string[];
}

export class ImageFolder<T = Image> extends Dataset<[T, number]> {
  readonly classes: string[];
  readonly classToIdx: Record<string, number>;
  /** [path, class index] for every image, in sorted order. */
  readonly samples: [string, number][];
  private readonly opts: ImageFolderOptions<T>;

  constructor(
    readonly root: string,
    opts: ImageFolderOptions<T> = {},
  ) {
    super();
    this.opts = opts;
    let entries: string[];
    try {
      entries = readdirSync(root);
    } catch (e) {
      throw new Error(`ImageFolder(${root}): cannot read the folder: ${(e as Error).message}`);
    }
    this.classes = entries.filter((d) => statSync(join(root, d)).isDirectory()).sort();
    if (this.classes.length === 0) throw new Error(`ImageFolder(${root}): couldn't find any class folder`);
    this.classToIdx = Object.fromEntries(this.classes.map((c, i) => [c, i]));
    const exts = (opts.extensions ?? IMG_EXTENSIONS).map((e) => e.toLowerCase());
    this.samples = [];
    this.classes.forEach((c, i) => {
      const walk = (dir: string): void => {
        for (const f of readdirSync(dir).sort()) {
          const p = join(dir, f);
          if (statSync(p).isDirectory()) walk(p);
          else if (exts.includes(extname(f).toLowerCase())) this.samples.push([p, i]);
        }
      };
      walk(join(root, c));
    });
    if (this.samples.length === 0) {
      throw new Error(
        `ImageFolder(${root}): found no valid file in any class folder; supported extensions are ${exts.join(', ')}`,
      );
    }
  }

  get length(): number {
    return this.samples.length;
  }
  get targets(): number[] {
    return this.samples.map(([, t]) => t);
  }

  /** [transformed image, target] of sample i. */
  getItem(i: number): [T, number] {
    if (!Number.isInteger(i) || i < 0 || i >= this.samples.length) {
      throw new Error(`ImageFolder: index ${i} is out of range for ${this.samples.length} samples`);
    }
    const [path, target] = this.samples[i];
    const img = (this.opts.loader ?? ((p: string) => readImage(p, 'RGB')))(path);
    const x = this.opts.transform ? this.opts.transform(img) : (img as unknown as T);
    return [x, this.opts.targetTransform ? this.opts.targetTransform(target) : target];
  }
}
