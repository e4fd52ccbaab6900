"""The stage runs gateway: who ran which stage for which entity, when, and how it ended."""

from __future__ import annotations

from sqlalchemy import text

from heaters.adapters.db.gateway import Gateway

_INTERRUPT_RUNNING = text("""
    UPDATE stage_runs SET outcome = 'interrupted'
    WHERE stage = :stage AND entity_id = :entity_id AND outcome = 'running'
""")
_START = text("""
    INSERT INTO stage_runs (stage, entity_id, worker, outcome) VALUES (:stage, :entity_id, :worker, 'running')
    RETURNING id
""")
_LAST_OUTCOME = text(
    "SELECT outcome FROM stage_runs WHERE stage = :stage AND entity_id = :entity_id ORDER BY id DESC LIMIT 1"
)
_FINISH = text("UPDATE stage_runs SET outcome = :outcome, detail = :detail, finished_at = now() WHERE id = :id")


class StageRuns(Gateway):
    def start(self, stage: str, entity_id: int, worker: str) -> int:
        """A new run; a run of the same stage and entity still marked running was killed mid-way (the caller
        holds the entity's lock), so it is marked interrupted."""
        params = {"stage": stage, "entity_id": entity_id}
        self.conn.execute(_INTERRUPT_RUNNING, params)
        return self.conn.execute(_START, params | {"worker": worker}).scalar_one()

    def last_outcome(self, stage: str, entity_id: int) -> str | None:
        return self.conn.execute(_LAST_OUTCOME, {"stage": stage, "entity_id": entity_id}).scalar()

    def finish(self, run_id: int, outcome: str, detail: str | None = None) -> None:
        self.conn.execute(_FINISH, {"id": run_id, "outcome": outcome, "detail": detail})
