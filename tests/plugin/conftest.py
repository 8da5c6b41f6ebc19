"""pytester restores sys.modules after each in-process run; extension modules such as onnx
cannot be initialised twice, so they are imported once here, before any snapshot is taken."""

from __future__ import annotations

import importlib

for _module in ("numpy", "pandas", "pyarrow", "onnx", "onnxruntime", "pydantic", "jinja2", "xdist"):
    try:
        importlib.import_module(_module)
    except ImportError:
        pass
