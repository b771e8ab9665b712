"""Pieces every CLI command shares: the --store option, opening a client, failing cleanly."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

import tracking
from tracking.uri import mask_password

F = TypeVar("F", bound=Callable[..., object])


def store_option(fn: F) -> F:
    """``--store URI``; default ``$SWEEPS_STORE``, then ``sqlite:///sweeps.db``."""
    return click.option(
        "--store",
        default=None,
        metavar="URI",
        help="Tracking store URI (default: $SWEEPS_STORE, else sqlite:///sweeps.db).",
    )(fn)


def open_client(store: str | None, **options: object) -> tracking.TrackingClient:
    try:
        return tracking.connect(store, **options)  # type: ignore[arg-type]
    except tracking.TrackingError as exc:
        raise click.ClickException(mask_password(str(exc))) from exc


class Failure(click.ClickException):
    """Exit code 1 with a message (click's own ClickException also exits 1)."""

    exit_code = 1
