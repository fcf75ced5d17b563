"""The base of shotbuild's small values on a no-op build's path, without `dataclasses`.

A frozen dataclass costs ~4 million instructions to create (it execs its generated
methods) and `import dataclasses` ~72 million more (inspect, ast, tokenize): more than
a no-op build of a small spec spends on anything else. So the spec's model, the plan's
items and the build's options are plain classes with __slots__ and a written
__init__; this base gives them what the dataclasses gave: equality and a hash over
the compared fields, a repr, `replace` (dataclasses.replace) and `FIELDS`
(dataclasses.fields' names, in order). Their
attributes are `Final`, so mypy refuses an assignment after __init__."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

V = TypeVar("V", bound="Value")


class Value:
    """A value class: `FIELDS` names its fields in the order of its __init__ (and is
    its `__slots__`), `COMPARED` those equality, hash and repr use (default: all),
    `HIDDEN` those of them the repr leaves out (field(repr=False))."""

    __slots__ = ()
    FIELDS: ClassVar[tuple[str, ...]] = ()
    COMPARED: ClassVar[tuple[str, ...]] = ()
    HIDDEN: ClassVar[frozenset[str]] = frozenset()
    _SHOWN: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "COMPARED" not in cls.__dict__:
            cls.COMPARED = cls.FIELDS
        cls._SHOWN = tuple(name for name in cls.COMPARED if name not in cls.HIDDEN)

    def _compared(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self.COMPARED])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            assert isinstance(other, Value)
            return self._compared() == other._compared()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._compared())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._SHOWN)
        return f"{self.__class__.__qualname__}({shown})"

    def replace(self: V, **changes: Any) -> V:
        """A copy with `changes` (dataclasses.replace)."""
        unknown = set(changes) - set(self.FIELDS)
        if unknown:
            raise TypeError(f"{self.__class__.__name__} has no field {sorted(unknown)[0]}")
        values = {name: getattr(self, name) for name in self.FIELDS}
        return self.__class__(**{**values, **changes})

    def __reduce__(self) -> tuple[Any, ...]:  # pickle and copy by the fields
        return (_rebuild, (self.__class__, tuple(getattr(self, n) for n in self.FIELDS)))


def _rebuild(cls: type[V], values: tuple[Any, ...]) -> V:
    return cls(**dict(zip(cls.FIELDS, values, strict=True)))
