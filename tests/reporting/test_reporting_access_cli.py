"""Access rules (pure) and the `yunjian reporting` commands on a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text

from backend.auth.rules import Principal, Role
from backend.reporting import access


def _p(role: Role, enterprise: int | None = None, scopes: tuple[str, ...] = ("read", "write")) -> Principal:
    return Principal(user_id=1, username="u", role=role, enterprise_id=enterprise, scopes=frozenset(scopes))


def test_only_the_enterprises_own_reporter_or_an_admin_may_submit():
    assert access.may_submit(_p(Role.enterprise_reporter, 7), 7)
    assert not access.may_submit(_p(Role.enterprise_reporter, 7), 8)
    assert access.may_submit(_p(Role.enterprise_reporter, 7), None)
    assert access.may_submit(_p(Role.admin), 8)
    assert not access.may_submit(_p(Role.duty_officer), 8)
    assert not access.may_submit(_p(Role.enterprise_reporter, 7, ("read",)), 7)  # a read-only API key


def test_reporters_do_not_read_completeness_and_only_reviewers_resolve_flags():
    assert not access.may_read_completeness(_p(Role.enterprise_reporter, 7))
    assert access.may_read_completeness(_p(Role.leader))
    assert access.may_resolve_flags(_p(Role.duty_officer))
    assert not access.may_resolve_flags(_p(Role.leader))
    assert access.may_set_deadlines(_p(Role.admin)) and not access.may_set_deadlines(_p(Role.analyst))


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "backend.cli", "reporting", *args], capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": url}, cwd=Path(__file__).resolve().parents[2],
                          timeout=120)


def test_the_commands_load_a_form_and_count_completeness(fresh_database_url: str, tmp_path: Path):
    engine = create_engine(fresh_database_url)
    try:
        with engine.connect() as c:
            n_due, uscc = c.execute(text(
                "SELECT count(*), min(e.uscc) FROM enterprise e JOIN enterprise_version v ON v.enterprise_id = e.id "
                "WHERE v.above_scale AND v.valid_from <= :d AND (v.valid_to IS NULL OR v.valid_to > :d)"),
                {"d": date(2025, 3, 31)}).one()
    finally:
        engine.dispose()
    form = tmp_path / "form.csv"
    form.write_text("统一社会信用代码,报告期,工业总产值(万元),营业收入(万元),工业增加值(万元),综合能源消费量(吨标准煤),"
                    f"主要产品产量(吨)\n{uscc},2025-03,1000,950,300,800,5000\n", encoding="utf-8")
    up = _cli(fresh_database_url, "upload", str(form), "--by", "统计员")
    assert up.returncode == 0, up.stderr
    assert "accepted, stored 5" in up.stdout
    res = _cli(fresh_database_url, "completeness", "--period", "2025-03")
    assert res.returncode == 0, res.stderr
    # uploaded long after 8 April 2025: late (迟报); everybody else: missing (未报)
    assert f"应报 due {n_due}" in res.stdout
    assert "迟报 late 1" in res.stdout and f"未报 missing {n_due - 1}" in res.stdout
    assert _cli(fresh_database_url, "completeness", "--period", "soon").returncode != 0
