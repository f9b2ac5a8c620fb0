"""seqgan._optional.require: a missing optional package names the extra that installs it."""

from __future__ import annotations

import sys

import pytest

from seqgan._optional import MissingExtraError, require


def test_require_returns_the_module() -> None:
    import json

    assert require("json", "frames") is json


@pytest.mark.parametrize(
    ("module", "blocked", "message"),
    [
        ("ale_py", "ale_py", "ale-py is not installed: pip install 'seqgan[frames]'"),
        ("ale_py.roms", "ale_py", "ale-py is not installed: pip install 'seqgan[frames]'"),
        ("sklearn.datasets", "sklearn", "scikit-learn is not installed: pip install 'seqgan[frames]'"),
        ("speechmos", "speechmos", "speechmos is not installed: pip install 'seqgan[dnsmos]'"),
    ],
)
def test_missing_module_names_the_distribution_and_the_extra(monkeypatch, module, blocked, message) -> None:
    extra = "dnsmos" if module == "speechmos" else "frames"
    for name in [n for n in sys.modules if n == blocked or n.startswith(blocked + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, blocked, None)  # import of `blocked` fails as if not installed
    with pytest.raises(MissingExtraError) as e:
        require(module, extra)
    assert str(e.value) == message
    assert isinstance(e.value, ImportError)  # callers that catch ImportError still do


def test_a_broken_dependency_of_an_installed_package_is_not_masked(monkeypatch) -> None:
    # a package that is installed but fails on one of its own imports: that error passes through as it is
    def broken_import(name, *args, **kwargs):
        raise ModuleNotFoundError("No module named 'seqgan_fake_dep'", name="seqgan_fake_dep")

    monkeypatch.setattr("importlib.import_module", broken_import)
    with pytest.raises(ModuleNotFoundError) as e:
        require("seqgan_fake_pkg.sub", "frames")
    assert not isinstance(e.value, MissingExtraError) and e.value.name == "seqgan_fake_dep"


def test_frame_corpora_say_which_extra_is_missing(monkeypatch) -> None:
    from seqgan.data.synth import atari, digits

    monkeypatch.setitem(sys.modules, "ale_py", None)
    monkeypatch.setitem(sys.modules, "ale_py.roms", None)
    with pytest.raises(MissingExtraError, match=r"ale-py is not installed: pip install 'seqgan\[frames\]'"):
        atari.available_games()
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(MissingExtraError, match=r"scikit-learn is not installed: .*seqgan\[frames\]"):
        digits.sklearn_digits(16)


def test_the_cli_prints_one_line_naming_the_extra(monkeypatch, tmp_path, capsys) -> None:
    from seqgan.cli import main

    monkeypatch.setitem(sys.modules, "ale_py", None)
    monkeypatch.setitem(sys.modules, "ale_py.roms", None)
    code = main(["data", "atari", "--game", "Pong", "--num-episodes", "1", "--out", str(tmp_path / "data")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err[-1] == "seqgan data: ale-py is not installed: pip install 'seqgan[frames]'"
