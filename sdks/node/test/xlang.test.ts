/**
 * Node and Python on one job table: a job enqueued by Node runs in a Python worker and its result
 * is awaited in Node, and the other way round; on one SQLite file and through one sidecar.
 * Needs RESEOLIO_PYTHON, a Python with the reseolio package installed (CI sets it).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Reseolio } from 'reseolio';
import { exited, ROOT, TRANSPORTS } from './helpers';

const python = process.env.RESEOLIO_PYTHON;
const SCRIPT = path.join(ROOT, 'sdks', 'node', 'test', 'fixtures', 'xlang.py');
const run = promisify(execFile);

for (const transport of TRANSPORTS) {
  const skip = python ? (transport.skip ?? false) : 'RESEOLIO_PYTHON is not set (a Python with reseolio installed)';
  describe(`Node and Python over the ${transport.name} transport`, { skip }, () => {
    it('Node enqueues, a Python worker runs it, Node awaits the result', async () => {
      const { url, close } = await transport.open();
      const py = spawn(python!, [SCRIPT, url, 'worker'], { stdio: ['pipe', 'pipe', 'inherit'] });
      try {
        const first = await new Promise<string>((resolve, reject) => {
          readline.createInterface({ input: py.stdout! }).once('line', resolve);
          py.once('exit', (code) => reject(new Error(`python exited with ${code}`)));
        });
        assert.equal(first, 'ready');
        const r = new Reseolio({ storage: url });
        // Declared only to call it; this client runs no worker (start() is never called).
        const greet = r.durable('xlang:greet', async (_name: string, _times: number): Promise<{ greeting: string; times: number }> => {
          throw new Error('must run in Python');
        });
        const h = await greet('ada', 21);
        assert.deepEqual(await h.result(20_000), { greeting: 'hello ada from python', times: 42 });
        await r.stop();
      } finally {
        py.stdin!.end();
        await exited(py);
        await close();
      }
    });

    it('Python enqueues, a Node worker runs it, Python awaits the result', async () => {
      const { url, close } = await transport.open();
      const r = new Reseolio({ storage: url });
      r.durable('xlang:shout', async (s: string, extra: { nested: number[] }) => ({ shout: s.toUpperCase(), sum: extra.nested[0]! + extra.nested[1]! }));
      await r.start();
      try {
        const { stdout } = await run(python!, [SCRIPT, url, 'await', 'über'], { timeout: 30_000 });
        assert.deepEqual(JSON.parse(stdout), { shout: 'ÜBER', sum: 3 });
      } finally {
        await r.stop();
        await close();
      }
    });
  });
}
