import json

from emofuse.cli import main


def test_plugins_json_says_who_provides_what(fake_components, capsys):
    assert main(["plugins", "--json"]) == 0
    plugins = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert plugins["haar"]["builtin"] and plugins["haar"]["provides"] == {"face_detector": ["haar"]}
    assert plugins["fusion_strategies"]["provides"]["fusion"] == ["evidence", "max-confidence", "product", "weighted"]
    assert plugins["fakes"]["builtin"] is False
    assert plugins["fakes"]["provides"]["exporter"] == ["labels"]


def test_plugins_table(fake_components, capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "haar" in out and "built-in" in out and "fusion: face-first" in out


def test_list_one_kind_and_unknown_kind(fake_components, capsys):
    assert main(["list", "fusion"]) == 0
    out = capsys.readouterr().out
    assert "weighted" in out and "face-first" in out and "haar" not in out
    assert main(["list", "speakers"]) == 1
    assert "unknown kind 'speakers'" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "emofuse analyze movie.mp4" in capsys.readouterr().out


def test_plugins_and_list_name_kinds_as_users_type_them(fake_components, capsys, monkeypatch):
    from emofuse.cli.list_cmd import KIND_NAMES

    monkeypatch.setenv("COLUMNS", "200")
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "media-source: audio-file" in out and "face-detector: center" in out
    assert "media_source:" not in out and "face_detector:" not in out
    assert main(["list"]) == 0
    titles = [line.split("(")[-1].rstrip(") ") for line in capsys.readouterr().out.splitlines()
              if line.rstrip().endswith(")") and not line.startswith(("│", "┃"))]
    assert sorted(titles) == sorted(KIND_NAMES)
    for name in KIND_NAMES:  # each name shown is one `emofuse list` takes
        assert main(["list", name]) == 0, name
        assert f"({name})" in capsys.readouterr().out
