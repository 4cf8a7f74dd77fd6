import subprocess
import sys

from tests.app.conftest import REPO


def test_the_serving_path_never_imports_tensorflow() -> None:
    code = (
        "import sys, app, app.main, app.__main__; app.main.create_app(); "
        "leaked = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx', 'training')]; "
        "print(leaked); sys.exit(1 if leaked else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
