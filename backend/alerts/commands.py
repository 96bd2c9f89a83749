"""`yunjian alerts ...`: run the alert jobs once by hand (the worker runs them on a timer)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from sqlalchemy.orm import Session, sessionmaker

from backend.config import get_settings
from backend.db import make_engine, make_session_factory, transaction


@click.group("alerts")
def alerts_group() -> None:
    """Alerts and their e-mail: evaluate new data, escalate, send the outbox, queue digests."""


def _parse_now(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime:
    """--now: an ISO 8601 instant with its offset (e.g. 2026-11-27T09:00:00+08:00); default: now."""
    if value is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}") from None
    if at.tzinfo is None:
        raise click.BadParameter("give the offset too, e.g. 2026-11-27T09:00:00+08:00")
    return at.astimezone(UTC)


NOW_OPTION = click.option("--now", "now", callback=_parse_now, metavar="TIME",
                          help="Act as if it were TIME (ISO 8601 with offset), to replay a day or catch up by hand. "
                               "Default: now.")


def _factory() -> sessionmaker[Session]:
    return make_session_factory(make_engine(get_settings().effective_database_url()))


@alerts_group.command("evaluate")
def evaluate_command() -> None:
    """Score every newly stored point and raise or update alerts (writes the outbox)."""
    from backend.alerts import service

    with transaction(_factory()) as s:
        r = service.evaluate(s, datetime.now(UTC))
    click.echo(f"评估 / evaluated: {r.points} points of {r.series} series; 新预警 / opened {r.opened}; "
               f"升级 / raised {r.raised}; 园区 / groups {r.groups}; 通知 / notifications {r.notifications}")


@alerts_group.command("escalate")
@NOW_OPTION
def escalate_command(now: datetime) -> None:
    """Raise missing-report alerts and fire the escalation steps that are due."""
    from backend.alerts import service

    with transaction(_factory()) as s:
        missing = service.check_missing(s, now)
        n = service.run_escalations(s, now)
    click.echo(f"缺报预警 / missing-report alerts: {missing}; 通知 / notifications written: {n}")


@alerts_group.command("dispatch")
def dispatch_command() -> None:
    """Send the due e-mails of the outbox now."""
    from backend.notifications import service as notifications_service

    rep = notifications_service.dispatch_due(_factory(), notifications_service.config_from_settings(get_settings()),
                                             lambda: datetime.now(UTC))
    click.echo(f"已发送 / sent {len(rep.sent)}; 待重试 / to retry {len(rep.retry)}; 失败 / failed {len(rep.failed)}")


@alerts_group.command("digest")
@NOW_OPTION
def digest_command(now: datetime) -> None:
    """Queue the day's leaders' digest (if its hour has come and it is not queued yet for that
    day). With --now, as if it were that time: the day and the overdue marks count from it;
    the alerts listed are those open now."""
    from backend.notifications import service as notifications_service

    s_ = get_settings()
    with transaction(_factory()) as s:
        n = notifications_service.enqueue_digests(s, now, s_.tz, s_.digest_hour)
    click.echo(f"每日汇总 / digests queued: {n}")
