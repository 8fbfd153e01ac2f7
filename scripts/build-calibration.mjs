#!/usr/bin/env node
// Rebuilds resources/calibration/calibration.txt from its sources (see resources/calibration/README.md):
// public-domain and Expat-licensed texts from Debian packages, and this repository's own MIT code.
// Needs a Debian system (apt-get download, dpkg-deb). Usage: node scripts/build-calibration.mjs
// Deterministic: the same package versions and repository files give the same bytes.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'resources', 'calibration', 'calibration.txt');

/** Package versions the text was built from; others may differ slightly. */
const PACKAGES = ['miscfiles=1.5+dfsg-4', 'dict-devil=1.0-13.1', 'debmake-doc=1.17-7', 'texlive-lang-chinese=2022.20230122-1'];

/** This repository's own code (MIT) for the code share: varied, stable, commented. */
const CODE_FILES = [
  'src-main/core/gguf/reader.ts', 'src-main/core/gguf/writer.ts', 'src-main/core/gguf/encode.ts',
  'src-main/core/advisor/model-params.ts', 'src-main/core/advisor/recommend.ts', 'src-main/core/advisor/estimate.ts',
  'src-main/core/quant/kquants.ts', 'src-main/core/progress.ts', 'src-main/core/errors.ts',
  'src-main/core/ollama/modelfile.ts', 'src-main/cli/main.ts', 'scripts/build-wasm.mjs',
  'src-renderer/src/App.svelte', 'src-shared/message.ts',
];

/** Characters each language contributes (about); code takes what its files give, capped. */
const BUDGET = { en: 140_000, zh: 110_000, code: 80_000 };
/** Interleaved in segments of about this many characters, so any leading part holds all three. */
const SEGMENT = 3000;

const HAN = /[\u3400-\u9fff\uf900-\ufaff]/g;

function download(dir) {
  execFileSync('apt-get', ['download', ...PACKAGES], { cwd: dir, stdio: 'ignore' });
  for (const deb of readdirSync(dir).filter((f) => f.endsWith('.deb'))) {
    execFileSync('dpkg-deb', ['-x', join(dir, deb), join(dir, 'root')]);
  }
  return join(dir, 'root');
}

const gz = (path) => gunzipSync(readFileSync(path)).toString('utf8');

/** Paragraphs of a hard-wrapped text, re-flowed: CJK lines join without a space, others with one. */
function paragraphs(text) {
  return text
    .replace(/\r/g, '')
    .split(/\n\s*\n/)
    .map((p) => p.split('\n').map((l) => l.trim()).filter(Boolean))
    .filter((lines) => lines.length > 0)
    .map((lines) => lines.reduce((acc, line) => {
      if (acc === '') return line;
      if (/^[*+•-] /.test(line)) return `${acc}\n${line}`;
      const cjkJoin = /[\u3000-\u9fff\uff00-\uffef]$/.test(acc) || /^[\u3000-\u9fff\uff00-\uffef]/.test(line);
      return acc + (cjkJoin ? '' : ' ') + line;
    }, ''));
}

function take(parts, budget) {
  const out = [];
  let n = 0;
  for (const p of parts) {
    if (n >= budget) break;
    out.push(p);
    n += p.length + 2;
  }
  return out;
}

function englishParts(root) {
  const misc = join(root, 'usr/share/state');
  const declaration = gz(join(misc, 'us-declaration.gz'));
  const constitution = gz(join(misc, 'us-constitution.gz'));
  const devil = gz(join(root, 'usr/share/dictd/devil.dict.dz'));
  // dictd entries: skip the database header entries (00-database-*), keep the preface and the words.
  const devilBody = devil.slice(devil.indexOf('PREFACE'));
  const guide = gz(join(root, 'usr/share/doc/debmake-doc/debmake-doc.en.txt.gz'));
  // Prose only: paragraphs mostly of words, not command listings or tables.
  const prose = paragraphs(guide.slice(guide.indexOf('Preface', guide.indexOf('Preface') + 1)))
    .filter((p) => p.length > 120 && (p.match(/[A-Za-z]/g)?.length ?? 0) / p.length > 0.7 && !/^\$ /m.test(p));
  const quarter = BUDGET.en / 4;
  return [
    ...take(paragraphs(declaration), quarter / 2),
    ...take(prose, quarter * 1.5),
    ...take(paragraphs(constitution), quarter / 2),
    ...take(paragraphs(devilBody), quarter * 1.5),
  ];
}

function chineseParts(root) {
  const def = readFileSync(join(root, 'usr/share/texlive/texmf-dist/tex/latex/zhlipsum/zhlipsum-utf8.def'), 'utf8');
  const start = def.indexOf('+newzhlipsum < zhufu >');
  const end = def.indexOf('+newzhlipsum', start + 1);
  // Each paragraph of Lu Xun's «祝福» is written `<text>` (the last one without a trailing comma).
  const zhufu = [...def.slice(start, end < 0 ? undefined : end).matchAll(/^\s*<([^<>\n]+)>,?\s*$/gm)].map((m) => m[1]);
  const guide = gz(join(root, 'usr/share/doc/debmake-doc/debmake-doc.zh-cn.txt.gz'));
  const prose = paragraphs(guide.slice(guide.indexOf('前言', guide.indexOf('前言') + 1)))
    .filter((p) => p.length > 20 && (p.match(HAN)?.length ?? 0) / p.replace(/\s/g, '').length > 0.25 && !/^\$ /m.test(p));
  // Written for this project (MIT), like the code.
  const own = paragraphs(readFileSync(join(ROOT, 'resources/calibration/own-zh.txt'), 'utf8'));
  const fixed = [...zhufu, ...own].reduce((s, p) => s + p.length, 0);
  return [...zhufu, ...own, ...take(prose, BUDGET.zh - fixed)];
}

function codeParts() {
  const parts = [];
  for (const file of CODE_FILES) {
    const text = readFileSync(join(ROOT, file), 'utf8').replace(/\r/g, '');
    // Blocks at blank lines keep functions whole most of the time.
    parts.push(`// ${file}`, ...text.split(/\n\s*\n/).map((b) => b.replace(/\s+$/, '')).filter(Boolean));
  }
  return take(parts, BUDGET.code);
}

/** Groups paragraphs into segments of about SEGMENT characters. */
function segments(parts) {
  const out = [];
  let cur = [];
  let n = 0;
  for (const p of parts) {
    cur.push(p);
    n += p.length;
    if (n >= SEGMENT) {
      out.push(cur.join('\n\n'));
      cur = [];
      n = 0;
    }
  }
  if (cur.length) out.push(cur.join('\n\n'));
  return out;
}

/** Round-robin over the sources' segments: en, zh, code, en, … until all are used. */
function interleave(lists) {
  const out = [];
  for (let i = 0; lists.some((l) => i < l.length); i++) {
    for (const l of lists) if (i < l.length) out.push(l[i]);
  }
  return out;
}

const work = mkdtempSync(join(tmpdir(), 'quantfit-calibration-'));
try {
  const root = process.argv[2] ?? download(work);
  const en = segments(englishParts(root));
  const zh = segments(chineseParts(root));
  const code = segments(codeParts());
  const text = `${interleave([en, zh, code]).join('\n\n')}\n`;
  writeFileSync(OUT, text);
  const count = (list) => list.reduce((s, x) => s + x.length, 0);
  console.log(`${OUT}: ${text.length} characters, ${Buffer.byteLength(text)} bytes; en ${count(en)}, zh ${count(zh)} (${(zh.join('').match(HAN) ?? []).length} Han), code ${count(code)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
