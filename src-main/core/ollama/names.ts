// Ollama model names: refuse a bad name before anything is hashed or uploaded.

import { QuantfitError } from '../errors.ts';

// The parsing rules live in src-shared (the renderer checks names with them too).
import { parseModelName, type ModelName } from '../../../src-shared/ollama-names.ts';
export {
  DEFAULT_NAMESPACE, DEFAULT_REGISTRY, DEFAULT_TAG, displayName, parseModelName, sameModel, type ModelName,
} from '../../../src-shared/ollama-names.ts';

/** Like parseModelName, but throws a QuantfitError that says what a valid name looks like. */
export function requireModelName(raw: string): ModelName {
  const name = parseModelName(raw);
  if (name === null) {
    throw new QuantfitError(
      `invalid model name '${raw}': use model[:tag] with letters, digits, '_', '-' or '.' ` +
        `(first character a letter, digit or '_'; at most 80 characters per part)`,
    );
  }
  return name;
}
