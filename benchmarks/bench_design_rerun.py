"""How long a Design-page rerun takes for a 14-block design, against a trivial Streamlit page.

Both are driven by Streamlit's AppTest in this process, interleaved, one value changed before
every rerun (as a user moving a slider): the Design page reruns the whole app (sidebar, validation,
summary, graph, every generated control); the trivial page has a title, a slider and a line of text.
Prints the medians and their ratio (goal: at most 3×), then checks in a fresh process that drawing
the Design page never imports TensorFlow.

    python benchmarks/bench_design_rerun.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # .streamlit/config.toml applies to both pages alike

TRIVIAL = '''
import streamlit as st

st.title("Trivial page")
value = st.slider("A value", 0.0, 1.0, 0.25, 0.05, key="value")
st.write(f"The value is {value}.")
'''

GOAL = 3.0


def _design_app(at_cls: type) -> object:
    from designer_app.state import encode_spec
    from rmlp.presets import get_preset

    at = at_cls.from_file(str(ROOT / "designer_app" / "app.py"), default_timeout=120)
    at.query_params["spec"] = encode_spec(get_preset("deep_14"))
    at.run()
    assert not at.exception, at.exception
    assert len(at.session_state["rmlp.spec"]["blocks"]) == 14
    return at


def _slider(at: object, label: str) -> object:
    return next(s for s in at.slider if s.label == label)  # type: ignore[attr-defined]


def measure(rounds: int) -> tuple[list[float], list[float]]:
    """Interleaved rerun times (seconds) of the Design page and of the trivial page."""
    from streamlit.testing.v1 import AppTest

    design = _design_app(AppTest)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "trivial.py"
        script.write_text(TRIVIAL, encoding="utf-8")
        trivial = AppTest.from_file(str(script), default_timeout=120).run()
        values = [0.25, 0.3]
        for _ in range(3):  # warm both up
            design.run()
            trivial.run()
        design_times, trivial_times = [], []
        for i in range(rounds):
            value = values[i % 2]
            _slider(design, "Bypass dropout rate").set_value(value)
            start = time.perf_counter()
            design.run()
            design_times.append(time.perf_counter() - start)
            assert design.session_state["rmlp.spec"]["bypass_dropout"] == value
            _slider(trivial, "A value").set_value(value)
            start = time.perf_counter()
            trivial.run()
            trivial_times.append(time.perf_counter() - start)
    return design_times, trivial_times


CHECK_NO_TF = f"""
import os, sys
os.chdir({str(ROOT)!r})
sys.path.insert(0, {str(ROOT)!r})
from streamlit.testing.v1 import AppTest
from designer_app.state import encode_spec
from rmlp.presets import get_preset
at = AppTest.from_file("designer_app/app.py", default_timeout=120)
at.query_params["spec"] = encode_spec(get_preset("deep_14"))
at.run()
next(s for s in at.slider if s.label == "Bypass dropout rate").set_value(0.3)
at.run()
assert not at.exception, at.exception
print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
"""


def tensorflow_free() -> bool:
    """True when a fresh process draws the Design page (and reruns it) without importing TensorFlow."""
    out = subprocess.run([sys.executable, "-c", CHECK_NO_TF], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return out.stdout.strip().splitlines()[-1] == "[]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="reruns of each page (default 30)")
    args = parser.parse_args()
    design, trivial = measure(args.rounds)
    d_ms, t_ms = statistics.median(design) * 1000, statistics.median(trivial) * 1000
    ratio = d_ms / t_ms
    print(f"Design page rerun, 14 blocks (median of {args.rounds}): {d_ms:7.1f} ms")
    print(f"Trivial page rerun             (median of {args.rounds}): {t_ms:7.1f} ms")
    print(f"Ratio: {ratio:.2f}x (goal <= {GOAL:g}x) -> {'met' if ratio <= GOAL else 'NOT met'}")
    free = tensorflow_free()
    print(f"Design page imports TensorFlow: {'no' if free else 'YES'}")
    return 0 if free else 1


if __name__ == "__main__":
    raise SystemExit(main())
