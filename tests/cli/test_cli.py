"""The user commands through the real ``tailor`` entry point against a live server."""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tailor.bootstrap import Runtime
from tests.cli.conftest import Result, _entry
from tests.client.support import needs, write_pngs
from tests.engine.api_helpers import add_checkpoints, add_model

V1 = "/v1/tailored-gen"
Run = Callable[..., Result]
pytestmark = needs("POST", f"{V1}/projects")


def test_project_commands(tailor: Run) -> None:
    created = tailor("project", "create", "Mascot", "--type", "stylized_scene", "--json")
    assert created.rc == 0, created.stderr
    pid = created.json()["id"]
    listed = tailor("project", "list")
    assert listed.rc == 0 and "Mascot" in listed.stdout
    shown = tailor("project", "show", str(pid), "--json")
    assert shown.rc == 0 and shown.json()["project_name"] == "Mascot" and shown.json()["datasets"] == []
    assert tailor("project", "delete", str(pid), "--yes").rc == 0
    assert tailor("project", "list", "--json").json() == []


def test_api_errors_print_the_message_and_exit_non_zero(tailor: Run) -> None:
    missing = tailor("project", "show", "424242")
    assert missing.rc == 1
    assert "Error:" in missing.stderr and "404" in missing.stderr
    bad = tailor("project", "create", "x", "--type", "icons", "--medium", "photography")
    assert bad.rc == 1 and "ip_type" in bad.stderr
    no_model = tailor("model", "eval", "424242")
    assert no_model.rc == 1 and "404" in no_model.stderr


def test_missing_token_is_explained(cli_env: dict[str, str], live_server: str) -> None:
    r = subprocess.run(
        [*_entry(), "project", "list", "--url", live_server],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=60,
    )
    assert r.returncode == 1
    assert "no API token" in r.stderr and "Traceback" not in r.stderr


def test_token_comes_from_the_token_file(tailor: Run, token: str, cli_env: dict[str, str]) -> None:
    home = Path(cli_env["TAILOR_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "token").write_text(token + "\n")
    r = tailor("project", "list", env_extra={"TAILOR_TOKEN": ""})
    assert r.rc == 0, r.stderr


def test_wrong_token_is_refused(tailor: Run) -> None:
    r = tailor("project", "list", "--token", "nope")
    assert r.rc == 1 and "401" in r.stderr


def test_unreachable_server(tailor: Run) -> None:
    r = tailor("project", "list", "--url", "http://127.0.0.1:9")
    assert r.rc == 1 and "cannot reach Tailor" in r.stderr


@needs("POST", f"{V1}/generate_visual_schema")
def test_dataset_upload_schema_complete(tailor: Run, tmp_path: Path) -> None:
    pid = tailor("project", "create", "Shapes", "--type", "stylized_scene", "--json").json()["id"]
    did = tailor("dataset", "create", str(pid), "shapes", "--json").json()["id"]
    folder = tmp_path / "imgs"
    files = write_pngs(folder, 5)
    schema = tailor("dataset", "schema", str(did), "--from", str(folder), "--refine", "the palette is pastel")
    assert schema.rc == 0, schema.stderr
    assert "Visual schema set" in schema.stderr
    up = tailor("dataset", "upload", str(did), str(folder))
    assert up.rc == 0, up.stderr
    assert "Uploaded 5 of 5 images" in up.stdout
    shown = tailor("dataset", "show", str(did), "--json").json()
    assert shown["images_count"] == 5 and shown["visual_schema"]
    report = tailor("dataset", "report", str(did))
    assert report.rc == 0, report.stderr
    assert f"Dataset {did}: " in report.stdout and "Buckets: 1:1: 5" in report.stdout
    done = tailor("dataset", "complete", str(did))
    assert done.rc == 0 and "completed" in done.stdout
    again = tailor("dataset", "upload", str(did), str(files[0]))
    assert again.rc == 1 and "failed" in again.stderr


def test_too_few_schema_samples(tailor: Run, tmp_path: Path) -> None:
    write_pngs(tmp_path / "two", 2)
    r = tailor("dataset", "schema", "1", "--from", str(tmp_path / "two"))
    assert r.rc == 1 and "5 to 10 images" in r.stderr


@needs("POST", f"{V1}/datasets/{{dataset_id}}/images/bulk-upload")
def test_zip_goes_through_bulk_upload(tailor: Run, tmp_path: Path) -> None:
    pid = tailor("project", "create", "Bulk", "--type", "stylized_scene", "--json").json()["id"]
    did = tailor("dataset", "create", str(pid), "big", "--upload-type", "advanced", "--json").json()["id"]
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in write_pngs(tmp_path / "z", 3):
            zf.write(f, f.name)
    r = tailor("dataset", "upload", str(did), str(archive))
    assert r.rc == 0, r.stderr
    assert "Bulk upload completed: 3 added" in r.stdout


def test_a_zip_to_a_basic_dataset_then_completion_says_what_is_missing_and_clone(
    tailor: Run, tmp_path: Path
) -> None:
    pid = tailor("project", "create", "Zipped", "--type", "stylized_scene", "--json").json()["id"]
    did = tailor("dataset", "create", str(pid), "basic", "--json").json()["id"]
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in write_pngs(tmp_path / "z", 5):
            zf.write(f, f"nested/{f.name}")
        zf.writestr("README.txt", "not an image")
    up = tailor("dataset", "upload", str(did), str(archive))
    assert up.rc == 0, up.stderr
    assert "Uploaded 5 of 5 images" in up.stdout
    done = tailor("dataset", "complete", str(did))
    assert done.rc == 1 and "visual_schema" in done.stderr and "no caption" in done.stderr
    assert tailor("dataset", "show", str(did), "--json").json()["status"] == "draft"
    copy = tailor("dataset", "clone", str(did), "--name", "basic v2", "--json")
    assert copy.rc == 0, copy.stderr
    c = copy.json()
    assert c["name"] == "basic v2" and c["status"] == "draft" and c["id"] != did and c["images_count"] == 5
    plain = tailor("dataset", "clone", str(did))
    assert plain.rc == 0 and f"Cloned dataset {did} into draft dataset" in plain.stdout
    # a page of the copy's images, filtered; then two of them deleted in one request
    page = tailor("dataset", "images", str(c["id"]), "--caption-state", "missing", "--limit", "2", "--json")
    assert page.rc == 0, page.stderr
    ids = [i["id"] for i in page.json()]
    assert len(ids) == 2 and {i["upload_source"] for i in page.json()} == {"upload"}
    bad = tailor("dataset", "images", str(c["id"]), "--caption-state", "done")
    assert bad.rc == 1 and "caption_state" in bad.stderr
    gone = tailor("dataset", "delete-images", str(c["id"]), *map(str, ids), "--yes")
    assert gone.rc == 0 and "Deleted 2 image(s)" in gone.stdout, gone.stderr
    assert tailor("dataset", "show", str(c["id"]), "--json").json()["images_count"] == 3


def test_help_fits_a_narrow_terminal(tailor: Run) -> None:
    for args in (["dataset", "upload", "--help"], ["model", "download", "--help"], ["--help"]):
        r = tailor(*args, env_extra={"COLUMNS": "80"})
        assert r.rc == 0, r.stderr
        assert "<bool>" not in r.stdout and "…" not in r.stdout, r.stdout
        assert max(len(line) for line in r.stdout.splitlines()) <= 80
    assert "--no-increase-resolution" in tailor("dataset", "upload", "--help").stdout


@pytest.mark.slow
@needs("POST", f"{V1}/models/{{model_id}}/start_training")
@needs("POST", "/v2/image/generate/tailored")
def test_train_wait_and_generate(tailor: Run, tmp_path: Path) -> None:
    pid = tailor("project", "create", "Shapes", "--type", "stylized_scene", "--json").json()["id"]
    did = tailor("dataset", "create", str(pid), "shapes", "--json").json()["id"]
    missing = tailor("dataset", "upload", str(did), "missing-folder")
    assert missing.rc == 1 and "no such file or folder" in missing.stderr
    write_pngs(tmp_path / "imgs", 5)
    assert tailor("dataset", "schema", str(did), "--from", str(tmp_path / "imgs")).rc == 0
    assert tailor("dataset", "upload", str(did), str(tmp_path / "imgs")).rc == 0
    assert tailor("dataset", "complete", str(did)).rc == 0
    mid = tailor("model", "create", str(did), "v1", "--mode", "expert", "--json").json()["id"]

    bad = tailor("model", "train", str(mid), "--expert", "rank=1")
    assert bad.rc == 1 and "rank" in bad.stderr
    trained = tailor(
        "model", "train", str(mid), "--expert", "rank=4", "--expert", "total_training_steps=2",
        "--expert", "checkpoint_interval=100", "--wait", "--interval", "0.5",
    )  # fmt: skip
    assert trained.rc == 0, trained.stderr
    # the estimate before it starts (no run measured yet on this server: the stated figure), the
    # time it took after
    assert "Estimate: " in trained.stdout and " for 2 steps, " in trained.stdout
    assert "no run measured on this installation yet" in trained.stdout
    assert f"Model {mid}: Completed after " in trained.stdout
    ck = tailor("model", "checkpoints", str(mid), "--json")
    assert ck.rc == 0 and "checkpoints" in ck.json()
    listed = tailor("model", "checkpoints", str(mid))
    losses = [c["loss"] for c in ck.json()["checkpoints"] if c.get("loss") is not None]
    assert listed.rc == 0 and all(f"{loss:.4g}" in listed.stdout for loss in losses), listed.stdout
    ev = tailor("model", "eval", str(mid))  # TAILOR_EVAL_MODELS is off here: nothing scored
    assert ev.rc == 0 and "not scored" in ev.stdout and "Suggested: none" in ev.stdout

    out = tmp_path / "out" / "tailored.png"
    gen = tailor(
        "generate", "a circle", "--model", str(mid), "-o", str(out), "--seed", "3", "--influence", "0.9"
    )
    assert gen.rc == 0, gen.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    request_id = gen.stdout.rsplit("request ", 1)[1].rstrip(")\n ")
    st = tailor("status", request_id)
    assert st.rc == 0 and "COMPLETED" in st.stdout and "image_url" in st.stdout
    history = tailor("generations", "list", str(pid), "--json")
    assert history.rc == 0, history.stderr
    assert history.json()["total"] == 1 and history.json()["generations"][0]["request_id"] == request_id
    listed = tailor("generations", "list", str(pid))
    assert listed.rc == 0 and request_id in listed.stdout and "Page 1 of 1 (1 in all)" in listed.stdout

    weights = tmp_path / "adapter.bin"
    dl = tailor("model", "download", str(mid), "-o", str(weights))
    assert dl.rc == 0 and weights.stat().st_size > 0
    into = tailor("model", "download", str(mid), "-o", f"{tmp_path}/weights/")
    assert into.rc == 0, into.stderr
    (saved,) = (tmp_path / "weights").iterdir()
    assert saved.name in ("v1-step2.zip", "v1-final.zip") and saved.stat().st_size > 0


@needs("POST", "/v2/image/generate")
def test_generate_on_the_base_model(tailor: Run, tmp_path: Path) -> None:
    out = tmp_path / "base.png"
    r = tailor("generate", "a red house", "-o", str(out), "--seed", "1", "--aspect-ratio", "1:1", "--json")
    assert r.rc == 0, r.stderr
    assert r.json()["result"]["seed"] == 1
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    into = tailor("generate", "a red house", "-o", f"{tmp_path}/renders/", "--seed", "4")
    assert into.rc == 0, into.stderr
    assert (tmp_path / "renders" / "tailor-4.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = tailor("generate", "x", "--aspect-ratio", "7:3", "-o", str(tmp_path / "no.png"))
    assert bad.rc == 1 and "aspect_ratio" in bad.stderr
    assert not (tmp_path / "no.png").exists()
    assert tailor("generate", "x", "--influence", "0.5").rc == 1


def test_edit_checks_its_inputs_here_and_on_the_server(tailor: Run, tmp_path: Path) -> None:
    write_pngs(tmp_path / "imgs", 1)
    (image,) = sorted((tmp_path / "imgs").iterdir())
    none = tailor("edit", str(image), "-o", str(tmp_path / "no.png"))
    assert none.rc == 1 and "--instruction" in none.stderr
    refs = tailor("edit", str(image), "-i", "put <image_2> here", "-o", str(tmp_path / "no.png"))
    assert refs.rc == 1 and "instruction" in refs.stderr and "<image_2>" in refs.stderr
    assert tailor("edit", str(image), "-i", "x", "--influence", "0.5").rc == 1
    assert not (tmp_path / "no.png").exists()


def test_unknown_request_status(tailor: Run) -> None:
    r = tailor("status", "nope")
    assert r.rc == 1 and "404" in r.stderr


@pytest.mark.slow
@needs("POST", f"{V1}/models/{{model_id}}/start_training")
def test_ctrl_c_detaches_and_training_goes_on(
    tailor: Run, token: str, live_server: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    import signal

    pid = tailor("project", "create", "Shapes", "--type", "stylized_scene", "--json").json()["id"]
    did = tailor("dataset", "create", str(pid), "shapes", "--json").json()["id"]
    write_pngs(tmp_path / "imgs", 5)
    assert tailor("dataset", "schema", str(did), "--from", str(tmp_path / "imgs")).rc == 0
    assert tailor("dataset", "upload", str(did), str(tmp_path / "imgs")).rc == 0
    assert tailor("dataset", "complete", str(did)).rc == 0
    mid = tailor("model", "create", str(did), "v1", "--json").json()["id"]

    env = {**cli_env, "TAILOR_URL": live_server, "TAILOR_TOKEN": token}
    proc = subprocess.Popen(
        [*_entry(), "model", "train", str(mid), "--wait", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("Estimate: ")  # printed before the run starts
    assert "started" in proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    assert proc.returncode == 0
    assert "Detached" in err or "Completed" in out  # training may already have ended

    follow = tailor("model", "train", str(mid), "--wait", "--interval", "0.3")
    assert follow.rc == 0, follow.stderr
    assert f"Model {mid}: Completed" in follow.stdout


def test_complete_a_stopped_model_from_a_checkpoint(tailor: Run, runtime: Runtime, token: str) -> None:
    empty = add_model(runtime, token, None, status="Stopped")
    r = tailor("model", "complete", str(empty))
    assert r.rc == 1 and "stopped before it saved a checkpoint" in r.stderr
    mid = add_model(runtime, token, None, status="Stopped")
    add_checkpoints(runtime, mid, {100: b"first", 200: b"second"})
    r = tailor("model", "complete", str(mid), "--checkpoint", "100")
    assert r.rc == 0, r.stderr
    assert f"Model {mid}: Completed, serving checkpoint 100" in r.stdout
