"""Request and response bodies for authentication, users, API keys and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from backend.api.pagination import IdField
from backend.api.types import Instant
from backend.auth.rules import Role


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64, examples=["admin"])
    password: str = Field(min_length=1, max_length=256, examples=["yunjian-demo"])


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str = Field(examples=["wuda_duty"])
    display_name: str = Field(examples=["乌达区值班员"])
    role: Role
    district_id: int | None = Field(description="District scope; null = the whole city.")
    enterprise_id: int | None = Field(description="For enterprise_reporter: the enterprise it reports for.")
    is_active: bool
    created_at: datetime


class LoginResponse(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`; also set as the "
                                   "`yunjian_session` cookie.")
    token_type: str = "bearer"
    expires_at: datetime
    user: UserOut


class MeOut(BaseModel):
    user: UserOut
    api_key_id: int | None = Field(description="Set when the call was authenticated by an API key.")
    scopes: list[str]
    permissions: list[str] = Field(description="What the caller may do: the general permissions (read, "
                                               "write_targets, manage_users ...) and the alert permissions "
                                               "(alert.read, alert.acknowledge, alert.escalate, alert.resolve, "
                                               "alert.close, alert.assign, alert.comment, alert.silence, "
                                               "alert.manage_rules ...), exactly as the API checks them.")


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$", examples=["wuda_duty"])
    display_name: str = Field(min_length=1, max_length=200, examples=["乌达区值班员"])
    password: str | None = Field(default=None, min_length=8, max_length=256,
                                 description="Null for a machine-only user (api_client) that uses API keys.")
    role: Role
    district_id: IdField | None = Field(default=None, description="Restrict the user to one district.")
    enterprise_id: IdField | None = None


def _leave_out_not_null(schema: dict[str, Any]) -> None:
    """Document display_name, role and is_active as optional but never null (the service
    refuses null there: leave a field out to keep it)."""
    for name in ("display_name", "role", "is_active"):
        prop = schema["properties"][name]
        options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
        prop.pop("default", None)
        if len(options) == 1:
            prop.update(options[0])
        elif options:
            prop["anyOf"] = options


class UserUpdate(BaseModel):
    """Only the fields given are changed."""

    model_config = ConfigDict(json_schema_extra=_leave_out_not_null)

    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=256)
    role: Role | None = None
    district_id: IdField | None = None
    enterprise_id: IdField | None = None
    is_active: StrictBool | None = None


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["statistics bureau import"])
    scopes: list[str] = Field(default_factory=lambda: ["read"], examples=[["read"]],
                              description="`read` and/or `write`.")
    expires_at: Instant | None = None
    user_id: IdField | None = Field(default=None, description="Owner (admins only; default: yourself). The key "
                                                          "acts with its owner's role and district.")


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    prefix: str = Field(description="The 8 characters after `yj_`, to recognise a key.")
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. Shown only now: it is stored hashed.",
                     examples=["yj_1a2b3c4d_Zk…"])


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: int | None
    api_key_id: int | None
    actor: str
    action: str = Field(examples=["target.upsert"])
    object_type: str
    object_id: str | None
    detail: dict[str, Any]
    ip: str | None
    user_agent: str | None
