from coextract.tagging import B, I, O, spans_to_tags, tags_to_spans


def test_single_and_multi_token_terms():
    # "the battery life is great"  -> battery life = tokens 1..2
    assert tags_to_spans([O, B, I, O, B]) == [(1, 3), (4, 5)]


def test_adjacent_b_tags_are_separate_terms():
    assert tags_to_spans([B, B, I, B]) == [(0, 1), (1, 3), (3, 4)]


def test_i_after_o_is_promoted_to_b():
    # The documented rule: an I that follows O (or opens the sentence) begins a term.
    assert tags_to_spans([I, I, O, I]) == [(0, 2), (3, 4)]


def test_term_running_to_the_end_and_empty_input():
    assert tags_to_spans([O, O, B, I, I]) == [(2, 5)]
    assert tags_to_spans([]) == []
    assert tags_to_spans([O, O]) == []


def test_spans_to_tags_round_trip():
    tags = [B, I, O, B, O, B, I, I]
    assert spans_to_tags(tags_to_spans(tags), len(tags)) == tags
