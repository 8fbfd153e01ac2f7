// The Node side of the e2e's `window.quantfit`: what main.ts does, minus Electron. Every call goes
// through the real IPC validator, then the real core services, settings store and job manager
// (jobs in a child process running the real registry). Only the OS bits (dialogs, clipboard, shell)
// are recorded instead of performed.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { INVOKE_METHODS, type ApiArgs, type ApiResult, type InvokeMethod, type IpcReply, type JobMessage } from '../../../src-shared/contract.ts';
import { errorMessage } from '../../../src-main/core/errors.ts';
import type { Message } from '../../../src-shared/message.ts';
import { ERROR_TEXT_PREFIX } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { validateArgs } from '../../../src-main/electron/ipc-validate.ts';
import { JobManager } from '../../../src-main/electron/job-manager.ts';
import { ProducedPaths } from '../../../src-main/electron/produced-paths.ts';
import { forkHost } from '../../electron/support/host.ts';
import { createCoreServices, jobKindFor, measureUnavailableReason, resolveJobInput, resolveMeasureInput } from '../../../src-main/electron/services.ts';
import { SettingsStore } from '../../../src-main/electron/settings-store.ts';
import { MeasuredStore } from '../../../src-main/electron/measured-store.ts';
import { defaultCalibrationTextPath } from '../../../src-main/core/engine/calibration.ts';
import { cancelJobOrSource, SourceServices, sourceApi } from '../../../src-main/electron/source-services.ts';

const HOST_ENTRY = fileURLToPath(new URL('./job-host-node.ts', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface BridgeRecords {
  calls: Array<{ method: InvokeMethod; args: unknown[] }>;
  clipboard: string[];
  opened: string[];
  external: string[];
}

export interface Bridge {
  invoke(method: string, args: unknown[]): Promise<IpcReply<unknown>>;
  onMessage(listener: (m: JobMessage) => void): void;
  /** What the next pickModelFile returns. */
  nextPick: string | null;
  /** What the next pickImatrixFile returns. */
  nextImatrixPick: string | null;
  /** Stands in for a machine without llama.cpp: measureUnavailableReason says this instead of looking. */
  /** Stands in for a machine without llama.cpp: why (as llamaUnavailableReason says it), or null. */
  engineMissing: Message | null;
  records: BridgeRecords;
  jobs: JobManager;
  close(): Promise<void>;
}

export async function createBridge(opts: { userDataDir: string; outputDir: string; ollamaUrl: string; language: 'en' | 'zh-CN'; hfEndpoint?: string; hfCache?: string }): Promise<Bridge> {
  const store = await SettingsStore.open(opts.userDataDir);
  await store.update({ ollamaHost: opts.ollamaUrl, outputDir: opts.outputDir, language: opts.language, threads: 2 });
  const measuredStore = await MeasuredStore.open(opts.userDataDir, defaultCalibrationTextPath);
  const core = createCoreServices(() => store.settings);
  // The hub cache of the test (HF_HUB_CACHE in a real run), and the hub test server as the endpoint.
  if (opts.hfEndpoint) await store.update({ hfEndpoint: opts.hfEndpoint });
  const listeners: Array<(m: JobMessage) => void> = [];
  const sources = new SourceServices(() => store.settings, (m) => listeners.forEach((l) => l(m)), opts.hfCache ? { hfCache: opts.hfCache } : {});
  // As main.ts: openPath reveals only what a finished job produced.
  const produced = new ProducedPaths();
  const jobs = new JobManager(forkHost(HOST_ENTRY), (m) => {
    produced.note(m);
    measuredStore.note(m);
    listeners.forEach((l) => l(m));
  });
  const records: BridgeRecords = { calls: [], clipboard: [], opened: [], external: [] };

  const bridge: Bridge = {
    nextPick: null,
    nextImatrixPick: null,
    engineMissing: null,
    records,
    jobs,
    onMessage: (l) => listeners.push(l),
    close: async () => {
      await jobs.shutdown(5000);
      await Promise.all([store.flush(), measuredStore.flush()]);
    },
    invoke: async (method, args) => {
      try {
        const m = method as InvokeMethod;
        const valid = await validateArgs(m, args);
        records.calls.push({ method: m, args: valid as unknown[] });
        return { ok: true, value: await (impl[m] as (...a: unknown[]) => Promise<unknown>)(...(valid as unknown[])) };
      } catch (err) {
        return { ok: false, error: errorMessage(err) };
      }
    },
  };

  const impl: { [M in InvokeMethod]: (...args: ApiArgs<M>) => Promise<ApiResult<M>> } = {
    appInfo: async () => ({ version: VERSION, platform: process.platform }),
    hardware: () => core.hardware(),
    inspectModel: (p) => core.inspectModel(p),
    recommend: (p, ctx, o) => core.recommend(p, ctx, o),
    pickModelFile: async () => bridge.nextPick,
    pickModelFolder: async () => bridge.nextPick,
    pickFolder: async () => opts.outputDir,
    pickImatrixFile: async () => bridge.nextImatrixPick,
    startFit: async (r) => jobs.start(jobKindFor(r), resolveJobInput(r, store.settings)),
    startMeasure: async (p, types) => {
      const key = await measuredStore.keyFor(p);
      const id = jobs.start('measure', resolveMeasureInput(p, types, store.settings));
      measuredStore.expect(id, key);
      return id;
    },
    measuredFor: (p) => measuredStore.lookup(p),
    measureUnavailableReason: async (p) => (bridge.engineMissing ? msg('measure.noEngine', { reason: bridge.engineMissing }) : measureUnavailableReason(p)),
    cancelJob: async (id) => cancelJobOrSource(id, jobs, sources),
    ...sourceApi(sources),
    listModels: () => core.listModels(),
    showModel: (n) => core.showModel(n),
    deleteModel: (n) => core.deleteModel(n),
    runningModels: () => core.runningModels(),
    getSettings: async () => store.view,
    setSettings: (patch) => store.update(patch),
    openPath: async (p) => {
      records.opened.push(produced.assertProduced(p));
    },
    openExternal: async (u) => {
      records.external.push(u);
    },
    copyText: async (t) => {
      records.clipboard.push(t);
    },
  };
  return bridge;
}

/**
 * Runs in the page before its scripts: `window.quantfit` with the QuantfitApi shape, forwarding to
 * the exposed `__quantfitInvoke` binding; job messages come back through `__quantfitDeliver`.
 * Dropped files map to real paths by name through `__quantfitDropPaths` (a test-side stand-in for
 * Electron's webUtils.getPathForFile).
 */
export function pageBridgeScript(): string {
  return `(() => {
    const invoke = async (method, ...args) => {
      const reply = await window.__quantfitInvoke(method, args);
      if (!reply.ok) throw new Error(${JSON.stringify(ERROR_TEXT_PREFIX)} + JSON.stringify(reply.error));
      return reply.value;
    };
    const jobListeners = new Set();
    const menuListeners = new Set();
    window.__quantfitDeliver = (m) => { for (const l of jobListeners) l(m); };
    window.__quantfitMenu = (c) => { for (const l of menuListeners) l(c); };
    window.__quantfitDropPaths = window.__quantfitDropPaths || {};
    const methods = ${JSON.stringify(INVOKE_METHODS)};
    const api = {};
    for (const m of methods) api[m] = (...args) => invoke(m, ...args);
    api.onJobEvent = (cb) => { jobListeners.add(cb); return () => jobListeners.delete(cb); };
    api.onMenuCommand = (cb) => { menuListeners.add(cb); return () => menuListeners.delete(cb); };
    api.pathForDroppedFile = (file) => {
      const p = window.__quantfitDropPaths[file.name];
      if (!p) throw new Error('no path for dropped file ' + file.name);
      return p;
    };
    Object.defineProperty(window, 'quantfit', { value: Object.freeze(api), writable: false });
  })();`;
}
