"""Optimizer state saved before an option existed loads with the option off, as PyTorch's
optimizers do it in ``__setstate__`` (``group.setdefault("dampening", 0)`` ...)."""
from __future__ import annotations


def with_options(state_dict: dict, added: dict) -> dict:
    """``state_dict`` with each saved group that lacks an option of ``added`` given its value there.

    Only the options a class added later are filled in: any other difference in the saved
    hyperparameters still means another optimizer's state, which ``load_state_dict`` refuses.
    """
    groups = [{**added, **group} if isinstance(group, dict) else group
              for group in state_dict.get("param_groups", [])]
    return {**state_dict, "param_groups": groups}
