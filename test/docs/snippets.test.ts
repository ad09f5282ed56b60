// The docs cannot rot: every ```ts block of README.md and docs/*.md is type-checked against the built
// package and run, as a user would paste it into a project that depends on nabla.
//
// Each block is its own ES module in a temporary project whose node_modules/nabla links to this
// repository, so 'nabla' resolves through package.json's exports (types and code) as it does for a
// user. A block that does not import nabla gets `import * as nb from 'nabla';` on top (the pages say
// so once). Blocks run one by one with node, in a fresh folder each, with ../shared/data pointing at
// the shared datasets (skipped with the reason when they are absent). A block preceded by
// `<!-- snippet: typecheck-only REASON -->` is type-checked but not run (Hub downloads, network URLs).
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT, SHARED_DATA } from '../helpers/data.js';

interface Snippet {
  /** Where the block starts, as 'docs/from-pytorch.md:42' (the line of its first code line). */
  where: string;
  code: string;
  /** Why it is only type-checked, or null when it runs. */
  typecheckOnly: string | null;
  /** Lines added on top of the block (the implicit import). */
  prelude: number;
}

const PAGES = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs')).flatMap((f) => (f.endsWith('.md') ? [`docs/${f}`] : [])),
];
const IMPLICIT = "import * as nb from 'nabla';\n";
const MARKER = /^<!--\s*snippet:\s*typecheck-only\s+(.+?)\s*-->$/;

function extract(page: string): Snippet[] {
  const lines = readFileSync(join(REPO_ROOT, page), 'utf8').split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    assert.ok(end < lines.length, `${page}:${i + 1}: unterminated code block`);
    let prev = i - 1;
    while (prev >= 0 && lines[prev].trim() === '') prev--;
    const marker = prev >= 0 ? MARKER.exec(lines[prev].trim()) : null;
    const body = `${lines.slice(i + 1, end).join('\n')}\n`;
    const implicit = !/from\s+'nabla'/.test(body);
    out.push({
      where: `${page}:${i + 2}`,
      code: (implicit ? IMPLICIT : '') + body,
      typecheckOnly: marker ? marker[1] : null,
      prelude: implicit ? 1 : 0,
    });
    i = end;
  }
  return out;
}

const snippets = PAGES.flatMap(extract);

/** A temporary project with nabla installed (linked), as a user's would be. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-snippets-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'nabla'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return dir;
}

test('docs: the pages have ts blocks to check', () => {
  assert.ok(PAGES.includes('docs/from-pytorch.md') && PAGES.includes('docs/from-keras.md'), PAGES.join(', '));
  assert.ok(snippets.length >= 20, `only ${snippets.length} ts blocks found`);
});

test('docs: every ts block in README.md and docs/*.md type-checks against the package', () => {
  const dir = project();
  try {
    const files = snippets.map((s, i) => {
      const f = join(dir, `snippet${i}.ts`);
      writeFileSync(f, s.code);
      return f;
    });
    const program = ts.createProgram(files, {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'],
      typeRoots: [join(REPO_ROOT, 'node_modules', '@types')],
      skipLibCheck: true,
      noEmit: true,
    });
    const errors = ts.getPreEmitDiagnostics(program).map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      const i = d.file ? files.indexOf(d.file.fileName) : -1;
      if (i < 0 || d.start === undefined) return text;
      const [page, line] = snippets[i].where.split(':');
      const at = d.file!.getLineAndCharacterOfPosition(d.start).line - snippets[i].prelude;
      return `${page}:${Number(line) + at}: ${text}`;
    });
    assert.deepEqual(errors, [], errors.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [i, s] of snippets.entries()) {
  const shared = s.code.includes('../shared/data');
  const skip =
    s.typecheckOnly ??
    (shared && !existsSync(SHARED_DATA) ? `needs ../shared/data (not present: ${SHARED_DATA})` : false);
  test(`docs: ${s.where} runs`, { skip, timeout: 180_000 }, () => {
    const dir = project();
    try {
      const cwd = join(dir, 'run');
      mkdirSync(cwd);
      const js = ts.transpileModule(s.code.replaceAll('../shared/data', SHARED_DATA), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      writeFileSync(join(cwd, `snippet${i}.js`), js);
      const r = spawnSync(process.execPath, [`snippet${i}.js`], { cwd, encoding: 'utf8', timeout: 170_000 });
      assert.equal(r.status, 0, `${s.where} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
