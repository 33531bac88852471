from __future__ import annotations

from prometheus_client import generate_latest

from streams.metrics import StreamMetrics


def test_counters_are_exported_with_their_labels_and_summed_up_for_the_log() -> None:
    metrics = StreamMetrics()
    metrics.inc("loglane_stream_records", "processed", amount=3)
    metrics.inc("loglane_stream_records", "dropped")
    metrics.inc("loglane_stream_dropped", "sample", "drop-trace-in-prod")
    metrics.inc("loglane_stream_routed", "alert-candidates")
    text = generate_latest(metrics.registry()).decode()
    assert 'loglane_stream_records_total{outcome="processed"} 3.0' in text
    assert 'loglane_stream_dropped_total{reason="drop-trace-in-prod",stage="sample"} 1.0' in text
    assert "# HELP loglane_stream_pii_masked_total Values the mask stage replaced, by kind." in text
    assert metrics.total("loglane_stream_records") == 4
    assert metrics.summary().startswith(
        "records: processed 3, dead-lettered 0, dropped 1 (sample/drop-trace-in-prod 1); routed: alert-candidates 1;"
    )
