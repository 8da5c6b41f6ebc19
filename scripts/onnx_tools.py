"""Helpers the demo build scripts share for writing ONNX files byte for byte reproducibly."""

from __future__ import annotations

from typing import Any


def finish_model(model: Any, name: str, built_by: str, doc: str) -> bytes:
    """Sort opsets (skl2onnx keeps them in a set, ordered by PYTHONHASHSEED), label, and serialise."""
    from onnx import helper

    opsets = sorted((o.domain, o.version) for o in model.opset_import)
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(domain, version) for domain, version in opsets)
    model.doc_string = doc
    helper.set_model_props(model, {"name": name, "built_by": built_by})
    return bytes(model.SerializeToString(deterministic=True))
