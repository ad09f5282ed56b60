// The seed's Keras-style example, as written, on random data of the right shapes:
// 1000 samples of 32 features, labels in 0..9. Run: npm run build && node dist/examples/keras-style.js
import * as nb from 'nabla';

nb.manualSeed(0);
const xTrain = nb.randn([1000, 32]);
const yTrain = nb.randint(0, 10, [1000]);

const model = nb.keras.sequential([
  nb.keras.layers.dense({ units: 64, activation: 'relu', inputShape: [32] }),
  nb.keras.layers.dense({ units: 10, activation: 'softmax' }),
]);
model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
await model.fit(xTrain, yTrain, { epochs: 5 });
