"""The README's tritonclient.grpc example runs as written against a started service (in .venv-triton)."""

import os
import re
import subprocess

import pytest

from tests.app.conftest import REPO
from tests.app.grpc_api.conftest import Service

README_TARGET = "127.0.0.1:8001"


def readme_grpc_example() -> str:
    section = (REPO / "README.md").read_text().split("### Over gRPC", 1)[1]
    (code,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], flags=re.DOTALL)
    assert README_TARGET in code
    return code


@pytest.mark.skipif("TRITON_PYTHON" not in os.environ, reason="tritonclient[grpc] runs through `make test`")
def test_the_readme_grpc_example_runs(grpc_service: Service) -> None:
    code = readme_grpc_example().replace(README_TARGET, grpc_service.target)
    result = subprocess.run([os.environ["TRITON_PYTHON"], "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.match(r"\[\d\] \[\[", result.stdout), result.stdout  # the label, then the probabilities
