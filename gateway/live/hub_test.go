package live

import "testing"

func TestHubDropsSlowSubscriber(t *testing.T) {
	h := NewHub[int]()
	fast := h.Subscribe(4)
	slow := h.Subscribe(1)
	for i := 0; i < 3; i++ {
		h.Publish(i)
		<-fast.C
	}
	select {
	case <-slow.Done():
	default:
		t.Fatal("slow subscriber was not dropped")
	}
	if h.Subscribers() != 1 {
		t.Errorf("got %d subscribers, want 1", h.Subscribers())
	}
	fast.Close()
	if h.Subscribers() != 0 {
		t.Errorf("got %d subscribers after close, want 0", h.Subscribers())
	}
}
