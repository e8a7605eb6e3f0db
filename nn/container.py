"""Containers: modules that hold other modules (in order, in a list, by name), or pass their
input on reshaped or as is."""
from __future__ import annotations

import numbers
from collections.abc import Iterator

from tinygrad_lite.checks import pytorch_kwargs
from tinygrad_lite.tensor import Tensor

from .module import Module


class Sequential(Module):
    """Modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``; named "0", "1", ..."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position); returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index):
        mods = list(self._modules.values())
        return Sequential(*mods[index]) if isinstance(index, slice) else mods[index]

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x


class Flatten(Module):
    """Merge the axes from ``start_axis`` (default 1, keeping the batch axis) to ``end_axis`` (default
    the last) into one; PyTorch's ``start_dim=``/``end_dim=`` too."""

    @pytorch_kwargs
    def __init__(self, start_axis: int = 1, end_axis: int = -1) -> None:
        super().__init__()
        self.start_axis, self.end_axis = start_axis, end_axis

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_axis, self.end_axis)

    def extra_repr(self) -> str:
        end = "" if self.end_axis == -1 else f", end_axis={self.end_axis}"
        return f"start_axis={self.start_axis}{end}"


class Identity(Module):
    """Returns its input unchanged (a placeholder layer)."""

    def forward(self, x):
        return x


class ModuleList(Module):
    """A list of modules, registered (their parameters are the container's), as PyTorch's
    ``ModuleList``: named "0", "1", ... by position; indexing, slicing (a new ModuleList),
    ``append``, ``extend``, ``insert``, ``del``, ``len``, iteration and ``+=``. It has no
    ``forward``: the owner decides how to call them (``for layer in self.layers: x = layer(x)``).
    """

    def __init__(self, modules=None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _checked(self, module, what: str = "an element") -> Module:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: {what} must be a Module, got {type(module).__name__}")
        return module

    def _index(self, index) -> int:
        n = len(self._modules)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"ModuleList: indices must be integers or slices, got {type(index).__name__}")
        if not -n <= index < n:
            raise IndexError(f"ModuleList: index {index} is out of range for {n} modules")
        return int(index) % n

    def _renumber(self, modules: list) -> None:
        """Register ``modules`` as "0", "1", ... in order (names follow positions, as PyTorch's)."""
        for name in list(self._modules):
            self._forget(name)
        for i, m in enumerate(modules):
            setattr(self, str(i), m)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns self."""
        setattr(self, str(len(self._modules)), self._checked(module, "the appended value"))
        return self

    def extend(self, modules) -> ModuleList:
        """Append each module of the iterable ``modules``; returns self."""
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError(f"ModuleList.extend: expected an iterable of Modules, got a {type(modules).__name__}; "
                            "use append for one module")
        modules = [self._checked(m) for m in modules]  # all checked before any is added
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index`` (as ``list.insert``)."""
        mods = list(self._modules.values())
        mods.insert(index, self._checked(module, "the inserted value"))
        self._renumber(mods)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[str(self._index(index))]

    def __setitem__(self, index, module) -> None:
        setattr(self, str(self._index(index)), self._checked(module, "the assigned value"))

    def __delitem__(self, index) -> None:
        mods = list(self._modules.values())
        if isinstance(index, slice):
            del mods[index]
        else:
            del mods[self._index(index)]
        self._renumber(mods)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other) -> ModuleList:
        return ModuleList([*self, *other])


class ModuleDict(Module):
    """A dict of modules by name, registered (their parameters are the container's), as
    PyTorch's ``ModuleDict``: ``d[name]``, ``d[name] = m``, ``del``, ``in``, ``len``, iteration
    over the names in insertion order, ``keys``, ``values``, ``items``, ``update``, ``pop``,
    ``clear``. Names are non-empty strings without "." that are not attributes of the class
    (e.g. "forward", "training"). No ``forward``: the owner picks which to call.
    """

    def __init__(self, modules=None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _key(self, key) -> str:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: keys must be strings, got {type(key).__name__} {key!r}")
        if not key or "." in key:
            raise ValueError(f"ModuleDict: key {key!r} must be a non-empty name without '.' (dots "
                             "separate the levels of state_dict names)")
        if key not in self._modules and (hasattr(type(self), key) or key in self.__dict__):
            raise ValueError(f"ModuleDict: key {key!r} is already an attribute of ModuleDict; choose another name")
        return key

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: the value for {key!r} must be a Module, got {type(module).__name__}")
        setattr(self, self._key(key), module)

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(key)
        self._forget(key)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def keys(self):
        """The names, in insertion order."""
        return self._modules.keys()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self):
        """(name, module) pairs, in insertion order."""
        return self._modules.items()

    def update(self, modules) -> None:
        """Add or replace entries from a mapping or an iterable of (name, module) pairs."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"ModuleDict.update: expected a mapping or (name, module) pairs, got an "
                                f"element {pair!r}")
            self[pair[0]] = pair[1]

    def pop(self, key: str) -> Module:
        """Remove the entry ``key`` and return its module (KeyError if absent)."""
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        """Remove every entry."""
        for key in list(self._modules):
            self._forget(key)
