"""Code versions follow imports: editing a module changes exactly the keys of what imports it."""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

import pytest

import shaping.engine.sources as sources
from shaping.engine.sources import PROJECT_PACKAGES, PROJECT_ROOT, SourceIndex
from shaping.tournament.plan import build_plan, match_code_version
from shaping.tournament.profile import load_profile


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def toy_project(tmp_path) -> Path:
    """algos.a imports core.x at the top; algos.b imports core.sub.deep inside a function,
    and deep imports core.y relatively; core.unused is imported by nobody."""
    files = {
        "algos/__init__.py": "",
        "algos/a.py": "import torch\nfrom core import x\n",
        "algos/b.py": "def lazy():\n    from core.sub.deep import thing\n    return thing\n",
        "core/__init__.py": "",
        "core/x.py": "X = 1\n",
        "core/y.py": "Y = 2\n",
        "core/unused.py": "U = 3\n",
        "core/sub/__init__.py": "",
        "core/sub/deep.py": "from ..y import Y as thing\n\ndef wrapped():\n    import axelrod\n",
    }
    for relative, text in files.items():
        write(tmp_path, relative, text)
    return tmp_path


def version(root: Path, module: str) -> str:
    return SourceIndex(root, ("algos", "core")).version([module])


def test_the_closure_follows_top_level_lazy_relative_and_package_imports(toy_project):
    index = SourceIndex(toy_project, ("algos", "core"))
    assert index.closure(["algos.a"]) == {"algos", "algos.a", "core", "core.x"}
    assert index.closure(["algos.b"]) == {
        "algos",
        "algos.b",
        "core",
        "core.sub",
        "core.sub.deep",
        "core.y",
    }
    assert index.libraries(index.closure(["algos.b"])) == {"axelrod"}
    assert index.libraries(index.closure(["algos.a"])) == {"torch"}


@pytest.mark.parametrize(
    ("edited", "changes_a", "changes_b"),
    [
        ("core/unused.py", False, False),
        ("core/x.py", True, False),
        ("core/sub/deep.py", False, True),  # a subfolder, imported inside a function
        ("core/y.py", False, True),  # transitively, by a relative import
        ("core/sub/__init__.py", False, True),  # a package's init runs on import
        ("core/__init__.py", True, True),
    ],
)
def test_editing_a_module_changes_the_versions_of_exactly_its_importers(
    toy_project, edited, changes_a, changes_b
):
    before = {m: version(toy_project, m) for m in ("algos.a", "algos.b")}
    (toy_project / edited).write_text((toy_project / edited).read_text() + "# edited\n")
    after = {m: version(toy_project, m) for m in ("algos.a", "algos.b")}
    assert (after["algos.a"] != before["algos.a"]) == changes_a
    assert (after["algos.b"] != before["algos.b"]) == changes_b


def test_moving_a_module_changes_the_version_instead_of_dropping_it(toy_project):
    before = version(toy_project, "algos.a")
    (toy_project / "core" / "x.py").rename(toy_project / "core" / "sub" / "x.py")
    write(toy_project, "algos/a.py", "import torch\nfrom core.sub import x\n")
    write(toy_project, "core/x.py", "")
    assert version(toy_project, "algos.a") != before


def test_an_import_of_a_missing_project_module_is_an_error_not_a_smaller_key(toy_project):
    write(toy_project, "algos/a.py", "from core.gone import nothing\n")
    index = SourceIndex(toy_project, ("algos", "core"))
    with pytest.raises(ValueError, match=r"algos\.a imports 'core\.gone', which is not a module"):
        index.closure(["algos.a"])
    with pytest.raises(ValueError, match="not a module of the project"):
        index.closure(["core.gone"])


def test_library_versions_of_imported_libraries_enter_the_version(toy_project, monkeypatch):
    before = {m: version(toy_project, m) for m in ("algos.a", "algos.b")}
    real = metadata.version
    monkeypatch.setattr(
        metadata, "version", lambda name: "0.0.1" if name == "axelrod" else real(name)
    )
    assert version(toy_project, "algos.a") == before["algos.a"]
    assert version(toy_project, "algos.b") != before["algos.b"]
    assert "torch==" in sources.library_versions() and "numpy==" in sources.library_versions()
    assert sources.library_versions(["no_such_library"]).count("no_such_library==absent") == 1


@pytest.fixture
def project_copy(tmp_path, monkeypatch):
    """A copy of this checkout's packages that code versions are read from; `reread()` after
    an edit (an index reads each file once)."""
    for package in PROJECT_PACKAGES:
        shutil.copytree(
            PROJECT_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    index = {"current": SourceIndex(tmp_path)}
    monkeypatch.setattr(sources, "project_index", lambda: index["current"])

    def reread() -> None:
        index["current"] = SourceIndex(tmp_path)

    return tmp_path, reread


#: "axelrod" is the provider of every axelrod:<strategy> entrant (one module for them all)
ENTRANTS = ("naive", "lola", "ppi", "axelrod", "mfos")


def match_versions(registry) -> dict[tuple[str, str, str], str]:
    """The code version of every match the plan would build between ENTRANTS."""
    entries = {**registry.algorithms, **registry.providers}
    modules = {name: entries[name].cls.__module__ for name in ENTRANTS}
    return {
        (game, a, b): match_code_version(modules[a], modules[b], registry.game(game).cls.__module__)
        for game in ("ipd", "coin_game")
        for a in ENTRANTS
        for b in ENTRANTS
    }


def test_the_plan_keys_matches_by_their_match_code_version(registry):
    plan = build_plan(
        registry,
        load_profile("quick", registry),
        games=["ipd"],
        algorithms=["naive", "ppi"],
        league=False,  # league matches are keyed by shaping.league.plan.seat_code
    )
    versions = match_versions(registry)
    for spec in plan.matches:
        assert spec.code == versions["ipd", spec.players[0].name, spec.players[1].name]


@pytest.mark.parametrize(
    ("edited", "importers"),
    [
        ("shaping/families/sequence_model.py", {"ppi"}),
        ("shaping/interop/axelrod.py", {"axelrod"}),
        ("shaping/families/metarl.py", {"mfos"}),
        ("games/coin_game.py", {"<coin_game>"}),
        ("shaping/engine/match.py", {"<every match>"}),
        ("shaping/tournament/report.py", set()),
        ("shaping/cli.py", set()),
    ],
)
def test_the_real_entrants_keys_follow_their_imports(registry, project_copy, edited, importers):
    root, reread = project_copy
    before = match_versions(registry)
    path = root / edited
    path.write_text(path.read_text() + "\n# edited\n")
    reread()
    after = match_versions(registry)
    changed = {cell for cell in before if after[cell] != before[cell]}
    expected = {
        cell
        for cell in before
        if "<every match>" in importers
        or ("<coin_game>" in importers and cell[0] == "coin_game")
        or importers & set(cell[1:])
    }
    assert changed == expected
    assert changed or not importers


def test_an_algorithm_outside_the_project_enters_with_its_own_file(toy_project, monkeypatch):
    """A user's own package (or a test module) registered through zoo_configs: its file is
    hashed and the project modules it imports are followed."""
    write(toy_project, "outside/mine.py", "from core import x\n")
    monkeypatch.syspath_prepend(str(toy_project / "outside"))
    index = SourceIndex(toy_project, ("algos", "core"))
    assert index.closure(["mine"]) == {"mine", "core", "core.x"}
    before = index.version(["mine"])
    write(toy_project, "outside/mine.py", "from core import x\n# edited\n")
    assert SourceIndex(toy_project, ("algos", "core")).version(["mine"]) != before
