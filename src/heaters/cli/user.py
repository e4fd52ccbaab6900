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


@user_app.command("password")
def change_password(
    name: str = typer.Argument(..., help="The reviewer whose password changes."),
    password: str = typer.Option(None, "--password", help="At least 8 characters; prompted for (hidden) if not given."),
) -> None:
    """Set a reviewer's password; every session they have is signed out."""
    from heaters.domain.errors import HeatersError
    from heaters.runtime import open_runtime
    from heaters.services.users import set_password

    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    runtime = open_runtime(Settings())
    try:
        reviewer = set_password(runtime.database, name, password)
    except HeatersError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        runtime.close()
    typer.echo(f"changed the password of {reviewer.name!r}; their sessions are signed out")
