"""What one request may spend, checked before the work is done: instances, image pixels, time.

A `RequestBudget` is made per request from the settings' `RequestLimits`. The parsers ask it before
each costly step (another instance, another image of a declared size) and it refuses with the limit's
name; the work that runs off the event loop asks it whether the client is still there.
"""

from dataclasses import dataclass
from typing import NoReturn

from app.core.errors import ClientGone, InvalidInput

SMALL_JSON_BYTES = 64 * 1024
"""JSON no larger than this is parsed without counting its values: it cannot cost more than a few MiB."""
JSON_SLACK = 4096
"""Values a request may hold beside its instances' pixels (options, thresholds, names)."""


class ImageRefused(ValueError):
    """An image's declared size is over a limit; the message names the limit."""


@dataclass(frozen=True)
class RequestLimits:
    """The settings that bound one request."""

    max_instances: int
    max_image_pixels: int
    max_image_aspect: float
    max_request_pixels: int


class RequestBudget:
    """One request's remaining allowance, and whether its client has gone away."""

    def __init__(self, limits: RequestLimits) -> None:
        self.limits = limits
        self.pixels_left = limits.max_request_pixels
        self._client_gone = False  # set on the event loop, read by the pool's threads

    def admit_instances(self, count: int, field: str) -> None:
        """Raise InvalidInput when a request holds more than MAX_INSTANCES images."""
        if count > self.limits.max_instances:
            self.refuse_instances(field, str(count))

    def refuse_instances(self, field: str, got: str) -> NoReturn:
        """The InvalidInput for more than MAX_INSTANCES images (`got`: the count, or what is known of it)."""
        raise InvalidInput(
            f"{field}: at most {self.limits.max_instances} instances per request (MAX_INSTANCES), got {got}"
        )

    def admit_json(self, text: bytes, height: int, width: int, what: str) -> None:
        """Raise InvalidInput when JSON text holds more values and lists than MAX_INSTANCES images of height x width
        can, counted before parsing: orjson's objects cost up to 64 bytes each, whatever the text's length."""
        if len(text) <= SMALL_JSON_BYTES:
            return
        most = self.limits.max_instances * (height * width + height + 2) + JSON_SLACK
        values = text.count(b",") + text.count(b"[") + text.count(b"{")
        if values > most:
            raise InvalidInput(
                f"{what} holds more JSON values than {self.limits.max_instances} instances (MAX_INSTANCES) "
                f"of {height}x{width} pixels can ({values} > {most})"
            )

    def admit_image(self, width: int, height: int) -> None:
        """Reserve an image's declared pixels before decoding it; raise ImageRefused past a limit."""
        self.check_client()
        pixels = width * height
        limits = self.limits
        if pixels > limits.max_image_pixels:
            raise ImageRefused(
                f"image is {width}x{height} ({pixels} pixels), more than {limits.max_image_pixels} (MAX_IMAGE_PIXELS)"
            )
        if max(width, height) > limits.max_image_aspect * min(width, height):
            raise ImageRefused(
                f"image is {width}x{height}, more elongated than {limits.max_image_aspect:g}:1 (MAX_IMAGE_ASPECT)"
            )
        if pixels > self.pixels_left:
            raise ImageRefused(
                f"image is {width}x{height}: with the images before it this request declares more than "
                f"{limits.max_request_pixels} pixels (MAX_REQUEST_PIXELS)"
            )
        self.pixels_left -= pixels

    def client_gone(self) -> None:
        """Mark the client as gone: work still running for this request stops at its next check."""
        self._client_gone = True

    def check_client(self) -> None:
        """Raise ClientGone when the client has gone away."""
        if self._client_gone:
            raise ClientGone("the client went away")
