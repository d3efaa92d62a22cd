"""The browser recorded as MP4 (issue 15 item 2, docs/recording.md): with
`capabilities.recording {enabled: true, browser: true}` each task.browser is an
MP4 made by ffmpeg inside the sandbox (its cgroup) from the screencast,
announced by sandbox.browser.recorded and exported as the artifact
`.sandq/recording/<taskId>.mp4` before the task's outcome — also when a kill
stops the task; a pause asked mid-task waits for the task, whose video is
finished first. ffprobe checks each video: H.264, the viewport's size rounded
down to even, more than one frame, a duration close to the task's. A worker
without ffmpeg rejects the capability. The sandbox's env never reaches ffmpeg."""
from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

from harness import Worker, private_prefix
from sandbox_host import procs_of
from sandq_client import Sandq, new_id
from schemas import event_errors

pytestmark = pytest.mark.skipif(
    not pathlib.Path("/usr/lib/chromium/chromium-headless-shell").exists() or not shutil.which("ffprobe"),
    reason="the browser or ffmpeg is not installed (scripts/setup installs both)")

TERMINAL = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}
SECRET = "s3cr3t-video-Q7W8E9"
# A page that changes every 40 ms (so the screencast sends frames), and says
# when it has run for `ms` milliseconds (#done), for waitFor to end the task.
PAGE = """<!doctype html><html><body style="margin:0;font:40px sans-serif">
<div id="n">0</div><script>
let n = 0; setInterval(() => { document.getElementById('n').textContent = ++n;
  document.body.style.background = n % 2 ? '#fff' : '#eef'; }, 40);
setTimeout(() => { const d = document.createElement('p'); d.id = 'done'; d.textContent = 'done';
  document.body.appendChild(d); }, %MS%);
</script></body></html>"""


@pytest.fixture(scope="module")
def vid(stack_env):
    """One worker with a directory artifact store; yields (client, store dir)."""
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-vid-"))
    prefix = private_prefix(stack_env["brokers"], "vid")
    client = Sandq(stack_env["brokers"], prefix)
    w = Worker("w-vid", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, "SANDQ_UID_BASE": "3860000000",
                         "SANDQ_ARTIFACT_STORE": f"file://{store}"}).start()
    yield client, store
    assert w.stop() == 0, w.log_text()[-3000:]
    shutil.rmtree(store, ignore_errors=True)


def schema_errors(e: dict) -> list[str]:
    return event_errors({k: v for k, v in e.items() if not k.startswith("_")})


def launch(client: Sandq, create: dict):
    sbx = new_id("sbx")
    stream = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, create, tenant="acme"))
    first = stream.wait_for(lambda e: e["type"] in ("sandbox.ready", "request.rejected", "sandbox.failed"),
                            timeout=90)
    return sbx, stream, first


def recording_sandbox(client: Sandq, width: int, height: int):
    sbx, stream, ready = launch(client, {
        "env": {"SITE_TOKEN": SECRET},
        "capabilities": {"recording": {"enabled": True, "browser": True},
                         "browser": {"viewport": {"width": width, "height": height}}},
        "limits": {"memoryMb": 1024}})
    assert ready["type"] == "sandbox.ready" and ready["data"]["capabilities"]["browser"], ready
    return sbx, stream


def send(client: Sandq, sbx: str, type_: str, body: dict | None = None) -> dict:
    return client.send(client.envelope(type_, sbx, body or {}, tenant="acme"))


def kill(client: Sandq, stream, sbx: str):
    req = send(client, sbx, "sandbox.kill")
    stream.for_request(req["requestId"], {"sandbox.ended", "request.rejected"}, timeout=60)


def write_page(client: Sandq, stream, sbx: str, ms: int):
    req = send(client, sbx, "files.write", {"path": "anim.html", "content": PAGE.replace("%MS%", str(ms))})
    assert stream.for_request(req["requestId"], TERMINAL, timeout=60)["type"] == "sandbox.task.completed"


def ffprobe(path: pathlib.Path) -> dict:
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                        "stream=codec_name,width,height,nb_read_frames:format=duration,format_name", "-of", "json",
                        str(path)], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    s = j["streams"][0]
    return {"codec": s["codec_name"], "width": s["width"], "height": s["height"],
            "frames": int(s["nb_read_frames"]), "duration": float(j["format"]["duration"]),
            "format": j["format"]["format_name"]}


def video_of(store: pathlib.Path, sbx: str, task_id: str, artifacts: list[dict]) -> pathlib.Path:
    name = f".sandq/recording/{task_id}.mp4"
    found = [a for a in artifacts if a["path"] == name]
    assert len(found) == 1, artifacts
    a = found[0]
    assert a["contentType"] == "video/mp4"
    path = store / "acme" / sbx / a["artifactId"] / name
    assert path.stat().st_size == a["sizeBytes"] > 0
    return path


def ffmpeg_of(sbx: str) -> list[int]:
    """Host pids of the ffmpeg processes among the sandbox's (found by their cgroup)."""
    out = []
    for pid in procs_of(sbx):
        try:
            argv = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"ffmpeg"):
            out.append(pid)
    return out


def test_browser_task_becomes_an_mp4_of_its_length(vid):
    client, store = vid
    # An odd viewport: yuv420p needs even dimensions, so the video is 800x600.
    sbx, stream = recording_sandbox(client, 801, 601)
    write_page(client, stream, sbx, 2500)
    actions = [{"op": "goto", "url": "file:///workspace/anim.html"},
               {"op": "type", "selector": "#n", "text": f"tok {SECRET}"},
               {"op": "waitFor", "selector": "#done", "timeoutMs": 20000}]
    req = send(client, sbx, "task.browser", {"actions": actions})
    # While it runs: ffmpeg is a process of the sandbox — its cgroup is the
    # sandbox's, as the host sees it — and it has none of the sandbox's env.
    stream.wait_for(lambda e: e.get("requestId") == req["requestId"] and e["type"] == "sandbox.task.progress"
                    and e["data"]["index"] == 2, timeout=60)
    pids = []
    deadline = time.monotonic() + 10
    while not pids and time.monotonic() < deadline:
        pids = ffmpeg_of(sbx)
        time.sleep(0.05)
    assert len(pids) == 1, "no ffmpeg among the sandbox's processes while the task ran"
    cgroup = pathlib.Path(f"/proc/{pids[0]}/cgroup").read_text()
    assert f"/{sbx}" in cgroup, cgroup
    environ = pathlib.Path(f"/proc/{pids[0]}/environ").read_bytes()
    assert SECRET.encode() not in environ and b"SITE_TOKEN" not in environ
    cmdline = pathlib.Path(f"/proc/{pids[0]}/cmdline").read_bytes()
    assert SECRET.encode() not in cmdline

    done = stream.for_request(req["requestId"], TERMINAL, timeout=120)
    assert done["type"] == "sandbox.task.completed", done
    mine = [e for e in stream.seen if e.get("requestId") == req["requestId"]]
    types = [e["type"] for e in mine]
    # Order: the recording, then its artifact, then the outcome.
    assert types.index("sandbox.browser.recorded") < types.index("sandbox.artifacts.updated") < \
        types.index("sandbox.task.completed"), types
    rec = next(e for e in mine if e["type"] == "sandbox.browser.recorded")
    assert rec["taskId"] == req["taskId"]
    d = rec["data"]
    assert d["ok"] is True and d["path"] == f".sandq/recording/{req['taskId']}.mp4", d
    assert (d["width"], d["height"]) == (800, 600)
    assert d["frames"] > 1 and d["frames"] + d["droppedFrames"] >= d["frames"]
    for e in mine:
        assert schema_errors(e) == [], (e["type"], schema_errors(e))
    path = video_of(store, sbx, req["taskId"], done["data"]["artifacts"])
    p = ffprobe(path)
    assert p["codec"] == "h264" and "mp4" in p["format"], p
    assert (p["width"], p["height"]) == (800, 600), p
    assert p["frames"] > 1, p
    # The video lasts about as long as the task: at least most of the page's
    # 2.5 s (the waitFor), and not longer than the whole task.
    task_s = done["data"]["durationMs"] / 1000
    assert 2.0 <= p["duration"] <= task_s + 1.0, (p, task_s)
    assert SECRET.encode() not in path.read_bytes()
    # The workspace keeps no copy (the artifact is the video).
    ls = send(client, sbx, "files.list", {"path": ".browser/rec"})
    listed = stream.for_request(ls["requestId"], TERMINAL, timeout=60)
    assert "out.mp4" not in json.dumps(listed["data"].get("result", {})), listed
    # The task's ffmpeg is gone; a warm one waits for the next task (a new
    # process, in the sandbox's cgroup too).
    after = ffmpeg_of(sbx)
    assert len(after) == 1 and after != pids, (pids, after)
    kill(client, stream, sbx)


def test_kill_mid_task_finishes_and_exports_the_video(vid):
    client, store = vid
    sbx, stream = recording_sandbox(client, 640, 480)
    write_page(client, stream, sbx, 600000)  # #done never comes: only the kill ends the task
    req = send(client, sbx, "task.browser", {"actions": [
        {"op": "goto", "url": "file:///workspace/anim.html"},
        {"op": "waitFor", "selector": "#done", "timeoutMs": 50000}]})
    stream.wait_for(lambda e: e.get("requestId") == req["requestId"] and e["type"] == "sandbox.task.progress"
                    and e["data"]["index"] == 1, timeout=60)
    time.sleep(2.0)  # two seconds of animation on the record
    k = send(client, sbx, "sandbox.kill")
    done = stream.for_request(req["requestId"], TERMINAL, timeout=60)
    assert done["type"] == "sandbox.task.failed" and done["data"]["code"] == "canceled", done
    stream.for_request(k["requestId"], {"sandbox.ended"}, timeout=60)
    mine = [e for e in stream.seen if e.get("requestId") == req["requestId"]]
    types = [e["type"] for e in mine]
    assert types.index("sandbox.browser.recorded") < types.index("sandbox.artifacts.updated") < \
        types.index("sandbox.task.failed"), types
    rec = next(e for e in mine if e["type"] == "sandbox.browser.recorded")
    assert rec["data"]["ok"] is True, rec
    upd = next(e for e in mine if e["type"] == "sandbox.artifacts.updated")
    path = video_of(store, sbx, req["taskId"], upd["data"]["artifacts"])
    p = ffprobe(path)
    assert (p["width"], p["height"]) == (640, 480) and p["frames"] > 1, p
    assert p["duration"] >= 1.5, p  # the two seconds before the kill are in it
    for e in mine:
        assert schema_errors(e) == [], (e["type"], schema_errors(e))


def test_cancel_mid_task_exports_the_video_and_the_next_task_records_too(vid):
    client, store = vid
    sbx, stream = recording_sandbox(client, 400, 300)
    write_page(client, stream, sbx, 600000)
    req = send(client, sbx, "task.browser", {"actions": [
        {"op": "goto", "url": "file:///workspace/anim.html"},
        {"op": "screenshot", "path": "/workspace/shot.png"},
        {"op": "waitFor", "selector": "#done", "timeoutMs": 50000}]})
    stream.wait_for(lambda e: e.get("requestId") == req["requestId"] and e["type"] == "sandbox.task.progress"
                    and e["data"]["index"] == 2, timeout=60)
    time.sleep(1.0)
    send(client, sbx, "task.cancel", {"targetTaskId": req["taskId"]})
    done = stream.for_request(req["requestId"], TERMINAL, timeout=60)
    assert done["type"] == "sandbox.task.failed" and done["data"]["code"] == "canceled", done
    upd = next(e for e in stream.seen if e.get("requestId") == req["requestId"]
               and e["type"] == "sandbox.artifacts.updated")
    # Only the video: a canceled task exports nothing else (its screenshot stays in the workspace).
    assert [a["path"] for a in upd["data"]["artifacts"]] == [f".sandq/recording/{req['taskId']}.mp4"], upd
    p = ffprobe(video_of(store, sbx, req["taskId"], upd["data"]["artifacts"]))
    assert (p["width"], p["height"]) == (400, 300) and p["frames"] > 1, p
    # The sandbox carries on, and its next task has its own video.
    req2 = send(client, sbx, "task.browser", {"actions": [{"op": "goto", "url": "about:blank"}]})
    done2 = stream.for_request(req2["requestId"], TERMINAL, timeout=120)
    assert done2["type"] == "sandbox.task.completed", done2
    p2 = ffprobe(video_of(store, sbx, req2["taskId"], done2["data"]["artifacts"]))
    assert (p2["width"], p2["height"]) == (400, 300), p2
    kill(client, stream, sbx)


def test_pause_mid_task_waits_for_the_video(vid):
    client, store = vid
    sbx, stream = recording_sandbox(client, 640, 360)
    write_page(client, stream, sbx, 2000)
    req = send(client, sbx, "task.browser", {"actions": [
        {"op": "goto", "url": "file:///workspace/anim.html"},
        {"op": "waitFor", "selector": "#done", "timeoutMs": 20000}]})
    stream.wait_for(lambda e: e.get("requestId") == req["requestId"] and e["type"] == "sandbox.task.started",
                    timeout=60)
    p_req = send(client, sbx, "sandbox.pause")
    stream.for_request(p_req["requestId"], {"sandbox.paused", "request.rejected"}, timeout=90)
    types = [(e["type"], e.get("requestId")) for e in stream.seen]
    # The task (its video included) ends first, then the sandbox pauses.
    i_rec = types.index(("sandbox.browser.recorded", req["requestId"]))
    i_done = types.index(("sandbox.task.completed", req["requestId"]))
    i_paused = types.index(("sandbox.paused", p_req["requestId"]))
    assert i_rec < i_done < i_paused, types
    done = next(e for e in stream.seen if e["type"] == "sandbox.task.completed" and e["requestId"] == req["requestId"])
    p = ffprobe(video_of(store, sbx, req["taskId"], done["data"]["artifacts"]))
    assert (p["width"], p["height"]) == (640, 360) and p["frames"] > 1, p
    kill(client, stream, sbx)


def test_one_video_per_task_and_its_size(vid):
    """One MP4 per task; a task without animation (a still page) still gets a
    video (the screenshot at its start and the last frame at its end)."""
    client, store = vid
    sbx, stream = recording_sandbox(client, 320, 240)
    write_page(client, stream, sbx, 500)
    videos = []
    for actions in ([{"op": "goto", "url": "about:blank"}],
                    [{"op": "goto", "url": "file:///workspace/anim.html"},
                     {"op": "waitFor", "selector": "#done", "timeoutMs": 20000}]):
        req = send(client, sbx, "task.browser", {"actions": actions})
        done = stream.for_request(req["requestId"], TERMINAL, timeout=120)
        assert done["type"] == "sandbox.task.completed", done
        videos.append(ffprobe(video_of(store, sbx, req["taskId"], done["data"]["artifacts"])))
    assert all((v["width"], v["height"]) == (320, 240) for v in videos), videos
    assert all(v["frames"] >= 1 for v in videos), videos
    assert videos[1]["frames"] > 1, videos
    # A setViewport mid-task is scaled into the task's video; the next task's
    # video has the new size (the warm ffmpeg of the old size is replaced).
    for expect in ((320, 240), (330, 250)):
        req = send(client, sbx, "task.browser", {"actions": [{"op": "setViewport", "width": 331, "height": 251},
                                                             {"op": "goto", "url": "file:///workspace/anim.html"},
                                                             {"op": "waitFor", "selector": "#done"}]})
        done = stream.for_request(req["requestId"], TERMINAL, timeout=120)
        assert done["type"] == "sandbox.task.completed", done
        v = ffprobe(video_of(store, sbx, req["taskId"], done["data"]["artifacts"]))
        assert (v["width"], v["height"]) == expect, (v, expect)
    kill(client, stream, sbx)


def test_checkpoint_between_tasks_keeps_recording(vid):
    """A checkpoint closes and reopens the browser (and drops the warm ffmpeg);
    the next task still gets its video."""
    client, store = vid
    sbx, stream = recording_sandbox(client, 320, 240)
    req = send(client, sbx, "checkpoint.create", {"checkpointId": new_id("chk")})
    done = stream.for_request(req["requestId"], TERMINAL, timeout=120)
    assert done["type"] == "sandbox.task.completed", done
    req = send(client, sbx, "task.browser", {"actions": [{"op": "goto", "url": "about:blank"}]})
    done = stream.for_request(req["requestId"], TERMINAL, timeout=120)
    assert done["type"] == "sandbox.task.completed", done
    rec = next(e for e in stream.seen if e.get("requestId") == req["requestId"]
               and e["type"] == "sandbox.browser.recorded")
    assert rec["data"]["ok"] is True, rec
    v = ffprobe(video_of(store, sbx, req["taskId"], done["data"]["artifacts"]))
    assert (v["width"], v["height"]) == (320, 240), v
    kill(client, stream, sbx)


def test_recording_browser_needs_its_parts(vid):
    client, _ = vid
    for create in ({"capabilities": {"recording": {"enabled": True, "browser": True}}},
                   {"capabilities": {"recording": {"enabled": False, "browser": True}, "browser": {}},
                    "limits": {"memoryMb": 1024}}):
        _, _, first = launch(client, create)
        assert first["type"] == "request.rejected", first
        assert first["data"]["code"] == "invalid_request"
        assert first["data"]["field"] == "body.capabilities.recording.browser"
        assert schema_errors(first) == []


def test_worker_without_ffmpeg_rejects_the_capability(stack_env):
    prefix = private_prefix(stack_env["brokers"], "noff")
    client = Sandq(stack_env["brokers"], prefix)
    w = Worker("w-noff", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, "SANDQ_UID_BASE": "3870000000",
                          "SANDQ_FFMPEG_BIN": "/usr/bin/no-such-ffmpeg"}).start()
    try:
        _, _, first = launch(client, {"capabilities": {"recording": {"enabled": True, "browser": True},
                                                       "browser": {}}, "limits": {"memoryMb": 1024}})
        assert first["type"] == "request.rejected", first
        assert first["data"]["code"] == "capability_unavailable"
        assert first["data"]["field"] == "body.capabilities.recording.browser"
        assert "ffmpeg" in first["data"]["message"]
        assert schema_errors(first) == []
        # The rest of recording is still there without ffmpeg.
        sbx, stream, ready = launch(client, {"capabilities": {"recording": {"enabled": True}}})
        assert ready["type"] == "sandbox.ready", ready
        kill(client, stream, sbx)
    finally:
        assert w.stop() == 0, w.log_text()[-3000:]
    assert "browser recording: unavailable" in w.log_text()
