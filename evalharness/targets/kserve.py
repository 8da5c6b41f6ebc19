"""Target ``kserve``: the Open Inference Protocol v2 over HTTP (KServe, Triton, MLServer, OpenVINO).

Rows are sent in batches as v2 input tensors built from columns; the answer's output tensors are
mapped to the label and the positive-class score. The server's and the model's readiness routes
are checked before the first request, so a server that is up but not ready is a clear error.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from evalharness.errors import TargetError
from evalharness.suite.schema import KServeTargetSpec, OutputRef
from evalharness.targets.base import TargetContext, TargetOutput
from evalharness.targets.endpoint import EndpointTarget
from evalharness.targets.secrets import expand, redact

_CASTS = {"FP32": float, "FP64": float, "INT32": int, "INT64": int, "BOOL": bool, "BYTES": str}


class KServeTarget(EndpointTarget):
    """Batched v2 ``/infer`` requests, concurrent, with the shared retries and accounting."""

    kind = "kserve"

    def __init__(self, spec: KServeTargetSpec, context: TargetContext) -> None:
        super().__init__(spec, context)
        self.base = expand(spec.url).rstrip("/")
        versioned = f"/versions/{spec.version}" if spec.version else ""
        self.model_path = f"{self.base}/v2/models/{spec.model}{versioned}"
        self.url = f"{self.model_path}/infer"
        self.has_score = spec.score is not None

    def _payload(self, rows: list[dict[str, Any]]) -> Any:
        tensors = []
        for tensor in self.spec.inputs:
            cast = _CASTS[tensor.datatype]
            data = [cast(row[column]) for row in rows for column in tensor.columns]
            tensors.append({"name": tensor.name, "shape": [len(rows), len(tensor.columns)],
                            "datatype": tensor.datatype, "data": data})  # fmt: skip
        # Ask for the outputs the suite reads: servers such as MLServer return only a default one otherwise.
        wanted = dict.fromkeys(ref.name for ref in (self.spec.label, self.spec.score) if ref is not None)
        return {"inputs": tensors, "outputs": [{"name": name} for name in wanted]}

    def _output(self, answer: Any, ref: OutputRef, count: int) -> np.ndarray:
        outputs = {output["name"]: output for output in answer["outputs"]}
        if ref.name not in outputs:
            raise ValueError(f"the answer has no output '{ref.name}' (it has {sorted(outputs)})")
        values = np.asarray(outputs[ref.name]["data"]).reshape(count, -1)
        column = ref.column if ref.column is not None else (1 if values.shape[1] == 2 and ref is self.spec.score else 0)
        return values[:, column]

    def _extract(self, answer: Any, count: int) -> tuple[list[Any], list[Any]]:
        scores = self._output(answer, self.spec.score, count) if self.spec.score else None
        if self.spec.label is not None:
            labels = self._output(answer, self.spec.label, count)
        else:
            assert scores is not None
            labels = (scores >= self.spec.threshold).astype(np.int64)
        return labels.tolist(), scores.tolist() if scores is not None else [None] * count

    async def _check_ready(self) -> None:
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=self.spec.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for route in (f"{self.base}/v2/health/ready", f"{self.model_path}/ready"):
                try:
                    async with session.get(route, headers=self.headers) as reply:
                        if reply.status != 200:
                            raise TargetError(redact(f"{route} answered HTTP {reply.status}: not ready"))
                except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as error:
                    raise TargetError(redact(f"{route} is not reachable: {type(error).__name__}: {error}")) from None

    def predict(self, frame: Any) -> TargetOutput:
        """Check readiness, then answer every row in concurrent batches."""
        asyncio.run(self._check_ready())
        return super().predict(frame)

    def describe(self) -> dict[str, Any]:
        """Server, model and how every request ended (secrets redacted)."""
        return {**super().describe(), "model": self.spec.model, "version": self.spec.version, "protocol": "v2"}
