"""The health-check policy with a fake clock, and the check itself."""

import http.server
import json
import random
import threading

import pytest

from registry.health import (
    DOWN,
    PROBATION,
    UP,
    CheckResult,
    HealthPolicy,
    HealthTable,
    check_health,
)

OK = CheckResult(True, 0.05, None)
FAIL = CheckResult(False, None, "connection refused")
DAY = 24 * 3600


# -- scheduling --------------------------------------------------------


def test_first_check_is_at_a_random_moment_within_one_interval():
    clock = FakeClock()
    table = HealthTable(clock=clock, rng=random.Random(4))

    starts = [
        table.add(f"https://m{i}.example.org").next_check for i in range(50)
    ]

    assert all(clock.now <= start <= clock.now + 60 for start in starts)
    assert len(set(starts)) == 50


def test_checks_are_due_every_interval_with_20_percent_jitter():
    clock = FakeClock()
    table = HealthTable(clock=clock, rng=random.Random(7))
    node = table.add("https://m.example.org", listed=True)

    delays = []
    for _ in range(200):
        table.record_round({node.url: OK})
        delays.append(node.next_check - clock.now)

    assert all(48 <= delay <= 72 for delay in delays)
    assert max(delays) - min(delays) > 15


def test_due_lists_nodes_whose_check_has_come():
    clock = FakeClock()
    table = HealthTable(clock=clock, rng=MidRandom())
    table.add("https://a.example.org")

    assert table.due() == []
    clock.now += 30
    assert table.due() == ["https://a.example.org"]


# -- probation, down and up ---------------------------------------------


def test_new_node_is_listed_after_probation():
    table = make_table(probation=3)
    url = "https://m.example.org"
    table.add(url)

    reports = [table.record_round({url: OK}) for _ in range(3)]

    assert [r.listed_changed for r in reports] == [False, False, True]
    assert reports[-1].up == [url]
    assert table.nodes[url].state == UP
    assert list(table.listed()) == [url]


def test_failure_during_probation_restarts_the_count():
    table = make_table(probation=3)
    url = "https://m.example.org"
    table.add(url)

    for result in (OK, OK, FAIL, OK, OK):
        table.record_round({url: result})

    assert table.nodes[url].state == PROBATION
    table.record_round({url: OK})
    assert table.nodes[url].state == UP


def test_listed_node_goes_down_after_three_consecutive_failures():
    table = make_table()
    url = "https://m.example.org"
    table.add(url, listed=True)

    reports = [table.record_round({url: FAIL}) for _ in range(3)]

    assert [r.listed_changed for r in reports] == [False, False, True]
    assert reports[-1].down == [url]
    assert table.nodes[url].state == DOWN
    assert table.nodes[url].last_error == "connection refused"


def test_success_between_failures_resets_the_count():
    table = make_table()
    url = "https://m.example.org"
    table.add(url, listed=True)

    for result in (FAIL, FAIL, OK, FAIL, FAIL):
        table.record_round({url: result})

    assert table.nodes[url].state == UP


def test_down_node_is_up_again_after_two_successes():
    table = make_table(probation=5)
    url = "https://m.example.org"
    table.add(url, listed=True)
    for _ in range(3):
        table.record_round({url: FAIL})

    first = table.record_round({url: OK})
    second = table.record_round({url: OK})

    assert not first.listed_changed
    assert second.up == [url] and second.listed_changed
    assert table.nodes[url].state == UP


def test_down_node_backoff_doubles_up_to_15_minutes():
    clock = FakeClock()
    table = HealthTable(HealthPolicy(), clock, MidRandom())
    node = table.add("https://m.example.org", listed=True)

    delays = []
    for _ in range(8):
        table.record_round({node.url: FAIL})
        delays.append(node.next_check - clock.now)
        clock.now = node.next_check

    assert delays == [60, 60, 120, 240, 480, 900, 900, 900]


def test_backoff_with_jitter_never_exceeds_15_minutes():
    clock = FakeClock()
    table = HealthTable(clock=clock, rng=random.Random(1))
    node = table.add("https://m.example.org", listed=True)

    for _ in range(40):
        table.record_round({node.url: FAIL})
        assert node.next_check - clock.now <= 900
        clock.now = node.next_check


def test_down_node_that_answers_is_checked_at_the_normal_interval():
    clock = FakeClock()
    table = HealthTable(HealthPolicy(), clock, MidRandom())
    node = table.add("https://m.example.org", listed=True)
    for _ in range(6):
        table.record_round({node.url: FAIL})

    table.record_round({node.url: OK})

    assert node.state == DOWN
    assert node.next_check - clock.now == 60


def test_node_without_success_for_7_days_is_removed():
    clock = FakeClock()
    table = HealthTable(HealthPolicy(), clock, MidRandom())
    url = "https://m.example.org"
    table.add(url, listed=True)
    table.record_round({url: OK})

    clock.now += 7 * DAY - 60
    assert table.record_round({url: FAIL}).removed == []
    clock.now += 61
    report = table.record_round({url: FAIL})

    assert report.removed == [url]
    assert url not in table.nodes


def test_node_is_removed_even_when_not_checked_in_that_round():
    clock = FakeClock()
    table = HealthTable(HealthPolicy(), clock, MidRandom())
    table.add("https://gone.example.org")

    clock.now += 7 * DAY + 1
    report = table.record_round({})

    assert report.removed == ["https://gone.example.org"]


# -- the 70% rule ------------------------------------------------------


def test_more_than_70_percent_failing_changes_nothing():
    table = make_table()
    urls = add_listed(table, 10)
    results = {url: FAIL if i < 8 else OK for i, url in enumerate(urls)}

    for _ in range(5):
        report = table.record_round(results)

    assert report.ignored and not report.listed_changed
    assert all(node.state == UP for node in table.nodes.values())
    assert all(node.failures == 0 for node in table.nodes.values())


def test_70_percent_failing_is_still_believed():
    table = make_table()
    urls = add_listed(table, 10)
    results = {url: FAIL if i < 7 else OK for i, url in enumerate(urls)}

    for _ in range(3):
        report = table.record_round(results)

    assert not report.ignored
    assert sorted(report.down) == sorted(urls[:7])
    assert list(table.listed()) == sorted(urls[7:])


def test_ignored_round_does_not_remove_nodes():
    clock = FakeClock()
    table = HealthTable(HealthPolicy(), clock, MidRandom())
    urls = add_listed(table, 4)
    table.record_round(dict.fromkeys(urls, OK))

    clock.now += 7 * DAY + 1
    report = table.record_round(dict.fromkeys(urls, FAIL))

    assert report.ignored and report.removed == []
    assert sorted(table.nodes) == sorted(urls)


def test_one_round_spans_an_interval_of_staggered_checks():
    clock = FakeClock()
    table = HealthTable(HealthPolicy(), clock, MidRandom())
    urls = add_listed(table, 10)
    table.record_round(dict.fromkeys(urls, OK))

    ignored = []
    for url in urls:
        clock.now += 5
        ignored.append(table.record_round({url: FAIL}).ignored)

    assert ignored == [False] * 7 + [True] * 3


def test_few_nodes_are_judged_one_by_one():
    table = make_table()
    urls = add_listed(table, 2)

    for _ in range(3):
        report = table.record_round(dict.fromkeys(urls, FAIL))

    assert not report.ignored
    assert sorted(report.down) == urls


def test_probation_nodes_do_not_count_towards_the_70_percent():
    table = make_table()
    listed = add_listed(table, 3)
    newcomers = [f"https://new{i}.example.org" for i in range(10)]
    for url in newcomers:
        table.add(url)

    results = dict.fromkeys(newcomers, FAIL) | {listed[0]: FAIL}
    for _ in range(3):
        report = table.record_round(results)

    assert not report.ignored
    assert sorted(report.down) == sorted(newcomers + [listed[0]])


# -- the signed list ---------------------------------------------------


def test_signed_list_holds_listed_nodes_and_when_they_joined():
    clock = FakeClock()
    table = HealthTable(HealthPolicy(probation=1), clock, MidRandom())
    table.add("https://b.example.org")
    table.add("https://a.example.org")

    table.record_round({"https://b.example.org": OK})

    assert table.signed_list() == {"https://b.example.org": clock.now}


def test_signed_list_is_never_empty():
    table = make_table()
    urls = add_listed(table, 2)
    for _ in range(3):
        table.record_round(dict.fromkeys(urls, FAIL))

    assert table.listed() == {}
    assert table.signed_list() is None


def test_results_for_unknown_nodes_are_ignored():
    table = make_table()

    report = table.record_round({"https://stranger.example.org": OK})

    assert report.checked == 0 and table.nodes == {}


def test_table_survives_a_restart_through_its_state():
    table = make_table()
    urls = add_listed(table, 3)
    table.record_round({urls[0]: FAIL})

    saved = json.loads(json.dumps(table.to_dict()))
    restored = HealthTable.from_dict(saved, clock=FakeClock(), rng=MidRandom())

    assert restored.to_dict()["nodes"][0]["failures"] == 1
    assert list(restored.listed()) == sorted(urls)


# -- the check ---------------------------------------------------------


def test_healthy_node_passes_its_check(health_server):
    health_server.answer = (200, {"ok": True, "api_version": 1})

    ok, latency, error = check_health(health_server.url, allow_private=True)

    assert ok and error is None
    assert 0 <= latency < 5


@pytest.mark.parametrize(
    "status, body",
    [
        (200, {"ok": False, "api_version": 1}),
        (200, {"ok": "true", "api_version": 1}),
        (200, {"ok": True, "api_version": 2}),
        (200, {"ok": True, "api_version": True}),
        (200, {"ok": True}),
        (200, [True, 1]),
        (200, "<html>ok</html>"),
        (503, {"ok": True, "api_version": 1}),
    ],
)
def test_unhealthy_answer_fails_the_check(health_server, status, body):
    health_server.answer = (status, body)

    ok, _latency, error = check_health(health_server.url, allow_private=True)

    assert not ok and error


def test_private_node_fails_the_check_without_allow_private(health_server):
    health_server.answer = (200, {"ok": True, "api_version": 1})

    https_url = health_server.url.replace("http://", "https://")

    ok, latency, error = check_health(https_url)

    assert not ok and latency is None
    assert "loopback" in error


def test_slow_node_fails_the_check(health_server):
    health_server.delay = 2

    ok, _latency, error = check_health(
        health_server.url, allow_private=True, timeout=(1, 0.2)
    )

    assert not ok and "timed out" in error


# -- helpers -----------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now


class MidRandom:
    """A random source that always picks the middle: no jitter."""

    def uniform(self, low, high):
        return (low + high) / 2


def make_table(**policy):
    return HealthTable(HealthPolicy(**policy), FakeClock(), MidRandom())


def add_listed(table, count):
    urls = [f"https://m{i:02d}.example.org" for i in range(count)]
    for url in urls:
        table.add(url, listed=True)
    return urls


class HealthHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        if server.stopping.wait(server.delay):
            return
        status, document = server.answer
        body = (
            document if isinstance(document, str) else json.dumps(document)
        ).encode()
        self.send_response(status if self.path == "/v1/health" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def health_server():
    """A node on 127.0.0.1 whose /v1/health answer a test sets."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HealthHandler)
    server.daemon_threads = True
    server.stopping = threading.Event()
    server.delay = 0
    server.answer = (200, {"ok": True, "api_version": 1})
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}
    )
    thread.start()
    yield server
    server.stopping.set()
    server.shutdown()
    server.server_close()
    thread.join(5)
