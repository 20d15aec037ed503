/**
 * `leader()` on every transport: the only node leads and says so; a second client on the same
 * storage URL names the same leader (a second node on SQLite and PostgreSQL, the same node
 * through one sidecar).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Reseolio, type LeaderInfo } from 'reseolio';
import { sleep, TRANSPORTS } from './helpers';

/** Polls until a leader is named: a node's first maintenance pass, at its start, elects one. */
async function namedLeader(r: Reseolio): Promise<LeaderInfo> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const info = await r.leader();
    if (info.leaderNodeId !== null) return info;
    assert.ok(Date.now() < deadline, `no leader after 10 s: ${JSON.stringify(info)}`);
    await sleep(20);
  }
}

for (const transport of TRANSPORTS) {
  describe(`leader() over the ${transport.name} transport`, { skip: transport.skip ?? false }, () => {
    let url: string;
    let close: () => Promise<void>;
    const clients: Reseolio[] = [];

    before(async () => {
      ({ url, close } = await transport.open());
    });
    after(async () => {
      for (const r of clients) await r.stop();
      await close();
    });

    it('every client sees who leads', async () => {
      const beforeMs = Date.now();
      const first = new Reseolio({ storage: url });
      clients.push(first);
      const info = await namedLeader(first);
      assert.deepEqual(Object.keys(info).sort(), ['electedAt', 'expiresAt', 'isLeader', 'leaderNodeId', 'nodeId']);
      assert.ok(info.nodeId.length > 0);
      assert.equal(info.leaderNodeId, info.nodeId, 'the only node leads');
      assert.equal(info.isLeader, true);
      assert.equal(typeof info.electedAt, 'number');
      assert.ok(info.electedAt! <= info.expiresAt! && info.expiresAt! > beforeMs, JSON.stringify(info));

      const second = new Reseolio({ storage: url });
      clients.push(second);
      const other = await namedLeader(second);
      assert.equal(other.leaderNodeId, info.leaderNodeId, 'one leader for the store');
      if (transport.name === 'sidecar') {
        // Both talk to the same sidecar: the same node, which leads.
        assert.deepEqual([other.nodeId, other.isLeader], [info.nodeId, true]);
      } else {
        // A second engine: a node of its own, which finds the first one leading.
        assert.notEqual(other.nodeId, info.nodeId);
        assert.equal(other.isLeader, false);
      }
    });
  });
}
