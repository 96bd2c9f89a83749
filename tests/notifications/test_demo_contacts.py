from __future__ import annotations

from sqlalchemy.orm import Session

from backend.notifications import repository as repo
from backend.seed import seed


def test_demo_seed_gives_the_demo_users_addresses_once_and_keeps_later_changes(db_session: Session):
    seed(db_session, demo_contacts=True)
    by_name = {r.username: r for r in repo.recipients(db_session)}
    assert by_name["duty"].email == "duty@wuhai.example"
    assert by_name["city_leader"].position == "city_leader" and by_name["city_leader"].daily_digest
    assert by_name["analyst"].language == "en"
    contact = repo.get_contact(db_session, by_name["duty"].user_id)
    assert contact is not None
    contact.email = "zhiban@wuhai.example"
    db_session.flush()
    seed(db_session, demo_contacts=True)
    assert {r.username: r.email for r in repo.recipients(db_session)}["duty"] == "zhiban@wuhai.example"
