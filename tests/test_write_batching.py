"""Batched bookkeeping writes: the lock and the manifest keep their exact bytes with
the per-member encoder, the lock is written at most once a second and a build killed
with a batch pending loses no paid render, the list of jobs in flight is an
append-only log that survives a kill, and a released job slot wakes one waiter."""

from __future__ import annotations

import asyncio
import json
import random
import re
import string
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SPEC_HEAD, RunningEmulator, SpecWriter

from shotbuild.build.slots import Slots
from shotbuild.store.cache import Cache
from shotbuild.store.lock import (
    LockEntry,
    LockFile,
    LockText,
    LockWriter,
    ShotTakes,
    dumps_lock_file,
    loads_lock_file,
    read_lock_file,
)
from shotbuild.store.outputs import MANIFEST_NAME, Manifest, Owned
from shotbuild.store.pace import Pace
from shotbuild.takes import take_key

DATA = Path(__file__).parent / "data"
FIXTURES = Path(__file__).parent / "fixtures" / "keys"


def reference_dumps(lock: LockFile) -> str:
    """The lock writer as it was: json.dumps of the whole document."""
    shots = {}
    for name in sorted(lock.shots):
        shot = lock.shots[name]
        takes = {str(n): shot.takes[n].to_json() for n in sorted(shot.takes)}
        shots[name] = {"key": shot.key, "pick": shot.pick, "takes": takes}
    doc = {"format_version": 2, "shots": shots}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _hex(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(64))


def random_lock(rng: random.Random, shots: int, *, odd: str = 'é✓"\\\n\t/ü') -> LockFile:
    """`odd`: text in origins and dates, to test escapes and non-ASCII text (such a
    lock does not read back: odd="" gives one that does)."""
    out: dict[str, ShotTakes] = {}
    for i in range(shots):
        key = _hex(rng)
        takes = {}
        for number in rng.sample(range(1, 11), rng.randint(1, 3)):
            takes[number] = LockEntry(
                take_key(key, number),
                "".join(rng.choice(string.ascii_letters) for _ in range(12)),
                _hex(rng),
                rng.randint(0, 10**12),
                rng.choice([4.0, 10, 7.25, 1e-7, 15.000000000000002, rng.random() * 15]),
                rng.choice(["https://api.heygen.com", f"http://127.0.0.1:{i}", "x" + odd])
                if odd
                else "https://api.heygen.com",
                rng.choice(["2026-12-01T10:00:00Z", odd or "2026-12-01T10:00:00Z"]),
            )
        name = f"shot-{i:05d}" if i % 7 else f"S.{i}_{rng.randint(0, 9)}"
        out[name] = ShotTakes(key, takes, rng.choice(sorted(takes)))
    return LockFile(out)


@pytest.mark.parametrize("path", [DATA / "lock_v1_main.lock", FIXTURES / "shots.lock"])
def test_the_lock_encoder_writes_the_bytes_of_the_fixture_locks(path: Path) -> None:
    lock = loads_lock_file(path.read_text(encoding="utf-8"))
    assert lock.shots
    assert dumps_lock_file(lock) == reference_dumps(lock)


def test_the_lock_encoder_writes_the_bytes_of_a_random_large_lock() -> None:
    rng = random.Random(16)
    lock = random_lock(rng, 3000)
    assert dumps_lock_file(lock) == reference_dumps(lock)
    assert dumps_lock_file(LockFile()) == reference_dumps(LockFile())
    # one encoder kept across writes re-encodes only the changed shots: same bytes
    text = LockText()
    assert text.dumps(lock) == reference_dumps(lock)
    names = sorted(lock.shots)
    for step in range(50):
        name = rng.choice(names)
        if step % 5 == 0:
            lock = lock.without(name)
            names.remove(name)
        else:
            lock = lock.with_shot(name, next(iter(random_lock(rng, 1).shots.values())))
        assert text.dumps(lock) == reference_dumps(lock)
    plain = random_lock(rng, 300, odd="")
    assert loads_lock_file(text.dumps(plain)) == plain


def test_the_lock_is_written_at_most_once_per_interval_and_flushed(tmp_path: Path) -> None:
    now = [100.0]
    path = tmp_path / "shots.lock"
    writer = LockWriter(path, every=1.0, clock=lambda: now[0])
    lock = random_lock(random.Random(1), 5, odd="")
    first = LockFile(dict(list(lock.shots.items())[:1]))
    writer.write(first)  # the first write goes out at once
    assert read_lock_file(path) == first and writer.writes == 1 and not writer.pending
    for n in range(2, 6):
        now[0] += 0.125  # exact in binary, like every step here
        writer.write(LockFile(dict(list(lock.shots.items())[:n])))
    assert read_lock_file(path) == first and writer.pending and writer.writes == 1
    assert writer.due_in() == 0.5
    now[0] += 0.5
    writer.write(lock)  # due: the latest lock, written once
    assert read_lock_file(path) == lock and writer.writes == 2
    now[0] += 0.25
    writer.write(first)
    writer.flush()  # the end of a build writes what is pending at once
    assert read_lock_file(path) == first and writer.writes == 3
    writer.flush()
    assert writer.writes == 3  # nothing pending: nothing written


def _owned(i: int, title: str) -> Owned:
    return Owned(
        shot=f"s{i}",
        backend="heygen",
        key="a" * 64,
        sha256="b" * 64,
        size=i,
        mtime_ns=10**18 + i,
        inode=i,
        title=title,
        video_id=f"v{i}",
        duration=4.5,
        origin="https://api.heygen.com",
        built_at="2026-12-01T10:00:00Z",
        spec="/x/shots.yaml",
    )


def test_the_manifest_keeps_its_bytes_and_merges_another_writer(tmp_path: Path) -> None:
    build = tmp_path / "build"
    ours = Manifest(build)
    for i in range(20):
        ours.put(f"s{i}.mp4", _owned(i, f'Tïtle "{i}"\n'))
    ours.save()
    doc = {
        "format_version": 1,
        "outputs": {rel: ours.entries[rel]._asdict() for rel in sorted(ours.entries)},
    }
    assert (build / MANIFEST_NAME).read_text() == json.dumps(doc, indent=2, sort_keys=True) + "\n"
    theirs = Manifest(build)  # another spec's build sharing the folder
    theirs.put("other.mp4", _owned(99, "theirs"))
    theirs.save()
    ours.put("s0.mp4", _owned(0, "changed"))
    ours.save()  # the file changed under it: read again and merged
    merged = Manifest(build).entries
    assert merged["other.mp4"].title == "theirs" and merged["s0.mp4"].title == "changed"
    assert len(merged) == 21


def test_jobs_in_flight_are_logged_before_a_kill_and_folded_at_the_end(tmp_path: Path) -> None:
    spec = tmp_path / "shots.yaml"
    cache = Cache(tmp_path / "cache")
    cache.track_job(spec, "k1", "a", live=True)
    cache.track_job(spec, "k2", "b", live=True)
    cache.track_job(spec, "k1", "a", live=False)
    # killed here: no fold; another process reads the list and its log
    assert Cache(tmp_path / "cache").in_flight(spec) == {"k2": "b"}
    log = next((tmp_path / "cache" / "inflight").glob("*.log"))
    with log.open("ab") as f:
        f.write(b'["+", "k3", "c"]\n["+", "k4"')  # a line torn by a kill is skipped
    assert Cache(tmp_path / "cache").in_flight(spec) == {"k2": "b", "k3": "c"}
    cache.flush_in_flight()  # the fold: the list alone, the log gone
    assert not log.exists()
    folded = json.loads(log.with_suffix(".json").read_text())
    assert folded == {"k2": "b"}  # this cache's own view: it held the build lock
    cache.untrack_jobs(spec, ["k2"])
    cache.flush_in_flight()
    assert Cache(tmp_path / "cache").in_flight(spec) == {}
    assert not list((tmp_path / "cache" / "inflight").iterdir())


def test_a_released_slot_wakes_one_waiter_not_all() -> None:
    async def main() -> tuple[int, list[int]]:
        slots = Slots(1)
        checks = [0]
        free = slots._free

        def counted() -> bool:
            checks[0] += 1
            return free()

        slots._free = counted  # type: ignore[method-assign]
        order: list[int] = []
        await slots.acquire()

        async def shot(i: int) -> None:
            await slots.acquire()
            order.append(i)
            await asyncio.sleep(0)
            await slots.release()

        tasks = [asyncio.create_task(shot(i)) for i in range(200)]
        await asyncio.sleep(0)
        await slots.release()
        await asyncio.gather(*tasks)
        return checks[0], order

    checks, order = asyncio.run(main())
    assert order == list(range(200))  # first come, first served
    assert checks < 5 * 200  # waking every waiter on each release: ~20,000 checks


def test_slots_pass_a_turn_on_when_the_limit_grows() -> None:
    async def main() -> int:
        slots = Slots(3)
        slots.limit = 1
        await slots.acquire()
        got: list[int] = []

        async def shot(i: int) -> None:
            await slots.acquire()
            got.append(i)

        tasks = [asyncio.create_task(shot(i)) for i in range(2)]
        await asyncio.sleep(0)
        slots.limit = 3  # as a round of finished jobs does
        await slots.release(grow=False)  # one release, three free slots: both get one
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        return len(got)

    assert asyncio.run(main()) == 2


SPEC = SPEC_HEAD + "".join(f"  s{i}: {{prompt: Shot {i} waves.}}\n" for i in range(6))


def test_a_build_killed_with_a_lock_batch_pending_loses_no_render(
    write_spec: SpecWriter, emulator: Callable[..., RunningEmulator]
) -> None:
    """kill -9 from inside the moment the lock write is deferred: renders finished
    since the last write are staged for the cache's next commit (lost with the kill)
    or on record there, and their jobs' video_ids are on record: the next build
    locks them with no create (restored from the cache, or polled and downloaded
    again by video_id), paying only for the shots the killed build never created."""

    emu = emulator(api_key="sk-batch-test", latency=0.0, seed=3, clock=time.monotonic)
    spec = write_spec(SPEC)
    killed = emu.shotbuild(
        "build", str(spec), "-j", "6", env=emu.env(SHOTBUILD_TEST_CRASH_AT="lock-pending")
    )
    assert killed.returncode == -9, killed.stderr
    lock_path = spec.with_suffix(".lock")
    # the first write went out at once; the kill came as the second was deferred
    assert len(read_lock_file(lock_path).shots) == 1
    created = emu.counts["jobs"]
    assert created >= 2
    again = emu.shotbuild("build", str(spec))
    assert again.returncode == 0, again.stderr
    paid = re.findall(r"paid this run: (\d+) renders?", again.stderr)
    assert (int(paid[-1]) if paid else 0) == 6 - created, again.stderr  # no job made again
    assert emu.counts["jobs"] == 6
    lock = read_lock_file(lock_path)
    assert sorted(lock.shots) == [f"s{i}" for i in range(6)]
    prompts = Counter(job.body["prompt"] for job in emu.world.jobs.values())
    assert len(prompts) == 6 and max(prompts.values()) == 1  # never paid twice
    for name, shot in lock.shots.items():
        assert (spec.parent / "build" / f"{name}.mp4").stat().st_size == shot.picked.size


def test_a_build_killed_with_records_staged_pays_no_render_again(
    write_spec: SpecWriter, emulator: Callable[..., RunningEmulator]
) -> None:
    """kill -9 from inside the moment a render's cache records are staged (downloaded,
    its job's done record and paid-render record not yet committed): its video_id is
    on record, so the next build polls and downloads it again and locks it; only the
    shots the killed build never created are paid for."""

    emu = emulator(api_key="sk-batch-test", latency=0.0, seed=5, clock=time.monotonic)
    spec = write_spec(SPEC)
    killed = emu.shotbuild(
        "build", str(spec), "-j", "6", env=emu.env(SHOTBUILD_TEST_CRASH_AT="records-staged")
    )
    assert killed.returncode == -9, killed.stderr
    created = emu.counts["jobs"]
    assert created >= 1
    again = emu.shotbuild("build", str(spec))
    assert again.returncode == 0, again.stderr
    paid = re.findall(r"paid this run: (\d+) renders?", again.stderr)
    assert (int(paid[-1]) if paid else 0) == 6 - created, again.stderr
    assert emu.counts["jobs"] == 6
    lock = read_lock_file(spec.with_suffix(".lock"))
    assert sorted(lock.shots) == [f"s{i}" for i in range(6)]
    prompts = Counter(job.body["prompt"] for job in emu.world.jobs.values())
    assert len(prompts) == 6 and max(prompts.values()) == 1  # never paid twice


def test_a_staged_write_is_read_back_and_committed_once(tmp_path: Path) -> None:
    """A staged entry is invisible to other readers until a commit, seen by this
    cache's own reads (which commit it first), and written by `writing`'s one
    transaction together with the block's own writes."""
    cache = Cache(tmp_path / "cache")
    cache.stage(lambda: cache.index.set("request:k1", {"a": 1}), ["request:k1"])
    assert Cache(tmp_path / "cache").request("k1") is None  # not committed yet
    assert cache.request("k1") == {"a": 1}  # a read of a staged entry commits it
    assert not cache.staged
    cache.stage(lambda: cache.index.set("request:k2", {"b": 2}), ["request:k2"])
    cache.untrack_after_commit(tmp_path / "s.yaml", "j1")
    with cache.writing():
        cache.put_request("k3", {"c": 3})
    other = Cache(tmp_path / "cache")
    assert (other.request("k2"), other.request("k3")) == ({"b": 2}, {"c": 3})
    assert not cache.staged

    def failing() -> None:
        with cache.writing():
            cache.stage(lambda: cache.index.set("request:k4", {"d": 4}), ["request:k4"])
            cache.put_request("k5", {"e": 5})
            raise RuntimeError

    with pytest.raises(RuntimeError):  # a failed block writes nothing
        failing()
    assert Cache(tmp_path / "cache").request("k5") is None
    assert not cache.has_request("k5", {"e": 5})
    cache.commit()  # what was staged meanwhile stays staged until then
    assert Cache(tmp_path / "cache").request("k4") == {"d": 4}
    cache.close()


def test_a_costly_write_waits_longer_so_writing_stays_a_small_share() -> None:
    now = [0.0]
    pace = Pace(clock=lambda: now[0], share=0.02)
    assert pace.due_in(1.0) == 0  # never written: at once
    with pace.writing():
        now[0] += 0.005  # a small file: the interval rules
    assert pace.due_in(1.0) == pytest.approx(1.0)
    now[0] += 2.0
    with pace.writing():
        now[0] += 0.1  # a large file: wait 1 / share = 50 times what it took
    assert pace.due_in(1.0) == pytest.approx(5.0)
