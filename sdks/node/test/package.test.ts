/**
 * The package as installed: both entry points, the addon surface, and that a script exits by
 * itself after stop().
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as reseolio from 'reseolio';
import { NATIVE_SURFACE, native } from '../src/native';
import { longTimeout } from '../src/worker';
import { PKG, tempDir } from './helpers';

const run = promisify(execFile);

describe('the package', () => {
  it('exports the same names from require() and import', async () => {
    const script = `import * as esm from 'reseolio'; import { createRequire } from 'node:module';
      const cjs = createRequire(import.meta.url)('reseolio');
      const names = (m) => Object.keys(m).filter((k) => k !== 'default' && k !== '__esModule').sort();
      console.log(JSON.stringify([names(esm), names(cjs), esm.Reseolio === cjs.Reseolio]));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: PKG });
    const [esm, cjs, same] = JSON.parse(stdout) as [string[], string[], boolean];
    assert.deepEqual(esm, cjs);
    assert.ok(same, 'one module instance behind both entry points');
    assert.deepEqual(esm, Object.keys(reseolio).filter((k) => k !== '__esModule').sort());
    assert.ok(fs.existsSync(path.join(PKG, 'dist', 'index.d.ts')), 'types are built');
  });

  it('the addon has every function the TypeScript side calls', async () => {
    // `native()` here is the one compiled beside the tests; point it at the package's addon.
    process.env.RESEOLIO_NODE_ADDON ??= path.join(PKG, 'reseolio.node');
    const addon = native() as unknown as Record<string, unknown>;
    for (const name of NATIVE_SURFACE.addon) assert.equal(typeof addon[name], 'function', name);
    const client = await native().connect('sqlite::memory:');
    for (const name of NATIVE_SURFACE.Client) assert.equal(typeof (client as unknown as Record<string, unknown>)[name], 'function', `Client.${name}`);
    await client.enqueue('surface:job', '[]');
    const worker = await client.worker(['surface:job'], 1);
    for (const name of NATIVE_SURFACE.Worker) assert.equal(typeof (worker as unknown as Record<string, unknown>)[name], 'function', `Worker.${name}`);
    const task = await worker.poll();
    for (const name of NATIVE_SURFACE.Task) assert.ok(name in task, `Task.${name}`);
    await worker.complete(task.token, '1');
    await worker.shutdown(0);
    await client.close();
    assert.equal(typeof native().version(), 'string');
  });

  for (const [what, body] of [
    ['only enqueues', `await job(1); console.log('enqueued');`],
    ['enqueues, runs a job and awaits it', `await r.start(); console.log(await (await job(2)).result(10000));`],
  ] as const) {
    it(`a script that ${what} exits by itself after stop()`, async () => {
      const dir = tempDir();
      const script = `const { Reseolio } = require('reseolio');
        (async () => {
          const r = new Reseolio({ storage: 'sqlite://${dir}/exit.db' });
          const job = r.durable('exit:job', async (n) => n + 1);
          ${body}
          await r.stop();
        })();`;
      const { stdout } = await run(process.execPath, ['-e', script], { cwd: PKG, timeout: 20_000 });
      assert.match(stdout.trim(), /^(enqueued|3)$/);
    });
  }

  it('keeps the published 0.1.x configuration forms', () => {
    assert.equal(new reseolio.Reseolio().storage, 'sqlite://./reseolio.db');
    assert.equal(new reseolio.Reseolio({ storage: '127.0.0.1:50051' }).storage, 'grpc://127.0.0.1:50051');
    assert.equal(new reseolio.Reseolio({ autoStart: false, address: 'localhost:7000' }).storage, 'grpc://localhost:7000');
    assert.equal(new reseolio.Reseolio({ storage: 'grpc://h:1', coreBinaryPath: '/x' }).storage, 'grpc://h:1');
    assert.throws(() => new reseolio.Reseolio({ workerConcurrency: 0 }), /workerConcurrency/);
  });

  it('refuses a storage URL it cannot use, naming it', async () => {
    const r = new reseolio.Reseolio({ storage: 'mysql://x' });
    await assert.rejects(r.start(), (e: unknown) => e instanceof reseolio.ReseolioError && e.code === 'INVALID_ARGUMENT' && /mysql/.test(e.message));
    const pg = new reseolio.Reseolio({ storage: 'postgres://localhost/db?schema=Not-An-Identifier' });
    await assert.rejects(pg.start(), (e: unknown) => e instanceof reseolio.ReseolioError && e.code === 'INVALID_ARGUMENT' && /schema/.test(e.message));
    const down = new reseolio.Reseolio({ storage: 'grpc://127.0.0.1:1' });
    await assert.rejects(down.getJob('x'), (e: unknown) => e instanceof reseolio.ReseolioError && e.code === 'UNAVAILABLE');
  });
});

describe('attempt timers', () => {
  it('a timeout longer than Node timers can hold (up to 30 days) does not fire early', async () => {
    let fired = 0;
    const long = longTimeout(() => (fired += 1), 30 * 24 * 3600 * 1000);
    const short = longTimeout(() => (fired += 10), 20);
    await new Promise((r) => setTimeout(r, 100));
    long.cancel();
    short.cancel();
    assert.equal(fired, 10, 'only the 20 ms timer fired');
  });
});
