"""Lifecycle, escalation steps, grouping, silences and recipient selection (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.alerts import escalation, grouping
from backend.alerts.levels import Level
from backend.alerts.lifecycle import Action, State, TransitionError, transition
from backend.alerts.silences import Target, Window, covers
from backend.notifications.recipients import Recipient, select

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def test_the_lifecycle_allows_ack_escalate_resolve_and_refuses_after_closing():
    assert transition(State.open, Action.acknowledge).to_state is State.acknowledged
    assert transition(State.acknowledged, Action.escalate, text="需市领导协调").to_state is State.escalated
    assert transition(State.escalated, Action.acknowledge).to_state is State.escalated
    assert transition(State.escalated, Action.resolve, text="已复产").to_state is State.resolved
    assert transition(State.open, Action.close_false_alarm, text="表计故障").to_state is State.false_alarm
    with pytest.raises(TransitionError):
        transition(State.resolved, Action.acknowledge)
    with pytest.raises(TransitionError):
        transition(State.open, Action.resolve, text="")  # countermeasures are required
    with pytest.raises(TransitionError):
        transition(State.acknowledged, Action.acknowledge, already_acknowledged=True)
    assert transition(State.resolved, Action.comment, text="补充说明").to_state is State.resolved


def test_escalation_steps_fire_once_when_due_and_respect_their_condition():
    pol = escalation.default_policies()[Level.yellow]
    assert [k for k, _ in escalation.due_steps(pol, T0, T0, acknowledged=False, resolved=False, done=())] == ["yellow:0"]
    due = escalation.due_steps(pol, T0, T0 + timedelta(minutes=30), acknowledged=False, resolved=False,
                               done={"yellow:0"})
    assert [(k, s.targets, s.escalate) for k, s in due] == [("yellow:1", ("section_chief",), True)]
    assert escalation.due_steps(pol, T0, T0 + timedelta(hours=5), acknowledged=True, resolved=False,
                                done={"yellow:0"}) == []
    red = escalation.default_policies(city_after_hours=2)[Level.red]
    due = escalation.due_steps(red, T0, T0 + timedelta(hours=2), acknowledged=True, resolved=False, done={"red:0"})
    assert [s.targets for _, s in due] == [("city_leader",)]
    assert escalation.due_steps(red, T0, T0 + timedelta(hours=9), acknowledged=True, resolved=True, done=()) == []


def test_a_delay_beyond_the_calendar_means_never_instead_of_crashing_the_job():
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    huge = escalation.Policy(Level.yellow, (escalation.Step(1e12, "always", ("duty_officer",)),),
                             resolve_within_hours=1e15)
    assert escalation.due_steps(huge, t0, t0 + timedelta(days=3650), acknowledged=False, resolved=False,
                                done=()) == []
    assert huge.due_at(t0).year == 9999


def test_a_step_with_an_unknown_target_is_refused():
    with pytest.raises(ValueError):
        escalation.Step(0, "always", ("mayor",))


def test_grouping_needs_enough_enterprises_starting_together():
    m = [grouping.Member(i, 7, "power.consumption", T0 + timedelta(minutes=10 * i)) for i in range(1, 4)]
    late = grouping.Member(9, 7, "power.consumption", T0 + timedelta(hours=8))
    other_park = grouping.Member(10, 8, "power.consumption", T0)
    plan = grouping.plan([*m, late, other_park], [])
    assert plan == [grouping.Decision(7, "power.consumption", (1, 2, 3))]
    assert grouping.plan(m[:2], []) == []
    joined = grouping.plan([late, m[0]], [grouping.ExistingGroup(50, 7, "power.consumption", T0)])
    assert joined == [grouping.Decision(7, "power.consumption", (1,), 50)]


def test_a_silence_covers_what_it_names_for_its_time_only():
    t = Target("power.consumption", "enterprise", 5, district_id=2, park_id=3)
    park = Window(1, "silence", T0, T0 + timedelta(hours=2), entity_kind="park", entity_id=3)
    assert covers(park, t, T0 + timedelta(hours=1))
    assert not covers(park, t, T0 + timedelta(hours=2))
    assert not covers(Window(2, "silence", T0, T0 + timedelta(hours=2), indicator_code="coal.raw_output"), t, T0)
    assert covers(Window(3, "silence", T0, T0 + timedelta(hours=2), district_id=2), t, T0)
    assert not covers(Window(4, "silence", T0, T0 + timedelta(hours=2), district_id=2, cancelled=True), t, T0)


def _r(uid: int, role: str, position: str | None, district: int | None = None, min_level: str = "blue"):
    return Recipient(uid, f"u{uid}", f"u{uid}", role, district, f"u{uid}@x", "zh", position, min_level, False)


def test_recipients_are_chosen_by_position_district_and_level():
    people = [_r(1, "duty_officer", None), _r(2, "duty_officer", "duty_officer", district=9),
              _r(3, "leader", "bureau_leader"), _r(4, "leader", "bureau_leader", min_level="red"),
              _r(5, "leader", "section_chief")]
    assert [r.user_id for r in select(people, ["duty_officer"], 1, Level.orange)] == [1]
    assert [r.user_id for r in select(people, ["duty_officer"], 9, Level.orange)] == [1, 2]
    assert [r.user_id for r in select(people, ["bureau_leader"], 1, Level.orange)] == [3]
    assert [r.user_id for r in select(people, ["bureau_leader"], 1, Level.red)] == [3, 4]
