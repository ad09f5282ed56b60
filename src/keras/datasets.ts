// keras.datasets: `const [[xTrain, yTrain], [xTest, yTest]] = await keras.datasets.mnist.loadData()`.
// As in Keras, the files are downloaded once from Keras's dataset folder into ~/.keras/datasets
// (KERAS_HOME moves it): mnist.npz (sha256 checked) and Fashion-MNIST's four IDX .gz files. With
// `root`, they are read from a local folder instead (IDX files as torchvision names them, or
// prefixed as in ../shared/data: fashion-train-images-idx3-ubyte.gz) and nothing is downloaded.
// x is (N, 28, 28) with Keras's pixel values 0..255 (float32: Keras gives uint8), y is int32 (N).

import { dirname, homedir, join, process } from '../platform/node.js';
import { FashionMNIST, MNIST, type ImageClassificationDataset } from '../data/datasets.js';
import { cachedCheckpoint } from '../hub/torch_hub.js';
import { readNpzFile } from '../io/npy.js';
import { fromTypedArray } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/** Keras's dataset folder; `origin` may name a mirror of it. */
const ORIGIN = 'https://storage.googleapis.com/tensorflow/tf-keras-datasets/';
const MNIST_SHA256 = '731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1';

export type Split = [x: Tensor, y: Tensor];

export interface LoadDataOptions {
  /** A folder with the IDX files; nothing is downloaded. */
  root?: string;
  /** The cache folder (default $KERAS_HOME/datasets, KERAS_HOME defaulting to ~/.keras). */
  cacheDir?: string;
  /** A mirror of Keras's dataset folder (default Keras's own). */
  origin?: string;
  /** A progress line on stderr while downloading (default: when stderr is a terminal). */
  progress?: boolean;
}

/** $KERAS_HOME/datasets, KERAS_HOME defaulting to ~/.keras (as Keras). */
export function kerasDatasetsDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return join(env.KERAS_HOME ?? join(homedir(), '.keras'), 'datasets');
}

/**
 * keras.utils.get_file: the path of `fname` in the cache folder, downloaded from `origin` when absent
 * (atomically, through a temporary file); with `fileHash` (sha256) the download is checked.
 */
export async function getFile(
  fname: string,
  origin: string,
  opts: { cacheDir?: string; cacheSubdir?: string; fileHash?: string; progress?: boolean } = {},
): Promise<string> {
  const dir = join(opts.cacheDir ?? kerasDatasetsDir(), opts.cacheSubdir ?? '');
  try {
    return await cachedCheckpoint(origin, {
      modelDir: dir,
      fileName: fname,
      checkHash: false,
      sha256: opts.fileHash,
      progress: opts.progress,
    });
  } catch (e) {
    throw new Error(
      `keras.datasets: ${(e as Error).message.replace(/^torch\.hub: /, '')}\n` +
        `  without a network, put ${fname} in ${dir} (KERAS_HOME moves it), or pass {root} with the IDX files`,
      { cause: e },
    );
  }
}

function split(ds: ImageClassificationDataset): Split {
  const n = ds.length;
  return [
    fromTypedArray(Float32Array.from(ds.images), [n, ds.height, ds.width]),
    fromTypedArray(ds.labels.slice(), [n]),
  ];
}

/** The (x, y) pairs of mnist.npz's x_train/y_train and x_test/y_test, checked. */
export function parseMnistNpz(path: string): [Split, Split] {
  const z = readNpzFile(path);
  const get = (k: string) => {
    const r = z[k];
    if (!r) throw new Error(`keras.datasets.mnist: ${path} has no '${k}' array (has ${Object.keys(z).join(', ')})`);
    return r;
  };
  const pair = (x: string, y: string): Split => {
    const a = get(x),
      b = get(y);
    if (a.shape.length !== 3 || b.shape.length !== 1 || a.shape[0] !== b.shape[0])
      throw new Error(`keras.datasets.mnist: ${path}: ${x} ${a.shape} and ${y} ${b.shape} do not pair up`);
    return [
      fromTypedArray(Float32Array.from(a.data as ArrayLike<number>), a.shape),
      fromTypedArray(Int32Array.from(b.data as ArrayLike<number>), b.shape),
    ];
  };
  return [pair('x_train', 'y_train'), pair('x_test', 'y_test')];
}

/** keras.datasets.mnist: 60,000 training and 10,000 test digits, 28x28. */
export const mnist = {
  async loadData(opts: LoadDataOptions = {}): Promise<[Split, Split]> {
    if (opts.root !== undefined)
      return [split(MNIST({ root: opts.root, train: true })), split(MNIST({ root: opts.root, train: false }))];
    const path = await getFile('mnist.npz', (opts.origin ?? ORIGIN) + 'mnist.npz', {
      cacheDir: opts.cacheDir,
      fileHash: MNIST_SHA256,
      progress: opts.progress,
    });
    return parseMnistNpz(path);
  },
};

const FASHION_FILES = [
  'train-labels-idx1-ubyte.gz',
  'train-images-idx3-ubyte.gz',
  't10k-labels-idx1-ubyte.gz',
  't10k-images-idx3-ubyte.gz',
];

/** keras.datasets.fashion_mnist: 60,000 training and 10,000 test Zalando articles, 28x28, 10 classes. */
export const fashionMnist = {
  async loadData(opts: LoadDataOptions = {}): Promise<[Split, Split]> {
    let root = opts.root;
    if (root === undefined) {
      for (const f of FASHION_FILES) {
        const path = await getFile(f, (opts.origin ?? ORIGIN) + f, {
          cacheDir: opts.cacheDir,
          cacheSubdir: 'fashion-mnist',
          progress: opts.progress,
        });
        root = dirname(path);
      }
    }
    // NOTE: the downloads carry torchvision's raw names, so the folder loader reads (and checks) them too.
    return [split(FashionMNIST({ root: root!, train: true })), split(FashionMNIST({ root: root!, train: false }))];
  },
};
