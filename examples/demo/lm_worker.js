// The story part's worker: stories260K (llama2.c) and its tokenizer, fetched from the demo server,
// generating in a worker so the page stays live; every new token is posted as soon as it exists.
import * as nb from '/nabla.js';

let model = null;
let tok = null;

async function load() {
  try {
    await nb.ready({ wasmBaseUrl: new URL('/', location.href) });
    const [m, t] = await Promise.all([nb.io.fetchBytes('/data/stories260K.bin'), nb.io.fetchBytes('/data/tok512.bin')]);
    model = nb.models.LlamaForCausalLM.fromLlama2c(m);
    tok = nb.text.LlamaTokenizer.fromLlama2c(t, model.config.vocabSize);
    const params = model.parameters().reduce((n, p) => n + p.numel(), 0);
    postMessage({ type: 'ready', params, backend: nb.backend().name });
  } catch (e) {
    postMessage({ type: 'missing', message: String(e.message ?? e), status: e.status ?? null });
  }
}

self.onmessage = (ev) => {
  const { prompt, maxNewTokens, temperature, seed } = ev.data;
  const ids = tok.encode(prompt);
  const stream = new nb.text.TextStreamer(tok, { promptIds: ids });
  const t0 = performance.now();
  let n = 0;
  model.generate([ids], {
    maxNewTokens,
    doSample: temperature > 0,
    temperature: temperature > 0 ? temperature : 1,
    topP: 0.9,
    seed,
    streamer: (id) => {
      n++;
      postMessage({ type: 'token', id, text: stream.push(id) });
    },
  });
  postMessage({ type: 'done', text: stream.flush(), tokens: n, seconds: (performance.now() - t0) / 1000 });
};

load();
