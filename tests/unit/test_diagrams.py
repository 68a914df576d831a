"""The README's workflow diagrams are the ones their ASL gives (`make diagrams` redraws them)."""

from pathlib import Path

import pytest

from scripts import diagrams

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_diagrams_are_those_of_the_current_asl() -> None:
    embedded = diagrams.embedded((ROOT / "README.md").read_text(encoding="utf-8"))
    assert embedded is not None, "README.md lost its diagram markers"
    assert embedded == diagrams.section(), "README.md's workflow diagrams are stale: run `make diagrams`"
    for path in sorted((ROOT / "statemachines").glob("*.asl.json")):
        assert f"**{path.name}**" in embedded


def test_every_transition_is_drawn() -> None:
    definition = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.plan.settled", "BooleanEquals": True, "Next": "Work"}],
                "Default": "end",
            },
            "Work": {
                "Type": "Task",
                "Resource": "x",
                "Next": "Done",
                "Catch": [{"ErrorEquals": ["Boom"], "Next": "end"}],
            },
            "Done": {"Type": "Succeed"},
            "end": {"Type": "Fail"},
        },
    }
    chart = diagrams.flowchart(definition).splitlines()
    assert "  start((start)) --> s_Check" in chart
    assert '  s_Check -->|"plan.settled BooleanEquals true"| s_Work' in chart
    assert '  s_Check -->|"default"| s_end' in chart
    assert "  s_Work --> s_Done" in chart
    assert '  s_Work -.->|"Boom"| s_end' in chart
    assert '  s_Check{"Check"}' in chart
    assert '  s_end(("end"))' in chart
    assert "  class s_end failed" in chart


def test_a_stale_readme_fails_the_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "README.md"
    stale.write_text(f"intro\n{diagrams.START}\nold\n{diagrams.END}\n", encoding="utf-8")
    monkeypatch.setattr(diagrams, "README", stale)
    assert diagrams.main(["--check"]) == 1
    assert diagrams.main([]) == 0
    assert diagrams.main(["--check"]) == 0
    assert stale.read_text(encoding="utf-8").startswith("intro\n")
