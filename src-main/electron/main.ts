// Electron main process: a thin shell that wires the core services to one window.
import { app, BrowserWindow, ipcMain } from 'electron';
import { join } from 'node:path';
import { IPC_CHANNELS, type AppInfo } from '../contract.ts';

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1100,
    height: 760,
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  });
  if (process.env.ELECTRON_RENDERER_URL) void win.loadURL(process.env.ELECTRON_RENDERER_URL);
  else void win.loadFile(join(import.meta.dirname, '../renderer/index.html'));
  return win;
}

ipcMain.handle(IPC_CHANNELS.appInfo, (): AppInfo => ({ version: app.getVersion(), platform: process.platform }));

void app.whenReady().then(() => {
  createWindow();
});
app.on('window-all-closed', () => app.quit());
