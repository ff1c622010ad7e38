"""`flask gallery ...`: operator commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from gallery.clients import clients
from gallery.tasks import needs_queueing, queue_thumbnails

group = AppGroup("gallery", help="Gallery maintenance.")


@group.command("queue-thumbnails")
def queue_thumbnails_command() -> None:
    """Queue thumbnails for every image whose job Redis never took (or lost)."""
    from flask import current_app

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    store, settings = clients(app).store, clients(app).settings
    queued = delayed = 0
    cursor = None
    while True:
        page = store.list_records(limit=100, cursor=cursor)
        for record in page.records:
            if needs_queueing(record, settings):
                if queue_thumbnails(record, app).queued_at is None:
                    delayed += 1
                else:
                    queued += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    click.echo(f"queued {queued}, still delayed {delayed}")
    if delayed:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(group)
