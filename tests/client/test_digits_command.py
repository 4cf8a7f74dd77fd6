"""The `digits` command against real `python -m app` processes on the shipped models."""

import csv
import io
import json
import os
import pty
import re
import subprocess
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from tests.client.conftest import DIGITS, digits, service, write_scans
from training.data import Mnist, make_canvases

BROKEN = ("broken.png", "gone.png")


def check_records(records: list[dict[str, str]], labels: dict[str, int]) -> None:
    """One record per image in path order; the broken ones have an error, the scans mostly the right label."""
    paths = [r["path"] for r in records]
    assert paths == sorted(paths) and len(paths) == len(labels) + len(BROKEN)
    failed = {Path(r["path"]).name: r["error"] for r in records if r.get("error")}
    assert set(failed) == set(BROKEN)
    assert "cannot read the file" in failed["gone.png"]
    assert failed["broken.png"].startswith("422: ")
    answered = [r for r in records if not r.get("error")]
    assert len(answered) == len(labels)
    right = sum(int(r["label"]) == labels[r["path"]] for r in answered)
    assert right >= 0.9 * len(labels), f"{right} of {len(labels)} right"


def test_a_folder_as_json_lines(server: str, scans: tuple[Path, dict[str, int]]) -> None:
    folder, labels = scans
    result = digits("multiclass", str(folder), env={"DIGITS_URL": server})
    assert result.returncode == 1, result.stderr  # two broken files
    records = [json.loads(line) for line in result.stdout.splitlines()]
    check_records(records, labels)
    first = next(r for r in records if "label" in r)
    assert set(first) == {"path", "label", "probability", "is_digit"}
    assert 0 <= first["probability"] <= 1 and isinstance(first["is_digit"], bool)
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_csv_to_a_file_with_top_k(server: str, scans: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    folder, labels = scans
    output = tmp_path / "labels.csv"
    result = digits("multiclass", str(folder), "--url", server, "--output", str(output), "--top-k", "2")
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    records = list(csv.DictReader(io.StringIO(output.read_text())))
    check_records(records, labels)
    assert list(records[0]) == ["path", "label", "probability", "is_digit", "top_k", "error"]
    answered = next(r for r in records if r["label"])
    assert answered["top_k"].split()[0] == f"{answered['label']}:{answered['probability']}"
    assert len(answered["top_k"].split()) == 2


def test_every_file_answered_exits_0(server: str, scans: tuple[Path, dict[str, int]]) -> None:
    folder, labels = scans
    result = digits("multiclass", str(folder / "box2" / "old"), str(folder / "scan00.png"), "--url", server)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 13 and records[-1]["path"] == str(folder / "scan00.png")
    assert sum(r["label"] == labels[r["path"]] for r in records) >= 11


def test_multilabel_canvases(server: str, mnist: Mnist, tmp_path: Path) -> None:
    canvases, targets = make_canvases(mnist.x_test, mnist.y_test, 20, seed=3)
    for n, canvas in enumerate(canvases):
        Image.fromarray(np.asarray(canvas, dtype=np.uint8)).save(tmp_path / f"page{n:02d}.png")
    result = digits("multilabel", str(tmp_path), "--url", server, "--format", "csv", "--threshold", "0.5")
    assert result.returncode == 0, result.stderr
    records = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(records) == 20
    expected = [{int(d) for d in np.flatnonzero(target)} for target in targets]
    right = sum({int(d) for d in r["labels"].split()} == want for r, want in zip(records, expected, strict=True))
    assert right >= 16, f"{right} of 20 pictures fully right"
    assert all(len(r["flags"].split()) == len(r["probabilities"].split()) == 10 for r in records)


def test_a_busy_server_slows_the_job_but_answers_every_file(mnist: Mnist, tmp_path: Path) -> None:
    """MAX_CONCURRENCY=1 refuses all but one request at a time (503, Retry-After: 1, connection closed)."""
    labels = write_scans(mnist, tmp_path)
    with service(MAX_CONCURRENCY="1") as url:
        result = digits("multiclass", str(tmp_path), "--url", url, "--concurrency", "8", "--batch-size", "1")
        metrics = httpx.get(f"{url}/metrics").text
    records = [json.loads(line) for line in result.stdout.splitlines()]
    check_records(records, labels)
    refused = [line for line in metrics.splitlines() if line.startswith("http_requests_total{") and "503" in line]
    assert refused and float(refused[0].split()[-1]) > 0, "the server never refused: the test did not test retries"


def test_api_keys(scans: tuple[Path, dict[str, int]]) -> None:
    folder, _ = scans
    one = str(folder / "scan00.png")
    many = (str(folder / "box2" / "old"), "--batch-size", "1", "--concurrency", "8")  # refused 8 at a time
    with service(API_KEY="s3cret-client-test-key") as url:
        without = digits("multiclass", *many, "--url", url)
        wrong = digits("multiclass", one, "--url", url, "--api-key", "guess")
        right = digits("multiclass", one, env={"DIGITS_URL": url, "DIGITS_API_KEY": "s3cret-client-test-key"})
    for refused, advice in ((without, "DIGITS_API_KEY"), (wrong, "refused the key")):
        assert refused.returncode == 2 and refused.stdout == ""
        assert refused.stderr.count("\n") == 1 and "needs an API key" in refused.stderr and advice in refused.stderr
    assert right.returncode == 0, right.stderr
    assert json.loads(right.stdout)["label"] == 7


def test_no_server(scans: tuple[Path, dict[str, int]]) -> None:
    folder, _ = scans
    with service() as url:
        pass  # a port where a service was and is no more
    result = digits("multiclass", str(folder / "box2" / "old"), "--url", url)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and f"cannot reach the service at {url}" in result.stderr


def test_not_the_service(server: str, scans: tuple[Path, dict[str, int]]) -> None:
    folder, _ = scans
    result = digits("multiclass", str(folder), "--url", f"{server}/v2")
    assert result.returncode == 2 and "is it the digit service?" in result.stderr and result.stderr.count("\n") == 1


def test_missing_path(server: str, scans: tuple[Path, dict[str, int]]) -> None:
    folder, _ = scans
    result = digits("multiclass", str(folder), str(folder / "nope"), "--url", server)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"digits: error: {folder / 'nope'}: no such file or folder\n"


def test_usage_errors_are_one_line(server: str, scans: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    folder, _ = scans
    (tmp_path / "empty").mkdir()
    cases = {
        ("multiclass", str(folder), "--top-k", "11"): "--top-k: expected from 1 to 10, got 11",
        ("multilabel", str(folder), "--threshold", "1"): "--threshold: expected between 0 and 1, exclusive",
        ("multiclass", str(folder), "--concurrency", "many"): "expected a number, got 'many'",
        ("multiclass",): "the following arguments are required: PATH",
        ("multiclass", str(tmp_path / "empty")): "no PNG or JPEG file in this folder",
        ("multiclass", str(folder), "--output", str(tmp_path / "no" / "such.csv")): "No such file or directory",
        ("multiclass", str(folder), "--url", "localhost:8000"): "localhost:8000: not a URL",
    }
    for args, message in cases.items():
        result = digits(args[0], "--url", server, *args[1:])  # a later --url wins
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_on_a_terminal_a_table_and_a_progress_bar(server: str, scans: tuple[Path, dict[str, int]]) -> None:
    folder, _ = scans
    out_main, out_terminal = pty.openpty()
    err_main, err_terminal = pty.openpty()
    process = subprocess.Popen(
        [str(DIGITS), "multiclass", str(folder), "--url", server, "--batch-size", "2"],
        stdout=out_terminal,
        stderr=err_terminal,
        env={**os.environ, "COLUMNS": "250"},  # wide enough not to wrap a cell
    )
    assert process.wait(timeout=120) == 1
    os.close(out_terminal)
    os.close(err_terminal)
    table, bar = read_all(out_main), read_all(err_main)
    assert "┃ path" in table and "┃ label" in table and "scan00.png" in table and "422: not a PNG or JPEG" in table
    assert "multiclass" in bar and "/38" in bar  # rich's bar: its task, files done out of 38


def read_all(terminal: int) -> str:
    """What was written to a pseudo-terminal whose other end is closed, as plain text."""
    chunks = []
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # EIO: nothing left
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(terminal)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode())  # without colours and cursor moves


def test_batches_over_the_services_limit_are_halved_until_they_fit(scans: tuple[Path, dict[str, int]]) -> None:
    folder, labels = scans
    with service(MAX_INSTANCES="5") as url:
        result = digits("multiclass", str(folder), "--url", url, "--batch-size", "32")
    check_records([json.loads(line) for line in result.stdout.splitlines()], labels)
