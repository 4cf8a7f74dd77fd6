"""Where a single-image /predict/multiclass request spends its time, stage by stage, in process.

    python -m bench.stages [--calls 2000] [--rounds 7]

Each stage runs alone in a tight loop on the same random digit (the fastest of several rounds, in
microseconds per call); `whole request` is the app called through ASGI as bench.in_process does. The stages
do not add up to the whole exactly: the loop keeps their data warm, and the rest is the glue between them.
"""

import argparse
import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.budgets import RequestBudget
from app.core.inputs import load_json, parse_json_body
from app.core.tasks import PredictOptions
from app.main import create_app
from app.operations.config import Settings
from app.transports.http.deps import services_of
from app.transports.http.responses import JSONResponse
from bench.in_process import PREDICT, bodies, one_request, start

REPO = Path(__file__).resolve().parent.parent


def fastest_us(work: Callable[[], object], calls: int, rounds: int) -> float:
    """Microseconds of CPU time per call, of the fastest round."""
    best = float("inf")
    for _ in range(rounds):
        began = time.process_time()
        for _ in range(calls):
            work()
        best = min(best, time.process_time() - began)
    return best / calls * 1e6


async def stages(calls: int, rounds: int) -> dict[str, float]:
    asgi: Any = create_app(Settings(models_dir=REPO / "models"))
    state, stop = await start(asgi)
    try:
        services = services_of(asgi)
        model = services.registry.for_task("multiclass")
        spec, task = model.spec, model.spec.task
        limits = services.settings.request_limits
        body = bodies()[PREDICT]
        pixels, options = parse_json_body(body, spec, RequestBudget(limits))
        logits = model.logits(pixels)
        probabilities = task.probabilities(logits)
        answer = {
            "model": {"name": spec.name, "version": spec.version},
            "predictions": task.predictions(probabilities, logits, PredictOptions()),
        }
        session, feed = model._session, {spec.input_name: pixels}
        loop_began = time.process_time()
        for _ in range(calls):
            await one_request(asgi, state, PREDICT, body)
        whole = (time.process_time() - loop_began) / calls * 1e6
        for _ in range(rounds - 1):
            loop_began = time.process_time()
            for _ in range(calls):
                await one_request(asgi, state, PREDICT, body)
            whole = min(whole, (time.process_time() - loop_began) / calls * 1e6)
        return {
            "whole request (ASGI in, response out)": whole,
            "body to pixels (parse_json_body)": fastest_us(
                lambda: parse_json_body(body, spec, RequestBudget(limits)), calls, rounds
            ),
            "orjson.loads of the same body (for scale)": fastest_us(lambda: load_json(body, "body"), calls, rounds),
            "logits (Model.logits: onnxruntime + metrics)": fastest_us(lambda: model.logits(pixels), calls, rounds),
            "  of which onnxruntime's Session.run": fastest_us(
                lambda: session.run([spec.output_name], feed), calls, rounds
            ),
            "probabilities (softmax)": fastest_us(lambda: task.probabilities(logits), calls, rounds),
            "predictions (top-k, OOD score, dicts)": fastest_us(
                lambda: task.predictions(probabilities, logits, options), calls, rounds
            ),
            "response body (orjson)": fastest_us(lambda: JSONResponse(answer).body, calls, rounds),
            "request metrics (one request)": fastest_us(
                lambda: services.metrics.observe_request(PREDICT, "POST", 200, 0.0001), calls, rounds
            ),
        }
    finally:
        await stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print("| stage | us per call |\n|---|---:|")
    for stage, us in asyncio.run(stages(args.calls, args.rounds)).items():
        print(f"| {stage} | {us:.1f} |")


if __name__ == "__main__":
    main()
