// The bundled 8x8 digits as whole tensors, split as the recipe says: the first 1500 images
// for training, the remaining 297 for testing. Images come channels-last (N, 8, 8, 1) for Keras
// layers, or channels-first (N, 1, 8, 8) for nn.Conv2d.
import * as nb from 'nabla';

export interface DigitsSplit {
  xTrain: nb.Tensor;
  yTrain: nb.Tensor;
  xTest: nb.Tensor;
  yTest: nb.Tensor;
}

function all(ds: ReturnType<typeof nb.datasets.digits>, channelsLast: boolean): [nb.Tensor, nb.Tensor] {
  const idx = Array.from({ length: ds.length }, (_, i) => i);
  const [x, y] = ds.getBatch!(idx) as unknown as [nb.Tensor, nb.Tensor];
  return [channelsLast ? x.permute(0, 2, 3, 1).contiguous() : x, y];
}

export function loadDigits(opts: { channelsLast?: boolean } = {}): DigitsSplit {
  const last = opts.channelsLast ?? true;
  const [xTrain, yTrain] = all(nb.datasets.digits({ train: true }), last);
  const [xTest, yTest] = all(nb.datasets.digits({ train: false }), last);
  return { xTrain, yTrain, xTest, yTest };
}
