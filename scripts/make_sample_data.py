"""Regenerate everything under sample_data/ (deterministic; offline).

Tables and images come from scikit-learn's bundled copies of classic datasets (no download);
``penguins_like.csv`` is synthetic. The small convolutional base model is trained here on the
training split of the digits images, with a fixed seed.

    python scripts/make_sample_data.py [--out sample_data] [--skip-model]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = 0
IMAGE_SIZE = 16  # digits are 8x8; each pixel becomes a 2x2 block
EPOCHS = 40
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def write_tables(out: Path) -> None:
    """wine, breast_cancer, diabetes and digits as CSV files, targets as readable labels."""
    from sklearn import datasets

    wine = datasets.load_wine(as_frame=True).frame
    wine["target"] = [f"class_{int(t)}" for t in wine["target"]]
    wine.to_csv(out / "wine.csv", index=False)

    cancer = datasets.load_breast_cancer(as_frame=True)
    frame = cancer.frame.drop(columns="target")
    frame["diagnosis"] = [str(cancer.target_names[t]) for t in cancer.target]
    frame.to_csv(out / "breast_cancer.csv", index=False, float_format="%.6g")

    diabetes = datasets.load_diabetes(as_frame=True, scaled=False).frame
    diabetes = diabetes.rename(columns={"target": "progression"})
    diabetes.to_csv(out / "diabetes.csv", index=False, float_format="%.6g")

    digits = datasets.load_digits(as_frame=True).frame.astype(int)
    digits = digits.rename(columns={"target": "digit"})
    digits.to_csv(out / "digits.csv", index=False)


def write_penguins_like(out: Path, n: int = 300) -> None:
    """A synthetic penguin-style table: text columns and missing values (one-hot, imputation)."""
    rng = np.random.default_rng(SEED)
    species = rng.choice(["alpha", "beta", "gamma"], size=n, p=[0.45, 0.2, 0.35])
    centre = {  # bill length, bill depth, flipper length, body mass
        "alpha": (38.8, 18.3, 190.0, 3700.0),
        "beta": (48.8, 18.4, 196.0, 3730.0),
        "gamma": (47.5, 15.0, 217.0, 5080.0),
    }
    islands = {"alpha": [0.35, 0.35, 0.3], "beta": [0.0, 1.0, 0.0], "gamma": [1.0, 0.0, 0.0]}
    spread = np.array([2.7, 1.2, 6.5, 460.0])
    rows = []
    for s in species:
        bill_len, bill_dep, flipper, mass = rng.normal(centre[s], spread)
        rows.append({
            "island": rng.choice(["North", "Middle", "South"], p=islands[s]),
            "bill_length_mm": round(bill_len, 1),
            "bill_depth_mm": round(bill_dep, 1),
            "flipper_length_mm": round(flipper),
            "body_mass_g": int(round(mass, -1)),
            "sex": rng.choice(["female", "male"]),
            "year": int(rng.integers(2007, 2010)),
            "species": s,
        })
    frame = pd.DataFrame(rows)
    for column, share in (("bill_length_mm", 0.03), ("body_mass_g", 0.03), ("sex", 0.06), ("island", 0.02)):
        frame.loc[rng.random(n) < share, column] = None
    frame["body_mass_g"] = frame["body_mass_g"].astype("Int64")
    frame.to_csv(out / "penguins_like.csv", index=False)


def digit_images() -> tuple[np.ndarray, np.ndarray]:
    """The digits as 16x16 uint8 images (0..255, white strokes on black) and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.rint(digits.images * (255 / 16)).astype(np.uint8)
    scale = IMAGE_SIZE // 8
    big = pixels.repeat(scale, axis=1).repeat(scale, axis=2)
    return big, digits.target.astype(np.int64)


def write_images(out: Path) -> None:
    """digits_images.zip (PNG per image in one folder per class) and digits.npz."""
    from PIL import Image

    images, labels = digit_images()
    with zipfile.ZipFile(out / "digits_images.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for digit in range(10):
            archive.writestr(zipfile.ZipInfo(f"{digit}/", ZIP_DATE), b"")
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            buffer = io.BytesIO()
            Image.fromarray(image, mode="L").save(buffer, format="PNG", optimize=True)
            info = zipfile.ZipInfo(f"{label}/{i:04d}.png", ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())
    # The same order as the zip loads in (by class folder, then file name): the same splits.
    order = np.argsort(labels, kind="stable")
    class_names = np.array([str(d) for d in range(10)])
    np.savez_compressed(out / "digits.npz", x=images[order], y=labels[order], class_names=class_names)


def train_base_model(out: Path) -> dict[str, float]:
    """A small CNN trained on the training split of digits_images.zip, saved as digits_cnn.keras."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import keras
    import tensorflow as tf

    from rmlp.data import load_images

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    data = load_images(out / "digits_images.zip", seed=SEED)

    def rgb(x: np.ndarray) -> np.ndarray:
        return np.repeat(x, 3, axis=-1)

    layers = keras.layers
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="image")
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(name="pool2")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.GlobalAveragePooling2D(name="features")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="digits_cnn")
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(
        rgb(data.x_train), data.y_train, validation_data=(rgb(data.x_val), data.y_val),
        epochs=EPOCHS, batch_size=32, verbose=0,
    )
    model.save(out / "digits_cnn.keras")
    from rmlp.base.measure import inspect_base_file

    # the facts the design path reads about the base model, cut at "features" (content-hashed)
    inspect_base_file(out / "digits_cnn.keras", "features")
    _, val_acc = model.evaluate(rgb(data.x_val), data.y_val, verbose=0)
    _, test_acc = model.evaluate(rgb(data.x_test), data.y_test, verbose=0)
    return {"val_accuracy": float(val_acc), "test_accuracy": float(test_acc), "params": model.count_params()}


README = """# Sample data

Small datasets and a small pre-trained base model for trying the residual MLP designer offline.
Everything here is written by `scripts/make_sample_data.py` (deterministic: `make sample-data`);
do not edit these files by hand.

The tables and the digit images are scikit-learn's bundled copies of classic datasets (they ship
with scikit-learn, no download): `load_wine`, `load_breast_cancer`, `load_diabetes(scaled=False)`
and `load_digits`. See the scikit-learn documentation ("Toy datasets") for their original sources
and licences. `penguins_like.csv` is synthetic.

- `wine.csv`: 178 wines from three cultivars, 13 chemical measurements. Target `target`
  (`class_0`, `class_1`, `class_2`): **multiclass** (3 classes).
- `breast_cancer.csv`: 569 breast masses, 30 features computed from images of cell nuclei.
  Target `diagnosis` (`benign` / `malignant`): **binary**.
- `diabetes.csv`: 442 patients: age, sex, BMI, blood pressure and six blood serum measurements
  (unscaled). Target `progression` (disease progression one year later): **regression**.
- `digits.csv`: 1,797 handwritten digits as 64 pixel columns `pixel_r_c` (8×8, values 0–16).
  Target `digit` (0–9): **multiclass** (10 classes).
- `penguins_like.csv`: 300 rows, **synthetic** (random numbers in a penguin-like shape, not real
  measurements), with text columns (`island`, `sex`) and missing values to show one-hot encoding
  and imputation. Target `species` (`alpha`, `beta`, `gamma`): **multiclass** (3 classes).
- `digits_images.zip`: the 1,797 digits as 16×16 grayscale PNGs (each 8×8 pixel a 2×2 block,
  values 0–255, white strokes on black), one folder per class `0/` … `9/`: **multiclass** (10).
- `digits.npz`: the same images as arrays, in the order the zip loads in (so the same seed gives
  the same splits): `x` (1797, 16, 16) uint8, `y` (1797,) int, `class_names` ('0' … '9').
- `digits_cnn.keras`: a small CNN pre-trained on the digits images, to use as a base model (below).

## The base model `digits_cnn.keras`

Built from built-in Keras layers only (functional API), so it loads with plain Keras
(`safe_mode=True`):

    image (16, 16, 3), pixels 0..255
    -> Rescaling(1/255) "rescale"
    -> Conv2D(16, 3, relu) "conv1" -> MaxPooling2D "pool1"
    -> Conv2D(32, 3, relu) "conv2" -> MaxPooling2D "pool2"
    -> Conv2D(64, 3, relu) "conv3"
    -> GlobalAveragePooling2D "features"   (64 features: cut here)
    -> Dense(10, softmax) "predictions"

- **Input:** 16×16 pixels, **3 channels**, values 0–255 (it scales them itself, so no extra
  preprocessing). The digit images are grayscale (1 channel): switch on *Grayscale to RGB*
  (`spec_for_data` does this for you when a base model is set).
- **Cut layer:** `features` (a 64-value vector per image).
- **Training:** {epochs} epochs, Adam (learning rate 0.002), batch 32, seed {seed}, on the
  training split of `digits_images.zip` as `rmlp.data.load_images(..., seed={seed})` makes it
  (70 % train / 15 % validation / 15 % test, stratified). The test split was not seen in training.
- **Accuracy:** validation {val_accuracy:.3f}, test {test_accuracy:.3f} ({params:,} parameters).
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "sample_data")
    parser.add_argument("--skip-model", action="store_true", help="do not (re)train digits_cnn.keras")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_tables(out)
    write_penguins_like(out)
    write_images(out)
    if not args.skip_model:
        scores = train_base_model(out)
        (out / "README.md").write_text(
            README.format(epochs=EPOCHS, seed=SEED, **scores), encoding="utf-8"
        )
        print(f"digits_cnn.keras: {scores}")
    for path in sorted(out.iterdir()):
        print(f"{path.name:24s} {path.stat().st_size / 1000:8.1f} KB")


if __name__ == "__main__":
    main()
