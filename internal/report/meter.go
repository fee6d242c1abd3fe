package report

import "time"

// meter estimates throughput from cumulative byte snapshots over a sliding
// window. The engine reports snapshots far more often than the window needs,
// so samples are kept at a coarse spacing to bound memory, while the newest
// snapshot is always used as the end point to keep the estimate current.
type meter struct {
	window  time.Duration
	spacing time.Duration
	samples []sample
	last    sample
	any     bool
}

type sample struct {
	t time.Time
	n int64
}

func newMeter(window, spacing time.Duration) meter {
	return meter{window: window, spacing: spacing}
}

func (m *meter) add(t time.Time, n int64) {
	m.last = sample{t, n}
	m.any = true
	if k := len(m.samples); k == 0 || t.Sub(m.samples[k-1].t) >= m.spacing {
		m.samples = append(m.samples, m.last)
	}
	// Keep one sample at or before the window start so the estimate spans
	// the whole window rather than only the part that happens to have samples.
	cut := t.Add(-m.window)
	for len(m.samples) > 1 && !m.samples[1].t.After(cut) {
		m.samples = m.samples[1:]
	}
}

// rate is bytes per second between the oldest kept sample and the newest
// snapshot; 0 until two distinct instants have been seen. A shrinking byte
// count (a transfer restarted) reads as 0 rather than a negative speed.
func (m *meter) rate() float64 {
	if !m.any || len(m.samples) == 0 {
		return 0
	}
	base := m.samples[0]
	d := m.last.t.Sub(base.t)
	if d <= 0 || m.last.n <= base.n {
		return 0
	}
	return float64(m.last.n-base.n) / d.Seconds()
}
