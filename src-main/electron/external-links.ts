// The only URLs the app opens in the user's browser. Anything else is refused.
import { EXTERNAL_LINKS } from '../../src-shared/contract.ts';

/** Allowed: https, no credentials, exact host, and the path at or under an allow-listed prefix. */
const ALLOWED: ReadonlyArray<{ host: string; pathPrefix: string }> = [
  { host: 'ollama.com', pathPrefix: '/download' },
  { host: 'github.com', pathPrefix: '/quantfit/quantfit' },
];

export function isAllowedExternalUrl(raw: string): boolean {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return false;
  }
  if (u.protocol !== 'https:' || u.username || u.password || u.port) return false;
  return ALLOWED.some(
    (a) => u.hostname === a.host && (u.pathname === a.pathPrefix || u.pathname.startsWith(`${a.pathPrefix}/`)),
  );
}

export const KNOWN_LINKS = EXTERNAL_LINKS;
