"""Logged models: a folder with a payload, ``model.json`` metadata, signature and input example.

Loading a model unpickles its payload, and unpickling runs code: load only models from your
own store's artifacts. :func:`load_model` reads only URIs resolved through the store
(``runs:/``, ``models:/``), and refuses a payload whose sha256 differs from the one the store
recorded when it was logged (a run tag, not the folder's ``model.json``; for registered versions
also at registration) before unpickling anything.
"""

from __future__ import annotations

from tracking.models._info import (
    METADATA_FILE,
    PAYLOAD_FILE,
    PAYLOAD_TAG_PREFIX,
    ModelInfo,
    payload_tag,
    read_model_info,
)
from tracking.models._load import LoadedModel, ModelRef, load_model, parse_model_uri
from tracking.models._save import FLAVORS, save_model
from tracking.models._signature import ColumnSpec, DataSpec, Signature, infer_signature, infer_spec

__all__ = [
    "FLAVORS",
    "METADATA_FILE",
    "PAYLOAD_FILE",
    "PAYLOAD_TAG_PREFIX",
    "ColumnSpec",
    "DataSpec",
    "LoadedModel",
    "ModelInfo",
    "ModelRef",
    "Signature",
    "infer_signature",
    "infer_spec",
    "load_model",
    "parse_model_uri",
    "payload_tag",
    "read_model_info",
    "save_model",
]
