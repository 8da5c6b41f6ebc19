"""Build the forecasting demo: synthetic seasonal series and a small TorchScript forecaster.

Each row is a window of a seasonal series (level, trend, a daily or half-daily cycle, noise):
48 past points (``history``) and the 12 that follow (``future``, the expected answer). A small
multilayer perceptron, normalising each window inside the model, learns to forecast the 12
points; it is saved with ``torch.export`` so a suite names a file, never Python code. Seeds and
single-threaded deterministic training make reruns give the same model.

Usage: python scripts/build_forecasting_demo.py [--out-root PATH]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

HISTORY, HORIZON = 48, 12
EVALUATION_SEED, TRAINING_SEED, TORCH_SEED = 20261124, 11, 0
EVALUATION_ROWS, TRAINING_ROWS = 1000, 8000
EPOCHS, BATCH = 60, 256


def generate(rows: int, seed: int) -> dict[str, np.ndarray]:
    """Windows of synthetic seasonal series: history [rows, 48] and future [rows, 12]."""
    rng = np.random.default_rng(seed)
    t = np.arange(HISTORY + HORIZON)[None, :] + rng.integers(0, 1000, (rows, 1))
    period = rng.choice([12, 24], size=(rows, 1))
    level = rng.uniform(20, 200, (rows, 1))
    trend = rng.normal(0, 0.05, (rows, 1)) * level / 10
    amplitude = rng.uniform(0.1, 0.4, (rows, 1)) * level
    noise = rng.normal(0, 0.04, (rows, HISTORY + HORIZON)) * level
    series = level + trend * (t - t[:, :1]) + amplitude * np.sin(2 * np.pi * t / period) + noise
    return {"history": series[:, :HISTORY], "future": series[:, HISTORY:], "period": period[:, 0]}


def build_model():  # type: ignore[no-untyped-def]
    """An MLP over the window normalised by its own mean and standard deviation."""
    import torch
    from torch import nn

    class Forecaster(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(HISTORY, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, HORIZON)
            )

        def forward(self, history: torch.Tensor) -> torch.Tensor:
            mean = history.mean(dim=1, keepdim=True)
            std = history.std(dim=1, keepdim=True).clamp_min(1e-6)
            return self.net((history - mean) / std) * std + mean

    return Forecaster()


def train(data: dict[str, np.ndarray]):  # type: ignore[no-untyped-def]
    """Adam on the mean squared error of normalised forecasts; deterministic on one thread."""
    import torch

    torch.manual_seed(TORCH_SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    model = build_model()
    history = torch.tensor(data["history"], dtype=torch.float32)
    future = torch.tensor(data["future"], dtype=torch.float32)
    scale = history.std(dim=1, keepdim=True).clamp_min(1e-6)
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(TORCH_SEED)
    for _ in range(EPOCHS):
        for batch in torch.randperm(len(history), generator=generator).split(BATCH):
            optimiser.zero_grad()
            loss = (((model(history[batch]) - future[batch]) / scale[batch]) ** 2).mean()
            loss.backward()
            optimiser.step()
    return model.eval()


def write_dataset(data: dict[str, np.ndarray], path: Path) -> None:
    """JSON lines: series_id, period, history (48 numbers), future (12 numbers)."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in range(len(data["history"])):
            record = {
                "series_id": f"S{row + 1:05d}",
                "period": int(data["period"][row]),
                "history": [round(float(v), 3) for v in data["history"][row]],
                "future": [round(float(v), 3) for v in data["future"][row]],
            }
            handle.write(json.dumps(record) + "\n")


def main() -> None:
    """Write datasets/forecasting/series.jsonl and models/forecaster.pt2 under ``--out-root``."""
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-root", type=Path, default=Path(__file__).resolve().parents[1])
    root = parser.parse_args().out_root
    (root / "datasets" / "forecasting").mkdir(parents=True, exist_ok=True)
    (root / "models").mkdir(parents=True, exist_ok=True)
    dataset_path = root / "datasets" / "forecasting" / "series.jsonl"
    write_dataset(generate(EVALUATION_ROWS, EVALUATION_SEED), dataset_path)
    model = train(generate(TRAINING_ROWS, TRAINING_SEED))
    example = (torch.zeros(2, HISTORY),)
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(model, example, dynamic_shapes={"history": {0: batch}})
    torch.export.save(program, str(root / "models" / "forecaster.pt2"))
    rows = [json.loads(line) for line in dataset_path.read_text().splitlines()]
    with torch.inference_mode():
        forecast = model(torch.tensor([r["history"] for r in rows], dtype=torch.float32)).numpy()
    truth = np.array([r["future"] for r in rows])
    naive = np.array([r["history"][-HORIZON:] for r in rows])
    print(f"model MAE {np.abs(forecast - truth).mean():.3f}; repeat-last-12 MAE {np.abs(naive - truth).mean():.3f}")
    print(f"wrote {dataset_path} and {root / 'models' / 'forecaster.pt2'}")


if __name__ == "__main__":
    main()
