"""The audit chain's hash and verification, as pure functions."""

from __future__ import annotations

from charter.domain.audit import GENESIS_HASH, event_hash, verify_chain


def chain(n: int) -> list[tuple]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        fields = dict(
            seq=seq,
            at=f"2026-11-24T00:00:{seq:02d}.000000Z",
            actor="ann",
            action="x.y",
            entity_type="system",
            entity_id=f"s{seq}",
            payload=f'{{"n":{seq}}}',
            prev_hash=prev,
        )
        digest = event_hash(**fields)
        rows.append((*fields.values(), digest))
        prev = digest
    return rows


def test_intact_chain_verifies() -> None:
    rows = chain(5)
    report = verify_chain(rows)
    assert report.ok
    assert (report.events, report.head_seq, report.head_hash) == (5, 5, rows[-1][-1])
    assert verify_chain([]).ok


def test_every_field_is_covered_by_the_hash() -> None:
    rows = chain(3)
    for index in range(7):  # seq .. payload (prev_hash and hash are checked separately)
        if index == 0:
            continue
        tampered = list(rows)
        row = list(tampered[1])
        row[index] = row[index] + "!" if isinstance(row[index], str) else row[index]
        tampered[1] = tuple(row)
        report = verify_chain(tampered)
        assert not report.ok
        assert report.broken_seq == 2


def test_deleted_inserted_and_reordered_rows_are_found() -> None:
    rows = chain(5)
    assert verify_chain(rows[:2] + rows[3:]).reason.startswith("sequence jumps")
    swapped = [rows[0], rows[2], rows[1], rows[3]]
    assert verify_chain(swapped).broken_seq == 3
    # A row inserted and the rest renumbered: its successor's prev_hash no longer matches.
    forged = list(rows[1])
    forged[5] = "forged"
    renumbered = [rows[0], tuple(forged)] + [(r[0] + 1, *r[1:]) for r in rows[1:]]
    report = verify_chain(renumbered)
    assert not report.ok
    assert report.broken_seq == 2


def test_anchor_catches_a_rewritten_or_truncated_chain() -> None:
    rows = chain(4)
    assert verify_chain(rows, anchor=(3, rows[2][-1])).ok
    assert "rewritten" in verify_chain(rows, anchor=(3, "f" * 64)).reason
    assert "truncated" in verify_chain(rows[:2], anchor=(3, rows[2][-1])).reason


def _in_pieces(rows, bounds, anchors=None):
    from charter.domain.audit import join_segments, verify_segment

    segments, start = [], 1
    for index, (lo, hi) in enumerate(bounds):
        part = [
            r
            for r in rows
            if (index == 0 or r[0] >= lo) and (index == len(bounds) - 1 or r[0] <= hi)
        ]
        segments.append(
            verify_segment(part, start_seq=start if index == 0 else lo, anchors=anchors)
        )
        start = hi + 1
    return join_segments(segments, anchors=anchors)


def test_a_chain_checked_in_pieces_reports_what_one_pass_reports() -> None:
    rows = chain(12)
    swapped = list(rows)
    swapped[4], swapped[5] = swapped[5], swapped[4]
    edited = list(rows)
    edited[7] = (*edited[7][:6], '{"n":0}', *edited[7][7:])
    variants = {
        "intact": rows,
        "deleted at a boundary": rows[:3] + rows[4:],
        "deleted before a boundary": rows[:2] + rows[3:],
        "two deleted across a boundary": rows[:2] + rows[4:],
        "a whole piece deleted": rows[:3] + rows[6:],
        "swapped": swapped,
        "edited": edited,
        "tail deleted": rows[:9],
    }
    anchors = {12: rows[-1][-1]}
    for name, variant in variants.items():
        for bounds in ([(1, 3), (4, 6), (7, 9), (10, 12)], [(1, 6), (7, 12)], [(1, 1), (2, 12)]):
            for anchored in (None, anchors):
                one = verify_chain(variant, anchors=anchored)
                pieces = _in_pieces(variant, bounds, anchored)
                assert (pieces.ok, pieces.events, pieces.head_seq, pieces.head_hash) == (
                    one.ok,
                    one.events,
                    one.head_seq,
                    one.head_hash,
                ), (name, bounds)
                assert (pieces.broken_seq, pieces.reason) == (one.broken_seq, one.reason), (
                    name,
                    bounds,
                )
