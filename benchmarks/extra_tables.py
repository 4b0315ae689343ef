"""Write the extra benchmark tables that packages ship inside themselves (nothing is downloaded) as CSV files.

    python benchmarks/extra_tables.py OUT_DIR    # prints FILE:TARGET arguments for bench_quality.py

scikit-learn's iris; vega_datasets' seattle-weather (the weather class from precipitation, temperatures and
wind) and cars (the origin from the car's measurements); statsmodels' anes96 (the vote from a voter's
answers). A package that is not installed (``pip install '.[bench]'``) is left out with a note.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _iris() -> Any:
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    return frame, "target"


def _seattle_weather() -> Any:
    from vega_datasets import local_data

    frame = local_data.seattle_weather()
    return frame.drop(columns=["date"]), "weather"


def _cars() -> Any:
    from vega_datasets import local_data

    frame = local_data.cars()
    return frame.drop(columns=["Name", "Year"]), "Origin"


def _anes96() -> Any:
    from statsmodels.datasets import anes96

    frame = anes96.load_pandas().data
    return frame.drop(columns=["vote"]).assign(vote=frame["vote"].astype(int)), "vote"


TABLES: dict[str, Callable[[], Any]] = {"iris": _iris, "seattle_weather": _seattle_weather, "cars": _cars,
                                         "anes96": _anes96}


def write(out: Path) -> list[str]:
    """Write every table whose package is installed; their FILE:TARGET arguments."""
    out.mkdir(parents=True, exist_ok=True)
    args = []
    for name, load in TABLES.items():
        try:
            frame, target = load()
        except ImportError as exc:
            print(f"{name}: left out ({exc.name} is not installed)", file=sys.stderr)
            continue
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False)
        args.append(f"{path}:{target}")
    return args


if __name__ == "__main__":
    print(" ".join(write(Path(sys.argv[1] if len(sys.argv) > 1 else "extra_tables"))))
