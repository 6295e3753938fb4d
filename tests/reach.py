"""Proof that a property test's examples reached the code it means to test.

A Hypothesis test passes just as well when its examples stop short of the code under
test (a session left over from an earlier example, a limit, an early redirect): it
then tests nothing, hundreds of times. So every Hypothesis test in this suite takes
the ``reach`` fixture, reports each example's kind and whether it got through
(``reach.record``, which also feeds ``hypothesis.event`` for ``--hypothesis-show-statistics``),
and declares with ``@pytest.mark.reaches(target, floors)`` what share of each kind must
get through. ``tests/conftest.py`` fails a Hypothesis test that does not take the
fixture, that declares no floor, or that falls short of one.

The fixture is function-scoped and outlives each example on purpose (it counts them
all), so such tests suppress Hypothesis's ``function_scoped_fixture`` health check.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from hypothesis import event

# Fewer examples of a kind than this, and its share says nothing: that fails too.
MIN_EXAMPLES = 20
ANY = "any"  # a floor on all examples together


class Reach:
    def __init__(self, target: str, floors: Mapping[str, float]) -> None:
        self.target = target
        self.floors = dict(floors)
        self.tried: Counter[str] = Counter()
        self.reached: Counter[str] = Counter()

    def record(self, kind: str, *, reached: bool) -> None:
        """One example: its kind, and whether it reached the target."""
        self.tried[kind] += 1
        self.reached[kind] += int(reached)
        event(f"{kind}: {'reached' if reached else 'did not reach'} {self.target}")

    def shortfalls(self) -> list[str]:
        """Each floor not met, in words; empty when all are."""
        if not self.floors:
            return ["no floor declared: @pytest.mark.reaches(target, {kind: share})"]
        problems = []
        for kind, floor in self.floors.items():
            tried = self.tried.total() if kind == ANY else self.tried[kind]
            reached = self.reached.total() if kind == ANY else self.reached[kind]
            if tried < MIN_EXAMPLES:
                problems.append(f"only {tried} {kind!r} examples ran (at least {MIN_EXAMPLES})")
            elif reached < floor * tried:
                problems.append(
                    f"{reached} of {tried} {kind!r} examples reached {self.target}"
                    f" (at least {floor:.0%} must)"
                )
        return problems

    def summary(self) -> str:
        kinds = sorted(self.tried)
        return ", ".join(f"{kind}: {self.reached[kind]}/{self.tried[kind]}" for kind in kinds)
