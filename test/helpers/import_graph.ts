// The import graph of src/ and the layering rules it must keep (test/layers.test.ts states them).
// Imports are read with the TypeScript parser (static, type-only, export-from, side-effect and
// dynamic import()), and relative specifiers are resolved to src-relative paths ('ops/conv.ts').

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export interface ImportEdge {
  /** Importing file, relative to src/ with '/' separators: 'ops/conv.ts'. */
  from: string;
  /** Imported file, same form; a specifier that leaves src/ keeps its '../' prefix. */
  to: string;
  typeOnly: boolean;
  dynamic: boolean;
}

export interface Violation {
  from: string;
  to: string;
  rule: string;
}

/** An allowed upward import: `from` and `to` are src-relative paths; `to` may end in '/*' (a directory). */
export interface Exception {
  from: string;
  to: string;
  why: string;
}

/** Module specifiers a source imports, each with whether it is type-only or dynamic; comments and strings are not. */
export function importsOf(source: string, fileName = 'x.ts'): { spec: string; typeOnly: boolean; dynamic: boolean }[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: { spec: string; typeOnly: boolean; dynamic: boolean }[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const clause = n.importClause;
      const typeOnly =
        !!clause &&
        (clause.isTypeOnly ||
          (!clause.name &&
            !!clause.namedBindings &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      out.push({ spec: n.moduleSpecifier.text, typeOnly, dynamic: false });
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      out.push({ spec: n.moduleSpecifier.text, typeOnly: n.isTypeOnly, dynamic: false });
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const a = n.arguments[0];
      if (a && ts.isStringLiteralLike(a)) out.push({ spec: a.text, typeOnly: false, dynamic: true });
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      out.push({ spec: n.argument.literal.text, typeOnly: true, dynamic: false });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** Resolves a relative specifier from a src-relative file: 'ops/conv.ts' + '../tensor/a.js' -> 'tensor/a.ts'. */
export function resolveSpec(from: string, spec: string): string {
  const p = posix.normalize(posix.join(posix.dirname(from), spec));
  return p.endsWith('.js') ? p.slice(0, -3) + '.ts' : p;
}

/** Every relative import of every .ts file under srcDir. */
export function readImportGraph(srcDir: string): ImportEdge[] {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) files.push(p);
    }
  };
  walk(srcDir);
  const edges: ImportEdge[] = [];
  for (const f of files.sort()) {
    const from = relative(srcDir, f).split(sep).join('/');
    for (const i of importsOf(readFileSync(f, 'utf8'), f)) {
      if (!i.spec.startsWith('.')) continue;
      edges.push({ from, to: resolveSpec(from, i.spec), typeOnly: i.typeOnly, dynamic: i.dynamic });
    }
  }
  return edges;
}

/**
 * Layers from the bottom up: a file may import its own layer or a lower one. Layers of equal rank
 * (optim, data, io, text; keras, models, vision) do not import each other.
 */
export const LAYERS: readonly { name: string; rank: number }[] = [
  { name: 'util', rank: 0 },
  { name: 'platform', rank: 0 }, // Node services (fs, path, zlib...); a browser bundle swaps node.ts for browser.ts
  { name: 'tensor', rank: 1 },
  { name: 'autograd', rank: 2 },
  { name: 'backend', rank: 3 }, // the seam: backend.ts, op_codes.ts, registry.ts; selection: native_init.ts, select.ts
  { name: 'backend/js', rank: 3.5 },
  { name: 'backend/native', rank: 3.5 },
  { name: 'backend/wasm', rank: 3.75 }, // the native kernels compiled to WebAssembly, over NativeBackend
  { name: 'ops', rank: 4 },
  { name: 'distributed', rank: 4.5 }, // nb.distributed (MPI): tensors in, below nn's DistributedDataParallel
  { name: 'nn', rank: 5 },
  { name: 'optim', rank: 6 },
  { name: 'data', rank: 6 },
  { name: 'io', rank: 6 },
  { name: 'text', rank: 6 },
  { name: 'hub', rank: 6.5 }, // Hugging Face Hub downloads: above io (atomic writes), below models and vision
  { name: 'privacy', rank: 6.5 }, // nb.privacy: DP-SGD over nn, optim and data; the accountant
  { name: 'keras', rank: 7 },
  { name: 'models', rank: 7 },
  { name: 'vision', rank: 7 },
  { name: 'plot', rank: 7.2 }, // PNG figures: above vision (PNG encoding)
  { name: 'tensorboard', rank: 7.3 }, // SummaryWriter, the Keras TensorBoard callback
  { name: 'audio', rank: 7 }, // nb.audio: WAV, FFT, STFT, torchaudio transforms, CTC; speech models
  { name: 'pipelines', rank: 7.5 }, // pipeline(task, model): models and vision together
  { name: 'explain', rank: 7.6 }, // attributions over models; overlays through plot
  { name: 'cli', rank: 8 },
  { name: 'entry', rank: 9 }, // src/index.ts, src/internals.ts
];

const ENTRIES = ['index.ts', 'internals.ts'];
const IMPLEMENTATIONS = ['backend/js', 'backend/native', 'backend/wasm'];
/** The public backend controls (nb.backend(), nb.setBackend, threads): any layer may call them. */
const CONTROLS = 'backend/select.ts';

/** The layer of a src-relative path, or undefined when it is in none. */
export function layerOf(path: string): string | undefined {
  if (!path.includes('/')) return ENTRIES.includes(path) ? 'entry' : undefined;
  for (const impl of IMPLEMENTATIONS) if (path.startsWith(impl + '/')) return impl;
  const top = path.slice(0, path.indexOf('/'));
  return LAYERS.some((l) => l.name === top) ? top : undefined;
}

function rankOf(layer: string): number {
  return LAYERS.find((l) => l.name === layer)!.rank;
}

function matches(pattern: string, path: string): boolean {
  return pattern.endsWith('/*') ? path.startsWith(pattern.slice(0, -1)) : pattern === path;
}

/**
 * The rules, in the order they are tried; the first one an edge breaks is reported:
 * 1. every file under src/ belongs to a layer, and no import leaves src/;
 * 2. src/backend/js and src/backend/native are imported only from inside themselves and by the backend
 *    registry and selection (files directly in src/backend/);
 * 3. above ops, the backend seam is reached only through ops (src/backend/select.ts, the public
 *    controls, excepted);
 * 4. a file imports only its own layer or lower ones.
 * Rules 3 and 4 give way to an exception; an exception no edge uses is itself reported, so the list
 * stays the list of upward imports that exist.
 */
export function checkLayers(edges: readonly ImportEdge[], exceptions: readonly Exception[]): Violation[] {
  const out: Violation[] = [];
  const used = new Set<Exception>();
  for (const e of edges) {
    const lf = layerOf(e.from),
      lt = layerOf(e.to);
    if (!lf || !lt) {
      const which = !lf ? e.from : e.to;
      const rule =
        `'${which}' is in no layer: add its directory to LAYERS in test/helpers/import_graph.ts, ` +
        'or keep imports inside src/';
      out.push({ from: e.from, to: e.to, rule });
      continue;
    }
    if (lf === lt) continue;
    if (IMPLEMENTATIONS.includes(lt)) {
      // the WASM backend is the native one over another binary: it reuses NativeBackend and its contract
      const wasmOnNative = lf === 'backend/wasm' && lt === 'backend/native';
      if (!/^backend\/[^/]+\.ts$/.test(e.from) && !wasmOnNative) {
        const rule =
          `${lt} is imported only by the backend registry and selection (src/backend/*.ts); ` +
          `${lf} reaches kernels through ops and shares helpers through src/util or src/tensor`;
        out.push({ from: e.from, to: e.to, rule });
      }
      continue;
    }
    const exc = exceptions.find((x) => matches(x.from, e.from) && matches(x.to, e.to));
    if (exc) {
      used.add(exc);
      continue;
    }
    if (lt === 'backend' && rankOf(lf) > rankOf('ops') && lf !== 'entry' && e.to !== CONTROLS) {
      const rule =
        `above ops, the backend seam is reached through ops (or the public controls in ${CONTROLS}): ` +
        `${lf} must not import ${e.to}`;
      out.push({ from: e.from, to: e.to, rule });
      continue;
    }
    if (rankOf(lt) >= rankOf(lf)) {
      const rule = `layer order: ${lf} (rank ${rankOf(lf)}) must not import ${lt} (rank ${rankOf(lt)})`;
      out.push({ from: e.from, to: e.to, rule });
    }
  }
  for (const x of exceptions) {
    if (used.has(x)) continue;
    out.push({ from: x.from, to: x.to, rule: 'exception no longer used (nothing imports it that way): remove it' });
  }
  return out;
}

export function formatViolations(vs: readonly Violation[]): string {
  return vs.map((v) => `  src/${v.from} imports src/${v.to}: ${v.rule}`).join('\n');
}

/** src/ of the repository, from a compiled file under dist/test (or the source under test/). */
export function srcDirFrom(metaUrl: string): string {
  let dir = dirname(fileURLToPath(metaUrl));
  for (let i = 0; i < 6; i++) {
    try {
      readdirSync(join(dir, 'src'));
      if (readdirSync(dir).includes('package.json')) return join(dir, 'src');
    } catch {
      /* not here */
    }
    dir = dirname(dir);
  }
  throw new Error(`import_graph: no src/ above ${metaUrl}`);
}
