// The `quantfit` command line: parses argv and dispatches to a command over the core services.
export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write('quantfit — fit a local LLM to your machine\n');
    return 0;
  }
  process.stderr.write(`quantfit: error: unknown command '${argv[0]}'\n`);
  return 2;
}
