// Pure builders for the one window: its options, its Content-Security-Policy, where it may navigate,
// and where it may appear. No electron import, so all of it is unit-tested without Electron.
import { resolve, sep } from 'node:path';
import { isLoopbackHost } from '../core/ollama/host.ts';

export interface Bounds {
  x?: number;
  y?: number;
  width: number;
  height: number;
}

export interface WindowState extends Bounds {
  maximized: boolean;
}

/** The subset of BrowserWindowConstructorOptions we set (a structural match for Electron's type). */
export interface WindowOptions {
  x?: number;
  y?: number;
  width: number;
  height: number;
  minWidth: number;
  minHeight: number;
  show: boolean;
  title: string;
  icon?: string;
  backgroundColor: string;
  autoHideMenuBar: boolean;
  webPreferences: {
    preload: string;
    contextIsolation: true;
    sandbox: true;
    nodeIntegration: false;
    nodeIntegrationInWorker: false;
    nodeIntegrationInSubFrames: false;
    webSecurity: true;
    allowRunningInsecureContent: false;
    webviewTag: false;
    experimentalFeatures: false;
    spellcheck: false;
    navigateOnDragDrop: false;
  };
}

export const DEFAULT_BOUNDS: Bounds = { width: 1180, height: 800 };
export const MIN_SIZE = { width: 760, height: 560 } as const;

export function buildWindowOptions(input: {
  preloadPath: string;
  state: WindowState | null;
  iconPath?: string;
  dark: boolean;
}): WindowOptions {
  const b = input.state ?? DEFAULT_BOUNDS;
  return {
    ...(b.x !== undefined && b.y !== undefined ? { x: b.x, y: b.y } : {}),
    width: Math.max(MIN_SIZE.width, b.width),
    height: Math.max(MIN_SIZE.height, b.height),
    minWidth: MIN_SIZE.width,
    minHeight: MIN_SIZE.height,
    // Shown on ready-to-show, so the user never sees an unpainted white frame.
    show: false,
    title: 'Quantfit',
    ...(input.iconPath ? { icon: input.iconPath } : {}),
    backgroundColor: input.dark ? '#15171c' : '#f7f7f5',
    autoHideMenuBar: false,
    webPreferences: {
      preload: input.preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      spellcheck: false,
      // A dropped file must reach our drop handler, never replace the page.
      navigateOnDragDrop: false,
    },
  };
}

/**
 * The Vite dev server to load the UI from (electron-vite passes ELECTRON_RENDERER_URL), or undefined.
 * Only unpackaged and only on this machine: the page gets the whole `window.quantfit` API, so a
 * packaged app never loads it from wherever an environment variable points.
 */
export function devServerUrl(value: string | undefined, packaged: boolean): string | undefined {
  if (packaged || !value) return undefined;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  if (u.username || u.password || !isLoopbackHost(u.hostname)) return undefined;
  return value;
}

/**
 * The renderer's CSP. Packaged: only the app's own files. Development adds the Vite dev server
 * (its websocket for hot reload, and inline styles Vite injects).
 */
export function contentSecurityPolicy(devServerUrl?: string): string {
  const dev = devServerUrl ? new URL(devServerUrl) : null;
  const devOrigin = dev ? `${dev.protocol}//${dev.host}` : '';
  const devWs = dev ? `ws://${dev.host}` : '';
  const directives: Array<[string, string]> = [
    ['default-src', "'self'"],
    ['script-src', dev ? `'self' ${devOrigin}` : "'self'"],
    // Svelte sets style attributes for bars and charts; no external styles.
    ['style-src', "'self' 'unsafe-inline'"],
    ['img-src', "'self' data:"],
    ['font-src', "'self'"],
    ['connect-src', dev ? `'self' ${devOrigin} ${devWs}` : "'self'"],
    ['object-src', "'none'"],
    ['base-uri', "'none'"],
    ['form-action', "'none'"],
    ['frame-src', "'none'"],
    ['frame-ancestors', "'none'"],
    ['worker-src', "'none'"],
  ];
  return directives.map(([k, v]) => `${k} ${v}`).join('; ');
}

/**
 * May the window navigate to `target`? Only to the page it was loaded from (reloads), never
 * anywhere else: links open through the external allow-list instead.
 */
export function isAllowedNavigation(target: string, appUrl: string): boolean {
  let t: URL;
  let a: URL;
  try {
    t = new URL(target);
    a = new URL(appUrl);
  } catch {
    return false;
  }
  if (t.protocol !== a.protocol) return false;
  if (t.protocol === 'file:') return t.pathname === a.pathname;
  return t.origin === a.origin && t.pathname === a.pathname;
}

export interface DisplayArea {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Restore saved bounds only if most of the title bar lands on a display that still exists;
 * otherwise keep the size and let the OS place the window (a monitor was unplugged).
 */
export function fitBoundsToDisplays(state: WindowState | null, displays: readonly DisplayArea[]): WindowState | null {
  if (!state) return null;
  const width = Math.max(MIN_SIZE.width, Math.round(state.width));
  const height = Math.max(MIN_SIZE.height, Math.round(state.height));
  if (state.x === undefined || state.y === undefined) return { width, height, maximized: state.maximized };
  const x = Math.round(state.x);
  const y = Math.round(state.y);
  const visible = displays.some((d) => {
    const titleY = y + 10;
    const overlapX = Math.min(x + width, d.x + d.width) - Math.max(x, d.x);
    return titleY >= d.y && titleY < d.y + d.height && overlapX >= Math.min(200, width / 2);
  });
  return visible ? { x, y, width, height, maximized: state.maximized } : { width, height, maximized: state.maximized };
}

/**
 * The file under `root` that an `app://<host>/…` request names, or null: another host, a path that
 * leaves `root` (`..`, encoded or not, backslashes on Windows), a NUL, or a malformed escape.
 */
export function appFilePath(requestUrl: string, root: string, host: string): string | null {
  let url: URL;
  let pathname: string;
  try {
    url = new URL(requestUrl);
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (url.host !== host || pathname.includes('\0')) return null;
  const base = resolve(root);
  const file = resolve(base, `.${pathname}`);
  return file === base || file.startsWith(base + sep) ? file : null;
}
