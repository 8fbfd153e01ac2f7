// English prose in text meant to be Chinese: what the language checks of the CLI look for.

/** What stays as typed: JSON and placeholders in brackets, quotes, options, identifiers, paths and URLs. */
function withoutLiterals(text: string): string {
  let s = text;
  // Innermost brackets first, so nested JSON ({a: [{b}]}, over several lines) goes whole.
  for (let before = ''; before !== s; ) {
    before = s;
    s = s.replace(/\{[^{}]*\}|\[[^[\]]*\]|<[^<>\n]*>|"[^"\n]*"|`[^`\n]*`|“[^”\n]*”/g, ' ');
  }
  return s
    .replace(/(^|\s)--?[\w-]+(=\S*)?/g, ' ')
    .replace(/\S*[\d_./:@*\\|=]\S*/g, ' ') // file names, types, URLs, hub references, sizes
    .replace(/\b[A-Z][A-Z0-9]+\b/g, ' '); // placeholders (NAME, TYPE) and acronyms
}

/** Runs of three or more English words with nothing Chinese between them. */
export function englishRuns(text: string): string[] {
  const runs: string[] = [];
  for (const line of withoutLiterals(text).split('\n')) {
    for (const m of line.matchAll(/[A-Za-z][A-Za-z'’-]*(?:[\s,;:()]+[A-Za-z][A-Za-z'’-]*){2,}/g)) runs.push(m[0]);
  }
  return runs;
}
