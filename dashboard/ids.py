"""Every component id of the dashboard, in one place (pages import these; callbacks match on them)."""

from __future__ import annotations

# App shell
URL = "url"  # the app's own dcc.Location (navigation from callbacks)
LANG_TOGGLE = "lang-toggle"
LOGOUT = "logout"

# Controls bar (shared by the pages; their values land in the query string)
CTRL_RANGE = "ctrl-range"
CTRL_START_END = "ctrl-start-end"
CTRL_GRANULARITY = "ctrl-granularity"
CTRL_DISTRICT = "ctrl-district"
CTRL_PARK = "ctrl-park"
CTRL_INDUSTRY = "ctrl-industry"
CTRL_INDICATOR = "ctrl-indicator"
CTRL_COMPARE = "ctrl-compare"
CTRL_APPLY = "ctrl-apply"

# Login
LOGIN_USER = "login-user"
LOGIN_PASSWORD = "login-password"
LOGIN_SUBMIT = "login-submit"
LOGIN_MESSAGE = "login-message"
LOGIN_NEXT = "login-next"

# Overview
OVERVIEW_BODY = "overview-body"
OVERVIEW_INTERVAL = "overview-interval"
OVERVIEW_UPDATED = "overview-updated"

# District / park trends
TREND_GRAPH = "trend-graph"  # pattern id: {"type": TREND_GRAPH, "indicator", "level", "code"}

# Big screen
BIG_CYCLE = "big-cycle"
BIG_CYCLE_LOCATION = "big-cycle-location"

# Alerts
ALERT_FILTER_LEVEL = "alert-filter-level"
ALERT_FILTER_STATE = "alert-filter-state"
ALERT_ACTION = "alert-action"  # pattern ids on the alert page: {"type": ..., "alert": id[, "action"]}
ALERT_TEXT = "alert-text"
ALERT_TO = "alert-to"
ALERT_DEPT = "alert-dept"
ALERT_MESSAGE = "alert-message"
ALERT_TIMELINE = "alert-timeline"
ALERT_ID = "alert-id"

# Reporting
REPORT_MONTH = "report-month"
QUARANTINE_ACTION = "quarantine-action"  # pattern ids on the reporting page: {"type": ..., "row": id[, "action"]}
QUARANTINE_MESSAGE = "quarantine-message"
QUARANTINE_BODY = "quarantine-body"  # a held row's resubmission as it stands (None: only dismissable)
QUARANTINE_LANG = "quarantine-lang"  # the panel's language, for its callback

# Drill-down
DRILL_GRAPH = "drill-contributions"
ALERT_POLL = "alert-poll"
ALERT_STATE = "alert-state"
ALERT_SILENCE = "alert-silence"  # the silence button, kind, duration and message on the alert page
ALERT_SILENCE_KIND = "alert-silence-kind"
ALERT_SILENCE_HOURS = "alert-silence-hours"
ALERT_SILENCE_MESSAGE = "alert-silence-message"
SILENCE_CANCEL = "silence-cancel"  # pattern ids on the alert desk: {"type": ..., "silence": id}
SILENCE_STATUS = "silence-status"
