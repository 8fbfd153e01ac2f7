// The calibration text shipped with Quantfit (resources/calibration/calibration.txt: English, Simplified
// Chinese and code; sources and licences in resources/calibration/README.md): the default text of
// `eval` and `imatrix`.

import { fileURLToPath } from 'node:url';
import { packagePath } from '../package-root.ts';

/** Env var with an explicit path to the text; the packaged app's job host sets it (see setCalibrationTextPath). */
export const CALIBRATION_PATH_ENV = 'QUANTFIT_CALIBRATION_PATH';

/** The file in the package (resources/calibration), from the sources or the compiled CLI alike. */
export function sourceCalibrationTextPath(): string {
  return fileURLToPath(packagePath('resources/calibration/calibration.txt'));
}

/**
 * Where the default calibration text is: the path set for this process (a packaged app keeps it among
 * its extra resources), else the one in the source tree. Child processes and workers inherit it.
 */
export function defaultCalibrationTextPath(): string {
  return process.env[CALIBRATION_PATH_ENV] || sourceCalibrationTextPath();
}

/** Use the text at `path` (undefined: back to the source tree's). */
export function setCalibrationTextPath(path: string | undefined): void {
  if (path === undefined) delete process.env[CALIBRATION_PATH_ENV];
  else process.env[CALIBRATION_PATH_ENV] = path;
}
