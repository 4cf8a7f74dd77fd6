"""The README's examples tell the truth: each shell block that calls the service runs against a real process, and
the JSON the README prints after it is what the service answers (numbers within a tolerance).

Blocks that need a cluster (kubectl) are left out, and so are the lines with a placeholder such as `<pid>`.
A printed answer shortened with `...` is compared by the scalar fields it shows. The block that writes the example
files runs first, once.
"""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.app.conftest import REPO, SHIPPED_MODELS, free_port, start_service, wait_until_ready

README_PORT = "127.0.0.1:8000"
ADMIN_KEY = "readme-admin-key"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
PLACEHOLDER = re.compile(r"<[a-z]+>")
SHOWN_SCALAR = re.compile(r'"(\w+)":\s*("[^"]*"|-?[\d.]+(?:e-?\d+)?|true|false)')
RELATIVE, ABSOLUTE = 1e-5, 1e-7


def blocks() -> list[tuple[str, str, str | None]]:
    """(language, text, the JSON block right after it or None) of every fenced block, in README order."""
    text = (REPO / "README.md").read_text()
    fenced = [(match.group(1), match.group(2), match.start(), match.end()) for match in FENCE.finditer(text)]
    found = []
    for index, (language, body, _, end) in enumerate(fenced):
        after = fenced[index + 1] if index + 1 < len(fenced) else None
        printed = after[1] if after is not None and after[0] == "json" and not text[end : after[2]].strip() else None
        found.append((language, body, printed))
    return found


def example_files() -> list[str]:
    """The shell blocks that write the example files (Python fed a script)."""
    return [body for language, body, _ in blocks() if language == "sh" and body.startswith(".venv/bin/python - <<")]


def examples() -> list[tuple[str, str | None]]:
    """(shell commands calling the service, the JSON printed right after them or None), in README order."""
    return [
        ("\n".join(line for line in body.splitlines() if not PLACEHOLDER.search(line)), printed)
        for language, body, printed in blocks()
        if language == "sh" and f"http://{README_PORT}/" in body and "kubectl" not in body
    ]


def run(commands: str, port: int, folder: Path) -> str:
    """The output of the README's shell commands, run in folder against the service on port."""
    script = commands.replace(README_PORT, f"127.0.0.1:{port}").replace(".venv/bin/python", sys.executable)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "ADMIN_KEY": ADMIN_KEY, "API_KEY": "any"}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=folder, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def close(actual: Any, expected: Any, where: str = "") -> list[str]:
    """Where actual differs from expected (numbers within RELATIVE or ABSOLUTE)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or sorted(actual) != sorted(expected):
            return [f"{where}: keys {sorted(actual) if isinstance(actual, dict) else actual} != {sorted(expected)}"]
        return [problem for key in expected for problem in close(actual[key], expected[key], f"{where}.{key}")]
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: {actual} != {expected}"]
        pairs = enumerate(zip(actual, expected, strict=True))
        return [problem for i, (item, wanted) in pairs for problem in close(item, wanted, f"{where}[{i}]")]
    if isinstance(expected, float) and isinstance(actual, int | float) and not isinstance(actual, bool):
        near = abs(actual - expected) <= ABSOLUTE + RELATIVE * abs(expected)
        return [] if near else [f"{where}: {actual} != {expected}"]
    return [] if actual == expected and type(actual) is type(expected) else [f"{where}: {actual!r} != {expected!r}"]


def first_values(value: Any, found: dict[str, Any]) -> dict[str, Any]:
    """The first value of each key in a JSON document, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            found.setdefault(key, item)
            first_values(item, found)
    elif isinstance(value, list):
        for item in value:
            first_values(item, found)
    return found


def shortened_differences(actual: Any, printed: str) -> list[str]:
    """A printed answer with `...` in it: every scalar field it shows, against the first of that key answered."""
    answered = first_values(actual, {})
    problems = []
    for key, text in SHOWN_SCALAR.findall(printed):
        if key not in answered:
            problems.append(f"{key}: not in the answer")
        else:
            problems += close(answered[key], json.loads(text), key)
    return problems


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The service on a free port (with ADMIN_KEY, for the reload example), and a folder holding the example files."""
    port = free_port()
    folder = tmp_path_factory.mktemp("readme")
    process = start_service(SHIPPED_MODELS, port, ADMIN_KEY=ADMIN_KEY)
    try:
        wait_until_ready(process, f"http://127.0.0.1:{port}")
        for script in example_files():
            run(script, port, folder)
        yield port, folder
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_the_readme_has_its_examples() -> None:
    assert len(example_files()) == 1
    assert len(examples()) >= 7 and sum(printed is not None for _, printed in examples()) >= 5


@pytest.mark.parametrize(("commands", "printed"), examples(), ids=lambda value: (value or "")[:60])
def test_each_readme_example_answers_what_the_readme_prints(
    service: tuple[int, Path], commands: str, printed: str | None
) -> None:
    output = run(commands, *service)
    if printed is None:
        return
    answer = json.loads(output)
    problems = shortened_differences(answer, printed) if "..." in printed else close(answer, json.loads(printed))
    assert not problems, f"the README prints {printed}\nthe service answers {output}\n" + "\n".join(problems)
