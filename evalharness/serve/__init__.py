"""``evalharness serve``: a reference model server on 127.0.0.1 for the demo, the tests and load runs.

It serves the local model (ONNX or torch) of each suite it is given, under the model file's name,
on four kinds of route at once:

- generic JSON: ``POST /predict/{model}`` with one row or ``{"instances": [...]}``;
- OpenAI-compatible: ``GET /v1/models``, ``POST /v1/chat/completions`` and ``/v1/completions``,
  streamed as server-sent events on request;
- Open Inference Protocol v2 (KServe, Triton): ``/v2``, ``/v2/health/{live,ready}``,
  ``/v2/models/{model}[/versions/1]``, ``.../ready`` and ``.../infer`` (ONNX models);
- health: ``GET /health`` (alive) and ``GET /ready`` (models loaded).

Needs the ``http`` extra (aiohttp) and the engine's extra.
"""
