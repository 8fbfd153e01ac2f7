// `quantfit fit`: placeholder until its issue lands.
import { QuantfitError } from '../../core/errors.ts';

export const help = 'quantfit fit: not available yet\n';

export async function run(_args: string[]): Promise<number> {
  throw new QuantfitError('the fit command is not available yet');
}
