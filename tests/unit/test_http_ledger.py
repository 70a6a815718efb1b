"""The HTTP framing, the ledger's records and the attempt tags: pure code, bytes in, records out."""

from __future__ import annotations

import hashlib
import json

import pytest

from harness.faults.http_stream import MessageReader
from harness.faults.ledger import TAG_HEADER, RequestLedger, format_tag, parse_tag

BODY = b'{"order_id": "A-1", "amount_cents": 4200}'


def request(body: bytes = BODY, *, key: str | None = "k-1", tag: str | None = None, path: str = "/charges?x=1") -> bytes:
    headers = [f"POST {path} HTTP/1.1", "Host: pay", f"Content-Length: {len(body)}", "Content-Type: application/json"]
    if key:
        headers.append(f"Idempotency-Key: {key}")
    if tag:
        headers.append(f"{TAG_HEADER}: {tag}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


def response(status: int = 201, body: bytes = b'{"charge_id": "ch_1"}') -> bytes:
    return f"HTTP/1.1 {status} Created\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def test_a_request_split_byte_by_byte_is_framed_once_with_its_body_hash() -> None:
    reader = MessageReader("request")
    found = []
    for byte in request():
        found += reader.feed(bytes([byte]))
    assert len(found) == 1
    message = found[0]
    assert (message.method, message.target, message.header("idempotency-key")) == ("POST", "/charges?x=1", "k-1")
    assert message.body_sha256 == hashlib.sha256(BODY).hexdigest() and message.body_bytes == len(BODY)


def test_pipelined_requests_and_a_chunked_body_are_framed_in_order() -> None:
    chunked = b"POST /chunks HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
    get = b"GET /quota HTTP/1.1\r\nHost: s\r\n\r\n"
    found = MessageReader("request").feed(request(key="a") + chunked + get)
    assert [m.method for m in found] == ["POST", "POST", "GET"]
    assert found[1].body_sha256 == hashlib.sha256(b"hello world").hexdigest() and found[1].body_bytes == 11
    assert found[2].body_bytes == 0


def test_responses_follow_their_requests_head_and_no_content_have_no_body_and_close_ends_the_rest() -> None:
    reader = MessageReader("response")
    for method in ("HEAD", "POST", "GET"):
        reader.expect_response_to(method)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"  # HEAD: the length describes a body that is not sent
    no_content = b"HTTP/1.1 204 No Content\r\n\r\n"
    until_close = b"HTTP/1.0 200 OK\r\n\r\nall of it"
    assert [m.status for m in reader.feed(head + no_content + until_close)] == [200, 204]
    [last] = reader.close()
    assert last.status == 200 and last.body_bytes == len(b"all of it")


@pytest.mark.parametrize(
    "stream",
    [b"\x16\x03\x01\x02\x00\x01\x00", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"x" * 70_000, b"POST /a HTTP/1.1\r\nbroken header\r\n\r\n"],
    ids=["tls-hello", "http2-preface", "no-end-of-head", "malformed-header"],
)
def test_what_is_not_http1_makes_the_stream_opaque_instead_of_a_guess(stream: bytes) -> None:
    reader = MessageReader("request")
    assert reader.feed(stream) == [] and reader.opaque
    assert reader.feed(request()) == []


def test_a_switch_of_protocols_stops_the_reading() -> None:
    reader = MessageReader("response")
    reader.expect_response_to("GET")
    assert reader.feed(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")[0].status == 101
    assert reader.opaque


def test_attempt_tags_round_trip_any_workflow_id_and_reject_what_is_malformed() -> None:
    tag = format_tag("order 1;=%x", "run-1", "3", "charge_payment", 2)
    assert "\r" not in tag and " " not in tag
    assert parse_tag(tag) == {"workflow_id": "order 1;=%x", "run_id": "run-1", "activity_id": "3", "activity_type": "charge_payment", "attempt": 2}
    assert parse_tag(None) is None and parse_tag("workflow_id=a") is None
    assert parse_tag(tag.replace("attempt=2", "attempt=two")) is None


def test_the_ledger_records_a_request_once_forwarded_and_whether_its_answer_got_back(tmp_path) -> None:
    ledger = RequestLedger("payments", "Idempotency-Key", scenario="worker-restart")
    tag = format_tag("order-1", "r1", "2", "charge_payment", 1)
    first = ledger.connection()
    first.sent(request(tag=tag)[:30])
    assert ledger.requests == []  # not all of it reached the dependency yet
    first.sent(request(tag=tag)[30:])
    first.answered(response(), delivered=False)  # a downstream fault kept the answer from the caller
    first.closed()
    second = ledger.connection()
    second.sent(request(key=None))
    second.answered(response(), delivered=True)
    second.sent(request(key="k-3"))  # never answered: the caller went away
    second.closed()
    rows = ledger.requests
    assert [(r["connection"], r["path"], r["idempotency_key"], r["status"], r["answer_delivered"]) for r in rows] == [
        (1, "/charges", "k-1", 201, False), (2, "/charges", None, 201, True), (2, "/charges", "k-3", None, False),
    ]
    assert rows[0]["attempt"]["activity_type"] == "charge_payment" and rows[1]["attempt"] is None
    assert rows[0]["scenario"] == "worker-restart" and rows[0]["body_sha256"] == hashlib.sha256(BODY).hexdigest()[:16]
    ledger.write(tmp_path / "ledger" / "payments.jsonl")
    lines = (tmp_path / "ledger" / "payments.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3]
    assert not list((tmp_path / "ledger").glob("*.partial"))


def test_an_answer_that_comes_after_the_caller_left_is_not_delivered() -> None:
    ledger = RequestLedger("payments", "Idempotency-Key")
    connection = ledger.connection()
    connection.sent(request())
    connection.caller_left()  # a worker killed while the charge was being made
    connection.answered(response(), delivered=True)
    connection.closed()
    assert [(r["status"], r["answer_delivered"]) for r in ledger.requests] == [(201, False)]


def test_an_answer_cut_after_its_head_still_records_the_status_the_dependency_gave() -> None:
    ledger = RequestLedger("payments", "Idempotency-Key")
    connection = ledger.connection()
    connection.sent(request())
    connection.answered(response().split(b"\r\n\r\n")[0] + b"\r\n\r\n", delivered=False)  # the head, then a reset
    connection.closed()
    assert [(r["status"], r["answer_delivered"]) for r in ledger.requests] == [(201, False)]


def test_a_connection_that_is_not_http_is_counted_not_recorded() -> None:
    ledger = RequestLedger("db", "Idempotency-Key")
    connection = ledger.connection()
    connection.sent(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")  # a PostgreSQL SSLRequest
    connection.closed()
    assert ledger.requests == [] and ledger.opaque_connections == 1


def test_a_framing_error_stops_the_recording_of_that_connection_and_never_raises(monkeypatch) -> None:
    ledger = RequestLedger("payments", "Idempotency-Key")
    connection = ledger.connection()

    def broken(self, data):
        raise RuntimeError("framing bug")

    monkeypatch.setattr(MessageReader, "feed", broken)
    connection.sent(request())
    connection.answered(response(), delivered=True)
    connection.closed()
    assert ledger.requests == [] and ledger.opaque_connections == 1


@pytest.mark.parametrize("stream", [
    b"POST /c HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello", b"POST /c HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
], ids=["repeated-length", "non-numeric-length"])
def test_a_head_whose_body_length_cannot_be_read_stops_the_reading_without_raising(stream: bytes) -> None:
    reader = MessageReader("request")
    assert reader.feed(stream) == [] and reader.opaque


def test_a_status_with_non_ascii_digits_is_not_http() -> None:
    reader = MessageReader("response")
    reader.expect_response_to("GET")
    assert reader.feed("HTTP/1.1 \u00b200 OK\r\n\r\n".encode("latin-1")) == [] and reader.opaque


def test_an_interim_answer_is_not_the_requests_answer() -> None:
    """100 Continue and 103 Early Hints come before the real answer, which is the one recorded."""
    ledger = RequestLedger("payments", "Idempotency-Key")
    connection = ledger.connection()
    connection.sent(request(key="k-1"))
    connection.sent(request(key="k-2"))
    connection.answered(b"HTTP/1.1 100 Continue\r\n\r\n" + b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", delivered=True)
    assert [r["status"] for r in ledger.requests] == [None, None]
    connection.answered(response(201) + response(409, b"{}"), delivered=True)
    connection.closed()
    assert [(r["idempotency_key"], r["status"], r["answer_delivered"]) for r in ledger.requests] == [("k-1", 201, True), ("k-2", 409, True)]


def test_a_read_that_ends_inside_the_crlf_between_messages_waits_for_the_rest() -> None:
    reader = MessageReader("response")
    reader.expect_response_to("POST")
    reader.expect_response_to("POST")
    assert [m.status for m in reader.feed(response(201) + b"\r")] == [201]
    assert [m.status for m in reader.feed(b"\n" + response(200))] == [200]
    assert not reader.opaque
