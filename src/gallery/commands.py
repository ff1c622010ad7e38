"""`flask gallery ...`: operator commands."""

from __future__ import annotations

import io
from collections.abc import Iterator

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from PIL import Image

from gallery.clients import clients
from gallery.metadata import ORIENTATION, scrub
from gallery.records import ImageRecord
from gallery.storage import ImageStore
from gallery.tasks import collect_orphans, needs_queueing, requeue

group = AppGroup("gallery", help="Gallery maintenance.")


def this_app() -> Flask:
    """The app the command runs in (Flask's proxy: every use here reads its extensions)."""
    return current_app


def every_record(store: ImageStore) -> Iterator[ImageRecord]:
    """Every record, a page of 100 at a time (a command over all images holds one page)."""
    cursor = None
    while True:
        page = store.list_records(limit=100, cursor=cursor)
        yield from page.records
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


@group.command("queue-thumbnails")
def queue_thumbnails_command() -> None:
    """Queue thumbnails for every image whose job Redis never took (or lost)."""
    app = this_app()
    store, settings = clients(app).store, clients(app).settings
    queued = delayed = 0
    for record in every_record(store):
        if needs_queueing(record, settings):
            if requeue(record, app):
                queued += 1
            else:
                delayed += 1
    click.echo(f"queued {queued}, still delayed {delayed}")
    if delayed:
        raise SystemExit(1)


@group.command("rebuild-index")
def rebuild_index_command() -> None:
    """Bring the Redis index of records in line with OSS (the source of truth)."""
    done = clients(this_app()).catalog.reconcile()
    click.echo(f"index: {done.added} added, {done.updated} updated, {done.dropped} dropped")


@group.command("gc")
@click.option(
    "--min-age",
    type=click.FloatRange(min=0),
    default=None,
    help="Only objects older than this many seconds (default: ORPHAN_AGE_SECONDS, an hour).",
)
def gc_command(min_age: float | None) -> None:
    """Remove originals (and thumbnails) that have no record: what failed uploads left."""
    with this_app().app_context():
        removed = collect_orphans(min_age)
    click.echo(f"removed {removed} orphaned images or objects")


@group.command("scrub-metadata")
def scrub_metadata_command() -> None:
    """Rewrite stored originals without GPS and other personal metadata (uploads made before
    the gallery scrubbed them). Pixels, colour profile and orientation are kept."""
    store = clients(this_app()).store
    rewritten = kept = 0
    for record in every_record(store):
        if scrub_original(store, record.original_key, record.content_type):
            rewritten += 1
        else:
            kept += 1
    click.echo(f"rewrote {rewritten} originals, {kept} had nothing to remove")


def scrub_original(store: ImageStore, key: str, content_type: str) -> bool:
    data = store.read(key)
    if data is None:
        return False
    with Image.open(io.BytesIO(data)) as image:
        kind = image.format or ""
        orientation = image.getexif().get(ORIENTATION, 1)
    clean = io.BytesIO()
    scrub(io.BytesIO(data), clean, kind, orientation if isinstance(orientation, int) else 1)
    if clean.getvalue() == data:
        return False
    store.put_bytes(key, clean.getvalue(), content_type=content_type)
    return True


def init_app(app: Flask) -> None:
    app.cli.add_command(group)
