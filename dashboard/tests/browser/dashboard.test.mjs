// The dashboard in a real browser: Debian's headless Chromium, driven by playwright-core, over
// the `browser_fixture` example (a SQLite engine with jobs in every status, see
// dashboard/examples/browser_fixture.rs). It checks the overview's counts, filters and searches
// the job list, opens a DEAD job, retries it and sees it run to SUCCESS, reads the Steps tables
// of the jobs suspended on durable steps, and saves screenshots under the artifacts directory.
//
//   cargo build -p reseolio-dashboard --example browser_fixture
//   cd dashboard/tests/browser && npm ci && node --test
//
// Environment: RESEOLIO_BROWSER_FIXTURE (the fixture binary; default
// $CARGO_TARGET_DIR/debug/examples/browser_fixture), CHROMIUM_PATH (default /usr/bin/chromium),
// RESEOLIO_ARTIFACTS_DIR (default $CARGO_TARGET_DIR/artifacts). CARGO_TARGET_DIR defaults to the
// workspace's target/. Without Chromium the test is skipped, unless CI is set: then it fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const targetDir = path.resolve(repo, process.env.CARGO_TARGET_DIR || 'target');
const fixtureBin = process.env.RESEOLIO_BROWSER_FIXTURE ||
  path.join(targetDir, 'debug', 'examples', 'browser_fixture');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const artifacts = process.env.RESEOLIO_ARTIFACTS_DIR || path.join(targetDir, 'artifacts');

// The fixture's jobs by status (its doc comment has the table).
const COUNTS = { PENDING: 6, RUNNING: 1, FAILED: 1, SUCCESS: 4, DEAD: 3, CANCELLED: 1 };
const TOTAL = Object.values(COUNTS).reduce((a, b) => a + b, 0);
const DEAD_ERROR = 'SMTP 550 5.1.1 <grace@example.com>: mailbox unavailable';
const SMS_ERROR = 'SMS gateway: +44 7700 900123 unreachable (code 30003)';

// Flags that keep Chromium off the network (this machine has none) and out of the sandbox that
// root cannot use.
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const WAIT_MS = 10_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// A deadline for a race that does not itself keep the process alive.
const grace = (ms) => new Promise((r) => setTimeout(r, ms).unref());

// Polls `read` until `ok(value)` holds, for at most `ms`; the error names what was awaited and
// the last value seen.
async function waitFor(what, read, ok, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (e) {
      last = `error: ${e.message}`;
    }
    if (Date.now() > deadline) {
      throw new Error(`waited ${ms} ms for ${what}; last seen: ${JSON.stringify(last)}`);
    }
    await sleep(100);
  }
}

// Starts the fixture; `ready` resolves with {url, deadId, stepsId} once it printed READY (30 s
// at most).
function startFixture(dbPath) {
  const child = spawn(fixtureBin, ['--db', dbPath, '--port', '0'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const ready = new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no READY line within 30 s; stderr: ${stderr}`)), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^READY (http:\/\/127\.0\.0\.1:\d+) (\S+) (\S+)$/m);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], deadId: m[2], stepsId: m[3] });
      }
    });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the fixture exited (${code ?? signal}) before READY; stderr: ${stderr}`));
    });
  });
  return { child, ready, stderr: () => stderr };
}

// Closes the fixture's stdin (it then stops cleanly); kills it if it is still there after 5 s.
async function stopFixture(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin.end();
  if (await Promise.race([exited.then(() => true), grace(5_000).then(() => false)])) return;
  child.kill('SIGKILL');
  await Promise.race([exited, grace(2_000)]);
}

// The job rows on screen: [{id, status, name}].
function rows(page) {
  return page.locator('[data-testid="job-row"]').evaluateAll((trs) => trs.map((tr) => ({
    id: tr.dataset.jobId,
    status: tr.dataset.status,
    name: tr.querySelector('[data-testid="job-row-name"]').textContent,
  })));
}

const text = (page, testid) => page.getByTestId(testid).first().textContent();

// The step rows on screen: [{seq, name, kind, status, attempts, outcome}], where `outcome` is
// the text of the result, error or wait cell as it reads before anything is opened.
function stepRows(page) {
  return page.getByTestId('step-row').evaluateAll((trs) => trs.map((tr) => {
    const cell = (testid) => tr.querySelector(`[data-testid="${testid}"]`);
    const outcome = cell('step-outcome');
    return {
      seq: Number(tr.dataset.seq),
      name: cell('step-name').textContent,
      kind: cell('step-kind').textContent,
      status: cell('step-status').textContent,
      attempts: Number(cell('step-attempts').textContent),
      outcome: (outcome.querySelector('summary') || outcome).textContent,
    };
  }));
}

// Opens a job from the list filtered to its function, the one job of that function.
async function openJobOf(page, url, name) {
  await page.goto(`${url}/#/jobs?name=${name}`);
  const [row] = await waitFor(`the one ${name} job in the list`, () => rows(page),
    (r) => r.length === 1 && r[0].name === name);
  await page.getByTestId('job-row-id').click();
  await waitFor(`the page of the ${name} job`, () => text(page, 'job-id'), (id) => id === row.id);
  return row.id;
}

async function apiJob(url, id) {
  const res = await fetch(`${url}/api/jobs/${encodeURIComponent(id)}`);
  assert.equal(res.status, 200);
  return res.json();
}

test('the dashboard in headless Chromium: counts, filters, a DEAD job retried to SUCCESS',
  { timeout: 120_000 }, async (t) => {
    if (!existsSync(chromiumPath)) {
      const why = `${chromiumPath} is missing (apt-get install chromium, or set CHROMIUM_PATH)`;
      if (process.env.CI) assert.fail(`CI needs Chromium: ${why}`);
      t.skip(why);
      return;
    }
    assert.ok(existsSync(fixtureBin),
      `${fixtureBin} is missing: cargo build -p reseolio-dashboard --example browser_fixture`);
    await mkdir(artifacts, { recursive: true });

    const dir = await mkdtemp(path.join(os.tmpdir(), 'reseolio-browser-'));
    const fixture = startFixture(path.join(dir, 'jobs.db'));
    // Should this process die on its own, the fixture goes with it.
    const killOnExit = () => fixture.child.kill('SIGKILL');
    process.once('exit', killOnExit);
    let browser;
    try {
      const { url, deadId, stepsId } = await fixture.ready;
      browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS, timeout: 30_000 });
      const context = await browser.newContext({
        viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: 'UTC',
      });
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      page.setDefaultNavigationTimeout(WAIT_MS);
      const problems = [];
      page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
      page.on('dialog', (d) => { problems.push(`unexpected dialog: ${d.message()}`); d.dismiss(); });

      // The overview: one card per status with the fixture's count.
      await page.goto(`${url}/#/`);
      const counts = await waitFor('the status cards to show the fixture counts',
        async () => Object.fromEntries(await Promise.all(Object.keys(COUNTS).map(
          async (s) => [s, Number(await text(page, `status-count-${s}`))]))),
        (c) => Object.keys(COUNTS).every((s) => c[s] === COUNTS[s]));
      assert.deepEqual(counts, COUNTS);
      assert.equal(await text(page, 'jobs-total-count'), String(TOTAL));
      await page.screenshot({ path: path.join(artifacts, 'dashboard-overview.png'), fullPage: true });

      // Jobs: every job, then DEAD only, then DEAD send-email only.
      await page.getByTestId('nav-jobs').click();
      await waitFor(`the list to show all ${TOTAL} jobs`, () => rows(page), (r) => r.length === TOTAL);
      assert.equal(await text(page, 'jobs-total'), `${TOTAL} jobs`);

      await page.getByTestId('filter-status').selectOption('DEAD');
      const dead = await waitFor('only the DEAD jobs', () => rows(page),
        (r) => r.length === COUNTS.DEAD && r.every((j) => j.status === 'DEAD'));
      assert.deepEqual(new Set(dead.map((j) => j.name)), new Set(['send-email', 'charge-card']));
      assert.ok(dead.some((j) => j.id === deadId), `${deadId} is among the DEAD jobs`);

      await page.getByTestId('filter-name').fill('send-email');
      await page.getByTestId('filter-name').press('Enter');
      const deadMail = await waitFor('only the DEAD send-email jobs', () => rows(page),
        (r) => r.length === 2 && r.every((j) => j.status === 'DEAD' && j.name === 'send-email'));
      assert.ok(deadMail.some((j) => j.id === deadId));
      assert.equal(await text(page, 'jobs-total'), '2 jobs');
      assert.match(page.url(), /#\/jobs\?status=DEAD&name=send-email$/, 'the filters are in the address');
      await page.screenshot({ path: path.join(artifacts, 'dashboard-jobs.png'), fullPage: true });

      await page.getByTestId('search-box').fill(deadId);
      await page.getByTestId('search-box').press('Enter');
      await waitFor('the search to leave the one job', () => rows(page),
        (r) => r.length === 1 && r[0].id === deadId && r[0].status === 'DEAD');
      assert.equal(await text(page, 'page-info'), '1–1 of 1');

      // The DEAD job: its last error and both failed attempts.
      await page.getByTestId('job-row-id').click();
      await waitFor('the job page', () => text(page, 'job-id'), (id) => id === deadId);
      assert.equal(await text(page, 'job-status'), 'DEAD');
      assert.equal(await text(page, 'job-function'), 'send-email');
      assert.equal(await text(page, 'job-attempts'), '2 of 2');
      assert.equal(await text(page, 'job-error'), DEAD_ERROR);
      const attempts = () => page.getByTestId('attempt-row').evaluateAll((trs) => trs.map((tr) => ({
        attempt: Number(tr.dataset.attempt),
        outcome: tr.querySelector('[data-testid="attempt-outcome"]').textContent,
        worker: tr.cells[5].textContent,
        error: tr.cells[7].textContent,
      })));
      assert.deepEqual(await attempts(), [
        { attempt: 1, outcome: 'failure', worker: 'seed-worker', error: 'SMTP 421 4.7.0 try again later' },
        { attempt: 2, outcome: 'failure', worker: 'seed-worker', error: DEAD_ERROR },
      ]);
      assert.match(await text(page, 'job-args'), /grace@example\.com/);
      assert.equal(await page.getByTestId('steps-panel').count(), 0, 'no Steps panel for a job without steps');
      await page.screenshot({ path: path.join(artifacts, 'dashboard-job.png'), fullPage: true });

      // Retry: the fixture's send-email worker runs it to SUCCESS.
      await page.getByTestId('action-retry').click();
      await waitFor('the toast of the retry', () => text(page, 'toast'), (s) => s === 'Job queued again.');
      await waitFor('the retried job to reach SUCCESS', () => text(page, 'job-status'),
        (s) => s === 'SUCCESS', 15_000);
      // A retry starts the count of attempts anew: the third row is attempt 1 of the new round.
      const after = await waitFor('a third attempt, successful', attempts,
        (a) => a.length === 3 && a[2].outcome === 'success');
      assert.deepEqual(after[2], { attempt: 1, outcome: 'success', worker: 'mailer-worker', error: '—' });
      assert.equal(await text(page, 'job-attempts'), '1 of 2');
      assert.match(await text(page, 'job-result'), /"delivered": true/);
      assert.equal(await page.getByTestId('action-retry').count(), 0, 'no Retry on a SUCCESS job');
      await page.screenshot({ path: path.join(artifacts, 'dashboard-job-retried.png'), fullPage: true });

      // A job suspended on a sleep after three run steps, one of which failed.
      assert.equal(await openJobOf(page, url, 'onboard-user'), stepsId);
      const steps = await waitFor('the four steps', () => stepRows(page), (r) => r.length === 4);
      const { outcome: profileText, ...profile } = steps[1];
      assert.deepEqual([steps[0], profile, steps[2]], [
        { seq: 0, name: 'create-account', kind: 'run', status: 'SUCCESS', attempts: 1, outcome: '{"account_id":"acc_1042"}' },
        { seq: 1, name: 'fetch-profile', kind: 'run', status: 'SUCCESS', attempts: 2 },
        { seq: 2, name: 'send-welcome-sms', kind: 'run', status: 'FAILED', attempts: 3, outcome: SMS_ERROR },
      ]);
      const { outcome: waitText, ...sleep } = steps[3];
      assert.deepEqual(sleep, { seq: 3, name: 'wait-a-day', kind: 'sleep', status: 'WAITING', attempts: 1 });
      assert.match(waitText, /^sleeps until [A-Z][a-z]{2} \d{2}, \d{4}, /);
      const wakeAt = (await apiJob(url, stepsId)).steps[3].wake_at;
      const shownWake = page.getByTestId('step-wait').getByTestId('step-wake-at');
      assert.equal(await shownWake.getAttribute('datetime'), new Date(wakeAt).toISOString());
      const row = (seq) => page.locator(`[data-testid="step-row"][data-seq="${seq}"]`);
      assert.equal(await row(0).getByTestId('step-value').getAttribute('title'), '{\n  "account_id": "acc_1042"\n}',
        'a short value is whole, pretty in its title');
      assert.equal(await row(2).locator('.error-text').count(), 1, 'an error reads as one');
      // The long profile is cut to one line; it opens to the whole value, and stays open when
      // the page refreshes (every 2 s while the job is not finished).
      assert.ok(profileText.endsWith('…') && profileText.length === 80, profileText);
      const more = row(1).locator('details[data-testid="step-value"]');
      assert.equal(await more.evaluate((d) => d.open), false);
      await more.locator('summary').click();
      await more.locator('pre').waitFor({ state: 'visible' });
      assert.match(await more.locator('pre').textContent(), /"referrer": "newsletter-2026-11"/);
      await row(1).evaluate((tr) => { tr.dataset.seen = 'before'; });
      await waitFor('a refresh to render the table anew', () => row(1).getAttribute('data-seen'),
        (v) => v === null, 5_000);
      assert.equal(await row(1).locator('details[data-testid="step-value"]').evaluate((d) => d.open), true,
        'the opened value is still open after a refresh');
      await waitFor('the toasts to go', () => page.getByTestId('toast').count(), (n) => n === 0);
      await page.evaluate(() => window.scrollTo(0, 0)); // else the sticky header lands mid-page
      await page.screenshot({ path: path.join(artifacts, 'dashboard-job-steps.png'), fullPage: true });

      // A wait for an event with no deadline.
      await openJobOf(page, url, 'approve-order');
      const approval = await waitFor('the two steps', () => stepRows(page), (r) => r.length === 2);
      assert.deepEqual(approval.map((r) => [r.name, r.kind, r.status]),
        [['reserve-stock', 'run', 'SUCCESS'], ['manager-approval', 'event', 'WAITING']]);
      assert.equal(approval[1].outcome, 'waits for event approval:order-1005 until forever');

      // A wait for a child job, which links to that job.
      const importId = await openJobOf(page, url, 'import-contacts');
      const childId = (await apiJob(url, importId)).steps[0].wait_key;
      const child = await waitFor('the one step', () => stepRows(page), (r) => r.length === 1);
      assert.deepEqual(child, [{ seq: 0, name: 'sync-crm-account', kind: 'child', status: 'WAITING',
        attempts: 1, outcome: `waits for child job ${childId}` }]);
      await page.getByTestId('step-child-link').click();
      await waitFor('the child job page', () => text(page, 'job-id'), (id) => id === childId);
      assert.equal(await text(page, 'job-function'), 'sync-crm');
      assert.equal(await text(page, 'job-status'), 'PENDING');

      assert.deepEqual(problems, [], 'the browser reported no error');
      t.diagnostic(`screenshots: ${artifacts}/dashboard-{overview,jobs,job,job-retried,job-steps}.png`);
    } catch (e) {
      const stderr = fixture.stderr().trim();
      if (stderr) e.message += `\nfixture stderr:\n${stderr}`;
      throw e;
    } finally {
      if (browser) await Promise.race([browser.close(), grace(10_000)]);
      await stopFixture(fixture.child);
      process.removeListener('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    }
  });
