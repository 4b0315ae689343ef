"""How long a Design-page rerun takes for a 14-block design, against a trivial Streamlit page.

Both are driven by Streamlit's AppTest in this process, interleaved, one value changed before
every rerun (as a user moving a slider): the Design page reruns the whole app (sidebar, validation,
summary, graph, the controls of the open tab); the trivial page has a title, a slider and a line
of text. Two scenarios: a slider in the "Around blocks" tab, and a value outside the tabs with
the "Blocks" tab (the 14-row table, the most expensive tab) open. The trivial page is measured
twice: as a bare script, and inside the designer's own shell (page config, navigation, the sidebar
that validates and sums up the design), which isolates what the Design page itself costs.
Prints the medians and the ratios (goal: at most 3×), then checks in a fresh process that drawing
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

#: The same trivial page inside the designer's own shell (page config, session, navigation, sidebar).
TRIVIAL_IN_SHELL = f'''
import sys
sys.path.insert(0, {str(ROOT)!r})
import streamlit as st
from designer_app.app import main


def trivial() -> None:
    st.title("Trivial page")
    value = st.slider("A value", 0.0, 1.0, 0.25, 0.05, key="value")
    st.write(f"The value is {{value}}.")


main([st.Page(trivial, title="Trivial", default=True)])
'''

GOAL = 3.0


def _design_app(at_cls: type, section: str) -> object:
    from designer_app.links import encode_spec
    from rmlp.spec.presets import get_preset

    at = at_cls.from_file(str(ROOT / "designer_app" / "app.py"), default_timeout=120)
    at.query_params["spec"] = encode_spec(get_preset("deep_14"))
    at.run()
    at.session_state["design_section"] = section  # the tab of controls that is open (and drawn)
    at.run()
    assert not at.exception, at.exception
    assert len(at.session_state["rmlp.spec"]["blocks"]) == 14
    return at


def _widget(at: object, kind: str, label: str) -> object:
    return next(w for w in getattr(at, kind) if w.label == label)


#: (name, open tab, widget kind, widget label, two values to alternate, where the value lands)
SCENARIOS = (
    ("bypass dropout slider, 'Around blocks' tab open", "Around blocks", "slider", "Bypass dropout rate",
     (0.25, 0.3), lambda at: at.session_state["rmlp.spec"]["bypass_dropout"]),
    ("memory batch size, 'Blocks' tab (14-row table) open", "Blocks", "number_input",
     "Batch size (for the memory estimate)", (32, 64), lambda at: at.session_state["rmlp.train"]["batch_size"]),
)


def _trivial(at_cls: type, folder: Path, name: str, text: str) -> object:
    from designer_app.links import encode_spec
    from rmlp.spec.presets import get_preset

    script = folder / name
    script.write_text(text, encoding="utf-8")
    at = at_cls.from_file(str(script), default_timeout=120)
    at.query_params["spec"] = encode_spec(get_preset("deep_14"))  # the shell's sidebar sums up the same design
    return at.run()


def measure(rounds: int) -> list[tuple[str, float, float, float]]:
    """Per scenario: (name, Design rerun, bare trivial rerun, trivial-in-shell rerun), medians in seconds."""
    from streamlit.testing.v1 import AppTest

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        bare = _trivial(AppTest, Path(tmp), "trivial.py", TRIVIAL)
        shell = _trivial(AppTest, Path(tmp), "trivial_in_shell.py", TRIVIAL_IN_SHELL)
        for name, section, kind, label, values, landed in SCENARIOS:
            design = _design_app(AppTest, section)
            times: dict[str, list[float]] = {"design": [], "bare": [], "shell": []}
            for i in range(rounds + 3):  # the first three warm up
                value = values[i % 2]
                for which, at in (("design", design), ("bare", bare), ("shell", shell)):
                    if which == "design":
                        _widget(design, kind, label).set_value(value)
                    else:
                        _widget(at, "slider", "A value").set_value([0.25, 0.3][i % 2])
                    start = time.perf_counter()
                    at.run()
                    if i >= 3:
                        times[which].append(time.perf_counter() - start)
                assert landed(design) == value, (landed(design), value)
            out.append((name, *(statistics.median(times[k]) for k in ("design", "bare", "shell"))))
    return out


CHECK_NO_TF = f"""
import os, sys
os.chdir({str(ROOT)!r})
sys.path.insert(0, {str(ROOT)!r})
from streamlit.testing.v1 import AppTest
from designer_app.links import encode_spec
from rmlp.spec.presets import get_preset
at = AppTest.from_file("designer_app/app.py", default_timeout=120)
at.query_params["spec"] = encode_spec(get_preset("deep_14"))
at.run()
at.session_state["design_section"] = "Around blocks"
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
    parser.add_argument("--rounds", type=int, default=30, help="reruns of each page per scenario (default 30)")
    args = parser.parse_args()
    print(f"Design page with the 14-block preset (deep_14), medians of {args.rounds} interleaved reruns:")
    for name, design, bare, shell in measure(args.rounds):
        print(f"  {name}: Design {design * 1000:5.1f} ms")
        for what, base in (("a bare trivial page", bare), ("a trivial page in the same app shell", shell)):
            ratio = design / base
            print(f"      against {what} ({base * 1000:4.1f} ms): {ratio:.2f}x "
                  f"(goal <= {GOAL:g}x: {'met' if ratio <= GOAL else 'NOT met'})")
    free = tensorflow_free()
    print(f"Design page imports TensorFlow: {'no' if free else 'YES'}")
    return 0 if free else 1


if __name__ == "__main__":
    raise SystemExit(main())
