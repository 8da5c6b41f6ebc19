"""Open Inference Protocol v2 routes (KServe, Triton, MLServer speak the same) for ONNX models.

Input tensors are fed to the ONNX Runtime session as they come, by name, so the server behaves
like a Triton ``onnxruntime`` backend: the client owns tensor names, shapes and datatypes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from aiohttp import web

from evalharness.__about__ import __version__
from evalharness.serve.generic import STATE_KEY, read_json
from evalharness.serve.models import ServedModel
from evalharness.serve.state import ServeError

ONNX_TO_V2 = {
    "tensor(float)": "FP32", "tensor(double)": "FP64", "tensor(float16)": "FP16", "tensor(int64)": "INT64",
    "tensor(int32)": "INT32", "tensor(int8)": "INT8", "tensor(uint8)": "UINT8", "tensor(bool)": "BOOL",
    "tensor(string)": "BYTES",
}  # fmt: skip
V2_TO_NUMPY = {
    "FP32": np.float32, "FP64": np.float64, "FP16": np.float16, "INT64": np.int64, "INT32": np.int32,
    "INT8": np.int8, "UINT8": np.uint8, "BOOL": np.bool_, "BYTES": np.object_,
}  # fmt: skip


def _onnx_session(state_model: ServedModel) -> Any:
    session = state_model.session
    if session is None:
        raise ServeError(400, f"model '{state_model.name}' is not ONNX; v2 tensors are served for ONNX models only, "
                              f"use POST /predict/{state_model.name}")  # fmt: skip
    return session


def _describe(node: Any) -> dict[str, Any]:
    shape = [dim if isinstance(dim, int) else -1 for dim in (node.shape or [])]
    return {"name": node.name, "datatype": ONNX_TO_V2.get(node.type, node.type), "shape": shape}


def _model(request: web.Request) -> ServedModel:
    state = request.app[STATE_KEY]
    model = state.model(request.match_info["model"])
    version = request.match_info.get("version")
    if version not in (None, "1"):
        raise ServeError(404, f"model '{model.name}' has only version 1")
    return model


async def server_metadata(request: web.Request) -> web.Response:
    """``GET /v2``: name, version and extensions."""
    return web.json_response({"name": "evalharness", "version": __version__, "extensions": []})


async def model_metadata(request: web.Request) -> web.Response:
    """``GET /v2/models/{model}``: platform, versions, input and output tensors."""
    model = _model(request)
    session = _onnx_session(model)
    return web.json_response({
        "name": model.name, "versions": ["1"], "platform": "onnxruntime_onnx",
        "inputs": [_describe(node) for node in session.get_inputs()],
        "outputs": [_describe(node) for node in session.get_outputs()],
    })  # fmt: skip


async def model_ready(request: web.Request) -> web.Response:
    """``GET /v2/models/{model}/ready``: 200 once loaded (404 for an unknown model, 503 while loading)."""
    model = _model(request)
    return web.json_response({"name": model.name, "ready": True})


def _input_array(tensor: Any, expected: dict[str, Any]) -> tuple[str, np.ndarray]:
    if not isinstance(tensor, dict) or not {"name", "shape", "datatype", "data"} <= tensor.keys():
        raise ServeError(400, "each input needs name, shape, datatype and data")
    name, datatype = tensor["name"], tensor["datatype"]
    if name not in expected:
        raise ServeError(400, f"the model has no input '{name}'; it has {sorted(expected)}")
    if datatype != ONNX_TO_V2.get(expected[name].type):
        raise ServeError(400, f"input '{name}' is {ONNX_TO_V2.get(expected[name].type)}, not {datatype}")
    try:
        array = np.asarray(tensor["data"], dtype=V2_TO_NUMPY[datatype]).reshape(tensor["shape"])
    except (ValueError, TypeError) as error:
        raise ServeError(400, f"input '{name}': data does not fit shape {tensor['shape']}: {error}") from None
    return name, array


def _output_tensor(name: str, value: np.ndarray, datatype: str) -> dict[str, Any]:
    flat = value.reshape(-1)
    data = [str(item) for item in flat] if datatype == "BYTES" else flat.tolist()
    return {"name": name, "shape": list(value.shape), "datatype": datatype, "data": data}


async def infer(request: web.Request) -> web.Response:
    """``POST /v2/models/{model}/infer``: tensors in, the requested (default: all) output tensors out."""
    model = _model(request)
    session = _onnx_session(model)
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise ServeError(400, 'the body must be {"inputs": [tensors]}')
    expected = {node.name: node for node in session.get_inputs()}
    feeds = dict(_input_array(tensor, expected) for tensor in body["inputs"])
    if missing := sorted(set(expected) - set(feeds)):
        raise ServeError(400, f"inputs {missing} are missing")
    outputs = {node.name: node for node in session.get_outputs()}
    wanted = [item.get("name") for item in body.get("outputs") or []] or list(outputs)
    if unknown := [name for name in wanted if name not in outputs]:
        raise ServeError(400, f"the model has no outputs {unknown}; it has {sorted(outputs)}")
    try:
        values = session.run(wanted, feeds)
    except Exception as error:  # onnxruntime's shape and type failures
        raise ServeError(400, f"onnxruntime: {error}") from None
    tensors = [_output_tensor(name, np.asarray(value), ONNX_TO_V2[outputs[name].type])
               for name, value in zip(wanted, values)]  # fmt: skip
    answer: dict[str, Any] = {"model_name": model.name, "model_version": "1", "outputs": tensors}
    if "id" in body:
        answer["id"] = body["id"]
    return web.json_response(answer)


async def live(request: web.Request) -> web.Response:
    """``GET /v2/health/live``."""
    return web.json_response({"live": True})


def add_routes(app: web.Application) -> None:
    """Register the v2 health, metadata, readiness and inference routes (with and without a version)."""
    from evalharness.serve.generic import ready

    app.router.add_get("/v2", server_metadata)
    app.router.add_get("/v2/health/live", live)
    app.router.add_get("/v2/health/ready", ready)
    for prefix in ("/v2/models/{model}", "/v2/models/{model}/versions/{version}"):
        app.router.add_get(prefix, model_metadata)
        app.router.add_get(f"{prefix}/ready", model_ready)
        app.router.add_post(f"{prefix}/infer", infer)
