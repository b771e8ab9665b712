"""An estimator's params as the texts a run stores: long reprs (nested estimators) cut, not refused."""

from __future__ import annotations

from collections.abc import Mapping

from tracking.validation import MAX_PARAM_VALUE_LEN

__all__ = ["estimator_params", "param_texts"]


def param_texts(params: Mapping[str, object]) -> dict[str, str]:
    return {str(key): _text(value) for key, value in params.items()}


def estimator_params(estimator: object) -> dict[str, str]:
    """``get_params(deep=True)`` as texts."""
    return param_texts(estimator.get_params(deep=True))  # type: ignore[attr-defined]


def _text(value: object) -> str:
    text = (value if isinstance(value, str) else str(value)).replace("\x00", "")
    if len(text) > MAX_PARAM_VALUE_LEN:
        # A pipeline's `steps` repr can pass the limit; its parts are logged as params too.
        return text[: MAX_PARAM_VALUE_LEN - 3] + "..."
    return text
