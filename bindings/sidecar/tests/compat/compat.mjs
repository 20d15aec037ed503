// Drives the published reseolio 0.1.3 npm client, unchanged, against a running sidecar.
// Usage: node compat.mjs HOST:PORT. Prints one line per check and "N passed, N failed" at the end;
// exits non-zero if any check failed.
import { Reseolio } from "reseolio";

const address = process.argv[2];
if (!address) {
  console.error("usage: node compat.mjs HOST:PORT");
  process.exit(2);
}
// The v1 client logs every step at debug level; keep the output to the checks.
console.debug = () => {};

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const client = new Reseolio({ storage: address, address, autoStart: false, workerConcurrency: 4 });
const calls = new Map();
const add = client.durable("compat:math:add", async (a, b) => {
  calls.set("add", (calls.get("add") ?? 0) + 1);
  return a + b;
});
let flakyRuns = 0;
const flaky = client.durable(
  "compat:flaky",
  async (x) => {
    flakyRuns++;
    if (flakyRuns === 1) throw new Error("first attempt fails");
    return `ok ${x}`;
  },
  { maxAttempts: 3, backoff: "fixed", initialDelayMs: 100 },
);
const slow = client.durable("compat:slow", async () => {
  await new Promise((r) => setTimeout(r, 60_000));
  return "never";
});

await client.start();

await check("enqueue, a worker run and result()", async () => {
  const job = await add(2, 3);
  assert(typeof job.jobId === "string" && job.jobId.length > 0, "no job id");
  const result = await job.result(10_000);
  assert(result === 5, `result ${result}`);
  assert((await job.status()) === "success", "status is not success");
  const details = await job.details();
  assert(details.attempt === 1, `attempt ${details.attempt}`);
});

await check("idempotency key returns the first job", async () => {
  const a = await add(1, 1, { idempotencyKey: "compat-key" });
  const b = await add(9, 9, { idempotencyKey: "compat-key" });
  assert(a.jobId === b.jobId, `${a.jobId} != ${b.jobId}`);
  assert((await b.result(10_000)) === 2, "the first job's result is not returned");
});

await check("a failed attempt is retried and then succeeds", async () => {
  const job = await flaky("x");
  const result = await job.result(15_000);
  assert(result === "ok x", `result ${result}`);
  const details = await job.details();
  assert(details.attempt === 2, `attempt ${details.attempt}`);
  assert(flakyRuns === 2, `ran ${flakyRuns} times`);
});

await check("cancel a pending job", async () => {
  const pending = await client.enqueue("compat:nobody-runs-this", [1], {});
  const cancelled = await client.cancelJob(pending);
  assert(cancelled === true, "cancel was refused");
  const job = await client.getJob(pending);
  assert(job.status === 6, `status ${job.status}`);
  const again = await client.cancelJob(pending);
  assert(again === false, "a second cancel succeeded");
});

await check("cancel a running job rejects its result()", async () => {
  const job = await slow();
  for (let i = 0; i < 50 && (await job.status()) !== "running"; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert((await job.status()) === "running", "the job never started");
  assert((await job.cancel()) === true, "cancel was refused");
  let rejected = false;
  try {
    await job.result(10_000);
  } catch (err) {
    rejected = /cancel/i.test(String(err));
  }
  assert(rejected, "result() did not reject with a cancellation");
});

await check("an unknown job id is NOT_FOUND", async () => {
  let code;
  try {
    await client.getJob("no-such-job");
  } catch (err) {
    code = err.code;
  }
  assert(code === 5, `code ${code}`);
});

await client.stop();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
