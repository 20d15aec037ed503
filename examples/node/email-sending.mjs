// Durable email sending with Reseolio, embedded on SQLite (the Node twin of
// examples/python/email_sending.py).
//
// The durable function sends one message with nodemailer. The SMTP server greylists, as many real
// ones do: it answers the first delivery to each recipient with 451 "try again later", so the job
// fails once and the retry delivers it. Kill the process at any moment and run it again: the
// enqueue is deduplicated by its idempotency key, the job resumes from storage, and the message
// arrives once.
//
//   node email-sending.mjs --serve-smtp          # also runs a local SMTP server (smtp-server)
//   node email-sending.mjs --smtp-port 2525      # uses a server that is already running
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { jobContext, Reseolio } from 'reseolio';

const SMTP_HOST = '127.0.0.1';

/** The client and its durable function, for the storage URL and SMTP port given. */
export function makeApp(storage, smtpPort) {
  const app = new Reseolio({ storage, pollIntervalMs: 100 });
  const transport = nodemailer.createTransport({ host: SMTP_HOST, port: smtpPort, secure: false, ignoreTLS: true });
  const sendEmail = app.durable(
    app.namespace('notifications', 'email', 'send'),
    async (to, subject, body) => {
      const { jobId, attempt } = jobContext();
      // A 4xx answer rejects: the attempt fails and the job is retried with backoff.
      await transport.sendMail({
        from: 'noreply@example.com',
        to,
        subject,
        text: body,
        headers: { 'X-Reseolio-Job': jobId },
      });
      return { to, attempt };
    },
    { maxAttempts: 5, backoff: 'exponential', initialDelayMs: Number(process.env.EMAIL_RETRY_DELAY_MS ?? 500), timeoutMs: 10_000 },
  );
  return { app, sendEmail, transport };
}

/**
 * A greylisting SMTP server: 451 for the first delivery to a recipient, then accept. Delivered
 * messages are appended to `mailbox`, one line per recipient: "<address> <job id>".
 */
export function serveSmtp(port, mailbox) {
  const seen = new Set();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (!seen.has(address.address)) {
        seen.add(address.address);
        const err = new Error('4.7.1 Greylisted, please try again later');
        err.responseCode = 451;
        return callback(err);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const job = /^X-Reseolio-Job:\s*(\S+)/im.exec(text)?.[1] ?? '-';
        for (const rcpt of session.envelope.rcptTo) fs.appendFileSync(mailbox, `${rcpt.address} ${job}\n`);
        callback();
      });
    },
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, SMTP_HOST, () => resolve({ server, seen }));
  });
}

async function main() {
  const { values: a } = parseArgs({
    options: {
      db: { type: 'string', default: process.env.RESEOLIO_DB ?? 'sqlite://./reseolio-email.db' },
      to: { type: 'string', default: 'alice@example.com' },
      'smtp-port': { type: 'string', default: process.env.SMTP_PORT ?? '8025' },
      'serve-smtp': { type: 'boolean', default: false },
      mailbox: { type: 'string', default: 'mailbox.txt' },
    },
  });
  const port = Number(a['smtp-port']);
  const smtp = a['serve-smtp'] ? await serveSmtp(port, a.mailbox) : undefined;
  const { app, sendEmail, transport } = makeApp(a.db, port);
  let deduplicated = false;
  app.on('deduplicated', () => (deduplicated = true));
  app.on('job:error', (job, error) => console.log(`attempt ${job.attempt} of job ${job.id} failed: ${error}`));
  try {
    await app.start();
    const job = await sendEmail.withOptions({ idempotencyKey: `welcome:${a.to}` })(a.to, 'Welcome', 'Thanks for signing up.');
    console.log(`job ${job.jobId} enqueued${deduplicated ? ' (already there: resumed)' : ''}`);
    const result = await job.result(60_000);
    const details = await job.details();
    console.log(`job ${job.jobId} ${details.status.toUpperCase()} after ${details.attempt} attempt(s): ${JSON.stringify(result)}`);
  } finally {
    await app.stop();
    transport.close();
    if (smtp) {
      await new Promise((resolve) => smtp.server.close(resolve));
      const lines = fs.readFileSync(a.mailbox, 'utf8').split('\n').filter(Boolean);
      console.log(`mailbox ${a.mailbox}: ${lines.length} message(s) delivered`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
