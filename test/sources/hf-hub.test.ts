// hf: references against the hub test server: huggingface_hub's cache layout (blobs, snapshot
// symlinks, refs), resume with Range after a dropped connection or a cancel, sha256 checks, the
// token kept from the CDN, parallel segments, the refusals the hub sends, the disk-space check, reuse
// of a cache another tool filled — and the done-when: `quantfit quantize hf:ORG/REPO out Q4_K_M`
// writes what quantizing the same file locally writes, and a second run downloads nothing.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeHfHub, type FakeHfHub } from '../support/fake-hf-hub.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { writeTinyLlama } from '../jobs/support.ts';
import { runQuantfit } from '../support/cli.ts';
import { resolveModelReference } from '../../src-main/core/sources/resolve.ts';
import { downloadFile, partsPath } from '../../src-main/core/sources/download.ts';
import { CancelledError } from '../../src-main/core/errors.ts';
import type { JobEvent } from '../../src-main/core/progress.ts';

let hub: FakeHfHub;
let dir: string;
let gguf: Buffer;
let shas: Record<string, string>;
before(async () => {
  hub = await startFakeHfHub();
  dir = await makeTempDir('hf-hub');
  gguf = await readFile(await writeTinyLlama(dir, 'tiny-f16', { type: 'F16', nEmbd: 256, nFf: 512, nVocab: 256, seed: 3 }));
  shas = hub.addRepo('org/tiny-GGUF', {
    revisions: {
      main: [
        { path: 'tiny-f16.gguf', data: gguf },
        { path: 'tiny-q4_k_m.gguf', data: randomBytes(4096) },
        { path: 'README.md', data: Buffer.from('# tiny\n') },
      ],
    },
  });
  hub.addRepo('org/tiny-safetensors', {
    files: [
      { path: 'config.json', data: Buffer.from('{"architectures":["LlamaForCausalLM"]}') },
      { path: 'model.safetensors', data: randomBytes(3000) },
      { path: 'tokenizer.json', data: Buffer.from('{}') },
      { path: 'README.md', data: Buffer.from('hi') },
    ],
  });
  hub.addRepo('org/gated', { files: [{ path: 'm-f16.gguf', data: randomBytes(2048) }], gated: true, allowedTokens: ['hf_good'] });
  hub.addRepo('org/nothing', { files: [{ path: 'README.md', data: Buffer.from('x') }, { path: 'pytorch_model.bin', data: randomBytes(2000) }] });
});
after(async () => {
  await hub.stop();
  await removeTempDir(dir);
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const settings = (cache: string, extra: Record<string, unknown> = {}) => ({ hfEndpoint: hub.url, hfCache: cache, hfToken: null, ...extra });

test('a GGUF repo lands in the Hugging Face cache layout and resumes with Range after a dropped connection', async () => {
  const cache = await makeTempDir('hf-cache');
  try {
    hub.requests.length = 0;
    hub.faults.dropAfterBytes = 50_000;
    const events: JobEvent[] = [];
    const m = await resolveModelReference('hf:org/tiny-GGUF', { hub: settings(cache, { hfToken: 'hf_secret' }), onEvent: (e) => events.push(e) });
    const storage = join(cache, 'models--org--tiny-GGUF');
    assert.equal(m.kind, 'gguf-file');
    assert.equal(m.path, join(storage, 'snapshots', shas.main!, 'tiny-f16.gguf'));
    assert.ok((await readFile(m.path)).equals(gguf));
    assert.equal(await readlink(m.path), `../../blobs/${sha(gguf)}`);
    assert.equal(await readFile(join(storage, 'refs', 'main'), 'utf8'), shas.main);
    assert.deepEqual(await readdir(join(storage, 'blobs')), [sha(gguf)], 'only the finished blob, no .incomplete');
    const gets = hub.fileGets();
    assert.equal(gets.length, 2);
    assert.equal(gets[0]!.range, null);
    assert.match(gets[1]!.range ?? '', /^bytes=\d+-$/);
    assert.ok(Number(/\d+/.exec(gets[1]!.range!)![0]) >= 50_000 - 16 * 1024);
    assert.ok(gets.every((g) => !g.authorized), 'the token never goes to the CDN');
    assert.ok(hub.requests.filter((r) => r.host.startsWith('127.0.0.1')).every((r) => r.authorized), 'it goes to the hub');
    const progress = events.filter((e) => e.type === 'progress');
    assert.ok(progress.length > 0 && progress.every((e) => e.type === 'progress' && e.total === gguf.length && e.stage === 'source'));
    assert.equal(m.origin.type === 'hub' ? m.origin.downloadedBytes : -1, gguf.length, 'every byte fetched once');

    // A second run finds everything in the cache: API calls only, no file bytes.
    hub.requests.length = 0;
    const again = await resolveModelReference('hf:org/tiny-GGUF', { hub: settings(cache) });
    assert.equal(again.path, m.path);
    assert.equal(hub.fileGets().length, 0);
    assert.equal(again.origin.type === 'hub' ? again.origin.downloadedBytes : -1, 0);
  } finally {
    await removeTempDir(cache);
  }
});

test('without the hub, a model in the cache is used as huggingface_hub does (refs/main → snapshot), with a warning', async () => {
  const cache = await makeTempDir('hf-cache-offline');
  try {
    const m = await resolveModelReference('hf:org/tiny-GGUF', { hub: settings(cache) });
    const events: JobEvent[] = [];
    const offline = await resolveModelReference('hf:org/tiny-GGUF', { hub: settings(cache, { hfEndpoint: 'http://127.0.0.1:9' }), onEvent: (e) => events.push(e) });
    assert.equal(offline.path, m.path);
    assert.ok(events.some((e) => e.type === 'log' && e.level === 'warn' && /cannot be reached: using the copy in the cache/.test(e.message)));
    await assert.rejects(resolveModelReference('hf:org/tiny-GGUF', { hub: settings(cache, { hfEndpoint: 'http://127.0.0.1:9' }), files: ['tiny-q4_k_m.gguf'] }), /no file 'tiny-q4_k_m.gguf'/);
  } finally {
    await removeTempDir(cache);
  }
});

test('a cache huggingface-cli filled is reused, and an explicit file and revision are honoured', async () => {
  const cache = await makeTempDir('hf-cache-py');
  try {
    // As huggingface_hub leaves it: blob by sha256, relative symlink, refs/main.
    const storage = join(cache, 'models--org--tiny-GGUF');
    await mkdir(join(storage, 'blobs'), { recursive: true });
    await mkdir(join(storage, 'snapshots', shas.main!), { recursive: true });
    await mkdir(join(storage, 'refs'), { recursive: true });
    await writeFile(join(storage, 'blobs', sha(gguf)), gguf);
    await symlink(`../../blobs/${sha(gguf)}`, join(storage, 'snapshots', shas.main!, 'tiny-f16.gguf'));
    await writeFile(join(storage, 'refs', 'main'), shas.main!);
    hub.requests.length = 0;
    const m = await resolveModelReference(`hf:org/tiny-GGUF@${shas.main}/tiny-f16.gguf`, { hub: settings(cache) });
    assert.equal(m.path, join(storage, 'snapshots', shas.main!, 'tiny-f16.gguf'));
    assert.equal(hub.fileGets().length, 0);
    // The other file is fetched next to it.
    const q = await resolveModelReference('hf:org/tiny-GGUF', { hub: settings(cache), files: ['tiny-q4_k_m.gguf'] });
    assert.ok(existsSync(q.path));
    assert.equal(hub.fileGets().length, 1);
  } finally {
    await removeTempDir(cache);
  }
});

test('two fetches of the same repo at once: one downloads, the other waits for it (the lock in .locks)', async () => {
  const cache = await makeTempDir('hf-cache-lock');
  try {
    hub.requests.length = 0;
    hub.faults.bytesPerSecond = 2_000_000;
    const [a, b] = await Promise.all([
      resolveModelReference('hf:org/tiny-GGUF', { hub: settings(cache) }),
      resolveModelReference('hf:org/tiny-GGUF', { hub: settings(cache) }),
    ]);
    assert.equal(a.path, b.path);
    assert.ok((await readFile(a.path)).equals(gguf));
    assert.equal(hub.fileGets().length, 1, 'the bytes were fetched once');
    assert.deepEqual(await readdir(join(cache, '.locks', 'models--org--tiny-GGUF')), [], 'the lock is released');
  } finally {
    hub.faults.bytesPerSecond = undefined;
    await removeTempDir(cache);
  }
});

test('a safetensors repo becomes its snapshot folder (config, tokenizer, weights; no README)', async () => {
  const cache = await makeTempDir('hf-cache-st');
  try {
    const m = await resolveModelReference('hf:org/tiny-safetensors', { hub: settings(cache) });
    assert.equal(m.kind, 'hf-folder');
    assert.deepEqual((await readdir(m.path)).sort(), ['config.json', 'model.safetensors', 'tokenizer.json']);
  } finally {
    await removeTempDir(cache);
  }
});

test('a wrong checksum is refused and leaves no file under any name; the next run downloads it anew', async () => {
  const cache = await makeTempDir('hf-cache-sum');
  try {
    hub.faults.corruptNext = true;
    await assert.rejects(resolveModelReference('hf:org/tiny-GGUF', { hub: settings(cache) }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'sources.download.checksum');
      assert.match(e.message, /sha256 is [0-9a-f]{64}, but the hub says [0-9a-f]{64}; the file was removed/);
      return true;
    });
    assert.deepEqual(await readdir(join(cache, 'models--org--tiny-GGUF', 'blobs')), []);
    assert.ok(!existsSync(join(cache, 'models--org--tiny-GGUF', 'snapshots')));
    const m = await resolveModelReference('hf:org/tiny-GGUF', { hub: settings(cache) });
    assert.ok((await readFile(m.path)).equals(gguf));
  } finally {
    await removeTempDir(cache);
  }
});

test('a cancel on a slow server keeps the partial file; the next run resumes it with Range', async () => {
  const cache = await makeTempDir('hf-cache-cancel');
  try {
    hub.faults.bytesPerSecond = 400_000;
    const ac = new AbortController();
    let seen = 0;
    await assert.rejects(
      resolveModelReference('hf:org/tiny-GGUF', {
        hub: settings(cache),
        signal: ac.signal,
        onEvent: (e) => {
          if (e.type === 'progress' && (seen = e.done) > 60_000) ac.abort();
        },
      }),
      CancelledError,
    );
    hub.faults.bytesPerSecond = undefined;
    const partial = join(cache, 'models--org--tiny-GGUF', 'blobs', `${sha(gguf)}.incomplete`);
    const kept = (await stat(partial)).size;
    assert.ok(kept > 0 && kept < gguf.length, `kept ${kept} of ${gguf.length} (seen ${seen})`);
    hub.requests.length = 0;
    const m = await resolveModelReference('hf:org/tiny-GGUF', { hub: settings(cache) });
    assert.ok((await readFile(m.path)).equals(gguf));
    assert.equal(hub.fileGets()[0]!.range, `bytes=${kept}-`);
  } finally {
    hub.faults.bytesPerSecond = undefined;
    await removeTempDir(cache);
  }
});

test('big files use several connections, each resumed after a drop, into one verified file', async () => {
  const out = await makeTempDir('hf-parallel');
  try {
    hub.requests.length = 0;
    hub.faults.dropAfterBytes = 20_000;
    const finalPath = join(out, 'blob');
    const r = await downloadFile({
      url: `${hub.cdnUrl}/cdn/${sha(gguf)}`, headers: {}, size: gguf.length, sha256: sha(gguf), finalPath, label: 'tiny-f16.gguf',
      connections: 4, parallelMinBytes: 1,
    });
    assert.ok((await readFile(finalPath)).equals(gguf));
    assert.equal(r.fetched, gguf.length);
    assert.ok(!existsSync(partsPath(finalPath)));
    const ranges = hub.fileGets().map((g) => g.range);
    assert.ok(ranges.length >= 5 && ranges.every((x) => /^bytes=\d+-\d+$/.test(x ?? '')), ranges.join(' '));
  } finally {
    await removeTempDir(out);
  }
});

test('refusals: unknown repo or revision, gated without and with a wrong token, no model files, no disk space', async () => {
  const cache = await makeTempDir('hf-cache-bad');
  try {
    const code = (c: string, re?: RegExp) => (e: Error & { code?: string }) => {
      assert.equal(e.code, c, e.message);
      if (re) assert.match(e.message, re);
      assert.doesNotMatch(e.message, /\n|hf_good|hf_bad/);
      return true;
    };
    await assert.rejects(resolveModelReference('hf:org/missing', { hub: settings(cache) }), code('sources.hf.noRepo', /no such model repository/));
    await assert.rejects(resolveModelReference('hf:org/tiny-GGUF@nope', { hub: settings(cache) }), code('sources.hf.noRevision', /no revision 'nope'/));
    await assert.rejects(resolveModelReference('hf:org/gated', { hub: settings(cache) }), code('sources.hf.gated', /is gated: accept its terms at .*org\/gated, then set HF_TOKEN/));
    await assert.rejects(resolveModelReference('hf:org/gated', { hub: settings(cache, { hfToken: 'hf_bad' }) }), code('sources.hf.gatedNoAccess'));
    const ok = await resolveModelReference('hf:org/gated', { hub: settings(cache, { hfToken: 'hf_good' }) });
    assert.ok(existsSync(ok.path));
    await assert.rejects(resolveModelReference('hf:org/nothing', { hub: settings(cache) }), code('sources.hub.noModel', /neither a GGUF file nor a safetensors model/));
    await assert.rejects(resolveModelReference('hf:org/tiny-GGUF/nope.gguf', { hub: settings(cache) }), code('sources.hub.noModel'));
    hub.faults.announceSize = 2 ** 52;
    await assert.rejects(resolveModelReference('hf:org/tiny-GGUF', { hub: settings(cache) }), code('sources.hub.diskSpace', /not enough free space/));
    hub.faults.announceSize = undefined;
    await assert.rejects(resolveModelReference('hf:org/tiny-GGUF', { hub: settings(cache, { hfEndpoint: 'http://127.0.0.1:9' }) }), code('sources.hf.unreachable', /HF_ENDPOINT/));
    for (const repo of ['models--org--missing', 'models--org--nothing']) assert.ok(!existsSync(join(cache, repo, 'blobs')) || (await readdir(join(cache, repo, 'blobs'))).length === 0);
    assert.deepEqual(await readdir(join(cache, 'models--org--tiny-GGUF', 'blobs')), []);
  } finally {
    hub.faults.announceSize = undefined;
    await removeTempDir(cache);
  }
});

test('quantfit quantize hf:ORG/REPO out.gguf Q4_K_M: the local file\'s bytes, resumed after a drop, then nothing downloaded', async () => {
  const cache = await makeTempDir('hf-cache-cli');
  const out = await makeTempDir('hf-cli-out');
  try {
    const env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, HF_TOKEN: '' };
    const local = join(dir, 'tiny-f16.gguf');
    const expected = await runQuantfit(['quantize', local, join(out, 'local.gguf'), 'Q4_K_M', '--json'], env);
    assert.equal(expected.status, 0, expected.stderr);
    hub.requests.length = 0;
    hub.faults.dropAfterBytes = 40_000;
    const first = await runQuantfit(['quantize', 'hf:org/tiny-GGUF', join(out, 'hub.gguf'), 'Q4_K_M', '--json'], env);
    assert.equal(first.status, 0, first.stderr);
    assert.equal((JSON.parse(first.stdout) as { sha256: string }).sha256, (JSON.parse(expected.stdout) as { sha256: string }).sha256);
    assert.ok(hub.fileGets().some((g) => /^bytes=\d+-$/.test(g.range ?? '')), 'resumed with a Range request');
    hub.requests.length = 0;
    const second = await runQuantfit(['quantize', 'hf:org/tiny-GGUF', join(out, 'again.gguf'), 'Q4_K_M', '--json'], env);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(hub.fileGets().length, 0, 'the second run downloads nothing');
    assert.equal((JSON.parse(second.stdout) as { sha256: string }).sha256, (JSON.parse(expected.stdout) as { sha256: string }).sha256);
    const bad = await runQuantfit(['quantize', 'hf:org/gated', join(out, 'g.gguf'), 'Q4_K_M'], env);
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim().split('\n').filter((l) => l.startsWith('quantfit: error:')).length, 1, bad.stderr);
    assert.ok(!existsSync(join(out, 'g.gguf')));
  } finally {
    await removeTempDir(cache);
    await removeTempDir(out);
  }
});
