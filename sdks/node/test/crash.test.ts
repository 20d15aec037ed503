/**
 * A worker process SIGKILLed while it runs jobs: a new process runs them again and the waiting
 * client sees every result; nothing is lost or half-written. On the embedded engine (SQLite or
 * PostgreSQL) the dead process is detected (same host) and its jobs are rescued at once, long
 * before their 60 s lease would lapse; through a sidecar the jobs come back when their (short)
 * lease lapses.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Reseolio } from 'reseolio';
import { exited, tempDir, TRANSPORTS, waitFor } from './helpers';

const FIXTURE = path.join(__dirname, 'fixtures', 'crash-worker.js');

function worker(url: string, mode: 'hang' | 'finish', log: string): ChildProcess {
  return spawn(process.execPath, [FIXTURE, url, mode, log], { stdio: ['ignore', 'pipe', 'inherit'] });
}

for (const transport of TRANSPORTS) {
  describe(`a crashed worker over the ${transport.name} transport`, { skip: transport.skip ?? false }, () => {
    it('a worker killed with SIGKILL mid-run: its jobs run again elsewhere and succeed once', async () => {
      const { url, close } = await transport.open();
      const dir = tempDir();
      const log = path.join(dir, 'log.txt');
      fs.writeFileSync(log, '');
      const producer = new Reseolio({ storage: url });
      const timeoutMs = transport.name === 'sidecar' ? 1500 : 60_000;
      const step = producer.durable('crash:step', async (n: number) => n * 10, { timeoutMs, initialDelayMs: 10 });
      const handles = await Promise.all([1, 2, 3].map((n) => step(n)));

      const victim = worker(url, 'hang', log);
      const started = () => fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('start')).length;
      await waitFor(() => started() === 3, 15_000, 'three running jobs');
      victim.kill('SIGKILL');
      await exited(victim);
      for (const h of handles) assert.equal(await h.status(), 'running', 'the lease is still held by the dead process');

      const survivor = worker(url, 'finish', log);
      try {
        const results = await Promise.all(handles.map((h) => h.result(20_000)));
        assert.deepEqual(results, [10, 20, 30]);
      } finally {
        survivor.kill('SIGTERM');
        await exited(survivor);
      }
      const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
      for (const h of handles) {
        assert.equal(lines.filter((l) => l === `start ${h.jobId} 1`).length, 1);
        assert.equal(lines.filter((l) => l.startsWith(`run ${h.jobId} `)).length, 1, 'ran to completion exactly once');
        const attempts = await h.attempts();
        assert.equal(attempts.length, 2);
        assert.notEqual(attempts[0]!.outcome, 'success');
        assert.equal(attempts[1]!.outcome, 'success');
      }
      await producer.stop();
      await close();
    });
  });
}
