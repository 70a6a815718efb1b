"""The metric recorder's judgement of a scrape: refused is down, slow is a gap, and a window with nothing to scrape
is not kept (there is nothing to judge alerts on)."""

from __future__ import annotations

import httpx

from harness.observe.recorder import MetricRecorder, _scrape_one


async def scrape_with(handler):
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        return await _scrape_one(http, "w-0", 9001)


async def test_refused_is_down_slow_is_a_gap_and_an_answer_is_parsed():
    def refused(request):
        raise httpx.ConnectError("refused", request=request)

    def slow(request):
        raise httpx.ReadTimeout("slow", request=request)

    def answer(request):
        return httpx.Response(200, text="# TYPE temporal_num_pollers gauge\ntemporal_num_pollers{poller_type=\"workflow_task\"} 2\n")

    down = await scrape_with(refused)
    assert down.up is False and down.instance == "127.0.0.1:9001" and down.samples == ()
    assert await scrape_with(slow) is None
    up = await scrape_with(answer)
    assert up.up and [(s.name, s.value, s.kind) for s in up.samples] == [("temporal_num_pollers", 2.0, "gauge")]


async def test_a_window_without_endpoints_is_not_kept():
    recorder = MetricRecorder(lambda: {}, interval=0.01)
    async with recorder.window("s", "fault", "nothing to scrape", ("pollers",)):
        pass
    assert recorder.windows == []
