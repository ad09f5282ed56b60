// The demo page: a digit drawn on a canvas is classified live by a small CNN trained here at startup
// on the 8x8 digits bundled with nabla (conv 16 -> pool -> conv 32 -> dense 10, 16k parameters,
// the `npm start` network: training takes seconds, so no weights are shipped), and stories260K
// streams a story token by token from a worker (lm_worker.js).
// `?epochs=N` trains for N epochs (default 4).
import * as nb from '/nabla.js';

const $ = (id) => document.getElementById(id);

// ---- backend indicator: the one place the demo reads which backend nabla chose ----
/** 'WASM threads (N)', 'WASM single' or 'JS', from nb.backend(). */
export function backendLabel(r) {
  if (r.name === 'wasm') return (r.threads ?? 1) > 1 ? `WASM threads (${r.threads})` : 'WASM single';
  if (r.name === 'js') return 'JS';
  return r.name;
}
// NOTE: before the first op: fetches the WASM module (served beside nabla.js) and starts its threads
const report = await nb.ready({ wasmBaseUrl: new URL('/', location.href) });
$('backend').textContent = backendLabel(report);
$('backend').title = JSON.stringify(report);
$('isolation').textContent = self.crossOriginIsolated
  ? 'cross-origin isolated: SharedArrayBuffer available'
  : 'not cross-origin isolated: no SharedArrayBuffer, one thread';

// ---- digits: training at startup ----
const EPOCHS = Number(new URLSearchParams(location.search).get('epochs') ?? 4);
let model = null;

async function trainDigits() {
  const t0 = performance.now();
  const im = nb.data.parseIdx(await nb.io.fetchBytes('/digits/images'), 'digits images');
  const lb = nb.data.parseIdx(await nb.io.fetchBytes('/digits/labels'), 'digits labels');
  nb.manualSeed(0);
  // x (N, 8, 8, 1) in [0, 1], y (N) int32; the first 1500 train, the other 297 test (as npm start)
  const x = nb.tensor(Float32Array.from(im.data, (v) => v / 16)).reshape([im.shape[0], 8, 8, 1]);
  const y = nb.tensor(Int32Array.from(lb.data));
  const L = nb.keras.layers;
  const m = nb.keras.sequential([
    L.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [8, 8, 1] }),
    L.maxPooling2d({ poolSize: 2 }),
    L.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
    L.flatten(),
    L.dense({ units: 10, activation: 'softmax' }),
  ]);
  m.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const status = $('digit-status');
  await m.fit(x.slice(0, 0, 1500), y.slice(0, 0, 1500), {
    epochs: EPOCHS,
    batchSize: 32,
    verbose: 0,
    callbacks: [
      {
        onEpochEnd: (e, logs) => {
          status.textContent = `training: epoch ${e + 1}/${EPOCHS}, accuracy ${(100 * logs.accuracy).toFixed(1)}%`;
        },
      },
    ],
  });
  const [, acc] = await m.evaluate(x.slice(0, 1500), y.slice(0, 1500), { verbose: 0 });
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  status.textContent =
    `trained ${EPOCHS} epochs in ${s} s: ${(100 * acc).toFixed(1)}% on the 297 held-out digits. ` +
    'Draw a digit, filling the box.';
  status.dataset.trained = 'true';
  model = m;
  classify();
}

// ---- digits: drawing ----
const pad = $('pad');
const ctx = pad.getContext('2d', { willReadFrequently: true });
function clearPad() {
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, pad.width, pad.height);
  $('label').textContent = '';
  $('bars').textContent = '';
  $('label').dataset.label = '';
}
clearPad();
let drawing = false;
let last = null;
pad.addEventListener('pointerdown', (e) => {
  drawing = true;
  last = [e.offsetX, e.offsetY];
  pad.setPointerCapture(e.pointerId);
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = 20;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.beginPath();
  ctx.moveTo(...last);
  ctx.lineTo(e.offsetX, e.offsetY);
  ctx.stroke();
  last = [e.offsetX, e.offsetY];
});
pad.addEventListener('pointerup', () => {
  drawing = false;
  classify();
});
$('clear').addEventListener('click', clearPad);

/**
 * The drawing as the digits dataset has its images: the ink's bounding box, made square and centred,
 * cut into 8x8 cells, each the fraction of ink in it (the dataset counts ink in 4x4 blocks of 32x32
 * bitmaps, 0..16, which /16 also gives). Returns null for an empty pad. -> (64) in [0, 1]
 */
function toDigitPixels() {
  const { data, width: W, height: H } = ctx.getImageData(0, 0, pad.width, pad.height);
  let x0 = W,
    y0 = H,
    x1 = -1,
    y1 = -1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (data[4 * (y * W + x)] > 127) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return null;
  const side = Math.max(x1 - x0, y1 - y0) + 1;
  const cx = (x0 + x1) / 2,
    cy = (y0 + y1) / 2;
  const out = new Float32Array(64);
  for (let i = 0; i < 8; i++) {
    for (let j = 0; j < 8; j++) {
      let ink = 0,
        n = 0;
      for (let v = 0; v < 4; v++) {
        for (let u = 0; u < 4; u++) {
          const x = Math.floor(cx - side / 2 + ((j * 4 + u + 0.5) * side) / 32);
          const y = Math.floor(cy - side / 2 + ((i * 4 + v + 0.5) * side) / 32);
          n++;
          if (x >= 0 && y >= 0 && x < W && y < H && data[4 * (y * W + x)] > 127) ink++;
        }
      }
      out[i * 8 + j] = ink / n;
    }
  }
  return out;
}

function classify() {
  if (!model) return;
  const px = toDigitPixels();
  if (!px) return;
  const pv = $('preview').getContext('2d');
  const img = pv.createImageData(8, 8);
  px.forEach((v, i) => {
    img.data.set([255 * v, 255 * v, 255 * v, 255], 4 * i);
  });
  pv.putImageData(img, 0, 0);
  const probs = nb.noGrad(() => model.predict(nb.tensor(px).reshape([1, 8, 8, 1]))).toTypedArray(); // (10)
  let best = 0;
  for (let k = 1; k < 10; k++) if (probs[k] > probs[best]) best = k;
  $('label').textContent = String(best);
  $('label').dataset.label = String(best);
  $('bars').innerHTML = Array.from(
    probs,
    (p, k) =>
      `<div>${k} <span class="bar" style="width:${Math.round(120 * p)}px"></span> ${(100 * p).toFixed(0)}%</div>`,
  ).join('');
}

trainDigits().catch((e) => {
  $('digit-status').textContent = `training failed: ${e.message}`;
});

// ---- the story: a worker runs stories260K ----
const worker = new Worker('/lm_worker.js', { type: 'module' });
const story = $('story');
const lmStatus = $('lm-status');
worker.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === 'ready') {
    lmStatus.textContent = `stories260K loaded (${(m.params / 1000).toFixed(0)}k parameters). Type a prompt.`;
    $('go').disabled = false;
  } else if (m.type === 'missing') {
    lmStatus.textContent =
      'stories260K is not there: put stories260K.bin and tok512.bin (karpathy/llama2.c, the Hugging Face repo ' +
      'karpathy/tinyllamas) in ../shared/data next to the repository, or start the demo with ' +
      `NABLA_DEMO_DATA=/folder npm run demo. (${m.message})`;
    lmStatus.dataset.missing = 'true';
  } else if (m.type === 'token') {
    story.append(m.text);
    story.dataset.tokens = String(Number(story.dataset.tokens ?? 0) + 1);
  } else if (m.type === 'done') {
    story.append(m.text);
    const rate = (m.tokens / m.seconds).toFixed(0);
    lmStatus.textContent = `${m.tokens} tokens in ${m.seconds.toFixed(2)} s (${rate} tokens/s)`;
    story.dataset.done = 'true';
    $('go').disabled = false;
  }
};
$('go').addEventListener('click', () => {
  const prompt = $('prompt').value;
  story.textContent = '';
  const b = document.createElement('span');
  b.className = 'prompt';
  b.textContent = prompt;
  story.append(b);
  story.dataset.tokens = '0';
  story.dataset.done = 'false';
  $('go').disabled = true;
  lmStatus.textContent = 'generating…';
  worker.postMessage({
    prompt,
    maxNewTokens: Number($('ntok').value),
    temperature: Number($('temp').value),
    seed: Math.floor(Math.random() * 2 ** 31),
  });
});
