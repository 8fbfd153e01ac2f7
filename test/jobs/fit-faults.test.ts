// The fit job when things go wrong: Ollama down (from the start, or gone by the time it is needed),
// the server dying mid-upload, an error mid-create, a digest mismatch, a full disk while quantizing
// (a real tmpfs, and a write failure injected under the writer), and cancellation at every stage.
// Each gives a clear error that says what was kept, leaves no temp or partial file (the output
// folder and the server's blob folder are listed), and a retry succeeds.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { FitCancelledError, FitError, runFitJob, type FitRequest } from '../../src-main/core/jobs/fit.ts';
import { registerGguf } from '../../src-main/core/ollama/register.ts';
import type { JobEvent, Stage } from '../../src-main/core/progress.ts';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { listDir, partialBlobs, workRequests, writeTinyLlama } from './support.ts';
import { formatMessage } from '../../src-shared/messages/index.ts';

let fake: FakeOllama;
let dir: string;
let input: string;
before(async () => {
  fake = await startFakeOllama();
  dir = await makeTempDir('fit-faults');
  // About 150 KB as Q8_0: big enough to die in the middle of an upload.
  input = await writeTinyLlama(dir, 'faulty', { seed: 9, nVocab: 512 });
});
after(async () => {
  await fake.stop();
  await removeTempDir(dir);
});

async function withOut<T>(name: string, run: (out: string) => Promise<T>): Promise<T> {
  const out = await makeTempDir(`fit-faults-${name}`);
  try {
    return await run(out);
  } finally {
    await removeTempDir(out);
  }
}

const request = (out: string, extra: Partial<FitRequest> = {}): FitRequest => ({ modelPath: input, type: 'Q8_0', outputDir: out, host: fake.url, ...extra });

/** An input of its own (another seed), so its blob is not on the server from an earlier test. */
let seed = 100;
async function freshInput(): Promise<string> {
  return writeTinyLlama(dir, 'faulty', { seed: seed++, nVocab: 512 });
}

test('Ollama down from the start: refused before quantizing, nothing written; the retry succeeds', async () => {
  await withOut('down', async (out) => {
    await fake.kill();
    try {
      await assert.rejects(runFitJob(request(out, { modelName: 'down' })), (err: unknown) => {
        assert.ok(err instanceof FitError);
        assert.match(err.message, new RegExp(`^(Ollama is not running at ${fake.url}|nothing answers at ${fake.url})`));
        assert.match(err.message, /; nothing was written$/);
        assert.equal(err.outcome.stage, 'inspect');
        return true;
      });
      assert.deepEqual(await listDir(out), []);
    } finally {
      await fake.restart();
    }
    const r = await runFitJob(request(out, { modelName: 'down', verify: false }));
    assert.equal(r.model, 'down:latest');
  });
});

test('Ollama gone by the time the model is quantized: the finished file is kept and named, with the import command', async () => {
  await withOut('gone', async (out) => {
    const kept = join(out, 'faulty.Q8_0.gguf');
    const onEvent = (e: JobEvent) => {
      if (e.type === 'stage' && e.stage === 'quantize' && e.status === 'start') void fake.kill();
    };
    try {
      await assert.rejects(runFitJob(request(out, { modelName: 'gone' }), { onEvent }), (err: unknown) => {
        assert.ok(err instanceof FitError);
        assert.match(err.message, new RegExp(`^(Ollama is not running at ${fake.url}|nothing answers at ${fake.url})`));
        assert.ok(err.message.endsWith(`; the quantized file ${kept} is complete and kept: register it later with: quantfit import ${kept} --name gone:latest`), err.message);
        assert.equal(err.outcome.keptOutput, kept);
        return true;
      });
      assert.deepEqual(await listDir(out), ['faulty.Q8_0.gguf'], 'no temp file, no Modelfile');
    } finally {
      await fake.restart();
    }
    // The retry the message offers: import the kept file.
    const r = await registerGguf({ ggufPath: kept, name: 'gone:latest', host: fake.url, verify: false });
    assert.equal(r.model, 'gone:latest');
  });
});

test('the server dies in the middle of the upload', async () => {
  await withOut('dies', async (out) => {
    input = await freshInput();
    fake.faults.dieDuringUploadAfterBytes = 40_000;
    try {
      await assert.rejects(runFitJob(request(out, { modelName: 'dies' })), (err: unknown) => {
        assert.ok(err instanceof FitError);
        assert.match(err.message, /^\/.*faulty\.Q8_0\.gguf: upload to Ollama at .* broke off after \d+ of \d+ bytes .*no model was created; Ollama deletes blobs that no model uses when it restarts/);
        assert.match(err.message, /the quantized file .*faulty\.Q8_0\.gguf is complete and kept: register it later with: quantfit import \S+ --name dies:latest$/);
        assert.equal(err.outcome.stage, 'upload');
        assert.equal(err.outcome.blobOnServer, false);
        return true;
      });
      assert.deepEqual(await listDir(out), ['faulty.Q8_0.gguf']);
      // A dead server cleans nothing up; Ollama (and the stand-in) prune the partial blob at startup.
      assert.equal((await partialBlobs(fake)).length, 1);
    } finally {
      delete fake.faults.dieDuringUploadAfterBytes;
      await fake.restart();
    }
    assert.deepEqual(await partialBlobs(fake), []);
    const r = await runFitJob(request(out, { modelName: 'dies', force: true, verify: false }));
    assert.equal(r.uploaded, true);
  });
});

test('an error in the middle of create: shown as the server wrote it, with the uploaded blob named', async () => {
  await withOut('midcreate', async (out) => {
    input = await freshInput();
    fake.faults.createErrorAfter = { afterStatus: 'verifying conversion', message: 'llama-quantize failed: exit status 2' };
    let sha = '';
    await assert.rejects(runFitJob(request(out, { modelName: 'midcreate' })), (err: unknown) => {
      assert.ok(err instanceof FitError);
      sha = err.outcome.blobSha256!;
      assert.match(err.message, /^\/.*faulty\.Q8_0\.gguf: Ollama could not create 'midcreate:latest': llama-quantize failed: exit status 2 \(the upload finished but no model was created/);
      assert.match(err.message, new RegExp(`; uploaded blob sha256:${sha}$`));
      assert.equal(err.outcome.blobOnServer, true);
      assert.equal(err.outcome.model, null);
      return true;
    });
    assert.equal(await fake.manifest('midcreate'), null);
    assert.deepEqual(await listDir(out), ['faulty.Q8_0.gguf']);
    assert.deepEqual(await partialBlobs(fake), []);
    assert.ok((await fake.blobNames()).includes(`sha256-${sha}`));
    const r = await runFitJob(request(out, { modelName: 'midcreate', force: true, verify: false }));
    assert.equal(r.sha256, sha, 'the same bytes again');
    assert.equal(r.uploaded, false, 'the blob from the failed attempt is reused');
  });
});

test('digest mismatch (bytes changed in transit)', async () => {
  await withOut('mismatch', async (out) => {
    input = await freshInput();
    fake.faults.corruptNextUpload = true;
    await assert.rejects(runFitJob(request(out, { modelName: 'mismatch' })), (err: unknown) => {
      assert.ok(err instanceof FitError);
      assert.match(err.message, /^\/.*faulty\.Q8_0\.gguf: Ollama refused the upload \(HTTP 400\): digest mismatch, expected "sha256:[0-9a-f]{64}", got "sha256:[0-9a-f]{64}"/);
      assert.match(err.message, /is complete and kept/);
      return true;
    });
    assert.deepEqual(await listDir(out), ['faulty.Q8_0.gguf']);
    assert.deepEqual(await partialBlobs(fake), []);
    const r = await runFitJob(request(out, { modelName: 'mismatch', force: true, verify: false }));
    assert.equal(r.model, 'mismatch:latest');
  });
});

describe('disk full while quantizing', () => {
  /** Mounts a 1 MiB tmpfs; null (with the reason) where mounting is not permitted. */
  function mountTmpfs(at: string): string | null {
    if (process.platform !== 'linux') return 'tmpfs mounts are a Linux test';
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', at], { stdio: 'pipe' });
      return null;
    } catch (err) {
      return `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`;
    }
  }

  test('a real full file system (1 MiB tmpfs filled up while the job runs)', async (t) => {
    const at = join(dir, 'tmpfs');
    mkdirSync(at);
    const reason = mountTmpfs(at);
    if (reason) {
      console.log(`# skipping the tmpfs ENOSPC variant: ${reason}`);
      t.skip(reason);
      rmSync(at, { recursive: true, force: true });
      return;
    }
    try {
      const filler = join(at, 'filler');
      const onEvent = (e: JobEvent) => {
        // After the free-space check passed: leave 32 KiB, less than the ~150 KB output.
        if (e.type === 'stage' && e.stage === 'quantize' && e.status === 'start') {
          const s = statfsSync(at);
          writeFileSync(filler, Buffer.alloc(s.bavail * s.bsize - 32 * 1024));
        }
      };
      fake.requests.length = 0;
      await assert.rejects(runFitJob(request(at, { modelName: 'full' }), { onEvent }), (err: unknown) => {
        assert.ok(err instanceof FitError);
        assert.match(err.message, /faulty\.Q8_0\.gguf: (write failed|cannot complete the output file): no space left on the device; the partial output was removed and nothing was sent to Ollama$/);
        assert.equal(err.outcome.keptOutput, null);
        return true;
      });
      assert.deepEqual(await listDir(at), ['filler'], 'the partial output is gone');
      assert.deepEqual(workRequests(fake.requests), []);
      // Preflight: with the filler still there, the job refuses before writing.
      await assert.rejects(runFitJob(request(at, { modelName: 'full' })), /not enough free space for the output: it needs \d+ KiB, \d+ KiB free; nothing was written$/);
      rmSync(filler);
      const r = await runFitJob(request(at, { modelName: 'full', verify: false }));
      assert.equal(r.model, 'full:latest');
    } finally {
      execFileSync('umount', [at]);
      rmSync(at, { recursive: true, force: true });
    }
  });

  test('ENOSPC from the writer\'s file writes (injected under the writer, no seam in it)', async (t) => {
    if (process.platform !== 'linux') {
      t.skip('finds the file of a handle through /proc/self/fd');
      return;
    }
    await withOut('enospc', async (out) => {
      // FileHandle.write of any handle whose file is in `out` fails as a full disk does.
      const probe: FileHandle = await open(input, 'r');
      const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
      await probe.close();
      const original = proto.write;
      let injected = 0;
      proto.write = function (this: FileHandle, ...args: unknown[]) {
        let path = '';
        try {
          path = readlinkSync(`/proc/self/fd/${this.fd}`);
        } catch {
          // not a file we can name
        }
        if (path.startsWith(`${out}/`)) {
          injected++;
          return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' }));
        }
        return original.apply(this, args);
      };
      try {
        await assert.rejects(runFitJob(request(out, { modelName: 'enospc' })), /faulty\.Q8_0\.gguf: write failed: no space left on the device; the partial output was removed and nothing was sent to Ollama$/);
      } finally {
        proto.write = original;
      }
      assert.ok(injected > 0);
      assert.deepEqual(await listDir(out), []);
      const r = await runFitJob(request(out, { modelName: 'enospc', verify: false }));
      assert.equal(r.model, 'enospc:latest');
    });
  });
});

describe('cancellation at each stage', () => {
  // When to pull the plug: at the start of the stage, or (quantize, upload) in the middle of its work.
  const cases: Array<{ stage: Stage; at: 'start' | 'progress'; type?: string; keptAfter: boolean }> = [
    { stage: 'inspect', at: 'start', keptAfter: false },
    { stage: 'advise', at: 'start', type: 'auto', keptAfter: false },
    { stage: 'quantize', at: 'progress', keptAfter: false },
    { stage: 'modelfile', at: 'start', keptAfter: true },
    { stage: 'upload', at: 'start', keptAfter: true },
    { stage: 'create', at: 'start', keptAfter: true },
    { stage: 'verify', at: 'start', keptAfter: true },
  ];
  for (const c of cases) {
    test(`during ${c.stage}`, async () => {
      await withOut(`cancel-${c.stage}`, async (out) => {
        const name = `cancel-${c.stage}`;
        input = await freshInput();
        const ac = new AbortController();
        const onEvent = (e: JobEvent) => {
          if (e.type === (c.at === 'start' ? 'stage' : 'progress') && e.stage === c.stage && (e.type !== 'stage' || e.status === 'start')) ac.abort();
        };
        if (c.stage === 'create') fake.faults.delayMs = 30;
        let message = '';
        try {
          await assert.rejects(runFitJob(request(out, { modelName: name, type: c.type ?? 'Q8_0' }), { signal: ac.signal, onEvent }), (err: unknown) => {
            assert.ok(err instanceof FitCancelledError, String(err));
            message = err.message;
            assert.ok(message.startsWith(`cancelled during ${c.stage}`), message);
            return true;
          });
        } finally {
          delete fake.faults.delayMs;
        }
        const files = await listDir(out);
        if (c.keptAfter) {
          assert.deepEqual(files, ['faulty.Q8_0.gguf'], 'only the finished GGUF: no temp file, no Modelfile');
          assert.match(message, new RegExp(`the quantized file .*faulty\\.Q8_0\\.gguf is complete and kept: register it later with: quantfit import \\S+ --name ${name}:latest`));
        } else {
          assert.deepEqual(files, []);
          assert.match(message, c.stage === 'quantize' ? /the partial output was removed and nothing was sent to Ollama$/ : /nothing was written$/);
        }
        if (c.stage === 'create' || c.stage === 'verify') {
          assert.match(message, /uploaded blob sha256:[0-9a-f]{64} but no model uses it — Ollama prunes unreferenced blobs when it restarts/);
        }
        if (c.stage === 'verify') assert.match(message, new RegExp(`the model ${name}:latest this run had created was removed again`));
        // Wait for a dropped create to finish on the server side before looking.
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(await fake.manifest(name), null, 'no model is left behind');
        assert.deepEqual(await partialBlobs(fake), []);

        const r = await runFitJob(request(out, { modelName: name, force: c.keptAfter, verify: false }));
        assert.equal(r.model, `${name}:latest`);
      });
    });
  }
});

test('cancelled during verify: the model is taken back, but a Modelfile the user wrote under its name is not touched', async () => {
  await withOut('cancel-own-modelfile', async (out) => {
    input = await freshInput();
    const theirs = 'FROM ./faulty.Q8_0.gguf\nPARAMETER temperature 0.1\n';
    writeFileSync(join(out, 'faulty.Q8_0.Modelfile'), theirs);
    const ac = new AbortController();
    const onEvent = (e: JobEvent) => {
      if (e.type === 'stage' && e.stage === 'verify' && e.status === 'start') ac.abort();
    };
    await assert.rejects(runFitJob(request(out, { modelName: 'cancel-own' }), { signal: ac.signal, onEvent }), (err: unknown) => {
      assert.ok(err instanceof FitCancelledError, String(err));
      assert.match(err.message, /the model cancel-own:latest this run had created was removed again/);
      return true;
    });
    assert.equal(readFileSync(join(out, 'faulty.Q8_0.Modelfile'), 'utf8'), theirs);
    assert.deepEqual(await listDir(out), ['faulty.Q8_0.Modelfile', 'faulty.Q8_0.gguf']);
  });
});

test('after the model is created, a failed test run is reported and the model stays', async () => {
  await withOut('verify-fails', async (out) => {
    // Make the model unloadable between create and verify: remove its model layer (synchronously,
    // inside the event, so the test prompt certainly comes after).
    const onEvent = (e: JobEvent) => {
      if (e.type === 'stage' && e.stage === 'create' && e.status === 'done') {
        const manifest = JSON.parse(readFileSync(join(fake.modelsDir, 'manifests', 'registry.ollama.ai', 'library', 'verify-fails', 'latest'), 'utf8')) as {
          layers: Array<{ mediaType: string; digest: string }>;
        };
        const layer = manifest.layers.find((l) => l.mediaType.endsWith('.model'))!;
        rmSync(fake.blobPath(layer.digest.slice('sha256:'.length)));
      }
    };
    const r = await runFitJob(request(out, { modelName: 'verify-fails' }), { onEvent });
    assert.equal(r.model, 'verify-fails:latest');
    assert.equal(r.verify, null);
    assert.match(r.verifyError ? formatMessage(r.verifyError, 'en') : '', /not found, try pulling it first/);
    assert.ok(r.warnings.some((w) => formatMessage(w, 'en').startsWith('verify-fails:latest was created, but the test run failed')));
    assert.notEqual(await fake.manifest('verify-fails'), null);
    assert.deepEqual(await listDir(out), ['faulty.Q8_0.Modelfile', 'faulty.Q8_0.gguf']);
  });
});
