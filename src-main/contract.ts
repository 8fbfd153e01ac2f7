// The typed contract between the Electron main process and the renderer (IPC channels and payloads).
// The preload exposes exactly `QuantfitApi` on `window.quantfit`; main validates every argument.

export const IPC_CHANNELS = {
  appInfo: 'quantfit:app-info',
} as const;

export interface AppInfo {
  version: string;
  platform: string;
}

export interface QuantfitApi {
  appInfo(): Promise<AppInfo>;
}

export type { JobEvent, Stage } from './core/progress.ts';
