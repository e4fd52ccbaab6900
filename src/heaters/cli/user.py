"""`heaters user add NAME`: create a reviewer account (the password is prompted for unless given)."""

from __future__ import annotations

import typer

from heaters.config import Settings

user_app = typer.Typer(help="Reviewer accounts.", no_args_is_help=True)


@user_app.command("add")
def add_user(
    name: str = typer.Argument(..., help="The name to sign in with."),
    password: str = typer.Option(None, "--password", help="At least 8 characters; prompted for (hidden) if not given."),
) -> None:
    """Create a reviewer who can sign in to the web app."""
    from heaters.runtime import open_runtime
    from heaters.services.users import create_user

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    runtime = open_runtime(Settings())
    try:
        reviewer = create_user(runtime.database, name, password)
    finally:
        runtime.close()
    typer.echo(f"created reviewer {reviewer.name!r} (id {reviewer.id})")
