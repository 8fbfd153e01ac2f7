// Electron main process: a thin shell that wires the pure modules (window options, settings store,
// IPC validation, job manager) and the core services to one window.
import { app, BrowserWindow, clipboard, dialog, ipcMain, Menu, nativeTheme, net, protocol, screen, session, shell, utilityProcess, type MenuItemConstructorOptions } from 'electron';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  EXTERNAL_LINKS, INVOKE_METHODS, IPC_EVENT_CHANNEL, IPC_MENU_CHANNEL, ipcChannel,
  type ApiArgs, type ApiResult, type InvokeMethod, type IpcReply, type JobMessage,
} from '../../src-shared/contract.ts';
import { errorMessage } from '../core/errors.ts';
import { msg } from '../../src-shared/messages/index.ts';
import { isAllowedExternalUrl } from './external-links.ts';
import { validateArgs } from './ipc-validate.ts';
import { JobManager, type HostProcess } from './job-manager.ts';
import type { HostReply } from './job-protocol.ts';
import { buildMenuTemplate, isRendererCommand, type MenuCommand, type MenuItemSpec } from './menu.ts';
import { ProducedPaths } from './produced-paths.ts';
import { createCoreServices, jobKindFor, measureUnavailableReason, resolveJobInput, resolveMeasureInput } from './services.ts';
import { cancelJobOrSource, SourceServices, sourceApi } from './source-services.ts';
import { SettingsStore } from './settings-store.ts';
import { MeasuredStore } from './measured-store.ts';
import { calibrationTextPath } from './host-paths.ts';
import { defaultCalibrationTextPath } from '../core/engine/calibration.ts';
import { appFilePath, buildWindowOptions, contentSecurityPolicy, devServerUrl, fitBoundsToDisplays, isAllowedNavigation, type WindowState } from './window-options.ts';

const DEV_URL = devServerUrl(process.env.ELECTRON_RENDERER_URL, app.isPackaged);
if (process.env.ELECTRON_RENDERER_URL && !DEV_URL) console.warn('Quantfit: ELECTRON_RENDERER_URL ignored (packaged, or not a local http URL)');
const RENDERER_DIR = join(import.meta.dirname, '../renderer');
// The packaged renderer is served from a privileged custom scheme so we can attach real
// response headers (CSP) — file:// responses have none.
const APP_SCHEME = 'app';
const APP_URL = DEV_URL ?? `${APP_SCHEME}://quantfit/index.html`;

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
  process.exit(0);
}

let mainWindow: BrowserWindow | null = null;
let store: SettingsStore;
let measuredStore: MeasuredStore;

function send(channel: string, payload: JobMessage | MenuCommand): void {
  if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(channel, payload);
}

function spawnJobHost(): HostProcess {
  const child = utilityProcess.fork(join(import.meta.dirname, 'job-host.js'), [], { serviceName: 'Quantfit jobs', stdio: 'inherit' });
  return {
    postMessage: (m) => child.postMessage(m),
    onMessage: (l) => child.on('message', (m: HostReply) => l(m)),
    onExit: (l) => child.on('exit', (code) => l(code)),
    kill: () => {
      child.kill();
    },
  };
}

const produced = new ProducedPaths();
const jobs = new JobManager(spawnJobHost, (m) => {
  produced.note(m);
  measuredStore.note(m);
  send(IPC_EVENT_CHANNEL, m);
});

async function openExternalChecked(url: string): Promise<void> {
  if (isAllowedExternalUrl(url)) await shell.openExternal(url);
}

function runMenuCommand(command: MenuCommand): void {
  if (command === 'open-ollama-download') void openExternalChecked(EXTERNAL_LINKS.ollamaDownload);
  else if (command === 'open-docs') void openExternalChecked(EXTERNAL_LINKS.docs);
  else if (isRendererCommand(command)) send(IPC_MENU_CHANNEL, command);
}

function toElectronMenu(items: MenuItemSpec[]): MenuItemConstructorOptions[] {
  return items.map((i) => ({
    ...(i.label ? { label: i.label } : {}),
    ...(i.role ? { role: i.role as MenuItemConstructorOptions['role'] } : {}),
    ...(i.type ? { type: i.type } : {}),
    ...(i.accelerator ? { accelerator: i.accelerator } : {}),
    ...(i.command ? { click: () => runMenuCommand(i.command!) } : {}),
    ...(i.submenu ? { submenu: toElectronMenu(i.submenu) } : {}),
  }));
}

/** Implementations of every invoke method, after validation. */
function handlers(): { [M in InvokeMethod]: (...args: ApiArgs<M>) => Promise<ApiResult<M>> } {
  const core = createCoreServices(() => store.settings);
  const sources = new SourceServices(() => store.settings, (m) => send(IPC_EVENT_CHANNEL, m));
  return {
    appInfo: async () => ({ version: app.getVersion(), platform: process.platform }),
    hardware: () => core.hardware(),
    inspectModel: (p) => core.inspectModel(p),
    recommend: (p, ctx, opts) => core.recommend(p, ctx, opts),
    pickModelFile: async () => {
      const r = await dialog.showOpenDialog(mainWindow!, {
        properties: ['openFile'],
        filters: [{ name: 'GGUF model', extensions: ['gguf'] }, { name: 'All files', extensions: ['*'] }],
      });
      return r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0]!;
    },
    pickModelFolder: async () => {
      const r = await dialog.showOpenDialog(mainWindow!, { properties: ['openDirectory'] });
      return r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0]!;
    },
    pickImatrixFile: async () => {
      const r = await dialog.showOpenDialog(mainWindow!, {
        properties: ['openFile'],
        filters: [{ name: 'Importance matrix', extensions: ['dat', 'gguf'] }, { name: 'All files', extensions: ['*'] }],
      });
      return r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0]!;
    },
    pickFolder: async () => {
      const r = await dialog.showOpenDialog(mainWindow!, { properties: ['openDirectory', 'createDirectory'] });
      return r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0]!;
    },
    startFit: async (request) => jobs.start(jobKindFor(request), resolveJobInput(request, store.settings, app.getPath('downloads'))),
    startMeasure: async (path, types) => {
      // The key is taken before the job reads the model, so its figures go to the model it measured.
      const key = await measuredStore.keyFor(path);
      const id = jobs.start('measure', resolveMeasureInput(path, types, store.settings, app.getPath('temp')));
      measuredStore.expect(id, key);
      return id;
    },
    measureUnavailableReason: (path) => measureUnavailableReason(path),
    measuredFor: (path) => measuredStore.lookup(path),
    cancelJob: async (id) => cancelJobOrSource(id, jobs, sources),
    ...sourceApi(sources),
    listModels: () => core.listModels(),
    showModel: (n) => core.showModel(n),
    deleteModel: (n) => core.deleteModel(n),
    runningModels: () => core.runningModels(),
    // The renderer's view: whether a hub token is set, never the token.
    getSettings: async () => store.view,
    setSettings: async (patch) => {
      const s = await store.update(patch);
      if (patch.theme) nativeTheme.themeSource = s.theme;
      return s;
    },
    // Only a job's own output, and only revealed in the file manager: never opened or launched.
    openPath: async (p) => shell.showItemInFolder(produced.assertProduced(p)),
    // The validator already refused anything off the allow-list; checked again where it is used.
    openExternal: (url) => openExternalChecked(url),
    copyText: async (text) => clipboard.writeText(text),
  };
}

function registerIpc(): void {
  const impl = handlers() as unknown as Record<InvokeMethod, (...a: unknown[]) => Promise<unknown>>;
  for (const method of INVOKE_METHODS) {
    ipcMain.handle(ipcChannel(method), async (event, ...args: unknown[]): Promise<IpcReply<unknown>> => {
      // Only our own window's top frame may call in.
      if (!mainWindow || event.sender !== mainWindow.webContents || event.senderFrame !== mainWindow.webContents.mainFrame) {
        return { ok: false, error: msg('app.unknownFrame') };
      }
      try {
        const valid = await validateArgs(method, args);
        return { ok: true, value: await impl[method](...valid) };
      } catch (err) {
        return { ok: false, error: errorMessage(err) };
      }
    });
  }
}

function serveRenderer(): void {
  const csp = contentSecurityPolicy(DEV_URL);
  const root = resolve(RENDERER_DIR);
  protocol.handle(APP_SCHEME, async (request) => {
    const file = appFilePath(request.url, root, 'quantfit');
    if (file === null) return new Response('not found', { status: 404 });
    let res: Response;
    try {
      res = await net.fetch(pathToFileURL(file).toString());
    } catch {
      return new Response('not found', { status: 404 });
    }
    const headers = new Headers(res.headers);
    headers.set('Content-Security-Policy', csp);
    headers.set('X-Content-Type-Options', 'nosniff');
    return new Response(res.body, { status: res.status, headers });
  });
  // The dev server's responses get the same header.
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
}

function createWindow(): BrowserWindow {
  const displays = screen.getAllDisplays().map((d) => d.workArea);
  const state = fitBoundsToDisplays(store.window, displays);
  const dark = store.settings.theme === 'dark' || (store.settings.theme === 'system' && nativeTheme.shouldUseDarkColors);
  const win = new BrowserWindow(
    buildWindowOptions({
      preloadPath: join(import.meta.dirname, '../preload/index.cjs'),
      state,
      dark,
      // Packaged: electron-builder copies the icon into resources/; in development it is in the repo.
      iconPath: app.isPackaged ? join(process.resourcesPath, 'icon.png') : join(app.getAppPath(), 'resources/icon.png'),
    }),
  );
  if (state?.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());

  let saveTimer: NodeJS.Timeout | undefined;
  const saveBounds = (): void => {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      if (win.isDestroyed()) return;
      const b = win.getNormalBounds();
      const s: WindowState = { x: b.x, y: b.y, width: b.width, height: b.height, maximized: win.isMaximized() };
      void store.setWindow(s).catch(() => undefined);
    }, 400);
  };
  win.on('resize', saveBounds);
  win.on('move', saveBounds);
  win.on('close', () => {
    clearTimeout(saveTimer);
    const b = win.getNormalBounds();
    void store.setWindow({ x: b.x, y: b.y, width: b.width, height: b.height, maximized: win.isMaximized() }).catch(() => undefined);
  });
  win.on('closed', () => {
    mainWindow = null;
  });
  void win.loadURL(APP_URL);
  return win;
}

// Every web contents: no navigation away, no new windows, no webviews.
app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url, APP_URL)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAllowedNavigation(url, APP_URL)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    void openExternalChecked(url);
    return { action: 'deny' };
  });
});

app.on('second-instance', () => {
  if (!mainWindow) return;
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.focus();
});

// Quitting cancels running jobs and waits (bounded) for their cleanup, then quits for real.
let quitting = false;
app.on('before-quit', (event) => {
  if (quitting) return;
  event.preventDefault();
  quitting = true;
  void (async () => {
    await jobs.shutdown(5000);
    await Promise.all([store.flush(), measuredStore.flush()]);
    app.quit();
  })();
});

app.on('window-all-closed', () => app.quit());

void app.whenReady().then(async () => {
  store = await SettingsStore.open(app.getPath('userData'));
  // The text the job host measures over (host-paths.ts: it runs from the same folder as this file).
  const resourcesPath = (process as NodeJS.Process & { resourcesPath?: string }).resourcesPath;
  const calibration = calibrationTextPath(import.meta.dirname, resourcesPath, existsSync) ?? defaultCalibrationTextPath();
  measuredStore = await MeasuredStore.open(app.getPath('userData'), () => calibration);
  nativeTheme.themeSource = store.settings.theme;
  serveRenderer();
  registerIpc();
  Menu.setApplicationMenu(Menu.buildFromTemplate(toElectronMenu(buildMenuTemplate({ platform: process.platform, dev: Boolean(DEV_URL), appName: app.name }))));
  mainWindow = createWindow();
  app.on('activate', () => {
    if (!mainWindow) mainWindow = createWindow();
  });
});
