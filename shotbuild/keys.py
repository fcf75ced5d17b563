"""The normalised request of a shot and its input key.

The key is a sha256 over canonical JSON of the key format, the backend identity
and the request that decides the pixels. `title` and `callback_url` are left out
(they change no pixel); `type` is kept in, but HeyGen's two names of one model,
`avatar_shots` and `cinematic_avatar`, are spelled "avatar_shots" there (the key
every earlier default gave), so switching between them renders nothing. References
enter by identity only: a URL string, an asset id, or the sha256 of the bytes (of a local file or of
decoded base64 data, so the same image sent either way is the same shot)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

from shotbuild.errors import ShotbuildError
from shotbuild.fs import NotARegularFile, open_regular
from shotbuild.heygen.origin import LOOPBACK, is_loopback, key_identity
from shotbuild.heygen.typenames import legacy_key_type_names
from shotbuild.request import Request, body_of, cosmetic_of, keyed_request
from shotbuild.spec.model import Reference, Shot, Spec

KEY_FORMAT = 1

__all__ = ["Request", "accepted_keys", "cosmetic_of", "key_of", "request_of", "shot_keys"]

FileHasher = Callable[[Path], str]


class UnreadableReference(ShotbuildError):
    """A reference cannot be read to compute the shot's key."""


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _c_encoder() -> Callable[[Any], str] | None:
    """The C encoder `_CANONICAL.encode` builds on every call, built once (a key is
    made per shot, two or three times a build); None when this Python's json has none
    of that shape, or it does not give `_CANONICAL`'s very text (checked here once)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    basestring = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or basestring is None:
        return None
    try:
        chunks = make(None, _CANONICAL.default, basestring, None, ":", ",", True, False, True)
        sample = {"b": [1, 2.5, True, None, 'é\n"x'], "a": {"z": 0, "y": -1e300}}
        if "".join(chunks(sample, 0)) != _CANONICAL.encode(sample):
            return None
    except Exception:  # any surprise: the documented encoder below
        return None
    return lambda value: "".join(chunks(value, 0))


_ENCODE = _c_encoder() or _CANONICAL.encode


def canonical_json(value: Any) -> str:
    """json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)."""
    return _ENCODE(value)


def request_of(shot: Shot, root: Path, hash_file: FileHasher) -> Request:
    """The request that decides the pixels: the create body of `request.body_of`,
    every reference by identity and the cosmetic fields left out."""
    refs = shot.references
    identities = [reference_identity(ref, root, hash_file) for ref in refs] if refs else []
    return keyed_request(body_of(shot, identities))


def reference_identity(ref: Reference, root: Path, hash_file: FileHasher) -> dict[str, str]:
    if ref.type == "url":
        return {"url": ref.url or ""}
    if ref.type == "asset_id":
        return {"asset_id": ref.asset_id or ""}
    if ref.type == "file":
        return {"sha256": hash_file(root / (ref.path or ""))}
    return {"sha256": hashlib.sha256(decode_base64(ref.data or "")).hexdigest()}


def decode_base64(data: str) -> bytes:
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError) as e:
        raise UnreadableReference(
            f"a base64 reference is not valid base64 ({e}); fix the spec"
        ) from None


def key_of(backend_identity: str, request: Request) -> str:
    """sha256 of canonical_json({"v": KEY_FORMAT, "backend": ..., "request": ...})."""
    text = _usual_key_text(backend_identity, request)
    if text is None:
        doc = {"v": KEY_FORMAT, "backend": backend_identity, "request": request}
        text = canonical_json(doc)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_STRING: Callable[[str], str] = (
    getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring
)
# The keys of a request as `request.keyed_request` makes them, sorted as canonical JSON
# sorts them; with and without a duration (auto_duration: true has none).
_TIMED = (
    *("aspect_ratio", "auto_duration", "avatar_id", "duration", "enhance_prompt"),
    *("prompt", "references", "resolution", "type"),
)
_UNTIMED = tuple(k for k in _TIMED if k != "duration")
_TIMED_KEYS, _UNTIMED_KEYS = frozenset(_TIMED), frozenset(_UNTIMED)
_STR = frozenset({str})


def _usual_key_text(identity: str, request: Request) -> str | None:
    """canonical_json of a key's document, written out for a request of the shape
    `keyed_request` makes (strings, booleans, an int duration, references of strings),
    since the json module's C encoder takes twice as long on it (a key per shot, each
    build); None for anything else. tests/test_engine_keys.py holds it to
    canonical_json on many requests."""
    keys = request.keys()
    timed = keys == _TIMED_KEYS
    if not (timed or keys == _UNTIMED_KEYS) or type(identity) is not str:
        return None
    get = request.get
    duration, auto, enhance = get("duration"), get("auto_duration"), get("enhance_prompt")
    ratio, prompt = get("aspect_ratio"), get("prompt")
    resolution, kind = get("resolution"), get("type")
    if not (
        (not timed or type(duration) is int)
        and type(auto) is bool
        and type(enhance) is bool
        and type(ratio) is str
        and type(prompt) is str
        and type(resolution) is str
        and type(kind) is str
    ):
        return None
    looks, refs = _strings(get("avatar_id")), _references(get("references"))
    if looks is None or refs is None:
        return None
    when = f'"duration":{int.__repr__(duration)},' if timed else ""
    string = _STRING
    return (
        f'{{"backend":{string(identity)},"request":{{"aspect_ratio":{string(ratio)},'
        f'"auto_duration":{"true" if auto else "false"},"avatar_id":[{looks}],{when}'
        f'"enhance_prompt":{"true" if enhance else "false"},"prompt":{string(prompt)},'
        f'"references":[{refs}],"resolution":{string(resolution)},"type":{string(kind)}}},'
        f'"v":{KEY_FORMAT}}}'
    )


def _strings(values: Any) -> str | None:
    """A list of strings as canonical JSON writes its items; None for anything else."""
    if type(values) is not list:
        return None
    for value in values:
        if type(value) is not str:
            return None
    return ",".join(map(_STRING, values))


def _references(refs: Any) -> str | None:
    """A list of {str: str} as canonical JSON writes its items; None for anything else."""
    if type(refs) is not list:
        return None
    if not refs:
        return ""
    out: list[str] = []
    for ref in refs:
        if type(ref) is not dict:
            return None
        if not {*map(type, ref), *map(type, ref.values())} <= _STR:
            return None
        items = sorted(ref.items())
        out.append("{" + ",".join(f"{_STRING(k)}:{_STRING(v)}" for k, v in items) + "}")
    return ",".join(out)


def accepted_keys(
    identity: str, request: Request, api_type: str, *origins: str | None
) -> tuple[str, ...]:
    """The keys a lock, output or cache record may have been made with and still be
    this shot's render at backend `identity` (the one rule of "is this record this
    shot's?"): the shot's key now, first; the key under the Avatar Shots type name an
    earlier version put in it (`legacy_key_type_names`); and, when `identity` is
    loopback, each of these made with each loopback origin the record names (before
    every loopback origin was one identity). `origins`: the record's own (an output's
    record also names its lock entry's); none given (a record not yet found) stands
    for `identity` itself."""
    now = key_identity(identity)
    identities = [now]
    if now == LOOPBACK:
        named = [o for o in origins if o is not None] or [identity]
        identities += [o for o in named if is_loopback(o)]
    names = legacy_key_type_names(api_type)
    requests = [request, *({**request, "type": name} for name in names)]
    return tuple(dict.fromkeys(key_of(i, r) for i in identities for r in requests))


class KeysFirst(Collection[str]):
    """`(first, *rest())`, with `rest` asked only when `first` is not the key sought:
    a shot's takes are nearly always under its key now, and the other keys it may
    have had (`accepted_keys`) cost a key each to make."""

    __slots__ = ("_keys", "_rest", "first")  # one per shot of a build

    def __init__(self, first: str, rest: Callable[[], Collection[str]]) -> None:
        self.first = first
        self._rest: Callable[[], Collection[str]] | None = rest
        self._keys: tuple[str, ...] | None = None

    def _all(self) -> tuple[str, ...]:
        if self._keys is None:
            assert self._rest is not None
            self._keys, self._rest = (self.first, *self._rest()), None
        return self._keys

    def __contains__(self, key: object) -> bool:
        return key == self.first or key in self._all()

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def diff_requests(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The fields that differ, lists by index: ["prompt", "references[1]", "duration"]."""
    fields: list[str] = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if isinstance(before, list) and isinstance(after, list):
            for i in range(max(len(before), len(after))):
                if i >= len(before) or i >= len(after) or before[i] != after[i]:
                    fields.append(f"{name}[{i}]")
        else:
            fields.append(name)
    return fields


def sha256_file(path: Path, root: Path | None = None) -> str:
    """sha256 of a regular file, opened without following links below `root`."""
    with open_regular(path, root) as f:
        return _sha256_of(f)


def _sha256_of(f: Any) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: f.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


class StatCachedHasher:
    """sha256 of a local file, re-read only when its size, mtime or inode changed.

    `load` gives the remembered (size, mtime_ns, inode, sha256) of a path and
    `save` records a new one; both come from the cache (or a dict in tests)."""

    def __init__(
        self,
        load: Callable[[str], tuple[int, int, int, str] | None],
        save: Callable[[str, tuple[int, int, int, str]], None],
        root: Path | None = None,  # links below it are not followed (the spec's folder)
    ) -> None:
        self._load = load
        self._save = save
        self._root = root
        self.reads = 0  # files actually read (for tests and -v)

    def __call__(self, path: Path) -> str:
        try:  # checked on the open descriptor: no link followed, a regular file
            f = open_regular(path, self._root)
        except NotARegularFile as e:
            raise UnreadableReference(str(e)) from None
        except OSError as e:
            raise UnreadableReference(
                f"{path}: cannot read reference file ({e.strerror})"
            ) from None
        with f:
            st = os.fstat(f.fileno())
            where = str(path.resolve())
            known = self._load(where)
            if known is not None and known[:3] == (st.st_size, st.st_mtime_ns, st.st_ino):
                return known[3]
            self.reads += 1
            sha = _sha256_of(f)
        self._save(where, (st.st_size, st.st_mtime_ns, st.st_ino, sha))
        return sha


def shot_keys(
    spec: Spec, backend_identity: str, hash_file: FileHasher
) -> dict[str, tuple[str, Request]]:
    """Each shot's (key, request) by name."""
    out: dict[str, tuple[str, Request]] = {}
    identity = key_identity(backend_identity)  # every loopback origin is one
    root = spec.root
    for shot in spec.shots:
        request = request_of(shot, root, hash_file)
        out[shot.name] = (key_of(identity, request), request)
    return out
