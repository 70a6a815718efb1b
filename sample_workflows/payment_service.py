"""A tiny local payment service: the real dependency `charge_payment` calls over HTTP.

Run: python -m sample_workflows.payment_service --port 8099 [--latency-ms 200]
POST /charges {"order_id", "amount_cents"} with an Idempotency-Key header -> 201 {"charge_id", "amount_cents"}.
Amounts above 1,000,000 cents are declined with 402. The same key returns the first charge again.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DECLINE_ABOVE_CENTS = 1_000_000


class PaymentHandler(BaseHTTPRequestHandler):
    charges: dict[str, dict] = {}
    lock = threading.Lock()
    latency_s = 0.0
    """How long a charge takes, like a real payment API (each request has its own thread)."""

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._reply(200, {"status": "ok", "charges": len(self.charges)})

    def do_POST(self) -> None:  # noqa: N802
        if self.path != "/charges":
            self._reply(404, {"error": "not found"})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            amount = int(body["amount_cents"])
        except (ValueError, KeyError, TypeError):
            self._reply(400, {"error": "expected JSON with amount_cents"})
            return
        if amount > DECLINE_ABOVE_CENTS:
            self._reply(402, {"error": f"declined: {amount} cents"})
            return
        time.sleep(self.latency_s)
        key = self.headers.get("Idempotency-Key") or str(uuid.uuid4())
        with self.lock:
            charge = self.charges.setdefault(key, {"charge_id": f"ch_{uuid.uuid4().hex[:12]}", "amount_cents": amount})
        self._reply(201, charge)

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet: the harness keeps its own log
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="Time each charge takes.")
    args = parser.parse_args()
    PaymentHandler.latency_s = args.latency_ms / 1000
    server = ThreadingHTTPServer((args.host, args.port), PaymentHandler)
    print(f"payment service listening on {args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
