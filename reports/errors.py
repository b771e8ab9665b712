"""Exceptions of the reports package: one base, `ReportError`, and specific subclasses."""

from __future__ import annotations


class ReportError(Exception):
    """Base class of every error the reports package raises on purpose."""


class SweepNotFound(ReportError, LookupError):
    """No parent run carries the given sweep id."""


class RunsNotFound(ReportError, LookupError):
    """Some of the run ids given to a comparison are not in the store."""
