"""Statistics beyond the paper: `inference` (the tests, their intervals and their power), `snapshots`
(which snapshots a claim leaves out, and how that is said), `trends` (each series' trend over epochs)
and `claims` (the paper's claims, listed in claims.csv, each decided by the test of its kind).
docs/statistics.md explains the choices."""
