"""The duty officers' dashboard (Dash Pages). All data comes through the REST API
(`dashboard.client`); nothing here reads the database."""
