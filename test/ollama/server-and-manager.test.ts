// Finding and starting a server (with a stand-in `ollama` executable), and the model manager calls
// (list, show, copy, delete, running) with the server's errors turned into clear messages.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { CancelledError, QuantfitError } from '../../src-main/core/errors.ts';
import { blobDigest, sha256File } from '../../src-main/core/ollama/blobs.ts';
import { createHash } from 'node:crypto';
import type { JobEvent } from '../../src-main/core/progress.ts';
import { OllamaClient } from '../../src-main/core/ollama/client.ts';
import { resolveOllamaHost } from '../../src-main/core/ollama/host.ts';
import { registerGguf } from '../../src-main/core/ollama/register.ts';
import { INSTALL_MESSAGE, probeServer, startServer } from '../../src-main/core/ollama/server.ts';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.ts';
import { makeTempDir, removeTempDir, tinyLlama, writeSyntheticGguf } from '../support/synthetic-gguf.ts';

let dir: string;
before(async () => {
  dir = await makeTempDir('ollama-server');
});
after(async () => {
  await removeTempDir(dir);
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

describe('probing and starting Ollama', { skip: process.platform === 'win32' ? 'uses sh scripts as stand-in binaries' : undefined }, () => {
  test('running, stopped (binary found) and missing (install message)', async () => {
    const fake = await startFakeOllama();
    try {
      const running = await probeServer(new OllamaClient(resolveOllamaHost({ explicit: fake.url })));
      assert.deepEqual(running, { state: 'running', host: fake.url, version: '0.33.0' });
    } finally {
      await fake.stop();
    }
    const host = resolveOllamaHost({ explicit: `127.0.0.1:${await freePort()}` });
    const bin = await script('ollama', 'exit 0');
    const stopped = await probeServer(new OllamaClient(host), { env: { PATH: dir }, platform: 'linux' });
    assert.deepEqual(stopped, { state: 'stopped', host: host.url, binary: bin });
    const missing = await probeServer(new OllamaClient(host), { env: { PATH: '/nonexistent' }, platform: 'linux', isExecutable: () => false });
    assert.equal(missing.state, 'missing');
    assert.match(INSTALL_MESSAGE, /https:\/\/ollama\.com\/download/);
  });

  test('startServer spawns `<binary> serve` detached with OLLAMA_HOST and waits until it answers', async () => {
    const port = await freePort();
    const node = process.execPath;
    const serve = resolve('test/support/fake-ollama-serve.ts');
    const bin = await script('ollama-ok', `exec "${node}" --import tsx "${serve}" "$@"`);
    const host = resolveOllamaHost({ explicit: `127.0.0.1:${port}` });
    const { version, pid } = await startServer(new OllamaClient(host), bin, { timeoutMs: 30_000 });
    try {
      assert.equal(version, '0.33.0');
      assert.equal(await new OllamaClient(host).version(), '0.33.0');
    } finally {
      if (pid !== undefined) process.kill(pid, 'SIGTERM');
    }
  });

  test('registerGguf with startServer starts an installed but stopped Ollama, then registers', async () => {
    const port = await freePort();
    const serve = resolve('test/support/fake-ollama-serve.ts');
    const binDir = join(dir, 'bin');
    await mkdir(binDir, { recursive: true });
    const bin = join(binDir, 'ollama');
    await writeFile(bin, `#!/bin/sh\nexec "${process.execPath}" --import tsx "${serve}" "$@"\n`);
    await chmod(bin, 0o755);
    const pidFile = join(dir, 'serve.pid');
    const saved = { PATH: process.env.PATH, FAKE_OLLAMA_PIDFILE: process.env.FAKE_OLLAMA_PIDFILE };
    process.env.PATH = `${binDir}:${process.env.PATH ?? ''}`;
    process.env.FAKE_OLLAMA_PIDFILE = pidFile;
    const path = join(dir, 'started.gguf');
    await writeSyntheticGguf(path, tinyLlama({ seed: 8 }));
    const events: JobEvent[] = [];
    try {
      await assert.rejects(registerGguf({ ggufPath: path, name: 'started', host: `127.0.0.1:${port}` }), new RegExp(`Ollama is not running at http://127\\.0\\.0\\.1:${port}: start it with '${bin} serve'`));
      const r = await registerGguf({ ggufPath: path, name: 'started', host: `127.0.0.1:${port}`, startServer: true, verify: false }, { onEvent: (e) => events.push(e) });
      assert.equal(r.model, 'started:latest');
      assert.ok(events.some((e) => e.type === 'log' && e.message === `starting '${bin} serve' for http://127.0.0.1:${port}`));
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.FAKE_OLLAMA_PIDFILE === undefined) delete process.env.FAKE_OLLAMA_PIDFILE;
      else process.env.FAKE_OLLAMA_PIDFILE = saved.FAKE_OLLAMA_PIDFILE;
      const pid = Number(await readFile(pidFile, 'utf8').catch(() => ''));
      if (pid > 0) process.kill(pid, 'SIGTERM');
    }
  });

  test('a binary that exits, one that never answers, and a host on another machine', async () => {
    const host = resolveOllamaHost({ explicit: `127.0.0.1:${await freePort()}` });
    const exits = await script('ollama-exits', 'exit 3');
    await assert.rejects(startServer(new OllamaClient(host), exits, { timeoutMs: 10_000 }), /exited with code 3 before answering/);
    const silent = await script('ollama-silent', 'exec sleep 30');
    await assert.rejects(startServer(new OllamaClient(host), silent, { timeoutMs: 400, pollMs: 50 }), /started '.*ollama-silent serve' but nothing answered at .* within 0\.4 s/);
    await assert.rejects(startServer(new OllamaClient(resolveOllamaHost({ explicit: 'gpu-box:11434' })), silent), /not on this machine/);
  });
});

describe('model manager', () => {
  let fake: FakeOllama;
  let client: OllamaClient;
  before(async () => {
    fake = await startFakeOllama();
    client = new OllamaClient(resolveOllamaHost({ explicit: fake.url }));
    const path = join(dir, 'mgr.gguf');
    await writeSyntheticGguf(path, tinyLlama({ seed: 9, type: 'F16' }));
    await registerGguf({ ggufPath: path, name: 'mgr:f16', host: fake.url, verify: false, numCtx: 1024 });
  });
  after(async () => {
    await fake.stop();
  });

  test('list, show, copy, running, delete', async () => {
    const [m] = await client.listModels();
    assert.equal(m!.name, 'mgr:f16');
    assert.equal(m!.family, 'llama');
    assert.deepEqual(m!.families, ['llama']);
    assert.equal(m!.quantization, 'F16');
    assert.equal(m!.format, 'gguf');
    assert.equal(m!.contextLength, 256);
    assert.match(m!.digest, /^[0-9a-f]{64}$/);
    assert.ok(m!.sizeBytes > 0);
    assert.ok(!Number.isNaN(Date.parse(m!.modifiedAt)));

    const shown = await client.showModel('MGR:f16');
    assert.equal(shown.family, 'llama');
    assert.match(shown.parameters, /num_ctx\s+1024/);
    assert.equal(shown.modelInfo['general.architecture'], 'llama');

    await client.copyModel('mgr:f16', 'mgr-copy');
    assert.deepEqual((await client.listModels()).map((x) => x.name).sort(), ['mgr-copy:latest', 'mgr:f16']);
    assert.equal((await client.findModel('MGR-COPY'))?.name, 'mgr-copy:latest');

    assert.deepEqual(await client.runningModels(), []);
    await client.generate({ model: 'mgr-copy', prompt: 'hi' });
    const [r] = await client.runningModels();
    assert.equal(r!.name, 'mgr-copy:latest');
    assert.equal(r!.placement, 'gpu');
    assert.equal(r!.contextLength, 1024);
    assert.ok(r!.expiresAt !== null);

    await client.deleteModel('mgr-copy');
    assert.deepEqual((await client.listModels()).map((x) => x.name), ['mgr:f16']);
  });

  test('server errors arrive as QuantfitErrors with the server\'s words', async () => {
    await assert.rejects(client.deleteModel('nope'), (err: unknown) => {
      assert.ok(err instanceof QuantfitError);
      assert.equal(err.message, "Ollama refused deleting 'nope' (HTTP 404): model 'nope' not found");
      return true;
    });
    await assert.rejects(client.showModel('nope'), /HTTP 404\): model 'nope:latest' not found/);
    await assert.rejects(client.copyModel('nope', 'x'), /HTTP 404\): model "nope" not found/);
    // A non-JSON error body (gin's 404 text) is reported as it is, without ollama-js console noise.
    const wrongPath = new OllamaClient({ url: `${fake.url}/nowhere`, source: 'user', loopback: true });
    await assert.rejects(wrongPath.listModels(), /HTTP 404\): 404 page not found/);
  });

  test('a server that is gone is reported as unreachable', async () => {
    const gone = await startFakeOllama();
    const c = new OllamaClient(resolveOllamaHost({ explicit: gone.url }));
    await gone.stop();
    await assert.rejects(c.listModels(), /cannot reach Ollama at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): is it running\?/);
  });
});

describe('blob helpers', () => {
  test('hash, HEAD, upload (201, then 200 without a second read), cancel leaves no partial blob', async () => {
    const fake = await startFakeOllama();
    try {
      const path = join(dir, 'blob.bin');
      await writeFile(path, Buffer.alloc(3 << 20, 7));
      const hex = await sha256File(path);
      assert.equal(hex, createHash('sha256').update(await readFile(path)).digest('hex'));
      assert.equal(await new OllamaClient(resolveOllamaHost({ explicit: fake.url })).hasBlob(hex), false);

      // Cancelled part-way: the server drops its temp file, nothing is stored.
      const ac = new AbortController();
      await assert.rejects(
        new OllamaClient(resolveOllamaHost({ explicit: fake.url })).uploadBlob(path, hex, { signal: ac.signal, onEvent: (e) => { if (e.type === 'progress' && e.done > 0) ac.abort(); } }),
        CancelledError,
      );
      for (let i = 0; i < 50 && (await fake.blobNames()).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(await fake.blobNames(), []);

      const events: JobEvent[] = [];
      const first = await new OllamaClient(resolveOllamaHost({ explicit: fake.url })).uploadBlob(path, hex, { onEvent: (e) => events.push(e) });
      assert.deepEqual(first, { status: 201, bytesSent: 3 << 20 });
      const last = events.at(-1) as Extract<JobEvent, { type: 'progress' }>;
      assert.deepEqual([last.stage, last.unit, last.done, last.total, last.etaSeconds], ['upload', 'bytes', 3 << 20, 3 << 20, 0]);
      assert.equal(await new OllamaClient(resolveOllamaHost({ explicit: fake.url })).hasBlob(hex), true);
      const second = await new OllamaClient(resolveOllamaHost({ explicit: fake.url })).uploadBlob(path, hex);
      assert.equal(second.status, 200);
      assert.deepEqual(await fake.blobNames(), [`sha256-${hex}`]);
      assert.throws(() => blobDigest('ABC'), /not a sha256 hex digest/);
      assert.equal(blobDigest('A'.repeat(64)), `sha256:${'a'.repeat(64)}`);
    } finally {
      await fake.stop();
    }
  });
});
