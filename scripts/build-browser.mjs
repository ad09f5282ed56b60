// `npm run build:browser`: the browser build, one ES module with its types, from the compiled entry
// (dist/src/index.js, so run `npm run build` first; the npm script does).
//   dist/browser/nabla.js     everything nb.* has, bundled with esbuild for platform 'browser': package.json's
//                             "browser" field swaps src/platform/node.ts for src/platform/browser.ts, so no
//                             node:* module and no Node global is in it (test/platform/browser_bundle.test.ts)
//   dist/browser/nabla.d.ts   its types: those of the Node entry, which has the same exports
import { mkdirSync, writeFileSync } from 'node:fs';
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
writeFileSync(join(out, 'nabla.d.ts'), "export * from '../src/index.js';\n");
const bytes = r.metafile.outputs[Object.keys(r.metafile.outputs)[0]].bytes;
console.log(`dist/browser/nabla.js: ${(bytes / 1e6).toFixed(2)} MB, ${Object.keys(r.metafile.inputs).length} modules`);
