"""Two specs' differences by field path: every differing field is named, and the changes rebuild the second."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmlp.spec.diff import FieldChange, spec_diff
from rmlp.spec.model import BlockSpec, ModelSpec
from rmlp.spec.paths import tokens

blocks = st.builds(lambda j, k, dec, bp, act: BlockSpec(layers=j, width=k, decrement=dec, bypass=bp),
                   st.integers(1, 4), st.sampled_from([16, 64, 128]), st.integers(0, 4),
                   st.lists(st.integers(1, 12), max_size=2), st.none())
specs = st.builds(
    lambda name, bl, final, drop, act, task, lr, opt, ens: ModelSpec(
        name=name, blocks=bl, final_layers=final, final_dropout=drop, activation=act, task=task,
        num_outputs={"multiclass": 3}.get(task, 1), optimizer={"name": opt, "learning_rate": lr}, ensemble=ens),
    st.sampled_from(["a", "b"]),
    st.lists(blocks, min_size=1, max_size=3),
    st.lists(st.sampled_from([8, 16, 32]), max_size=2),
    st.sampled_from([0.0, 0.1, 0.3]),
    st.sampled_from(["relu", "gelu"]),
    st.sampled_from(["multiclass", "binary", "regression"]),
    st.sampled_from([1e-3, 3e-4]),
    st.sampled_from(["adam", "adamw"]),
    st.integers(1, 3),
)


def _leaves(data: Any, path: str = "") -> dict[str, Any]:
    """Every leaf value by field path (a list of numbers is one leaf, as the diff treats it)."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_leaves(value, f"{path}.{key}" if path else key))
        return out
    if isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        out = {}
        for i, value in enumerate(data):
            out.update(_leaves(value, f"{path}[{i}]"))
        return out
    return {path: data}


def _apply(data: dict[str, Any], changes: list[FieldChange]) -> dict[str, Any]:
    """``data`` with every change made (an item only the second side has is appended, a removed one dropped)."""
    out = copy.deepcopy(data)
    removed: list[tuple[list[Any], int]] = []
    for change in changes:
        *parents, last = tokens(change.path)
        node: Any = out
        for tok in parents:
            node = node[tok]
        if isinstance(last, int) and change.before is None:
            node.append(copy.deepcopy(change.after))
        elif isinstance(last, int) and change.after is None:
            removed.append((node, last))
        else:
            node[last] = copy.deepcopy(change.after)
    for node, index in sorted(removed, key=lambda r: -r[1]):
        del node[index]
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=specs, b=specs)
def test_the_diff_names_every_differing_field_and_only_those(a: ModelSpec, b: ModelSpec) -> None:
    changes = spec_diff(a, b)
    da, db = a.model_dump(mode="json"), b.model_dump(mode="json")
    paths = [c.path for c in changes]
    assert len(paths) == len(set(paths))
    # each change is real: its two sides differ
    assert all(c.before != c.after for c in changes)
    # every leaf that differs is named, by its own path or by the list item that holds it
    la, lb = _leaves(da), _leaves(db)
    for path in set(la) | set(lb):
        if path != "spec_version" and la.get(path) != lb.get(path):
            assert any(path == p or path.startswith(p + ".") for p in paths), path
    # and making the changes turns the first spec into the second
    assert _apply(da, changes) == db
    assert (changes == []) == (a == b)


def test_a_change_reads_as_field_path_old_and_new_value() -> None:
    a = ModelSpec(blocks=[BlockSpec(width=128, layers=2, decrement=8)], final_dropout=0.1)
    b = a.copy_with(blocks=[BlockSpec(width=64, layers=2, decrement=8), BlockSpec(width=32, layers=1)],
                    final_dropout=0.3)
    said = [str(c) for c in spec_diff(a, b)]
    assert "blocks[0].width: 128 → 64" in said
    assert "final_dropout: 0.1 → 0.3" in said
    assert any(s.startswith("blocks[1]: none → {") for s in said)
    assert spec_diff(a, a) == []
    # a list of numbers is one value
    c = a.copy_with(final_layers=[16, 8])
    assert [str(x) for x in spec_diff(a, c)] == [f"final_layers: {a.final_layers} → [16, 8]".replace("'", "")]
