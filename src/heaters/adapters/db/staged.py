"""State bookkeeping shared by the tables the pipeline's stages move along (videos and clips): start an
attempt, finish, fail, reset the attempt budget. The runner (`heaters.pipeline.runner`) calls these under
the entity's row lock; which states are legal is the domain's business (`heaters.domain.stages`)."""

from __future__ import annotations

from sqlalchemy import text

from heaters.adapters.db.gateway import Gateway


class StagedTable(Gateway):
    TABLE = ""  # set by subclasses; never user input
    HAS_PROGRESS = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        progress_start = ", progress = 0.0" if cls.HAS_PROGRESS else ""
        progress_done = ", progress = 1.0" if cls.HAS_PROGRESS else ""
        cls._START = text(
            f"UPDATE {cls.TABLE} SET state = :state, attempts = attempts + 1, last_error = NULL{progress_start},"
            " updated_at = now() WHERE id = :id"
        )
        cls._FINISH = text(
            f"UPDATE {cls.TABLE} SET state = :state, attempts = 0{progress_done}, updated_at = now() WHERE id = :id"
        )
        cls._FAIL = text(
            f"UPDATE {cls.TABLE} SET state = :state, last_error = :error, updated_at = now() WHERE id = :id"
        )
        cls._HAND_OFF = text(
            f"UPDATE {cls.TABLE} SET attempts = greatest(attempts - 1, 0), updated_at = now() WHERE id = :id"
        )
        cls._RESET_ATTEMPTS = text(f"UPDATE {cls.TABLE} SET attempts = 0, updated_at = now() WHERE id = :id")
        cls._STATE_FOR_UPDATE = text(f"SELECT state, attempts FROM {cls.TABLE} WHERE id = :id FOR UPDATE")

    def start_attempt(self, entity_id: int, running_state: str) -> None:
        """Mark it running, count the attempt and clear the last error."""
        self.conn.execute(self._START, {"id": entity_id, "state": running_state})

    def finish(self, entity_id: int, done_state: str) -> None:
        self.conn.execute(self._FINISH, {"id": entity_id, "state": done_state})

    def fail(self, entity_id: int, failed_state: str, error: str) -> None:
        self.conn.execute(self._FAIL, {"id": entity_id, "state": failed_state, "error": error})

    def hand_off(self, entity_id: int) -> None:
        """The run that just started handed its work to other jobs: it was no attempt (see runner.HandedOff)."""
        self.conn.execute(self._HAND_OFF, {"id": entity_id})

    def reset_attempts(self, entity_id: int) -> None:
        self.conn.execute(self._RESET_ATTEMPTS, {"id": entity_id})

    def lock_state(self, entity_id: int) -> tuple[str, int] | None:
        """(state, attempts) with the row locked until the transaction ends; None when there is no such row."""
        row = self.conn.execute(self._STATE_FOR_UPDATE, {"id": entity_id}).first()
        return (row.state, row.attempts) if row is not None else None
