"""Options come from flags, else the environment, else defaults."""

import pytest

from mirror.config import Config, parse


def test_defaults_suit_a_public_mirror():
    config = parse([], environ={})

    assert config == Config()
    assert (config.host, config.port, config.threads) == ("0.0.0.0", 8080, 8)
    assert config.upstream == "https://hub.docker.com"
    assert config.cache_ttl == 60


def test_environment_sets_options():
    config = parse([], environ={
        "PORT": "5000", "MIRROR_HOST": "127.0.0.1", "MIRROR_THREADS": "3",
        "MIRROR_UPSTREAM": "http://127.0.0.1:9/", "MIRROR_CACHE_TTL": "5",
        "MIRROR_SOURCE_URL": "https://example.org/src"})

    assert config.port == 5000
    assert config.host == "127.0.0.1"
    assert config.threads == 3
    assert config.upstream == "http://127.0.0.1:9"
    assert config.cache_ttl == 5.0
    assert config.source_url == "https://example.org/src"


def test_flags_win_over_the_environment():
    config = parse(["--port", "7000"], environ={"PORT": "5000"})

    assert config.port == 7000


@pytest.mark.parametrize("env", [
    {"PORT": "http"}, {"PORT": "70000"}, {"MIRROR_THREADS": "0"},
    {"MIRROR_CACHE_TTL": "nan"}, {"MIRROR_UPSTREAM": "ftp://x"}])
def test_bad_environment_is_refused(env, capsys):
    with pytest.raises(SystemExit) as caught:
        parse([], environ=env)

    assert caught.value.code == 2
    assert next(iter(env)) in capsys.readouterr().err


@pytest.mark.parametrize("env", [
    {"MIRROR_ACCESS_LOG": "banana"}, {"MIRROR_ALLOW_PRIVATE": "maybe"},
    {"MIRROR_WEBHOOK_SECRET": "a/b"}, {"MIRROR_WEBHOOK_SECRET": "short"}])
def test_unclear_switches_and_secrets_are_refused(env, capsys):
    with pytest.raises(SystemExit):
        parse([], environ=env)

    assert next(iter(env)) in capsys.readouterr().err


def test_switches_read_plain_words():
    assert parse([], environ={"MIRROR_ACCESS_LOG": "yes"}).access_log
    assert not parse([], environ={"MIRROR_ACCESS_LOG": "off"}).access_log


def test_flags_replace_a_variables_list():
    config = parse(["--peer", "https://c.example.org"],
                   environ={"MIRROR_PEERS": "https://a.example.org,"
                                            "https://b.example.org"})

    assert config.peer == ["https://c.example.org"]
    assert parse([], environ={"MIRROR_PEERS": "https://a.example.org"}
                 ).peer == ["https://a.example.org"]
