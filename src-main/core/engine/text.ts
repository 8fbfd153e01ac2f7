// The text llama.cpp runs over for evaluation and importance matrices.

import { readFile } from 'node:fs/promises';
import { quantfitError } from '../errors.ts';

export interface CalibrationText {
  readonly text: string;
  /** The file it came from (recorded in imatrix.datasets, named in messages). */
  readonly file: string;
}

export async function readCalibrationText(file: string): Promise<CalibrationText> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'ENOENT' ? quantfitError('engine.textNotFound', {}, { file }) : quantfitError('engine.textUnreadable', { reason: code ?? String(err) }, { file });
  }
  if (text.trim() === '') throw quantfitError('engine.textEmpty', {}, { file });
  return { text, file };
}
