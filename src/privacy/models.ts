// The small CNN of the DP-SGD literature for 28x28 grey images (Papernot et al. 2021, "Tempered Sigmoid
// Activations for Deep Learning with Differential Privacy", the MNIST/Fashion-MNIST model; also TF Privacy's
// tutorial CNN): bounded tanh activations keep the per-sample gradients' norms steady under clipping.

import { Tanh } from '../nn/activations.js';
import { Sequential } from '../nn/containers.js';
import { Conv2d } from '../nn/conv.js';
import { Linear } from '../nn/linear.js';
import { MaxPool2d } from '../nn/pooling.js';
import { Flatten } from '../nn/shape.js';

/** (N, 1, 28, 28) -> (N, numClasses) logits; 26k parameters. */
export function tanhCnn(numClasses = 10): Sequential {
  return new Sequential(
    new Conv2d(1, 16, 8, { stride: 2, padding: 3 }), // -> (N, 16, 14, 14)
    new Tanh(),
    new MaxPool2d(2, { stride: 1 }), // -> (N, 16, 13, 13)
    new Conv2d(16, 32, 4, { stride: 2 }), // -> (N, 32, 5, 5)
    new Tanh(),
    new MaxPool2d(2, { stride: 1 }), // -> (N, 32, 4, 4)
    new Flatten(),
    new Linear(32 * 4 * 4, 32),
    new Tanh(),
    new Linear(32, numClasses),
  );
}
