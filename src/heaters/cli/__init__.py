"""The `heaters` command line. Thin: each command parses options and calls a service or adapter.

Commands live in modules by what they touch: `pipeline` (serve, worker, ingest, status, retry), `search`,
`user`, and the standalone media tools that need no database (`preprocess`, `detect`, `clip`).
"""

from __future__ import annotations

import typer

from heaters.cli import clip, detect, pipeline, preprocess, search, user

app = typer.Typer(help="Heaters: long videos in, a curated, searchable clip library out.", no_args_is_help=True)
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


def main() -> None:
    """Entry point: domain errors and invalid settings become a readable message and exit code 2, never a
    traceback (messages are redacted: no storage URL or password is printed)."""
    from pydantic import ValidationError
    from rich.text import Text

    from heaters.domain.errors import HeatersError
    from heaters.domain.redact import redact

    try:
        app()
    except HeatersError as error:
        pipeline.console.print(Text.assemble(("error:", "red"), " ", redact(str(error))), soft_wrap=True)
        raise SystemExit(2) from None
    except ValidationError as error:
        problems = "; ".join(f"HEATERS_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        message = Text.assemble(("error:", "red"), f" invalid settings: {redact(problems)}")
        pipeline.console.print(message, soft_wrap=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
