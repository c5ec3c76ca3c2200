"""A static server for the browser test: the repository root (the page, js/, examples/web/node_modules) and a
model folder under /models/, on 127.0.0.1 and a free port, in a thread."""
from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path


class _Handler(http.server.SimpleHTTPRequestHandler):
    models: Path

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if clean.startswith("/models/"):
            name = Path(clean[len("/models/"):]).name  # one folder, no way out of it
            return str(self.models / name)
        return super().translate_path(path)

    def log_message(self, *args) -> None:  # quiet
        pass


class StaticServer:
    """``with StaticServer(root, models) as url: ...``: serves ``root`` at ``url`` and ``models`` at /models/."""

    def __init__(self, root: Path, models: Path):
        handler = type("Handler", (_Handler,), {"models": Path(models)})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler,
                                                                                          directory=str(root)))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_port}"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
