"""The Learn page: one residual block you can change, drawn and counted layer by layer."""

from __future__ import annotations

import threading
import time
from typing import Any

import streamlit as st

from designer_app import experiment_job, state, teaching
from designer_app.learn_session import LearnSession
from designer_app.widgets import help_text, settings_grid
from rmlp import BlockSpec, ModelSpec, field_meta, summarize
from rmlp.design.graph import to_dot
from rmlp.design.plan import make_plan
from rmlp.learn.experiment import ExperimentConfig, run_experiment
from rmlp.learn.figures import NAMES, gradient_figure, loss_figure, surface_figure, sweep_figure
from rmlp.learn.toys import make_toy

INTRO = """
A plain MLP passes its input through a stack of Dense layers, one after the other. A **residual
MLP** groups Dense layers into **blocks** and gives every block a second way through: a **bypass**
that carries the block's entry output around the stack and joins it again at the end. Change the
block below and watch the drawing and the count follow.
"""

WHY = """
**Why the bypass helps.** In a deep stack, the signal (and, during training, its gradient) has to
pass every layer; each can blur it a little. The bypass hands the block's entry output straight to
the merge, so later blocks always see it, and the gradient has a short way back. The main path is
then free to learn the *extra* features on top. This design concatenates the two ends, so the block
keeps both: the width after the merge is the last main-path width plus the bypass width.

**Rules of thumb.** Every main-path width must stay at least 1: `k − (j−1)·l ≥ 1`. A bottleneck
narrower than the number of classes loses information. Batch normalisation after each Dense layer
keeps training stable; dropout on the bypass keeps the network from leaning on the shortcut alone.
"""


def _slider(path: str, label: str, lo: int, hi: int, value: int) -> int:
    meta = field_meta(path)
    return int(st.slider(label, min_value=lo, max_value=hi, value=value, step=1, key=f"learn:{path}",
                         help=help_text(meta)))


def block_controls() -> tuple[BlockSpec, int]:
    """j, k, l and the bypass of one example block (this page never changes your design)."""
    cols = st.columns(5)
    with cols[0]:
        features = int(st.number_input("Input features", min_value=1, max_value=512, value=16, key="learn:in",
                                       help="How many numbers one example has (a table's columns)."))
    with cols[1]:
        layers = _slider("blocks[].layers", "Dense layers j", 1, 8, 3)
    with cols[2]:
        width = _slider("blocks[].width", "First width k", 1, 256, 32)
    with cols[3]:
        decrement = _slider("blocks[].decrement", "Decrement l", 0, 64, 8)
    with cols[4]:
        bypass = _slider("blocks[].bypass", "Bypass Dense width (0: none)", 0, 64, 0)
    return BlockSpec(layers=layers, width=width, decrement=decrement, bypass=[bypass] if bypass else []), features


def _example(block: BlockSpec, features: int) -> ModelSpec:
    return ModelSpec(name="one_block", task="multiclass", num_outputs=3, input_shape=[features], blocks=[block],
                     final_layers=[])


def block_graph(block: BlockSpec, features: int) -> None:
    last = block.width - (block.layers - 1) * block.decrement
    if last < 1:
        st.error(f"The last main-path layer would have {block.width} − ({block.layers}−1)·{block.decrement} = "
                 f"{last} units: a block must keep every width at least 1. Lower l or j, or raise k.",
                 icon=":material/error:")
        return
    st.graphviz_chart(to_dot(_example(block, features), compact=False), width="content")


def parameter_walkthrough(block: BlockSpec, features: int) -> None:
    """Where the parameters of the block come from, layer by layer."""
    last = block.width - (block.layers - 1) * block.decrement
    if last < 1:
        return
    spec = _example(block, features)
    st.markdown("**Counting the weights**")
    rows = []
    for node in make_plan(spec):
        if node.block != 0 or not node.params:
            continue
        fan_in = node.params // node.units - 1 if node.op == "dense" and node.units else None
        how = f"({fan_in} inputs + 1 bias) × {node.units}" if fan_in is not None else "4 per unit (2 trained)"
        rows.append(f"| {node.name.replace('block1_', '')} | {how} | {node.params:,} |")
    merged = last + (block.bypass[-1] if block.bypass else block.width)
    st.markdown("| layer | weights | count |\n|---|---|---:|\n" + "\n".join(rows))
    total = summarize(spec).total_params
    st.caption(f"After the merge each example has {last} + {block.bypass[-1] if block.bypass else block.width} = "
               f"{merged} numbers. The whole example model (with a 3-class output layer) has {total:,} parameters.")


def why_bypass() -> None:
    st.markdown(WHY)


# ====================================================================== the live experiment
#: Seconds between two redraws of a running experiment.
POLL_S = 1.0
_WARMED = threading.Event()


def warm_up() -> None:
    """Once per process, in a background thread: run a tiny experiment and draw one of each of its
    figures (Plotly builds its validators on first use), so the first picture after Start comes at once."""
    if _WARMED.is_set():
        return
    _WARMED.set()

    def work() -> None:
        config = ExperimentConfig(depth=1, width=2, epochs=1, snapshot_every=1, samples=40)
        result = run_experiment(config)
        data = config.toy()
        for variant in ("residual", "plain"):
            surface_figure(result.final[variant], data).to_json()
        loss_figure(result.snapshots).to_json()
        gradient_figure(result.final).to_json()
        sweep_figure([], "binary").to_json()

    threading.Thread(target=work, name="rmlp-learn-warm-up", daemon=True).start()
#: Query parameters of the experiment: ``learn_<field>`` for every ExperimentConfig field.
QP_PREFIX = "learn_"


def _defaults() -> dict[str, Any]:
    return ExperimentConfig().model_dump(mode="json")


# ---------------------------------------------------------------------- state in the URL
def read_url(session: LearnSession) -> None:
    """Take the experiment's settings from the URL (once per session); a value that does not fit is left out."""
    if session.from_url:
        return
    session.from_url = True
    bad: list[str] = []
    for name in ExperimentConfig.model_fields:
        raw = st.query_params.get(QP_PREFIX + name)
        if raw is None:
            continue
        try:
            value = getattr(ExperimentConfig.model_validate({name: raw}), name)
        except ValueError:
            bad.append(f"{ExperimentConfig.meta(name).label} = {raw!r}")
            continue
        session.settings[name] = value
    if bad:
        st.warning("These experiment settings in the link do not fit and were left at their defaults: "
                   + "; ".join(bad) + ".", icon=":material/link_off:")


def write_url(session: LearnSession) -> None:
    """Write the settings that differ from their defaults into the URL (and drop the others)."""
    defaults = _defaults()
    for name, default in defaults.items():
        key = QP_PREFIX + name
        value = session.settings.get(name, default)
        if value != default and value is not None:
            text = f"{value:g}" if isinstance(value, float) else str(value)
            if st.query_params.get(key) != text:
                st.query_params[key] = text
        elif key in st.query_params:
            del st.query_params[key]


def _reset(session: LearnSession) -> None:
    session.settings.clear()
    session.settings.update(_defaults())
    session.rev += 1


# ---------------------------------------------------------------------- controls
def _active(job: Any) -> bool:
    return job is not None and job.snapshot().active


def experiment_controls(session: LearnSession) -> None:
    """The experiment's settings (drawn from ExperimentConfig), Start, Stop and Reset."""
    running = _active(session.job) or _active(session.sweep)
    settings_grid(ExperimentConfig, session.settings, key_prefix=f"learn{session.rev}:", disabled=running)
    with st.container(horizontal=True):  # buttons as wide as their labels: never cut to "Start experi…"
        st.button("Start experiment", type="primary", icon=":material/play_arrow:", disabled=running,
                  on_click=_start, args=(session,), width="content",
                  help="Train both networks side by side in the background. You can switch pages; it goes on.")
        st.button("Stop", key="learn_stop", icon=":material/stop:", width="content",
                  disabled=not _active(session.job) or session.job.stop_requested,  # type: ignore[union-attr]
                  on_click=lambda: session.job.stop() if session.job else None,
                  help="Stop both networks after the current few epochs; what they learned stays on show.")
        st.button("Reset", key="learn_reset", icon=":material/restart_alt:", disabled=running, width="content",
                  on_click=_reset, args=(session,), help="Every experiment setting back to its default.")


def _current(session: LearnSession) -> Any:
    """The config of the controls as they stand, or None if a value does not fit."""
    try:
        return experiment_job.make_config(session.settings)
    except ValueError:
        return None


def changed_settings(shown: Any, current: Any, ignore: tuple[str, ...] = ()) -> list[str]:
    """Each setting in which two experiment configs differ, as "label shown value → current value"."""
    if current is None:
        return []
    words = []
    for name in ExperimentConfig.model_fields:
        old, new = getattr(shown, name), getattr(current, name)
        if name not in ignore and old != new:
            words.append(f"{ExperimentConfig.meta(name).label.lower()} {_value(old)} → {_value(new)}")
    return words


def _value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _stale_marker(what: str, changes: list[str], action: str) -> None:
    st.warning(f"{what} from other settings than the controls now show ({'; '.join(changes)}). Press **{action}** "
               "to run the current ones.", icon=":material/history:")


def _config_or_error(session: LearnSession) -> Any:
    try:
        return experiment_job.make_config(session.settings)
    except ValueError as exc:
        state.notify(f"These experiment settings do not work: {exc}", "error")
        return None


def _start(session: LearnSession) -> None:
    config = _config_or_error(session)
    if config is None or _active(session.job) or _active(session.sweep):
        return
    data = make_toy(config.data, samples=config.samples, noise=config.noise, seed=config.seed)
    session.job = experiment_job.start_experiment(config, data)


# ---------------------------------------------------------------------- the live view
def _score_words(snap: Any, task: str) -> str:
    return f"RMSE {snap.val_score:.3f}" if task == "regression" else f"accuracy {snap.val_score:.1%}"


def _experiment_status(snap: Any) -> None:
    config = snap.info["config"]
    latest = experiment_job.latest_by_variant(snap.events)
    done = min((s.epoch for s in latest.values()), default=0) if len(latest) == 2 else 0
    if snap.status == "queued":
        st.info(f"Waiting for {snap.queued_behind or 'another run'} to end (one training at a time).",
                icon=":material/schedule:")
    elif snap.status == "error":
        st.error(f"The experiment failed: {snap.error}", icon=":material/error:")
    elif snap.active:
        words = "Stopping…" if snap.stop_requested else (
            f"Training both networks: epoch {done}/{config.epochs}" if latest else "Starting…")
        st.progress(min(done / max(config.epochs, 1), 1.0), text=words)
    else:
        how = ("Finished" if snap.status != "stopped" else
               snap.stop_reason.removesuffix(".") if snap.stop_reason else "Stopped by you")
        scores = ", ".join(f"{NAMES[v]}: {_score_words(s, snap.info['data'].task)}" for v, s in latest.items())
        st.success(f"{how} after {snap.elapsed_s:.0f} s. Validation {scores}.", icon=":material/check_circle:")


def live_experiment(session: LearnSession) -> None:
    """Both decision surfaces, the shared loss chart and the gradient chart, redrawn while the job runs."""
    job = session.job
    if job is None:
        st.caption("Press **Start experiment**: the charts appear after the first few epochs.")
        return

    @st.fragment(run_every=POLL_S if job.snapshot().active else None)
    def draw() -> None:
        job.touch()
        snap = job.snapshot()
        changes = changed_settings(snap.info["config"], _current(session))
        if changes:
            _stale_marker("These charts are", changes, "Start experiment")
        _experiment_status(snap)
        data = snap.info["data"]
        latest = experiment_job.latest_by_variant(snap.events)
        if latest:
            st.markdown(teaching.SURFACE_HELP)
            cols = st.columns(2)
            for col, variant in zip(cols, ("residual", "plain"), strict=True):
                with col:
                    if variant in latest:
                        st.plotly_chart(surface_figure(latest[variant], data), key=f"learn_surface_{variant}",
                                        config={"displaylogo": False})
            loss, grads = st.columns(2)
            with loss:
                st.markdown("**Loss: both networks on one chart**")
                st.plotly_chart(loss_figure(experiment_job.snapshots(snap.events)), key="learn_loss",
                                config={"displaylogo": False})
                st.markdown(teaching.LOSS_HELP)
            with grads:
                st.markdown("**Gradient flow: how much each block learns**")
                st.plotly_chart(gradient_figure(latest), key="learn_gradients", config={"displaylogo": False})
                st.markdown(teaching.GRADIENT_HELP)
        if snap.finished and snap.id not in session.seen_end:
            session.seen_end.add(snap.id)
            st.rerun()  # once: the controls are drawn enabled again

    draw()


# ---------------------------------------------------------------------- the depth sweep
def depth_sweep(session: LearnSession) -> None:
    """Final validation score against depth for both variants: run, cancel, or shown from a sweep kept earlier."""
    st.subheader("Depth sweep", anchor=False)
    st.markdown(teaching.SWEEP_HELP)
    config = _current(session)
    if config is None:
        st.caption("Fix the settings above to run the sweep.")
        return
    depths = experiment_job.SWEEP_DEPTHS
    sweep = session.sweep
    running = _active(sweep) or _active(session.job)
    with st.container(horizontal=True):
        st.button("Run the depth sweep", key="learn_sweep", icon=":material/stacked_line_chart:", disabled=running,
                  on_click=_start_sweep, args=(session,), width="content",
                  help=f"Train both networks at depths {', '.join(map(str, depths))} with the settings above.")
        st.button("Cancel sweep", key="learn_sweep_cancel", icon=":material/cancel:", width="content",
                  disabled=not _active(sweep) or sweep.stop_requested,  # type: ignore[union-attr]
                  on_click=lambda: session.sweep.stop() if session.sweep else None)
    key = experiment_job.sweep_key(config, depths)
    mine = sweep is not None and sweep.info.get("key") == key
    cached = None if mine or _active(sweep) else experiment_job.cached_sweep(config, depths)
    if cached is not None:
        rows, ended = cached
        st.caption(f"From a sweep with these settings run {_ago(time.time() - ended)} (kept while the app runs, so "
                   "it shows at once).")
        st.plotly_chart(sweep_figure(rows, _task(config)), key="learn_sweep_chart", config={"displaylogo": False})
        return
    if sweep is not None:
        _sweep_progress(session, sweep)


def _ago(seconds: float) -> str:
    if seconds < 60:
        return "less than a minute ago"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    return f"{seconds // 3600:.0f} h ago"


def _task(config: Any) -> str:
    return "regression" if config.data == "curve" else "binary"


def _start_sweep(session: LearnSession) -> None:
    config = _config_or_error(session)
    if config is None or _active(session.job) or _active(session.sweep):
        return
    session.sweep = experiment_job.start_sweep(config, experiment_job.SWEEP_DEPTHS)


def _sweep_progress(session: LearnSession, sweep: Any) -> None:
    @st.fragment(run_every=POLL_S if sweep.snapshot().active else None)
    def draw() -> None:
        sweep.touch()
        snap = sweep.snapshot()
        progress = snap.latest.get("progress")
        changes = changed_settings(snap.info["config"], _current(session), ignore=("depth", "snapshot_every"))
        if changes:
            _stale_marker("This sweep is", changes, "Run the depth sweep")
        if snap.status == "error":
            st.error(f"The sweep failed: {snap.error}", icon=":material/error:")
        elif snap.active:
            fraction, text = (progress[1], progress[2]) if progress else (0.0, "Starting…")
            st.progress(min(max(fraction, 0.0), 1.0), text=f"Sweep: {text}" + (" (stopping…)" if snap.stop_requested
                                                                                else ""))
        elif snap.status == "stopped":
            st.info(f"{snap.stop_reason} The depths finished so far are shown." if snap.stop_reason else
                    "Sweep cancelled; the depths finished so far are shown.", icon=":material/cancel:")
        elif snap.status == "done":
            st.success(f"Sweep finished in {snap.elapsed_s:.0f} s.", icon=":material/check_circle:")
        if isinstance(snap.result, list) and snap.result:
            st.plotly_chart(sweep_figure(snap.result, _task(snap.info["config"])), key="learn_sweep_chart",
                            config={"displaylogo": False})
        if snap.finished and snap.id not in session.seen_end:
            session.seen_end.add(snap.id)
            st.rerun()

    draw()
