package api

import (
	"context"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/voting"
)

type ctxKey struct{}

// ctxStore records the ctx its rows are read with.
type ctxStore struct{ got context.Context }

func (s *ctxStore) EachResult(ctx context.Context, _ int64, _ func(voting.ResultRow) error) error {
	s.got = ctx
	<-ctx.Done()
	return ctx.Err()
}

// A results export reads its rows in the service's ctx (which carries the
// snapshot its totals were counted in) and stops when the request ends.
func TestResultRowsContext(t *testing.T) {
	req, hangUp := context.WithCancel(context.Background())
	st := &ctxStore{}
	done := make(chan error, 1)
	service := context.WithValue(context.Background(), ctxKey{}, "snapshot")
	go func() { done <- resultRows{store: st, ctx: req}.EachResult(service, 1, nil) }()
	hangUp() // before or after the rows start: they end either way
	select {
	case err := <-done:
		if err == nil {
			t.Error("rows went on after the request ended")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("rows went on after the request ended")
	}
	if st.got == nil || st.got.Value(ctxKey{}) != "snapshot" {
		t.Error("rows not read in the service's ctx (the snapshot of the totals)")
	}
}
