"""Pieces every CLI command shares: the --store option, opening the store, failing cleanly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

import click

import tracking
from tracking.store.sqlite_files import require_existing
from tracking.uri import mask_password, resolve_store_uri

F = TypeVar("F", bound=Callable[..., object])


class Failure(click.ClickException):
    """Exit code 1 with a message (passwords masked)."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(mask_password(message))


def store_option(fn: F) -> F:
    """``--store URI``; default ``$SWEEPS_STORE``, then ``sqlite:///sweeps.db``."""
    return click.option(
        "--store",
        default=None,
        metavar="URI",
        help="Tracking store URI (default: $SWEEPS_STORE, else sqlite:///sweeps.db).",
    )(fn)


# ``--user``: who a registry change is by, for the audit log.
user_option = click.option("--user", default=None, help="Who, for the audit log (default: $SWEEPS_USER, then login).")


def when_text(ms: int) -> str:
    """An epoch-milliseconds time as the models commands print it (UTC, to the second)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def not_found_text(exc: BaseException, uri: str) -> str:
    """Most "not found" surprises are a command pointed at the wrong store: say which one."""
    text = str(exc)
    return text if uri in text else f"{text} (looked in {uri})"


@contextmanager
def open_client(store: str | None, *, must_exist: bool = False) -> Iterator[tracking.TrackingClient]:
    """A client on ``store``; store errors become one masked line and exit 1 (a bad URI: 2).

    ``must_exist``: commands that only read refuse to create an empty SQLite file by accident.
    """
    try:
        uri = resolve_store_uri(store)
        if must_exist:
            require_existing(uri)
        client = tracking.connect(uri)
    except tracking.InvalidURI as exc:
        raise click.UsageError(mask_password(str(exc))) from exc
    except tracking.TrackingError as exc:
        text = str(exc)  # the store's own errors already say "cannot open the store ..."
        raise Failure(text if text.startswith("cannot open the store") else f"cannot open the store: {text}") from exc
    try:
        yield client
    except LookupError as exc:  # tracking.NotFound, reports.RunsNotFound
        raise Failure(not_found_text(exc, uri)) from exc
    except tracking.TrackingError as exc:
        raise Failure(str(exc)) from exc
    finally:
        client.close()
