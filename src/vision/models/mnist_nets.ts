// Small classic MNIST networks from "Deep Learning from Scratch" (Saitoh, O'Reilly Japan), whose
// trained weights ship in ../shared/data as mnist-{mlp,simpleconvnet,deepconvnet}-dlfs.safetensors.
// Each is a PyTorch-style Module; `loadDlfs(sd)` maps the book's W1/b1... (x @ W layout) onto it.
// Input: (N, 1, 28, 28) pixels / 255 (the MLP flattens it).

import type { Tensor } from '../../tensor/tensor.js';
import { noGrad } from '../../autograd/grad_mode.js';
import { Module } from '../../nn/module.js';
import { Conv2d } from '../../nn/conv.js';
import { Linear } from '../../nn/linear.js';
import { MaxPool2d } from '../../nn/pooling.js';
import { Sequential } from '../../nn/containers.js';
import { ReLU, Sigmoid } from '../../nn/activations.js';
import { Flatten } from '../../nn/shape.js';

/** Copies the book's weights into `layers` in order: conv W (OC,C,KH,KW) as is, affine W (in,out) transposed. */
function loadBook(layers: (Conv2d | Linear)[], sd: Record<string, Tensor>, what: string): void {
  noGrad(() =>
    layers.forEach((layer, i) => {
      const w = sd[`W${i + 1}`],
        b = sd[`b${i + 1}`];
      if (!w || !b)
        throw new Error(`${what}.loadDlfs: missing W${i + 1} or b${i + 1} (keys: ${Object.keys(sd).join(', ')})`);
      const wt = layer instanceof Linear ? w.t() : w;
      if (wt.shape.join() !== layer.weight.shape.join()) {
        throw new Error(
          `${what}.loadDlfs: W${i + 1} has shape [${w.shape.join(', ')}], expected ` +
            `[${layer.weight.shape.join(', ')}]${layer instanceof Linear ? ' transposed' : ''}`,
        );
      }
      layer.weight.copy_(wt);
      layer.bias!.copy_(b);
    }),
  );
}

abstract class BookNet extends Module {
  declare net: Sequential;
  protected abstract weighted(): (Conv2d | Linear)[];
  loadDlfs(sd: Record<string, Tensor>): this {
    loadBook(this.weighted(), sd, this.constructor.name);
    return this;
  }
  // x (N, 1, 28, 28) -> logits (N, 10)
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 1 || x.shape[2] !== 28 || x.shape[3] !== 28) {
      throw new Error(`${this.constructor.name}: expected input (N, 1, 28, 28), got [${x.shape.join(', ')}]`);
    }
    return this.net.call(x) as Tensor;
  }
}

/** 784-50-100-10 with sigmoid hidden layers (93.52% with the book's weights). */
export class MnistMLP extends BookNet {
  constructor() {
    super();
    this.net = new Sequential(
      new Flatten(),
      new Linear(784, 50),
      new Sigmoid(),
      new Linear(50, 100),
      new Sigmoid(),
      new Linear(100, 10),
    );
  }
  protected weighted() {
    return [1, 3, 5].map((i) => this.net.at(i) as Linear);
  }
}

/** conv5x5(30)-relu-maxpool2-fc100-relu-fc10 (98.90%). */
export class SimpleConvNet extends BookNet {
  constructor() {
    super();
    this.net = new Sequential(
      new Conv2d(1, 30, 5),
      new ReLU(),
      new MaxPool2d(2, { stride: 2 }),
      new Flatten(),
      new Linear(4320, 100),
      new ReLU(),
      new Linear(100, 10),
    );
  }
  protected weighted() {
    return [0, 4, 6].map((i) => this.net.at(i) as Conv2d | Linear);
  }
}

/** Six 3x3 convs (16,16,32,32,64,64) with pooling, fc50, fc10 (99.38%). */
export class DeepConvNet extends BookNet {
  constructor() {
    super();
    const c = (cin: number, cout: number, padding: number) => [new Conv2d(cin, cout, 3, { padding }), new ReLU()];
    const pool = () => new MaxPool2d(2, { stride: 2 });
    this.net = new Sequential(
      ...c(1, 16, 1),
      ...c(16, 16, 1),
      pool(),
      ...c(16, 32, 1),
      ...c(32, 32, 2),
      pool(),
      ...c(32, 64, 1),
      ...c(64, 64, 1),
      pool(),
      new Flatten(),
      new Linear(1024, 50),
      new ReLU(),
      new Linear(50, 10),
    );
  }
  protected weighted() {
    return [...this.net].filter((m): m is Conv2d | Linear => m instanceof Conv2d || m instanceof Linear);
  }
}
