// The Node benchmark: the engine workloads through the Node package, embedded SQLite in the
// default durability mode. Prints one JSON line per figure (run by ci/bench, which compares them
// with the Rust figures of the same run). RESEOLIO_BENCH_SCALE shrinks the counts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Reseolio } from 'reseolio';

const SCALE = Number(process.env.RESEOLIO_BENCH_SCALE ?? '1');
const CORES = os.cpus().length;
const n = (count) => Math.max(10, Math.floor(count * SCALE));
const now = () => Number(process.hrtime.bigint()) / 1000; // µs

function emit(figure, value, unit) {
  console.log(JSON.stringify({ figure, transport: 'node', value: Math.round(value * 1000) / 1000, unit, cores: CORES }));
}

function pct(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.round((s.length - 1) * p)];
}

async function sequentialEnqueue(url) {
  const r = new Reseolio({ storage: url });
  await r.start();
  const count = n(2000);
  const lat = [];
  const start = now();
  for (let i = 0; i < count; i++) {
    const t = now();
    await r.enqueue('bench:noop', []);
    lat.push(now() - t);
  }
  const elapsed = now() - start;
  emit('node_sequential_enqueue_p50', pct(lat, 0.5), 'us');
  emit('node_sequential_enqueue_p99', pct(lat, 0.99), 'us');
  emit('node_sequential_enqueue_jobs_per_s', count / (elapsed / 1e6), 'jobs/s');
  await r.stop();
}

async function drain(url, concurrency) {
  const count = n(10_000);
  const producer = new Reseolio({ storage: url });
  for (let i = 0; i < count; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, count - i) }, () => producer.enqueue('bench:drain', [])));
  }
  await producer.stop();
  const r = new Reseolio({ storage: url, workerConcurrency: concurrency });
  let done = 0;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  r.durable('bench:drain', async () => null);
  r.on('job:success', () => {
    if (++done === count) finish();
  });
  const start = now();
  await r.start();
  await finished;
  const elapsed = now() - start;
  emit(`node_drain_concurrency_${concurrency}_jobs_per_s`, count / (elapsed / 1e6), 'jobs/s');
  await r.stop();
}

async function roundTrip(url) {
  const r = new Reseolio({ storage: url, workerConcurrency: 1 });
  const echo = r.durable('bench:echo', async (x) => x);
  await r.start();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const lat = [];
  for (let i = 0; i < n(1000); i++) {
    const t = now();
    await (await echo(i)).result();
    lat.push(now() - t);
  }
  emit('node_round_trip_p50', pct(lat, 0.5), 'us');
  emit('node_round_trip_p99', pct(lat, 0.99), 'us');
  await r.stop();
}

const dir = fs.mkdtempSync(path.join(process.env.RESEOLIO_BENCH_DIR ?? os.tmpdir(), 'reseolio-node-bench-'));
try {
  await sequentialEnqueue(`sqlite://${dir}/enqueue.db`);
  await drain(`sqlite://${dir}/drain10.db`, 10);
  await drain(`sqlite://${dir}/drain100.db`, 100);
  await roundTrip(`sqlite://${dir}/roundtrip.db`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
