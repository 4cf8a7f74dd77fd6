"""The README's "Classify a folder of scans" runs as shown: each command block of the section, in order, in
an empty folder against a real service; its output matches the block after it (labels and words equal,
numbers within a tolerance), so the README cannot drift from the client."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.app.conftest import REPO

HEADING = "## Classify a folder of scans"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
TOKEN = re.compile(r"[-+]?\d+\.\d+(?:[eE][-+]?\d+)?|\w+|\S")
RUNNERS = {"sh": ["bash", "-c"], "python": [sys.executable, "-c"]}
TOLERANCE = 2e-3


def section_blocks(readme: str) -> list[tuple[str, str]]:
    """The fenced blocks (language, text) from HEADING to the next heading."""
    start = readme.index(HEADING) + len(HEADING)
    following = re.search(r"^#{1,6} ", readme[start:], re.MULTILINE)
    section = readme[start : start + following.start() if following else len(readme)]
    return [(match.group(1), match.group(2)) for match in FENCE.finditer(section)]


def same_output(shown: str, printed: str) -> bool:
    """Equal, token by token, but for decimal numbers, which may differ by TOLERANCE."""
    expected, got = TOKEN.findall(shown), TOKEN.findall(printed)
    if len(expected) != len(got):
        return False
    for want, have in zip(expected, got, strict=True):
        if "." in want and want[0].isdigit():
            if not ("." in have and math.isclose(float(want), float(have), abs_tol=TOLERANCE)):
                return False
        elif want != have:
            return False
    return True


def test_same_output_compares_numbers_loosely_and_the_rest_exactly() -> None:
    assert same_output("a.png,7,0.9999978,true", "a.png,7,0.9999,true")
    assert not same_output("a.png,7,0.9999978,true", "a.png,1,0.9999978,true")
    assert not same_output("a.png,7,0.99,true", "a.png,7,0.98,true")
    assert not same_output("exit status 1", "exit status 1\nmore")


def test_the_readme_section_runs_as_shown(server: str, tmp_path: Path) -> None:
    blocks = section_blocks((REPO / "README.md").read_text())
    commands = [(n, language) for n, (language, _) in enumerate(blocks) if language in RUNNERS]
    assert len(commands) >= 5, "the section lost its commands"
    env = {key: value for key, value in os.environ.items() if not key.startswith("DIGITS_") and key != "COLUMNS"}
    env |= {"DIGITS_URL": server, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"}
    compared = 0
    for n, language in commands:
        code = blocks[n][1]
        run = subprocess.run([*RUNNERS[language], code], cwd=tmp_path, env=env, capture_output=True, text=True)
        following = blocks[n + 1] if n + 1 < len(blocks) else ("", "")
        if following[0] == "text":
            compared += 1
            assert same_output(following[1], run.stdout), f"{code}\nprinted:\n{run.stdout}{run.stderr}"
        else:
            assert run.returncode == 0, f"{code}\n{run.stderr}"
    assert compared >= 4
