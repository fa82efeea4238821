"""The generated Briefcase project parses with Briefcase's own parser and stays in
step with pyproject.toml (version, dependencies, descriptions, sources)."""

from __future__ import annotations

import fnmatch
import runpy
import shutil
import struct
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from briefcase.config import DraftAppConfig, GlobalConfig, parse_config
from briefcase.console import Console

from installer.briefcase_config import (
    REPO_ROOT,
    BriefcaseConfigError,
    merged_config,
    short_description,
    stage,
)

APP = "strumspace"
# What Briefcase's Linux system and Flatpak templates ask for.
LINUX_ICON_SIZES = (16, 32, 64, 128, 256, 512)


def _pyproject() -> dict[str, Any]:
    with (REPO_ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _briefcase_toml() -> dict[str, Any]:
    with (REPO_ROOT / "briefcase.toml").open("rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stage(staging_dir=tmp_path_factory.mktemp("briefcase")).pyproject


def _parse(pyproject: Path, platform: str, output_format: str) -> tuple[Any, Any]:
    global_config, apps = parse_config(
        pyproject, platform=platform, output_format=output_format, console=Console()
    )
    # The same construction Briefcase's commands do; it validates sources and bundle.
    return GlobalConfig(**global_config), DraftAppConfig(**apps[APP])


@pytest.mark.parametrize(
    ("platform", "output_format"),
    [("linux", "system"), ("linux", "flatpak"), ("macOS", "app"), ("windows", "app")],
)
def test_generated_config_parses_and_matches_pyproject(
    staged: Path, platform: str, output_format: str
) -> None:
    project = _pyproject()["project"]
    global_config, app = _parse(staged, platform, output_format)
    assert str(global_config.version) == project["version"]
    assert str(app.version) == project["version"]
    assert app.formal_name == "StrumSpace"
    assert app.bundle_identifier == "com.strumspace.strumspace"
    extra = _briefcase_toml()["app"][APP].get("requires", [])
    assert app.requires == project["dependencies"] + extra
    assert app.long_description == project["description"]
    assert len(app.description) <= 80
    assert project["description"].startswith(app.description)
    assert app.license == project["license"]
    assert app.license_files == ["LICENSE"]
    assert app.sources == _briefcase_toml()["app"][APP]["sources"]
    assert app.icon == "resources/icons/strumspace"


def test_sources_are_the_packages_pyproject_ships(staged: Path) -> None:
    pyproject = _pyproject()
    _, app = _parse(staged, "linux", "system")
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    package_sources = [s for s in app.sources if not s.startswith("installer/")]
    for source in package_sources:
        assert "/" not in source, "app sources are top-level packages"
        assert any(fnmatch.fnmatch(source, pattern) for pattern in include), source
    for source in app.sources:
        staged_path = staged.parent / source
        assert staged_path.resolve() == (REPO_ROOT / source).resolve()
        assert (staged_path / "__init__.py").is_file()
    # The package behind the `strumspace` console script is bundled.
    script_module = pyproject["project"]["scripts"]["strumspace"].split(":")[0]
    assert script_module.split(".")[0] in package_sources
    assert (REPO_ROOT / "strumspace_desktop" / "__main__.py").is_file()


def test_cleanup_leaves_candidates_out_of_the_bundle(staged: Path, tmp_path: Path) -> None:
    # Laid out as Briefcase's Linux system template copies the sources; the globs are
    # applied as CreateCommand.cleanup_app_content applies them.
    _, app = _parse(staged, "linux", "system")
    bundle = tmp_path / "bundle"
    chords = bundle / "strumspace-0.1" / "usr" / "lib" / "strumspace" / "app" / "models" / "chords"
    for rel in ("candidates/chords-crnn-x/chords.onnx", "artifacts/chords.onnx", "runtime.py"):
        (chords / rel).parent.mkdir(parents=True, exist_ok=True)
        (chords / rel).write_bytes(b"x")
    assert app.cleanup_paths
    for pattern in app.cleanup_paths:
        for path in bundle.glob(pattern.format(app=app)):
            shutil.rmtree(path)
    assert not (chords / "candidates").exists()
    assert (chords / "artifacts" / "chords.onnx").is_file() and (chords / "runtime.py").is_file()
    # and the folder it names is where the candidates are kept
    assert (REPO_ROOT / "models" / "chords" / "candidates").is_dir()


def test_launcher_runs_the_desktop_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    def record(name: str, **kwargs: Any) -> None:
        calls.append((name, kwargs))

    monkeypatch.setattr(runpy, "run_module", record)
    launcher = REPO_ROOT / "installer" / "briefcase_app" / APP / "__main__.py"
    runpy.run_path(str(launcher), run_name="__main__")
    assert calls == [("strumspace_desktop", {"run_name": "__main__", "alter_sys": True})]


def test_debian_system_packages(staged: Path) -> None:
    _, apps = parse_config(staged, platform="linux", output_format="system", console=Console())
    debian = apps[APP]["debian"]
    for package in ("libfluidsynth3", "libportaudio2", "jackd2", "fluid-soundfont-gm"):
        assert package in debian["system_runtime_requires"]
    assert "libxcb-cursor0" in debian["system_runtime_requires"]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_icons_exist_for_every_size() -> None:
    base = REPO_ROOT / "resources" / "icons"
    for size in LINUX_ICON_SIZES:
        assert _png_size(base / f"strumspace-{size}.png") == (size, size)
    assert (base / "strumspace.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"
    assert (base / "strumspace.icns").read_bytes()[:4] == b"icns"


def test_stage_is_repeatable(tmp_path: Path) -> None:
    first = stage(staging_dir=tmp_path)
    second = stage(staging_dir=tmp_path)
    assert first.pyproject.read_text() == second.pyproject.read_text()
    assert sorted(p.name for p in second.links) == sorted(p.name for p in first.links)
    assert all(link.is_symlink() for link in second.links)


def _fake_repo(root: Path, briefcase_toml: str, description: str = "A short app") -> Path:
    (root / "pyproject.toml").write_text(
        "[project]\n"
        'name = "strumspace"\nversion = "1.2.3"\n'
        f'description = "{description}"\n'
        'dependencies = ["mido"]\n',
        encoding="utf-8",
    )
    (root / "briefcase.toml").write_text(briefcase_toml, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    "toml",
    [
        'bundle = "x.y"\nversion = "9"\n[app.strumspace]\nsources = []\n',
        '[app.strumspace]\nversion = "9"\n',
        '[app.strumspace]\nlong_description = "x"\n',
        "[tool.briefcase.app.strumspace]\nsources = []\n",
        'bundle = "x.y"\n',
    ],
)
def test_generator_refuses_a_second_source_of_truth(tmp_path: Path, toml: str) -> None:
    with pytest.raises(BriefcaseConfigError):
        merged_config(_fake_repo(tmp_path, toml))


def test_missing_source_is_reported(tmp_path: Path) -> None:
    repo = _fake_repo(tmp_path, '[app.strumspace]\nsources = ["nowhere/strumspace"]\n')
    with pytest.raises(BriefcaseConfigError, match="nowhere"):
        stage(repo_root=repo, staging_dir=tmp_path / "out")


def test_dependencies_follow_pyproject(tmp_path: Path) -> None:
    repo = _fake_repo(tmp_path, '[app.strumspace]\nrequires = ["extra-pkg"]\n')
    config = merged_config(repo)
    assert config["project"]["version"] == "1.2.3"
    assert config["project"]["dependencies"] == ["mido"]
    assert config["tool"]["briefcase"]["description"] == "A short app"


@pytest.mark.parametrize(
    ("text", "short"),
    [
        ("A short app", "A short app"),
        (
            "StrumSpace: a desktop DAW for musicians, with on-device chord recognition, "
            "AI generation and jamming through a relay.",
            "StrumSpace: a desktop DAW for musicians",
        ),
        ("word " * 30, ("word " * 16).strip() + "…"),
        ("x" * 100, "x" * 79 + "…"),
    ],
)
def test_short_description(text: str, short: str) -> None:
    assert short_description(text) == short
    assert len(short_description(text)) <= 80


def test_runner_invokes_briefcase() -> None:
    # `-V` needs no network and no app build: it proves the runner, the staging
    # folder and the Briefcase install work together.
    result = subprocess.run(
        [sys.executable, "-m", "installer.briefcase", "-V"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    import briefcase

    assert briefcase.__version__ in result.stdout
    assert (REPO_ROOT / "build" / "briefcase" / "pyproject.toml").is_file()
