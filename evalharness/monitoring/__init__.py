"""Prometheus monitoring: every run's numbers as metrics (``reports/metrics.prom`` for node_exporter's
textfile collector, and a push to a Pushgateway on request), so quality and speed per build can be
graphed and alerted on in the Prometheus and Grafana a team already runs."""
