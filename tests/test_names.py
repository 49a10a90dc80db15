"""Names are checked against Docker's grammar before any URL is built."""

import pytest

from mirror.errors import BadName
from mirror.names import parse_image

BAD_NAMES = [
    ("", "empty"),
    ("web app", "not a valid"),
    ("-webapp", "not a valid"),
    ("webapp-", "not a valid"),
    ("web..app", "not a valid"),
    ("web___app", "not a valid"),
    ("..", "not a valid"),
    ("web%2Fapp", "not a valid"),
    ("w\u00e9bapp", "not a valid"),
    ("web\x00app", "not a valid"),
    ("a" * 256, "longer than 255"),
    ("<script>", "not a valid"),
]

BAD_TAGS = [".hidden", "-dash", "a/b", "a b", "x" * 129, "t\u00e4g",
            "<svg onload=1>", "../../etc", "tag\n"]


@pytest.mark.parametrize(("name", "why"), BAD_NAMES)
def test_bad_repository_names_say_what_is_wrong(name, why):
    with pytest.raises(BadName) as caught:
        parse_image("exampleorg", name, "latest")

    assert caught.value.description.startswith("repository")
    assert why in caught.value.description


@pytest.mark.parametrize(("name", "why"), BAD_NAMES)
def test_bad_organization_names_say_what_is_wrong(name, why):
    with pytest.raises(BadName) as caught:
        parse_image(name, "webapp", "latest")

    assert caught.value.description.startswith("organization")


@pytest.mark.parametrize("tag", BAD_TAGS)
def test_bad_tags_say_what_is_wrong(tag):
    with pytest.raises(BadName) as caught:
        parse_image("exampleorg", "webapp", tag)

    assert caught.value.description.startswith("tag")


@pytest.mark.parametrize("name", ["a", "a.b", "a_b", "a__b", "a---b",
                                  "0x", "a" * 255, "my-org.io"])
def test_good_names_pass(name):
    assert parse_image(name, name, "latest").repository == name


@pytest.mark.parametrize("tag", ["latest", "_x", "v1.2.3-RC_1",
                                 "A" * 128, "1"])
def test_good_tags_keep_their_case(tag):
    assert parse_image("a", "b", tag).tag == tag


def test_long_bad_input_is_cut_in_the_description():
    with pytest.raises(BadName) as caught:
        parse_image("exampleorg", "webapp", "!" * 5000)

    assert len(caught.value.description) < 300


def test_mixed_case_and_alias_are_normalised():
    image = parse_image("_", "WebApp", "")

    assert (image.namespace, image.repository, image.tag) == (
        "library", "webapp", "latest")
