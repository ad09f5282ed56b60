// The browser build: the library bundles for platform 'browser' with no node:* module and no Node
// global in it, and src/platform/browser.ts stands in for src/platform/node.ts name for name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import ts from 'typescript';
import { bundleBrowser } from '../helpers/browser.js';
import * as nodePlatform from '../../src/platform/node.js';
import * as browserPlatform from '../../src/platform/browser.js';

/** Globals Node has and browsers do not. */
const NODE_GLOBALS = new Set(['process', 'Buffer', 'require', '__dirname', '__filename', 'global', 'setImmediate']);

/**
 * References to a Node global that third-party code makes on a path nabla never takes; each with why.
 * The bundle's comments ('// node_modules/jpeg-js/lib/decoder.js') say which module a line is in.
 */
const ALLOWED: { module: string; name: string; why: string }[] = [
  { module: 'node_modules/jpeg-js/lib/decoder.js', name: 'Buffer', why: 'only without useTArray; nabla passes true' },
  { module: 'node_modules/jpeg-js/lib/encoder.js', name: 'Buffer', why: 'the encoder; nabla only decodes JPEG' },
];

interface GlobalUse {
  module: string;
  name: string;
  line: string;
}

/**
 * Free uses of Node globals in a bundle: identifiers with those names that are not property names,
 * declarations, `typeof` operands, or names the bundle declares at its top level (a module's imported
 * binding, such as src/platform/browser.ts's `process`, is a top-level declaration once bundled).
 */
function nodeGlobalUses(code: string): GlobalUse[] {
  const sf = ts.createSourceFile('bundle.js', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const topLevel = new Set<string>();
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) topLevel.add(d.name.text);
    } else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) topLevel.add(st.name.text);
  }
  const lines = code.split('\n');
  const moduleAt: string[] = [];
  let current = '';
  for (const l of lines) {
    const m = /^\/\/ ((?:node_modules|dist)\/\S+)$/.exec(l);
    if (m) current = m[1];
    moduleAt.push(current);
  }
  const uses: GlobalUse[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n) && NODE_GLOBALS.has(n.text) && !topLevel.has(n.text)) {
      const p = n.parent;
      const named =
        ((ts.isPropertyAccessExpression(p) || ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p)) &&
          p.name === n) ||
        ((ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isBindingElement(p) || ts.isFunctionDeclaration(p)) &&
          p.name === n);
      if (!named && !ts.isTypeOfExpression(p)) {
        const line = sf.getLineAndCharacterOfPosition(n.getStart()).line;
        uses.push({ module: moduleAt[line], name: n.text, line: lines[line].trim().slice(0, 100) });
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return uses;
}

test('the browser bundle has no node:* module and no Node global', async () => {
  const { code, inputs } = await bundleBrowser();
  assert.deepEqual(
    inputs.filter((f) => f.startsWith('node:') || f.endsWith('platform/node.js')),
    [],
    'node:* modules or the Node platform reached the browser bundle',
  );
  assert.ok(
    inputs.some((f) => f.endsWith('platform/browser.js')),
    'the browser platform was not swapped in',
  );
  const uses = nodeGlobalUses(code).filter((u) => !ALLOWED.some((a) => a.module === u.module && a.name === u.name));
  assert.deepEqual(
    uses.map((u) => `${u.module}: ${u.name} in \`${u.line}\``),
    [],
    'Node globals reached the browser bundle; import them from src/platform/node.js instead',
  );
});

test('the global check finds a Node global and ignores properties, typeof and declared names', () => {
  const uses = nodeGlobalUses(
    [
      '// dist/src/a.js',
      'const x = Buffer.alloc(4);',
      'if (typeof process !== "undefined") y.process = 1;',
      '// dist/src/b.js',
      'setImmediate(f);',
    ].join('\n'),
  );
  assert.deepEqual(
    uses.map((u) => `${u.module}:${u.name}`),
    ['dist/src/a.js:Buffer', 'dist/src/b.js:setImmediate'],
  );
  assert.deepEqual(nodeGlobalUses('var process = {};\nprocess.env.X;'), []);
});

test('src/platform/browser.ts exports every name src/platform/node.ts does', () => {
  const missing = Object.keys(nodePlatform).filter((k) => !(k in browserPlatform));
  assert.deepEqual(missing, []);
  assert.equal(nodePlatform.IS_NODE, true);
  assert.equal(browserPlatform.IS_NODE, false);
});

test('the browser platform: POSIX paths as node:path, and file access fails naming what to pass instead', () => {
  const cases: string[][] = [
    ['a', 'b'],
    ['/a/', 'b/../c'],
    ['a', '', '.', 'b'],
    ['..', 'a'],
    ['/'],
    ['a/b/', '../../..'],
  ];
  for (const c of cases) assert.equal(browserPlatform.join(...c), posix.join(...c), `join(${c})`);
  for (const p of ['/a/b/c.txt', 'a/b', 'a', '/a', '/', 'a/b/', '.x', 'a.tar.gz']) {
    assert.equal(browserPlatform.dirname(p), posix.dirname(p), `dirname(${p})`);
    assert.equal(browserPlatform.basename(p), posix.basename(p), `basename(${p})`);
    assert.equal(browserPlatform.extname(p), posix.extname(p), `extname(${p})`);
  }
  assert.equal(browserPlatform.resolve('/a', 'b', '../c'), '/a/c');
  assert.equal(browserPlatform.relative('/a/b/c', '/a/d'), posix.relative('/a/b/c', '/a/d'));
  assert.throws(
    () => browserPlatform.readFileSync('model.safetensors'),
    (e: Error) =>
      e.name === 'NodeOnlyError' && /model\.safetensors/.test(e.message) && /ArrayBuffer.*Blob.*URL/.test(e.message),
  );
  assert.throws(() => (browserPlatform.Buffer as unknown as typeof Buffer).concat([]), /Buffer\.concat.*Node\.js/);
  const lines: string[] = [];
  const s = new (
    browserPlatform.process.stdout.constructor as new (
      f: (s: string) => void,
    ) => {
      write(s: string): boolean;
    }
  )((l) => lines.push(l));
  s.write(' 1/4 [==>  ]\r 4/4 [=====] - loss: 0.1\nnext');
  assert.deepEqual(lines, [' 4/4 [=====] - loss: 0.1']);
});
