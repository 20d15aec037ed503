"""``Reseolio.leader()`` on every transport: the only node leads and says so; a second client on
the same storage URL names the same leader (a second node on SQLite and PostgreSQL, the same
node through one sidecar)."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from reseolio import LeaderInfo, Reseolio


async def named_leader(r: Reseolio) -> LeaderInfo:
    """Polls until a leader is named: a node's first maintenance pass, at its start, elects one."""
    deadline = time.monotonic() + 10
    while True:
        info = await r.leader()
        if info.leader_node_id is not None:
            return info
        assert time.monotonic() < deadline, f"no leader after 10 s: {info}"
        await asyncio.sleep(0.02)


def test_every_client_sees_who_leads(url: str) -> None:
    async def main() -> None:
        before_ms = int(time.time() * 1000)
        first = Reseolio(url)
        info = await named_leader(first)
        assert isinstance(info, LeaderInfo)
        assert info.node_id and info.leader_node_id == info.node_id and info.is_leader
        assert info.elected_at is not None and info.expires_at is not None
        assert info.elected_at <= info.expires_at and info.expires_at > before_ms
        with pytest.raises(dataclasses.FrozenInstanceError):
            info.is_leader = False  # type: ignore[misc]

        second = Reseolio(url)
        other = await named_leader(second)
        assert other.leader_node_id == info.leader_node_id, "one leader for the store"
        if url.startswith("grpc://"):
            # Both talk to the same sidecar: the same node, which leads.
            assert (other.node_id, other.is_leader) == (info.node_id, True)
        else:
            # A second engine: a node of its own, which finds the first one leading.
            assert other.node_id != info.node_id and not other.is_leader
        await second.close()
        await first.close()

    asyncio.run(main())
