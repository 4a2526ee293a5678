"""memo.pptx: a 16:9 deck whose every shape lies on the slide and whose text fits its boxes."""

from __future__ import annotations

from documents_fixture import documented_run
from pptx import Presentation
from pptx.util import Emu

from capsim.report.deck import fits, shape_inside
from capsim.report.suite import SUITE


def _deck() -> Presentation:
    return Presentation(str(documented_run() / "memo.pptx"))


def _texts(slide: object) -> list[str]:
    return [s.text_frame.text for s in slide.shapes if s.has_text_frame and s.text_frame.text]  # type: ignore[attr-defined]


def test_deck_is_16_9_and_every_shape_lies_within_its_slide() -> None:
    deck = _deck()
    assert abs(deck.slide_width / deck.slide_height - 16 / 9) < 0.01
    for number, slide in enumerate(deck.slides, start=1):
        for shape in slide.shapes:
            assert shape_inside(shape, deck.slide_width, deck.slide_height), (number, shape.name)


def test_every_text_box_holds_its_text_at_its_font_size() -> None:
    deck = _deck()
    checked = 0
    for slide in deck.slides:
        for shape in slide.shapes:
            if not shape.has_text_frame or not shape.text_frame.text:
                continue
            fonts = [p.font for p in shape.text_frame.paragraphs if p.font.size]
            assert fonts, shape.name
            width_in, height_in = Emu(shape.width).inches, Emu(shape.height).inches
            size, bold = fonts[0].size.pt, bool(fonts[0].bold)
            assert fits(shape.text_frame.text, width_in, height_in, size, bold), (
                shape.text_frame.text
            )
            checked += 1
    assert checked > len(SUITE) * 2


def test_slides_in_order_with_a_native_kpi_table_and_one_slide_per_chart() -> None:
    slides = list(_deck().slides)
    assert "Sydney programme outlook" in _texts(slides[0])
    assert "Executive summary" in _texts(slides[1])
    assert "Headline KPIs" in _texts(slides[2])
    assert any(shape.has_table for shape in slides[2].shapes)
    assert not any(shape.shape_type == 13 for shape in slides[2].shapes)  # no picture
    titles = [texts[0] for texts in (_texts(s) for s in slides) if texts]
    for spec in SUITE:
        assert titles.count(spec.title) == 1
    assert any(t.startswith("Assumptions and their sources") for t in titles)
    assert titles[-1] == "Method and limitations"


def test_chart_pictures_are_300_dpi_at_their_shown_size() -> None:
    for slide in _deck().slides:
        for shape in slide.shapes:
            if shape.shape_type == 13:
                pixels_w, _ = shape.image.size
                dpi = pixels_w / Emu(shape.width).inches
                assert abs(dpi - 300) < 2
