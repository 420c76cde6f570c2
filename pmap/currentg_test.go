package pmap

import "testing"

// TestCurrentGNamesTheGoroutine: CurrentG is the same throughout one
// goroutine and differs between two that run at once.
func TestCurrentGNamesTheGoroutine(t *testing.T) {
	self := CurrentG()
	if self == 0 || CurrentG() != self {
		t.Fatalf("CurrentG: %d, then %d", self, CurrentG())
	}
	other := make(chan uintptr)
	hold := make(chan struct{})
	go func() {
		other <- CurrentG()
		<-hold
	}()
	g := <-other
	close(hold)
	if g == 0 || g == self {
		t.Fatalf("two goroutines named %d and %d", self, g)
	}
}
