"""Shared plumbing for the streaming providers: keys, safe messages, retries.

Retries are ours, not the SDKs' (their retries are switched off): we retry only
while nothing has reached the caller, so a rater never sees an answer restart.
"""

from __future__ import annotations

import functools
import os
import random
import ssl
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from arena.llms.types import (
    API_KEY_ENV_RULE,
    Message,
    ModelSpec,
    ProviderError,
    StreamEvent,
    is_allowed_key_env,
)

# A local server (vLLM, Ollama, llama.cpp) ignores the key, but the SDKs insist on one.
NO_KEY_PLACEHOLDER = "not-needed"
# Server messages are quoted to raters: short, and never the key.
MAX_SERVER_MESSAGE = 200
# Connect fails fast even when a slow model earns a long read timeout.
MAX_CONNECT_TIMEOUT_S = 10.0


class RetryableError(ProviderError):
    """A failure worth another attempt, carrying the server's Retry-After hint if any."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message, retryable=True)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class RetryPolicy:
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    # A longer Retry-After means the quota is gone for now: fail instead of making a rater wait.
    max_retry_after_s: float = 10.0

    def backoff_s(self, attempt: int) -> float:
        """Exponential backoff with jitter, so many workers don't retry in lockstep."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)


def api_key_for(model: ModelSpec) -> str:
    """Read the key at call time, so a rotated key needs no restart."""
    if not model.api_key_env:
        return NO_KEY_PLACEHOLDER
    if not is_allowed_key_env(model.api_key_env):  # the row may predate the admin's check
        raise ProviderError(f"the key variable must be named with {API_KEY_ENV_RULE}")
    key = os.environ.get(model.api_key_env, "")
    if not key:
        raise ProviderError(f"environment variable {model.api_key_env} is not set")
    return key


def safe_text(text: str, secret: str = "") -> str:
    """A server message fit to show: one line, short, with the key blanked out."""
    if secret and secret != NO_KEY_PLACEHOLDER:
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    if len(text) > MAX_SERVER_MESSAGE:
        text = text[: MAX_SERVER_MESSAGE - 1] + "…"
    return text


def server_message(body: object) -> str:
    """The `error.message` (or a bare `message`) of an error body, if there is one."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    if isinstance(body, str):
        return body
    return ""


def status_error(
    status: int, message: str, *, model: ModelSpec, headers: Any = None
) -> ProviderError:
    """Map an HTTP status to the error a rater sees; `message` must already be safe."""
    detail = f": {message}" if message else ""
    if status in (401, 403):
        hint = f" (check {model.api_key_env})" if model.api_key_env else ""
        return ProviderError(f"authentication failed{hint}")
    if status == 404:
        return ProviderError(f"model {model.model_id!r} not found{detail}")
    if status == 429:
        return RetryableError(f"rate limited{detail}", retry_after_s=retry_after_s(headers))
    if status in (408, 409) or status >= 500:
        return RetryableError(
            f"server error {status}{detail}", retry_after_s=retry_after_s(headers)
        )
    return ProviderError(f"bad request ({status}){detail}")


def retry_after_s(headers: Any) -> float | None:
    """Seconds from `retry-after-ms` (OpenAI) or `Retry-After` (seconds or an HTTP date)."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = str(headers.get("retry-after") or "")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def stream_with_retries(
    attempt: Callable[[], Generator[StreamEvent, None, None]],
    *,
    max_retries: int,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[StreamEvent]:
    """Run `attempt` until it streams, retrying retryable failures before the first event.

    Once an event has been yielded, any failure ends the stream: the caller keeps
    what it has, and a restarted answer would duplicate it.
    """
    tries = 0
    while True:
        started = False
        try:
            # closing(): if our caller closes us mid-stream, the attempt's `finally` runs now.
            with closing(attempt()) as events:
                for event in events:
                    started = True
                    yield event
            return
        except RetryableError as err:
            if started or tries >= max_retries:
                raise
            delay = policy.backoff_s(tries)
            if err.retry_after_s is not None:
                if err.retry_after_s > policy.max_retry_after_s:
                    raise
                delay = max(delay, err.retry_after_s)
            tries += 1
            sleep(delay)


def transport_failure(err: BaseException, model: ModelSpec) -> ProviderError | None:
    """Map a network failure, raw or wrapped by an SDK, or None if `err` is not one.

    Classes are matched by name so this works for both `httpx` and `httpx2`, whichever
    the installed SDK uses, and for the SDKs' own wrappers (their cause is the raw error).
    """
    names = {cls.__name__ for cls in type(err).__mro__}
    cause = err.__cause__
    cause_names = {cls.__name__ for cls in type(cause).__mro__} if cause is not None else set()
    if "ConnectTimeout" in names | cause_names:
        return RetryableError("could not connect to the model server (timed out)")
    if names & {"TimeoutException", "APITimeoutError"}:
        # Not retried: a server that stayed silent this long would make the rater wait again.
        return ProviderError(f"the model server did not respond within {model.timeout_s:g}s")
    if "ConnectError" in names | cause_names:
        return RetryableError("could not connect to the model server")
    if names & {"TransportError", "APIConnectionError"}:
        return RetryableError("the connection to the model server was lost")
    return None


class SdkProvider:
    """What both SDK adapters share: a fresh client per answer, with the SDK's own
    retries off (ours retry only before the first token), each attempt's stream closed
    however it ends, errors mapped to safe messages. Subclasses say how to build their
    client, open a stream, read its events and map an SDK error."""

    def __init__(
        self,
        *,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retry_policy = retry_policy or RetryPolicy()
        self.sleep = sleep

    def stream(self, model: ModelSpec, messages: list[Message]) -> Iterator[StreamEvent]:
        key = api_key_for(model)
        client = self._client(model, key)
        try:
            yield from stream_with_retries(
                lambda: self._attempt(client, model, messages, key),
                max_retries=model.max_retries,
                policy=self.retry_policy,
                sleep=self.sleep,
            )
        finally:
            client.close()

    def _attempt(
        self, client: Any, model: ModelSpec, messages: list[Message], key: str
    ) -> Generator[StreamEvent, None, None]:
        try:
            stream = self._open(client, model, messages)
        except Exception as err:
            raise self._mapped(err, model, key) from err
        try:
            yield from self._events(stream)
        except ProviderError:
            raise
        except Exception as err:
            raise self._mapped(err, model, key) from err
        finally:
            stream.close()  # the rater may have left: hang up so the server stops generating

    def _client(self, model: ModelSpec, key: str) -> Any:
        raise NotImplementedError

    def _open(self, client: Any, model: ModelSpec, messages: list[Message]) -> Any:
        """Start one streaming request; the result has `close()`."""
        raise NotImplementedError

    def _events(self, stream: Any) -> Iterator[StreamEvent]:
        raise NotImplementedError

    def _mapped(self, err: Exception, model: ModelSpec, key: str) -> ProviderError:
        raise NotImplementedError


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every SDK client of the process. Each call makes its own client
    (and closes it, which hangs up), and a client left to build its own context loads the
    CA bundle every time: 70% of a judgement's time against a local server
    (tests/benchmarks/test_judging_bench.py). The system's CAs, or SSL_CERT_FILE /
    SSL_CERT_DIR, as the SDKs' own default on Linux."""
    return ssl.create_default_context()


def connect_timeout(model: ModelSpec) -> float:
    return min(model.timeout_s, MAX_CONNECT_TIMEOUT_S)
