package backoff

import (
	"testing"
	"time"
)

func TestDelayDoublesUpToMax(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: 5 * time.Second}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000}
	for i, w := range want {
		if got := p.Delay(i + 1); got != w*time.Millisecond {
			t.Errorf("Delay(%d) = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	if got := p.Delay(0); got != 100*time.Millisecond {
		t.Errorf("Delay(0) = %v, want the base", got)
	}
	if got := p.Delay(1 << 20); got != 5*time.Second {
		t.Errorf("Delay of a huge n = %v, want the cap", got)
	}
}

func TestJitterStaysWithinHalfAndWhole(t *testing.T) {
	p := Policy{Base: time.Second, Max: 8 * time.Second, Jitter: true}
	for n := 1; n <= 6; n++ {
		whole := Policy{Base: p.Base, Max: p.Max}.Delay(n)
		for range 200 {
			if d := p.Delay(n); d < whole/2 || d > whole {
				t.Fatalf("Delay(%d) = %v, outside [%v, %v]", n, d, whole/2, whole)
			}
		}
	}
}

func TestNoBaseNoWait(t *testing.T) {
	if d := (Policy{}).Delay(3); d != 0 {
		t.Errorf("a zero policy waits %v", d)
	}
	if d := (Policy{Base: time.Second}).Delay(4); d != time.Second {
		t.Errorf("a policy without a max waits %v, want its base", d)
	}
}
