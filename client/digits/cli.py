"""`digits multiclass|multilabel PATH...`: one record per file; exit 0 (all answered), 1 (some failed),
2 (bad usage, a missing path, no service, a refused key) with one line on stderr and no traceback."""

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import NoReturn, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from digits.client import DEFAULT_CONCURRENCY, DEFAULT_URL, AsyncDigitsClient
from digits.errors import DigitsError
from digits.files import NoSuchPath, find_images
from digits.output import FORMATS, Format, Writer
from digits.protocol import DEFAULT_BATCH_SIZE
from digits.results import Failure, Task

PROG = "digits"
USAGE_ERROR = 2
SOME_FAILED = 1
INTERRUPTED = 130
CLOSED_PIPE = 141


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _bounded(
    kind: type[int] | type[float], low: float, high: float, open_interval: bool = False
) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        inside = low < value < high if open_interval else low <= value <= high
        if not inside:
            bounds = f"between {low} and {high}, exclusive" if open_interval else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"expected {bounds}, got {text}")
        return value

    return parse


def parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument("paths", nargs="+", metavar="PATH", help="an image file, or a folder searched for PNG and JPEG")
    common.add_argument("--url", help=f"the service (default: env DIGITS_URL, else {DEFAULT_URL})")
    common.add_argument("--api-key", help="sent as Authorization: Bearer <key> (default: env DIGITS_API_KEY)")
    common.add_argument(
        "--format", choices=FORMATS, help="default: a table on a terminal, else jsonl (csv for an --output *.csv)"
    )
    common.add_argument("--output", type=Path, metavar="FILE", help="write the records here instead of stdout")
    common.add_argument(
        "--concurrency", type=_bounded(int, 1, 64), default=DEFAULT_CONCURRENCY, help="requests in flight"
    )
    common.add_argument(
        "--batch-size", type=_bounded(int, 1, 256), default=DEFAULT_BATCH_SIZE, help="files per request"
    )
    top = Parser(prog=PROG, description="Classify scanned digits with the digit inference service.")
    tasks = top.add_subparsers(dest="task", required=True, metavar="{multiclass,multilabel}")  # of class Parser too
    multiclass = tasks.add_parser("multiclass", parents=[common], help="which digit each image shows")
    multiclass.add_argument("--top-k", type=_bounded(int, 1, 10), metavar="K", help="also list the K likeliest digits")
    multilabel = tasks.add_parser("multilabel", parents=[common], help="which digits each 56x56 picture holds")
    multilabel.add_argument(
        "--threshold", type=_bounded(float, 0, 1, open_interval=True), metavar="T", help="one yes/no threshold"
    )
    return top


def default_format(output: Path | None, stream: TextIO) -> Format:
    if output is not None:
        return "csv" if output.suffix.lower() == ".csv" else "jsonl"
    return "table" if stream.isatty() else "jsonl"


async def classify(args: argparse.Namespace, files: list[Path], writer: Writer) -> int:
    """Send every file, write its record as soon as the ones before it are written; the exit status."""
    task: Task = args.task
    failed = 0
    progress = Progress(
        TextColumn(f"{task}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    async with AsyncDigitsClient(
        args.url, args.api_key, batch_size=args.batch_size, concurrency=args.concurrency
    ) as client:
        with progress if sys.stderr.isatty() else nullcontext():
            bar = progress.add_task(task, total=len(files))
            options = {"top_k": args.top_k} if task == "multiclass" else {"threshold": args.threshold}
            async for index, result in client.stream(task, files, **options):
                failed += isinstance(result, Failure)
                writer.add(index, result)
                progress.advance(bar)
    writer.close()
    return SOME_FAILED if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        files = find_images(args.paths)
        with args.output.open("w", newline="") if args.output else nullcontext(sys.stdout) as stream:
            output_format = args.format or default_format(args.output, sys.stdout)
            writer = Writer(stream, output_format, args.task, with_top_k=getattr(args, "top_k", None) is not None)
            return asyncio.run(classify(args, files, writer))
    except (NoSuchPath, DigitsError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
    except BrokenPipeError:  # the reader left (`digits ... | head`): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return CLOSED_PIPE
    except OSError as error:
        print(f"{PROG}: error: {args.output or 'stdout'}: {error.strerror or error}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return INTERRUPTED
    return USAGE_ERROR
