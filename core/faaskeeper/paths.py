"""Node path rules: ZooKeeper's, checked before anything is sent or written."""

from __future__ import annotations

from faaskeeper.exceptions import MalformedInputException

ROOT = "/"
SEQUENTIAL_DIGITS = 10


def validate_path(path: object, *, allow_root: bool = True) -> str:
    """Return ``path`` if it is a well-formed absolute node path, else raise MalformedInputException."""
    if not isinstance(path, str):
        raise MalformedInputException(f"Path must be a string, got {type(path).__name__}")
    if not path:
        raise MalformedInputException("Path must not be empty")
    if not path.startswith("/"):
        raise MalformedInputException(f"Path {path!r} must begin with /")
    if path == ROOT:
        if not allow_root:
            raise MalformedInputException("The root node / cannot be changed this way")
        return path
    if path.endswith("/"):
        raise MalformedInputException(f"Path {path!r} must not end with /")
    for ch in path:
        code = ord(ch)
        if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xF8FF or code in (0xFFF0, 0xFFFE, 0xFFFF):
            raise MalformedInputException(f"Path {path!r} contains the invalid character {ch!r}")
    for part in path[1:].split("/"):
        if part == "":
            raise MalformedInputException(f"Path {path!r} contains an empty component")
        if part in (".", ".."):
            raise MalformedInputException(f"Path {path!r} contains the relative component {part!r}")
    return path


def parent(path: str) -> str:
    """The parent of a non-root path."""
    head = path.rsplit("/", 1)[0]
    return head or ROOT


def name(path: str) -> str:
    """The last component of a path."""
    return path.rsplit("/", 1)[1]


def join(parent_path: str, child: str) -> str:
    return f"/{child}" if parent_path == ROOT else f"{parent_path}/{child}"


def sequential(path: str, counter: int) -> str:
    """The name ZooKeeper gives a sequential node: a 10-digit zero-padded suffix."""
    return f"{path}{counter:0{SEQUENTIAL_DIGITS}d}"


def depth(path: str) -> int:
    return 0 if path == ROOT else path.count("/")


def lock_order(paths: list[str]) -> list[str]:
    """The order in which a writer locks several nodes: parents before children, then by name."""
    return sorted(set(paths), key=lambda p: (depth(p), p))
