package edge

import "time"

// Metrics counts what the edge does, for the admin listener's /metrics.
type Metrics struct{}

func (m *Metrics) request(rec *recorder, result string, bytesOut int64, took time.Duration) {}
