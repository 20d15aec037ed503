// The email example survives SIGKILL in the middle of a retry: after a restart the message
// arrives once and the job ends SUCCESS. A real SMTP server (smtp-server) runs in the test process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { serveSmtp } from './email-sending.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function runExample(db, port, delayMs) {
  return spawn(process.execPath, [path.join(HERE, 'email-sending.mjs'), '--db', db, '--smtp-port', String(port), '--to', 'bob@example.com'], {
    env: { ...process.env, EMAIL_RETRY_DELAY_MS: String(delayMs) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

const exited = (p) =>
  p.exitCode !== null || p.signalCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (code) => r(code)));

test('killed mid-retry, then restarted: the message is delivered once and the job is SUCCESS', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reseolio-email-'));
  const mailbox = path.join(dir, 'mailbox.txt');
  const port = await freePort();
  const smtp = await serveSmtp(port, mailbox);
  const db = `sqlite://${path.join(dir, 'email.db')}`;
  try {
    // The first attempt is greylisted; the retry waits 3 s: kill the process while it waits.
    const first = runExample(db, port, 3000);
    const line = await new Promise((resolve) => readline.createInterface({ input: first.stdout }).once('line', resolve));
    assert.match(line, /enqueued/);
    const jobId = line.split(' ')[1];
    const deadline = Date.now() + 20_000;
    while (!smtp.seen.has('bob@example.com')) {
      assert.ok(Date.now() < deadline, 'the first attempt never reached the SMTP server');
      await new Promise((r) => setTimeout(r, 20));
    }
    first.kill('SIGKILL');
    await exited(first);
    assert.ok(!fs.existsSync(mailbox), 'nothing was delivered before the kill');

    const second = runExample(db, port, 200);
    let out = '';
    second.stdout.on('data', (c) => (out += c));
    assert.equal(await exited(second), 0, out);
    assert.ok(out.includes(`job ${jobId} enqueued (already there: resumed)`), out);
    assert.ok(out.includes(`job ${jobId} SUCCESS`), out);
    assert.deepEqual(fs.readFileSync(mailbox, 'utf8').trim().split('\n'), [`bob@example.com ${jobId}`]);
  } finally {
    await new Promise((r) => smtp.server.close(r));
  }
});
