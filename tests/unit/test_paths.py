import pytest

from faaskeeper import paths
from faaskeeper.exceptions import MalformedInputException


@pytest.mark.parametrize("path", ["/", "/a", "/a/b", "/a-b_c.d", "/ünïcode", "/a/b/c/d/e"])
def test_valid_paths(path):
    assert paths.validate_path(path) == path


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("", "empty"),
        ("a", "must begin with /"),
        ("a/b", "must begin with /"),
        ("/a/", "must not end with /"),
        ("//a", "empty component"),
        ("/a//b", "empty component"),
        ("/a/./b", "relative component '.'"),
        ("/a/..", "relative component '..'"),
        ("/.", "relative component '.'"),
        ("/a\x00b", "invalid character"),
        ("/a\nb", "invalid character"),
        ("/a\x7fb", "invalid character"),
    ],
)
def test_invalid_paths_name_the_problem(path, fragment):
    with pytest.raises(MalformedInputException, match=fragment.replace(".", r"\.")):
        paths.validate_path(path)


def test_non_string_path():
    with pytest.raises(MalformedInputException, match="must be a string"):
        paths.validate_path(b"/a")


def test_root_can_be_refused():
    with pytest.raises(MalformedInputException):
        paths.validate_path("/", allow_root=False)


def test_parent_name_join():
    assert paths.parent("/a") == "/"
    assert paths.parent("/a/b/c") == "/a/b"
    assert paths.name("/a/b") == "b"
    assert paths.join("/", "a") == "/a"
    assert paths.join("/a", "b") == "/a/b"


def test_sequential_suffix_is_ten_digits():
    assert paths.sequential("/q/item-", 7) == "/q/item-0000000007"
    assert paths.sequential("/q/x", 1234567890) == "/q/x1234567890"


def test_lock_order_parents_first():
    assert paths.lock_order(["/a/b", "/", "/a", "/b"]) == ["/", "/a", "/b", "/a/b"]
