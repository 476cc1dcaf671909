"""Allowed values of step keywords, read from ``typing.Literal`` annotations.

The project loader (:mod:`trapscape.project`) and the pipeline
(:mod:`trapscape.pipeline`) both check that a project-file key such as
``[density] model`` holds one of the values its step function declares.  The
rule lives here once; each caller words its own message from the
:class:`Choices` returned.

Rules, for one section served by one or several functions:

* a keyword is restricted only when *every* function accepting it annotates
  it ``Literal[...]`` (optionally ``| None``); the allowed values are the union
  over those functions, in order of first appearance;
* ``None`` is allowed iff some function accepts ``None`` for it;
* any other annotation (``str``, ``float``, ``Literal[...] | float``, ``Any``),
  no annotation, an annotation that cannot be resolved at run time, or a
  function taking ``**kwargs`` means "no restriction".
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Choices", "allowed_values", "literal_hints"]

#: marker: the keyword takes a free type (no value restriction)
_FREE = None


@dataclass(frozen=True)
class Choices:
    """Values one keyword may take.

    Attributes
    ----------
    values
        The ``Literal`` values, in declaration order, without ``None``.
    none_ok
        Whether ``None`` is also allowed (``Optional[Literal[...]]``).
    owners
        ``module.qualname`` of the functions that restrict the keyword.
    """

    values: tuple[Any, ...]
    none_ok: bool = False
    owners: tuple[str, ...] = ()

    def allows(self, value: Any) -> bool:
        """Whether ``value`` is allowed (``True`` never passes for ``1``)."""
        if value is None:
            return self.none_ok
        return any(
            value == v and isinstance(value, bool) == isinstance(v, bool)
            for v in self.values
        )


def _literal_values(tp: Any) -> tuple[tuple[Any, ...], bool] | None:
    """(values, none_ok) of a ``Literal`` annotation, or None for any other type."""
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        vals = typing.get_args(tp)
        return tuple(v for v in vals if v is not None), None in vals
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        none_ok = False
        for arg in typing.get_args(tp):
            if arg is type(None):
                none_ok = True
                continue
            sub = _literal_values(arg)
            if sub is None:
                return None
            for v in sub[0]:
                if v not in out:
                    out.append(v)
            none_ok = none_ok or sub[1]
        return (tuple(out), none_ok) if out else None
    return None


def _resolved_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """``typing.get_type_hints(fn)``; on failure, each annotation resolved alone.

    Annotations naming things imported only for type checking cannot be
    resolved; one such name then costs only its own keyword (left unchecked).
    """
    try:
        return typing.get_type_hints(fn)
    except Exception:
        pass
    env = dict(getattr(inspect.unwrap(fn), "__globals__", {}))
    env.setdefault("Literal", typing.Literal)
    hints: dict[str, Any] = {}
    for name, ann in getattr(fn, "__annotations__", {}).items():
        if isinstance(ann, str):
            try:
                ann = eval(ann, env)  # what get_type_hints does
            except Exception:
                continue
        hints[name] = ann
    return hints


@functools.lru_cache(maxsize=256)
def literal_hints(
    fn: Callable[..., Any],
) -> tuple[dict[str, tuple[tuple[Any, ...], bool] | None], bool]:
    """Keyword name -> ``(values, none_ok)`` or None (free), and ``**kwargs``.

    Covers every keyword-passable parameter of ``fn``; the second item tells
    whether ``fn`` also takes ``**kwargs`` (any other keyword, free).  A
    callable without a signature counts as taking ``**kwargs``.
    """
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}, True
    hints = _resolved_hints(fn)
    out: dict[str, tuple[tuple[Any, ...], bool] | None] = {}
    var_kw = False
    for p in params.values():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
            out[p.name] = _literal_values(hints[p.name]) if p.name in hints else _FREE
    return out, var_kw


def allowed_values(
    fns: Callable[..., Any] | Iterable[Callable[..., Any]],
) -> dict[str, Choices]:
    """Allowed values per keyword over the functions of one section.

    Parameters
    ----------
    fns
        A step function, or the several functions one project-file section
        feeds.

    Returns
    -------
    dict
        Keyword -> :class:`Choices`, only for keywords every accepting
        function restricts to ``Literal`` values (union of their values;
        ``None`` allowed iff some function accepts it).  Keywords missing from
        the result take any value (or are accepted by no function).
    """
    fn_list = [fns] if callable(fns) else list(fns)
    analysed = [(fn, *literal_hints(fn)) for fn in fn_list]
    names: list[str] = []
    for _fn, kws, _var in analysed:
        names.extend(k for k in kws if k not in names)
    out: dict[str, Choices] = {}
    for name in names:
        values: list[Any] = []
        none_ok = False
        owners: list[str] = []
        free = False
        for fn, kws, var_kw in analysed:
            if name not in kws:
                if var_kw:
                    free = True  # goes into **kwargs: any value
                    break
                continue
            lit = kws[name]
            if lit is None:
                free = True
                break
            for v in lit[0]:
                if v not in values:
                    values.append(v)
            none_ok = none_ok or lit[1]
            owners.append(f"{fn.__module__}.{fn.__qualname__}")
        if not free and (values or none_ok):
            out[name] = Choices(tuple(values), none_ok, tuple(owners))
    return out
