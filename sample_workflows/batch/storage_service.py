"""The storage service the batch app writes to: GET /quota -> {"granted": n}; POST /chunks with an Idempotency-Key
header -> 201 {"stored_as": ...} (the same key returns the first write again).

Run: python -m sample_workflows.batch.storage_service --port 8098
"""

from __future__ import annotations

import argparse
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StorageHandler(BaseHTTPRequestHandler):
    writes: dict[str, str] = {}
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._reply(200, {"granted": 100, "writes": len(self.writes)})

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/chunks":
            self._reply(404, {"error": "not found"})
            return
        try:
            items = int(json.loads(body)["items"])
        except (ValueError, KeyError, TypeError):
            self._reply(400, {"error": "expected JSON with items"})
            return
        key = self.headers.get("Idempotency-Key") or str(uuid.uuid4())
        with self.lock:
            stored_as = self.writes.setdefault(key, f"blob_{uuid.uuid4().hex[:10]}")
        self._reply(201, {"stored_as": stored_as, "items": items})

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    ThreadingHTTPServer(("127.0.0.1", parser.parse_args().port), StorageHandler).serve_forever()
