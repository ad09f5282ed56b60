// Test accuracy of a classifier over a dataset of [image, label] items, in eval mode and without gradients.
import * as nb from 'nabla';

export function testAccuracy(model: nb.nn.Module, test: nb.data.Dataset<[unknown, number]>, batchSize = 1000): number {
  const wasTraining = model.training;
  model.eval();
  let correct = 0;
  nb.noGrad(() => {
    for (const [x, y] of new nb.data.DataLoader(test, { batchSize }) as Iterable<[nb.Tensor, nb.Tensor]>) {
      correct += (model.call(x) as nb.Tensor).argmax(1).eq(y).sum().item();
    }
  });
  model.train(wasTraining);
  return correct / test.length;
}
