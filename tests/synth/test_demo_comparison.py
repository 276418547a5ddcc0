"""docs/demo-data.md shows the paper's numbers beside the demo's, as the generator computes them
(never typed by hand)."""

from __future__ import annotations

from pathlib import Path

from ruxtrack.synth.compare_demo import BEGIN, END, comparison_markdown

PAGE = Path(__file__).resolve().parents[2] / "docs" / "demo-data.md"


def test_demo_data_page_holds_the_generated_comparison() -> None:
    text = PAGE.read_text(encoding="utf-8")
    block = BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0] + END
    assert block == comparison_markdown(), "run: python -m ruxtrack.synth.compare_demo"


def test_comparison_names_the_table1_rows_the_paper_prints() -> None:
    block = comparison_markdown()
    assert "| SpO2/FiO2 at admission, median (range) | 240 (80–300) |" in block
    assert "| Mean arterial pressure, mm Hg, at admission, median (range) | 62 (45–90) |" in block
    assert "| Resolution of hyperinflammation (study definition) | 10 of 18 (56%) |" in block
