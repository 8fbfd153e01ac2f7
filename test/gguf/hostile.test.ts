// Hostile input: hundreds of malformed GGUF files (every validation class, truncations, seeded byte
// flips). Each must give a QuantfitError naming the file (and the right message and location for the
// targeted cases) or be accepted cleanly; never a crash, a hang, or a modified input.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, readdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgufReader, readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import type { GgufHeader } from '../../src-main/core/gguf/types.ts';
import { QuantfitError } from '../../src-main/core/errors.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { DATA, hostileCases, type Case } from './hostile-cases.ts';
import { runQuantfit } from '../support/cli.ts';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));

// ---------------------------------------------------------------------------------------------------

let dir = '';
const files: Array<Case & { path: string; sha: string }> = [];
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

before(async () => {
  dir = await makeTempDir('gguf-hostile');
  const all = hostileCases();
  for (const [i, c] of all.entries()) {
    const path = join(dir, `case-${String(i).padStart(4, '0')}.gguf`);
    await writeFile(path, c.bytes);
    files.push({ ...c, path, sha: sha256(c.bytes) });
  }
});

after(async () => {
  if (process.env.QUANTFIT_KEEP_HOSTILE) console.log(`# hostile files kept in ${dir}`);
  else await removeTempDir(dir);
});

/** Reads with a hang guard far above any real parse time (a hang, not a speed target). */
async function readGuarded(path: string): Promise<{ header?: GgufHeader; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`hang: ${path} still parsing after 5 s`)), 5000); });
  try {
    return { header: await Promise.race([readGgufHeader(path), hang]) };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('hang:')) throw error;
    return { error };
  } finally {
    clearTimeout(timer);
  }
}

test('the hostile suite has well over 150 malformed files covering every class', () => {
  const malformed = files.filter((f) => !f.valid);
  assert.ok(malformed.length >= 150, `${malformed.length} malformed files`);
  assert.ok(files.filter((f) => f.message).length >= 80);
});

test('every malformed file gives a QuantfitError naming the file (or is accepted cleanly); inputs unchanged', async () => {
  const fdsBefore = await fdCount();
  let refused = 0;
  let accepted = 0;
  for (const f of files) {
    const { header, error } = await readGuarded(f.path);
    if (error !== undefined) {
      assert.ok(error instanceof QuantfitError, `${f.name}: not a QuantfitError: ${String((error as Error)?.stack ?? error)}`);
      assert.equal(error.location.file, f.path, f.name);
      assert.ok(!f.valid, `${f.name} is valid but was refused: ${error.message}`);
      if (f.message) assert.match(error.message, f.message, f.name);
      if (f.key !== undefined) assert.equal(error.location.key, f.key, `${f.name}: key`);
      if (f.tensor !== undefined) assert.equal(error.location.tensor, f.tensor, `${f.name}: tensor`);
      if (f.offset !== undefined) assert.equal(error.location.offset, f.offset, `${f.name}: offset`);
      assert.ok(!/undefined|NaN|\[object/.test(error.message), `${f.name}: message reads badly: ${error.message}`);
      refused++;
    } else {
      assert.ok(f.valid || f.mayAccept, `${f.name} was accepted but must be refused${f.message ? ` with ${f.message}` : ''}`);
      // An accepted header is self-consistent: every tensor lies inside the file.
      for (const t of header!.tensors) assert.ok(header!.dataOffset + t.offset + t.byteSize <= header!.fileSize, `${f.name}: ${t.name}`);
      accepted++;
    }
    assert.equal(sha256(await readFile(f.path)), f.sha, `${f.name}: input changed`);
  }
  assert.ok(refused >= 150, `refused ${refused}`);
  assert.ok(accepted >= 10, `accepted ${accepted}`);
  const fdsAfter = await fdCount();
  if (fdsBefore !== undefined) assert.equal(fdsAfter, fdsBefore, 'file handles leaked');
});

test('GgufReader.open refuses the same files and leaks no file handles', async () => {
  const fdsBefore = await fdCount();
  for (const f of files.filter((x) => x.message).slice(0, 60)) {
    await assert.rejects(GgufReader.open(f.path), (e: unknown) => e instanceof QuantfitError && f.message!.test(e.message), f.name);
  }
  const r = await GgufReader.open(files[0].path);
  const data = await r.readTensor(r.header.tensors[2]);
  assert.deepEqual(Buffer.from(data), DATA.subarray(96, 102));
  await r.close();
  const fdsAfter = await fdCount();
  if (fdsBefore !== undefined) assert.equal(fdsAfter, fdsBefore, 'file handles leaked');
});

async function fdCount(): Promise<number | undefined> {
  try {
    return (await readdir('/proc/self/fd')).length;
  } catch {
    return undefined;
  }
}


test('the real CLI refuses a sample of them: exit 1, one `quantfit: error:` line naming the file', async () => {
  const targeted = files.filter((f) => f.message);
  // One file from each class, spread over the list, plus a few truncations and flips that fail.
  const sample = targeted.filter((_, i) => i % Math.ceil(targeted.length / 16) === 0);
  const truncated = files.filter((f) => f.name === 'truncated to 10 bytes' || f.name === 'truncated to 100 bytes');
  const flipped: typeof files = [];
  for (const f of files.filter((x) => x.name.startsWith('byte flips'))) {
    if (flipped.length === 2) break;
    if ((await readGuarded(f.path)).error) flipped.push(f);
  }
  const chosen = [...sample, ...truncated, ...flipped];
  assert.ok(chosen.length >= 16 && chosen.length <= 24, `${chosen.length} CLI runs`);
  const queue = [...chosen];
  const worker = async () => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      const r = await runQuantfit(['inspect', f.path]);
      assert.equal(r.status, 1, `${f.name}: exit ${r.status}, stderr ${r.stderr}`);
      assert.equal(r.stdout, '', f.name);
      const lines = r.stderr.split('\n').filter((l) => l.length > 0);
      assert.equal(lines.length, 1, `${f.name}: ${r.stderr}`);
      assert.ok(lines[0].startsWith(`quantfit: error: ${f.path}: `), `${f.name}: ${lines[0]}`);
      if (f.message) assert.match(lines[0], f.message, f.name);
      assert.ok(!/\bat .*\.ts:\d+/.test(r.stderr), `${f.name}: stack trace printed`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
});
