"""A component's options, read from its factory's signature: listed for users, checked before use.

`emofuse list KIND --options` shows them (name, type, default, a line of help), and
`Registry.create` checks the options a user gave (`--set KIND.OPTION=VALUE`) against them
before the factory runs: an unknown name lists the valid ones, a value of the wrong type
(`min_neighbors=abc`) is refused by name. The type comes from the parameter's annotation as
written (`float`, `int | None`, `str | Path`); the help line from the factory's `option_help`
mapping when it has one, else from the sentence of its docstring that names the option.
"""
from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

#: A parameter without a default.
REQUIRED = inspect.Parameter.empty

#: Annotation words -> what a value of that type is called in an error.
_TYPE_WORDS = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "text", "Path": "a path",
               "None": "none"}


class OptionError(ValueError):
    """An option a factory does not take, or a value of the wrong type (the message names it)."""


@dataclasses.dataclass(frozen=True)
class OptionInfo:
    """One keyword option of a component factory."""

    name: str
    type: str = ""  # the annotation as written ("float | None"); "" when there is none
    default: Any = REQUIRED
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def _signature(factory: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(factory)
    except (TypeError, ValueError):  # builtins and some C callables have none
        return None


def _annotation_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


def _docs(factory: Callable[..., Any]) -> str:
    parts = [inspect.getdoc(factory) or ""]
    init = getattr(factory, "__init__", None) if isinstance(factory, type) else None
    if init is not None and init is not object.__init__:
        parts.append(inspect.getdoc(init) or "")
    return " ".join(" ".join(part.split()) for part in parts)


def _help_from_docs(name: str, docs: str, others: list[str]) -> str:
    """What `docs` says where it defines `name`: "`name`: text" up to the end of its clause (or
    the next option), or the parenthesis after "`name`" / "`name=VALUE`". "" when it does not."""
    quoted = rf"`{re.escape(name)}(?:=[^`]*)?`"
    paren = re.search(quoted + r"\s*\(((?:[^()]|\([^()]*\))*)\)", docs)
    colon = re.search(quoted + r"\s*:\s*", docs)
    if colon is not None and (paren is None or colon.start() <= paren.start()):
        rest = docs[colon.end():]
        ends = [m.start() for m in (re.search(r";|\.\s|\.$", rest),) if m]
        ends += [i for other in others if other != name and (i := rest.find(f"`{other}")) >= 0]
        clause = rest[:min(ends, default=len(rest))].strip(" ,")
    elif paren is not None:
        clause = paren.group(1).strip()
    else:
        return ""
    if clause.count("(") > clause.count(")"):
        clause = clause[:clause.rfind("(")].rstrip(" ,")
    elif clause.count(")") > clause.count("(") and clause.endswith(")"):
        clause = clause[:-1]
    return clause if len(clause) <= 120 else clause[:117].rstrip() + "..."


def options_of(factory: Callable[..., Any]) -> list[OptionInfo] | None:
    """The keyword options `factory` takes, in order; None when it takes `**options` (any name)."""
    signature = _signature(factory)
    if signature is None:
        return None
    params = list(signature.parameters.values())
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    helps = getattr(factory, "option_help", None)
    helps = helps if isinstance(helps, Mapping) else {}
    docs = _docs(factory)
    params = [p for p in params if p.kind not in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL)]
    names = [p.name for p in params]
    return [OptionInfo(p.name, _annotation_text(p.annotation), p.default,
                       str(helps.get(p.name) or _help_from_docs(p.name, docs, names))) for p in params]


def _type_words(annotation: str) -> list[str] | None:
    """'float | None' (or 'Optional[float]') -> ['float', 'None']; None for annotations this module
    does not judge."""
    annotation = re.sub(r"^Optional\[(.*)\]$", r"\1 | None", annotation)
    words = [w.strip() for w in annotation.split("|")]
    return words if words and all(w in _TYPE_WORDS for w in words) else None


def coerce(value: Any, annotation: str) -> Any:
    """`value` as the annotation wants it (an int where a float is wanted becomes a float, a
    number where only text is wanted becomes its text); OptionError when it cannot be."""
    words = _type_words(annotation)
    if words is None:
        return value
    if value is None:
        if "None" in words:
            return None
    elif isinstance(value, bool):
        if "bool" in words:
            return value
    elif isinstance(value, int) and "int" in words:
        return value
    elif isinstance(value, (int, float)) and "float" in words:
        return float(value)
    elif isinstance(value, str) and ("str" in words or "Path" in words):
        return value
    elif isinstance(value, (int, float)) and ("str" in words or "Path" in words):
        return str(value)
    wanted = " or ".join(dict.fromkeys(_TYPE_WORDS[w] for w in words))
    raise OptionError(f"expected {wanted}, got {value!r}")


def check_options(factory: Callable[..., Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """`options` checked against the factory's signature (names and annotated types) and coerced;
    OptionError naming the option otherwise. Factories taking `**options` get them unchecked."""
    known = options_of(factory)
    if known is None:
        return dict(options)
    by_name = {o.name: o for o in known}
    out = {}
    for key, value in options.items():
        option = by_name.get(key)
        if option is None:
            raise OptionError(f"unknown option {key!r}; {describe_names(known)}")
        try:
            out[key] = coerce(value, option.type)
        except OptionError as exc:
            raise OptionError(f"option {key}: {exc}") from None
    missing = [o.name for o in known if o.required and o.name not in out]
    if missing:
        raise OptionError(f"missing required option{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    return out


def describe_names(known: list[OptionInfo] | None) -> str:
    """'options: a, b, c' (or 'it takes no options')."""
    if known is None:
        return "its options are not declared"
    return f"options: {', '.join(o.name for o in known)}" if known else "it takes no options"


def format_default(option: OptionInfo) -> str:
    """The default as a user would type it ('required' for none)."""
    if option.required:
        return "required"
    value = option.default
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
