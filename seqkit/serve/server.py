"""Start MLServer with one ``SeqkitModel`` per file: start-up checks, the request-size limit, clean shutdown.

Start-up refuses, with one line naming it: a file that cannot load (``seqkit.runtime.load``), two files under one
name, a port already taken, MLServer not installed. MLServer handles SIGTERM / SIGINT: the REST (uvicorn) and
gRPC servers stop accepting, finish the requests in flight, and :func:`serve` returns (exit code 0).
"""
from __future__ import annotations

import asyncio
import errno
import json
import re
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from seqkit.errors import InputError, SeqkitError
from seqkit.serve.binary import HEADER, binary_outputs, pack_response, split_request

EXTRA = "pip install 'seqkit[serve]'"
#: seconds a thread that wants Python's GIL waits before asking the holder to let go (Python's default: 0.005).
#: The batch worker comes back from onnxruntime needing the GIL for a moment (hand out the answers, merge the next
#: batch) while the event loop, busy under load, holds it: at 5 ms onnxruntime sat idle up to 5 ms per batch of
#: ~40 ms. At 0.5 ms, 64 clients got ~15 % more requests/s (docs/serving.md, "Benchmark").
SWITCH_INTERVAL = 0.0005
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class Options:
    host: str = "127.0.0.1"
    port: int = 8080
    grpc_port: int = 8081
    workers: int = 1
    max_batch_size: int = 64
    max_batch_time: float = 0.0
    max_steps: int = 100_000
    max_body_mb: float = 64.0
    provider: str = "cpu"
    threads: int = 1
    access_log: bool = False
    metrics_port: int | None = None
    models: dict[str, str] = field(default_factory=dict)


def named(specs: list[str]) -> dict[str, str]:
    """``NAME=PATH`` or ``PATH`` (named after the file) -> {name: path}; names are unique."""
    out: dict[str, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or (Path(spec).exists() and not Path(path).exists()):
            name, path = Path(spec).stem, spec
        if not NAME.match(name):
            raise SeqkitError(f"model name {name!r} ({spec}): use letters, digits, '_', '-', '.'; write NAME=PATH")
        if name in out:
            raise SeqkitError(f"two models named {name!r} ({out[name]} and {path}); name them with NAME=PATH")
        out[name] = path
    if not out:
        raise SeqkitError("no model given; seqkit serve MODEL.onnx [NAME=MODEL.onnx ...]")
    return out


def check_files(models: dict[str, str], provider: str) -> None:
    """Load every file once (in this process) so that a bad one stops start-up with its own line."""
    from seqkit.runtime import load

    for name, path in models.items():
        try:
            load(path, provider=provider)
        except SeqkitError as exc:
            raise SeqkitError(f"model {name!r} ({path}) cannot load: {exc}") from None


def check_port(host: str, port: int, what: str) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            why = "is taken" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
            raise SeqkitError(f"{what} {port} on {host} {why}; choose another with --{what.replace(' ', '-')}") \
                from None


def settings(options: Options):
    """MLServer's server settings and one model settings per file (no settings files are written)."""
    from mlserver.settings import ModelParameters, ModelSettings, Settings

    server = Settings(host=options.host, http_port=options.port, grpc_port=options.grpc_port,
                      parallel_workers=options.workers if options.workers > 1 else 0,
                      metrics_endpoint="/metrics" if options.metrics_port else None,
                      metrics_port=options.metrics_port or 8082,
                      grpc_max_message_length=int(options.max_body_mb * 2**20),
                      load_models_at_startup=False, model_repository_root=str(Path.cwd()),
                      debug=options.access_log)  # MLServer's debug: uvicorn's access log (and debug log lines)
    extra = {"provider": options.provider, "threads": options.threads, "max_batch_size": options.max_batch_size,
             "max_batch_time": options.max_batch_time, "max_steps": options.max_steps}
    models = [ModelSettings(name=name, implementation="seqkit.serve.model.SeqkitModel",
                            parameters=ModelParameters(uri=str(Path(path).resolve()), extra=extra))
              for name, path in options.models.items()]
    return server, models


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 and one line, before it is parsed."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._drain(receive)
            return await self._refuse(send, int(length))
        seen = 0
        started = False

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def watched(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await self._drain(receive)
                await self._refuse(send, seen)

    @staticmethod
    async def _drain(receive):
        """Read the rest of the body and drop it (memory stays flat), so the client gets the 413 rather than a
        reset connection while it is still sending."""
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return

    async def _refuse(self, send, size: int):
        await _answer(send, 413, {"error": f"request body of {size} bytes is over this server's limit of "
                                           f"{self.limit} bytes (seqkit serve --max-body-mb)"})


class _TooLarge(Exception):
    pass


def _validation_line(errors) -> str:
    first = (errors or [{}])[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    message = first.get("msg", "invalid request")
    if where == "body" and first.get("type") in ("model_attributes_type", "dict_type"):
        return "the request body is not a JSON object; send JSON with 'Content-Type: application/json'"
    if first.get("type") == "json_invalid":
        return f"the request body is not valid JSON ({first.get('ctx', {}).get('error', message)})"
    return f"request field '{where}': {message}"


def _one_line_validation(app) -> None:
    """A body that is not JSON, or not an inference request, gets 422 with one line instead of a list."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    async def handler(request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"error": _validation_line(exc.errors())})

    app.add_exception_handler(RequestValidationError, handler)


INFER_PATH = re.compile(r"^/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?/infer$")


class InferRoute:
    """ASGI: ``POST /v2/models/{name}[/versions/{v}]/infer`` straight to MLServer's data plane, in JSON or with
    the binary tensor data extension (:mod:`seqkit.serve.binary`, which MLServer's own REST API lacks).

    The same request and response models, the same ``DataPlane.infer`` (model registry, metrics, errors), the same
    JSON; what it skips is FastAPI's per-request routing, dependency and response-model machinery, which costs more
    main-thread time than the model itself under many small requests (see benchmarks/bench_serve.py). It is the
    innermost middleware of MLServer's app, so the body limit, gzip, CORS and the REST metrics still see every
    request; every other path goes on to MLServer's FastAPI routes.
    """

    def __init__(self, app, data_plane):
        import orjson
        from mlserver.codecs.json import encode_to_json_bytes
        from mlserver.errors import MLServerError
        from mlserver.types import InferenceRequest
        from mlserver.utils import extract_headers, insert_headers
        from pydantic import ValidationError

        self.app, self.data_plane = app, data_plane
        # bound once here, not imported per request (six imports cost ~4 us of the event loop's time per request)
        self.loads, self.bad_json, self.encode = orjson.loads, orjson.JSONDecodeError, encode_to_json_bytes
        self.request_model, self.invalid, self.refused = InferenceRequest, ValidationError, MLServerError
        self.insert_headers, self.extract_headers = insert_headers, extract_headers

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            match = INFER_PATH.match(scope["path"])
            if match:
                _mark_route(scope, versioned=match["version"] is not None)
                return await self._infer(match["name"], match["version"], scope, receive, send)
        return await self.app(scope, receive, send)

    async def _infer(self, name, version, scope, receive, send):
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}
        chunks = []  # BodyLimit, outside, stops a body over the limit
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            if "gzip" in headers.get("content-encoding", ""):
                import gzip

                body = gzip.decompress(body)
            binary = headers.get(HEADER)
            data = self.loads(body) if binary is None else split_request(body, binary, self.loads)
            if not isinstance(data, dict):
                return await _answer(send, 422, {"error": "the request body is not a JSON object; send JSON with "
                                                          "'Content-Type: application/json'"})
            payload = self.request_model.model_validate(data)
        except (self.bad_json, OSError, EOFError) as exc:
            return await _answer(send, 422, {"error": f"the request body is not valid JSON ({exc})"})
        except self.invalid as exc:
            return await _answer(send, 422, {"error": _validation_line(exc.errors())})
        except InputError as exc:  # the binary extension's framing
            return await _answer(send, 400, {"error": str(exc)})
        self.insert_headers(payload, headers)
        try:
            response = await self.data_plane.infer(payload, name, version)
        except self.refused as exc:
            return await _answer(send, exc.status_code, {"error": str(exc)})
        extra = self.extract_headers(response) or {}
        content = response.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)
        packed = pack_response(content, binary_outputs(data), self.encode)
        if packed is not None:
            extra = {**extra, HEADER: packed[1]}
            return await _answer(send, 200, packed[0], extra, bytes, b"application/octet-stream")
        await _answer(send, 200, content, extra, self.encode)


def _mark_route(scope, versioned: bool) -> None:
    """What Starlette's router would leave in the scope (its router, the endpoint), which the REST metrics read."""
    app = scope.get("app")
    routes = getattr(app, "_seqkit_infer_routes", None)
    if routes is None and app is not None:
        from starlette.routing import Match

        routes = {}
        for versioned_, path in ((False, "/v2/models/m/infer"), (True, "/v2/models/m/versions/v/infer")):
            probe = {"type": "http", "method": "POST", "path": path, "root_path": ""}
            routes[versioned_] = next((r for r in app.router.routes if r.matches(probe)[0] == Match.FULL), None)
        app._seqkit_infer_routes = routes
    route = (routes or {}).get(versioned)
    if route is not None:
        scope["router"], scope["endpoint"] = app.router, route.endpoint


async def _answer(send, status: int, content, extra_headers=None, encode=None,
                  content_type: bytes = b"application/json") -> None:
    body = encode(content) if encode else json.dumps(content).encode()
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in (extra_headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _run(options: Options) -> None:
    from mlserver.server import MLServer

    server_settings, models = settings(options)
    server = MLServer(server_settings)
    from starlette.middleware import Middleware

    app = server._rest_server._app  # MLServer 1.7 keeps its FastAPI app here; the middlewares wrap it
    _one_line_validation(app)
    app.add_middleware(BodyLimit, limit=int(options.max_body_mb * 2**20))  # outermost
    app.user_middleware.append(Middleware(InferRoute, data_plane=server._data_plane))  # innermost
    await server.start(models)


def serve(options: Options, ready=None) -> None:
    """Run until SIGTERM / SIGINT; ``ready(line)`` is told where the server listens once the checks pass."""
    try:
        import mlserver  # noqa: F401
    except ImportError:
        raise SeqkitError(f"seqkit serve needs MLServer, which is not installed; {EXTRA}") from None
    check_files(options.models, options.provider)
    check_port(options.host, options.port, "port")
    check_port(options.host, options.grpc_port, "grpc port")
    if options.metrics_port:
        check_port(options.host, options.metrics_port, "metrics port")
    if ready is not None:
        ready(f"serving {', '.join(options.models)} on http://{options.host}:{options.port}/v2 (REST) and "
              f"{options.host}:{options.grpc_port} (gRPC)")
    from mlserver.utils import install_uvloop_event_loop

    install_uvloop_event_loop()  # as MLServer's own CLI does
    sys.setswitchinterval(SWITCH_INTERVAL)
    asyncio.run(_run(options))
