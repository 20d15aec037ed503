/**
 * `npx reseolio ui`: the package's command serves the dashboard of a database through the addon,
 * stops on SIGTERM, and refuses bad input with exit code 2.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Reseolio } from 'reseolio';
import { PKG, tempDir } from './helpers';

const CLI = path.join(PKG, 'dist', 'cli.js');

describe('npx reseolio ui', () => {
  it('serves the dashboard and /metrics of a database until SIGTERM', async () => {
    const db = path.join(tempDir(), 'ui.db');
    const r = new Reseolio({ storage: `sqlite://${db}`, autoStart: false });
    const job = r.durable('cli:mail', async () => 1);
    await job();
    await job();
    await r.stop();

    const child = spawn(process.execPath, [CLI, 'ui', '--db', db, '--port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      const address = await new Promise<string>((resolve, reject) => {
        let err = '';
        const timer = setTimeout(() => reject(new Error(`no ready line in 20 s: ${err}`)), 20_000);
        child.stderr.on('data', (chunk: Buffer) => {
          err += chunk.toString();
          const m = /dashboard on http:\/\/(\S+)/.exec(err);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      const stats = (await (await fetch(`http://${address}/api/stats`)).json()) as {
        counts: Record<string, number>;
      };
      assert.equal(stats.counts.PENDING, 2);
      const page = await fetch(`http://${address}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      const metrics = await (await fetch(`http://${address}/metrics`)).text();
      assert.match(metrics, /reseolio_jobs\{status="PENDING"\} 2/);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a missing database and bad flags with exit code 2', () => {
    const dir = tempDir();
    const missing = spawnSync(process.execPath, [CLI, 'ui', '--db', path.join(dir, 'typo.db'), '--port', '0'], {
      encoding: 'utf8',
    });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no database at/);
    const flag = spawnSync(process.execPath, [CLI, 'ui', '--colour'], { encoding: 'utf8' });
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /unknown argument '--colour'/);
    const port = spawnSync(process.execPath, [CLI, 'ui', '--port', 'x'], { encoding: 'utf8' });
    assert.equal(port.status, 2);
    assert.match(port.stderr, /--port/);
    const open = spawnSync(process.execPath, [CLI, 'ui', '--db', 'sqlite::memory:', '--host', '0.0.0.0'], {
      encoding: 'utf8',
    });
    assert.equal(open.status, 2);
    assert.match(open.stderr, /token/);
  });
});
