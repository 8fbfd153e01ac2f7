// `quantfit inspect`: placeholder until its issue lands.
import { QuantfitError } from '../../core/errors.ts';

export const help = 'quantfit inspect: not available yet\n';

export async function run(_args: string[]): Promise<number> {
  throw new QuantfitError('the inspect command is not available yet');
}
