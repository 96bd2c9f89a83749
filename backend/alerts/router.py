"""Alerts API: alerts and their timeline, handling (acknowledge, escalate, resolve, close,
comment, assign), silences and maintenance windows, rules, escalation policies and
notification contacts. Mail is never sent here: handling writes the outbox, the worker sends."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from backend.alerts import levels, permissions, service
from backend.alerts import repository as repo
from backend.alerts.models import Alert, AlertEvent, Rule
from backend.alerts.permissions import AlertPermission
from backend.alerts.schemas import (
    AcknowledgeIn,
    AlertDetail,
    AlertOut,
    AssignIn,
    CloseIn,
    CommentIn,
    ContactIn,
    ContactOut,
    EscalateIn,
    EventOut,
    LevelName,
    NotificationOut,
    PointOut,
    PolicyIn,
    PolicyOut,
    ReportGapOut,
    ResolveIn,
    RuleIn,
    RuleOut,
    SilenceIn,
    SilenceOut,
    StateName,
    StepIO,
)
from backend.alerts.silences import Window
from backend.api import problems
from backend.api.deps import OriginDep, PrincipalDep, SessionDep
from backend.api.pagination import IdField, IdPath, Page, PageDep, sort_clauses
from backend.api.problems import Forbidden, InvalidRequest, NotFound
from backend.api.types import Instant
from backend.auth import repository as auth_repo
from backend.auth import scope
from backend.auth import service as auth_service
from backend.auth.rules import Principal, Role
from backend.notifications import repository as notifications_repo

router = APIRouter(prefix="/alerts", tags=["alerts"])

ALERT_SORT = {"id": Alert.id, "opened_at": Alert.opened_at, "level": Alert.level, "state": Alert.state,
              "due_at": Alert.due_at, "episode_started_at": Alert.episode_started_at}


def requires(permission: AlertPermission) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency admitting callers that hold `permission` (the same rule `GET /auth/me`
    reports, from `backend.alerts.permissions`)."""

    # async: a pure check, run on the event loop rather than in another thread.
    async def _check(principal: PrincipalDep) -> Principal:
        why = permissions.refusal(principal, permission)
        if why is not None:
            raise Forbidden(why)
        return principal

    return _check


Viewer = Annotated[Principal, Depends(requires(AlertPermission.read))]
Acknowledger = Annotated[Principal, Depends(requires(AlertPermission.acknowledge))]
Escalator = Annotated[Principal, Depends(requires(AlertPermission.escalate))]
Resolver = Annotated[Principal, Depends(requires(AlertPermission.resolve))]
Closer = Annotated[Principal, Depends(requires(AlertPermission.close))]
Assigner = Annotated[Principal, Depends(requires(AlertPermission.assign))]
Silencer = Annotated[Principal, Depends(requires(AlertPermission.silence))]
Commenter = Annotated[Principal, Depends(requires(AlertPermission.comment))]
RuleEditor = Annotated[Principal, Depends(requires(AlertPermission.manage_rules))]
PolicyEditor = Annotated[Principal, Depends(requires(AlertPermission.manage_policies))]
Admin = Annotated[Principal, Depends(requires(AlertPermission.manage_contacts))]


def _now() -> datetime:
    return datetime.now(UTC)


def _out(a: Alert, now: datetime, names: repo.AlertNames | None = None,
         windows: list[Window] | None = None) -> AlertOut:
    out = AlertOut.model_validate(a)
    if windows:
        out.silenced_until = service.silenced_until(windows, a, now)
    out.overdue = a.state in ("open", "acknowledged", "escalated") and a.due_at is not None and now > a.due_at
    n = names or repo.AlertNames()
    out.entity_name_zh, out.entity_name_en = n.entity(a.entity_kind)
    out.district_name_zh, out.district_name_en = n.district_zh, n.district_en
    out.park_name_zh, out.park_name_en = n.park_zh, n.park_en
    out.enterprise_name_zh, out.enterprise_name_en = n.enterprise_zh, n.enterprise_en
    return out


def _named(session: Session, a: Alert, now: datetime) -> AlertOut:
    return _out(a, now, repo.names_for(session, [a.id]).get(a.id), service.active_windows(session, now))


def _visible(session: Session, principal: Principal, alert_id: int) -> Alert:
    a = repo.get_alert(session, alert_id)
    if a is None or (principal.district_id is not None and a.district_id != principal.district_id):
        raise NotFound(f"alert {alert_id} does not exist or is outside your district")
    return a


def _actor(p: Principal) -> service.Actor:
    return service.Actor(p.user_id, p.actor)


# --- static paths first (they would otherwise be read as an alert id) -------------------------------
@router.get("/silences", response_model=list[SilenceOut], summary="Silences and maintenance windows",
            responses=problems.responses(401, 403))
def list_silences(_: Viewer, session: SessionDep,
                  include_past: Annotated[bool, Query(description="Also ended and cancelled ones.")] = False
                  ) -> list[SilenceOut]:
    """Current and future silences (mail suppressed) and maintenance windows (no alerts), with
    the name of the district, park or enterprise each one matches."""
    rows = repo.list_silences(session, include_past, _now())
    names = repo.entity_names(session, [(s.entity_kind, s.entity_id) for s in rows
                                        if s.entity_kind and s.entity_id is not None])
    return [_silence_out(s, names) for s in rows]


def _silence_out(s: Any, names: dict[tuple[str, int], tuple[str, str | None]]) -> SilenceOut:
    out = SilenceOut.model_validate(s)
    if s.entity_kind and s.entity_id is not None and (s.entity_kind, s.entity_id) in names:
        out.entity_name_zh, out.entity_name_en = names[(s.entity_kind, s.entity_id)]
    return out


@router.post("/silences", response_model=SilenceOut, status_code=201, summary="Create a silence",
             responses=problems.responses(401, 403, 404, 422))
def create_silence(body: SilenceIn, principal: Silencer, session: SessionDep, origin: OriginDep) -> SilenceOut:
    """Silence alerts matching every field given, from `starts_at` to `ends_at`, with a reason.
    A silence keeps alerts (and their timeline) but sends no mail; a maintenance window raises none."""
    if principal.district_id is not None and body.district_id != principal.district_id:
        raise Forbidden("a district officer may only silence alerts of their own district: set district_id")
    made_from = _visible(session, principal, body.alert_id) if body.alert_id is not None else None
    s = service.create_silence(session, kind=body.kind, starts_at=body.starts_at, ends_at=body.ends_at,
                               reason=body.reason, created_by=principal.user_id, indicator_code=body.indicator_code,
                               entity_kind=body.entity_kind, entity_id=body.entity_id, district_id=body.district_id,
                               park_id=body.park_id, everything=body.everything)
    if made_from is not None:
        from backend.config import get_settings

        service.note_silence_on(session, made_from, s, _actor(principal), _now(), get_settings().tz)
    auth_service.audit(session, principal, "alert_silence.create", "alert_silence", s.id,
                       body.model_dump(mode="json"), origin)
    return SilenceOut.model_validate(s)


@router.delete("/silences/{silence_id}", response_model=SilenceOut, summary="Cancel a silence",
               responses=problems.responses(401, 403, 404))
def cancel_silence(silence_id: IdPath, principal: Silencer, session: SessionDep, origin: OriginDep) -> SilenceOut:
    """End a silence or maintenance window now (it stays on record as cancelled)."""
    s = service.cancel_silence(session, silence_id, _now())
    auth_service.audit(session, principal, "alert_silence.cancel", "alert_silence", s.id, origin=origin)
    return SilenceOut.model_validate(s)


@router.get("/rules", response_model=list[RuleOut], summary="Alert rules", responses=problems.responses(401, 403))
def list_rules(_: Viewer, session: SessionDep) -> list[RuleOut]:
    """Threshold and target rules and importance weights per indicator (and optionally entity)."""
    return [RuleOut.model_validate(r) for r in repo.list_rules(session)]


@router.post("/rules", response_model=RuleOut, status_code=201, summary="Create a rule",
             responses=problems.responses(401, 403, 422))
def create_rule(body: RuleIn, principal: RuleEditor, session: SessionDep, origin: OriginDep) -> RuleOut:
    """Add a rule; it applies from the next evaluation on."""
    r = service.upsert_rule(session, None, user_id=principal.user_id, now=_now(), **body.model_dump())
    auth_service.audit(session, principal, "alert_rule.create", "alert_rule", r.id, body.model_dump(mode="json"),
                       origin)
    return RuleOut.model_validate(r)


@router.put("/rules/{rule_id}", response_model=RuleOut, summary="Replace a rule",
            responses=problems.responses(401, 403, 404, 422))
def update_rule(rule_id: IdPath, body: RuleIn, principal: RuleEditor, session: SessionDep,
                origin: OriginDep) -> RuleOut:
    r = service.upsert_rule(session, rule_id, user_id=principal.user_id, now=_now(), **body.model_dump())
    auth_service.audit(session, principal, "alert_rule.update", "alert_rule", r.id, body.model_dump(mode="json"),
                       origin)
    return RuleOut.model_validate(r)


@router.delete("/rules/{rule_id}", status_code=204, summary="Delete a rule",
               responses=problems.responses(401, 403, 404))
def delete_rule(rule_id: IdPath, principal: RuleEditor, session: SessionDep, origin: OriginDep) -> Response:
    if session.get(Rule, rule_id) is None:
        raise NotFound(f"rule {rule_id} does not exist")
    service.delete_rule(session, rule_id)
    auth_service.audit(session, principal, "alert_rule.delete", "alert_rule", rule_id, origin=origin)
    return Response(status_code=204)


def _policies_out(session: Session) -> list[PolicyOut]:
    configured = {p.level for p in repo.policies(session)}
    out = []
    for lvl, pol in sorted(service.effective_policies(session).items()):
        out.append(PolicyOut(level=lvl.name, configured=lvl.name in configured,  # type: ignore[arg-type]
                             resolve_within_hours=pol.resolve_within_hours,
                             steps=[StepIO.model_validate(s.to_json()) for s in pol.steps]))
    return out


@router.get("/escalation-policies", response_model=list[PolicyOut], summary="Escalation policies",
            responses=problems.responses(401, 403))
def list_policies(_: Viewer, session: SessionDep) -> list[PolicyOut]:
    """The policy in force for each level (configured, or the built-in default)."""
    return _policies_out(session)


@router.put("/escalation-policies/{level}", response_model=PolicyOut, summary="Set a level's policy",
            responses=problems.responses(401, 403, 422))
def put_policy(level: LevelName, body: PolicyIn, principal: PolicyEditor, session: SessionDep,
               origin: OriginDep) -> PolicyOut:
    """Replace the escalation steps of one level (e.g. yellow: duty officer at once, section chief
    after 30 minutes unacknowledged)."""
    service.set_policy(session, level, [s.model_dump() for s in body.steps], body.resolve_within_hours,
                       principal.user_id, _now())
    auth_service.audit(session, principal, "alert_policy.set", "alert_escalation_policy", level,
                       body.model_dump(mode="json"), origin)
    return next(p for p in _policies_out(session) if p.level == level)


@router.delete("/escalation-policies/{level}", response_model=PolicyOut, summary="Back to the default policy",
               responses=problems.responses(401, 403))
def reset_policy(level: LevelName, principal: PolicyEditor, session: SessionDep, origin: OriginDep) -> PolicyOut:
    service.reset_policy(session, level)
    auth_service.audit(session, principal, "alert_policy.reset", "alert_escalation_policy", level, origin=origin)
    return next(p for p in _policies_out(session) if p.level == level)


@router.get("/contacts/{user_id}", response_model=ContactOut, summary="A user's notification contact",
            responses=problems.responses(401, 403, 404))
def get_contact(user_id: IdPath, principal: PrincipalDep, session: SessionDep) -> ContactOut:
    """Where and how a user is told (admins, or the user themself)."""
    if principal.role != Role.admin and principal.user_id != user_id:
        raise Forbidden("only an admin or the user themself may see a contact")
    c = notifications_repo.get_contact(session, user_id)
    if c is None:
        raise NotFound(f"user {user_id} has no notification contact")
    return ContactOut(user_id=c.user_id, email=c.email, language=c.language,  # type: ignore[arg-type]
                      position=c.position, min_level=c.min_level, daily_digest=c.daily_digest,  # type: ignore[arg-type]
                      enabled=c.enabled)


@router.put("/contacts/{user_id}", response_model=ContactOut, summary="Set a user's notification contact",
            responses=problems.responses(401, 403, 404, 422))
def put_contact(user_id: IdPath, body: ContactIn, principal: Admin, session: SessionDep,
                origin: OriginDep) -> ContactOut:
    """E-mail, language (zh/en), position (who the escalation steps reach), lowest level, digest."""
    from backend.auth import repository as auth_repo

    if auth_repo.get_user(session, user_id) is None:
        raise NotFound(f"user {user_id} does not exist")
    notifications_repo.upsert_contact(session, {"user_id": user_id, **body.model_dump()})
    auth_service.audit(session, principal, "notification_contact.set", "app_user", user_id,
                       body.model_dump(mode="json"), origin)
    return ContactOut(user_id=user_id, **body.model_dump())


# --- alerts ----------------------------------------------------------------------------------------
@router.get("", response_model=Page[AlertOut], summary="Alerts", responses=problems.responses(401, 403, 404, 422))
def list_alerts(principal: Viewer, session: SessionDep, page: PageDep,
                level: Annotated[list[LevelName] | None, Query(description="Any of these colours.")] = None,
                state: Annotated[list[StateName] | None, Query(description="Any of these states.")] = None,
                district: Annotated[str | None, Query(description="District code, e.g. 150304.")] = None,
                park: Annotated[str | None, Query(description="Park code.")] = None,
                enterprise: Annotated[list[IdField] | None, Query(
                    description="Enterprise id (as in `GET /enterprises` and `GET /series`); repeat for any of "
                                "several. Outside your scope: 404.")] = None,
                indicator: Annotated[str | None, Query(description="Indicator code.")] = None,
                opened_from: Annotated[Instant | None, Query(description="Opened at or after.")] = None,
                opened_to: Annotated[Instant | None, Query(description="Opened before.")] = None,
                top_level: Annotated[bool, Query(description="Hide members of park groups.")] = False,
                sort: Annotated[str | None, Query(description=f"Fields: {', '.join(ALERT_SORT)}; "
                                                  "prefix - for descending.")] = None) -> Page[AlertOut]:
    """Alerts, newest first by default; a district officer sees their district only."""
    district_id = scope.district_by_code(session, principal, district).id if district else None
    park_id = scope.park_by_code(session, principal, park).id if park else None
    enterprise_ids = [scope.enterprise(session, principal, e).id for e in enterprise or ()]
    if opened_from and opened_to and opened_to <= opened_from:
        raise InvalidRequest("opened_to must be after opened_from")
    f = repo.AlertFilter(levels=level or (), states=state or (), district_id=district_id, park_id=park_id,
                         enterprise_ids=enterprise_ids, indicator_code=indicator, opened_from=opened_from, opened_to=opened_to,
                         top_level_only=top_level, scope_district_id=principal.district_id)
    rows, total = repo.list_alerts(session, f, sort_clauses(sort, ALERT_SORT, "-opened_at,-id"), page.limit,
                                   page.offset)
    now = _now()
    windows = service.active_windows(session, now)
    return Page[AlertOut](items=[_out(a, now, names, windows) for a, names in rows], total=total, limit=page.limit,
                          offset=page.offset)


@router.get("/{alert_id}", response_model=AlertDetail, summary="An alert with its timeline",
            responses=problems.responses(401, 403, 404))
def get_alert(alert_id: IdPath, principal: Viewer, session: SessionDep) -> AlertDetail:
    """The alert, its full timeline (who did what, when, why), its park-group members, the
    notifications written for it and the points of its chart (value, expected, band; for a
    missing-report alert, the last reports and the `report_gap`)."""
    a = _visible(session, principal, alert_id)
    now = _now()
    members = repo.members(session, a.id)
    names = repo.names_for(session, [a.id, *(m.id for m in members)])
    windows = service.active_windows(session, now)
    base = _out(a, now, names.get(a.id), windows)
    scored = repo.points(session, a.id)
    silence = None if a.is_group else service.silence_chart(session, a, now, len(scored))
    if silence is not None and silence.gap is not None:  # a silent meter: its last reports and the silence
        points = [PointOut(time=t, value=v, expected=None, lower=None, upper=None, severity=0.0)
                  for t, v in zip(silence.times, silence.values, strict=True)]
        gap: ReportGapOut | None = ReportGapOut(since=silence.gap[0], until=silence.gap[1])
    else:
        times = [p.time for p in scored]
        e, lo, hi = service.chart_expectation(a, times, [p.expected for p in scored], [p.lower for p in scored],
                                              [p.upper for p in scored])
        points = [PointOut(time=p.time, value=p.value, expected=e[k], lower=lo[k], upper=hi[k], severity=p.severity)
                  for k, p in enumerate(scored)]
        gap = None
    return AlertDetail(
        **base.model_dump(),
        timeline=_timeline(session, repo.events(session, a.id)),
        members=[_out(m, now, names.get(m.id), windows) for m in members],
        notifications=[NotificationOut.model_validate(n) for n in notifications_repo.for_alert(session, a.id)],
        points=points, report_gap=gap)


@router.post("/{alert_id}/acknowledge", response_model=AlertOut, summary="Acknowledge",
             responses=problems.responses(401, 403, 404, 409))
def acknowledge(alert_id: IdPath, body: AcknowledgeIn, principal: Acknowledger, session: SessionDep,
                origin: OriginDep) -> AlertOut:
    """Take the alert: records who and when (an escalated alert stays escalated)."""
    _visible(session, principal, alert_id)
    a = service.acknowledge(session, alert_id, _actor(principal), _now(), body.note)
    auth_service.audit(session, principal, "alert.acknowledge", "alert", alert_id, origin=origin)
    return _named(session, a, _now())


@router.post("/{alert_id}/escalate", response_model=AlertOut, summary="Escalate",
             responses=problems.responses(401, 403, 404, 409, 422))
def escalate_alert(alert_id: IdPath, body: EscalateIn, principal: Escalator, session: SessionDep,
                   origin: OriginDep) -> AlertOut:
    """Escalate to the given positions with a reason; they are e-mailed by the worker."""
    _visible(session, principal, alert_id)
    a = service.escalate(session, alert_id, _actor(principal), _now(), list(body.targets), body.reason)
    auth_service.audit(session, principal, "alert.escalate", "alert", alert_id, body.model_dump(mode="json"), origin)
    return _named(session, a, _now())


@router.post("/{alert_id}/resolve", response_model=AlertOut, summary="Resolve with countermeasures",
             responses=problems.responses(401, 403, 404, 409, 422))
def resolve_alert(alert_id: IdPath, body: ResolveIn, principal: Resolver, session: SessionDep,
                  origin: OriginDep) -> AlertOut:
    """Close the alert with the countermeasures taken (对策建议); everyone told about it is told it is closed."""
    _visible(session, principal, alert_id)
    a = service.resolve(session, alert_id, _actor(principal), _now(), body.countermeasures)
    auth_service.audit(session, principal, "alert.resolve", "alert", alert_id, body.model_dump(mode="json"), origin)
    return _named(session, a, _now())


@router.post("/{alert_id}/close", response_model=AlertOut, summary="Close as a false alarm",
             responses=problems.responses(401, 403, 404, 409, 422))
def close_alert(alert_id: IdPath, body: CloseIn, principal: Closer, session: SessionDep,
                origin: OriginDep) -> AlertOut:
    _visible(session, principal, alert_id)
    a = service.close_false_alarm(session, alert_id, _actor(principal), _now(), body.reason)
    auth_service.audit(session, principal, "alert.false_alarm", "alert", alert_id, body.model_dump(mode="json"),
                       origin)
    return _named(session, a, _now())


@router.post("/{alert_id}/comments", response_model=EventOut, status_code=201, summary="Comment",
             responses=problems.responses(401, 403, 404, 422))
def comment_alert(alert_id: IdPath, body: CommentIn, principal: Commenter, session: SessionDep,
                  origin: OriginDep) -> EventOut:
    _visible(session, principal, alert_id)
    service.comment(session, alert_id, _actor(principal), _now(), body.text)
    auth_service.audit(session, principal, "alert.comment", "alert", alert_id, origin=origin)
    return _timeline(session, repo.events(session, alert_id)[-1:])[0]


def _timeline(session: Session, events: list[AlertEvent]) -> list[EventOut]:
    """Events with the acting users' display names."""
    names = auth_repo.display_names(session, [e.actor_user_id for e in events if e.actor_user_id is not None])
    out = []
    for e in events:
        ev = EventOut.model_validate(e)
        ev.actor_name = names.get(e.actor_user_id) if e.actor_user_id is not None else None
        out.append(ev)
    return out


@router.post("/{alert_id}/assign", response_model=AlertOut, summary="Assign to a department",
             responses=problems.responses(401, 403, 404, 409, 422))
def assign_alert(alert_id: IdPath, body: AssignIn, principal: Assigner, session: SessionDep,
                 origin: OriginDep) -> AlertOut:
    _visible(session, principal, alert_id)
    a = service.assign(session, alert_id, _actor(principal), _now(), body.department, body.assignee_user_id)
    auth_service.audit(session, principal, "alert.assign", "alert", alert_id, body.model_dump(mode="json"), origin)
    return _named(session, a, _now())


@router.get("/{alert_id}/chart.png", summary="The alert's chart", response_class=Response,
            responses={200: {"content": {"image/png": {}}}, **problems.responses(401, 403, 404)})
def alert_chart(alert_id: IdPath, principal: Viewer, session: SessionDep) -> Response:
    """The episode with its expected band, as in the e-mails; for a series that stopped
    reporting, its last reports and the silence since."""
    from backend.config import get_settings
    from backend.notifications import chart

    a = _visible(session, principal, alert_id)
    data = service.chart_data(session, a, _now())
    if data is None:
        raise NotFound(f"alert {alert_id} has no chart data")
    png = chart.render_png(data.times, data.values, data.expected, data.lower, data.upper, data.episode_start,
                           levels.LEVEL_HEX[levels.Level.parse(a.level)], get_settings().tz, gap=data.gap)
    return Response(png, media_type="image/png")



