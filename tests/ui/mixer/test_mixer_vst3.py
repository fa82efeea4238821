"""VST3 plugins: the folders searched, the bundles listed (loading is the engine's
business), choosing one adds an effect with its path, and the engine's message
about a plugin it could not load is shown on that effect."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mixer_support import fake_bundle, make_mix
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot
from ui_support import when_dialog_opens

from strumspace_desktop.ui.mixer.vst3_dialog import Vst3Dialog
from strumspace_desktop.ui.mixer.vst3_folders import (
    bundle_of,
    find_vst3_plugins,
    vst3_folders,
)


def test_the_folders_searched(tmp_path: Path) -> None:
    extra = f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}"
    linux = vst3_folders({"VST3_PATH": extra}, home=tmp_path / "home", platform="linux")
    assert linux == [tmp_path / "a", tmp_path / "b", tmp_path / "home" / ".vst3",
                     Path("/usr/lib/vst3"), Path("/usr/local/lib/vst3")]
    assert vst3_folders({}, home=tmp_path, platform="linux")[0] == tmp_path / ".vst3"
    mac = vst3_folders({}, home=tmp_path, platform="darwin")
    assert Path("/Library/Audio/Plug-Ins/VST3") in mac


def test_bundles_are_listed_without_loading_them(tmp_path: Path) -> None:
    home_vst3 = tmp_path / ".vst3"
    home_vst3.mkdir()
    echo = fake_bundle(home_vst3, "Echo")
    vendor = home_vst3 / "Vendor"
    vendor.mkdir()
    comp = fake_bundle(vendor, "Comp")  # vendors keep theirs in a subfolder
    (home_vst3 / "readme.txt").write_text("not a plugin")
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "Echo.vst3").symlink_to(echo)  # the same bundle twice
    found = find_vst3_plugins([home_vst3, tmp_path / "linked", tmp_path / "missing"])
    assert [(p.name, p.path) for p in found] == [("Comp", comp), ("Echo", echo)]
    assert bundle_of(echo / "Contents" / "x86_64-linux" / "Echo.so") == echo
    assert bundle_of(home_vst3 / "readme.txt") is None


def test_the_dialog_lists_vst3_path_and_adds_the_chosen_plugin(
        qtbot: QtBot, qapp: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = fake_bundle(tmp_path, "StrumSpaceTestVerb")
    monkeypatch.setenv("VST3_PATH", str(tmp_path))
    mix = make_mix(qtbot, qapp)
    section = mix.strip(mix.piano).effects

    def pick(dialog: Vst3Dialog) -> None:
        names = [dialog.list.item(i).text() for i in range(dialog.list.count())]
        dialog.list.setCurrentRow(names.index("StrumSpaceTestVerb"))
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    when_dialog_opens(Vst3Dialog, pick)
    section.vst3_action.trigger()
    (effect,) = mix.doc.effects(mix.piano)
    assert (effect.type, effect.plugin) == ("vst3", str(bundle))
    assert section.list.item(0).text() == "StrumSpaceTestVerb"
    assert mix.doc.undo_depth == 1


def test_browsing_takes_the_bundle_around_the_chosen_file(qtbot: QtBot, qapp: object,
                                                         tmp_path: Path) -> None:
    bundle = fake_bundle(tmp_path / "elsewhere", "Odd")  # not in any folder searched
    dialog = Vst3Dialog(folders=[tmp_path / "empty"])
    qtbot.addWidget(dialog)
    assert dialog.list.count() == 0
    assert "No VST3 plugins" in dialog.info.text()
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    assert not dialog.choose_path(notes)
    assert "not a VST3 plugin" in dialog.problem.text()
    assert dialog.choose_path(bundle / "Contents" / "x86_64-linux" / "Odd.so")
    assert dialog.chosen == bundle
    assert dialog.result() == Vst3Dialog.DialogCode.Accepted


def test_the_engines_message_marks_the_effect(qtbot: QtBot, qapp: object,
                                              tmp_path: Path) -> None:
    bundle = fake_bundle(tmp_path, "Broken")
    mix = make_mix(qtbot, qapp)
    effect_id = mix.doc.add_effect(mix.vocals, "vst3", plugin=str(bundle))
    section = mix.strip(mix.vocals).effects
    message = ("The plugin Broken.vst3 could not be loaded (not a VST3 binary); "
               "it was skipped.")
    mix.panel.show_engine_messages([message, "Audio file drums.wav is missing."])
    assert message in section.list.item(0).toolTip()
    assert not section.list.item(0).icon().isNull()
    editor = mix.panel.open_editor(mix.vocals, effect_id)
    assert editor is not None
    assert editor.error_label.text() == message
    assert editor.plugin_label.text() == str(bundle)
    # A message about something else is shown on the panel.
    assert mix.panel.problem_label.text() == "Audio file drums.wav is missing."
