from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.registry import repository as repo
from backend.registry import service, uscc
from backend.registry.demo import EnterpriseSpec, VersionSpec, demo_enterprises


def _spec(code_tail: str, versions: list[VersionSpec]) -> EnterpriseSpec:
    code = uscc.make("9", "1", "150304", code_tail)
    return EnterpriseSpec(code, "测试焦化有限公司", "Test Coking", versions)


def test_an_enterprise_that_moved_park_counts_in_the_old_park_before_and_the_new_park_after(db_session: Session):
    parks = repo.park_ids_by_code(db_session)
    spec = _spec("TEAM00001", [
        VersionSpec(date(2022, 1, 1), "150304", "WD", "2521", "coking", True, False),
        VersionSpec(date(2024, 7, 1), "150303", "HN", "2521", "coking", True, False),
    ])
    service.upsert_enterprises(db_session, [spec])
    ent = repo.get_enterprise_by_uscc(db_session, spec.uscc)
    assert ent is not None
    assert ent.id in repo.enterprise_ids_in(db_session, date(2024, 6, 30), park_id=parks["WD"])
    assert ent.id not in repo.enterprise_ids_in(db_session, date(2024, 6, 30), park_id=parks["HN"])
    assert ent.id in repo.enterprise_ids_in(db_session, date(2024, 7, 1), park_id=parks["HN"])
    assert ent.id not in repo.enterprise_ids_in(db_session, date(2024, 7, 1), park_id=parks["WD"])


def test_record_change_closes_the_current_version_and_keeps_history(db_session: Session):
    spec = _spec("TEAM00002", [VersionSpec(date(2023, 1, 1), "150302", "QLS", "3150", "ferro_alloy", False, False)])
    service.upsert_enterprises(db_session, [spec])
    ent = repo.get_enterprise_by_uscc(db_session, spec.uscc)
    assert ent is not None
    service.record_change(db_session, ent.id, date(2025, 1, 1), above_scale=True)
    before = repo.version_on(db_session, ent.id, date(2024, 12, 31))
    after = repo.version_on(db_session, ent.id, date(2025, 1, 1))
    assert before is not None and after is not None
    assert (before.above_scale, after.above_scale) == (False, True)
    assert before.valid_to == date(2025, 1, 1)
    assert after.park_id == before.park_id


def test_the_database_refuses_overlapping_versions(db_session: Session):
    spec = _spec("TEAM00003", [VersionSpec(date(2023, 1, 1), "150302", None, "0610", "coal_mining", True, False)])
    service.upsert_enterprises(db_session, [spec])
    ent = repo.get_enterprise_by_uscc(db_session, spec.uscc)
    assert ent is not None
    district = repo.district_ids_by_code(db_session)["150302"]
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.execute(text(
            "INSERT INTO enterprise_version (enterprise_id, valid_from, district_id, industry_code, industry_group) "
            "VALUES (:e, '2024-01-01', :d, '0610', 'coal_mining')"), {"e": ent.id, "d": district})


def test_uscc_check_character_is_validated():
    good = uscc.make("9", "1", "150304", "MA0N12345")
    assert uscc.validate(good.lower()) == good
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(uscc.InvalidUSCC, match="校验位"):
        uscc.validate(bad)
    with pytest.raises(uscc.InvalidUSCC, match="18"):
        uscc.validate(good[:17])
    # A published example code: 91350100M000100Y43 (check character 3)
    assert uscc.validate("91350100M000100Y43") == "91350100M000100Y43"


def test_demo_registry_is_deterministic_and_realistic():
    a, b = demo_enterprises(), demo_enterprises()
    assert [e.uscc for e in a] == [e.uscc for e in b]
    assert len(a) == 150
    groups = {e.versions[0].industry_group for e in a}
    assert {"coal_mining", "coking", "chlor_alkali", "carbide", "ferro_alloy", "power"} <= groups
    assert all(e.name_zh.startswith("示例") for e in a)
    assert any(len(e.versions) > 1 for e in a)
    for e in a:
        uscc.validate(e.uscc)


def test_seeded_registry_has_the_real_districts_and_parks(db_session: Session):
    names = {d.name_zh for d in repo.list_districts(db_session)}
    assert names == {"海勃湾区", "乌达区", "海南区", "滨河新区"}
    assert len(repo.list_parks(db_session)) == 4
    assert repo.count_enterprises(db_session) >= 150


def test_enterprises_load_from_csv_and_bad_rows_name_their_line(tmp_path):
    good = uscc.make("9", "1", "150303", "CAB000001")
    f = tmp_path / "ent.csv"
    f.write_text("uscc,name_zh,name_en,valid_from,district_code,park_code,industry_code,industry_group,"
                 "above_scale,key_enterprise\n"
                 f"{good},测试电石有限公司,Test Carbide,2023-01-01,150303,HN,2619,carbide,是,0\n"
                 f"{good},测试电石有限公司,Test Carbide,2024-05-01,150303,DT,2619,carbide,是,1\n", encoding="utf-8")
    specs = service.read_enterprises_csv(f)
    assert len(specs) == 1 and len(specs[0].versions) == 2
    assert specs[0].versions[1].key_enterprise is True
    f.write_text(f.read_text(encoding="utf-8").replace(good, good[:17] + "Z", 1), encoding="utf-8")
    with pytest.raises(service.RegistryError, match="line 2"):
        service.read_enterprises_csv(f)
