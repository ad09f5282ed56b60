// The digits CNN written twice: with nb.keras (channels-last (N, 8, 8, 1), Keras
// initialisers) and PyTorch-style with nn modules (channels-first (N, 1, 8, 8)).
import * as nb from './nb.js';

const L = nb.keras.layers;

export function kerasDigitsCnn(): nb.keras.Sequential {
  return nb.keras.sequential([
    L.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [8, 8, 1] }),
    L.maxPooling2d({ poolSize: 2 }),
    L.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
    L.flatten(),
    L.dense({ units: 10, activation: 'softmax' }),
  ]);
}

export function torchDigitsCnn(): nb.nn.Sequential {
  const nn = nb.nn;
  return new nn.Sequential(
    new nn.Conv2d(1, 16, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.Flatten(),
    new nn.Linear(512, 10),
  );
}

/** A small classifier over 4 features, compiled with Adam and sparse categorical crossentropy. */
export function tinyClassifier(): nb.keras.Sequential {
  const m = nb.keras.sequential([
    L.dense({ units: 8, activation: 'relu', inputShape: [4] }),
    L.dense({ units: 3, activation: 'softmax' }),
  ]);
  m.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  return m;
}
