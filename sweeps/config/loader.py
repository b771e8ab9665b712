"""Read a sweep config: YAML with the line of every key, `${ENV}` expansion, `--set` overrides."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sweeps.config.model import SweepConfig
from sweeps.config.validate import validate
from sweeps.errors import ConfigError, ConfigProblem

__all__ = [
    "MAX_YAML_VALUES",
    "KeyPath",
    "RawConfig",
    "apply_overrides",
    "expand_env",
    "format_path",
    "load_config",
    "parse_scalar",
    "read_yaml",
]

KeyPath = tuple[str | int, ...]

OVERRIDE_SOURCE = "--set"
# Values of a document with its aliases expanded. A large grid's choices run to some thousands;
# nested aliases ("billion laughs") reach billions in ten lines and would hang every walk below.
MAX_YAML_VALUES = 1_000_000


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 floats (`1e-3`) and dates left as strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# PyYAML follows YAML 1.1, where `1e-3` is a string; users mean a float.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


@dataclass
class RawConfig:
    """Config data before validation, with where each key came from."""

    data: dict[object, object]
    source: str | None = None
    base_dir: str | None = None
    lines: dict[KeyPath, int] = field(default_factory=dict)
    overridden: set[KeyPath] = field(default_factory=set)
    problems: list[ConfigProblem] = field(default_factory=list)

    def locate(self, path: KeyPath) -> tuple[str | None, int | None]:
        """(source, line) for a key path: its own line, else its nearest located ancestor."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in self.overridden:
                return OVERRIDE_SOURCE, None
            if prefix in self.lines:
                return self.source, self.lines[prefix]
        return self.source, None

    def problem(self, path: KeyPath, message: str) -> ConfigProblem:
        source, line = self.locate(path)
        return ConfigProblem(path=format_path(path), message=message, line=line, source=source)


def format_path(path: KeyPath) -> str:
    """`("metrics", 1, "goal")` -> `metrics[1].goal`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part) if part else "''"
            out += f".{text}" if out else text
    return out


def read_yaml(path: str | os.PathLike[str]) -> RawConfig:
    """Parse a YAML file into a RawConfig that knows the line of every key."""
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        problem = ConfigProblem("", f"cannot read config: {exc.strerror or exc}", None, source)
        raise ConfigError([problem]) from exc
    except UnicodeDecodeError as exc:
        reason = f"the file is not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x}); save it as UTF-8 YAML"
        raise ConfigError([ConfigProblem("", reason, None, source)]) from None
    raw = RawConfig(data={}, source=source, base_dir=str(Path(source).resolve().parent))
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError([ConfigProblem("", "config file is empty", None, source)])
        _check_size(node, source)
        # Lines are read off the node tree before construction flattens `<<` merge keys.
        _record_lines(loader, node, (), raw, set())
        if any(p.message.startswith("recursive") for p in raw.problems):
            raise ConfigError(raw.problems)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem("", f"invalid YAML: {reason}", line, source)]) from exc
    except RecursionError:
        reason = "the YAML nests lists or mappings too deeply (hundreds of levels); flatten it"
        raise ConfigError([ConfigProblem("", reason, None, source)]) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        kind = type(data).__name__
        problem = ConfigProblem("", f"expected a mapping of keys, got a {kind}", node.start_mark.line + 1, source)
        raise ConfigError([problem])
    raw.data = data
    return raw


def _check_size(node: yaml.Node, source: str) -> None:
    """Refuse a document whose aliases expand past `MAX_YAML_VALUES`, before anything expands it."""
    sizes: dict[int, int] = {}
    if _expanded_size(node, sizes) > MAX_YAML_VALUES:
        # Name the first line of the outermost node that is too big, there the alias nesting starts.
        culprit = _largest_child(node, sizes)
        problem = ConfigProblem(
            "",
            f"the YAML expands to more than {MAX_YAML_VALUES:,} values through its aliases (*name) "
            "nested inside each other; write the values out or use fewer aliases",
            culprit.start_mark.line + 1,
            source,
        )
        raise ConfigError([problem])


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Values under ``node`` with every alias expanded, counted once per distinct node (no expansion)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a recursive alias counts once; `_record_lines` reports it
    total = 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            total += _expanded_size(key_node, sizes) + _expanded_size(value_node, sizes)
            if total > MAX_YAML_VALUES:
                break  # the exact count no longer matters
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            total += _expanded_size(item, sizes)
            if total > MAX_YAML_VALUES:
                break
    sizes[id(node)] = total
    return total


def _largest_child(node: yaml.Node, sizes: dict[int, int]) -> yaml.Node:
    """The outermost node under ``node`` that alone passes the bound, else ``node``."""
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        children = [value for _key, value in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    big = [child for child in children if sizes.get(id(child), 0) > MAX_YAML_VALUES]
    return big[0] if big else node


def _record_lines(loader: _Loader, node: yaml.Node, path: KeyPath, raw: RawConfig, active: set[int]) -> None:
    raw.lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in active:  # an alias to one of its own ancestors
        raw.problems.append(raw.problem(path, "recursive alias: a value cannot contain itself"))
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key_node, value_node in node.value:
            key = _key_of(loader, key_node)
            if key is None:
                continue
            child = (*path, key)
            raw.lines[child] = key_node.start_mark.line + 1
            if key in seen:
                raw.problems.append(raw.problem(child, "duplicate key (only one may be given)"))
            seen.add(key)
            _record_lines(loader, value_node, child, raw, active)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(loader, item, (*path, index), raw, active)
    active.discard(id(node))


def _key_of(loader: _Loader, key_node: yaml.Node) -> str | int | None:
    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
        return None
    key = loader.construct_object(key_node)
    # Paths use strings for mapping keys and ints for list indexes only.
    return key if isinstance(key, str) else str(key)


def from_mapping(data: Mapping[object, object], base_dir: str | None = None) -> RawConfig:
    """Wrap an in-memory config dict (deep-copied to plain dicts and lists) as a RawConfig."""
    return RawConfig(data=_plain(data), base_dir=base_dir)


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def parse_scalar(text: str) -> object:
    """Type a `--set` value like YAML would: `20`, `1e-3`, `true`, `null`, `[a, b]`."""
    loader = _Loader(text)  # _Loader is a SafeLoader
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node, OVERRIDE_SOURCE)
        return loader.construct_document(node)
    except (yaml.YAMLError, RecursionError):
        return text  # too deep for YAML: the text itself, which no key takes
    finally:
        loader.dispose()


def apply_overrides(data: Mapping[str, object], overrides: Sequence[str] | Mapping[str, object]) -> dict[str, object]:
    """A copy of `data` with `key.path=value` overrides set (values typed as YAML scalars)."""
    raw = _apply_overrides(from_mapping(data), overrides)
    if raw.problems:
        raise ConfigError(raw.problems)
    return raw.data  # type: ignore[return-value]


def _apply_overrides(raw: RawConfig, overrides: Sequence[str] | Mapping[str, object]) -> RawConfig:
    items: list[tuple[str, object]] = []
    if isinstance(overrides, Mapping):
        items = [(str(k), _plain(v)) for k, v in overrides.items()]
    else:
        if isinstance(overrides, str):
            overrides = [overrides]
        for text in overrides:
            key, sep, value = str(text).partition("=")
            if not sep or not key.strip():
                raw.problems.append(
                    ConfigProblem(
                        str(text) or "<empty>",
                        "an override must look like key.path=value",
                        None,
                        OVERRIDE_SOURCE,
                    )
                )
                continue
            items.append((key.strip(), parse_scalar(value)))
    for key, value in items:
        _set_path(raw, key, value)
    return raw


def _set_path(raw: RawConfig, dotted: str, value: object) -> None:
    parts = dotted.split(".")
    if any(not p for p in parts):
        raw.problems.append(ConfigProblem(dotted, "empty part in key path", None, OVERRIDE_SOURCE))
        return
    node: object = raw.data
    path: KeyPath = ()
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        key: str | int = part
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                msg = f"'{format_path(path)}' is a list of {len(node)}; no index {part!r}"
                raw.problems.append(ConfigProblem(dotted, msg, None, OVERRIDE_SOURCE))
                return
            key = int(part)
        elif not isinstance(node, dict):
            msg = f"cannot set '{dotted}': '{format_path(path)}' is not a mapping"
            raw.problems.append(ConfigProblem(dotted, msg, None, OVERRIDE_SOURCE))
            return
        path = (*path, key)
        if last:
            node[key] = value  # type: ignore[index]
            raw.overridden.add(path)
            for known in [p for p in raw.lines if p[: len(path)] == path]:
                del raw.lines[known]
            return
        child = node[key] if isinstance(node, list) else node.get(key)  # type: ignore[index]
        if child is None:
            child = {}
            node[key] = child  # type: ignore[index]
            raw.overridden.add(path)
        node = child


_ENV_REF = re.compile(r"\$\$|\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def expand_env(raw: RawConfig, environ: Mapping[str, str] | None = None) -> RawConfig:
    """Replace `${VAR}` (or `${VAR:-default}`) in string values; `$$` is a literal `$`."""
    env = os.environ if environ is None else environ
    raw.data = _expand(raw.data, (), raw, env)  # type: ignore[assignment]
    return raw


def _expand(value: object, path: KeyPath, raw: RawConfig, env: Mapping[str, str]) -> object:
    if isinstance(value, dict):
        return {k: _expand(v, (*path, _path_key(k)), raw, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*path, i), raw, env) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        ref = match.group(1)
        name, sep, default = ref.partition(":-")
        if not _ENV_NAME.fullmatch(name):
            raw.problems.append(raw.problem(path, f"bad environment reference '${{{ref}}}'"))
            return match.group(0)
        if name in env:
            return env[name]
        if sep:
            return default
        raw.problems.append(raw.problem(path, f"environment variable {name} is not set (used as '${{{name}}}')"))
        return match.group(0)

    return _ENV_REF.sub(substitute, value)


def _path_key(key: object) -> str | int:
    return key if isinstance(key, str) else str(key)


def load_config(
    source: str | os.PathLike[str] | Mapping[str, object] | SweepConfig,
    overrides: Sequence[str] | Mapping[str, object] = (),
    *,
    base_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> SweepConfig:
    """Read, override (`--set`), expand `${ENV}` and validate a sweep config.

    `source` is a YAML path, a dict or a SweepConfig; raises ConfigError listing every problem.
    """
    if isinstance(source, SweepConfig):
        if not overrides:
            return source
        base_dir = base_dir or source.base_dir
        source = source.to_dict()
    if isinstance(source, Mapping):
        raw = from_mapping(source, os.fspath(base_dir) if base_dir else None)
    elif isinstance(source, str | os.PathLike):
        raw = read_yaml(source)
        if base_dir:
            raw.base_dir = os.fspath(base_dir)
    else:
        kind = type(source).__name__
        raise ConfigError([ConfigProblem("", f"expected a config path or mapping, got {kind}")])
    _apply_overrides(raw, overrides)
    expand_env(raw, environ)
    return validate(raw)
