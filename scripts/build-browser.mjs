// `npm run build:browser`: the browser build, one ES module with its types, from the compiled entry
// (dist/src/index.js, so run `npm run build` first; the npm script does).
//   dist/browser/nabla.js     everything nb.* has, bundled with esbuild for platform 'browser': package.json's
//                             "browser" field swaps src/platform/node.ts for src/platform/browser.ts, so no
//                             node:* module and no Node global is in it (test/platform/browser_bundle.test.ts)
//   dist/browser/nabla.d.ts   its types: those of the Node entry, which has the same exports
//   dist/browser/worker.js    the WASM backend's pool worker (its own ES module: src/backend/wasm/load.ts starts it
//                             as new URL('./worker.js', import.meta.url), so it must sit beside nabla.js)
//   dist/browser/nabla.wasm, nabla-st.wasm   the WASM kernels (native/wasm/), fetched by nb.ready(): pass
//                             { wasmBaseUrl } = this folder's URL, and serve them as application/wasm
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'browser');
mkdirSync(out, { recursive: true });
const r = await esbuild.build({
  entryPoints: [join(root, 'dist', 'src', 'index.js')],
  outfile: join(out, 'nabla.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  metafile: true,
  logLevel: 'warning',
});
await esbuild.build({
  entryPoints: [join(root, 'dist', 'src', 'backend', 'wasm', 'worker.js')],
  outfile: join(out, 'worker.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  logLevel: 'warning',
});
for (const f of ['nabla.wasm', 'nabla-st.wasm']) copyFileSync(join(root, 'native', 'wasm', f), join(out, f));
writeFileSync(join(out, 'nabla.d.ts'), "export * from '../src/index.js';\n");
const bytes = r.metafile.outputs[Object.keys(r.metafile.outputs)[0]].bytes;
console.log(`dist/browser/nabla.js: ${(bytes / 1e6).toFixed(2)} MB, ${Object.keys(r.metafile.inputs).length} modules`);
