// The application menu as data. main.ts turns commands into click handlers; roles are Electron's.
import type { MenuCommand as RendererCommand } from '../../src-shared/contract.ts';

export type MenuCommand = RendererCommand | 'open-ollama-download' | 'open-docs';

export interface MenuItemSpec {
  label?: string;
  role?: string;
  command?: MenuCommand;
  accelerator?: string;
  type?: 'separator';
  submenu?: MenuItemSpec[];
}

export function buildMenuTemplate(opts: { platform: string; dev: boolean; appName: string }): MenuItemSpec[] {
  const mac = opts.platform === 'darwin';
  const sep: MenuItemSpec = { type: 'separator' };
  const menu: MenuItemSpec[] = [];
  if (mac) {
    menu.push({
      label: opts.appName,
      submenu: [{ role: 'about' }, sep, { label: 'Settings…', command: 'show-settings', accelerator: 'Cmd+,' }, sep, { role: 'hide' }, { role: 'hideOthers' }, { role: 'unhide' }, sep, { role: 'quit' }],
    });
  }
  menu.push({
    label: 'File',
    submenu: [
      { label: 'Open Model…', command: 'open-model', accelerator: 'CmdOrCtrl+O' },
      sep,
      ...(mac ? [] : [{ label: 'Settings…', command: 'show-settings' as const, accelerator: 'Ctrl+,' }, sep]),
      mac ? { role: 'close' } : { role: 'quit' },
    ],
  });
  menu.push({ label: 'Edit', submenu: [{ role: 'undo' }, { role: 'redo' }, sep, { role: 'cut' }, { role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }] });
  menu.push({
    label: 'View',
    submenu: [
      { label: 'Home', command: 'show-home', accelerator: 'CmdOrCtrl+1' },
      { label: 'Library', command: 'show-library', accelerator: 'CmdOrCtrl+2' },
      sep,
      ...(opts.dev ? [{ role: 'reload' }, { role: 'toggleDevTools' }, sep] : []),
      { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, sep, { role: 'togglefullscreen' },
    ],
  });
  menu.push({ label: 'Window', submenu: [{ role: 'minimize' }, ...(mac ? [{ role: 'zoom' }, sep, { role: 'front' }] : [{ role: 'close' }])] });
  menu.push({
    label: 'Help',
    submenu: [
      { label: 'Download Ollama', command: 'open-ollama-download' },
      { label: 'Quantfit Documentation', command: 'open-docs' },
    ],
  });
  return menu;
}

/** Commands the renderer handles (navigation), as opposed to ones main handles itself. */
export const RENDERER_COMMANDS: readonly RendererCommand[] = ['open-model', 'show-home', 'show-library', 'show-settings'];

export function isRendererCommand(c: MenuCommand): c is RendererCommand {
  return (RENDERER_COMMANDS as readonly string[]).includes(c);
}
