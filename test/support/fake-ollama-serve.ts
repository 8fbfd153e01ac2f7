// `ollama serve` stand-in for tests of starting a server: listens where OLLAMA_HOST says and runs the
// fake server until SIGTERM. Run as: node --import tsx test/support/fake-ollama-serve.ts serve
import { writeFileSync } from 'node:fs';
import { startFakeOllama } from './fake-ollama.ts';

if (process.argv[2] !== 'serve') {
  process.stderr.write('usage: fake-ollama-serve serve\n');
  process.exit(2);
}
const hostPort = process.env.OLLAMA_HOST ?? '127.0.0.1:11434';
const port = Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
const fake = await startFakeOllama({ port });
// Tests that cannot see the pid (it was started for them) find it here to stop the server.
if (process.env.FAKE_OLLAMA_PIDFILE) writeFileSync(process.env.FAKE_OLLAMA_PIDFILE, String(process.pid));
const stop = () => {
  void fake.stop().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
