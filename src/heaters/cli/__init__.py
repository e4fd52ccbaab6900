"""The `heaters` command line. Thin: each command parses options and calls a service or adapter.

Commands live in modules by what they touch: `pipeline` (serve, worker, ingest, status, retry), `search`,
`user`, `interchange` (export-timeline, export-dataset), and the standalone media tools that need no
database (`preprocess`, `detect`, `clip`).
"""

from __future__ import annotations

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

try:  # typer >= 0.20 carries its own copy of click, and its main loop catches that copy's exceptions
    from typer import _click
except ImportError:  # pragma: no cover
    import click as _click

from heaters.cli import clip, detect, interchange, pipeline, preprocess, search, user
from heaters.domain.errors import HeatersError
from heaters.domain.redact import redact


class _Refused(_click.ClickException):
    exit_code = 2


class _Commands(TyperGroup):
    """Every command runs inside this group's `invoke`: the one place where a domain error (a refusal, bad
    input, not found) becomes "Error: …" on standard error and exit code 2 — never a traceback, never a
    per-command mapping."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except HeatersError as error:
            raise _Refused(redact(str(error))) from None  # no storage URL or password in a message
        except ValidationError as error:  # a setting that does not parse (HEATERS_…)
            problems = "; ".join(f"HEATERS_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
            raise _Refused(f"invalid settings: {redact(problems)}") from None


app = typer.Typer(
    cls=_Commands, help="Heaters: long videos in, a curated, searchable clip library out.", no_args_is_help=True
)
app.command()(pipeline.serve)
app.command()(pipeline.worker)
app.command()(pipeline.migrate)
app.command()(pipeline.ingest)
app.command()(pipeline.status)
app.command()(pipeline.retry)
app.command()(search.search)
app.add_typer(user.user_app, name="user")
app.command("preprocess")(preprocess.preprocess_command)
app.command("detect")(detect.detect_command)
app.command("clip")(clip.clip_command)
app.command("export-timeline")(interchange.export_timeline)
app.command("export-dataset")(interchange.export_dataset)


def main(args: list[str] | None = None) -> None:
    app(args)


if __name__ == "__main__":
    main()
