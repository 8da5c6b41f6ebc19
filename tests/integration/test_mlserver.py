"""The ``kserve`` target against a real third-party v2 server: Seldon MLServer with its sklearn runtime.

MLServer lives in its own environment (``scripts/install-mlserver.sh`` builds ``.venv-mlserver``,
``make test`` runs it); without it this test is skipped with the reason. The model is trained and
its reference answers computed by scikit-learn inside that environment, independently of evalharness.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from evalharness.load.server import free_port
from evalharness.processes import stop_process
from tests.builders import two_feature_frame
from tests.servers import REPO_ROOT

MLSERVER_VENV = Path(os.environ.get("EVALHARNESS_MLSERVER_VENV", REPO_ROOT / ".venv-mlserver"))
MLSERVER = MLSERVER_VENV / "bin" / "mlserver"

pytestmark = pytest.mark.skipif(
    not MLSERVER.is_file(), reason=f"MLServer is not installed at {MLSERVER} (bash scripts/install-mlserver.sh)"
)

TRAIN = textwrap.dedent("""
    import json, sys
    import joblib, pandas as pd
    from sklearn.linear_model import LogisticRegression
    frame = pd.read_csv(sys.argv[1])
    model = LogisticRegression().fit(frame[["x1", "x2"]].to_numpy(), frame["y"])
    joblib.dump(model, sys.argv[2])
    x = frame[["x1", "x2"]].to_numpy()
    print(json.dumps({"label": model.predict(x).tolist(), "score": model.predict_proba(x)[:, 1].tolist()}))
""")


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def mlserver(tmp_path: Path) -> Iterator[tuple[str, dict[str, list[float]]]]:
    """MLServer serving a scikit-learn model named ``tiny``; yields (base URL, sklearn's own answers)."""
    frame = two_feature_frame(rows=400, seed=3)
    frame.to_csv(tmp_path / "data.csv", index=False)
    model_dir = tmp_path / "tiny"
    model_dir.mkdir()
    trained = subprocess.run([MLSERVER_VENV / "bin" / "python", "-c", TRAIN, tmp_path / "data.csv",
                              model_dir / "model.joblib"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    http_port, grpc_port = free_port(), free_port()
    settings = {"host": "127.0.0.1", "http_port": http_port, "grpc_port": grpc_port, "metrics_endpoint": None,
                "parallel_workers": 0, "environments_dir": str(tmp_path / "envs")}  # fmt: skip
    (model_dir / "settings.json").write_text(json.dumps(settings))
    (model_dir / "model-settings.json").write_text(json.dumps({
        "name": "tiny", "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v1"},
    }))  # fmt: skip
    log = (tmp_path / "mlserver.log").open("w")
    process = subprocess.Popen([MLSERVER, "start", str(model_dir)], cwd=tmp_path, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 90
        while not _ready(f"{url}/v2/models/tiny/ready"):  # the model route: /v2/health/ready is 200 before it
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "mlserver.log").read_text()
            time.sleep(0.02)
        yield url, json.loads(trained.stdout)
    finally:
        stop_process(process, group=True)  # MLServer and anything it started, by its process group
        log.close()


def test_kserve_target_scores_an_mlserver_model_as_sklearn_does(
    mlserver: tuple[str, dict[str, list[float]]], tmp_path: Path
) -> None:
    from sklearn.metrics import accuracy_score, roc_auc_score

    url, truth = mlserver
    (tmp_path / "suite.yaml").write_text(
        textwrap.dedent(f"""
        schema: 1
        name: mlserver-tiny
        target:
          kind: kserve
          url: {url}
          model: tiny
          inputs: [{{name: input-0, columns: [x1, x2], datatype: FP64}}]
          label: {{name: predict}}
          score: {{name: predict_proba, column: 1}}
          batch_size: 64
        dataset: {{path: data.csv, id: row_id, expected: y, positive_label: 1}}
        metrics:
          accuracy: {{min: 0.5}}
          auc: {{min: 0.5}}
    """)
    )
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--evalharness", "suite.yaml",
               "--evalharness-report-dir=reports"]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    record = json.loads((tmp_path / "reports" / "run.json").read_text())
    (suite,) = record["suites"]
    values = {gate["metric"]: gate["value"] for gate in suite["gates"]}
    expected = two_feature_frame(rows=400, seed=3)["y"].to_numpy()
    assert values["accuracy"] == pytest.approx(accuracy_score(expected, truth["label"]), abs=1e-12)
    assert values["auc"] == pytest.approx(roc_auc_score(expected, np.asarray(truth["score"])), abs=1e-9)
    assert suite["target"]["outcomes"] == {"ok": 7}  # 400 rows in batches of 64
