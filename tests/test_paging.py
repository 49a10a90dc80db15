"""Build history paging: bounded, on the upstream's origin, by date."""

import json

from conftest import HUB, fixture_json, history_url, serve_fixture, tag_url


def page(results, next_link=None):
    return {"count": len(results), "next": next_link, "previous": None,
            "results": results}


def build(tag, status, created):
    return {"id": 1, "status": status, "dockertag_name": tag,
            "created_date": created, "last_updated": created}


def test_tag_on_a_later_page_is_found(app, hub):
    first = fixture_json("buildhistory-mixed-tags-page1.json")
    hub.get(history_url() + "?page_size=100", json=first)
    serve_fixture(hub, first["next"], "buildhistory-mixed-tags-page2.json")

    answer = app.get("/build/exampleorg/webapp?tag=2.0").json

    assert (answer["status"], answer["state"]) == (10, "success")


def test_each_tag_gets_its_own_newest_build(app, hub):
    first = fixture_json("buildhistory-mixed-tags-page1.json")
    hub.get(history_url() + "?page_size=100", json=first)

    latest = app.get("/build/exampleorg/webapp").json
    release = app.get("/build/exampleorg/webapp?tag=2.1").json
    dev = app.get("/build/exampleorg/webapp?tag=dev").json

    assert latest["state"] == "building"
    assert release["state"] == "success"
    assert dev["state"] == "queued"


def test_newest_build_is_chosen_by_date_not_position(app, hub):
    hub.get(history_url(), json=page([
        build("latest", -1, "2021-01-01T00:00:00Z"),
        build("latest", 10, "2021-03-01T00:00:00.123456789Z"),
        build("latest", 3, "2021-02-01T00:00:00Z"),
    ]))

    answer = app.get("/build/exampleorg/webapp").json

    assert answer["status"] == 10


def test_tag_match_is_exact_and_keeps_case(app, hub):
    hub.get(history_url(), json=page([
        build("Latest", -1, "2021-03-01T00:00:00Z"),
        build("latest", 10, "2021-01-01T00:00:00Z"),
    ]))

    answer = app.get("/build/exampleorg/webapp").json

    assert answer["status"] == 10


def test_a_next_cycle_ends_the_walk(app, hub):
    url = history_url() + "?page_size=100"
    hub.get(url, json=page([build("other", 10, "2021-01-01T00:00:00Z")],
                           next_link=url))
    serve_fixture(hub, tag_url(), "tag-latest.json")

    answer = app.get("/build/exampleorg/webapp").json

    assert answer["source"] == "tags"
    assert sum("buildhistory" in c.request.url for c in hub.calls) == 1


def test_endless_history_stops_after_ten_pages(app, hub):
    def endless(request):
        number = int(request.url.rsplit("page=", 1)[-1]) if "page=" in (
            request.url) else 1
        body = page([build("other", 10, "2021-01-01T00:00:00Z")],
                    f"{history_url()}?page_size=100&page={number + 1}")
        return 200, {}, json.dumps(body)

    hub.add_callback("GET", history_url(), callback=endless)
    serve_fixture(hub, tag_url(), "tag-latest.json")

    answer = app.get("/build/exampleorg/webapp").json

    assert answer["source"] == "tags"
    assert sum("buildhistory" in c.request.url for c in hub.calls) == 10


def test_next_link_off_the_upstream_origin_is_not_followed(app, hub):
    hub.get(history_url(), json=page(
        [build("other", 10, "2021-01-01T00:00:00Z")],
        next_link="https://evil.example/v2/steal?page=2"))
    hub.get("https://evil.example/v2/steal", json=page(
        [build("latest", 10, "2021-01-01T00:00:00Z")]))
    serve_fixture(hub, tag_url(), "tag-latest.json")

    answer = app.get("/build/exampleorg/webapp").json

    assert answer["source"] == "tags"
    assert not any("evil" in c.request.url for c in hub.calls)


def test_relative_next_link_stays_on_the_origin(app, hub):
    hub.get(history_url(), match=[_query({"page_size": "100"})], json=page(
        [build("other", 10, "2021-01-01T00:00:00Z")],
        next_link="?page_size=100&page=2"))
    hub.get(history_url(), match=[_query({"page_size": "100", "page": "2"})],
            json=page([build("latest", -1, "2021-01-01T00:00:00Z")]))

    answer = app.get("/build/exampleorg/webapp").json

    assert answer["status"] == -1
    assert all(c.request.url.startswith(HUB) for c in hub.calls)


def _query(params):
    from responses import matchers

    return matchers.query_param_matcher(params)
