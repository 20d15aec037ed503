"""Who leads the nodes of a store: the answer of ``Reseolio.leader()``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from . import _native


@dataclass(frozen=True)
class LeaderInfo:
    """Who leads the nodes sharing the store (the leader runs the rescuer, the pruner and the
    scheduler for all of them), as the node this client talks to sees it. Times are Unix
    milliseconds, as on ``Job``."""

    node_id: str
    """The node this client talks to: the embedded engine's, or the sidecar's engine's."""
    leader_node_id: Optional[str]
    """The leading node; None before the first election and after a leader resigned (a clean
    shutdown) until the next maintenance pass of a node elects one."""
    elected_at: Optional[int]
    """When the leader's current term began."""
    expires_at: Optional[int]
    """When its term lapses unless renewed. A leader that died keeps the row until another node
    takes over, so this may be in the past."""
    is_leader: bool
    """Whether ``node_id`` is the leader."""

    @staticmethod
    def _from_native(n: _native.LeaderInfo) -> "LeaderInfo":
        return LeaderInfo(
            node_id=n.node_id,
            leader_node_id=n.leader_node_id,
            elected_at=n.elected_at,
            expires_at=n.expires_at,
            is_leader=n.is_leader,
        )
