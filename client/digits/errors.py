"""What stops a whole job (exit status 2 on the command line); a refused file is a `Failure` instead."""


class DigitsError(Exception):
    """A job cannot go on: the service is unreachable, refuses the key, or is not the digit service."""


class ServiceUnreachable(DigitsError):
    """Nothing answers at the URL (connection refused, unknown host, connect timeout)."""


class AuthenticationError(DigitsError):
    """The service wants an API key, or refused the one sent (401 or 403)."""


class NotTheService(DigitsError):
    """The URL answers, but has no /predict/<task> route (404 or 405)."""


class ServiceBusy(DigitsError):
    """The service kept refusing a request (503, 429, dropped connections) for the retry policy's patience."""
